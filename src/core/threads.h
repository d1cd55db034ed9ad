// Threading settings. Kernels use OpenMP; the count is set once by the caller (cli --threads
// or OMP_NUM_THREADS) and read here, never hard-coded in a kernel.
#pragma once

namespace tandem {

void set_num_threads(int n);  // n <= 0: leave OpenMP's default
int num_threads();
// Whether the user chose the count (set_num_threads(n > 0), or OMP_NUM_THREADS in the environment),
// so a command with a better default of its own may apply it otherwise.
bool num_threads_chosen();
int thread_id();

}  // namespace tandem
