#include "testing/testing.h"

#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/rng.h"

namespace tandem::testing {

std::vector<float> randn(size_t n, uint64_t seed, float scale) {
  Rng rng(seed, 0x7e57);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = scale * rng.normal(i);
  return x;
}

std::vector<double> to_double(const std::vector<float>& x) { return std::vector<double>(x.begin(), x.end()); }

Tensor f32_tensor(const std::vector<float>& v, Shape shape) {
  Tensor t = Tensor::empty(std::move(shape));
  TD_ASSERT(size_t(t.numel()) == v.size(), "f32_tensor: ", v.size(), " values for ", shape_str(t.shape()));
  std::copy(v.begin(), v.end(), t.f32());
  return t;
}

Tensor f32_tensor(const std::vector<float>& v) { return f32_tensor(v, {int64_t(v.size())}); }

Tensor i32_tensor(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())}, DType::kI32);
  std::copy(v.begin(), v.end(), t.i32());
  return t;
}

std::vector<float> to_vec(const Tensor& t) { return std::vector<float>(t.f32(), t.f32() + t.numel()); }

::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<double>& want, Tol tol,
                                     const std::string& what) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << what << ": size " << got.size() << " vs " << want.size();
  size_t bad = 0, worst = 0;
  double worst_excess = -1;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(double(got[i]) - want[i]);
    const double lim = tol.atol + tol.rtol * std::abs(want[i]);
    if (!(err <= lim)) {
      ++bad;
      const double ex = std::isfinite(err) ? err - lim : 1e300;
      if (ex > worst_excess) worst_excess = ex, worst = i;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << bad << " of " << got.size() << " elements off; worst at "
                                       << worst << ": got " << got[worst] << " want " << want[worst]
                                       << " (atol " << tol.atol << ", rtol " << tol.rtol << ")";
}

::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<float>& want, Tol tol,
                                     const std::string& what) {
  return all_close(got, to_double(want), tol, what);
}

::testing::AssertionResult norm_close(const std::vector<float>& got, const std::vector<double>& want, double rel,
                                      const std::string& what) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << what << ": size " << got.size() << " vs " << want.size();
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = double(got[i]) - want[i];
    num += d * d;
    den += want[i] * want[i];
  }
  const double r = std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
  if (r <= rel && std::isfinite(r)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": norm-wise relative error " << r << " > " << rel
                                       << " (|want| = " << std::sqrt(den) << ")";
}

std::vector<double> complex_step_grad(const std::function<std::complex<double>(const std::vector<std::complex<double>>&)>& f,
                                      const std::vector<double>& x, double h) {
  std::vector<std::complex<double>> xz(x.begin(), x.end());
  std::vector<double> g(x.size());
  for (size_t k = 0; k < x.size(); ++k) {
    xz[k] += std::complex<double>(0, h);
    g[k] = f(xz).imag() / h;
    xz[k] = x[k];
  }
  return g;
}

TempDir::TempDir(const std::string& tag) {
  std::string base = std::string(TANDEM_BINARY_DIR) + "/test_tmp";
  std::filesystem::create_directories(base);
  std::string tmpl = base + "/" + tag + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!std::getenv("TANDEM_DEBUG_KEEP_TMP")) std::filesystem::remove_all(path_, ec);
}

std::string source_dir() { return TANDEM_SOURCE_DIR; }
std::string tandem_binary() { return std::string(TANDEM_BINARY_DIR) + "/src/tandem"; }
std::string debian_python() { return "/usr/bin/python3"; }
std::string node_modules_dir() { return source_dir() + "/tests/node_modules"; }

int run_command(const std::string& cmd, std::string* output) {
  std::string full = cmd + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  std::string out;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool have_debian_torch() { return run_command(debian_python() + " -c 'import torch' >/dev/null 2>&1") == 0; }

std::vector<Json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<Json> rows;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(Json::parse(line));
  return rows;
}

}  // namespace tandem::testing
