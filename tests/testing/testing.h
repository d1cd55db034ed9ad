// Test helpers shared by every test binary: random data, closeness with a readable report,
// temporary folders, and running the `tandem` binary or the PyTorch/Node references.
#pragma once
#include <gtest/gtest.h>

#include <complex>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/json.h"
#include "tensor/tensor.h"

namespace tandem::testing {

std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.0f);
std::vector<double> to_double(const std::vector<float>& x);

// CPU tensors from vectors and back, for feeding kernels in tests.
Tensor f32_tensor(const std::vector<float>& v, Shape shape);
Tensor f32_tensor(const std::vector<float>& v);  // 1-D
Tensor i32_tensor(const std::vector<int32_t>& v);
std::vector<float> to_vec(const Tensor& t);

struct Tol {
  double atol = 1e-6;
  double rtol = 1e-5;
};
// Elementwise |got - want| <= atol + rtol * |want|; on failure reports the worst element and count.
::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<double>& want, Tol tol,
                                     const std::string& what);
::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<float>& want, Tol tol,
                                     const std::string& what);
// Norm-wise relative error ||got - want|| / max(||want||, tiny) <= rel.
::testing::AssertionResult norm_close(const std::vector<float>& got, const std::vector<double>& want, double rel,
                                      const std::string& what);

// Complex-step derivative of a real-analytic scalar function: d f / d x_k = Im f(x + i h e_k) / h.
std::vector<double> complex_step_grad(const std::function<std::complex<double>(const std::vector<std::complex<double>>&)>& f,
                                      const std::vector<double>& x, double h = 1e-30);

// A fresh empty directory under the build tree, removed at destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string source_dir();                 // repository root
std::string tandem_binary();              // the built `tandem`
std::string debian_python();              // /usr/bin/python3 (python3-torch, python3-jinja2)
std::string node_modules_dir();           // tests/node_modules installed by scripts/setup.sh
// Runs a shell command, returns its exit code; stdout+stderr go to *output when given.
int run_command(const std::string& cmd, std::string* output = nullptr);
// Every non-blank line of a JSONL file (metrics.jsonl, a command's --out), parsed; none when absent.
std::vector<Json> read_jsonl(const std::string& path);
// Skips the calling test (GTEST_SKIP must be in the test body, so this only tells whether to).
bool have_debian_torch();

}  // namespace tandem::testing
