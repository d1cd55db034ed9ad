// The sandbox of sandbox.h. The child is made with clone() straight into its new namespaces and
// builds its own root there before exec; every string it needs is prepared beforehand, because
// after clone() in a threaded process only async-signal-safe calls are allowed (no malloc).
// A failed setup step sends "<step>\0errno" back over a close-on-exec pipe, so the parent can
// tell "the sandbox could not be built" (an Error) from "the program failed" (a result).
#include "reward/sandbox.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace tandem::reward {

namespace {

using Clock = std::chrono::steady_clock;

struct Bind {
  std::string src, dst;  // dst inside the new root (an absolute host path under the mount point)
  enum Kind { kDir, kFile, kSymlink } kind;
  std::string link_target;
  bool read_only = true;
};

struct ChildFile {
  std::string path;
  const std::string* contents;
};

// Everything the child reads, prepared by the parent.
struct ChildPlan {
  std::string root;
  std::string root_opts, work_opts;
  std::vector<Bind> binds;
  std::vector<std::string> dirs;  // created in the new root before the binds
  std::string work_dir, tmp_dir, proc_dir;
  std::vector<ChildFile> files;
  std::vector<char*> argv, envp;
  std::string uid_map, gid_map;
  bool user_ns = false;
  uid_t uid = 0;
  SandboxLimits limits;
  int out_fd = -1, res_fd = -1, err_fd = -1;
};

// The child runs on the stack clone() was given, which AddressSanitizer does not know: the
// __asan_handle_no_return it puts before every noreturn call (child_fail, _exit) then reports
// from a runtime copied mid-flight, and the child hung in that report (the sanitizer suite's
// CodeReward.SetupAndConfigErrorsAreClear). The functions that can reach child_fail are left
// uninstrumented; they only make system calls on what the parent prepared.
#define TD_CLONE_CHILD __attribute__((no_sanitize_address))

TD_CLONE_CHILD [[noreturn]] void child_fail(const ChildPlan& p, const char* step) {
  const int e = errno;
  char msg[128];
  size_t n = 0;
  for (const char* s = step; *s && n < sizeof msg - 8; ++s) msg[n++] = *s;
  msg[n++] = '\0';
  std::memcpy(msg + n, &e, sizeof e);
  n += sizeof e;
  const ssize_t ignored = write(p.err_fd, msg, n);
  (void)ignored;
  _exit(127);
}

bool write_whole(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= size_t(w);
  }
  return true;
}

bool write_small_file(const char* path, const std::string& s) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = write_whole(fd, s.data(), s.size());
  close(fd);
  return ok;
}

TD_CLONE_CHILD void set_limit(const ChildPlan& p, int resource, rlim_t soft, rlim_t hard, const char* step) {
  const rlimit r{soft, hard};
  if (setrlimit(resource, &r) != 0) child_fail(p, step);
}

TD_CLONE_CHILD int child_main(void* arg) {
  const ChildPlan& p = *static_cast<const ChildPlan*>(arg);
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // tied to the cloning thread, which waits for this child
  if (p.user_ns) {
    // A process that changed credentials without exec is not dumpable, and then its /proc/self
    // files belong to root: the maps below could not be written.
    prctl(PR_SET_DUMPABLE, 1);
    if (!write_small_file("/proc/self/setgroups", "deny")) child_fail(p, "write /proc/self/setgroups");
    if (!write_small_file("/proc/self/uid_map", p.uid_map)) child_fail(p, "write /proc/self/uid_map");
    if (!write_small_file("/proc/self/gid_map", p.gid_map)) child_fail(p, "write /proc/self/gid_map");
  }
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail(p, "make / private");
  if (mount("tmpfs", p.root.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, p.root_opts.c_str()) != 0)
    child_fail(p, "mount the root tmpfs");
  for (const std::string& d : p.dirs)
    if (mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) child_fail(p, "mkdir in the new root");
  for (const Bind& b : p.binds) {
    if (b.kind == Bind::kSymlink) {
      if (symlink(b.link_target.c_str(), b.dst.c_str()) != 0) child_fail(p, "symlink in the new root");
      continue;
    }
    if (b.kind == Bind::kDir) {
      if (mkdir(b.dst.c_str(), 0755) != 0 && errno != EEXIST) child_fail(p, "mkdir a bind target");
    } else {
      const int fd = open(b.dst.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) child_fail(p, "create a bind target file");
      close(fd);
    }
    if (mount(b.src.c_str(), b.dst.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) child_fail(p, "bind mount");
    // A bind remount replaces the per-mount flags, and in a user namespace the source's flags
    // are locked: keep them (nodev, noexec, ...) and add read-only and nosuid.
    // statfs, not statvfs: the latter may read /proc/mounts with malloc on old kernels.
    struct statfs sf;
    unsigned long keep = 0;
    if (statfs(b.src.c_str(), &sf) == 0) {  // ST_* and MS_* differ for relatime: map each
      keep |= (sf.f_flags & ST_NODEV) ? MS_NODEV : 0;
      keep |= (sf.f_flags & ST_NOEXEC) ? MS_NOEXEC : 0;
      keep |= (sf.f_flags & ST_NOATIME) ? MS_NOATIME : 0;
      keep |= (sf.f_flags & ST_NODIRATIME) ? MS_NODIRATIME : 0;
      keep |= (sf.f_flags & ST_RELATIME) ? MS_RELATIME : 0;
      keep |= (sf.f_flags & ST_RDONLY) ? MS_RDONLY : 0;
    }
    const unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | keep | (b.read_only ? MS_RDONLY : 0);
    if (mount(nullptr, b.dst.c_str(), nullptr, flags, nullptr) != 0)
      child_fail(p, "remount a bind read-only");
  }
  for (const std::string* d : {&p.work_dir, &p.tmp_dir}) {
    if (mkdir(d->c_str(), 0755) != 0 && errno != EEXIST) child_fail(p, "mkdir /sandbox or /tmp");
    if (mount("tmpfs", d->c_str(), "tmpfs", MS_NOSUID | MS_NODEV, p.work_opts.c_str()) != 0)
      child_fail(p, "mount a writable tmpfs");
  }
  if (mkdir(p.proc_dir.c_str(), 0555) != 0 && errno != EEXIST) child_fail(p, "mkdir /proc");
  for (const ChildFile& f : p.files) {
    const int fd = open(f.path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || !write_whole(fd, f.contents->data(), f.contents->size())) child_fail(p, "write a sandbox file");
    if (!p.user_ns && fchown(fd, p.uid, p.uid) != 0) child_fail(p, "chown a sandbox file");
    close(fd);
  }
  if (mount(nullptr, p.root.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    child_fail(p, "remount the root read-only");
  if (chdir(p.root.c_str()) != 0) child_fail(p, "chdir to the new root");
  // pivot_root(".", ".") stacks the old root over the new one; detaching it leaves only the new.
  if (syscall(SYS_pivot_root, ".", ".") != 0) child_fail(p, "pivot_root");
  if (umount2(".", MNT_DETACH) != 0) child_fail(p, "detach the old root");
  if (chdir("/sandbox") != 0) child_fail(p, "chdir /sandbox");
  mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);  // optional: fine without

  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) child_fail(p, "open /dev/null");
  // Move the pipe ends above 3 first so the dup2s below cannot overwrite one another.
  const int out = fcntl(p.out_fd, F_DUPFD_CLOEXEC, 10), res = fcntl(p.res_fd, F_DUPFD_CLOEXEC, 10);
  if (out < 0 || res < 0) child_fail(p, "dup pipes");
  if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 || dup2(res, 3) < 0) child_fail(p, "dup2");
  close_range(4, ~0U, CLOSE_RANGE_CLOEXEC);

  const SandboxLimits& l = p.limits;
  set_limit(p, RLIMIT_CPU, rlim_t(l.cpu_s), rlim_t(l.cpu_s + 1), "setrlimit CPU");
  set_limit(p, RLIMIT_AS, rlim_t(l.memory_mb) << 20, rlim_t(l.memory_mb) << 20, "setrlimit AS");
  set_limit(p, RLIMIT_FSIZE, rlim_t(l.disk_mb) << 20, rlim_t(l.disk_mb) << 20, "setrlimit FSIZE");
  set_limit(p, RLIMIT_NOFILE, rlim_t(l.max_open_files), rlim_t(l.max_open_files), "setrlimit NOFILE");
  set_limit(p, RLIMIT_CORE, 0, 0, "setrlimit CORE");
  set_limit(p, RLIMIT_NPROC, rlim_t(l.max_processes), rlim_t(l.max_processes), "setrlimit NPROC");
  if (!p.user_ns) {
    // Raw syscalls: glibc's wrappers broadcast the change to every thread the parent had, which
    // do not exist in this child, and would wait for them forever.
    if (syscall(SYS_setgroups, 0, nullptr) != 0) child_fail(p, "setgroups");
    if (syscall(SYS_setresgid, p.uid, p.uid, p.uid) != 0) child_fail(p, "setresgid");
    if (syscall(SYS_setresuid, p.uid, p.uid, p.uid) != 0) child_fail(p, "setresuid");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(p, "no_new_privs");
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  execve(p.argv[0], p.argv.data(), p.envp.data());
  child_fail(p, "exec the program");
}

void add_root_path(std::vector<Bind>& binds, const std::string& root, const std::string& host, bool required,
                   const std::string& where) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::symlink_status(host, ec);
  if (ec || !fs::exists(st)) {
    if (required) throw Error(where, cat("cannot expose ", host, " in the sandbox: it does not exist"));
    return;
  }
  Bind b;
  b.src = host;
  b.dst = root + host;
  if (fs::is_symlink(st)) {
    b.kind = Bind::kSymlink;
    b.link_target = fs::read_symlink(host, ec).string();
  } else {
    b.kind = fs::is_directory(st) ? Bind::kDir : Bind::kFile;
  }
  binds.push_back(b);
}

// "mode=0755,size=1m" style options for a tmpfs owned by uid.
std::string tmpfs_opts(int64_t mb, const std::string& mode, bool own, uint32_t uid) {
  std::string s = cat("size=", mb, "m,mode=", mode);
  if (own) s += cat(",uid=", uid, ",gid=", uid);
  return s;
}

}  // namespace

std::string SandboxResult::describe() const {
  if (timed_out) return cat("timed out after ", wall_s, " s");
  if (output_exceeded) return "exceeded the output limit";
  if (signal) return cat("killed by signal ", signal, " (", strsignal(signal), ")");
  return cat("exited with status ", exit_code);
}

SandboxResult run_sandboxed(const SandboxRun& run, const std::string& where) {
  if (run.argv.empty() || run.argv[0].empty() || run.argv[0][0] != '/')
    throw Error(where, cat("the sandboxed program must be an absolute path, got '",
                           run.argv.empty() ? "" : run.argv[0], "'"));
  for (const SandboxFile& f : run.files)
    if (f.name.empty() || f.name.find('/') != std::string::npos || f.name[0] == '.')
      throw Error(where, cat("sandbox file name '", f.name, "' must be a plain name"));
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "tandem-sandbox-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw Error(where, cat("mkdtemp ", tmpl, ": ", std::strerror(errno)));
  // The mount point stays empty on the host (the child mounts in its own namespace); remove it
  // on every way out, errors included.
  struct RemoveDir {
    std::string path;
    ~RemoveDir() { rmdir(path.c_str()); }
  } remove_mount_point{tmpl};

  ChildPlan p;
  p.root = tmpl;
  p.user_ns = geteuid() != 0;
  p.uid = p.user_ns ? 0 : run.uid;
  p.limits = run.limits;
  p.root_opts = tmpfs_opts(1, "0755", false, 0);
  p.work_opts = tmpfs_opts(run.limits.disk_mb, "0700", !p.user_ns, run.uid);
  for (const char* d : {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"})
    add_root_path(p.binds, p.root, d, std::string(d) == "/usr", where);
  p.dirs = {p.root + "/etc", p.root + "/dev"};
  add_root_path(p.binds, p.root, "/etc/ld.so.cache", false, where);
  // Debian resolves libblas.so.3 and friends through these symlinks (numpy needs them).
  add_root_path(p.binds, p.root, "/etc/alternatives", false, where);
  for (const char* d : {"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"}) {
    add_root_path(p.binds, p.root, d, true, where);
    p.binds.back().read_only = false;  // writing to /dev/null is normal
  }
  for (const std::string& extra : run.ro_paths) {
    if (extra.empty() || extra[0] != '/') throw Error(where, cat("ro path '", extra, "' must be absolute"));
    // Parents of a deep path must exist in the new root before its bind.
    for (fs::path parent = fs::path(extra).parent_path(); parent != "/" && !parent.empty();
         parent = parent.parent_path())
      p.dirs.insert(p.dirs.begin() + 2, p.root + parent.string());
    add_root_path(p.binds, p.root, extra, true, where);
  }
  p.work_dir = p.root + "/sandbox";
  p.tmp_dir = p.root + "/tmp";
  p.proc_dir = p.root + "/proc";
  for (const SandboxFile& f : run.files) p.files.push_back({p.work_dir + "/" + f.name, &f.contents});
  std::vector<std::string> argv = run.argv, env = run.env;
  for (std::string& a : argv) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  for (std::string& e : env) p.envp.push_back(e.data());
  p.envp.push_back(nullptr);
  p.uid_map = cat("0 ", geteuid(), " 1");
  p.gid_map = cat("0 ", getegid(), " 1");

  auto close_fds = [](std::initializer_list<int> fds) {
    for (int fd : fds)
      if (fd >= 0) close(fd);
  };
  int out_pipe[2] = {-1, -1}, res_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) || pipe2(res_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC)) {
    const int e = errno;
    close_fds({out_pipe[0], out_pipe[1], res_pipe[0], res_pipe[1], err_pipe[0], err_pipe[1]});
    throw Error(where, cat("pipe2: ", std::strerror(e)));
  }
  p.out_fd = out_pipe[1];
  p.res_fd = res_pipe[1];
  p.err_fd = err_pipe[1];

  const size_t stack_size = size_t(1) << 20;
  void* stack = mmap(nullptr, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  int flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  if (p.user_ns) flags |= CLONE_NEWUSER;
  const auto t0 = Clock::now();
  // Without CLONE_VM the child runs on its own copy of this stack, so unmapping it here is safe.
  const pid_t pid = stack == MAP_FAILED ? -1 : clone(child_main, static_cast<char*>(stack) + stack_size, flags, &p);
  const int clone_err = errno;
  if (stack != MAP_FAILED) munmap(stack, stack_size);
  close_fds({out_pipe[1], res_pipe[1], err_pipe[1]});
  if (pid < 0) {
    close_fds({out_pipe[0], res_pipe[0], err_pipe[0]});
    throw Error(where, cat("cannot create the sandbox's namespaces (clone: ", std::strerror(clone_err),
                           "). The code reward needs to run as root, or unprivileged user namespaces "
                           "(sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)"));
  }

  // Setup errors arrive before exec; exec success closes the pipe with nothing written.
  char err_msg[160];
  size_t err_len = 0;
  while (true) {
    const ssize_t n = read(err_pipe[0], err_msg + err_len, sizeof err_msg - err_len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    err_len += size_t(n);
  }
  close(err_pipe[0]);
  if (err_len > 0) {
    int st;
    waitpid(pid, &st, 0);
    close_fds({out_pipe[0], res_pipe[0]});
    const std::string step(err_msg, strnlen(err_msg, err_len));
    int e = 0;
    if (err_len >= step.size() + 1 + sizeof e) std::memcpy(&e, err_msg + step.size() + 1, sizeof e);
    throw Error(where, cat("cannot build the sandbox: ", step, " failed: ", std::strerror(e),
                           step == "exec the program" ? cat(" (", run.argv[0], ")") : std::string()));
  }

  SandboxResult r;
  const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(run.limits.wall_s));
  const size_t out_cap = size_t(run.limits.output_bytes), res_cap = size_t(1) << 20;
  int fds[2] = {out_pipe[0], res_pipe[0]};
  bool exited = false, killed = false;
  int st = 0;
  auto kill_all = [&] {
    if (!killed && !exited) kill(pid, SIGKILL);  // pid 1 of its namespace: takes every process in it
    killed = true;
  };
  while (fds[0] >= 0 || fds[1] >= 0 || !exited) {
    if (!exited && waitpid(pid, &st, WNOHANG) == pid) exited = true;
    if (!exited && Clock::now() >= deadline) {
      r.timed_out = !killed;
      kill_all();
    }
    if (exited && fds[0] < 0 && fds[1] < 0) break;
    pollfd pf[2];
    int n = 0;
    for (int fd : fds)
      if (fd >= 0) pf[n++] = {fd, POLLIN, 0};
    if (poll(pf, nfds_t(n), 10) <= 0) continue;
    for (int k = 0; k < n; ++k) {
      if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      const ssize_t got = read(pf[k].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      const bool is_out = pf[k].fd == out_pipe[0];
      if (got <= 0) {
        close(pf[k].fd);
        fds[is_out ? 0 : 1] = -1;
        continue;
      }
      std::string& dst = is_out ? r.output : r.results;
      const size_t cap = is_out ? out_cap : res_cap;
      const size_t take = std::min(size_t(got), cap - std::min(cap, dst.size()));
      dst.append(buf, take);
      if (is_out && take < size_t(got) && !r.output_exceeded) {
        r.output_exceeded = true;
        kill_all();
      }
    }
  }
  if (!exited) waitpid(pid, &st, 0);
  r.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
  if (WIFSIGNALED(st)) r.signal = WTERMSIG(st);
  return r;
}

}  // namespace tandem::reward
