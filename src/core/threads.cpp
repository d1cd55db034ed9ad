#include "core/threads.h"

#include <omp.h>

namespace tandem {

void set_num_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}
int num_threads() { return omp_get_max_threads(); }
int thread_id() { return omp_get_thread_num(); }

}  // namespace tandem
