#include "train/pass_at_k.h"

#include "core/error.h"

namespace tandem::train {

double pass_at_k(int64_t n, int64_t c, int64_t k) {
  TD_ASSERT(k >= 1 && k <= n && c >= 0 && c <= n, "n=", n, " c=", c, " k=", k);
  if (n - c < k) return 1.0;  // every draw of k holds a correct sample
  double all_wrong = 1.0;     // C(n-c, k) / C(n, k)
  for (int64_t i = n - c + 1; i <= n; ++i) all_wrong *= 1.0 - double(k) / double(i);
  return 1.0 - all_wrong;
}

std::pair<double, int64_t> mean_pass_at_k(const std::vector<std::pair<int64_t, int64_t>>& groups, int64_t k) {
  double s = 0;
  int64_t used = 0;
  for (const auto& [n, c] : groups)
    if (n >= k) s += pass_at_k(n, c, k), ++used;
  return {used > 0 ? s / double(used) : 0.0, used};
}

}  // namespace tandem::train
