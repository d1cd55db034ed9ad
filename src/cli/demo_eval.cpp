// Greedy held-out evaluation of a demo model (see demo_eval.h).
#include "cli/demo_eval.h"

#include <chrono>

#include "model/decoder.h"
#include "reward/reward.h"
#include "rollout/engine.h"
#include "rollout/stop_ids.h"

namespace tandem::cli {

std::vector<int32_t> question_ids(const tokenizer::Tokenizer& tok, const tokenizer::ChatTemplate& tmpl,
                                  const std::string& question) {
  tokenizer::ChatInput in;
  in.messages = tokenizer::OrderedJson::array({{{"role", "user"}, {"content", question}}});
  in.add_generation_prompt = true;
  return tok.encode(tmpl.render(in).text, false);
}

EvalResult evaluate_greedy(const std::string& model_dir, const std::string& tokenizer_dir,
                           const std::vector<AdditionProblem>& problems, int64_t max_new_tokens) {
  const auto t0 = std::chrono::steady_clock::now();
  auto dec = model::Decoder::load(model_dir);
  const auto tok = tokenizer::Tokenizer::from_dir(tokenizer_dir);
  const auto tmpl = tokenizer::ChatTemplate::from_dir(tokenizer_dir);
  rollout::SamplingParams sp;
  sp.temperature = 0.f;  // greedy: the model's single best answer
  sp.max_new_tokens = max_new_tokens;
  sp.stop_ids = rollout::default_stop_ids(model_dir, dec->config(), &tok);
  std::vector<rollout::Request> reqs;
  for (const AdditionProblem& p : problems) reqs.push_back({question_ids(tok, tmpl, p.question), sp});
  rollout::Engine engine(*dec, {}, &tok);
  const auto out = engine.generate(reqs);
  auto math = reward::make_reward(Json{{"type", "math"}}, "demo.eval.reward");
  std::vector<reward::RewardRequest> rr;
  for (size_t i = 0; i < problems.size(); ++i)
    rr.push_back({problems[i].question, out[i][0].text, Json{{"answer", problems[i].answer}}, int64_t(out[i][0].ids.size())});
  const auto scores = math->score(rr);
  EvalResult r;
  r.n = int64_t(problems.size());
  int64_t tokens = 0;
  for (size_t i = 0; i < problems.size(); ++i) {
    const bool ok = scores[i].reward > 0.5;
    r.correct += ok;
    r.well_formed += is_worked_solution(out[i][0].text);
    tokens += int64_t(out[i][0].ids.size());
    r.answers.push_back({problems[i].question, problems[i].answer, out[i][0].text, ok});
  }
  r.mean_tokens = r.n > 0 ? double(tokens) / double(r.n) : 0.0;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace tandem::cli
