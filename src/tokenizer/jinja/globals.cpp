// Global functions a template can call: jinja2's range (with the sandbox's 100000 cap),
// dict, namespace, joiner, cycler-free loop.cycle lives in the interpreter; transformers'
// raise_exception (message passed through verbatim) and strftime_now (local time, as
// datetime.now().strftime).
// Not here: variables such as messages or bos_token (chat_template.cpp decides those).
#include <ctime>

#include "core/error.h"
#include "tokenizer/jinja/runtime.h"

namespace tandem::tokenizer::jinja {

namespace {

constexpr int64_t kMaxRange = 100000;  // jinja2.sandbox.MAX_RANGE

Value range(Args& a) {
  if (!a.kw.empty()) throw Failure("range() takes no keyword arguments");
  if (a.pos.empty() || a.pos.size() > 3) throw Failure(cat("range expected 1 to 3 arguments, got ", a.pos.size()));
  int64_t start = 0, stop, step = 1;
  if (a.pos.size() == 1) {
    stop = to_index(a.pos[0], "range() argument");
  } else {
    start = to_index(a.pos[0], "range() argument");
    stop = to_index(a.pos[1], "range() argument");
    if (a.pos.size() == 3) step = to_index(a.pos[2], "range() argument");
  }
  if (step == 0) throw Failure("range() arg 3 must not be zero");
  const int64_t n = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                             : (start > stop ? (start - stop - step - 1) / -step : 0);
  if (n > kMaxRange)
    throw Failure(cat("Range too big. The sandbox blocks ranges larger than MAX_RANGE (", kMaxRange, ")."));
  List out;
  out.reserve(size_t(n));
  for (int64_t i = 0; i < n; ++i) out.emplace_back(start + i * step);
  return Value::list(std::move(out));
}

std::shared_ptr<Dict> dict_from(Args& a, const char* fn) {
  auto d = std::make_shared<Dict>();
  if (a.pos.size() > 1) throw Failure(cat(fn, "() takes at most one positional argument"));
  if (a.pos.size() == 1) {
    const Value& src = a.pos[0];
    if (src.is_mapping()) {
      for (const auto& kv : src.as_dict().items) d->set(kv.first, kv.second);
    } else {
      for (const Value& pair : iterate(src)) {
        const std::vector<Value> kv = iterate(pair);
        if (kv.size() != 2) throw Failure(cat(fn, "() sequence element has length ", kv.size(), "; 2 is required"));
        d->set(kv[0], kv[1]);
      }
    }
  }
  for (const auto& [k, v] : a.kw) d->set(Value(k), v);
  return d;
}

}  // namespace

std::vector<std::pair<std::string, Value>> global_functions() {
  std::vector<std::pair<std::string, Value>> g;
  g.emplace_back("range", Value::callable("range", range));
  g.emplace_back("dict", Value::callable("dict", [](Args& a) { return Value::dict(dict_from(a, "dict")); }));
  g.emplace_back("namespace",
                 Value::callable("namespace", [](Args& a) { return Value::ns(dict_from(a, "namespace")); }));
  g.emplace_back("raise_exception", Value::callable("raise_exception", [](Args& a) -> Value {
                   throw Raised(py_str(a.get(0, "message")));
                 }));
  g.emplace_back("strftime_now", Value::callable("strftime_now", [](Args& a) {
                   const Value f = a.get(0, "format");
                   if (!f.is_string()) throw Failure("strftime_now() needs a format string");
                   const std::time_t now = std::time(nullptr);
                   std::tm tm{};
                   localtime_r(&now, &tm);
                   char buf[512];
                   const size_t n = std::strftime(buf, sizeof(buf), f.as_string().c_str(), &tm);
                   return Value(std::string(buf, n));
                 }));
  g.emplace_back("joiner", Value::callable("joiner", [](Args& a) {
                   auto used = std::make_shared<bool>(false);
                   const std::string sep = py_str(a.get(0, "sep", Value(", ")));
                   return Value::callable("joiner", [used, sep](Args&) {
                     if (!*used) {
                       *used = true;
                       return Value("");
                     }
                     return Value(sep);
                   });
                 }));
  return g;
}

}  // namespace tandem::tokenizer::jinja
