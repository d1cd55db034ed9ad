// What happens to an example longer than max_length (DataConfig::truncation), and the counts a
// trainer logs so that nothing is cut or dropped silently:
//   truncate  drop the end (of the sequence; of the completions of a pair)
//   keep_end  drop the start (of the sequence; of the prompt of a pair, keeping at least half of
//             max_length of it, then the completions' ends if still needed)
//   drop      leave the example out
// RL prompts are always cut at their start (generation continues from the end), or dropped.
// max_prompt_length (> 0; TRL's key) limits the prompt of a pair, an unpaired example or an RL prompt
// first: its start is cut (drop: the example is left out), as TRL keeps a prompt's end.
// An example that keeps no trained token (or no completion token) "cannot fit": a BadLine.
// Not here: reading or tokenizing (data/shapes.h), batching.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"
#include "data/example.h"

namespace tandem::data {

enum class Truncation { kTruncate, kKeepEnd, kDrop };
Truncation parse_truncation(const std::string& s);

// Counts of what the data layer did to the examples it produced; merged in example order, so
// they are the same for any thread count, and saved with the stream state.
struct DataStats {
  int64_t examples = 0;    // produced (after drops and skips)
  int64_t tokens = 0;      // in produced examples (prompt + completions for pairs)
  int64_t trained = 0;     // trained tokens in produced examples
  int64_t truncated = 0;   // examples that lost tokens
  int64_t tokens_cut = 0;  // tokens they lost
  int64_t dropped = 0;     // left out by truncation: drop
  int64_t skipped = 0;     // bad lines left out by skip_bad_lines
  std::vector<std::string> skipped_lines;  // the first kMaxListed of their messages
  static constexpr size_t kMaxListed = 100;

  void merge(const DataStats& o);
  Json to_json() const;  // counts only
  static DataStats from_json(const Json& j);
  std::string summary() const;  // one line for logs
};

// In place. Returns false when the policy drops the example. Throws BadLine when it cannot fit.
bool fit_sequence(TokenSeq& seq, int64_t max_length, Truncation policy, const Origin& origin, DataStats& stats);
// A prompt and completions (chosen/rejected, or one): prompt <= max_prompt_length (when > 0), then
// prompt + longest completion <= max_length. An example cut in both places counts once in truncated.
bool fit_pair(std::vector<int32_t>& prompt, std::vector<std::vector<int32_t>*> completions, int64_t max_length,
              int64_t max_prompt_length, Truncation policy, const Origin& origin, DataStats& stats);
// An RL prompt (and optional demonstration): prompt <= max_prompt_length (when > 0) and
// prompt <= max_length - 1; with a demonstration, prompt + demonstration <= max_length.
bool fit_prompt(std::vector<int32_t>& prompt, std::vector<int32_t>& demonstration, int64_t max_length,
                int64_t max_prompt_length, Truncation policy, const Origin& origin, DataStats& stats);

}  // namespace tandem::data
