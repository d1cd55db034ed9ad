// {"type": "code"}: runs model-written Python against the example's tests in the sandbox of
// sandbox.h and scores the fraction of tests passed (score: "fraction", default) or 1/0 (score:
// "all"). The code is the last ```python (or ```py, ```python3, bare ```) block of the completion,
// or group 1 of the `extract` regex. The tests column (default "tests") holds either
//   - assert snippets: ["assert add(1, 2) == 3", ...] run one by one in the solution's namespace;
//   - stdin/stdout cases: {"inputs": ["1 2\n"], "outputs": ["3\n"]} running the solution as
//     __main__ per case, outputs compared token by token (whitespace-insensitive);
//   - a string: one snippet, or JSON text of one of the above.
// One sandboxed interpreter per completion runs a small harness that reports each test's outcome
// on fd 3 tagged with a per-run random nonce, so the solution's own prints cannot fake a pass and
// an early exit (sys.exit, os._exit, a crash, a kill at a limit) leaves the rest failed.
// Not a defence against code written to subvert the harness itself (e.g. objects whose __eq__ is
// always true); the sandbox protects the machine, not the reward's meaning.
// Keys: column, extract, score, interpreter (/usr/bin/python3), timeout (10 s wall), cpu_s
// (timeout rounded up), memory_mb (1024), max_processes (64), disk_mb (16), output_bytes (1 MiB),
// parallel (sandboxes at once; default the hardware threads), mounts (extra read-only paths, e.g.
// a non-/usr interpreter's prefix), uid (100000: worker k runs as uid+k).
#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "core/json.h"
#include "core/log.h"
#include "reward/regex.h"
#include "reward/sandbox.h"
#include "reward/spec.h"

namespace tandem::reward {

namespace {

constexpr const char* kHarness = R"PY(import io, json, os, sys

def _tandem_run():
    nonce = os.environ.pop("TANDEM_NONCE", "")
    with open("tests.json") as f:
        spec = json.load(f)
    with open("solution.py") as f:
        source = f.read()
    for name in ("tests.json", "solution.py", "harness.py"):
        try:
            os.remove(name)
        except OSError:
            pass
    out = os.fdopen(3, "w")

    def report(i, ok):
        out.write("%s %d %s\n" % (nonce, i, "pass" if ok else "fail"))
        out.flush()

    try:
        code = compile(source, "solution.py", "exec")
    except BaseException:
        return
    if spec["kind"] == "asserts":
        ns = {"__name__": "solution"}
        try:
            exec(code, ns)
        except BaseException:
            return
        for i, test in enumerate(spec["tests"]):
            try:
                exec(compile(test, "test_%d" % i, "exec"), ns)
                ok = True
            except BaseException:
                ok = False
            report(i, ok)
    else:
        real_in, real_out = sys.stdin, sys.stdout
        for i, (given, want) in enumerate(zip(spec["inputs"], spec["outputs"])):
            buf = io.StringIO()
            sys.stdin, sys.stdout = io.StringIO(given), buf
            try:
                exec(code, {"__name__": "__main__"})
                ok = True
            except SystemExit as e:
                ok = e.code in (None, 0)
            except BaseException:
                ok = False
            finally:
                sys.stdin, sys.stdout = real_in, real_out
            report(i, ok and buf.getvalue().split() == want.split())

_tandem_run()
)PY";

// The last fenced block tagged python/py/python3 or untagged; nullopt when there is none.
std::optional<std::string> last_python_block(const std::string& text) {
  std::optional<std::string> found;
  size_t pos = 0;
  while (true) {
    const size_t open = text.find("```", pos);
    if (open == std::string::npos) break;
    const size_t eol = text.find('\n', open + 3);
    if (eol == std::string::npos) break;
    std::string lang = text.substr(open + 3, eol - open - 3);
    lang.erase(std::remove_if(lang.begin(), lang.end(), [](char c) { return c == ' ' || c == '\r'; }), lang.end());
    std::transform(lang.begin(), lang.end(), lang.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    const size_t close = text.find("```", eol + 1);
    if (close == std::string::npos) break;  // an unclosed block is a truncated answer
    if (lang.empty() || lang == "python" || lang == "py" || lang == "python3")
      found = text.substr(eol + 1, close - eol - 1);
    pos = close + 3;
  }
  return found;
}

// The tests column as the harness's tests.json, and the number of tests.
std::pair<Json, size_t> read_tests(const RewardRequest& r, const std::string& column, const std::string& where) {
  const Json* v = nullptr;
  if (r.columns.is_object() && r.columns.contains(column)) v = &r.columns[column];
  if (!v || v->is_null()) {
    column_strings(r, column, where);  // throws the standard "no column" error
  }
  Json t = *v;
  if (t.is_string()) {
    const std::string s = t.get<std::string>();
    // A string nested past kMaxJsonDepth stays a string (one snippet) rather than a parse that
    // the recursive copies below could not survive.
    Json parsed = json_too_deep_at(s) == std::string_view::npos ? Json::parse(s, nullptr, false) : Json(Json::value_t::discarded);
    t = (!parsed.is_discarded() && (parsed.is_array() || parsed.is_object())) ? parsed : Json::array({s});
  }
  auto bad = [&](const std::string& why) {
    return Error(where, cat("tests column '", column, "' ", why, ", expected an array of assert snippets or ",
                            "{\"inputs\": [...], \"outputs\": [...]}; got ", clip_text(v->dump(), 300)));
  };
  if (t.is_array()) {
    for (const Json& e : t)
      if (!e.is_string()) throw bad("holds a non-string test");
    return {Json{{"kind", "asserts"}, {"tests", t}}, t.size()};
  }
  if (t.is_object() && t.contains("inputs") && t.contains("outputs") && t["inputs"].is_array() &&
      t["outputs"].is_array()) {
    if (t["inputs"].size() != t["outputs"].size()) throw bad("has different numbers of inputs and outputs");
    Json ins = Json::array(), outs = Json::array();
    for (const Json& e : t["inputs"]) ins.push_back(e.is_string() ? e.get<std::string>() : e.dump());
    for (const Json& e : t["outputs"]) outs.push_back(e.is_string() ? e.get<std::string>() : e.dump());
    return {Json{{"kind", "stdio"}, {"inputs", ins}, {"outputs", outs}}, ins.size()};
  }
  throw bad("has an unknown shape");
}

class CodeReward : public RewardFunction {
 public:
  CodeReward(const Json& spec, const std::string& where) : where_(where) {
    check_keys(spec, where,
               {"column", "extract", "score", "interpreter", "timeout", "cpu_s", "memory_mb", "max_processes",
                "disk_mb", "output_bytes", "parallel", "mounts", "uid"});
    const std::string o = "reward config";
    name_ = spec_name(spec, where, "code");
    column_ = json_string_or(spec, "column", "tests", where, o);
    const std::string pattern = json_string_or(spec, "extract", "", where, o);
    if (!pattern.empty()) extract_ = std::make_unique<RewardRegex>(pattern, RegexFlags{.dotall = true}, where + ".extract");
    all_or_nothing_ = json_enum_or(spec, "score", "fraction", {"fraction", "all"}, where) == "all";
    interpreter_ = json_string_or(spec, "interpreter", "/usr/bin/python3", where, o);
    if (interpreter_.empty() || interpreter_[0] != '/')
      throw Error(where + ".interpreter", cat("must be an absolute path, got '", interpreter_, "'"));
    SandboxLimits& l = limits_;
    l.wall_s = json_number_or(spec, "timeout", 10.0, where, o);
    if (!(l.wall_s > 0 && l.wall_s <= 3600)) throw Error(where + ".timeout", cat("must be in (0, 3600] s, got ", l.wall_s));
    l.cpu_s = json_int_or(spec, "cpu_s", int64_t(std::ceil(l.wall_s)), where, o);
    l.memory_mb = json_int_or(spec, "memory_mb", 1024, where, o);
    l.max_processes = json_int_or(spec, "max_processes", 64, where, o);
    l.disk_mb = json_int_or(spec, "disk_mb", 16, where, o);
    l.output_bytes = json_int_or(spec, "output_bytes", 1 << 20, where, o);
    for (auto [key, v] : {std::pair{"cpu_s", l.cpu_s}, {"memory_mb", l.memory_mb}, {"max_processes", l.max_processes},
                          {"disk_mb", l.disk_mb}, {"output_bytes", l.output_bytes}})
      if (v <= 0) throw Error(where + "." + key, cat("must be > 0, got ", v));
    if (l.memory_mb < 64) throw Error(where + ".memory_mb", cat("must be >= 64 (an interpreter needs it), got ", l.memory_mb));
    const int64_t hw = std::max<int64_t>(1, std::thread::hardware_concurrency());
    parallel_ = json_int_or(spec, "parallel", hw, where, o);
    if (parallel_ < 1 || parallel_ > 1024) throw Error(where + ".parallel", cat("must be in [1, 1024], got ", parallel_));
    if (spec.contains("mounts")) {
      const Json& m = spec["mounts"];
      if (!m.is_array()) throw Error(where + ".mounts", "expected an array of absolute paths");
      for (const Json& p : m) {
        if (!p.is_string() || p.get<std::string>().empty() || p.get<std::string>()[0] != '/')
          throw Error(where + ".mounts", cat("expected absolute paths, got ", p.dump()));
        mounts_.push_back(p.get<std::string>());
      }
    }
    const int64_t uid = json_int_or(spec, "uid", 100000, where, o);
    if (uid < 1 || uid + parallel_ > 4000000000LL) throw Error(where + ".uid", cat("must be a positive uid, got ", uid));
    uid_ = uint32_t(uid);
  }

  std::string name() const override { return name_; }

  std::vector<RewardScore> score(std::span<const RewardRequest> requests) override {
    std::vector<RewardScore> out(requests.size());
    // Parse everything first, in this thread, so a bad column throws before any sandbox starts.
    std::vector<std::optional<std::string>> code(requests.size());
    std::vector<std::pair<Json, size_t>> tests(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      tests[i] = read_tests(requests[i], column_, where_);
      code[i] = extract_ ? extract_->first_capture(requests[i].completion) : last_python_block(requests[i].completion);
    }
    std::exception_ptr failure;
    std::mutex mu;
    const size_t workers = std::min<size_t>(size_t(parallel_), requests.size());
    auto work = [&](size_t w) {
      for (size_t i = w; i < requests.size(); i += workers) {
        if (!code[i] || tests[i].second == 0) continue;  // no code: every test fails
        try {
          out[i].reward = run_one(*code[i], tests[i].first, tests[i].second, uint32_t(uid_ + w));
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu);
          if (!failure) failure = std::current_exception();
          return;
        }
      }
    };
    if (workers <= 1) {
      work(0);
    } else {
      std::vector<std::thread> pool;
      for (size_t w = 0; w < workers; ++w) pool.emplace_back(work, w);
      for (std::thread& t : pool) t.join();
    }
    if (failure) std::rethrow_exception(failure);
    return out;
  }

 private:
  double run_one(const std::string& code, const Json& tests, size_t n_tests, uint32_t uid) {
    static thread_local std::mt19937_64 rng(std::random_device{}());
    const std::string nonce = cat(std::hex, rng(), rng());
    SandboxRun run;
    run.argv = {interpreter_, "-I", "-B", "harness.py"};  // -I: no user site, no PYTHON* variables
    // One BLAS/OpenMP thread: thread pools would spend RLIMIT_NPROC and address space (numpy's
    // OpenBLAS reserves buffers per core) that the solution itself needs.
    run.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONIOENCODING=utf-8",
               "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1", "TANDEM_NONCE=" + nonce};
    run.files = {{"harness.py", kHarness}, {"solution.py", code}, {"tests.json", tests.dump()}};
    run.ro_paths = mounts_;
    run.limits = limits_;
    run.uid = uid;
    const SandboxResult r = run_sandboxed(run, where_ + ".sandbox");
    std::vector<char> passed(n_tests, 0);
    std::istringstream lines(r.results);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream fields(line);
      std::string tag, verdict;
      size_t index = 0;
      if (fields >> tag >> index >> verdict && tag == nonce && index < n_tests && verdict == "pass") passed[index] = 1;
    }
    const size_t n_pass = size_t(std::count(passed.begin(), passed.end(), 1));
    log_debug("[", where_, "] sandbox ", r.describe(), " in ", r.wall_s, " s: ", n_pass, "/", n_tests, " passed");
    if (all_or_nothing_) return n_pass == n_tests ? 1.0 : 0.0;
    return double(n_pass) / double(n_tests);
  }

  std::string where_, name_, column_, interpreter_;
  std::unique_ptr<RewardRegex> extract_;
  bool all_or_nothing_ = false;
  SandboxLimits limits_;
  int64_t parallel_ = 1;
  std::vector<std::string> mounts_;
  uint32_t uid_ = 100000;
};

}  // namespace

RewardPtr make_code_reward(const Json& spec, const std::string& where) {
  return std::make_unique<CodeReward>(spec, where);
}

}  // namespace tandem::reward
