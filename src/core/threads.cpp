#include "core/threads.h"

#include <omp.h>

#include <cstdlib>

namespace tandem {

namespace {
bool g_chosen = false;
}

void set_num_threads(int n) {
  if (n > 0) {
    omp_set_num_threads(n);
    g_chosen = true;
  }
}
bool num_threads_chosen() { return g_chosen || std::getenv("OMP_NUM_THREADS") != nullptr; }
int num_threads() { return omp_get_max_threads(); }
int thread_id() { return omp_get_thread_num(); }

}  // namespace tandem
