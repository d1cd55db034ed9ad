// {"type": "program", "command": ["python3", "my_reward.py"]}: an external reward program in any
// language, started once and kept running, speaking JSON lines on its stdin/stdout:
//   request (one line):  {<the example's columns>..., "prompt": ..., "completion": ...,
//                         "completion_tokens": n (when known)}
//   reply   (one line):  {"reward": 0.5, "components": {"name": 0.25, ...}}   (components optional)
// A reply must come within `timeout` seconds (default 60) per request. A crash, a timeout or a
// malformed reply is reported with the offending request; on_error "throw" (default) fails the run,
// "zero" logs a warning and scores that request 0 (components empty). Either way the program is
// killed and started again for the next request, so one bad state does not poison later ones.
// command is an argv array, or a string run by /bin/sh -c. cwd: the program's working directory.
// Not here: batching several requests per line (programs see one request at a time).
#include <cmath>

#include "core/json.h"
#include "core/log.h"
#include "reward/line_process.h"
#include "reward/spec.h"

namespace tandem::reward {

namespace {

std::vector<std::string> read_command(const Json& spec, const std::string& where) {
  const Json& c = json_field(spec, "command", where, "reward config");
  std::vector<std::string> argv;
  if (c.is_string()) {
    argv = {"/bin/sh", "-c", c.get<std::string>()};
  } else if (c.is_array()) {
    for (const Json& a : c) {
      if (!a.is_string()) throw Error(where + ".command", "expected an array of strings");
      argv.push_back(a.get<std::string>());
    }
  } else {
    throw Error(where + ".command", cat("expected a string or an array of strings, got ", json_type_name(c)));
  }
  if (argv.empty() || argv[0].empty()) throw Error(where + ".command", "must name a program");
  return argv;
}

class ProgramReward : public RewardFunction {
 public:
  ProgramReward(const Json& spec, const std::string& where)
      : where_(where),
        process_((check_keys(spec, where, {"command", "timeout", "on_error", "cwd"}), read_command(spec, where)),
                 json_string_or(spec, "cwd", "", where, "reward config")) {
    name_ = spec_name(spec, where, "program");
    timeout_ = json_number_or(spec, "timeout", 60.0, where, "reward config");
    if (!(timeout_ > 0)) throw Error(where + ".timeout", cat("must be > 0 seconds, got ", timeout_));
    zero_on_error_ = json_enum_or(spec, "on_error", "throw", {"throw", "zero"}, where) == "zero";
  }

  std::string name() const override { return name_; }

  std::vector<RewardScore> score(std::span<const RewardRequest> requests) override {
    std::vector<RewardScore> out(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) out[i] = score_one(requests[i]);
    return out;
  }

 private:
  RewardScore score_one(const RewardRequest& r) {
    Json req = r.columns.is_object() ? r.columns : Json::object();
    req["prompt"] = r.prompt;
    req["completion"] = r.completion;
    if (r.completion_tokens >= 0) req["completion_tokens"] = r.completion_tokens;
    const std::string line = req.dump(-1, ' ', false, Json::error_handler_t::replace);

    if (!process_.running()) process_.start(where_ + ".command");
    std::string reply, problem;
    bool ended = false;  // the program went away by itself (as opposed to being killed by us)
    switch (process_.write_line(line, timeout_)) {
      case LineProcess::Status::kOk: break;
      case LineProcess::Status::kTimeout: problem = cat("did not read its request within ", timeout_, " s"); break;
      default:
        problem = "closed its input before the request was sent";
        ended = true;
        break;
    }
    if (problem.empty()) {
      switch (process_.read_line(&reply, timeout_)) {
        case LineProcess::Status::kOk: problem = parse_reply(reply); break;
        case LineProcess::Status::kTimeout: problem = cat("sent no reply within ", timeout_, " s"); break;
        case LineProcess::Status::kTooLong: problem = "sent a reply line longer than 64 MiB"; break;
        case LineProcess::Status::kClosed:
          problem = "closed its output without a reply";
          ended = true;
          break;
      }
    }
    if (problem.empty()) return parsed_;

    process_.stop(ended ? 1.0 : 0.0);
    const std::string msg =
        cat("reward program ", problem, ended ? cat("; the program then ", process_.exit_description()) : "",
            ended ? "" : "; Tandem killed the program", ". Offending request: ", clip_text(line, 1000));
    if (!zero_on_error_) throw Error(where_, cat(msg, ". Hint: on_error: zero scores such requests 0 instead"));
    log_warn("[", where_, "] ", msg, "; scored 0, restarting the program");
    return RewardScore{};
  }

  // Fills parsed_; returns what is wrong with the reply, empty when it is good.
  std::string parse_reply(const std::string& reply) {
    parsed_ = RewardScore{};
    const std::string shown = cat(" (reply: ", clip_text(reply, 300), ")");
    if (json_too_deep_at(reply) != std::string_view::npos)
      return cat("sent a reply nested deeper than ", kMaxJsonDepth, " levels", shown);
    Json j;
    try {
      j = Json::parse(reply);
    } catch (const Json::exception& e) {
      return cat("sent a malformed reply, not JSON: ", e.what(), shown);
    }
    if (!j.is_object() || !j.contains("reward"))
      return cat("sent a malformed reply, expected {\"reward\": <number>, \"components\": {...}}", shown);
    if (!j["reward"].is_number() || !std::isfinite(j["reward"].get<double>()))
      return cat("sent a malformed reply, \"reward\" is not a finite number", shown);
    parsed_.reward = j["reward"].get<double>();
    if (j.contains("components")) {
      const Json& c = j["components"];
      if (!c.is_object()) return cat("sent a malformed reply, \"components\" is not an object", shown);
      for (auto it = c.begin(); it != c.end(); ++it) {
        if (!it->is_number()) return cat("sent a malformed reply, component '", it.key(), "' is not a number", shown);
        parsed_.components[it.key()] = it->get<double>();
      }
    }
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "reward" && it.key() != "components")
        return cat("sent a malformed reply, unknown key '", it.key(), "'", shown);
    return "";
  }

  std::string where_, name_;
  LineProcess process_;
  double timeout_ = 60;
  bool zero_on_error_ = false;
  RewardScore parsed_;
};

}  // namespace

RewardPtr make_program_reward(const Json& spec, const std::string& where) {
  return std::make_unique<ProgramReward>(spec, where);
}

}  // namespace tandem::reward
