"""Writes a Llama-architecture HF model folder (config.json + model.safetensors, as
`tandem init-model --arch llama` makes) as a GGUF file for llama.cpp's benchmarks, f32 or bf16.

Owns: the tensor renaming to GGUF names, the q/k row permutation llama.cpp's Llama graph expects
(HF rotates halves, GGUF's llama arch rotates interleaved pairs), and a placeholder SentencePiece
vocabulary of vocab_size entries (control tokens, the 256 byte tokens, then filler pieces) so
llama.cpp loads the model. Deliberately not: real tokenizers, other architectures, quantisation;
this file only feeds speed benchmarks (llama.cpp's own convert_hf_to_gguf.py needs `transformers`,
which is not installed here).

Runs with Debian's /usr/bin/python3 (numpy) and gguf-py from the llama.cpp tree on PYTHONPATH:
    PYTHONPATH=llama.cpp/gguf-py /usr/bin/python3 make_gguf.py MODEL_DIR OUT.gguf --dtype f32|bf16
"""
import argparse
import json
import os
import struct

import numpy as np
import gguf


def read_safetensors(path):
    """name -> float32 array, from a safetensors file (F32, BF16 or F16)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        raw = data[a:b]
        if meta["dtype"] == "F32":
            t = np.frombuffer(raw, dtype=np.float32)
        elif meta["dtype"] == "BF16":
            t = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif meta["dtype"] == "F16":
            t = np.frombuffer(raw, dtype=np.float16).astype(np.float32)
        else:
            raise SystemExit(f"{path}: tensor {name}: dtype {meta['dtype']} not handled")
        out[name] = t.reshape(meta["shape"])
    return out


def permute_rows(w, n_head):
    """HF half-split rotary rows -> interleaved pairs, per head (what llama.cpp's converter does)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def to_bf16(x):
    """float32 -> bf16 bits (round to nearest even), as uint16."""
    u = x.astype(np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.model_dir, "config.json")))
    if cfg.get("architectures", [""])[0] != "LlamaForCausalLM":
        raise SystemExit(f"expected a LlamaForCausalLM folder, got {cfg.get('architectures')}")
    W = read_safetensors(os.path.join(a.model_dir, "model.safetensors"))
    C, H = cfg["hidden_size"], cfg["num_attention_heads"]
    K = cfg.get("num_key_value_heads", H)
    D = cfg.get("head_dim", C // H)
    L, V = cfg["num_hidden_layers"], cfg["vocab_size"]

    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name("tandem-bench")
    w.add_context_length(cfg.get("max_position_embeddings", 4096))
    w.add_embedding_length(C)
    w.add_block_count(L)
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(H)
    w.add_head_count_kv(K)
    w.add_key_length(D)
    w.add_value_length(D)
    w.add_rope_dimension_count(D)
    w.add_rope_freq_base(float(cfg.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(float(cfg.get("rms_norm_eps", 1e-5)))
    w.add_vocab_size(V)
    w.add_file_type(gguf.LlamaFileType.ALL_F32 if a.dtype == "f32" else gguf.LlamaFileType.MOSTLY_BF16)

    # Placeholder SentencePiece vocabulary: <unk> <s> </s>, byte tokens, then filler pieces.
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
    tokens += [f"\u2581t{i}" for i in range(V - len(tokens))]
    types += [gguf.TokenType.NORMAL] * (V - len(types))
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * V)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)

    def put(name, x, keep_f32=False):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if a.dtype == "bf16" and not keep_f32 and x.ndim == 2:
            w.add_tensor(name, to_bf16(x), raw_shape=x.shape, raw_dtype=gguf.GGMLQuantizationType.BF16)
        else:
            w.add_tensor(name, x)

    put("token_embd.weight", W["model.embed_tokens.weight"])
    put("output_norm.weight", W["model.norm.weight"], keep_f32=True)
    if "lm_head.weight" in W and not cfg.get("tie_word_embeddings", False):
        put("output.weight", W["lm_head.weight"])
    for i in range(L):
        p = f"model.layers.{i}."
        put(f"blk.{i}.attn_norm.weight", W[p + "input_layernorm.weight"], keep_f32=True)
        put(f"blk.{i}.attn_q.weight", permute_rows(W[p + "self_attn.q_proj.weight"], H))
        put(f"blk.{i}.attn_k.weight", permute_rows(W[p + "self_attn.k_proj.weight"], K))
        put(f"blk.{i}.attn_v.weight", W[p + "self_attn.v_proj.weight"])
        put(f"blk.{i}.attn_output.weight", W[p + "self_attn.o_proj.weight"])
        put(f"blk.{i}.ffn_norm.weight", W[p + "post_attention_layernorm.weight"], keep_f32=True)
        put(f"blk.{i}.ffn_gate.weight", W[p + "mlp.gate_proj.weight"])
        put(f"blk.{i}.ffn_up.weight", W[p + "mlp.up_proj.weight"])
        put(f"blk.{i}.ffn_down.weight", W[p + "mlp.down_proj.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {a.out} ({a.dtype}, {os.path.getsize(a.out) / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
