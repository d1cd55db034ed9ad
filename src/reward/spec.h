// What every reward kind shares when it reads its config entry and an example: key validation
// (unknown keys are errors that list the known ones), the optional display name, and reading a
// dataset column as one or several reference strings. Also the factory of each kind, which
// make_reward.cpp dispatches to.
// Not here: any scoring logic (one file per kind).
#pragma once
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "reward/reward.h"

namespace tandem::reward {

// Throws Error naming where.<key> for a key of spec not in allowed ("type" and "name" are always
// allowed). spec must be an object.
void check_keys(const Json& spec, const std::string& where, std::initializer_list<const char*> allowed);

// spec["name"] if present (a non-empty string), else dflt.
std::string spec_name(const Json& spec, const std::string& where, const std::string& dflt);

// The reference value(s) in column `column` of an example: a string, a number (as written by
// JSON), or an array of those (any one may match). Missing column -> Error naming reward_where
// and listing the columns the example has. Other types -> Error.
std::vector<std::string> column_strings(const RewardRequest& r, const std::string& column,
                                        const std::string& reward_where);

// First `limit` bytes of s with a marker when cut, for error messages that quote model output.
std::string clip_text(const std::string& s, size_t limit = 400);

// A string key restricted to a set of values.
std::string json_enum_or(const Json& spec, const std::string& key, const std::string& dflt,
                         std::initializer_list<const char*> values, const std::string& where);

using RewardPtr = std::unique_ptr<RewardFunction>;
RewardPtr make_math_reward(const Json& spec, const std::string& where);
RewardPtr make_format_reward(const Json& spec, const std::string& where);
RewardPtr make_exact_reward(const Json& spec, const std::string& where);
RewardPtr make_fuzzy_reward(const Json& spec, const std::string& where);
RewardPtr make_length_reward(const Json& spec, const std::string& where);
RewardPtr make_weighted_reward(const Json& spec, const std::string& where);
RewardPtr make_program_reward(const Json& spec, const std::string& where);
RewardPtr make_code_reward(const Json& spec, const std::string& where);

}  // namespace tandem::reward
