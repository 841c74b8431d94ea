#!/usr/bin/env python3
"""Time a PyTorch model of the same shapes as nag's paper configuration, on the
same machine, for side-by-side comparison with `nag bench` (issue 6).

This is our own PyTorch re-statement of the shapes in docs/reference.md §2 and
§5 (CATE score network, 12 pre-LN blocks, d_model 64, 8 heads, d_ff 128,
readout 768->1536->1536->7; DiGCN meta-predictor with set encoder), not the
original code. Usage:

    python3 scripts/bench_pytorch.py [--threads 2] [--reps 5] [--device cpu|cuda]

Prints one JSON object with medians in seconds, keys matching `nag bench --json`.
"""
import argparse, json, math, statistics, time

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t, dim):
    half = dim // 2
    f = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32, device=t.device) / (half - 1))
    a = t[:, None] * f[None]
    return torch.cat([a.sin(), a.cos()], dim=1)


class MHA(nn.Module):
    def __init__(self, d, h, p):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.h, self.dk, self.drop = h, d // h, nn.Dropout(p)

    def forward(self, x, mask):
        b, n, d = x.shape
        q = self.q(x).view(b, n, self.h, self.dk).transpose(1, 2)
        k = self.k(x).view(b, n, self.h, self.dk).transpose(1, 2)
        v = self.v(x).view(b, n, self.h, self.dk).transpose(1, 2)
        s = q @ k.transpose(-2, -1) / math.sqrt(self.dk)
        s = s.masked_fill(mask.unsqueeze(1) == 0, -1e9)
        a = self.drop(F.softmax(s, -1))
        return self.o((a @ v).transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, d, h, dff, p):
        super().__init__()
        self.ln1, self.ln2, self.out_ln = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.att = MHA(d, h, p)
        self.ff1, self.ff2 = nn.Linear(d, dff), nn.Linear(dff, d)
        self.drop = nn.Dropout(p)

    def forward(self, x, mask):
        x = x + self.drop(self.att(self.ln1(x), mask))
        x = x + self.drop(self.ff2(self.drop(F.relu(self.ff1(self.ln2(x))))))
        return x, self.out_ln(x)


class CATE(nn.Module):
    def __init__(self, n=8, v=7, d=64, h=8, dff=128, layers=12, p=0.1):
        super().__init__()
        self.emb = nn.Linear(v, d)
        pos = torch.arange(n, dtype=torch.float32)[:, None]
        div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
        pe = torch.zeros(n, d)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
        self.register_buffer("pe", pe)
        self.t1, self.t2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.blocks = nn.ModuleList(Block(d, h, dff, p) for _ in range(layers))
        self.final = nn.Sequential(nn.Linear(layers * d, 2 * layers * d), nn.ELU(),
                                   nn.Linear(2 * layers * d, 2 * layers * d), nn.ELU(),
                                   nn.Linear(2 * layers * d, v))
        self.drop, self.d = nn.Dropout(p), d

    def forward(self, x, sigma, mask):
        h = self.drop(self.emb(x) * math.sqrt(self.d)) + self.pe
        h = h + self.t2(F.silu(self.t1(timestep_embedding(sigma, self.d))))[:, None]
        outs = []
        for blk in self.blocks:
            h, o = blk(h, mask)
            outs.append(o)
        return self.final(torch.cat(outs, -1))


class MAB(nn.Module):
    def __init__(self, dq, dk, dv, heads=4):
        super().__init__()
        self.q, self.k, self.v, self.o = nn.Linear(dq, dv), nn.Linear(dk, dv), nn.Linear(dk, dv), nn.Linear(dv, dv)
        self.h, self.dv = heads, dv

    def forward(self, Q, K):
        q, k, v = self.q(Q), self.k(K), self.v(K)
        s = self.dv // self.h
        q_, k_, v_ = (torch.cat(t.split(s, 2), 0) for t in (q, k, v))
        a = torch.softmax(q_ @ k_.transpose(1, 2) / math.sqrt(self.dv), 2)
        o = torch.cat((q_ + a @ v_).split(Q.size(0), 0), 2)
        return o + F.relu(self.o(o))


class SetPool(nn.Module):
    def __init__(self, din, d):
        super().__init__()
        self.s1, self.s2, self.pma = MAB(din, din, d), MAB(d, d, d), MAB(d, d, d)
        self.seed, self.out = nn.Parameter(torch.randn(1, 1, d) * 0.1), nn.Linear(d, d)

    def forward(self, x):
        h = self.s2(*(2 * [self.s1(x, x)]))
        return self.out(self.pma(self.seed.repeat(x.size(0), 1, 1), h)).squeeze(1)


class Predictor(nn.Module):
    def __init__(self, n=8, v=7, hid=144, nz=56, feat=512):
        super().__init__()
        self.w1 = nn.ParameterList([nn.Parameter(torch.randn(i, hid) * 0.1) for i in [v, hid, hid, hid]])
        self.w2 = nn.ParameterList([nn.Parameter(torch.randn(i, hid) * 0.1) for i in [v, hid, hid, hid]])
        self.t1, self.t2 = nn.Linear(hid, 4 * hid), nn.Linear(4 * hid, hid)
        self.fc1 = nn.Linear(hid, 128, bias=False)
        self.intra, self.inter = SetPool(feat, nz), SetPool(nz, nz)
        self.h1, self.h2 = nn.Linear(nz + 128, 32), nn.Linear(32, 1)
        self.drop = nn.Dropout(0.1)

    def forward(self, x, sigma, A, AT, task):
        h = x
        for w1, w2 in zip(self.w1, self.w2):
            h = self.drop((F.relu(A @ h @ w1) + F.relu(AT @ h @ w2)) / 2)
        g = h.mean(1) + self.t2(F.silu(self.t1(timestep_embedding(sigma, 144))))
        a = self.drop(self.fc1(g))
        b = task.size(0)
        protos = self.intra(task.reshape(b * 10, 20, 512)).view(b, 10, -1)  # per item, as the reference
        d = self.inter(protos)
        return self.h2(torch.tanh(self.h1(torch.cat([d, a], 1)))).squeeze(1)


def median_time(fn, reps, sync):
    fn(); sync()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); sync(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    B = a.batch
    adj = torch.zeros(8, 8)
    for i, js in {0: [1, 2, 3], 1: [4, 5], 2: [6], 3: [7], 4: [6], 5: [7], 6: [7]}.items():
        adj[i, js] = 1
    mask = adj.expand(B, 8, 8).to(dev)
    net = CATE().to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=2e-5)
    ema = [p.detach().clone() for p in net.parameters()]
    x = torch.randn(B, 8, 7, device=dev)
    sig = torch.rand(B, device=dev) * 4.9 + 0.1
    res = {"device": str(dev), "threads": a.threads, "batch": B,
           "score_params": sum(p.numel() for p in net.parameters())}

    net.eval()
    with torch.no_grad():
        res["forward_s"] = median_time(lambda: net(x, sig, mask), a.reps, sync)

    def train_step():
        net.train()
        z = torch.randn_like(x)
        s = net(x + sig[:, None, None] * z, sig, mask)
        loss = ((s * sig[:, None, None] + z) ** 2).mean()
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema, net.parameters()):
                e.mul_(0.9999).add_(p, alpha=1e-4)
    res["train_step_s"] = median_time(train_step, a.reps, sync)

    net.eval()
    pred = Predictor().to(dev).eval()
    A = (adj + torch.eye(8)); A = A / A.sum(1, keepdim=True); AT = A.t() / A.t().sum(1, keepdim=True)
    A, AT = A.to(dev), AT.to(dev)
    task = torch.randn(1, 200, 512, device=dev)

    def pc_step(guided):
        xx = x.clone()
        for _ in range(2):  # corrector + predictor = 2 score evaluations
            with torch.no_grad():
                s = net(xx, sig, mask)
            if guided:
                xg = xx.detach().requires_grad_(True)
                y = pred(xg, sig, A, AT, task.expand(B, 200, 512))
                g, = torch.autograd.grad(y.sum(), xg)
                s = s + 10000 * g
            xx = xx + 0.01 * s + 0.01 * torch.randn_like(xx)
        return xx
    res["pc_step_s"] = median_time(lambda: pc_step(False), a.reps, sync)
    res["guided_pc_step_s"] = median_time(lambda: pc_step(True), a.reps, sync)

    pred.train()
    popt = torch.optim.Adam(pred.parameters(), lr=1e-3)
    y = torch.randn(B, device=dev)
    taskb = task.expand(B, 200, 512).contiguous()

    def pred_step():
        out = pred(x, sig, A, AT, taskb)
        loss = F.mse_loss(out, y)
        popt.zero_grad(); loss.backward(); popt.step()
    res["predictor_train_step_s"] = median_time(pred_step, a.reps, sync)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
