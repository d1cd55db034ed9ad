// llama.cpp as the judge of a GGUF file, through node-llama-cpp's prebuilt CPU binaries (no
// download, no build: getLlama({gpu: false, build: 'never'})).
// Usage: node llama_cpp_gguf.js REQUEST.json OUT.json
// REQUEST: a list of jobs (one node start-up serves several files), each
//          {"model": "file.gguf",
//           "prompts": [[ids...], ...], "max_new_tokens": N, "top": K,   (greedy continuations)
//           "texts": ["...", ...],                                          (tokenisation)
//           "chats": [{"messages": [...], "add_generation_prompt": bool}]}  (chat template)
// OUT: a list of results, one per job:
//      {"generations": [{"ids": [...], "probs": [p(ids[0]), ...], "top": [[token, prob], ... K at step 0]}],
//       "tokenized": [{"ids": with add_bos/add_eos as the GGUF says, "plain": without}],
//       "chats": ["rendered", ...]   (llama.cpp's own Jinja engine on tokenizer.chat_template),
//       "info": {"bos", "eos", "eot", "add_bos", "add_eos", "n_vocab", "chat_template", "arch"}}
// Probabilities are llama.cpp's softmax over the raw logits (greedy sampling applies no filter).
'use strict';
const fs = require('fs');
const path = require('path');
const modules = process.env.TANDEM_NODE_MODULES || path.join(__dirname, '..', 'node_modules');

async function main() {
  const [reqPath, outPath] = process.argv.slice(2);
  if (!reqPath || !outPath) throw new Error('usage: llama_cpp_gguf.js REQUEST.json OUT.json');
  const jobs = JSON.parse(fs.readFileSync(reqPath, 'utf8'));
  const { getLlama, LlamaLogLevel } = await import(path.join(modules, 'node-llama-cpp', 'dist', 'index.js'));
  const llama = await getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true,
                                 progressLogs: false, logLevel: LlamaLogLevel.error, maxThreads: 2 });
  const results = [];
  for (const req of jobs) results.push(await runJob(llama, req));
  fs.writeFileSync(outPath, JSON.stringify(results) + '\n');
  await llama.dispose();
}

async function runJob(llama, req) {
  const model = await llama.loadModel({ modelPath: req.model, gpuLayers: 0 });
  const out = { generations: [], tokenized: [], chats: [] };
  const meta = model.fileInfo.metadata;
  out.info = {
    arch: meta.general.architecture,
    bos: model.tokens.bos, eos: model.tokens.eos, eot: model.tokens.eot,
    add_bos: model.tokens.shouldPrependBosToken, add_eos: model.tokens.shouldAppendEosToken,
    n_vocab: model.fileInfo.metadata.tokenizer.ggml.tokens.length,
    chat_template: meta.tokenizer.chat_template ?? null,
  };

  if ((req.prompts || []).length > 0) {
    const context = await model.createContext({ contextSize: 512, batchSize: 512, sequences: 1, threads: 1 });
    const seq = context.getSequence();
    for (const prompt of req.prompts) {
      // The full distribution crosses into JS as a Map of the whole vocabulary, so it is asked for
      // at the first step only; later steps report the probability of the greedy token.
      const gen = { ids: [], probs: [], top: [] };
      await seq.clearHistory();
      for await (const r of seq.evaluateWithMetadata(prompt, { probabilities: true }, { temperature: 0 })) {
        gen.top = [...r.probabilities.entries()].sort((a, b) => b[1] - a[1]).slice(0, req.top || 5);
        break;
      }
      await seq.clearHistory();
      for await (const r of seq.evaluateWithMetadata(prompt, { confidence: true }, { temperature: 0 })) {
        gen.ids.push(r.token);
        gen.probs.push(r.confidence);
        if (gen.ids.length >= req.max_new_tokens) break;
      }
      out.generations.push(gen);
    }
    await context.dispose();
  }

  for (const text of req.texts || []) {
    const plain = model.tokenize(text, true);
    const ids = [...(out.info.add_bos ? [out.info.bos] : []), ...plain, ...(out.info.add_eos ? [out.info.eos] : [])];
    out.tokenized.push({ ids, plain: [...plain] });
  }

  if ((req.chats || []).length > 0) {
    if (out.info.chat_template == null) throw new Error('the GGUF has no tokenizer.chat_template');
    const tokenText = (id) => (id == null || id < 0 ? '' : model.detokenize([id], true));
    for (const c of req.chats) {
      // llama.cpp's Jinja engine (common/jinja), the one llama-server applies; not @huggingface/jinja.
      const renderer = new llama._bindings.AddonJinjaRenderer(out.info.chat_template);
      out.chats.push(renderer.render({
        messages: c.messages, add_generation_prompt: !!c.add_generation_prompt,
        bos_token: tokenText(out.info.bos), eos_token: tokenText(out.info.eos),
      }));
    }
  }
  await model.dispose();
  return out;
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
