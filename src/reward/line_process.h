// A long-lived child process that the trainer talks to in lines: fork/exec with the child's stdin
// and stdout joined to one Unix socket (send() with MSG_NOSIGNAL, so a dead child is an error
// value, never a SIGPIPE), every read and write bounded by a timeout, and the child in its own
// process group so a kill also takes whatever it started. When the trainer exits, even by
// SIGKILL, the program sees end-of-file on stdin and is expected to exit. (PR_SET_PDEATHSIG is
// not used: it fires when the *thread* that started the child ends, which would kill the program
// whenever a scoring thread finishes.) Its stderr is the trainer's, so its diagnostics stay visible.
// Not here: what the lines mean (program_reward.cpp), sandboxing (sandbox.h).
#pragma once
#include <string>
#include <sys/types.h>
#include <vector>

namespace tandem::reward {

class LineProcess {
 public:
  enum class Status { kOk, kTimeout, kClosed, kTooLong };

  // argv[0] is looked up in PATH; cwd empty = the trainer's.
  LineProcess(std::vector<std::string> argv, std::string cwd);
  ~LineProcess();
  LineProcess(const LineProcess&) = delete;
  LineProcess& operator=(const LineProcess&) = delete;

  // Starts the child; throws Error(where, ...) when it cannot be executed.
  void start(const std::string& where);
  bool running() const { return pid_ > 0; }

  // Sends line + '\n'. kClosed when the child no longer reads, kTimeout when it stops reading.
  Status write_line(const std::string& line, double timeout_s);
  // Reads up to the next '\n' (not included). kTooLong past max_bytes.
  Status read_line(std::string* line, double timeout_s, size_t max_bytes = size_t(64) << 20);

  // Waits up to grace_s for the child to exit on its own (after it closed its output), then
  // SIGKILLs its process group and reaps it; a no-op when not running.
  void stop(double grace_s = 0);
  // After stop(): how the child ended, e.g. "exited with status 3", "was killed by signal 11 (Segmentation fault)".
  const std::string& exit_description() const { return exit_description_; }

 private:
  std::vector<std::string> argv_;
  std::string cwd_;
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;  // bytes read past the last returned line
  std::string exit_description_;
};

}  // namespace tandem::reward
