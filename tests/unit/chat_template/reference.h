// Test helper: renders cases with both Tandem's interpreter and Debian's python3-jinja2 through
// tests/reference/render_chat_template.py (one Python process per batch), and compares them.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "testing/testing.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/jinja/template.h"

namespace tandem::testing {

using tokenizer::OrderedJson;

struct RefCase {
  std::string name;      // shown on failure
  std::string tmpl;
  OrderedJson context;   // variables, an object
};

struct RefResult {
  bool ok = false;
  std::string text;
  std::vector<tokenizer::jinja::Span> spans;
  std::string error;
};

inline std::vector<RefResult> run_reference(const std::vector<RefCase>& cases) {
  TempDir dir("jinja_ref");
  OrderedJson job;
  job["cases"] = OrderedJson::array();
  for (const auto& c : cases) job["cases"].push_back({{"template", c.tmpl}, {"context", c.context}});
  write_file_atomic(dir.file("job.json"), job.dump());
  std::string log;
  const std::string cmd = debian_python() + " " + source_dir() + "/tests/reference/render_chat_template.py " +
                          dir.file("job.json") + " " + dir.file("out.json");
  if (run_command(cmd, &log) != 0) {
    ADD_FAILURE() << "reference renderer failed: " << log;
    return {};
  }
  const OrderedJson out = OrderedJson::parse(read_file(dir.file("out.json")));
  std::vector<RefResult> res;
  for (const auto& o : out) {
    RefResult r;
    if (o.contains("error")) {
      r.error = o["error"].get<std::string>();
    } else {
      r.ok = true;
      r.text = o["text"].get<std::string>();
      for (const auto& s : o["spans"]) r.spans.push_back({s[0].get<size_t>(), s[1].get<size_t>()});
    }
    res.push_back(std::move(r));
  }
  return res;
}

inline RefResult render_ours(const RefCase& c) {
  RefResult r;
  try {
    tokenizer::jinja::Template t(c.tmpl, c.name);
    std::vector<std::pair<std::string, tokenizer::jinja::Value>> vars;
    for (auto it = c.context.begin(); it != c.context.end(); ++it)
      vars.emplace_back(it.key(), tokenizer::jinja::from_json(it.value()));
    auto out = t.render(vars);
    r.ok = true;
    r.text = std::move(out.text);
    r.spans = std::move(out.generation);
  } catch (const Error& e) {
    r.error = e.what();
  }
  return r;
}

// Renders every case both ways; expects identical text and spans, or both failing.
// Returns how many cases jinja2 rendered without error.
inline size_t expect_same_as_jinja2(const std::vector<RefCase>& cases) {
  const std::vector<RefResult> want = run_reference(cases);
  size_t rendered = 0;
  EXPECT_EQ(want.size(), cases.size());
  if (want.size() != cases.size()) return 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const RefResult got = render_ours(cases[i]);
    SCOPED_TRACE(cases[i].name);
    if (!want[i].ok) {
      EXPECT_FALSE(got.ok) << "jinja2 failed (" << want[i].error << ") but Tandem rendered:\n" << got.text;
      continue;
    }
    ++rendered;
    EXPECT_TRUE(got.ok) << "Tandem failed: " << got.error << "\njinja2 rendered:\n" << want[i].text;
    if (!got.ok) continue;
    EXPECT_EQ(got.text, want[i].text);
    EXPECT_EQ(got.spans.size(), want[i].spans.size());
    if (got.spans.size() == want[i].spans.size())
      for (size_t k = 0; k < got.spans.size(); ++k) {
        EXPECT_EQ(got.spans[k].begin, want[i].spans[k].begin) << "span " << k;
        EXPECT_EQ(got.spans[k].end, want[i].spans[k].end) << "span " << k;
      }
  }
  return rendered;
}

}  // namespace tandem::testing
