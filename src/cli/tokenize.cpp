// `tandem tokenize`: JSONL text -> ids (or ids -> text with --decode) with a model folder's tokenizer.
// Lines are processed in blocks so encoding can use every thread while output order is kept.
// Not here: chat templates (chat-template command) and dataset packing (data layer).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "core/error.h"
#include "core/json.h"
#include "core/line_reader.h"
#include "tokenizer/tokenizer.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string dir;
  std::string in = "-";
  std::string out = "-";
  bool no_special = false;
  bool decode = false;
  bool skip_special = false;
};

constexpr size_t kBlock = 4096;

// One input line: its text (encode) or ids (decode); where names the line for errors.
void parse_line(const std::string& line, size_t lineno, const std::string& origin, bool decode, std::string* text,
                std::vector<int32_t>* ids) {
  const std::string where = cat("tokenize.input.line", lineno);
  const Json j = parse_json(line, cat(origin, " line ", lineno), where);
  if (!j.is_object()) throw Error(where, cat("expected a JSON object, got ", json_type_name(j), " (", origin, ")"));
  if (!decode) {
    *text = json_string(j, "text", where, origin);
    return;
  }
  const Json& arr = json_field(j, "ids", where, origin);
  if (!arr.is_array()) throw Error(where + ".ids", cat("expected an array of integers, got ", json_type_name(arr), " (", origin, ")"));
  ids->clear();
  for (size_t k = 0; k < arr.size(); ++k) {
    if (!arr[k].is_number_integer() || arr[k].get<int64_t>() < 0 || arr[k].get<int64_t>() > INT32_MAX)
      throw Error(cat(where, ".ids[", k, "]"), cat("expected a non-negative integer id, got ", arr[k].dump(), " (", origin, ")"));
    ids->push_back(arr[k].get<int32_t>());
  }
}

int run(const Opts& o) {
  const tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_dir(o.dir);
  std::ifstream fin;
  if (o.in != "-") {
    fin.open(o.in);
    if (!fin) throw Error("tokenize.in", cat("cannot open ", o.in));
  }
  std::istream& in = o.in == "-" ? std::cin : fin;
  std::ofstream fout;
  if (o.out != "-") {
    fout.open(o.out);
    if (!fout) throw Error("tokenize.out", cat("cannot open ", o.out, " for writing"));
  }
  std::ostream& out = o.out == "-" ? std::cout : fout;
  const std::string origin = o.in == "-" ? "stdin" : o.in;

  std::vector<std::string> texts;
  std::string line;
  size_t lineno = 0;
  bool eof = false;
  while (!eof) {
    texts.clear();
    std::vector<std::vector<int32_t>> ids_in;
    while (texts.size() + ids_in.size() < kBlock) {
      if (!read_line_capped(in, line, kMaxJsonBytes, "tokenize.input", origin, int64_t(lineno) + 1)) {
        eof = true;
        break;
      }
      ++lineno;
      if (line.empty() || line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string text;
      std::vector<int32_t> ids;
      parse_line(line, lineno, origin, o.decode, &text, &ids);
      if (o.decode) ids_in.push_back(std::move(ids));
      else texts.push_back(std::move(text));
    }
    if (o.decode) {
      for (const auto& ids : ids_in) out << Json{{"text", tok.decode(ids, o.skip_special)}}.dump() << '\n';
    } else {
      for (const auto& ids : tok.encode_batch(texts, !o.no_special)) out << Json{{"ids", ids}}.dump() << '\n';
    }
  }
  out.flush();
  if (!out) throw Error("tokenize.out", cat("write failed (", o.out, ")"));
  return 0;
}

Registrar reg({"tokenize", "encode JSONL {\"text\"} lines to {\"ids\"} (or back with --decode)", [](CLI::App& sub) {
                 auto opts = std::make_shared<Opts>();
                 sub.add_option("--tokenizer", opts->dir, "model folder with tokenizer.json")->required();
                 sub.add_option("--in", opts->in, "input JSONL (default: standard input)");
                 sub.add_option("--out", opts->out, "output JSONL (default: standard output)");
                 sub.add_flag("--no-special", opts->no_special, "do not add the post-processor's special tokens");
                 sub.add_flag("--decode", opts->decode, "read {\"ids\": [...]} lines and write {\"text\": ...}");
                 sub.add_flag("--skip-special", opts->skip_special, "with --decode: drop special tokens");
                 return std::function<int()>([opts] { return run(*opts); });
               }});

}  // namespace
}  // namespace tandem::cli
