#!/usr/bin/env python3
# perf-report's tables: reads what scripts/perf-report measured into OUTDIR (peaks.json,
# compare_*/compare.json, contend_*.json, profile/profile.csv) and prints the markdown
# that goes into docs/PERFORMANCE.md.   perf_report_tables.py OUTDIR "LOAD" ALLOW_BUSY(0|1)
import csv, json, sys
from statistics import median
out, load_before, allow_busy = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
peaks = json.load(open(f"{out}/peaks.json"))
P = lambda k: peaks.get(k, "?")
print(f"Measured by `scripts/perf-report` on {P('date')}: build {P('commit')[:12]}"
      f"{' (dirty)' if P('dirty') == 'true' else ''}, {P('compiler')}, `{P('flags')}`; "
      f"{P('cpu_model')}, {P('cpus_usable')} of {P('cpus_online')} CPUs usable; load average {load_before} at the start"
      f"{' (BUSY: measured anyway with --allow-busy; not the machine at rest)' if allow_busy else ''}.\n")
print("| ceiling | measured | how |")
print("|---|---:|---|")
print(f"| CPU FMA peak | {P('cpu_peak_gflops')} GFLOP/s | {P('cpu_peak_what')} |")
print(f"| CPU memory bandwidth | {P('cpu_mem_gbs')} GB/s | {P('cpu_mem_what')} |")
if "cuda_peak_gflops" in peaks:
    print(f"| GPU SGEMM (FP32) | {P('cuda_peak_gflops')} GFLOP/s | {P('cuda_peak_what')} |")
    print(f"| GPU copy | {P('cuda_mem_gbs')} GB/s | {P('cuda_mem_what')} |")
peak = float(P("cpu_peak_gflops"))


def torch_config(prec):
    """The threads and OpenMP setting PyTorch was fastest at in each round (bench-compare
    records them since the peer tries OpenMP settings; n/a in JSON from before)."""
    rounds = prec.get("torch_config")
    if not rounds:
        return "n/a"
    name = lambda x: f"{x['threads']} thread{'s' if x['threads'] != 1 else ''}, OpenMP {x.get('omp') or 'default'}"
    return "; ".join(name(x) for x in rounds)


print("\n**One iteration, covergan against PyTorch** (bench-compare: alternating rounds, medians)\n")
print("| model | covergan ms | images/s | GFLOP/s | % of FMA peak | PyTorch ms | speedup | load before / after | "
      "PyTorch's best configuration, each round |")
print("|---|---:|---:|---:|---:|---:|---:|---|---|")
for tag in ("64x64_b32_B64", "64x64_b128_B16", "32x32_b32_B32"):
    c = json.load(open(f"{out}/compare_{tag}/compare.json"))
    # bench-compare keeps one set of stages per precision; the CPU has fp32 alone
    it, m = c["precisions"][c["fastest_precision"]]["stages"]["iteration"], c["model"]
    rate = it["gflop"] / it["covergan_ms"] * 1e3
    busy = " (busy)" if c["busy"] else ""
    print(f"| {m['size']}x{m['size']}, base {m['base']}, batch {m['batch']} | {it['covergan_ms']:.1f} | "
          f"{m['batch'] / it['covergan_ms'] * 1e3:.0f} | {rate:.0f} | {100 * rate / peak:.0f} % | {it['torch_ms']:.1f} | "
          f"**{c['speedup']:.2f}x** | {c['load_average_before'].split()[0]} / {c['load_average_after'].split()[0]}{busy} | "
          f"{torch_config(c['precisions'][c['fastest_precision']])} |")
print("\n**Beside one CPU-bound competitor** (bench_iteration --contend 1: alone and contended alternately)\n")
print("| model | alone ms | contended ms | slowdown | equal share of the CPUs | goal | helpers' chunks | "
      "caller's waits, ms / moves per iteration | load after |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
for tag in ("32x32_b32_B32", "64x64_b32_B64"):
    c = json.load(open(f"{out}/contend_{tag}.json"))
    # The pool's figures per contended round (medians); JSON from before they existed has none.
    pool = ("n/a", "n/a")
    if c.get("helper_share_rounds"):
        pool = (f"{100 * median(c['helper_share_rounds']):.0f} %",
                f"{median(c['wait_ms_per_iteration_rounds']):.1f} / {median(c['moves_per_iteration_rounds']):.1f}")
    print(f"| {c['model']} | {c['alone_ms']:.2f} | {c['contended_ms']:.2f} | **{c['slowdown']:.2f}x** | "
          f"{c['fair_share_slowdown']:.2f}x | 1.50x | {pool[0]} | {pool[1]} | "
          f"{c['context']['load_average_after'].split()[0]} |")
print("\n**Where the 64x64 iteration's time goes** (covergan train --profile, base 32, batch 64; the ten largest layer passes)\n")
rows = [r for r in csv.DictReader(l for l in open(f"{out}/profile/profile.csv") if not l.startswith("#")) if r["kind"] == "layer"]
rows.sort(key=lambda r: -float(r["ms_per_iter"]))
print("| layer pass | shape | ms | share | GFLOP/s | % FMA | GB/s | % BW | FLOP/B |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for r in rows[:10]:
    print(f"| {r['name']} {r['pass']} | {r['shape']} | {float(r['ms_per_iter']):.2f} | {100 * float(r['share']):.1f} % | "
          f"{float(r['gflop_per_s']):.0f} | {float(r['pct_fma_peak']):.0f} | {float(r['gbyte_per_s']):.1f} | "
          f"{float(r['pct_mem_bw']):.0f} | {float(r['flop_per_byte']):.1f} |")
