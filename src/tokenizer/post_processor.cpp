// See post_processor.h. Every supported processor reduces, for one sequence, to "these ids before,
// these ids after", so they are all stored that way.
#include "tokenizer/post_processor.h"

#include "tokenizer/component_json.h"

namespace tandem::tokenizer {

namespace {

class Wrap : public PostProcessor {
 public:
  Wrap(std::vector<int32_t> before, std::vector<int32_t> after) : before_(std::move(before)), after_(std::move(after)) {}
  void process(std::vector<int32_t>& ids) const override {
    ids.insert(ids.begin(), before_.begin(), before_.end());
    ids.insert(ids.end(), after_.begin(), after_.end());
  }

 private:
  std::vector<int32_t> before_, after_;
};

class Sequence : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> v) : items_(std::move(v)) {}
  void process(std::vector<int32_t>& ids) const override {
    for (const auto& p : items_) p->process(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> items_;
};

// ["<s>", 0] as used by RobertaProcessing and BertProcessing.
int32_t token_pair_id(const Json& j, const std::string& key, const std::string& where, const std::string& origin) {
  const Json& v = json_field(j, key, where, origin);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer())
    throw Error(where + "." + key, cat("expected [token, id], got ", v.dump(), " (", origin, ")"));
  return v[1].get<int32_t>();
}

std::unique_ptr<PostProcessor> make_template(const Json& j, const std::string& where, const std::string& origin) {
  const Json& single = json_field(j, "single", where, origin);
  if (!single.is_array())
    throw Error(where + ".single", cat("expected an array of {\"SpecialToken\"|\"Sequence\": ...} items, got ",
                                       json_type_name(single), " (", origin, ")"));
  const Json& specials = json_field(j, "special_tokens", where, origin);
  std::vector<int32_t> before, after;
  bool seen_sequence = false;
  for (size_t k = 0; k < single.size(); ++k) {
    const std::string w = cat(where, ".single[", k, "]");
    const Json& item = single[k];
    if (item.is_object() && item.contains("Sequence")) {
      if (seen_sequence) throw Error(w, cat("a single-sequence template may hold one Sequence item (", origin, ")"));
      seen_sequence = true;
      continue;
    }
    if (!item.is_object() || !item.contains("SpecialToken"))
      throw Error(w, cat("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}, got ", item.dump(), " (", origin, ")"));
    const std::string name = json_string(item["SpecialToken"], "id", w + ".SpecialToken", origin);
    if (!specials.is_object() || !specials.contains(name))
      throw Error(w + ".SpecialToken.id",
                  cat("special token \"", name, "\" is not listed in ", where, ".special_tokens (", origin, ")"));
    const Json& ids = json_array(specials[name], "ids", cat(where, ".special_tokens.", name), origin);
    for (const auto& id : ids) {
      if (!id.is_number_integer())
        throw Error(cat(where, ".special_tokens.", name, ".ids"), cat("expected integer ids, got ", id.dump(), " (", origin, ")"));
      (seen_sequence ? after : before).push_back(id.get<int32_t>());
    }
  }
  return std::make_unique<Wrap>(std::move(before), std::move(after));
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const std::string& where, const std::string& origin) {
  if (j.is_null()) return nullptr;
  const std::string type = component_type(j, where, origin);
  if (type == "TemplateProcessing") return make_template(j, where, origin);
  if (type == "RobertaProcessing" || type == "BertProcessing")
    return std::make_unique<Wrap>(std::vector<int32_t>{token_pair_id(j, "cls", where, origin)},
                                  std::vector<int32_t>{token_pair_id(j, "sep", where, origin)});
  if (type == "ByteLevel") return nullptr;  // only adjusts offsets, which Tandem does not track
  if (type == "Sequence") {
    const Json& arr = json_array(j, "processors", where, origin);
    std::vector<std::unique_ptr<PostProcessor>> v;
    for (size_t k = 0; k < arr.size(); ++k) {
      auto p = make_post_processor(arr[k], cat(where, ".processors[", k, "]"), origin);
      if (p) v.push_back(std::move(p));
    }
    return std::make_unique<Sequence>(std::move(v));
  }
  throw Error(where + ".type", cat("unknown post_processor type, expected one of TemplateProcessing, RobertaProcessing, "
                                   "BertProcessing, ByteLevel, Sequence, got \"", type, "\" (", origin, ")"));
}

}  // namespace tandem::tokenizer
