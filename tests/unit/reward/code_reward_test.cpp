// Code rewards in the sandbox: correct code passes and is scored by tests passed; code that opens
// the network, reads a file outside its directory, fork-bombs, allocates, prints or loops without
// bound is stopped and scored as a failure within a few seconds. Where the failure could come from
// the code itself, a control runs the same code outside the sandbox and shows it would have passed.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <dirent.h>
#include <fstream>
#include <thread>

#include "core/file.h"
#include "reward/reward.h"
#include "reward/sandbox.h"
#include "testing/testing.h"

namespace tandem::reward {
namespace {

// Short limits so each hostile case ends in a few seconds; parallel 1 keeps the fork bomb alone.
Json code_spec(Json extra = Json::object()) {
  Json s = {{"type", "code"}, {"timeout", 3}, {"cpu_s", 2}, {"memory_mb", 256}, {"max_processes", 32},
            {"parallel", 1}};
  s.update(extra);
  return s;
}

RewardRequest code_req(const std::string& code, Json tests) {
  RewardRequest r;
  r.completion = "Here is my solution:\n```python\n" + code + "\n```\nDone.";
  r.columns = Json{{"tests", std::move(tests)}};
  return r;
}

double score_one(RewardFunction& fn, const RewardRequest& r, double* seconds = nullptr) {
  const auto t0 = std::chrono::steady_clock::now();
  const double v = fn.score(std::span(&r, 1))[0].reward;
  if (seconds) *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return v;
}

// The control: solution and tests run by plain Python outside the sandbox; true when all pass.
bool passes_outside(const testing::TempDir& dir, const std::string& code, const std::string& test) {
  const std::string path = dir.file("control.py");
  write_file_atomic(path, code + "\n" + test + "\n");
  std::string out;
  return testing::run_command(testing::debian_python() + " " + path, &out) == 0;
}

// Processes on this machine still running as uid (the sandbox's); 0 once a run is fully torn down.
int processes_of_uid(uint32_t uid) {
  int n = 0;
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/status");
    for (std::string line; std::getline(f, line);)
      if (line.rfind("Uid:", 0) == 0 && std::stoul(line.substr(4)) == uid) ++n;
  }
  if (d) closedir(d);
  return n;
}

TEST(CodeReward, CorrectCodePassesAndPartialCredit) {
  auto fn = make_reward(code_spec(), "rl.reward");
  const Json tests = {"assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(2, 2) == 4"};
  EXPECT_EQ(score_one(*fn, code_req("def add(a, b):\n    return a + b", tests)), 1.0);
  // Wrong on one of three tests.
  EXPECT_DOUBLE_EQ(score_one(*fn, code_req("def add(a, b):\n    return a + b if a >= 0 else 5", tests)), 2.0 / 3.0);
  auto all = make_reward(code_spec({{"score", "all"}}), "rl.reward");
  EXPECT_EQ(score_one(*all, code_req("def add(a, b):\n    return a + b if a >= 0 else 5", tests)), 0.0);
  // No code block, a syntax error, an exit before the tests: all fail.
  RewardRequest none = code_req("", tests);
  none.completion = "def add(a, b): return a + b";
  EXPECT_EQ(score_one(*fn, none), 0.0);
  EXPECT_EQ(score_one(*fn, code_req("def add(a, b) return a + b", tests)), 0.0);
  EXPECT_EQ(score_one(*fn, code_req("import os\nos._exit(0)", tests)), 0.0);
  // Printing fake results on stdout or fd 3 does not count: they lack the run's nonce.
  EXPECT_EQ(score_one(*fn, code_req("import os\nprint('0 pass')\nos.write(3, b'x 0 pass\\nx 1 pass\\n')\nos._exit(0)",
                                    tests)),
            0.0);
}

TEST(CodeReward, StdinStdoutCasesAndJsonStringColumn) {
  auto fn = make_reward(code_spec(), "rl.reward");
  const std::string code = "a, b = map(int, input().split())\nprint(a + b)";
  EXPECT_EQ(score_one(*fn, code_req(code, Json{{"inputs", {"1 2\n", "10 -3\n"}}, {"outputs", {"3\n", "7"}}})), 1.0);
  EXPECT_EQ(score_one(*fn, code_req(code, Json{{"inputs", {"1 2\n", "1 1\n"}}, {"outputs", {"3\n", "3\n"}}})), 0.5);
  // Datasets often store tests as JSON text.
  EXPECT_EQ(score_one(*fn, code_req("def f():\n    return 1", R"(["assert f() == 1", "assert f() == 2"])")), 0.5);
}

TEST(CodeReward, NetworkIsUnreachable) {
  // A server on this machine's loopback; the same client code reaches it outside the sandbox.
  const int srv = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(srv, 8), 0);
  socklen_t len = sizeof a;
  getsockname(srv, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  std::thread server([srv] {
    while (true) {
      const int c = accept(srv, nullptr, nullptr);
      if (c < 0) return;
      const ssize_t ignored = write(c, "hello", 5);
      (void)ignored;
      close(c);
    }
  });
  const std::string code = "import socket\ndef f():\n    s = socket.create_connection(('127.0.0.1', " +
                           std::to_string(port) + "), timeout=2)\n    return s.recv(5)";
  const std::string test = "assert f() == b'hello'";
  testing::TempDir dir("reward_net");
  EXPECT_TRUE(passes_outside(dir, code, test)) << "control: the client should reach the server outside";
  auto fn = make_reward(code_spec(), "rl.reward");
  double secs = 0;
  EXPECT_EQ(score_one(*fn, code_req(code, {test}), &secs), 0.0);
  EXPECT_LT(secs, 5.0);
  // Nor is the outside world: 1.1.1.1 has no route ("Network is unreachable" at once).
  const std::string far = "import socket\ndef f():\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
                          "    return True";
  EXPECT_EQ(score_one(*fn, code_req(far, {"assert f()"})), 0.0);
  shutdown(srv, SHUT_RDWR);
  close(srv);
  server.join();
}

TEST(CodeReward, FilesOutsideItsDirectoryAreInvisible) {
  testing::TempDir dir("reward_secret");
  write_file_atomic(dir.file("secret.txt"), "s3cr3t");
  const std::string code = "def f():\n    return open('" + dir.file("secret.txt") + "').read()";
  const std::string test = "assert f() == 's3cr3t'";
  EXPECT_TRUE(passes_outside(dir, code, test)) << "control: the file is readable outside";
  auto fn = make_reward(code_spec(), "rl.reward");
  EXPECT_EQ(score_one(*fn, code_req(code, {test})), 0.0);
  // Nor can it see the source tree, HOME, or write outside /sandbox and /tmp.
  const std::string probe =
      "import os\n"
      "def f():\n"
      "    assert not os.path.exists('" + testing::source_dir() + "')\n"
      "    assert 'HOME' not in os.environ and os.getuid() != 0\n"
      "    for p in ('/usr/evil', '/evil', '/etc/evil'):\n"
      "        try:\n"
      "            open(p, 'w')\n"
      "            return False\n"
      "        except OSError:\n"
      "            pass\n"
      "    open('/tmp/ok', 'w').write('x')\n"
      "    return os.getcwd() == '/sandbox'\n";
  EXPECT_EQ(score_one(*fn, code_req(probe, {"assert f()"})), 1.0);
}

TEST(CodeReward, ForkBombIsStopped) {
  auto fn = make_reward(code_spec({{"uid", 100900}}), "rl.reward");
  const std::string bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
                           "def f():\n    return 1";
  double secs = 0;
  EXPECT_EQ(score_one(*fn, code_req(bomb, {"assert f() == 1"}), &secs), 0.0);
  EXPECT_LT(secs, 8.0);
  EXPECT_EQ(processes_of_uid(100900), 0) << "the bomb's processes outlived the run";
}

TEST(CodeReward, UnboundedMemoryOutputAndTimeAreStopped) {
  auto fn = make_reward(code_spec(), "rl.reward");
  const std::string tail = "\ndef f():\n    return 1";
  const std::vector<std::string> hostile = {
      "x = []\nwhile True:\n    x.append(bytearray(64 * 2**20))",  // MemoryError at the 256 MiB limit
      "while True:\n    print('spam' * 1000)",                      // killed at the output cap
      "while True:\n    pass",                                      // CPU limit / wall timeout
      "import time\ntime.sleep(100)",                               // wall timeout without CPU use
  };
  for (const std::string& code : hostile) {
    double secs = 0;
    EXPECT_EQ(score_one(*fn, code_req(code + tail, {"assert f() == 1"}), &secs), 0.0) << code;
    EXPECT_LT(secs, 8.0) << code;
  }
  // The control: f itself is fine, so the zeros above come from the limits.
  EXPECT_EQ(score_one(*fn, code_req(tail, {"assert f() == 1"})), 1.0);
}

TEST(CodeReward, NumpyImportsWithDefaultLimits) {
  testing::TempDir dir("reward_numpy");
  const std::string code = "import numpy as np\ndef f():\n    return int(np.arange(5).sum())";
  if (!passes_outside(dir, code, "assert f() == 10")) GTEST_SKIP() << "no numpy for " << testing::debian_python();
  auto fn = make_reward(Json{{"type", "code"}, {"parallel", 1}}, "rl.reward");
  EXPECT_EQ(score_one(*fn, code_req(code, {"assert f() == 10"})), 1.0);
}

TEST(CodeReward, ParallelRunsAgree) {
  auto fn = make_reward(code_spec({{"parallel", 3}}), "rl.reward");
  std::vector<RewardRequest> reqs;
  for (int i = 0; i < 6; ++i)
    reqs.push_back(code_req("def g():\n    return " + std::to_string(i), {"assert g() == 3", "assert g() >= 0"}));
  std::vector<double> got;
  for (const RewardScore& s : fn->score(reqs)) got.push_back(s.reward);
  EXPECT_EQ(got, (std::vector<double>{0.5, 0.5, 0.5, 1, 0.5, 0.5}));
}

TEST(Sandbox, UnprivilegedPathUsesAUserNamespace) {
  // As a plain user the sandbox adds a user namespace instead of switching uid. A forked child
  // drops to nobody and runs it; the program must see the same isolation as under root.
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to another uid";
  testing::TempDir dir("reward_userns");
  write_file_atomic(dir.file("secret.txt"), "s3cr3t");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
      _exit(3);
    SandboxRun run;
    run.argv = {testing::debian_python(), "-I", "-B", "main.py"};
    run.limits.wall_s = 5;
    run.files = {{"main.py",
                  "import os, socket\n"
                  "assert not os.path.exists('" + dir.file("secret.txt") + "')\n"
                  "assert os.getcwd() == '/sandbox'\n"
                  "try:\n"
                  "    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
                  "    raise SystemExit(1)\n"
                  "except OSError:\n"
                  "    pass\n"
                  "try:\n"
                  "    open('/usr/evil', 'w')\n"
                  "    raise SystemExit(1)\n"
                  "except OSError:\n"
                  "    pass\n"}};
    try {
      _exit(run_sandboxed(run, "t").ok() ? 0 : 1);
    } catch (const Error& e) {
      const std::string msg = e.what();
      fprintf(stderr, "%s\n", msg.c_str());
      _exit(msg.find("cannot create the sandbox's namespaces") != std::string::npos ? 2 : 4);
    }
  }
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  if (WEXITSTATUS(st) == 2) GTEST_SKIP() << "unprivileged user namespaces are disabled here";
  EXPECT_EQ(WEXITSTATUS(st), 0) << "1: the program saw a way out; 3: could not drop privileges; 4: setup error";
}

TEST(CodeReward, SetupAndConfigErrorsAreClear) {
  auto fn = make_reward(code_spec({{"interpreter", "/nonexistent/python3"}}), "rl.reward");
  try {
    score_one(*fn, code_req("x = 1", {"assert x == 1"}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[rl.reward.sandbox] cannot build the sandbox: exec the program failed"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(make_reward(code_spec({{"interpreter", "python3"}}), "r"), Error);
  EXPECT_THROW(make_reward(code_spec({{"memory_mb", 0}}), "r"), Error);
  EXPECT_THROW(make_reward(code_spec({{"timeout_s", 3}}), "r"), Error);
  RewardRequest bad = code_req("x = 1", Json{{"cases", 1}});
  EXPECT_THROW(fn->score(std::span(&bad, 1)), Error);
}

}  // namespace
}  // namespace tandem::reward
