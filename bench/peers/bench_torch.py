#!/usr/bin/env python3
"""The PyTorch peer of bench/bench_layers.cpp: the same ops at the same shapes
and batches, forward and backward (input and parameter gradients), timed the
same way (CUDA events on the GPU, perf_counter on the CPU, after warm-up).
Prints JSON: {"benchmarks": [{"name": "D.conv2/cpu/64x64/B64/fwd", "seconds": ...}]}.
Run with Debian's /usr/bin/python3 (python3-torch)."""
import argparse
import json
import os
import re
import time

import torch
import torch.nn.functional as F


def n_layers(S):
    return {16: 2, 32: 3, 64: 4, 128: 5}[S]


# Ops whose input the model never needs a gradient for (G's projection takes the latent):
# their backward is the parameters' alone, as bench_layers times it.
NO_INPUT_GRAD = {"G.fc"}


def specs(B, S=64, ch=32, K=5, z=100, codes=2, slope=0.2):
    """The ops of one AC-GAN iteration at the model's shapes, named as bench_layers names them."""
    L = n_layers(S)
    c0 = ch << (L - 1)

    def bn_act(sl):
        def f(x, g, b):
            rm = torch.zeros(x.shape[1], device=x.device)
            rv = torch.ones(x.shape[1], device=x.device)
            y = F.batch_norm(x, rm, rv, g, b, training=True, momentum=0.1, eps=1e-5)
            return F.relu(y) if sl == 0 else F.leaky_relu(y, sl)
        return f
    out = [("G.fc", [(B, z), (c0 * 16, z)], lambda x, w: F.linear(x, w)),
           ("G.bn0", [(B, c0, 4, 4), (c0,), (c0,)], bn_act(0))]
    for i in range(L):
        C, H = c0 >> i, 4 << i
        OC = C // 2 if i + 1 < L else 3
        shapes = [(B, C, H, H), (C, OC, 4, 4)] + ([(OC,)] if i + 1 == L else [])
        out.append((f"G.deconv{i+1}", shapes, lambda x, w, b=None: F.conv_transpose2d(x, w, b, stride=2, padding=1)))
        if i + 1 < L:
            out.append((f"G.bn{i+1}", [(B, OC, 2 * H, 2 * H), (OC,), (OC,)], bn_act(0)))
    out.append(("G.tanh", [(B, 3, S, S)], lambda x: torch.tanh(x)))
    for i in range(L):
        C = 3 if i == 0 else ch << (i - 1)
        OC, H = ch << i, S >> i
        if i == 0:  # conv1 with its bias and LeakyReLU, one row as covergan fuses them
            out.append(("D.conv1", [(B, C, H, H), (OC, C, 4, 4), (OC,)],
                        lambda x, w, b: F.leaky_relu(F.conv2d(x, w, b, stride=2, padding=1), slope)))
        else:
            out.append((f"D.conv{i+1}", [(B, C, H, H), (OC, C, 4, 4)],
                        lambda x, w: F.conv2d(x, w, None, stride=2, padding=1)))
            out.append((f"D.bn{i+1}", [(B, OC, H // 2, H // 2), (OC,), (OC,)], bn_act(slope)))
    feat, heads = c0 * 16, 1 + K + codes
    out.append(("D.heads", [(B, feat), (heads, feat), (heads,)], lambda x, w, b: F.linear(x, w, b)))

    def d_loss(src, cls, code):
        y = torch.arange(src.shape[0], device=src.device) % cls.shape[1]
        ones, zeros = torch.ones_like(src), torch.zeros_like(src)
        return (F.binary_cross_entropy_with_logits(src, ones) + F.binary_cross_entropy_with_logits(src, zeros) +
                F.cross_entropy(cls, y) + F.cross_entropy(cls, y) + F.mse_loss(code, torch.zeros_like(code)))
    out.append(("D.loss", [(B, 1), (B, K), (B, codes)], d_loss))
    return out


def param_counts(S=64, ch=32, K=5, z=100, codes=2):
    """Parameters of G and D (the flat buffers Adam updates), as gan/generator.cpp and discriminator.cpp."""
    L = n_layers(S)
    c0 = ch << (L - 1)
    g = c0 * 16 * z + 2 * c0
    for i in range(L):
        C = c0 >> i
        OC = C // 2 if i + 1 < L else 3
        g += C * OC * 16 + (2 * OC if i + 1 < L else OC)
    d = 0
    for i in range(L):
        C = 3 if i == 0 else ch << (i - 1)
        OC = ch << i
        d += OC * C * 16 + (OC if i == 0 else 2 * OC)
    d += (1 + K + codes) * (c0 * 16 + 1)
    return g, d


def timed(fn, device, min_time=0.5, min_iters=3, prep=lambda: None):
    """The median time of fn(prep()) over calls (at least min_iters, min_time in all), the
    untimed prep() run before each: a backward times its autograd pass alone, its forward
    (the tape it walks) in prep, as bench_layers times our tape's backward alone."""
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    fn(prep())  # warm-up
    sync()
    times = []
    while sum(times) < min_time or len(times) < min_iters:
        arg = prep()
        sync()
        if device == "cuda":
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record(); fn(arg); e.record(); e.synchronize()
            times.append(s.elapsed_time(e) / 1e3)
        else:
            t0 = time.perf_counter(); fn(arg); times.append(time.perf_counter() - t0)
    # The median call: a mean let a few slow calls (page faults of a fresh output) make an
    # op's forward alone slower than its forward and backward together.
    return sorted(times)[len(times) // 2]


def strict_fp32():
    """No TF32 in matrix products or convolutions, as covergan's benchmarks (strict FP32).
    PyTorch >= 2.9 sets this with fp32_precision and deprecates allow_tf32; older ones
    (Debian's) have only allow_tf32, and raise AssertionError, not AttributeError, for
    the unknown name, so hasattr() cannot ask."""
    try:
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        torch.backends.cudnn.conv.fp32_precision = "ieee"
    except (AttributeError, AssertionError):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def main():
    ap = argparse.ArgumentParser(description="The PyTorch peer of bench_layers: same ops, shapes and names.")
    ap.add_argument("--size", default="32,64", help="image sizes, as bench_layers --size")
    ap.add_argument("--base", type=int, default=32, help="base channels, as bench_layers --base")
    ap.add_argument("--batch", type=int, default=64, help="batch, as bench_layers --batch")
    ap.add_argument("--filter", default="")
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: every CPU)")
    ap.add_argument("--omp", default="default",
                    help="the name of the OpenMP setting this process runs under, for the record (bench-compare "
                         "--layers runs one process per setting of acgan_torch.py's OMP_SETTINGS)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    strict_fp32()
    devs = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    B = args.batch
    results = []
    for S in [int(x) for x in args.size.split(",")]:
        for dev in devs:
            g = torch.Generator().manual_seed(1)
            for name, shapes, fn in specs(B, S, args.base):
                base = f"{name}/{dev}/{S}x{S}/B{B}"
                if args.filter and not re.search(args.filter, base):
                    continue
                ins = [(torch.randn(s, generator=g) * 0.5).to(dev).requires_grad_(i > 0 or name not in NO_INPUT_GRAD)
                       for i, s in enumerate(shapes)]
                wrt = [t for t in ins if t.requires_grad]
                with torch.no_grad():
                    fwd = timed(lambda _: fn(*ins), dev, args.min_time)
                out = fn(*ins)
                seed = torch.randn(out.shape, generator=g).to(dev)
                # the backward alone, each call's forward untimed before it (bench_layers
                # times our tape's backward alone; (fwd+bwd) - fwd came out <= 0 for ops whose
                # no_grad forward PyTorch runs slower than its training one, e.g. batch norm)
                bwd = timed(lambda o: torch.autograd.grad(o, wrt, seed), dev, args.min_time, prep=lambda: fn(*ins))
                results.append({"name": base + "/fwd", "seconds": fwd})
                results.append({"name": base + "/bwd", "seconds": bwd, "grads": len(wrt)})  # tensors differentiated
            for tag, n in zip(("G.adam", "D.adam"), param_counts(S, args.base)):
                base = f"{tag}/{dev}/{S}x{S}/B{B}"
                if args.filter and not re.search(args.filter, base):
                    continue
                p = torch.zeros(n, device=dev, requires_grad=True)
                p.grad = torch.full_like(p, 1e-3)
                opt = torch.optim.Adam([p], lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
                results.append({"name": base + "/step", "seconds": timed(lambda _: opt.step(), dev, args.min_time)})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "omp": args.omp, "base": args.base,
                      "batch": B, "benchmarks": results}, indent=1))


if __name__ == "__main__":
    main()
