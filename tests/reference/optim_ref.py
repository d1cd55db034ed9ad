#!/usr/bin/python3
"""Reference for src/train's optimisers and clipping: torch.optim.AdamW / SGD and
torch.nn.utils.clip_grad_norm_ on the data of a JSON job; writes the results as JSON.

  /usr/bin/python3 tests/reference/optim_ref.py job.json out.json

job: {"params": [...], "grads": [[...] per step], "decay": [0/1 per element], "lr": [per step],
      "adamw": {"beta1", "beta2", "eps", "weight_decay"}, "sgd_weight_decay": x, "max_norm": x}
out: {"adamw": [...], "sgd": [...], "norm": x, "clipped": [...]}
"""
import json
import sys

import torch

torch.set_num_threads(1)
job = json.load(open(sys.argv[1]))
p0 = torch.tensor(job["params"], dtype=torch.float32)
decay = torch.tensor(job["decay"], dtype=torch.bool)


def run(make_opt):
    # Two parameter groups, as users configure decay / no-decay.
    pd = torch.nn.Parameter(p0[decay].clone())
    pn = torch.nn.Parameter(p0[~decay].clone())
    opt = make_opt(pd, pn)
    for g, lr in zip(job["grads"], job["lr"]):
        g = torch.tensor(g, dtype=torch.float32)
        pd.grad, pn.grad = g[decay].clone(), g[~decay].clone()
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
    out = torch.empty_like(p0)
    out[decay], out[~decay] = pd.detach(), pn.detach()
    return out.tolist()


a = job["adamw"]
adamw = run(lambda pd, pn: torch.optim.AdamW(
    [{"params": [pd], "weight_decay": a["weight_decay"]}, {"params": [pn], "weight_decay": 0.0}],
    lr=1.0, betas=(a["beta1"], a["beta2"]), eps=a["eps"], foreach=False))
wd = job["sgd_weight_decay"]
sgd = run(lambda pd, pn: torch.optim.SGD(
    [{"params": [pd], "weight_decay": wd}, {"params": [pn], "weight_decay": 0.0}], lr=1.0))
g = torch.nn.Parameter(torch.zeros(len(job["grads"][0])))
g.grad = torch.tensor(job["grads"][0], dtype=torch.float32)
norm = torch.nn.utils.clip_grad_norm_([g], job["max_norm"]).item()
json.dump({"adamw": adamw, "sgd": sgd, "norm": norm, "clipped": g.grad.tolist()}, open(sys.argv[2], "w"))
