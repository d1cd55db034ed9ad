#!/usr/bin/python3
"""Independent PyTorch reference (test oracle) for one preference-training step of Tandem.

Owns: the DPO-family losses written from their papers / TRL's formulas (not from Tandem's
objective code) on top of the decoder math of torch_decoder.py, and their parameter gradients
by autograd. Each sequence (prompt + completion) runs as its own row, so no padding or packing
is involved: the C++ trainer's collation is what is being checked.

Usage:
  /usr/bin/python3 tests/reference/torch_dpo_step.py --model DIR --pairs pairs.json \
      --out out.safetensors [--beta 0.1] [--loss sigmoid|hinge|ipo] [--label-smoothing 0]
      [--ref DIR] [--dtype float64|float32]

pairs.json: [{"prompt": [ids], "chosen": [ids], "rejected": [ids]}, ...]

Definitions:
  logp(y) = sum over completion tokens t of log pi(y_t | prompt, y_<t)   (IPO: divided by |y|)
  h_p = (logp(y_w) - ref(y_w)) - (logp(y_l) - ref(y_l)), ref from --ref (default: --model), detached
  sigmoid: -(1 - ls) log sigma(beta h) - ls log sigma(-beta h);  hinge: relu(1 - beta h);
  ipo: (h - 1 / (2 beta))^2;   L = mean over pairs.
Writes loss, rewards_margin (mean beta*h) and grad.<name> for every parameter.
"""

import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
import torch_decoder  # noqa: E402


def seq_logp(spec, params, prompt, completion, average):
    ids = torch.tensor([prompt + completion], dtype=torch.int64)
    T = ids.shape[1]
    seg = torch.zeros(1, T, dtype=torch.int64)
    pos = torch.arange(T, dtype=torch.int64)[None]
    lp = torch_decoder.forward(spec, params, ids, pos, seg)["logp"][0]  # [T], lp[t] = log p(ids[t] | ids[<t])
    s = lp[len(prompt):].sum()
    return s / max(len(completion), 1) if average else s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--ref", default=None)
    ap.add_argument("--pairs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--loss", choices=["sigmoid", "hinge", "ipo"], default="sigmoid")
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    dtype = torch.float64 if a.dtype == "float64" else torch.float32
    with open(a.pairs) as f:
        pairs = json.load(f)
    spec, params = torch_decoder.load_model(a.model, dtype)
    ref_spec, ref_params = torch_decoder.load_model(a.ref or a.model, dtype)
    ref_params = {n: t.detach() for n, t in ref_params.items()}
    avg = a.loss == "ipo"
    losses, margins = [], []
    for p in pairs:
        with torch.no_grad():
            rw = seq_logp(ref_spec, ref_params, p["prompt"], p["chosen"], avg)
            rl = seq_logp(ref_spec, ref_params, p["prompt"], p["rejected"], avg)
        lw = seq_logp(spec, params, p["prompt"], p["chosen"], avg)
        ll = seq_logp(spec, params, p["prompt"], p["rejected"], avg)
        h = (lw - rw) - (ll - rl)
        z = a.beta * h
        if a.loss == "sigmoid":
            ls = a.label_smoothing
            losses.append(-(1 - ls) * F.logsigmoid(z) - ls * F.logsigmoid(-z))
        elif a.loss == "hinge":
            losses.append(torch.relu(1 - z))
        else:
            losses.append((h - 1 / (2 * a.beta)) ** 2)
        margins.append(z.detach())
    loss = torch.stack(losses).mean()
    names = sorted(params)
    grads = torch.autograd.grad(loss, [params[n] for n in names], allow_unused=True)
    out = {"loss": loss.detach().reshape(1), "rewards_margin": torch.stack(margins).mean().reshape(1)}
    for n, g in zip(names, grads):
        out["grad." + n] = torch.zeros_like(params[n]) if g is None else g
    safetensors_io.write_file(a.out, out, "F64" if dtype == torch.float64 else "F32",
                              {"format": "pt", "script": "tests/reference/torch_dpo_step.py",
                               "torch": torch.__version__, "loss": a.loss})
    return 0


if __name__ == "__main__":
    sys.exit(main())
