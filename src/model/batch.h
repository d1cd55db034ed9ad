// TokenBatch: B rows of T tokens, each token with a position (for RoPE) and a segment id
// (-1 = padding). A right-padded batch has one segment per row; a packed batch has several
// documents per row, positions restarting at each, and attention never crosses a segment.
// Log-prob convention: logp[b, t] is log pi(token t | earlier tokens of its segment), defined when
// t is not the first token of its segment (mask 1), else 0 (mask 0).
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/ops.h"

namespace tandem::model {

struct TokenBatch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> tokens;     // [B*T]
  std::vector<int32_t> positions;  // [B*T]
  std::vector<int32_t> segments;   // [B*T], -1 = padding

  // One sequence per row, right-padded to T (0 = the longest sequence).
  static TokenBatch padded(const std::vector<std::vector<int32_t>>& seqs, int64_t T = 0);
  // rows[b] = the documents packed into row b, in order; rows padded to T (0 = longest row).
  static TokenBatch packed(const std::vector<std::vector<std::vector<int32_t>>>& rows, int64_t T = 0);

  int64_t N() const { return B * T; }
  // Checks ids against the vocabulary and positions against the model's limit; Error names
  // origin (e.g. "in.jsonl") with the row and column.
  void validate(int64_t vocab_size, int64_t max_positions, const std::string& origin) const;
  AttnLayout layout() const;
  // next_target[n] = token n+1 when n+1 continues n's segment, else -1: the LM-head target of row n.
  std::vector<int32_t> next_targets() const;
  // [B*T] 1 where logp is defined (see above).
  std::vector<float> logp_mask() const;
  int64_t max_position() const;
};

}  // namespace tandem::model
