// Hand-written templates, one or a few constructs each, rendered by Tandem and by Debian's
// python3-jinja2 configured as transformers configures it; outputs must be byte-identical
// (or both must fail). The expected text always comes from jinja2, never from our code.
#include <gtest/gtest.h>

#include "unit/chat_template/reference.h"

namespace tandem::testing {
namespace {

OrderedJson base_context() {
  return OrderedJson::parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi \"there\" it's me"},
      {"role": "assistant", "content": "Hello!", "tool_calls": [{"function": {"name": "f", "arguments": {"z": 1, "a": [1, 2.5, null, true]}}}]},
      {"role": "user", "content": "  padded\n\n"}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather ünï 🎉 <b>&", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 3}}, "required": ["city"]}}}],
    "x": 7, "neg": -7, "f": 2.5, "big": 1e20, "small": 0.00001, "third": 0.1,
    "s": "Hello World", "words": "the quick-brown fox(jumps) [over]", "uni": "ünïcödé 🎉 ÄÖ",
    "l": [3, 1, 2], "strs": ["b", "A", "c", "a"], "d": {"b": 1, "a": 2, "C": 3},
    "users": [{"name": "Ann", "age": 30, "active": true, "tags": ["x"]}, {"name": "bob", "age": 25, "active": false, "tags": []}, {"name": "Cy", "age": 41, "active": true}],
    "empty": [], "nothing": null, "yes": true, "no": false, "zero": 0, "emptys": "",
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"
  })");
}

std::vector<RefCase> cases(const std::vector<std::pair<std::string, std::string>>& named) {
  std::vector<RefCase> out;
  for (const auto& [n, t] : named) out.push_back({n, t, base_context()});
  return out;
}

TEST(JinjaConstructs, WhitespaceControl) {
  expect_same_as_jinja2(cases({
      {"trim_lstrip", "<a>\n  {% if yes %}\n    yes\n  {% endif %}\n</a>\n"},
      {"minus_both", "a   {%- if yes -%}   b   {%- endif -%}   c"},
      {"var_minus", "a \n {{- x -}} \n b"},
      {"plus_keeps", "x\n    {%+ if yes %}y{% endif +%}\nz"},
      {"comment_lines", "line1\n    {# a comment #}\nline2\n{#- strip -#}\n  line3"},
      {"inline_block", "a {% if yes %}b{% endif %} c\n  d {% for i in l %}{{ i }}{% endfor %}\n"},
      {"var_no_trim", "{{ x }}\n{{ x }}\n"},
      {"trailing_newlines", "text\n\n"},
      {"crlf", "a\r\n  {% if yes %}\r\nb\r\n  {% endif %}\r\nc"},
      {"raw", "{% raw %}{{ not rendered }} {% if %}{% endraw %}|\n  {%- raw -%}  x  {%- endraw %}\n  {% raw %}\n keep\n  {% endraw %}\nend"},
      {"tabs_lstrip", "\t\t{% if yes %}\n\tin\n\t\t{% endif %}\nout"},
      {"block_after_var", "{{ x }}   {% if yes %}y{% endif %}"},
  }));
}

TEST(JinjaConstructs, ForLoops) {
  expect_same_as_jinja2(cases({
      {"loop_vars",
       "{% for u in users %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/"
       "{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.previtem is defined }}/"
       "{{ loop.nextitem.name if loop.nextitem is defined else '-' }}/{{ loop.cycle('odd', 'even') }};{% endfor %}"},
      {"else", "{% for e in empty %}x{% else %}none{% endfor %}|{% for e in nothing_defined %}x{% else %}undef{% endfor %}"},
      {"filter_if", "{% for u in users if u.active %}{{ u.name }}{{ loop.index }} {% endfor %}"},
      {"break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 5 %}{% break %}{% endif %}{{ i }}{% endfor %}"},
      {"unpack", "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}{% for (a, b) in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}"},
      {"dict_iter", "{% for k in d %}{{ k }}{% endfor %}{% for c in 'héllo' %}[{{ c }}]{% endfor %}"},
      {"nested", "{% for a in l %}{% for b in l %}{{ loop.index }}{{ a * b }} {% endfor %}{{ loop.index }}|{% endfor %}"},
      {"reverse_slice", "{% for m in messages[::-1] %}{{ (messages|length - 1) - loop.index0 }}{{ m.role[0] }}{% endfor %}"},
      {"scope", "{% set v = 1 %}{% for i in l %}{% set v = v + i %}{{ v }}{% endfor %}|{{ v }}"},
      // `loop` is built only for bodies that mention it; these read it from places a body walk must see.
      {"outer_loop_after_inner", "{% for a in l %}{% for b in l %}{{ b }}{% endfor %}{{ loop.index }}|{% endfor %}"},
      {"loop_in_call_block", "{% macro w() %}[{{ caller() }}]{% endmacro %}{% for a in l %}{% call w() %}{{ loop.index }}{{ a }}{% endcall %}{% endfor %}"},
      {"loop_in_macro_in_body", "{% for a in l %}{% macro m() %}{{ loop.index0 }}{% endmacro %}{{ m() }}{% endfor %}"},
      {"loop_in_filter_block", "{% for a in strs %}{% filter upper %}{{ a }}{{ loop.revindex }}{% endfilter %}{% endfor %}"},
      {"loop_in_set_block", "{% for a in l %}{% set t %}{{ loop.length }}{% endset %}{{ t }}{% endfor %}"},
      {"loop_as_value", "{% for a in l %}{% set lp = loop %}{{ lp.last }}{% endfor %}"},
      {"no_loop_outside", "{% for a in l %}{{ a }}{% endfor %}{{ loop is defined }}"},
  }));
}

TEST(JinjaConstructs, ConditionalsSetNamespace) {
  expect_same_as_jinja2(cases({
      {"elif", "{% for n in [0, 1, 2, 3] %}{% if n == 0 %}zero{% elif n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %} {% endfor %}"},
      {"namespace", "{% set ns = namespace(found=false, count=0, last=none) %}{% for m in messages %}{% if m.role == 'user' %}"
                    "{% set ns.found = true %}{% set ns.count = ns.count + 1 %}{% set ns.last = loop.index0 %}{% endif %}{% endfor %}"
                    "{{ ns.found }} {{ ns.count }} {{ ns.last }}"},
      {"block_set", "{% set greeting %}Hello {{ s }}!{% endset %}[{{ greeting }}]{% set up | upper %}abc {{ x }}{% endset %}{{ up }}"},
      {"tuple_set", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = (1, 'x') %}{{ t }}{{ (5,) }}"},
      {"if_scope", "{% if yes %}{% set leaked = 'yes' %}{% endif %}{{ leaked }}"},
      {"with", "{% with a = 3, b = 4 %}{{ a * b }}{% endwith %}{{ a is defined }}"},
      {"filter_block", "{% filter upper %}shout {{ s }}{% endfilter %}"},
  }));
}

TEST(JinjaConstructs, MacrosAndCall) {
  expect_same_as_jinja2(cases({
      {"macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(punct='.', name='C') }}"},
      {"macro_recursion", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(6) }}"},
      {"macro_sees_globals", "{% set g = 'glob' %}{% macro m() %}{{ g }}{{ x }}{% endmacro %}{{ m() }}"},
      {"call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inner {{ x }}{% endcall %}"},
      {"call_args", "{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(item) each(l) %}[{{ item }}]{% endcall %}"},
      {"macro_varargs", "{% macro v(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ v(1, 2, 3, k=4) }}"},
      {"macro_too_many", "{% macro m(p, q=2) %}{{ p }}{% endmacro %}{{ m(1, 2, 3) }}"},
      {"macro_unknown_kw", "{% macro m(p) %}{{ p }}{% endmacro %}{{ m(1, z=2) }}"},
      {"macro_no_caller", "{% macro m(p) %}{{ p }}{% endmacro %}{% call m(1) %}x{% endcall %}"},
      {"macro_unused_caller", "{% macro m(p) %}{% if false %}{{ caller() }}{% endif %}{{ p }}{% endmacro %}{% call m(1) %}x{% endcall %}"},
      {"macro_twice", "{% macro m(p) %}{{ p }}{% endmacro %}{{ m(1, p=2) }}"},
      {"macro_missing_arg", "{% macro m(p, q) %}[{{ p }}|{{ q }}|{{ q is defined }}]{% endmacro %}{{ m(1) }}"},
  }));
}

TEST(JinjaConstructs, Expressions) {
  expect_same_as_jinja2(cases({
      {"arith", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7 / 2 }} {{ 6 / 2 }} {{ 1 + 2 * 3 - 4 }} {{ -2 ** 2 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }}"},
      {"floats", "{{ 1.0 }} {{ 0.1 + 0.2 }} {{ big }} {{ small }} {{ f * 2 }} {{ third * 3 }} {{ 1e16 }} {{ 123456789012345.6 }} {{ 0.0001 }} {{ -0.5 }} {{ 1/3 }} {{ 2.0 ** 0.5 }}"},
      {"print_values", "{{ l }} {{ d }} {{ nothing }} {{ yes }} {{ no }} {{ users[0] }} {{ ['it\\'s', \"q\\\"\", 'a\\nb', 'ü'] }} {{ undefined_thing }}|{{ (1, 2) }}"},
      {"compare", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ x != 7 }} {{ 'ab' >= 'ab' }}"},
      {"in", "{{ 'World' in s }} {{ 2 in l }} {{ 'a' in d }} {{ 'z' not in d }} {{ 5 not in l }} {{ 'x' in users[0].tags }}"},
      {"logic", "{{ yes and x }} {{ no or 'fallback' }} {{ not no }} {{ nothing or emptys or 'last' }} {{ not x is defined }} {{ zero and 1 }}"},
      {"concat", "{{ 'a' ~ x ~ f ~ nothing ~ undefined_thing ~ l }} {{ s + '!' }} {{ l + [4] }}"},
      {"ternary", "{{ 'y' if yes else 'n' }} {{ 'y' if no else 'n' }} [{{ 'only' if no }}] {{ 1 if x > 5 else 2 if x > 3 else 3 }}"},
      {"slicing", "{{ l[1:] }} {{ l[:-1] }} {{ l[::2] }} {{ l[::-1] }} {{ l[-2:] }} {{ s[0] }} {{ s[-1] }} {{ s[6:] }} {{ s[::-1] }} {{ uni[0:4] }} {{ uni[-2:] }} {{ l[5:] }} {{ l[10] is defined }} {{ messages[-1].role }}"},
      {"access", "{{ users[1]['name'] }} {{ users[1].name }} {{ d['C'] }} {{ users.0.name }} {{ users[0].tags[0] }} {{ users[2].tags is defined }} {{ messages[2].tool_calls[0].function.arguments.a[1] }}"},
      {"literals", "{{ {'k': [1, {'n': none}], 2: 'two'} }} {{ [] }} {{ {} }} {{ 'a' 'b' }} {{ 1_000 }} {{ \"\\u00e9\\t|\" }}"},
      {"unary", "{{ -x }} {{ +x }} {{ -f }} {{ - -x }} {{ not not yes }}"},
  }));
}

TEST(JinjaConstructs, Filters) {
  expect_same_as_jinja2(cases({
      {"strings", "[{{ '  a b  '|trim }}][{{ 'xxaxx'|trim('x') }}][{{ s|upper }}][{{ s|lower }}][{{ words|title }}][{{ 'hELLO wORLD'|capitalize }}][{{ s|replace('o', '0') }}][{{ s|replace('l', 'L', 2) }}][{{ uni|upper }}][{{ uni|length }}]"},
      {"length_etc", "{{ l|length }} {{ d|length }} {{ s|count }} {{ l|first }} {{ l|last }} {{ s|first }} {{ d|first }} {{ empty|first is defined }} {{ undefined_thing|length }}"},
      {"join", "{{ l|join(', ') }} {{ users|join('/', attribute='name') }} {{ strs|join }} {{ [1, none, 'x']|join('-') }}"},
      {"default", "{{ undefined_thing|default('dflt') }} {{ nothing|default('n') }} {{ emptys|default('e', true) }} {{ emptys|default('e') }} {{ zero|d(5, boolean=true) }} {{ x|default(1) }}"},
      {"conversions", "{{ '42'|int }} {{ '3.9'|int }} {{ 'abc'|int }} {{ 'abc'|int(-1) }} {{ 3.99|int }} {{ '2.5'|float }} {{ 'x'|float }} {{ 4|float }} {{ 5|string ~ 'x' }} {{ l|list }} {{ 'abc'|list }} {{ d|list }} {{ yes|int }} {{ ' 12 '|int }} {{ 'ff'|int(base=16) }}"},
      {"items_dictsort", "{{ d|items|list }} {{ d|dictsort }} {{ d|dictsort(true) }} {{ d|dictsort(by='value', reverse=true) }}"},
      {"selectattr", "{{ users|selectattr('active')|map(attribute='name')|list }} {{ users|rejectattr('active')|map(attribute='name')|join }} {{ messages|selectattr('role', 'equalto', 'user')|list|length }} {{ users|selectattr('age', 'gt', 28)|map(attribute='name')|list }} {{ users|selectattr('tags', 'defined')|list|length }}"},
      {"select_map", "{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ strs|map('upper')|list }} {{ users|map(attribute='nick', default='?')|list }} {{ [0, 1, '', 'a']|select|list }} {{ users|map(attribute='tags.0')|list }}"},
      {"sort_unique_reverse", "{{ l|sort }} {{ l|sort(reverse=true) }} {{ strs|sort }} {{ strs|sort(case_sensitive=true) }} {{ users|sort(attribute='age')|map(attribute='name')|list }} {{ ['a', 'A', 'b', 'a']|unique|list }} {{ l|reverse|list }} {{ s|reverse }}"},
      {"numbers", "{{ neg|abs }} {{ -2.5|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(0, 'floor') }} {{ 7|round }} {{ l|sum }} {{ users|sum(attribute='age') }} {{ l|min }} {{ l|max }} {{ strs|max }}"},
      {"indent", "[{{ 'a\\nb\\n\\nc'|indent }}][{{ 'a\\nb'|indent(2, true) }}][{{ 'a\\n\\nb'|indent(2, blank=true) }}][{{ 'x\\ny'|indent('> ') }}]"},
      {"misc", "{{ s|wordcount }} {{ words|wordcount }} {{ '<a href=\"x\">&'|e }} {{ 'x'|safe }} {{ '%s-%d'|format('a', 3) }} {{ '%05.1f|%s'|format(f, l) }} {{ users[0]|attr('name') }} {{ s|center(15) }}|"},
      {"repr_escapes", R"({{ ['a\'b', "q\"", 'both\'"', 'tab\there', 'nl\n\r', '\x07\x7f\u00a0\u2028\u0085', '\u00e9\U0001F389', '\\', '', uni, s] }}{{ {'k\'': 'v"', 'x': [uni]} }})"},
      {"percent_widths", "[{{ '%-600s' % 'x' }}][{{ '%600s' % uni }}][{{ '%.3s|%-8.2s|%5s' % (uni, 'h\u00e9llo', '\u00e9') }}][{{ '%r' % s }}][{{ '%8.3f|%-6d|%+d|%x' % (f, x, x, 255) }}]"},
  }));
}

TEST(JinjaConstructs, ToJson) {
  expect_same_as_jinja2(cases({
      {"default", "{{ tools|tojson }}"},
      {"indent", "{{ tools|tojson(indent=2) }}\n{{ d|tojson(indent=4, sort_keys=true) }}\n{{ {'e': [], 'o': {}}|tojson(indent=1) }}"},
      {"separators", "{{ users|tojson(separators=(',', ':')) }} {{ d|tojson(sort_keys=true) }}"},
      {"ascii", "{{ uni|tojson }} {{ uni|tojson(ensure_ascii=true) }} {{ 'tab\\tnl\\nq\"bs\\\\ctl\\x01'|tojson }}"},
      {"scalars", "{{ nothing|tojson }} {{ yes|tojson }} {{ f|tojson }} {{ big|tojson }} {{ small|tojson }} {{ x|tojson }} {{ 'x'|tojson }} {{ {1: 'int key', none: 1}|tojson }}"},
      {"args", "{{ messages[2].tool_calls[0].function.arguments|tojson }}"},
      {"undefined_fails", "{{ undefined_thing|tojson }}"},
  }));
}

TEST(JinjaConstructs, Tests) {
  expect_same_as_jinja2(cases({
      {"types", "{{ x is defined }}{{ y is undefined }}{{ nothing is none }}{{ s is string }}{{ x is number }}{{ f is number }}{{ yes is number }}{{ x is integer }}{{ yes is integer }}{{ f is float }}{{ d is mapping }}{{ l is mapping }}"},
      {"collections", "{{ l is iterable }}{{ s is iterable }}{{ x is iterable }}{{ d is sequence }}{{ l is sequence }}{{ x is sequence }}{{ undefined_thing is iterable }}{{ s is mapping }}"},
      {"bools", "{{ yes is boolean }}{{ x is boolean }}{{ yes is true }}{{ no is false }}{{ 1 is true }}{{ zero is false }}"},
      {"values", "{{ x is equalto 7 }}{{ x is equalto(8) }}{{ x == 7 }}{{ x is odd }}{{ x is even }}{{ 12 is divisibleby 4 }}{{ 12 is divisibleby(5) }}{{ 2 is in l }}{{ 'q' is in s }}{{ x is eq 7 }}{{ x is ne 7 }}{{ x is gt 3 }}{{ x is lt 3 }}"},
      {"is_not", "{{ nothing is not none }}{{ x is not string }}{{ messages[0].missing is not defined }}{{ not messages[0].content is string }}{{ 'abc' is lower }}{{ 'ABC' is upper }}"},
  }));
}

TEST(JinjaConstructs, MethodsAndGlobals) {
  expect_same_as_jinja2(cases({
      {"str_methods", "{{ s.startswith('Hell') }}{{ s.endswith('x') }}{{ s.startswith(('x', 'He')) }}|{{ s.split() }}{{ s.split('o') }}{{ 'a,b,,c'.split(',', 1) }}{{ '  a  b '.split() }}{{ '  a  b '.split(none, 1) }}{{ 'a,b,c'.rsplit(',', 1) }}{{ '  a  b '.rsplit(none, 1) }}"},
      {"strip", "[{{ '\\n x \\n'.strip() }}][{{ 'xxyxx'.strip('x') }}][{{ '\\n\\nx\\n'.lstrip('\\n') }}][{{ '  x  '.rstrip() }}][{{ '</think>\\n\\nans'.split('</think>')[-1].lstrip('\\n') }}]"},
      {"case", "{{ s.upper() }}{{ s.lower() }}{{ \"they're bill's friends\".title() }}{{ 'hELLO'.capitalize() }}{{ uni.upper() }}"},
      {"find_count", "{{ s.find('o') }}{{ s.find('zz') }}{{ uni.find('🎉') }}{{ s.count('l') }}{{ s.replace('l', '_') }}{{ s.rfind('o') }}"},
      {"format_join", "{{ '{} and {}'.format('a', 1) }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='N') }} {{ '-'.join(['a', 'b']) }} {{ '{{literal}}'.format() }}"},
      {"dict_methods", "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}"},
      {"list_methods", "{{ l.index(2) }} {{ l.count(3) }}"},
      {"append_forbidden", "{% set acc = [] %}{{ acc.append(1) }}{{ acc }}"},
      {"globals", "{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ dict(a=1, b='x') }} {{ namespace(a=1).a }} {% set j = joiner('|') %}{% for i in l %}{{ j() }}{{ i }}{% endfor %}"},
      {"strftime", "{{ strftime_now('%Y') }}"},
  }));
}

TEST(JinjaConstructs, GenerationBlocks) {
  expect_same_as_jinja2(cases({
      {"spans", "{% for m in messages %}<{{ m.role }}>{% if m.role == 'assistant' %}{% generation %}{{ m.content }} ünï</end>{% endgeneration %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}"},
      {"trimmed", "{%- for m in messages %}\n  {%- if m.role == 'user' %}\n    {%- generation %}\n      {{- m.content -}}\n    {% endgeneration %}\n  {%- endif %}\n{%- endfor %}"},
  }));
}

TEST(JinjaConstructs, LexerAndNumberEdges) {
  expect_same_as_jinja2(cases({
      {"delims_in_strings", "{% set q = '%}' %}[{{ q }}]{{ '}}' }}{# c %} }} #}{{ {'a': {'b': 1}} }}{{ 'a' ~ '{{' }}"},
      {"raw_minus", "x{%- raw -%}  {{ y }}  {%- endraw -%}  z"},
      {"escapes", "{{ \"a\\\\nb\" }}|{{ 'tab\\there' }}|{{ '\\'' }}|{{ '\\x41\\101' }}"},
      {"macro_default_uses_param", "{%- macro m(a, b=a ~ '!') -%}{{ b }}{%- endmacro -%}{{ m('hi') }}"},
      {"float_extremes", "{{ 1.5e300 * 1e10 }} {{ -1e400 }} {{ 1e15 }} {{ 1e16 }} {{ 123456789.123456789 }} {{ 2 ** 62 }}"},
      {"equality_mix", "{{ 3 == 3.0 }} {{ {'a': 1} == {'a': 1.0} }} {{ [1] == (1,) }} {{ (1, 2) == (1, 2) }}"},
      {"string_indent_json", "{% set dd = {'b': 1, 'a': [2]} %}{{ dd|tojson(indent='  ') }}"},
      {"unicode_case", "{{ 'é'|length }} {{ 'aé'[1] }} {{ 'straße'|upper }} {{ 'ÀÉÎ'|lower }}"},
      {"ranges", "{{ range(3)|join }} {{ range(0)|list }} {{ range(-3)|list }}"},
      {"number_filters", "{{ 5|float|string }} {{ 5.0|int }} {{ '1e3'|float }} {{ '1e3'|int }} {{ ' -4 '|int }} {{ -2.5|round }} {{ 0.125|round(2) }} {{ 1.005|round(2) }}"},
  }));
}

TEST(JinjaConstructs, RuntimeFailuresMatch) {
  // Both must fail; the message texts differ by design (ours name line and column).
  expect_same_as_jinja2(cases({
      {"attr_of_undefined", "{{ undefined_thing.attr }}"},
      {"str_plus_int", "{{ 'a' + 1 }}"},
      {"raise", "{{ raise_exception('custom failure') }}"},
      {"none_iter", "{% for i in nothing %}{% endfor %}"},
      {"div_zero", "{{ 1 // 0 }}"},
      {"dict_update", "{{ d.update({'q': 1}) }}"},
      {"range_cap", "{{ range(200000)|length }}"},
  }));
}

}  // namespace
}  // namespace tandem::testing
