// Operations the interpreter, filters, tests and methods share: jinja2's attribute and item
// lookup, iteration, and the filter/test/method/global tables. Everything here throws
// Failure (no location); the interpreter adds the template line and column.
// Not here: statement execution and the output buffer (interpreter.cpp).
#pragma once
#include <string>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace tandem::tokenizer::jinja {

// obj.name: for dicts the item, unless name is a dict method; strings and lists get their
// Python methods; anything else is undefined. Undefined obj is an error, as in jinja2.
Value get_attr(const Value& obj, const std::string& name);
// obj[key]: items first, then attributes for string keys; out of range is undefined.
Value get_item(const Value& obj, const Value& key);
// obj[start:stop:step] with Python's rules for negative and omitted bounds.
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
// Python iteration: list items, dict keys, string code points; undefined iterates as empty.
std::vector<Value> iterate(const Value& v);
// `needle in haystack`.
bool contains(const Value& haystack, const Value& needle);

// Bound method of a string, dict or list, or undefined when there is none.
Value method(const Value& obj, const std::string& name);

Value apply_filter(const std::string& name, const Value& v, Args& args);
bool apply_test(const std::string& name, const Value& v, Args& args);
bool has_test(const std::string& name);

// Global functions: range, dict, namespace, raise_exception, strftime_now, cycler, joiner.
std::vector<std::pair<std::string, Value>> global_functions();

// Python's str.lower/upper on UTF-8 (simple case mapping).
std::string str_lower(const std::string& s);
std::string str_upper(const std::string& s);
// Python's "%" string formatting for %s %r %d %i %f %x and %%.
std::string percent_format(const std::string& fmt, const Value& args);
// Python's str.isspace for one code point, str.strip/lstrip/rstrip (chars: none or a string),
// str.capitalize.
bool py_isspace(uint32_t cp);
std::string py_strip(const std::string& s, const Value& chars, bool left, bool right);
std::string py_capitalize(const std::string& s);
int64_t to_index(const Value& v, const char* what);
// Python's TypeError for list/dict used as a dict key or set member.
void check_hashable(const Value& v);

}  // namespace tandem::tokenizer::jinja
