#!/usr/bin/env python3
"""The covergan AC-GAN in PyTorch: the same generator, discriminator, losses and
iteration as gan/ (docs/DESIGN.md section 1), with the same parameter names, so it
loads covergan's safetensors checkpoints. It is the peer for parity and speed.

  parity IN OUT        run the iterations described in IN (weights, inputs and
                       settings written by tests/gan/test_parity.cpp) and write
                       every loss term, gradient, updated weight and buffer to OUT
  generate --ckpt F    generate from a covergan checkpoint (PNG grid, or the raw
                       images of given inputs as safetensors)
  bench                time training iterations (images/s) in one precision (fp32, tf32,
                       bf16 autocast), eager, compiled and compiled with CUDA graphs

safetensors are read and written by peer_io.py (json + numpy).
Run with Debian's /usr/bin/python3 (python3-torch) or any PyTorch >= 1.13."""
import argparse
import contextlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from peer_io import read_safetensors, write_replacing, write_safetensors

# ---- the model --------------------------------------------------------------


def n_layers(size):
    return int(round(math.log2(size))) - 2


class Generator(nn.Module):
    """Linear (no bias) -> (C0,4,4), BN, ReLU; transposed convs halving the channels; tanh."""

    def __init__(self, m):
        super().__init__()
        L, self.c0 = n_layers(m["image_size"]), m["base_channels"] << (n_layers(m["image_size"]) - 1)
        eps, mom = m["bn_eps"], m["bn_momentum"]
        self.L = L
        self.fc = nn.Linear(m["z_dim"], self.c0 * 16, bias=False)
        self.bn0 = nn.BatchNorm2d(self.c0, eps=eps, momentum=mom)
        for i in range(L):
            cin = self.c0 >> i
            cout = cin // 2 if i + 1 < L else 3
            setattr(self, f"deconv{i + 1}", nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=(i + 1 == L)))
            if i + 1 < L:
                setattr(self, f"bn{i + 1}", nn.BatchNorm2d(cout, eps=eps, momentum=mom))

    def forward(self, z, mode="train"):
        h = self.fc(z).view(z.shape[0], self.c0, 4, 4)
        h = F.relu(near_kink(bn_apply(self.bn0, h, mode)))
        for i in range(self.L):
            h = getattr(self, f"deconv{i + 1}")(h)
            h = F.relu(near_kink(bn_apply(getattr(self, f"bn{i + 1}"), h, mode))) if i + 1 < self.L else torch.tanh(h)
        return h


class Discriminator(nn.Module):
    """Convs (the first with a bias and no BN), LeakyReLU, then three Linear heads."""

    def __init__(self, m):
        super().__init__()
        # covergan's dropout masks come from its own Philox streams, which torch's generator
        # cannot reproduce: a parity run compares the model without dropout.
        if m.get("d_dropout", 0) > 0:
            sys.exit("acgan_torch.py: d_dropout > 0 has random masks PyTorch cannot match; "
                     "compare with d_dropout 0 (the default)")
        L = n_layers(m["image_size"])
        self.L, self.slope = L, m["leaky_slope"]
        eps, mom, base = m["bn_eps"], m["bn_momentum"], m["base_channels"]
        for i in range(L):
            cin = 3 if i == 0 else base << (i - 1)
            setattr(self, f"conv{i + 1}", nn.Conv2d(cin, base << i, 4, 2, 1, bias=(i == 0)))
            if i > 0:
                setattr(self, f"bn{i + 1}", nn.BatchNorm2d(base << i, eps=eps, momentum=mom))
        feat = (base << (L - 1)) * 16
        self.fc_src = nn.Linear(feat, 1)
        self.fc_cls = nn.Linear(feat, m["num_genres"])
        self.fc_code = nn.Linear(feat, m["n_codes"]) if m["n_codes"] > 0 else None

    def forward(self, x, mode="train", halves=1):
        """halves 2: x is the real and the generated batch joined; the convolutions run on
        both at once, each half's batch norm apart (covergan's Discriminator::forward_pair:
        the same values as two calls); returns each half's three heads."""
        h = x
        for i in range(self.L):
            h = getattr(self, f"conv{i + 1}")(h)
            if i > 0:
                bn = getattr(self, f"bn{i + 1}")
                h = bn_apply(bn, h, mode) if halves == 1 else torch.cat([bn_apply(bn, p, mode) for p in h.chunk(halves)])
            h = F.leaky_relu(near_kink(h), self.slope)
        feats = h.flatten(1).chunk(halves)
        outs = [(self.fc_src(f), self.fc_cls(f), (self.fc_code(f) if self.fc_code is not None else None)) for f in feats]
        return outs[0] if halves == 1 else outs


# Parity counts the pre-activations so close to the ReLU / LeakyReLU kink at 0 that
# float32 rounding in another engine may put them on the other side (within 4 ulps
# of the tensor's largest magnitude): the test widens its tolerance when there are any.
KINKS = {"count": None}


def near_kink(h):
    if KINKS["count"] is not None:
        with torch.no_grad():
            tol = 4 * torch.finfo(h.dtype).eps * h.abs().max()
            KINKS["count"] += int((h.abs() <= tol).sum())
    return h


def bn_apply(bn, x, mode):
    """train: batch stats, running ones updated; batch: batch stats only; eval: running stats."""
    if mode == "batch":
        return F.batch_norm(x, None, None, bn.weight, bn.bias, True, 0.0, bn.eps)
    return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, mode == "train", bn.momentum, bn.eps)


class ACGAN(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.G, self.D = Generator(m), Discriminator(m)


def load_weights(model, tensors, device, need_d=True):
    """Copies covergan's tensors into the model; every model tensor except BatchNorm's
    num_batches_tracked (which covergan does not keep) must be present with its shape."""
    sd = model.state_dict()
    for name, t in sd.items():
        if name.endswith("num_batches_tracked") or (not need_d and name.startswith("D.")):
            continue
        if name not in tensors:
            raise SystemExit(f"acgan_torch: the checkpoint lacks {name}")
        src = torch.from_numpy(np.asarray(tensors[name], dtype=np.float32))
        if tuple(src.shape) != tuple(t.shape):
            raise SystemExit(f"acgan_torch: {name} is {tuple(src.shape)} in the checkpoint, {tuple(t.shape)} here")
        with torch.no_grad():
            t.copy_(src.to(device))

# ---- one iteration ----------------------------------------------------------


def pair_d_batches():
    """D's two batches as one of 2B, as covergan joins them below 64 images
    (Discriminator::forward_pair), only with COVERGAN_D_PAIR=on: here it cost PyTorch's D
    step 44 -> 58 ms at 32x32 base 32 batch 32 (the cat and the halves' copies) and changed
    nothing at the paper's width, batch 16, so the peer keeps its faster two calls."""
    return os.environ.get("COVERGAN_D_PAIR", "") == "on"


def d_losses(model, real, real_labels, fake, fake_labels, codes, genre_terms, lam):
    """D's loss terms on the real batch and on G's output, read detached (no gradient to G)."""
    if pair_d_batches():
        r, f = model.D(torch.cat([real, fake.detach()]), "train", halves=2)
    else:
        r = model.D(real, "train")
        f = model.D(fake.detach(), "train")
    ones, zeros = torch.ones_like(r[0]), torch.zeros_like(f[0])
    terms = {"d_src_real": F.binary_cross_entropy_with_logits(r[0], ones),
             "d_src_fake": F.binary_cross_entropy_with_logits(f[0], zeros)}
    if genre_terms:
        terms["d_cls_real"] = F.cross_entropy(r[1], real_labels)
        terms["d_cls_fake"] = F.cross_entropy(f[1], fake_labels)
    total = terms["d_src_real"] + terms["d_src_fake"]
    if genre_terms:
        total = total + terms["d_cls_real"] + terms["d_cls_fake"]
    if f[2] is not None:
        terms["d_code"] = F.mse_loss(f[2], codes)
        total = total + lam * terms["d_code"]
    terms["d_total"] = total
    return terms


def g_losses(model, fake, fake_labels, codes, genre_terms, lam):
    """G's loss terms through D (its new weights) on the same G output the D step read:
    G runs forward once per iteration, as covergan's iteration does."""
    f = model.D(fake, "train")
    terms = {"g_src": F.binary_cross_entropy_with_logits(f[0], torch.ones_like(f[0]))}
    total = terms["g_src"]
    if genre_terms:
        terms["g_cls"] = F.cross_entropy(f[1], fake_labels)
        total = total + terms["g_cls"]
    if f[2] is not None:
        terms["g_code"] = F.mse_loss(f[2], codes)
        total = total + lam * terms["g_code"]
    terms["g_total"] = total
    return terms


def grad_numpy(p):
    """A parameter's gradient; zeros where none flowed (D's genre head in pretraining),
    as covergan's flat gradient buffer holds."""
    if p.grad is None:
        return np.zeros(tuple(p.shape), np.float32)
    return p.grad.detach().cpu().numpy().copy()


def write_moments(out, prefix, model, opt_g, opt_d):
    """Adam's moments per parameter (zeros where a parameter never had a gradient)."""
    for which, net, opt in (("G", model.G, opt_g), ("D", model.D, opt_d)):
        for n, p in net.named_parameters():
            st = opt.state.get(p, {})
            for key, name in (("exp_avg", "m"), ("exp_avg_sq", "v")):
                t = st.get(key)
                out[f"{prefix}adam.{which}.{name}.{which}.{n}"] = (
                    t.detach().cpu().numpy().copy() if t is not None else np.zeros(tuple(p.shape), np.float32))


def iteration(model, opt_g, opt_d, batch, genre_terms, lam, out=None, prefix=""):
    real, real_labels, z, fake_labels, codes = batch
    fake = model.G(z, "train")
    opt_d.zero_grad(set_to_none=False)
    d_terms = d_losses(model, real, real_labels, fake, fake_labels, codes, genre_terms, lam)
    d_terms["d_total"].backward()
    if out is not None:
        out[prefix + "fake"] = fake.detach().cpu().numpy()
        for n, p in model.D.named_parameters():
            out[f"{prefix}grad.D.{n}"] = grad_numpy(p)
    opt_d.step()
    opt_g.zero_grad(set_to_none=False)
    for p in model.D.parameters():
        p.requires_grad_(False)
    g_terms = g_losses(model, fake, fake_labels, codes, genre_terms, lam)
    g_terms["g_total"].backward()
    for p in model.D.parameters():
        p.requires_grad_(True)
    if out is not None:
        for n, p in model.G.named_parameters():
            out[f"{prefix}grad.G.{n}"] = grad_numpy(p)
    opt_g.step()
    if out is not None:
        for k, v in {**d_terms, **g_terms}.items():
            out[f"{prefix}loss.{k}"] = np.array([v.item()], dtype=np.float32)
        for n, t in model.state_dict().items():
            if not n.endswith("num_batches_tracked"):
                kind = "buffer" if ("running_" in n) else "param"
                out[f"{prefix}{kind}.{n}"] = t.detach().cpu().numpy().copy()
        write_moments(out, prefix, model, opt_g, opt_d)
    return d_terms, g_terms


def load_state(model, opt_g, opt_d, tensors, prefix, steps):
    """Weights, buffers and Adam moments as the engine had them, Adam's step count set."""
    load_weights(model, {n[len(prefix) + 6:]: v for n, v in tensors.items() if n.startswith(prefix + "state.")}, "cpu")
    for which, net, opt in (("G", model.G, opt_g), ("D", model.D, opt_d)):
        for n, p in net.named_parameters():
            key = f"{prefix}adam.{which}.%s.{which}.{n}"
            opt.state[p] = {"step": torch.tensor(float(steps)),
                            "exp_avg": torch.from_numpy(tensors[key % "m"].copy()),
                            "exp_avg_sq": torch.from_numpy(tensors[key % "v"].copy())}


def cmd_parity(args):
    tensors, meta = read_safetensors(args.input)
    m = json.loads(meta["model"])
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    model = ACGAN(m)
    load_weights(model, tensors, "cpu")
    model.train()
    betas = (float(meta["beta1"]), float(meta["beta2"]))
    opt_g = torch.optim.Adam(model.G.parameters(), lr=float(meta["lr_g"]), betas=betas, eps=float(meta["eps"]))
    opt_d = torch.optim.Adam(model.D.parameters(), lr=float(meta["lr_d"]), betas=betas, eps=float(meta["eps"]))
    genre_terms, lam = meta["genre_terms"] == "1", float(meta["lambda_code"])
    out = {}
    for k in range(int(meta["iters"])):
        p = f"it{k}."
        if k > 0:  # start from the engine's state after iteration k-1 (see the test)
            load_state(model, opt_g, opt_d, tensors, p, k)
        codes = torch.from_numpy(tensors[p + "codes"]) if (p + "codes") in tensors else None
        batch = (torch.from_numpy(tensors[p + "real"]), torch.from_numpy(tensors[p + "real_labels"]).long(),
                 torch.from_numpy(tensors[p + "z"]), torch.from_numpy(tensors[p + "fake_labels"]).long(), codes)
        KINKS["count"] = 0
        iteration(model, opt_g, opt_d, batch, genre_terms, lam, out, p)
        out[p + "kinks"] = np.array([KINKS["count"]], dtype=np.float64)
        KINKS["count"] = None
    write_safetensors(args.output, out, {"torch": torch.__version__})
    print(f"acgan_torch parity: {len(out)} tensors written to {args.output}")

# ---- generation -------------------------------------------------------------


def model_from_checkpoint(path, device):
    tensors, meta = read_safetensors(path)
    if meta.get("format") != "covergan.acgan":
        raise SystemExit(f"acgan_torch: {path} is not a covergan checkpoint")
    cfg = json.loads(meta["config"])
    model = ACGAN(cfg["model"]).to(device)
    load_weights(model, tensors, device, need_d="D.fc_src.weight" in tensors)
    return model, cfg


def save_grid_png(path, images, cols):
    from PIL import Image
    x = ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    n, h, w, _ = x.shape
    rows = (n + cols - 1) // cols
    canvas = np.full((rows * (h + 2) + 2, cols * (w + 2) + 2, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        canvas[2 + r * (h + 2):2 + r * (h + 2) + h, 2 + c * (w + 2):2 + c * (w + 2) + w] = x[i]
    write_replacing(path, lambda tmp: Image.fromarray(canvas).save(tmp, format="PNG"))


def cmd_generate(args):
    device = pick_device(args.device)
    model, cfg = model_from_checkpoint(args.ckpt, device)
    mode = "eval" if args.bn_eval else "batch"
    if args.input:
        t, _ = read_safetensors(args.input)
        z = torch.from_numpy(t["z"]).to(device)
        with torch.no_grad():
            images = model.G(z, mode)
        write_safetensors(args.output, {"images": images.cpu().numpy()})
        print(f"acgan_torch: {images.shape[0]} images written to {args.output}")
        return
    m, genres = cfg["model"], cfg["genres"]
    K, C = m["num_genres"], m["n_codes"]
    if args.genre not in genres:
        raise SystemExit(f"acgan_torch: unknown genre {args.genre!r}; the checkpoint knows {', '.join(genres)}")
    g = torch.Generator().manual_seed(args.seed)
    z = torch.rand(args.n, m["z_dim"], generator=g) * 2 - 1
    z[:, :K] = 0
    z[:, genres.index(args.genre)] = 1
    with torch.no_grad():
        images = model.G(z.to(device), mode)
    save_grid_png(args.output, images, max(1, int(math.ceil(math.sqrt(args.n)))))
    print(f"acgan_torch: {args.n} {args.genre} images in {args.output}")

# ---- speed ------------------------------------------------------------------


def pick_device(spec):
    if spec == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return spec


PRECISIONS = ("fp32", "tf32", "bf16")
MODES = ("eager", "compile", "reduce-overhead")


def set_precision(precision):
    """fp32: IEEE FP32 everywhere (no TF32); tf32: TF32 tensor cores for convolutions and
    matrix products (PyTorch's default for convolutions); bf16: the same TF32 setting for
    whatever autocast leaves in FP32, with bf16 autocast around the forward passes and
    losses (weights, gradients and Adam stay FP32), as covergan's three modes. PyTorch >= 2.9
    sets this with fp32_precision and deprecates allow_tf32; older ones have only
    allow_tf32 and raise AssertionError, not AttributeError, for the unknown name."""
    tf32 = precision != "fp32"
    try:
        torch.backends.cuda.matmul.fp32_precision = "tf32" if tf32 else "ieee"
        torch.backends.cudnn.conv.fp32_precision = "tf32" if tf32 else "ieee"
    except (AttributeError, AssertionError):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32


def autocast_for(device, precision):
    if precision == "bf16":
        return torch.autocast(device_type=device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def timed_iteration(model, opt_g, opt_d, batch, sync, amp):
    """One iteration as iteration() runs it, timed in its two halves (seconds): the D step
    (zero_grad, G forward, D on real and fake, backward, Adam) and the G step (D on the same
    G output, backward through D and G, Adam). amp() is the
    autocast context of the precision (forward passes and losses only)."""
    real, real_labels, z, fake_labels, codes = batch
    t0 = time.perf_counter()
    opt_d.zero_grad(set_to_none=False)
    with amp():
        fake = model.G(z, "train")
        d_terms = d_losses(model, real, real_labels, fake, fake_labels, codes, True, 1.0)
    d_terms["d_total"].backward()
    opt_d.step()
    sync()
    t1 = time.perf_counter()
    opt_g.zero_grad(set_to_none=False)
    for p in model.D.parameters():
        p.requires_grad_(False)
    with amp():
        g_terms = g_losses(model, fake, fake_labels, codes, True, 1.0)
    g_terms["g_total"].backward()
    for p in model.D.parameters():
        p.requires_grad_(True)
    opt_g.step()
    sync()
    return t1 - t0, time.perf_counter() - t1


def bench_mode(args, device, m, mode, counts):
    """The median iteration of one mode (eager, torch.compile, or torch.compile with CUDA
    graphs: mode "reduce-overhead"), a fresh model each, the best of the thread counts."""
    torch.manual_seed(0)
    model = ACGAN(m).to(device)
    if mode != "eager":
        if not hasattr(torch, "compile"):
            raise RuntimeError("this PyTorch has no torch.compile")
        kind = "reduce-overhead" if mode == "reduce-overhead" else "default"
        model.G.forward = torch.compile(model.G.forward, mode=kind)
        model.D.forward = torch.compile(model.D.forward, mode=kind)
    opt_g = torch.optim.Adam(model.G.parameters(), lr=1e-5, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(model.D.parameters(), lr=2e-5, betas=(0.5, 0.999))
    B = args.batch
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    amp = lambda: autocast_for(device, args.precision)
    z = torch.rand(B, 100, device=device) * 2 - 1
    lab = torch.randint(0, 5, (B,), device=device)
    data = (torch.rand(B, 3, args.size, args.size, device=device) * 2 - 1, lab, z, lab, z[:, 5:7].contiguous())
    best, tried = None, []
    for n in counts:
        if device != "cuda":
            torch.set_num_threads(n)
        for _ in range(args.warmup + (2 if mode != "eager" else 0)):  # compiled modes compile and record first
            timed_iteration(model, opt_g, opt_d, data, sync, amp)
        ts = [timed_iteration(model, opt_g, opt_d, data, sync, amp) for _ in range(args.iters)]
        med = lambda v: sorted(v)[len(v) // 2]
        r = {"threads": torch.get_num_threads(), "omp": args.omp, "ms_per_iter": med([a + b for a, b in ts]) * 1e3,
             "d_step_ms": med([a for a, _ in ts]) * 1e3, "g_step_ms": med([b for _, b in ts]) * 1e3}
        tried.append({k: r[k] for k in ("threads", "omp", "ms_per_iter")})
        if best is None or r["ms_per_iter"] < best["ms_per_iter"]:
            best = r
    return {**best, "tried": tried}


# The OpenMP runtime settings the CPU peer runs under, each in a process of its own (libgomp
# reads them when it loads, before any line here runs); "default" is libgomp's own. A fair
# peer is timed at its best: on a 2-core EPYC (2026-12-06) PyTorch 1.13's two threads took
# 608-925 ms an iteration (64x64, base 32, batch 64) under libgomp's defaults, 344 with
# passive waits, 223-281 with passive waits and threads bound to CPUs; its one thread
# 295-342 (docs/PERFORMANCE.md).
OMP_SETTINGS = {"default": {}, "passive-bound": {"OMP_WAIT_POLICY": "passive", "OMP_PROC_BIND": "true"}}


def bench_omp_setting(args, name, threads):
    """cmd_bench's result on `threads` threads under OpenMP setting `name`, from a fresh
    process (--omp NAME; given its thread count, since a bound process sees one CPU), or
    {"error": ...} when that process fails."""
    import subprocess
    cmd = [sys.executable, os.path.abspath(__file__), "bench", "--device", "cpu", "--omp", name,
           "--size", str(args.size), "--base", str(args.base), "--batch", str(args.batch), "--iters", str(args.iters),
           "--warmup", str(args.warmup), "--precision", args.precision, "--threads", str(threads), "--stages"]
    cmd += (["--modes", args.modes] if args.modes else []) + (["--compile"] if args.compile else [])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    env.update(OMP_SETTINGS[name])
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": f"--omp {name} exited {p.returncode}: {p.stderr.strip()[-300:]}"}
    return json.loads(p.stdout)


def merge_omp(results, other):
    """Per mode, the faster of two cmd_bench results (other: another OpenMP setting's),
    every configuration either tried listed in "tried"."""
    for mode, r in other.get("modes", {}).items():
        mine = results.get(mode)
        if "error" in r:
            if mine is None:
                results[mode] = r
            continue
        if mine is None or "error" in mine:
            results[mode] = r
            continue
        tried = mine["tried"] + r["tried"]
        results[mode] = {**(r if r["ms_per_iter"] < mine["ms_per_iter"] else mine), "tried": tried}


def torch_build():
    """What this PyTorch was built with, as far as its speed goes: ATen's widest CPU kernels,
    its BLAS and oneDNN (Debian's 1.13: AVX2, generic BLAS, oneDNN 2.6.3; a pip wheel has
    MKL and AVX-512 kernels), from torch.__config__.show()."""
    import re
    text = torch.__config__.show()
    pick = lambda pattern: (re.search(pattern, text) or [None, None])[1]
    return {"cpu_capability": pick(r"CPU capability usage: (\S+)"), "blas": pick(r"BLAS_INFO=([^,\s]+)"),
            "onednn": pick(r"MKL-DNN (v[\d.]+)"), "openmp": pick(r"OpenMP (\d+)")}


def cmd_bench(args):
    """Times iterations in one precision and each of the modes asked for (default on CUDA:
    eager, torch.compile and torch.compile with CUDA graphs; on the CPU eager); a mode that
    fails is reported with its error, not fatal. The top-level numbers are the best mode's.
    On the CPU --threads 0 tries every thread count from 1 to the cores, under libgomp's
    default settings and, in a process of its own, each of OMP_SETTINGS, and keeps the
    fastest (median iteration), as a fair peer should; "tried" lists every configuration.
    --stages prints the D and G step medians too (bench-compare reads them)."""
    device = pick_device(args.device)
    if device != "cuda" and args.precision != "fp32":
        raise SystemExit(f"acgan_torch: --precision {args.precision} is a CUDA mode; the CPU peer runs fp32")
    if device == "cuda":
        torch.backends.cudnn.benchmark = True
        set_precision(args.precision)
    m = {"image_size": args.size, "base_channels": args.base, "z_dim": 100, "n_codes": 2, "num_genres": 5,
         "leaky_slope": 0.2, "bn_momentum": 0.1, "bn_eps": 1e-5}
    modes = args.modes.split(",") if args.modes else (["compile"] if args.compile else
                                                     (list(MODES) if device == "cuda" else ["eager"]))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    counts = [args.threads] if (args.threads or device == "cuda") else list(range(1, cores + 1))
    for mode in modes:
        if mode not in MODES:
            raise SystemExit(f"acgan_torch: unknown mode {mode!r}; modes are {', '.join(MODES)}")
    # The other OpenMP settings first, each in a process of its own (on one thread they change
    # nothing), while this one has started no OpenMP threads: run after this one's own
    # two-thread rounds, the other process took 336 ms an iteration against 222-236 run alone
    # (64x64, base 32, batch 64). This process then runs under the environment's settings
    # ("default").
    others = device != "cuda" and "--omp" not in sys.argv and max(counts) > 1
    omp_tried, omp_errors, children = [args.omp], {}, []
    for name in (s for s in OMP_SETTINGS if s != "default") if others else ():
        for n in (n for n in counts if n > 1):
            other = bench_omp_setting(args, name, n)
            if "error" in other:
                omp_errors[f"{name}, {n} threads"] = other["error"]
            children.append(other)
        omp_tried.append(name)
    results = {}
    for mode in modes:
        try:
            results[mode] = bench_mode(args, device, m, mode, counts)
        except Exception as e:  # a compile failure is a result too, not the end of the run
            results[mode] = {"error": f"{type(e).__name__}: {e}"[:300]}
    for other in children:
        merge_omp(results, other)
    ran = {k: v for k, v in results.items() if "error" not in v}
    if not ran:
        raise SystemExit("acgan_torch: no mode ran: " + "; ".join(f"{k}: {v['error']}" for k, v in results.items()))
    best_mode = min(ran, key=lambda k: ran[k]["ms_per_iter"])
    best = ran[best_mode]
    out = {"peer": "torch", "torch": torch.__version__, "torch_build": torch_build(), "device": device,
           "precision": args.precision,
           "size": args.size, "base_channels": args.base, "batch": args.batch, "tried_threads": counts,
           "omp_settings": {n: (OMP_SETTINGS[n] if n != "default" else
                                {k: v for k, v in os.environ.items() if k.startswith(("OMP_", "GOMP_"))})
                                for n in omp_tried},
           **({"omp_errors": omp_errors} if omp_errors else {}), "modes": results, "best_mode": best_mode,
           **best, "images_per_s": args.batch / best["ms_per_iter"] * 1e3}
    if not args.stages:
        out = {k: v for k, v in out.items() if k not in ("d_step_ms", "g_step_ms")}
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("parity")
    p.add_argument("input")
    p.add_argument("output")
    g = sub.add_parser("generate")
    g.add_argument("--ckpt", required=True)
    g.add_argument("--input", help="safetensors with z (N, z_dim): write the raw images instead of a PNG")
    g.add_argument("--genre", default=None)
    g.add_argument("--n", type=int, default=16)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--bn-eval", action="store_true")
    g.add_argument("--device", default="cpu")
    g.add_argument("-o", "--output", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--size", type=int, default=64)
    b.add_argument("--base", type=int, default=128)
    b.add_argument("--batch", type=int, default=16)
    b.add_argument("--iters", type=int, default=5)
    b.add_argument("--warmup", type=int, default=1)
    b.add_argument("--device", default="auto")
    b.add_argument("--threads", type=int, default=0)
    b.add_argument("--compile", action="store_true", help="the compiled mode only (as --modes compile)")
    b.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="fp32 (IEEE), tf32, or bf16 autocast (CUDA; default fp32)")
    b.add_argument("--modes", default="", help="comma-separated: eager, compile, reduce-overhead (default on CUDA: all)")
    b.add_argument("--stages", action="store_true", help="also report the D and G step medians")
    b.add_argument("--omp", choices=list(OMP_SETTINGS), default="default",
                   help="the OpenMP setting this process runs under (set by the CPU bench itself, which tries "
                        "each in a process of its own)")
    args = ap.parse_args()
    if getattr(args, "threads", 0) and args.cmd != "bench":
        torch.set_num_threads(args.threads)
    if args.cmd == "generate" and not args.input and args.genre is None:
        ap.error("generate needs --genre NAME (or --input Z.safetensors)")
    {"parity": cmd_parity, "generate": cmd_generate, "bench": cmd_bench}[args.cmd](args)


if __name__ == "__main__":
    main()
