// Threading settings. Kernels use OpenMP; the count is set once by the caller (cli --threads
// or OMP_NUM_THREADS) and read here, never hard-coded in a kernel.
#pragma once

namespace tandem {

void set_num_threads(int n);  // n <= 0: leave OpenMP's default
int num_threads();
int thread_id();

}  // namespace tandem
