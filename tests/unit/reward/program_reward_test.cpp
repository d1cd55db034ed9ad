// External reward programs: the JSON-lines exchange with a long-lived process, and what happens on
// a timeout, a crash and a malformed reply, with on_error throw (default) and zero. The program is
// tests/reference/reward_program.py (its behaviour per request is picked by a "mode" column).
#include <gtest/gtest.h>

#include <chrono>

#include "reward/reward.h"
#include "testing/testing.h"

namespace tandem::reward {
namespace {

Json program_spec(double timeout, const char* on_error = "throw") {
  return Json{{"type", "program"},
              {"command", {testing::debian_python(), testing::source_dir() + "/tests/reference/reward_program.py"}},
              {"timeout", timeout},
              {"on_error", on_error}};
}

RewardRequest req(const std::string& completion, const std::string& mode) {
  RewardRequest r;
  r.prompt = "p";
  r.completion = completion;
  r.columns = Json{{"mode", mode}, {"answer", "x"}};
  return r;
}

std::string error_of(RewardFunction& fn, const std::vector<RewardRequest>& reqs) {
  try {
    fn.score(reqs);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(ProgramReward, RepliesAndComponentsFromOneLongLivedProcess) {
  auto fn = make_reward(program_spec(20), "rl.reward");
  const auto s = fn->score(std::vector<RewardRequest>{req("abc", "ok"), req("", "ok"), req("hello", "ok")});
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].reward, 3.0);
  EXPECT_EQ(s[1].reward, 0.0);
  EXPECT_EQ(s[2].reward, 5.0);
  EXPECT_EQ(s[2].components.at("served"), 3.0);  // the same process answered all three
  const auto again = fn->score(std::vector<RewardRequest>{req("xy", "ok")});
  EXPECT_EQ(again[0].components.at("served"), 4.0);  // and stays up between calls
}

TEST(ProgramReward, TimeoutThrowsNamingTheRequest) {
  auto fn = make_reward(program_spec(0.5), "rl.reward");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = error_of(*fn, {req("ok first", "ok"), req("the slow one", "sleep")});
  EXPECT_LT(seconds_since(t0), 5.0);
  EXPECT_NE(e.find("[rl.reward] reward program sent no reply within 0.5 s"), std::string::npos) << e;
  EXPECT_NE(e.find("Tandem killed the program"), std::string::npos) << e;
  EXPECT_NE(e.find("\"completion\":\"the slow one\""), std::string::npos) << e;
  // The next call starts a fresh program.
  EXPECT_EQ(fn->score(std::vector<RewardRequest>{req("abcd", "ok")})[0].components.at("served"), 1.0);
}

TEST(ProgramReward, CrashThrowsWithExitStatus) {
  auto fn = make_reward(program_spec(20), "rl.reward");
  const std::string e = error_of(*fn, {req("boom", "crash")});
  EXPECT_NE(e.find("closed its output without a reply"), std::string::npos) << e;
  EXPECT_NE(e.find("the program then exited with status 3"), std::string::npos) << e;
  EXPECT_NE(e.find("\"completion\":\"boom\""), std::string::npos) << e;
}

TEST(ProgramReward, MalformedRepliesThrow) {
  auto fn = make_reward(program_spec(20), "rl.reward");
  std::string e = error_of(*fn, {req("m", "malformed")});
  EXPECT_NE(e.find("malformed reply, not JSON"), std::string::npos) << e;
  EXPECT_NE(e.find("this is not json"), std::string::npos) << e;
  e = error_of(*fn, {req("m", "no_reward")});
  EXPECT_NE(e.find("expected {\"reward\": <number>"), std::string::npos) << e;
}

TEST(ProgramReward, OnErrorZeroScoresZeroAndRestarts) {
  auto fn = make_reward(program_spec(0.5, "zero"), "rl.reward");
  const auto t0 = std::chrono::steady_clock::now();
  const auto s = fn->score(std::vector<RewardRequest>{req("aa", "ok"), req("x", "crash"), req("bbb", "ok"),
                                                      req("y", "sleep"), req("z", "malformed"), req("cccc", "ok")});
  EXPECT_LT(seconds_since(t0), 8.0);
  std::vector<double> got;
  for (const auto& x : s) got.push_back(x.reward);
  EXPECT_EQ(got, (std::vector<double>{2, 0, 3, 0, 0, 4}));
  EXPECT_TRUE(s[1].components.empty());
  EXPECT_EQ(s[2].components.at("served"), 1.0);  // restarted after the crash
  EXPECT_EQ(s[5].components.at("served"), 1.0);  // and after the malformed reply
}

TEST(ProgramReward, ConfigAndStartErrors) {
  auto fn = make_reward(Json{{"type", "program"}, {"command", Json::array({"/nonexistent/reward-prog"})}}, "rl.reward");
  const std::string e = error_of(*fn, {req("a", "ok")});
  EXPECT_NE(e.find("[rl.reward.command] cannot run '/nonexistent/reward-prog'"), std::string::npos) << e;
  try {
    make_reward(Json{{"type", "program"}}, "rl.reward");
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("[rl.reward.command] missing required field"), std::string::npos);
  }
  EXPECT_THROW(make_reward(Json{{"type", "program"}, {"command", "x"}, {"on_error", "ignore"}}, "r"), Error);
  EXPECT_THROW(make_reward(Json{{"type", "program"}, {"command", "x"}, {"timeout", 0}}, "r"), Error);
}

TEST(ProgramReward, ProgramThatExitsAtOnce) {
  auto fn = make_reward(Json{{"type", "program"}, {"command", "exit 5"}, {"timeout", 20}}, "rl.reward");
  const std::string e = error_of(*fn, {req("a", "ok")});
  EXPECT_NE(e.find("the program then exited with status 5"), std::string::npos) << e;
}

TEST(ProgramReward, ShellCommandString) {
  // A string command goes through /bin/sh -c: here a one-line shell reward program.
  auto fn = make_reward(Json{{"type", "program"},
                             {"command", "while read -r line; do echo '{\"reward\": 0.25}'; done"},
                             {"timeout", 20}},
                        "r");
  EXPECT_EQ(fn->score(std::vector<RewardRequest>{req("a", "ok"), req("b", "ok")})[1].reward, 0.25);
}

}  // namespace
}  // namespace tandem::reward
