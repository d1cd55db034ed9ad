#!/usr/bin/python3
"""Self-checks of the PyTorch decoder oracle (torch_decoder.py) and its writer (make_model.py).

Owns: evidence that the oracle's gradients are its forward's gradients
(central finite differences in float64), that packing documents into one row
equals running them as separate padded rows, that tied and untied heads
agree, that GQA groups query heads as HF does, that the sliding-window
boundary is t - j < W, that RoPE only sees relative positions, that
BF16/F16/sharded folders read back what was written, and that --bf16-matmul
rounds exactly the GEMM operands it documents. Deliberately not run by
CTest (the C++ tests use the oracle; this file checks the oracle itself).

Run: /usr/bin/python3 tests/reference/test_torch_decoder.py [-v]
"""

import copy
import json
import os
import shutil
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model  # noqa: E402
import safetensors_io  # noqa: E402
import torch_decoder as td  # noqa: E402

torch.set_num_threads(1)

# One tiny model per family, each with its quirks switched on.
FAMILIES = {
    "llama": ["--arch", "llama", "--qkv-bias", "--head-dim", "10", "--kv-heads", "2",
              "--rope-scaling", '{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, '
                                '"high_freq_factor": 4.0, "original_max_position_embeddings": 16}'],
    "qwen2": ["--arch", "qwen2", "--kv-heads", "1", "--sliding-window", "3", "--max-window-layers", "1",
              "--rope-scaling", '{"type": "linear", "factor": 2.0}'],
    "qwen3": ["--arch", "qwen3", "--head-dim", "6", "--kv-heads", "2", "--tie",
              "--rope-scaling", '{"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 8}'],
    "mistral": ["--arch", "mistral", "--kv-heads", "2", "--sliding-window", "4", "--score-head", "--with-lm-head"],
}
SHAPE = ["--layers", "2", "--hidden", "16", "--heads", "4", "--intermediate", "24", "--vocab", "37",
         "--init-std", "0.3", "--rope-theta", "100.0"]


def write(folder, args, seed=1):
    return make_model.make_model(SHAPE + args + ["--seed", str(seed), "--out", folder])


def rand_batch(B, T, V, seed, segments=None, value=False):
    g = torch.Generator().manual_seed(seed)
    b = {"input_ids": torch.randint(0, V, (B, T), generator=g).tolist(),
         "dlogp": torch.randn(B, T, generator=g, dtype=torch.float64).tolist(),
         "dentropy": torch.randn(B, T, generator=g, dtype=torch.float64).tolist()}
    if value:
        b["dvalue"] = torch.randn(B, T, generator=g, dtype=torch.float64).tolist()
    if segments is not None:
        b["segment_ids"] = segments
    return b


def evaluate(spec, params, batch):
    ids, pos, seg, w = td.prepare_batch(batch, spec, torch.float64)
    out = td.forward(spec, params, ids, pos, seg)
    return out, td.objective(out, w)


class Oracle(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tandem_ref_")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_gradients_match_finite_differences(self):
        segs = [[0, 0, 0, 0, 1, 1, 1, -1], [5, 5, 5, 5, 5, 5, 5, 5]]
        for fam, args in FAMILIES.items():
            with self.subTest(family=fam):
                folder = self.path(fam)
                write(folder, args)
                spec, params = td.load_model(folder)
                batch = rand_batch(2, 8, spec.vocab, seed=7, segments=segs, value="score" in " ".join(args))
                _, J = evaluate(spec, params, batch)
                names = sorted(params)
                grads = dict(zip(names, torch.autograd.grad(J, [params[n] for n in names])))
                g = torch.Generator().manual_seed(3)
                checked = 0
                for name in names:
                    p = params[name]
                    # Two entries of every tensor; finite differences of the same forward.
                    for _ in range(2):
                        idx = tuple(int(torch.randint(0, s, (1,), generator=g)) for s in p.shape)
                        eps = 1e-5
                        with torch.no_grad():
                            old = p[idx].item()
                            p[idx] = old + eps
                            jp = evaluate(spec, params, batch)[1].item()
                            p[idx] = old - eps
                            jm = evaluate(spec, params, batch)[1].item()
                            p[idx] = old
                        fd = (jp - jm) / (2 * eps)
                        an = grads[name][idx].item()
                        self.assertLess(abs(fd - an), 1e-6 * max(1.0, abs(an)), f"{fam} {name}{list(idx)}: "
                                        f"autograd {an} vs finite difference {fd}")
                        checked += 1
                self.assertGreater(checked, 40)

    def _packed_vs_padded(self, fam):
        folder = self.path(fam)
        write(folder, FAMILIES[fam])
        V = td.load_model(folder)[0].vocab
        g = torch.Generator().manual_seed(11)
        docs = [torch.randint(0, V, (n,), generator=g).tolist() for n in (5, 3, 6)]
        wl = [torch.randn(len(d), generator=g, dtype=torch.float64).tolist() for d in docs]
        we = [torch.randn(len(d), generator=g, dtype=torch.float64).tolist() for d in docs]
        wv = [torch.randn(len(d), generator=g, dtype=torch.float64).tolist() for d in docs]
        T = 16
        # Packed: docs 0 and 1 share row 0 (then 8 padding tokens), doc 2 alone in row 1 (10 padding).
        packed = {"input_ids": [docs[0] + docs[1] + [0] * 8, docs[2] + [3] * 10],
                  "segment_ids": [[0] * 5 + [1] * 3 + [-1] * 8, [4] * 6 + [-1] * 10],
                  "position_ids": [list(range(5)) + list(range(3)) + [0] * 8, list(range(6)) + [0] * 10],
                  "dlogp": [wl[0] + wl[1] + [9.0] * 8, wl[2] + [9.0] * 10],
                  "dentropy": [we[0] + we[1] + [9.0] * 8, we[2] + [9.0] * 10],
                  "dvalue": [wv[0] + wv[1] + [0.0] * 8, wv[2] + [0.0] * 10]}
        padded = {"input_ids": [d + [1] * (T - len(d)) for d in docs],
                  "segment_ids": [[0] * len(d) + [-1] * (T - len(d)) for d in docs],
                  "dlogp": [w + [9.0] * (T - len(w)) for w in wl],
                  "dentropy": [w + [9.0] * (T - len(w)) for w in we],
                  "dvalue": [w + [0.0] * (T - len(w)) for w in wv]}
        if "--score-head" not in FAMILIES[fam]:
            del packed["dvalue"], padded["dvalue"]
        a = td.run(folder, packed)
        b = td.run(folder, padded)
        for name in ("logp", "entropy", "value"):
            if name not in a:
                continue
            got = torch.cat([a[name][0, :5], a[name][0, 5:8], a[name][1, :6]])
            want = torch.cat([b[name][0, :5], b[name][1, :3], b[name][2, :6]])
            self.assertTrue(torch.allclose(got, want, atol=1e-12, rtol=0), f"{fam} {name}")
            self.assertEqual(float(a[name][0, 8:].abs().sum()), 0.0, f"{fam} {name} padding not zero")
        # The first token of each document has no prediction.
        self.assertEqual(float(a["logp"][0, 5]), 0.0)
        for k in a:
            if k.startswith("grad."):
                self.assertTrue(torch.allclose(a[k], b[k], atol=1e-12, rtol=1e-10), f"{fam} {k}")

    def test_packed_equals_padded(self):
        for fam in FAMILIES:
            with self.subTest(family=fam):
                self._packed_vs_padded(fam)

    def test_tied_vs_untied(self):
        tied = self.path("tied")
        write(tied, ["--arch", "llama", "--tie"])
        untied = self.path("untied")
        os.makedirs(untied)
        with open(os.path.join(tied, "config.json")) as f:
            cfg = json.load(f)
        cfg["tie_word_embeddings"] = False
        with open(os.path.join(untied, "config.json"), "w") as f:
            json.dump(cfg, f)
        t = safetensors_io.read_folder(tied)
        self.assertNotIn("lm_head.weight", t)
        t["lm_head.weight"] = t["model.embed_tokens.weight"].clone()
        safetensors_io.write_folder(untied, t)
        batch = rand_batch(2, 9, cfg["vocab_size"], seed=5)
        a, b = td.run(tied, batch), td.run(untied, batch)
        self.assertTrue(torch.allclose(a["logp"], b["logp"], atol=1e-13, rtol=0))
        self.assertNotIn("grad.lm_head.weight", a)
        summed = b["grad.model.embed_tokens.weight"] + b["grad.lm_head.weight"]
        self.assertTrue(torch.allclose(a["grad.model.embed_tokens.weight"], summed, atol=1e-12, rtol=1e-10))
        # Both uses matter, so the sum differs from either part.
        self.assertGreater(float((summed - b["grad.lm_head.weight"]).abs().max()), 1e-6)

    def test_gqa_equals_replicated_kv_heads(self):
        # H=4 query heads over K=2 kv heads must equal K=4 with kv head h holding kv head h // 2.
        gqa = self.path("gqa")
        write(gqa, ["--arch", "qwen2", "--kv-heads", "2"])
        mha = self.path("mha")
        os.makedirs(mha)
        with open(os.path.join(gqa, "config.json")) as f:
            cfg = json.load(f)
        cfg["num_key_value_heads"] = 4
        with open(os.path.join(mha, "config.json"), "w") as f:
            json.dump(cfg, f)
        t = safetensors_io.read_folder(gqa)
        D = cfg["head_dim"]
        for n in list(t):
            if ".k_proj." in n or ".v_proj." in n:
                t[n] = t[n].view(2, D, *t[n].shape[1:]).repeat_interleave(2, dim=0).reshape(4 * D, *t[n].shape[1:])
        safetensors_io.write_folder(mha, t)
        batch = rand_batch(1, 10, cfg["vocab_size"], seed=2)
        a, b = td.run(gqa, batch, grad=False), td.run(mha, batch, grad=False)
        self.assertTrue(torch.allclose(a["logp"], b["logp"], atol=1e-13, rtol=0))

    def test_sliding_window_boundary(self):
        # One layer, window W: the output at p reads tokens p-W+1..p, so logp[t]
        # (read at p = t-1) must ignore token t-1-W and depend on token t-W.
        W, T, t = 3, 10, 8
        folder = self.path("sw")
        make_model.make_model(["--arch", "mistral", "--layers", "1", "--hidden", "16", "--heads", "2",
                               "--intermediate", "16", "--vocab", "23", "--init-std", "0.5",
                               "--sliding-window", str(W), "--seed", "4", "--out", folder])
        base = rand_batch(1, T, 23, seed=9)
        ref = td.run(folder, base, grad=False)["logp"][0, t]

        def changed(j):
            b = copy.deepcopy(base)
            b["input_ids"][0][j] = (b["input_ids"][0][j] + 1) % 23
            return abs(float(td.run(folder, b, grad=False)["logp"][0, t] - ref))

        self.assertEqual(changed(t - 1 - W), 0.0)
        self.assertGreater(changed(t - W), 1e-8)

    def test_window_layer_rule(self):
        base = {"hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 4, "num_attention_heads": 2,
                "vocab_size": 10, "sliding_window": 5}
        q2 = dict(base, architectures=["Qwen2ForCausalLM"], use_sliding_window=True, max_window_layers=2)
        self.assertEqual(td.Spec(q2).windows, [None, None, 5, 5])
        self.assertEqual(td.Spec(dict(q2, use_sliding_window=False)).windows, [None] * 4)
        self.assertEqual(td.Spec(dict(q2, layer_types=["sliding_attention", "full_attention"] * 2)).windows,
                         [5, None, 5, None])
        self.assertEqual(td.Spec(dict(base, architectures=["MistralForCausalLM"])).windows, [5] * 4)
        self.assertEqual(td.Spec(dict(base, architectures=["MistralForCausalLM"], sliding_window=None)).windows,
                         [None] * 4)
        with self.assertRaises(ValueError):
            td.Spec(dict(base, architectures=["GPT2LMHeadModel"]))
        with self.assertRaises(ValueError):
            td.Spec(dict(q2, rope_scaling={"rope_type": "dynamic", "factor": 2.0}))

    def test_rope_sees_relative_positions_only(self):
        for fam in ("llama", "qwen3"):  # llama3 and yarn scaling
            with self.subTest(family=fam):
                folder = self.path(fam)
                write(folder, FAMILIES[fam])
                batch = rand_batch(1, 7, 37, seed=1)
                batch["position_ids"] = [list(range(7))]
                a = td.run(folder, batch, grad=False)["logp"]
                batch["position_ids"] = [list(range(100, 107))]
                b = td.run(folder, batch, grad=False)["logp"]
                self.assertTrue(torch.allclose(a, b, atol=1e-10, rtol=0))
                batch["position_ids"] = [[0, 1, 2, 3, 5, 6, 7]]  # a gap changes relative distances
                c = td.run(folder, batch, grad=False)["logp"]
                self.assertGreater(float((a - c).abs().max()), 1e-6)

    def test_rope_scalings_reduce_to_default_at_factor_one(self):
        spec = td.Spec({"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 8,
                        "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 10,
                        "max_position_embeddings": 64})
        pos = torch.arange(50)[None]
        cos0, sin0 = td.rope_tables(spec, pos)
        for rs in ({"rope_type": "linear", "factor": 1.0},
                   {"rope_type": "llama3", "factor": 1.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                    "original_max_position_embeddings": 32},
                   {"rope_type": "yarn", "factor": 1.0}):
            spec.rope, spec.rope_type = rs, rs["rope_type"]
            cos, sin = td.rope_tables(spec, pos)
            self.assertTrue(torch.allclose(cos, cos0, atol=1e-12) and torch.allclose(sin, sin0, atol=1e-12), rs)
        # llama3: the highest frequencies are untouched, the lowest divided by factor.
        spec.rope = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 32}
        spec.rope_type = "llama3"
        cos, _ = td.rope_tables(spec, torch.tensor([[1]]))
        D = spec.head_dim
        inv = 1.0 / (10000.0 ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
        self.assertAlmostEqual(float(cos[0, 0, 0]), float(torch.cos(inv[0])), places=12)
        self.assertAlmostEqual(float(cos[0, 0, D // 2 - 1]), float(torch.cos(inv[-1] / 8)), places=12)

    def test_rope_pairs_i_with_i_plus_half(self):
        # Hand-worked: x = e_i at position m rotates in the plane (i, i + D/2) by +m*inv_freq_i:
        # x'[i] = cos(a), x'[i + D/2] = sin(a); and e_{i+D/2} goes to -sin(a) e_i + cos(a) e_{i+D/2}.
        D, i, m = 8, 1, 3
        spec = td.Spec({"architectures": ["LlamaForCausalLM"], "hidden_size": 2 * D, "intermediate_size": 8,
                        "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 10, "rope_theta": 50.0})
        cos, sin = td.rope_tables(spec, torch.tensor([[m]]))
        a = m * 50.0 ** (-2.0 * i / D)
        e = torch.zeros(D, dtype=torch.float64)
        e[i] = 1
        y = td.apply_rope(e, cos[0, 0], sin[0, 0])
        want = torch.zeros(D, dtype=torch.float64)
        want[i], want[i + D // 2] = torch.cos(torch.tensor(a)), torch.sin(torch.tensor(a))
        self.assertTrue(torch.allclose(y, want, atol=1e-14), y)
        e = torch.zeros(D, dtype=torch.float64)
        e[i + D // 2] = 1
        y = td.apply_rope(e, cos[0, 0], sin[0, 0])
        want = torch.zeros(D, dtype=torch.float64)
        want[i], want[i + D // 2] = -torch.sin(torch.tensor(a)), torch.cos(torch.tensor(a))
        self.assertTrue(torch.allclose(y, want, atol=1e-14), y)

    def test_disk_dtypes_and_shards(self):
        write(self.path("f32"), ["--arch", "llama"], seed=3)
        ref = safetensors_io.read_folder(self.path("f32"))
        for dt, tdt in (("BF16", torch.bfloat16), ("F16", torch.float16)):
            write(self.path(dt), ["--arch", "llama", "--dtype", dt, "--shards", "3"], seed=3)
            self.assertTrue(os.path.exists(os.path.join(self.path(dt), "model.safetensors.index.json")))
            got = safetensors_io.read_folder(self.path(dt))
            self.assertEqual(sorted(got), sorted(ref))
            for n in ref:
                self.assertTrue(torch.equal(got[n], ref[n].to(tdt).to(torch.float32)), f"{dt} {n}")
        write(self.path("sharded"), ["--arch", "llama", "--shards", "4"], seed=3)
        batch = rand_batch(1, 6, 37, seed=0)
        a, b = td.run(self.path("f32"), batch), td.run(self.path("sharded"), batch)
        for k in a:
            self.assertTrue(torch.equal(a[k], b[k]), k)

    def test_bench_peer_computes_the_same_logp(self):
        # bench/e2e/torch_train_step.py must time the same function the oracle defines.
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "e2e"))
        import torch_train_step as bench
        for fam in ("llama", "qwen3"):
            with self.subTest(family=fam):
                folder = self.path(fam)
                write(folder, [a for a in FAMILIES[fam] if a != "--rope-scaling" and not a.startswith("{")])
                args = bench.argparse.Namespace(model=folder, seed=0)
                spec, _, model = bench.build(args)
                model = model.double()
                batch = rand_batch(2, 9, 37, seed=4)
                ids = torch.tensor(batch["input_ids"])
                cos, sin = (x[:, None] for x in td.rope_tables(spec, torch.arange(9)[None]))
                mask = torch.full((9, 9), float("-inf"), dtype=torch.float64).triu(1)
                got = bench.summed_logp(model, ids, cos, sin, mask)
                want = td.run(folder, {"input_ids": batch["input_ids"]}, grad=False)["logp"].sum()
                self.assertLess(abs(float(got - want)), 1e-10)

    def test_cli_writes_expected_outputs(self):
        folder = self.path("cli")
        write(folder, FAMILIES["mistral"])
        batch = rand_batch(2, 5, 37, seed=1, value=True)
        with open(self.path("b.json"), "w") as f:
            json.dump(batch, f)
        for dtype, tag in (("float64", torch.float64), ("float32", torch.float32)):
            out = self.path(f"o_{dtype}.safetensors")
            self.assertEqual(td.main(["--model", folder, "--batch", self.path("b.json"), "--out", out,
                                      "--dtype", dtype]), 0)
            got, meta = safetensors_io.read_file(out)
            self.assertEqual(got["logp"].dtype, tag)
            self.assertEqual(list(got["value"].shape), [2, 5])
            self.assertIn("grad.score.weight", got)
            self.assertIn("grad.lm_head.weight", got)
        a = safetensors_io.read_file(self.path("o_float64.safetensors"))[0]
        b = safetensors_io.read_file(self.path("o_float32.safetensors"))[0]
        self.assertLess(float((a["logp"] - b["logp"]).abs().max()), 1e-5)
        self.assertEqual(td.main(["--model", folder, "--batch", self.path("b.json"), "--out",
                                  self.path("n.safetensors"), "--no-grad"]), 0)
        self.assertFalse(any(k.startswith("grad.") for k in safetensors_io.read_file(self.path("n.safetensors"))[0]))

    def test_bf16_matmul_rounds_operands_and_gradient(self):
        g = torch.Generator().manual_seed(5)
        x = torch.randn(3, 4, 8, generator=g, dtype=torch.float64, requires_grad=True)
        w = torch.randn(6, 8, generator=g, dtype=torch.float64, requires_grad=True)
        gy = torch.randn(3, 4, 6, generator=g, dtype=torch.float64)
        y = td._Bf16Matmul.apply(x, w)
        xr, wr, gr = (t.detach().to(torch.bfloat16).to(torch.float64) for t in (x, w, gy))
        self.assertTrue(torch.equal(y, xr @ wr.t()))
        self.assertFalse(torch.allclose(y, x @ w.t(), rtol=0, atol=1e-6))  # the rounding is real
        y.backward(gy)
        self.assertTrue(torch.allclose(x.grad, gr @ wr, rtol=1e-15, atol=0))
        self.assertTrue(torch.allclose(w.grad, gr.reshape(-1, 6).t() @ xr.reshape(-1, 8), rtol=1e-15, atol=0))
        # A whole model with weights already in bf16: only the activations' rounding is left, small but real.
        folder = self.path("m")
        write(folder, FAMILIES["llama"])
        spec, params = td.load_model(folder)
        with torch.no_grad():
            for p in params.values():
                p.copy_(p.to(torch.bfloat16).to(torch.float64))
        batch = rand_batch(2, 6, spec.vocab, 3)
        ids, pos, seg, wts = td.prepare_batch(batch, spec, torch.float64)
        plain = td.forward(spec, params, ids, pos, seg)
        lowp = td.forward(spec, params, ids, pos, seg, bf16_matmul=True)
        diff = float((plain["logp"] - lowp["logp"]).abs().max())
        self.assertGreater(diff, 0.0)
        self.assertLess(diff, 5e-2)


if __name__ == "__main__":
    unittest.main()
