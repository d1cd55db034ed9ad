// JSONL lines that carry token ids, shared by every command that takes pre-tokenized input
// (logprobs, generate, sft): one line reader and one parser of the `input_ids` field, so they
// accept and reject the same things with the same messages ("file:line: input_ids[3]: ...").
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/json.h"

namespace tandem::data {

// Calls fn(line, "file:line", raw text) for every non-blank line of path, parsed as JSON (the raw
// text lets a caller re-parse with key order kept, as chat templates need).
// where: the dotted prefix of errors, e.g. "generate.data".
void for_each_jsonl_line(
    const std::string& path, const std::string& where,
    const std::function<void(const Json& line, const std::string& origin, const std::string& raw)>& fn);

// The `input_ids` of one line: at least min_len integers in [0, vocab) (vocab < 0: no upper bound).
std::vector<int32_t> parse_input_ids(const Json& line, const std::string& origin, int64_t vocab, size_t min_len,
                                     const std::string& where);

}  // namespace tandem::data
