// How much native stack the calling thread has left. Code that recurses once per level of a
// user's input (template expressions, nested JSON) checks it and stops with a clear error before
// the guard page, whatever the build (AddressSanitizer frames are several times larger) and
// whatever the thread (worker threads may have smaller stacks than the main thread).
// Not here: the limits themselves (each recursive reader states its own reserve).
#pragma once
#include <cstddef>

namespace tandem {

// Bytes between the caller's frame and the lowest address of this thread's stack; SIZE_MAX when
// the bounds cannot be read. The bounds are read once per thread.
size_t stack_left();

}  // namespace tandem
