#!/usr/bin/python3
"""Pillow's open + fit on a folder of images: the peer of `covergan prepare`.

  bench/peers/pil_fit.py DIR [--size 64] [--procs N] [--draft] [--filter lanczos|box] [--repeat R]
      prints images/s for Image.open + convert("RGB") + ImageOps.fit (LANCZOS by default)
  bench/peers/pil_fit.py DIR --compare DATA.cgd
      mean absolute difference (0..255) between Pillow's fit and the fitted images
      in DATA.cgd, made from the same DIR with `covergan prepare DIR -o DATA.cgd
      --labels none --dedupe off` (both take the files in sorted path order)

Needs Debian's python3-pil (and python3-numpy for --compare).
"""
import argparse
import os
import struct
import sys
import time
import zlib
from multiprocessing import Pool

from PIL import Image, ImageOps


def files_in(root):
    out = []
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        out += [os.path.join(d, n) for n in names if not n.startswith(".")]
    return sorted(out, key=lambda p: p.encode())


FILTERS = {"lanczos": Image.LANCZOS, "box": Image.BOX, "bilinear": Image.BILINEAR}


def fit_one(args):
    path, size, draft, filt = args
    try:
        im = Image.open(path)
        if draft and im.format == "JPEG":
            im.draft("RGB", (2 * size, 2 * size))  # libjpeg DCT scaling, as covergan's default
        if im.mode in ("RGBA", "LA", "P") or "transparency" in im.info:
            rgba = im.convert("RGBA")
            bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(bg, rgba)
        return ImageOps.fit(im.convert("RGB"), (size, size), FILTERS[filt]).tobytes()
    except Exception:  # broken files are skipped, as covergan does
        return None


def read_cgd(path):
    """The .cgd reader of docs/formats.md, enough for --compare: (count, size, pixels)."""
    b = open(path, "rb").read()
    if b[:8] != b"\x89CGD\r\n\x1a\n":
        sys.exit(f"{path} is not a covergan dataset")
    header_bytes = struct.unpack_from("<I", b, 12)[0]
    if zlib.crc32(b[: header_bytes - 4]) != struct.unpack_from("<I", b, header_bytes - 4)[0]:
        sys.exit(f"{path}: header checksum mismatch")
    count, size, channels = struct.unpack_from("<QII", b, 16)
    pixels_offset = struct.unpack_from("<Q", b, 40)[0]
    return count, size, b[pixels_offset : pixels_offset + count * size * size * channels]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--procs", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--draft", action="store_true", help="let Pillow decode JPEGs at reduced scale (draft)")
    ap.add_argument("--filter", choices=sorted(FILTERS), default="lanczos", help="resampling filter (default lanczos)")
    ap.add_argument("--repeat", type=int, default=1, help="passes over the files; the best is reported")
    ap.add_argument("--compare", metavar="CGD", help="report the mean absolute difference against this dataset")
    a = ap.parse_args()
    files = files_in(a.dir)
    if not files:
        sys.exit(f"pil_fit: no files under {a.dir}")
    jobs = [(f, a.size, a.draft, a.filter) for f in files]
    best, best_cpu, out = None, None, None
    for _ in range(a.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        if a.procs > 1:
            with Pool(a.procs) as pool:
                out = pool.map(fit_one, jobs, chunksize=4)
        else:
            out = [fit_one(j) for j in jobs]
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        best = dt if best is None else min(best, dt)
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
    ok = [o for o in out if o is not None]
    print(f"pil_fit: {len(ok)} of {len(files)} images, open+fit({a.size}, {a.filter}){' +draft' if a.draft else ''}, "
          f"{a.procs} process(es): {best:.3f} s, {len(ok) / best:.1f} images/s"
          + (f" (CPU {best_cpu:.3f} s: {len(ok) / best_cpu:.1f} images per CPU-second)" if a.procs == 1 else ""))
    if a.compare:
        import numpy as np

        count, size, px = read_cgd(a.compare)
        if count != len(ok) or size != a.size:
            sys.exit(f"pil_fit: {a.compare} holds {count} images of {size}px, Pillow made {len(ok)} of {a.size}px")
        ours = np.frombuffer(px, np.uint8).reshape(count, -1).astype(np.int16)
        theirs = np.stack([np.frombuffer(o, np.uint8) for o in ok]).astype(np.int16)
        mad = np.abs(ours - theirs).mean(axis=1)
        for f, m in zip([f for f, o in zip(files, out) if o is not None], mad):
            print(f"  {m:6.2f}  {os.path.basename(f)}")
        print(f"pil_fit: mean absolute difference {mad.mean():.2f} (of 255) over {count} images, worst {mad.max():.2f}")


if __name__ == "__main__":
    main()
