// Reference tokenization with the Hugging Face Rust `tokenizers` crate (node binding @anush008/tokenizers).
// Usage: node hf_tokenize.js TOKENIZER_JSON IN.jsonl OUT.jsonl [TOKENIZER_JSON IN.jsonl OUT.jsonl ...]
// (several triples in one run save node start-up time in tests).
// Each input line {"text": "..."} gives one output line:
//   {"ids": encode(text, no special), "ids_special": encode(text, with special),
//    "decoded": decode(ids), "decoded_special": decode(ids_special), "decoded_skip": decode(ids_special, skip special)}
// An input line {"ids": [...]} instead gives {"decoded": decode(ids), "decoded_skip": decode(ids, skip special)}.
'use strict';
const fs = require('fs');
const path = require('path');
const modules = process.env.TANDEM_NODE_MODULES || path.join(__dirname, '..', 'node_modules');
const { Tokenizer } = require(path.join(modules, '@anush008', 'tokenizers'));

async function main() {
  const args = process.argv.slice(2);
  if (args.length === 0 || args.length % 3 !== 0) throw new Error('expected TOKENIZER_JSON IN OUT triples');
  for (let k = 0; k < args.length; k += 3) await run(args[k], args[k + 1], args[k + 2]);
}

async function run(tokPath, inPath, outPath) {
  let tok;
  try {
    tok = Tokenizer.fromFile(tokPath);
  } catch (e) {
    // A tokenizer the crate refuses to load: record that, so the caller can expect an error too.
    fs.writeFileSync(outPath, JSON.stringify({ load_error: String(e) }) + '\n');
    return;
  }
  const lines = fs.readFileSync(inPath, 'utf8').split('\n').filter((l) => l.length > 0);
  const out = [];
  for (const line of lines) {
    const rec = JSON.parse(line);
    if (rec.ids !== undefined) {
      out.push(JSON.stringify({
        decoded: await tok.decode(rec.ids, false),
        decoded_skip: await tok.decode(rec.ids, true),
      }));
      continue;
    }
    const plain = (await tok.encode(rec.text, null, { addSpecialTokens: false })).getIds();
    const special = (await tok.encode(rec.text, null, { addSpecialTokens: true })).getIds();
    out.push(JSON.stringify({
      ids: plain,
      ids_special: special,
      decoded: await tok.decode(plain, false),
      decoded_special: await tok.decode(special, false),
      decoded_skip: await tok.decode(special, true),
    }));
  }
  fs.writeFileSync(outPath, out.join('\n') + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
