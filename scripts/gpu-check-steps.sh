# The steps of scripts/gpu-check after the build, in its order; sourced by it (they use
# its BIN, DETAILS, OUTDIR, GPU_OK, DRY, PY, SIZE/BASE/BATCH, PRECISIONS, cap, note,
# timed and the FAILED / INCOMPLETE / MISSING lists). Each step writes its findings
# into summary.txt as they are known and its logs under $DETAILS.
# shellcheck shell=bash

SMOKE_CASE="cuda ops match the CPU: every row of the op table"

# smoke: every row of the op table on CUDA against the CPU, one line per row in the log.
step_smoke() {
  have test_cuda || return 0
  local c t0 rc rows bad
  c=$(cap 90)
  [ "$c" = 0 ] && { out_of_time smoke; return; }
  say "smoke: the CUDA op table"
  t0=$(date +%s)
  timed "$c" "$BIN/test_cuda" "--test-case=$SMOKE_CASE" >"$DETAILS/smoke.log" 2>&1
  rc=$?
  rows=$(grep -cE '^  (ok|FAIL) ' "$DETAILS/smoke.log")
  bad=$(grep -cE '^  FAIL ' "$DETAILS/smoke.log")
  case $rc in
    0) note "smoke: every op on CUDA against the CPU: $rows rows passed ($(($(date +%s) - t0)) s)" ;;
    77) note "smoke: skipped: $(grep -m1 '\[skipped\]' "$DETAILS/smoke.log" | sed 's/.*: //')"
        [ "$GPU_OK" = 1 ] && FAILED+=("the op table skipped although a GPU is present") ;;
    124|137) note "smoke: stopped at its ${c} s cap after $rows rows ($bad failed)"
             INCOMPLETE+=("the smoke run was cut short"); ((bad > 0)) && FAILED+=("$bad op rows failed") ;;
    *) note "smoke: FAILED: $bad of $rows op rows failed (exit $rc):"
       grep -E '^  FAIL ' "$DETAILS/smoke.log" | head -8 | while read -r l; do note "  $l"; done
       { echo "==== test_cuda: $SMOKE_CASE (exit $rc)"; grep -vE '^  ok ' "$DETAILS/smoke.log" | tail -n 80; } >>"$OUTDIR/failures.txt"
       FAILED+=("$bad op rows failed") ;;
  esac
}

# One doctest case in its own process, as ctest runs it: $1 "binary<TAB>case name".
run_case() {
  local bin=${1%%$'\t'*} name=${1#*$'\t'} id
  id=$(printf '%s' "$1" | md5sum | cut -c1-16)
  printf '%s\n' "$1" >"$CASES/$id.name"
  "$bin" "--test-case=${name//,/\\,}" >"$CASES/$id.out" 2>&1
  echo $? >"$CASES/$id.rc"
}
export -f run_case

# suites: every case of test_cuda but the smoke case, and test_gan's CUDA cases (named
# "CUDA..."), a few at a time. Exit 77: the case skipped itself ("[skipped] case: why").
step_suites() {
  [ -n "$BIN" ] || return 0
  local c t bin list=$WORK/cases.list P
  export CASES=$WORK/cases
  mkdir -p "$CASES"
  : >"$list"
  for t in test_cuda test_gan; do
    have $t || continue
    if ! "$BIN/$t" --list-test-cases >"$WORK/listing" 2>&1; then
      note "suites: $t: FAIL: it cannot list its cases: $(tail -2 "$WORK/listing" | tr '\n' ' ')"
      FAILED+=("$t does not start"); continue
    fi
    grep -vE '^(\[doctest\]|=+$)' "$WORK/listing" | grep . | grep -vxF "$SMOKE_CASE" |
      { [ $t = test_gan ] && grep 'CUDA' || cat; } | sed "s|^|$BIN/$t\t|" >>"$list"
  done
  c=$(cap 150)
  [ "$c" = 0 ] && { out_of_time suites; return; }
  P=${COVERGAN_TEST_JOBS:-4}
  say "suites: $(wc -l <"$list") CUDA cases, $P at a time"
  OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 timed "$c" xargs -d '\n' -P "$P" -n 1 bash -c 'run_case "$1"' _ <"$list"
  [ $? = 124 ] && note "suites: stopped at their ${c} s cap"
  for bin in $(cut -f1 "$list" | sort -u); do suite_line "$bin" "$list"; done
}

# One summary line per binary: passed, failed, skipped (each reason once) and not run.
suite_line() {
  local t=$1 list=$2 b pass=0 skip=0 fail=0 gpu_skip=0 total n line name base rc why
  b=$(basename "$t")
  : >"$WORK/reasons"
  for n in "$CASES"/*.name; do
    [ -e "$n" ] || continue
    line=$(cat "$n"); [ "${line%%$'\t'*}" = "$t" ] || continue
    base=${n%.name}; name=${line#*$'\t'}
    { echo "---- $b: $name"; cat "$base.out" 2>/dev/null; } >>"$DETAILS/tests.log"
    rc=$(cat "$base.rc" 2>/dev/null || echo none)
    case $rc in
      0) pass=$((pass + 1)) ;;
      77) skip=$((skip + 1))
          why=$(grep -m1 -F "[skipped] $name: " "$base.out"); why=${why#"[skipped] $name: "}
          echo "${why:-no reason printed}" >>"$WORK/reasons"
          [[ "$why" == *"no CUDA GPU"* ]] && gpu_skip=$((gpu_skip + 1)) ;;
      none) note "  not finished: $b: $name" ;;
      *) fail=$((fail + 1)); note "  FAILED: $b: $name (exit $rc)"
         { echo "==== $b: $name (exit $rc)"; tail -n 60 "$base.out"; } >>"$OUTDIR/failures.txt" ;;
    esac
  done
  total=$(awk -F'\t' -v t="$t" '$1 == t' "$list" | wc -l)
  local notrun=$((total - pass - skip - fail)) verdict=PASS
  ((skip > 0)) && verdict=PASS-WITH-SKIPS
  ((notrun > 0)) && verdict=INCOMPLETE
  ((fail > 0)) && verdict=FAIL
  note "suites: $b: $verdict: $total cases: $pass passed, $fail failed, $skip skipped, $notrun not run"
  while read -r k r; do note "  $k skipped: $r"; done < <(sort "$WORK/reasons" | uniq -c)
  ((fail > 0)) && FAILED+=("$fail case(s) of $b failed")
  ((notrun > 0)) && INCOMPLETE+=("$notrun case(s) of $b did not finish in time")
  if ((gpu_skip > 0 && GPU_OK == 1)); then
    note "  FAIL: a GPU is present but $gpu_skip case(s) of $b found no usable CUDA device (driver/runtime mismatch?)"
    FAILED+=("CUDA cases skipped with a GPU present")
  fi
  ((skip > gpu_skip)) && INCOMPLETE+=("$((skip - gpu_skip)) case(s) of $b skipped themselves")
  return 0
}

# iteration: one whole training iteration per precision, with the CUDA graph and eager,
# at the paper's configuration (bench_iteration; CUDA events). iteration.md is the table.
step_iteration() {
  have bench_iteration || return 0
  local dev=cuda filter='iteration/cuda' p g c rc ms md=$OUTDIR/iteration.md
  [ "$GPU_OK" = 1 ] || { [ $DRY = 1 ] || return 0; dev=cpu filter='iteration/cpu'; }
  {
    echo "# One AC-GAN iteration on $dev: ${SIZE}x${SIZE}, base $BASE, batch $BATCH (bench_iteration, median ms)"
    echo
    echo "| precision | CUDA graph | ms | images/s | GFLOP/s |"
    echo "|---|---|---:|---:|---:|"
  } >"$md"
  say "iteration: bench_iteration per precision, graph and eager"
  for p in $PRECISIONS; do
    for g in graph eager; do
      [ "$dev" = cpu ] && [ $g = eager ] && continue  # the graph is a CUDA thing
      c=$(cap 60)
      [ "$c" = 0 ] && { out_of_time "iteration $p $g"; continue; }
      # shellcheck disable=SC2046
      timed "$c" env $([ $dev = cuda ] && echo COVERGAN_BENCH_NO_CPU=1) "$BIN/bench_iteration" --size "$SIZE" \
        --base "$BASE" --batch "$BATCH" --precision "$p" $([ $g = eager ] && echo --no-graph) \
        --benchmark_filter="$filter" --benchmark_min_time=0.5 --benchmark_repetitions=3 \
        --benchmark_report_aggregates_only=true --benchmark_format=json >"$DETAILS/iteration_${p}_$g.json" \
        2>>"$DETAILS/iteration.log"
      rc=$?
      ms=$(iteration_row "$DETAILS/iteration_${p}_$g.json")
      if [ "$rc" = 0 ] && [ -n "$ms" ]; then
        echo "| $p | $g | $ms |" >>"$md"
        note "iteration: $p, $g: ${ms%% *} ms"
      else
        echo "| $p | $g | failed (exit $rc) | | |" >>"$md"
        note "iteration: $p, $g: FAILED (exit $rc; details.tar.gz: iteration.log)"
        FAILED+=("bench_iteration --precision $p ($g) exited $rc")
      fi
    done
  done
  return 0
}

# "ms | images/s | GFLOP/s" of the median of bench_iteration's JSON, empty when absent.
iteration_row() {
  python3 - "$1" <<'PY' 2>/dev/null
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name", "median") == "median" and b["name"].startswith("iteration/"):
        ms = b["real_time"] if b["time_unit"] == "ms" else b["real_time"] / 1e6
        print(f"{ms:.2f} | {b['images/s']:.0f} | {b['FLOP/s'] / 1e9:.0f}")
        break
PY
}

# compare: bench-compare per precision (PyTorch eager and with CUDA graphs), one call
# each so a cut still leaves the first; the headline is computed over those that ran.
step_compare() {
  have bench_iteration || return 0
  [ -n "$PY" ] || { note "compare: not run: no python3 with torch here"; return 0; }
  local dev=cuda p c rc
  [ "$GPU_OK" = 1 ] || { [ $DRY = 1 ] || return 0; dev=cpu; }
  say "compare: bench-compare --device $dev per precision"
  for p in $PRECISIONS; do
    c=$(cap 120)
    [ "$c" = 0 ] && { out_of_time "compare $p"; continue; }
    PYTHON="$COVERGAN_PYTHON" OUT="$DETAILS/compare_$p" timed "$c" scripts/bench-compare --device $dev \
      --precision "$p" --size "$SIZE" --base "$BASE" --batch "$BATCH" --rounds 1 \
      --peer-modes "${COVERGAN_PEER_MODES:-eager,reduce-overhead}" --build "$BIN" \
      >"$DETAILS/compare_$p.md" 2>>"$DETAILS/compare.log"
    rc=$?
    if [ "$rc" = 0 ]; then cat "$DETAILS/compare_$p.md" >>"$OUTDIR/compare.md"; echo >>"$OUTDIR/compare.md"
      note "compare: $(grep -E "^$p: covergan" "$DETAILS/compare_$p.md")"
    elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then note "compare: $p stopped at its ${c} s cap"
      INCOMPLETE+=("bench-compare $p was cut short")
    else note "compare: $p: bench-compare exited $rc ($(tail -n 1 "$DETAILS/compare.log" | cut -c1-160))"
      INCOMPLETE+=("bench-compare $p exited $rc"); fi
  done
  "$COVERGAN_PYTHON" - "$DETAILS" $PRECISIONS <<'PY' | tee -a "$OUTDIR/compare.md" | while read -r l; do note "compare: $l"; done
import json, os, sys
runs = {}
for p in sys.argv[2:]:
    f = os.path.join(sys.argv[1], f"compare_{p}", "compare.json")
    if os.path.exists(f):
        it = json.load(open(f))["precisions"][p]["stages"]["iteration"]
        runs[p] = (it["covergan_ms"], it["torch_ms"])
if runs:
    best = min(runs, key=lambda p: runs[p][0])
    print(f"fastest covergan precision: {best} ({runs[best][0]:.2f} ms), PyTorch {best} at its best: {runs[best][1]:.2f} ms")
    print(f"iteration speedup vs PyTorch: {runs[best][1] / runs[best][0]:.2f}x")
PY
  return 0
}

# nccl: which libnccl the binaries resolve, and the outcome of the NCCL cases above.
step_nccl() {
  have test_cuda || return 0
  local lib cases
  lib=$(ldd "$BIN/test_cuda" 2>/dev/null | awk '/libnccl/ {print $3}')
  cases=$(grep -c '^---- test_cuda: .*NCCL' "$DETAILS/tests.log" 2>/dev/null)
  if [ -z "$lib" ]; then note "nccl: test_cuda does not link NCCL (built without it)"
  else note "nccl: $lib ($(basename "$(readlink -f "$lib")")); its $cases case(s) are in the suites line above"; fi
}

# memcheck: compute-sanitizer over a 5-iteration training at base 16 (a real run on a
# small synthetic set when a Python with Pillow can make one; else the profile rig).
step_memcheck() {
  local san c rc run line
  san=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  [ -x "$san" ] || { note "memcheck: not run: compute-sanitizer is not on this machine"; return 0; }
  { have covergan && [ "$GPU_OK" = 1 ]; } || { note "memcheck: not run: no GPU"; return 0; }
  c=$(cap 90)
  [ "$c" = 0 ] && { out_of_time memcheck; return; }
  say "memcheck: 5 iterations at base 16 under compute-sanitizer"
  if [ -n "$PY" ] && "$COVERGAN_PYTHON" -c 'import PIL' 2>/dev/null &&
     "$COVERGAN_PYTHON" scripts/make-demo-data --out "$WORK/demo" --per-genre 8 --unlabeled 0 --no-broken >>"$LOG" 2>&1 &&
     "$BIN/covergan" prepare "$WORK/demo/covers" -o "$WORK/demo.cgd" --size 32 --labels folders -q >>"$LOG" 2>&1; then
    run=("$BIN/covergan" train --data "$WORK/demo.cgd" --out "$WORK/san" --steps 5 --base-channels 16 --batch 16
         --device cuda -q)
  else
    run=("$BIN/covergan" train --profile 5 --base-channels 16 --batch 16 --device cuda)
  fi
  timed "$c" "$san" --tool memcheck --error-exitcode 9 --print-limit 20 "${run[@]}" >"$DETAILS/memcheck.log" 2>&1
  rc=$?
  line=$(grep -m1 'ERROR SUMMARY' "$DETAILS/memcheck.log")
  if [ "$rc" = 0 ]; then note "memcheck: clean ($line; covergan ${run[*]:1:2})"
  elif [ "$rc" = 9 ]; then note "memcheck: FAILED: $line"; FAILED+=("compute-sanitizer found memory errors")
  elif grep -qE 'Device not supported|error 999' "$DETAILS/memcheck.log"; then
    note "memcheck: not run: compute-sanitizer refused this machine's GPU runtime"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then note "memcheck: stopped at its ${c} s cap"; INCOMPLETE+=("memcheck was cut short")
  else note "memcheck: FAILED: the run exited $rc ($(tail -n 2 "$DETAILS/memcheck.log" | tr '\n' ' ' | cut -c1-160))"
    FAILED+=("the memcheck run exited $rc"); fi
}

# layers: the per-layer benchmarks (JSON in details.tar.gz), with what time is left.
step_layers() {
  have bench_layers || return 0
  local c rc n
  c=$(cap 90)
  [ "$c" = 0 ] && { note "layers: not run: no time left (not counted against the verdict)"; return 0; }
  say "layers: bench_layers"
  timed "$c" "$BIN/bench_layers" --benchmark_format=json --benchmark_min_time=0.2 >"$DETAILS/bench_layers.json" 2>>"$LOG"
  rc=$?
  n=$(grep -c '"real_time"' "$DETAILS/bench_layers.json" 2>/dev/null)
  if [ "$rc" = 0 ]; then note "layers: bench_layers OK, $n results (details.tar.gz)"
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then note "layers: stopped at its ${c} s cap, $n results (not counted)"
  else note "layers: bench_layers FAILED (exit $rc, $n results)"; FAILED+=("bench_layers exited $rc"); fi
}
