// LineProcess (see line_process.h): spawning, timed line I/O and teardown of a child process.
#include "reward/line_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/error.h"

namespace tandem::reward {

namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point deadline_after(double s) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Milliseconds left until d for poll(), at least 0.
int ms_left(Clock::time_point d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d - Clock::now()).count();
  return ms <= 0 ? 0 : ms > 1000000 ? 1000000 : int(ms);
}

std::string describe_status(int st) {
  if (WIFEXITED(st)) return cat("exited with status ", WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return cat("was killed by signal ", WTERMSIG(st), " (", strsignal(WTERMSIG(st)), ")");
  return cat("ended with wait status ", st);
}

}  // namespace

LineProcess::LineProcess(std::vector<std::string> argv, std::string cwd) : argv_(std::move(argv)), cwd_(std::move(cwd)) {
  TD_ASSERT(!argv_.empty(), "LineProcess needs a program");
}

LineProcess::~LineProcess() { stop(); }

void LineProcess::start(const std::string& where) {
  TD_ASSERT(pid_ < 0, "LineProcess started twice");
  int sv[2], ep[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    throw Error(where, cat("socketpair failed: ", std::strerror(errno)));
  if (pipe2(ep, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    throw Error(where, cat("pipe2 failed: ", std::strerror(e)));
  }
  // Everything the child touches is prepared here: after fork only async-signal-safe calls.
  std::vector<char*> args;
  for (std::string& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  const char* cwd = cwd_.empty() ? nullptr : cwd_.c_str();

  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    for (int fd : {sv[0], sv[1], ep[0], ep[1]}) ::close(fd);
    throw Error(where, cat("fork failed: ", std::strerror(e)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);           // an ignored SIGPIPE would survive exec
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(sv[1], 0);
    dup2(sv[1], 1);
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // the trainer's other files stay out of the child
    int err = 0;
    if (cwd && chdir(cwd) != 0) err = errno;
    if (err == 0) {
      execvp(args[0], args.data());
      err = errno;
    }
    const ssize_t ignored = write(ep[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so a kill right after start reaches the group
  ::close(sv[1]);
  ::close(ep[1]);
  int err = 0;
  ssize_t n;
  do n = ::read(ep[0], &err, sizeof err);
  while (n < 0 && errno == EINTR);
  ::close(ep[0]);
  if (n == ssize_t(sizeof err)) {
    ::close(sv[0]);
    int st;
    waitpid(pid, &st, 0);
    throw Error(where, cat("cannot run '", argv_[0], "'", cwd ? cat(" in ", cwd) : "", ": ", std::strerror(err)));
  }
  fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  pid_ = pid;
  fd_ = sv[0];
  buffer_.clear();
  exit_description_.clear();
}

LineProcess::Status LineProcess::write_line(const std::string& line, double timeout_s) {
  TD_ASSERT(pid_ > 0, "write to a stopped process");
  const std::string data = line + "\n";
  const auto deadline = deadline_after(timeout_s);
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      const int left = ms_left(deadline);
      if (left == 0 || ::poll(&p, 1, left) == 0) return Status::kTimeout;
      continue;
    }
    return Status::kClosed;  // EPIPE, ECONNRESET: the child is gone
  }
  return Status::kOk;
}

LineProcess::Status LineProcess::read_line(std::string* line, double timeout_s, size_t max_bytes) {
  TD_ASSERT(pid_ > 0, "read from a stopped process");
  const auto deadline = deadline_after(timeout_s);
  size_t scanned = 0;
  while (true) {
    const size_t nl = buffer_.find('\n', scanned);
    if (nl != std::string::npos) {
      line->assign(buffer_, 0, nl);
      buffer_.erase(0, nl + 1);
      return Status::kOk;
    }
    scanned = buffer_.size();
    if (buffer_.size() > max_bytes) return Status::kTooLong;
    pollfd p{fd_, POLLIN, 0};
    const int left = ms_left(deadline);
    const int r = left == 0 ? 0 : ::poll(&p, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return Status::kTimeout;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      buffer_.append(buf, size_t(n));
    } else if (n == 0) {
      return Status::kClosed;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return Status::kClosed;
    }
  }
}

void LineProcess::stop(double grace_s) {
  if (pid_ <= 0) return;
  int st = 0;
  pid_t got = 0;
  const auto deadline = deadline_after(grace_s);
  while ((got = waitpid(pid_, &st, WNOHANG)) == 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(-pid_, SIGKILL);  // the group: whatever the program started goes too
  if (got == 0) {
    ::kill(pid_, SIGKILL);
    while ((got = waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
    }
  }
  exit_description_ = got == pid_ ? describe_status(st) : "was already reaped";
  ::close(fd_);
  fd_ = -1;
  pid_ = -1;
  buffer_.clear();
}

}  // namespace tandem::reward
