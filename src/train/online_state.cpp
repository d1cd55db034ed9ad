#include "train/online_state.h"

#include <map>

#include "core/base64.h"
#include "core/error.h"

namespace tandem::train {

namespace {

// Numeric arrays travel as base64 of their bytes (the host's little-endian layout).
template <class T>
Json packed(const std::vector<T>& v) {
  return base64_of(v);
}

Json example_to_json(const data::PromptExample& e) {
  return {{"prompt", packed(e.prompt)},
          {"prompt_text", e.prompt_text},
          {"columns", e.columns},
          {"demonstration", packed(e.demonstration)},
          {"demonstration_text", e.demonstration_text},
          {"file", e.origin.file},
          {"line", e.origin.line}};
}

const Json& field(const Json& j, const char* k, const std::string& where) {
  if (!j.is_object() || !j.contains(k)) throw Error(where, cat("the saved state has no '", k, "'"));
  return j[k];
}

template <class T>
std::vector<T> vec(const Json& j, const char* k, const std::string& where) {
  const Json& v = field(j, k, where);
  bool ok = v.is_string();
  std::vector<T> out;
  if (ok) out = vector_of_base64<T>(v.get_ref<const std::string&>(), &ok);
  if (!ok) throw Error(cat(where, ".", k), cat("expected base64 of ", sizeof(T), "-byte values, got ", v.dump().substr(0, 80)));
  return out;
}

data::PromptExample example_from_json(const Json& j, const std::string& where) {
  data::PromptExample e;
  e.prompt = vec<int32_t>(j, "prompt", where);
  e.prompt_text = field(j, "prompt_text", where).get<std::string>();
  e.columns = field(j, "columns", where);
  e.demonstration = vec<int32_t>(j, "demonstration", where);
  e.demonstration_text = field(j, "demonstration_text", where).get<std::string>();
  e.origin = {field(j, "file", where).get<std::string>(), field(j, "line", where).get<int64_t>()};
  return e;
}

// Examples are written once each and referenced by index; or, between ranks, named by their index
// in a list both sides hold (`known`), and not written at all.
struct ExampleTable {
  Json list = Json::array();
  std::map<const data::PromptExample*, int64_t> index;
  bool fixed = false;
  ExampleTable() = default;
  explicit ExampleTable(const std::vector<PromptRef>& known) : fixed(true) {
    for (size_t i = 0; i < known.size(); ++i) index.emplace(known[i].get(), int64_t(i));
  }
  int64_t id(const PromptRef& ex) {
    if (!ex) return -1;
    if (fixed) {
      const auto it = index.find(ex.get());
      TD_ASSERT(it != index.end(), "a sequence's example is not in the list every rank holds");
      return it->second;
    }
    auto [it, fresh] = index.emplace(ex.get(), int64_t(list.size()));
    if (fresh) list.push_back(example_to_json(*ex));
    return it->second;
  }
};

Json seq_to_json(const RolloutSeq& s, ExampleTable& t) {
  return {{"ex", t.id(s.ex)},
          {"group", s.group},
          {"prompt", packed(s.prompt)},
          {"completion", packed(s.completion)},
          {"hint_len", s.hint_len},
          {"old_logp", packed(s.old_logp)},
          {"truncated", s.truncated},
          {"demo", s.demo},
          {"has_reward", s.has_reward},
          {"reward", packed(std::vector<double>{s.reward})},
          {"reward_parts", packed(s.reward_parts)},
          {"baseline", packed(std::vector<double>{s.baseline})}};
}

RolloutSeq seq_from_json(const Json& j, const std::vector<PromptRef>& exs, const std::string& where) {
  RolloutSeq s;
  const int64_t ex = field(j, "ex", where).get<int64_t>();
  if (ex >= int64_t(exs.size())) throw Error(where + ".ex", cat("example ", ex, " of ", exs.size()));
  if (ex >= 0) s.ex = exs[size_t(ex)];
  s.group = field(j, "group", where).get<int64_t>();
  s.prompt = vec<int32_t>(j, "prompt", where);
  s.completion = vec<int32_t>(j, "completion", where);
  s.hint_len = field(j, "hint_len", where).get<int64_t>();
  s.old_logp = vec<float>(j, "old_logp", where);
  s.truncated = field(j, "truncated", where).get<bool>();
  s.demo = field(j, "demo", where).get<bool>();
  s.has_reward = field(j, "has_reward", where).get<bool>();
  const auto one = [&](const char* k) {
    const auto v = vec<double>(j, k, where);
    if (v.size() != 1) throw Error(cat(where, ".", k), cat("expected one value, got ", v.size()));
    return v[0];
  };
  s.reward = one("reward");
  s.reward_parts = vec<double>(j, "reward_parts", where);
  s.baseline = one("baseline");
  return s;
}

}  // namespace

std::string rollout_seqs_to_bytes(const std::vector<RolloutSeq>& seqs, const std::vector<PromptRef>& examples) {
  ExampleTable t(examples);
  Json j = Json::array();
  for (const RolloutSeq& s : seqs) j.push_back(seq_to_json(s, t));
  return j.dump();
}

std::vector<RolloutSeq> rollout_seqs_from_bytes(const std::string& bytes, const std::vector<PromptRef>& examples) {
  const Json j = Json::parse(bytes);
  std::vector<RolloutSeq> out;
  for (size_t i = 0; i < j.size(); ++i) out.push_back(seq_from_json(j[i], examples, cat("online.gather.seqs[", i, "]")));
  return out;
}

Json online_inflight_to_json(const std::vector<PreparedBatch>& batches, const std::vector<PromptRef>& relift_buffer) {
  ExampleTable t;
  Json bs = Json::array();
  for (const PreparedBatch& pb : batches) {
    Json seqs = Json::array();
    for (const RolloutSeq& s : pb.seqs) seqs.push_back(seq_to_json(s, t));
    Json mbs = Json::array();
    for (const auto& mb : pb.mini_batches) mbs.push_back(packed(std::vector<uint64_t>(mb.begin(), mb.end())));
    bs.push_back({{"seqs", seqs},
                  {"off", packed(pb.off)},
                  {"old_logp", packed(pb.old_logp)},
                  {"ref_logp", packed(pb.ref_logp)},
                  {"old_values", packed(pb.old_values)},
                  {"advantages", packed(pb.advantages)},
                  {"returns", packed(pb.returns)},
                  {"reward", packed(pb.reward)},
                  {"is_demo", packed(pb.is_demo)},
                  {"mini_batches", mbs},
                  {"next", pb.next},
                  {"rl_step", pb.rl_step},
                  {"pad_width", pb.pad_width},
                  {"metrics", pb.metrics}});
  }
  Json relift = Json::array();
  for (const PromptRef& ex : relift_buffer) relift.push_back(t.id(ex));
  return {{"examples", t.list}, {"batches", bs}, {"relift_buffer", relift}};
}

void online_inflight_from_json(const Json& j, const std::string& where, std::vector<PreparedBatch>& batches,
                               std::vector<PromptRef>& relift_buffer) {
  std::vector<PromptRef> exs;
  const Json& el = field(j, "examples", where);
  for (size_t i = 0; i < el.size(); ++i)
    exs.push_back(std::make_shared<const data::PromptExample>(example_from_json(el[i], cat(where, ".examples[", i, "]"))));
  batches.clear();
  const Json& bl = field(j, "batches", where);
  for (size_t b = 0; b < bl.size(); ++b) {
    const Json& jb = bl[b];
    const std::string w = cat(where, ".batches[", b, "]");
    PreparedBatch pb;
    const Json& seqs = field(jb, "seqs", w);
    for (size_t i = 0; i < seqs.size(); ++i) pb.seqs.push_back(seq_from_json(seqs[i], exs, cat(w, ".seqs[", i, "]")));
    pb.off = vec<int64_t>(jb, "off", w);
    pb.old_logp = vec<float>(jb, "old_logp", w);
    pb.ref_logp = vec<float>(jb, "ref_logp", w);
    pb.old_values = vec<float>(jb, "old_values", w);
    pb.advantages = vec<float>(jb, "advantages", w);
    pb.returns = vec<float>(jb, "returns", w);
    pb.reward = vec<float>(jb, "reward", w);
    pb.is_demo = vec<uint8_t>(jb, "is_demo", w);
    const Json& mbs = field(jb, "mini_batches", w);
    for (size_t k = 0; k < mbs.size(); ++k) {
      const auto mb = vec<uint64_t>(Json{{"mb", mbs[k]}}, "mb", cat(w, ".mini_batches[", k, "]"));
      pb.mini_batches.emplace_back(mb.begin(), mb.end());
    }
    pb.next = field(jb, "next", w).get<size_t>();
    pb.rl_step = field(jb, "rl_step", w).get<int64_t>();
    pb.pad_width = field(jb, "pad_width", w).get<int64_t>();
    pb.metrics = field(jb, "metrics", w);
    const size_t B = pb.seqs.size();
    if (pb.off.size() != (B == 0 ? pb.off.size() : B + 1) || pb.next > pb.mini_batches.size())
      throw Error(w, cat("inconsistent saved batch: ", B, " sequences, ", pb.off.size(), " offsets, mini-batch ",
                         pb.next, " of ", pb.mini_batches.size()));
    for (const auto& mb : pb.mini_batches)
      for (size_t i : mb)
        if (i >= B) throw Error(w + ".mini_batches", cat("sequence ", i, " of ", B));
    batches.push_back(std::move(pb));
  }
  relift_buffer.clear();
  for (const Json& i : field(j, "relift_buffer", where)) {
    const int64_t k = i.get<int64_t>();
    if (k < 0 || k >= int64_t(exs.size())) throw Error(where + ".relift_buffer", cat("example ", k, " of ", exs.size()));
    relift_buffer.push_back(exs[size_t(k)]);
  }
}

}  // namespace tandem::train
