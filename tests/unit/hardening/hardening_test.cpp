// Hardening: (1) replays every input of tests/regression/<harness>/ (inputs that once crashed,
// hung or tripped a sanitizer in a fuzz harness) through the same entry points as fuzz/, built
// with the normal compiler, so a fixed bug that comes back fails CTest without libFuzzer;
// (2) checks that each resource limit a hostile file can hit is enforced with a clear error.
// Not here: the fuzzing itself (scripts/fuzz.sh), the parsers' ordinary behaviour (their tests).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../../../fuzz/targets.h"
#include "core/error.h"
#include "core/json.h"
#include "model/safetensors.h"
#include "testing/testing.h"
#include "tokenizer/jinja/template.h"
#include "tokenizer/jinja/value.h"

namespace fs = std::filesystem;
using namespace tandem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

std::string expect_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a tandem::Error";
  return "";
}

TEST(Regression, EveryHarnessFolderReplays) {
  const fs::path root = fs::path(tandem::testing::source_dir()) / "tests/regression";
  size_t replayed = 0;
  for (const auto& t : fuzz::kTargets) {
    const fs::path dir = root / t.name;
    if (!fs::is_directory(dir)) continue;
    for (const auto& f : fs::directory_iterator(dir)) {
      if (!f.is_regular_file() || f.path().filename() == "README") continue;
      SCOPED_TRACE(f.path().string());
      const std::string bytes = slurp(f.path());
      t.fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());  // must return, not crash
      ++replayed;
    }
  }
  // Every folder must belong to a harness: a typo would silently skip its inputs.
  for (const auto& d : fs::directory_iterator(root)) {
    bool known = false;
    for (const auto& t : fuzz::kTargets) known |= d.path().filename() == t.name;
    EXPECT_TRUE(known || !d.is_directory()) << d.path() << " is not the name of a harness in fuzz/targets.h";
  }
  EXPECT_GT(replayed, 0u);
}

std::string safetensors_bytes(const std::string& header) {
  std::string h = header;
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  return out + h;
}

TEST(Limits, SafetensorsHeaderSize) {
  tandem::testing::TempDir tmp("hardening");
  std::string bytes(16, '\0');
  const uint64_t n = model::SafetensorsFile::kMaxHeaderBytes + 1;
  std::memcpy(bytes.data(), &n, 8);
  std::ofstream(tmp.file("a.safetensors"), std::ios::binary) << bytes;
  const std::string msg = expect_error([&] { model::SafetensorsFile f(tmp.file("a.safetensors")); });
  EXPECT_NE(msg.find("-byte limit"), std::string::npos) << msg;
}

TEST(Limits, SafetensorsDimensionsAndOverflow) {
  tandem::testing::TempDir tmp("hardening");
  const std::pair<const char*, const char*> cases[] = {
      // A 0 dimension first makes the product check pass; the huge one must still be refused.
      {R"({"w": {"dtype": "F32", "shape": [0, 18446744073709551615], "data_offsets": [0, 0]}})", "exceeds the limit"},
      {R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 0]}})", "overflows"},
      {R"({"w": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]}})", "at most 8 dimensions"},
  };
  for (const auto& [header, want] : cases) {
    std::ofstream(tmp.file("a.safetensors"), std::ios::binary | std::ios::trunc) << safetensors_bytes(header);
    const std::string msg = expect_error([&] { model::SafetensorsFile f(tmp.file("a.safetensors")); });
    EXPECT_NE(msg.find(want), std::string::npos) << header << " -> " << msg;
  }
}

TEST(Limits, JsonFileSize) {
  tandem::testing::TempDir tmp("hardening");
  const std::string path = tmp.file("config.json");
  { std::ofstream f(path); f << "{}"; }
  fs::resize_file(path, (uintmax_t(256) << 20) + 1);  // sparse: no real disk use
  const std::string msg = expect_error([&] { (void)read_json_file(path, "test.config"); });
  EXPECT_NE(msg.find("exceeds the limit"), std::string::npos) << msg;
}

TEST(Limits, TemplateRecursionOutputAndLoops) {
  using tokenizer::jinja::RenderLimits;
  using tokenizer::jinja::Template;
  const Template rec("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  EXPECT_NE(expect_error([&] { (void)rec.render({}); }).find("nested deeper than"), std::string::npos);
  RenderLimits small;
  small.max_output_bytes = 1000;
  const Template big("{% for i in range(100) %}{{ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' }}{% endfor %}");
  EXPECT_NE(expect_error([&] { (void)big.render({}, small); }).find("exceeds the limit"), std::string::npos);
  // Output hidden in a set block counts too.
  const Template hidden("{% set x %}{% for i in range(100) %}{{ 'xxxxxxxxxxxxxxxxxxxx' }}{% endfor %}{% endset %}ok");
  EXPECT_NE(expect_error([&] { (void)hidden.render({}, small); }).find("exceeds the limit"), std::string::npos);
  small.max_loop_iterations = 1000;
  const Template loops("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}");
  EXPECT_NE(expect_error([&] { (void)loops.render({}, small); }).find("iterations"), std::string::npos);
  // Deep nesting in the source is a syntax error, not a stack overflow.
  const std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_NE(expect_error([&] { Template t(deep); }).find("nested deeper than"), std::string::npos);
}

}  // namespace

namespace {

TEST(Limits, TokenSequenceLength) {
  Json line;
  line["input_ids"] = std::vector<int>((size_t(1) << 22) + 1, 1);
  std::string msg = expect_error([&] { (void)data::parse_input_ids(line, "x.jsonl:1", -1, 1, "test.data"); });
  EXPECT_NE(msg.find("more than the limit"), std::string::npos) << msg;
  line["input_ids"] = Json::array({1, 2, 3});
  EXPECT_EQ(data::parse_input_ids(line, "x.jsonl:1", -1, 1, "test.data").size(), 3u);
}

}  // namespace

namespace {

TEST(Limits, JsonNesting) {
  const std::string deep = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  const std::string msg = expect_error([&] { (void)parse_json(deep, "x.json", "test.json"); });
  EXPECT_NE(msg.find("nests deeper than 512 levels at byte 512"), std::string::npos) << msg;
  EXPECT_NE(msg.find("x.json"), std::string::npos) << msg;
  // The limit itself is accepted, and brackets inside strings (escaped quotes too) do not count.
  const std::string at_limit = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_EQ(parse_json(at_limit, "x.json", "test.json").size(), 1u);
  const std::string in_string = "[\"\\\"" + std::string(5000, '[') + "\"]";
  EXPECT_EQ(json_too_deep_at(in_string), std::string_view::npos);
  EXPECT_EQ(parse_json(in_string, "x.json", "test.json").size(), 1u);
}

// Each way a template can build a value much faster than it writes output stops at
// max_value_bytes with an error, under the default limits too; before the bound each of these
// exhausted memory (`'ab' * 3000000000` asked for 6 GB) or ran for minutes. The lead came from the
// jinja fuzzer's slowest corpus input, `{{ [...] * 160160 }}`; the cases were then written by hand.
TEST(Limits, TemplateValuesCannotOutgrowTheirBound) {
  using tokenizer::jinja::RenderLimits;
  using tokenizer::jinja::Template;
  const std::string nest =
      "{% set a = ['x' * 1000] %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}{% set c = [b, b, b, b, b, b, b, b, b, b] %}"
      "{% set d = [c, c, c, c, c, c, c, c, c, c] %}{% set e = [d, d, d, d, d, d, d, d, d, d] %}"
      "{% set f = [e, e, e, e, e, e, e, e, e, e] %}{% set g = [f, f, f, f, f, f, f, f, f, f] %}";
  const std::vector<std::pair<const char*, std::string>> growth = {
      {"string repeat", "{{ 'ab' * 3000000000 }}"},
      {"list repeat", "{{ [1] * 300000000 }}"},
      {"string doubling", "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"},
      {"list doubling", "{% set ns = namespace(s=[1]) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}"},
      {"replace", "{{ ('a' * 1000)|replace('a', 'b' * 100000)|replace('b', 'cc' * 1000)|length }}"},
      {"str of shared lists", nest + "{{ g|string|length }}"},
      {"join of shared lists", nest + "{{ g|join(',')|length }}"},
      {"tojson of shared lists", nest + "{{ g|tojson|length }}"},
      {"tojson indent", "{{ {'a': [[[[1]]]]}|tojson(indent=300000000)|length }}"},
      {"indent", "{{ ('a\nb' * 10000)|indent(1000000)|length }}"},
      {"center", "{{ 'a'|center(2000000000)|length }}"},
      {"% width", "{{ ('%2000000000s' % 'a')|length }}"},
      {"% precision", "{{ ('%.2000000000f' % 1.5)|length }}"},
      {"str.join", nest + "{{ ','.join([g|string] * 2)|length }}"},
  };
  for (const auto& [what, src] : growth) {
    const Template t(src);
    const std::string msg = expect_error([&] { (void)t.render({}); });
    EXPECT_NE(msg.find("for one template value"), std::string::npos) << what << ": " << msg;
  }
  // A smaller bound stops the same growth earlier; values within it render.
  RenderLimits small;
  small.max_value_bytes = 10000;
  EXPECT_NE(expect_error([&] { (void)Template("{{ 'x' * 10001 }}").render({}, small); }).find("10001 bytes exceeds the limit of 10000"),
            std::string::npos);
  EXPECT_EQ(Template("{{ ('x' * 10000)|length }}").render({}, small).text, "10000");
  EXPECT_EQ(Template("{{ ('%-600s|' % 'x')|length }} {{ '%.2s' % 'h\u00e9llo' }}").render({}).text, "601 h\u00e9");
  // A large value made over and over in a long loop stops at the render's total.
  RenderLimits total;
  total.max_built_bytes = 100u << 20;
  const Template again("{% for i in range(100000) %}{{ ('x' * 1000000)|length }}{% endfor %}");
  EXPECT_NE(expect_error([&] { (void)again.render({}, total); }).find("add up to more than 104857600 bytes"), std::string::npos);
  EXPECT_EQ(Template("{% for i in range(50) %}{{ ('x' * 1000000)|length }}{% endfor %}").render({}, total).text.size(), 350u);
  // Integer arithmetic at the edges: a huge power of 0 or -1 is instant (it looped once per unit
  // of the exponent), and INT64_MIN // -1 is an error, not a trap.
  EXPECT_EQ(Template("{{ 0 ** 8000800600 }} {{ (-1) ** 8000800601 }} {{ (-2) ** 63 }} {{ 3 ** 39 }} "
                     "{{ (-9223372036854775807 - 1) % -1 }}").render({}).text,
            "0 -1 -9223372036854775808 4052555153018976267 0");
  EXPECT_NE(expect_error([&] { (void)Template("{{ 2 ** 63 }}").render({}); }).find("integer overflow in '**'"), std::string::npos);
  EXPECT_NE(expect_error([&] { (void)Template("{{ 3 ** 40 }}").render({}); }).find("integer overflow in '**'"), std::string::npos);
  EXPECT_NE(expect_error([&] { (void)Template("{{ (-9223372036854775807 - 1) // -1 }}").render({}); }).find("integer overflow in '//'"),
            std::string::npos);
  // Outside a render nothing is bounded, and a render restores the budget it found.
  EXPECT_EQ(tokenizer::jinja::ValueBudget::value_limit(), SIZE_MAX);
  EXPECT_EQ(tokenizer::jinja::ValueBudget::built(), 0u);
}

TEST(Limits, TemplateValueNestingAndNamespaceCycles) {
  using tokenizer::jinja::Template;
  const Template wrap("{% set ns = namespace(x=[]) %}{% for i in range(2000) %}{% set ns.x = [ns.x] %}{% endfor %}ok");
  std::string msg = expect_error([&] { (void)wrap.render({}); });
  EXPECT_NE(msg.find("nested deeper than 512 levels"), std::string::npos) << msg;
  const Template cycle("{% set ns = namespace(a=1) %}{% set ns.a = [ns] %}ok");
  msg = expect_error([&] { (void)cycle.render({}); });
  EXPECT_NE(msg.find("cannot hold a namespace"), std::string::npos) << msg;
  // Ordinary nesting and namespaces holding lists still render.
  const Template fine("{% set ns = namespace(x=[]) %}{% for i in range(3) %}{% set ns.x = ns.x + [[i]] %}{% endfor %}{{ ns.x }}");
  EXPECT_EQ(fine.render({}).text, "[[0], [1], [2]]");
}

}  // namespace

namespace {

TEST(Limits, IntegersOutOfRangeAreRefused) {
  // Past INT64_MAX nlohmann keeps an unsigned, past UINT64_MAX a double: both are clear errors,
  // not a wrapped or undefined conversion (fuzz config_json: intermediate_size 1.3e23).
  for (const char* text : {R"({"n": 128555555555555555555555})", R"({"n": 9223372036854775808})", R"({"n": 1e300})",
                           R"({"n": -9.3e18})", R"({"n": 2.5})"}) {
    const Json j = Json::parse(text);
    const std::string msg = expect_error([&] { (void)json_int(j, "n", "test", "x.json"); });
    EXPECT_NE(msg.find("expected an integer"), std::string::npos) << text << " -> " << msg;
  }
  EXPECT_EQ(json_int(Json::parse(R"({"n": 9223372036854775807})"), "n", "test", "x.json"), INT64_MAX);
  EXPECT_EQ(json_int(Json::parse(R"({"n": -9223372036854775808})"), "n", "test", "x.json"), INT64_MIN);
  EXPECT_EQ(json_int(Json::parse(R"({"n": 4096.0})"), "n", "test", "x.json"), 4096);
}

}  // namespace
