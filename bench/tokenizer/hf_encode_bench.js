// Peer for encode_bench: the Hugging Face Rust `tokenizers` crate through its node binding.
// Usage: node hf_encode_bench.js TOKENIZER_JSON LINES.jsonl REPEATS
// Prints one JSON object: median seconds for (a) one awaited encode() call per line, which includes the
// binding's per-call overhead (JS -> N-API -> libuv thread pool), and (b) one encodeBatch() of all lines,
// whose thread count is set by the caller's environment (TOKENIZERS_PARALLELISM / RAYON_NUM_THREADS);
// and the total number of tokens (so the caller can check both sides did the same work).
// Each timing is given twice: wall seconds and process CPU seconds (user + system, all threads), because
// the shared benchmark machine is oversubscribed and wall time there measures the neighbours too.
'use strict';
const fs = require('fs');
const path = require('path');
const modules = process.env.TANDEM_NODE_MODULES || path.join(__dirname, '..', '..', 'tests', 'node_modules');
const { Tokenizer } = require(path.join(modules, '@anush008', 'tokenizers'));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const [tokPath, linesPath, repeatsArg] = process.argv.slice(2);
  const repeats = Number(repeatsArg || 3);
  const tok = Tokenizer.fromFile(tokPath);
  const lines = fs.readFileSync(linesPath, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l).text);
  const opts = { addSpecialTokens: false };
  // Warm-up (fills the crate's word cache exactly as our warm-up fills ours).
  for (const l of lines) await tok.encode(l, null, opts);
  const cpuSeconds = (u) => (u.user + u.system) / 1e6;
  const perCall = [], perCallCpu = [];
  let tokens = 0;
  for (let r = 0; r < repeats; ++r) {
    tokens = 0;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const l of lines) tokens += (await tok.encode(l, null, opts)).getLength();
    perCall.push(Number(process.hrtime.bigint() - t0) / 1e9);
    perCallCpu.push(cpuSeconds(process.cpuUsage(c0)));
  }
  const batch = [], batchCpu = [];
  let batchTokens = 0;
  for (let r = 0; r < repeats; ++r) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const encs = await tok.encodeBatch(lines, opts);
    batch.push(Number(process.hrtime.bigint() - t0) / 1e9);
    batchCpu.push(cpuSeconds(process.cpuUsage(c0)));
    batchTokens = encs.reduce((n, e) => n + e.getLength(), 0);
  }
  console.log(JSON.stringify({
    per_call_s: median(perCall), per_call_cpu_s: median(perCallCpu),
    batch_s: median(batch), batch_cpu_s: median(batchCpu), tokens, batch_tokens: batchTokens,
  }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
