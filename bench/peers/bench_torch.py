#!/usr/bin/env python3
"""The PyTorch peer of bench/bench_layers.cpp: the same ops at the same shapes
and batches, forward and backward (input and parameter gradients), timed the
same way (CUDA events on the GPU, perf_counter on the CPU, after warm-up).
Prints JSON: {"benchmarks": [{"name": "D.conv2/cpu/B16/fwd", "seconds": ...}]}.
Run with Debian's /usr/bin/python3 (python3-torch)."""
import argparse
import json
import os
import time

import torch
import torch.nn.functional as F


def specs(B, ch=128, K=5):
    """ch: base channels (the paper's 128), as bench_layers' COVERGAN_BENCH_BASE."""
    out = [("G.fc", [(B, 100), (16 * ch * 8, 100), (16 * ch * 8,)], lambda x, w, b: F.linear(x, w, b))]
    for i, (C, OC, H) in enumerate([(8 * ch, 4 * ch, 4), (4 * ch, 2 * ch, 8), (2 * ch, ch, 16), (ch, 3, 32)]):
        out.append((f"G.deconv{i+1}", [(B, C, H, H), (C, OC, 4, 4), (OC,)],
                    lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1)))
    for i, (C, OC, H) in enumerate([(3, ch, 64), (ch, 2 * ch, 32), (2 * ch, 4 * ch, 16), (4 * ch, 8 * ch, 8)]):
        out.append((f"D.conv{i+1}", [(B, C, H, H), (OC, C, 4, 4), (OC,)],
                    lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1)))
    feat = 8 * ch * 16  # D's last feature map, flattened
    out.append(("D.heads", [(B, feat), (1 + K + 2, feat), (1 + K + 2,)], lambda x, w, b: F.linear(x, w, b)))

    def bn(x, g, b):
        rm = torch.zeros(x.shape[1], device=x.device)
        rv = torch.ones(x.shape[1], device=x.device)
        return F.batch_norm(x, rm, rv, g, b, training=True, momentum=0.1, eps=1e-5)
    out.append(("G.bn1", [(B, 4 * ch, 8, 8), (4 * ch,), (4 * ch,)], bn))
    out.append(("D.leaky_relu1", [(B, ch, 32, 32)], lambda x: F.leaky_relu(x, 0.2)))
    out.append(("G.tanh", [(B, 3, 64, 64)], lambda x: torch.tanh(x)))
    return out


def timed(fn, device, min_time=0.5, min_iters=3):
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    fn()  # warm-up
    sync()
    total, n = 0.0, 0
    while total < min_time or n < min_iters:
        if device == "cuda":
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record(); fn(); e.record(); e.synchronize()
            total += s.elapsed_time(e) / 1e3
        else:
            t0 = time.perf_counter(); fn(); total += time.perf_counter() - t0
        n += 1
    return total / n


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
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-cpu", type=int, default=int(os.environ.get("COVERGAN_BENCH_BATCH_CPU", 16)))
    ap.add_argument("--batch-cuda", type=int, default=int(os.environ.get("COVERGAN_BENCH_BATCH_CUDA", 128)))
    ap.add_argument("--base", type=int, default=int(os.environ.get("COVERGAN_BENCH_BASE", 128)),
                    help="base channels (the paper's 128), as bench_layers")
    ap.add_argument("--filter", default="")
    ap.add_argument("--min-time", type=float, default=0.5)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    strict_fp32()
    devs = [("cpu", args.batch_cpu)] + ([("cuda", args.batch_cuda)] if torch.cuda.is_available() else [])
    results = []
    for dev, B in devs:
        g = torch.Generator().manual_seed(1)
        for name, shapes, fn in specs(B, args.base):
            base = f"{name}/{dev}/B{B}"
            if args.filter and args.filter not in base:
                continue
            ins = [(torch.randn(s, generator=g) * 0.5).to(dev).requires_grad_(True) for s in shapes]
            with torch.no_grad():
                fwd = timed(lambda: fn(*ins), dev, args.min_time)
            out = fn(*ins)
            seed = torch.randn(out.shape, generator=g).to(dev)

            def bwd():
                o = fn(*ins)
                torch.autograd.grad(o, ins, seed)
            # backward alone = (forward+backward) - forward, as our tape times the sweep alone
            both = timed(bwd, dev, args.min_time)
            results.append({"name": base + "/fwd", "seconds": fwd})
            results.append({"name": base + "/bwd", "seconds": max(both - fwd, 1e-9)})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "base": args.base,
                      "benchmarks": results},
                     indent=1))


if __name__ == "__main__":
    main()
