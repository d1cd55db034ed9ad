// Running untrusted programs (model-written code) in a throwaway Linux sandbox:
//   - namespaces: new network (only a down loopback: no connection goes anywhere), PID (the
//     program is pid 1; killing it kills every process it started, even ones that left its process
//     group), mount, IPC and UTS; plus a user namespace when not root;
//   - filesystem: a fresh tmpfs root holding read-only binds of /usr, /bin, /lib*, /sbin,
//     /etc/ld.so.cache and /etc/alternatives (and the extra paths asked for), /dev/{null,zero,random,urandom}, a private /proc, and two small
//     writable tmpfs: /sandbox (the cwd, holding the given files) and /tmp. The user's files,
//     /home, /root, /work, the rest of /etc and the trainer's temp dirs are not there at all;
//   - limits: RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE, no core files; a
//     wall-clock timeout and an output cap enforced by the parent (SIGKILL to the PID namespace);
//   - identity: as root, the program runs as an unprivileged uid/gid with no capabilities and
//     no_new_privs; HOME is unset and the environment is only what the caller passes.
// Stdout and stderr come back together (up to the cap); fd 3 is a second channel for structured
// results (the code reward's harness writes test outcomes there).
// Not here: what runs (code_reward.cpp), seccomp filtering, cgroups (RLIMIT_AS bounds memory).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tandem::reward {

struct SandboxLimits {
  double wall_s = 10;           // parent kills the whole PID namespace after this
  int64_t cpu_s = 10;           // RLIMIT_CPU (SIGXCPU, then SIGKILL one second later)
  int64_t memory_mb = 1024;     // RLIMIT_AS
  int64_t max_processes = 64;   // RLIMIT_NPROC for the sandbox uid
  int64_t disk_mb = 16;         // size of each writable tmpfs, and RLIMIT_FSIZE
  int64_t output_bytes = 1 << 20;  // stdout+stderr cap; past it the program is killed
  int64_t max_open_files = 256;    // RLIMIT_NOFILE
};

struct SandboxFile {
  std::string name;  // a plain file name inside /sandbox
  std::string contents;
};

struct SandboxRun {
  std::vector<std::string> argv;  // argv[0]: absolute path, as seen inside the sandbox
  std::vector<std::string> env;   // "KEY=value"; nothing else is inherited
  std::vector<SandboxFile> files;
  std::vector<std::string> ro_paths;  // extra host paths bound read-only at the same place
  SandboxLimits limits;
  uint32_t uid = 100000;  // when root: the uid/gid the program runs as (need not exist)
};

struct SandboxResult {
  int exit_code = -1;  // set when the program exited
  int signal = 0;      // set when it was killed by a signal
  bool timed_out = false;
  bool output_exceeded = false;
  std::string output;   // stdout + stderr, at most limits.output_bytes
  std::string results;  // what it wrote to fd 3 (at most 1 MiB)
  double wall_s = 0;
  bool ok() const { return exit_code == 0 && !timed_out && !output_exceeded; }
  std::string describe() const;  // "exited with status 1", "timed out after 2 s", ...
};

// Runs one program to completion in a fresh sandbox. Throws Error(where, ...) when the sandbox
// itself cannot be built (no namespace support, a failed mount, a missing interpreter), never for
// what the program does.
SandboxResult run_sandboxed(const SandboxRun& run, const std::string& where);

}  // namespace tandem::reward
