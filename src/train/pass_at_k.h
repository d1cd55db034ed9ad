// pass@k: the chance that at least one of k samples of a prompt is correct, estimated without bias
// from n >= k samples of which c are correct (Chen et al. 2021, arXiv 2107.03374, Eq. 1):
//   pass@k = 1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k/i)
// The product form never forms a binomial coefficient, so it stays exact in double for any n.
// Not here: what counts as correct (the online step's success_threshold) or how prompts are grouped.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace tandem::train {

// n samples, c correct, 1 <= k <= n.
double pass_at_k(int64_t n, int64_t c, int64_t k);

// The mean of pass_at_k over the groups {(n, c)} with n >= k; the second value is how many groups
// entered it (0: none had k samples, the metric is not defined).
std::pair<double, int64_t> mean_pass_at_k(const std::vector<std::pair<int64_t, int64_t>>& groups, int64_t k);

}  // namespace tandem::train
