"""PyTorch eager side of scripts/bench: the same training step as sgan's (critic step with WGAN-GP
and R1, generator step, w_avg and EMA updates) on the same weights and batch, timed the same way.

usage: bench_torch.py CKPT BATCH_PT WARMUP STEPS G_BATCH THREADS
CKPT is the checkpoint `sgan bench --weights` wrote (its config and state dicts); BATCH_PT its batch.
"""
import json
import math
import os
import resource
import statistics
import sys
import time
import tomllib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_ref import Critic, Generator  # noqa: E402


def main():
    ckpt, batch_pt, warmup, steps, g_batch, threads = sys.argv[1:7]
    warmup, steps, g_batch, threads = int(warmup), int(steps), int(g_batch), int(threads)
    torch.set_num_threads(threads)
    ck = torch.load(ckpt)
    cfg = tomllib.loads(ck["config"])
    m, tr = cfg["model"], cfg["train"]
    mc = dict(m)
    mc["num_classes"] = 0
    G, D, G_ema = Generator(mc), Critic(mc), Generator(mc)
    G.load_state_dict(ck["generator"])
    D.load_state_dict(ck["critic"])
    G_ema.load_state_dict(ck.get("generator_ema", ck["generator"]))
    for p in G_ema.parameters():
        p.requires_grad_(False)
    real = torch.load(batch_pt)["real"]
    n = real.shape[0]
    lr = tr["schedule"][0]["lr"]
    betas = (tr["beta1"], tr["beta2"])
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas, eps=tr["eps"])
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas, eps=tr["eps"])
    ema_beta = 0.5 ** (n / (tr["ema_kimg"] * 1000)) if tr["ema"] and tr["ema_kimg"] > 0 else 0
    gamma, lam = tr["r1_gamma"], tr["gp_lambda"]

    def step():
        with torch.no_grad():
            z = torch.randn(n, m["z_dim"])
            ws = G.mapping(z)[:, None].repeat(1, G.num_ws, 1)
            fake = G.synthesis(ws, "random")
        r = real.detach().requires_grad_(True)
        d_real, d_fake = D(r), D(fake)
        loss = d_fake.mean() - d_real.mean()
        alpha = torch.rand(n, 1, 1, 1)
        inter = torch.lerp(real, fake, alpha).requires_grad_(True)
        gi, = torch.autograd.grad(D(inter).sum(), [inter], create_graph=True)
        loss = loss + lam * ((gi.square().sum([1, 2, 3]) + 1e-12).sqrt() - 1).square().mean()
        if gamma > 0:
            gr, = torch.autograd.grad(d_real.sum(), [r], create_graph=True)
            loss = loss + gamma / 2 * gr.square().sum([1, 2, 3]).mean()
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()

        for p in D.parameters():
            p.requires_grad_(False)
        z = torch.randn(n, m["z_dim"])
        w = G.mapping(z)
        img = G.synthesis(w[:, None].repeat(1, G.num_ws, 1), "random")
        loss_g = -D(img).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        for p in D.parameters():
            p.requires_grad_(True)
        with torch.no_grad():
            G.mapping.w_avg.copy_(w.detach().mean(0).lerp(G.mapping.w_avg, 0.995))
            for pe, p in zip(G_ema.state_dict().values(), G.state_dict().values()):
                pe.lerp_(p, 1 - ema_beta)

    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        step()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000)
    gms = []
    G.eval()  # NVlabs renders with fused modulated convs in eval mode
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        with torch.no_grad():
            G(torch.randn(g_batch, m["z_dim"]), None, 1.0, "random")
        if i >= warmup:
            gms.append((time.perf_counter() - t0) * 1000)
    med = statistics.median(times)
    print(json.dumps({
        "step_ms": times, "step_median_ms": med, "images_per_s": n / (med / 1000),
        "g_forward_median_ms": statistics.median(gms), "g_forward_batch": g_batch, "batch": n,
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, indent=2))


if __name__ == "__main__":
    main()
