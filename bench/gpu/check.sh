#!/usr/bin/env bash
# The GPU check (docs/cuda.md), one script for a lent GPU machine without Node:
#   1. build the core and native/tools with plain CMake (VSGD_CUDA=ON, no addon)
#   2. vsgd_selfcheck: CPU vs a float64 reference, CUDA vs CPU (fails if CUDA is unusable on a GPU machine)
#   3. vsgd_bench_gpu: the fused step's bandwidth against a device-to-device copy
#   4. PyTorch's fused Adam on the same sizes, as the peer
#   5. the self-check (--quick) under compute-sanitizer memcheck and racecheck, when present
# Full logs go to $OUT (default ./gpu-out); a short table is printed last, and $OUT/GPU.md holds the
# same numbers as the section bench/run.ts carries into BENCHMARKS.md (copy it to bench/gpu/GPU.md).
# Without a GPU it still builds and runs the CPU half of the self-check, and says what it skipped.
#
# Knobs (environment): OUT, BUILD (build-gpu), ARCH (90), JOBS (nproc), MIN_LOG2 (20), MAX_LOG2 (28),
# REPS (20), SAN_TIMEOUT (150 s per tool),
# SELFCHECK_TIMEOUT (300 s), SKIP_SANITIZER=1, SKIP_BENCH=1, SKIP_TORCH=1.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-./gpu-out}
BUILD=${BUILD:-build-gpu}
ARCH=${ARCH:-90}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 4)}
MIN_LOG2=${MIN_LOG2:-20}
MAX_LOG2=${MAX_LOG2:-28}
REPS=${REPS:-20}
SAN_TIMEOUT=${SAN_TIMEOUT:-150}
mkdir -p "$OUT"
summary=()
note() { summary+=("$(printf '%-22s %-9s %s' "$1" "$2" "$3")"); }
failed=0
t0=$(date +%s)
secs() { echo "$(( $(date +%s) - t0 ))s"; }

print_summary() {
  echo
  echo "== summary (logs in $OUT)"
  printf '%s\n' "${summary[@]}"
  if [[ -s "$OUT/bench.log" || -s "$OUT/torch.log" ]]; then
    echo
    python3 bench/gpu/report.py "$OUT" || true
    printf '%s\n' "${summary[@]}" | python3 bench/gpu/report.py "$OUT" --md >"$OUT/GPU.md" || true
  fi
}

# ---- 1. build
gen="Ninja"
command -v ninja >/dev/null 2>&1 || gen="Unix Makefiles"
echo "== build ($gen, sm_$ARCH) -> $OUT/build.log"
if cmake -S . -B "$BUILD" -DVSGD_CUDA=ON -DVSGD_ADDON=OFF -DCMAKE_CUDA_ARCHITECTURES="$ARCH" \
  -DCMAKE_CUDA_FLAGS=--resource-usage -G "$gen" >"$OUT/build.log" 2>&1 &&
  cmake --build "$BUILD" -j "$JOBS" >>"$OUT/build.log" 2>&1; then
  note build ok "$gen, CMAKE_CUDA_ARCHITECTURES=$ARCH ($(secs))"
  # ptxas's registers for the step kernels (vSGD-fd dense and Adam; spills would show here too)
  regs=$(awk "/Compiling entry function.*(step_kernel4ILi(0|5)ELi0EEE|step_kernelILi0ELi0ELi5EEE|step_kernelILi5ELi0ELin1EEE)/ { k = \$0; sub(/.*step_kernel/, \"step_kernel\", k); sub(/ILi/, \"<\", k); sub(/ELi/, \",\", k); sub(/E.*/, \">\", k) }
    /Used [0-9]+ registers/ && k { match(\$0, /Used [0-9]+ registers/); printf \"%s %s; \", k, substr(\$0, RSTART + 5, RLENGTH - 15); k = \"\" }" "$OUT/build.log" 2>/dev/null)
  [[ -n $regs ]] && note registers "" "${regs%; } (<algo,sparsity>: 0 vSGD-fd, 5 Adam; 0 dense)"
else
  tail -30 "$OUT/build.log"
  note build FAIL "see build.log"
  print_summary
  exit 1
fi

# the backend's own verdict (cuda_info()): the bench tool exits 3 when CUDA is unusable
gpu=0
"$BUILD/vsgd_bench_gpu" --min-log2 1 --max-log2 0 --host-log2 0 >"$OUT/cuda-info.txt" 2>&1 && gpu=1
if command -v nvidia-smi >/dev/null 2>&1; then
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')" >>"$OUT/cuda-info.txt"
  echo "driver: $(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)" >>"$OUT/cuda-info.txt"
  nvidia-smi >>"$OUT/cuda-info.txt" 2>&1
fi
cuda_line=$(head -1 "$OUT/cuda-info.txt")
echo "== CUDA: $cuda_line"

# ---- 2. self-check
echo "== selfcheck -> $OUT/selfcheck.log"
args=()
((gpu)) && args+=(--require-cuda)
timeout "${SELFCHECK_TIMEOUT:-300}" "$BUILD/vsgd_selfcheck" "${args[@]}" >"$OUT/selfcheck.log" 2>&1
rc=$?
res=$(grep '^RESULT' "$OUT/selfcheck.log" | head -1)
same=$(grep '^CUDA results bit-identical' "$OUT/selfcheck.log" | sed 's/CUDA results bit-identical to CPU: //')
if ((rc == 0)); then note selfcheck ok "${res#RESULT: } ${same:+; identical: $same}"
else note selfcheck FAIL "rc=$rc ${res#RESULT: }"; failed=1; grep -B2 -A4 -E 'MISMATCH|threw' "$OUT/selfcheck.log" | head -40; fi
grep -q 'CUDA: skipped' "$OUT/selfcheck.log" && note "  cuda part" skipped "$(grep 'CUDA: skipped' "$OUT/selfcheck.log" | sed 's/CUDA: skipped //')"

# ---- 3. bandwidth
if [[ -n "${SKIP_BENCH:-}" ]]; then note bench skipped "SKIP_BENCH set"
elif ((!gpu)); then note bench skipped "no usable GPU"
else
  echo "== vsgd_bench_gpu -> $OUT/bench.log"
  "$BUILD/vsgd_bench_gpu" --min-log2 "$MIN_LOG2" --max-log2 "$MAX_LOG2" --reps "$REPS" >"$OUT/bench.log" 2>&1
  rc=$?
  if ((rc == 0)); then note bench ok "d=2^$MIN_LOG2..2^$MAX_LOG2, median of $REPS ($(secs))"
  else note bench FAIL "rc=$rc, see bench.log"; failed=1; tail -5 "$OUT/bench.log"; fi
fi

# ---- 4. PyTorch fused Adam, the peer
if [[ -n "${SKIP_TORCH:-}" ]]; then note torch skipped "SKIP_TORCH set"
elif ((!gpu)); then note torch skipped "no usable GPU"
elif ! python3 -c 'import torch; assert torch.cuda.is_available()' >/dev/null 2>&1; then note torch skipped "no torch with CUDA"
else
  echo "== torch.optim.Adam(fused=True) -> $OUT/torch.log"
  PYTHONUNBUFFERED=1 python3 - "$MIN_LOG2" "$MAX_LOG2" "$REPS" >"$OUT/torch.log" 2>&1 <<'PY'
# One Adam update from n gradient rows: the rows' mean (n > 1) then the fused step. Traffic: the
# mean reads n*d and writes d floats; fused Adam reads param, grad, exp_avg, exp_avg_sq and
# writes param, exp_avg, exp_avg_sq (7*d floats).
import statistics, sys, torch
lo, hi, reps = map(int, sys.argv[1:4])
print('device', torch.cuda.get_device_name(), 'torch', torch.__version__)
for n in (1, 10):
    for k in range(lo, hi + 1, 2):
        d = 1 << k
        free, _ = torch.cuda.mem_get_info()
        if 4 * d * (n + 6) > 0.9 * free:
            print(f'skip n={n} d=2^{k}'); continue
        p = torch.zeros(d, device='cuda', requires_grad=True)
        rows = torch.rand(n, d, device='cuda') - 0.5
        opt = torch.optim.Adam([p], lr=1e-3, fused=True)
        def step():
            p.grad = rows[0] if n == 1 else rows.mean(0)
            opt.step()
        for _ in range(3): step()
        torch.cuda.synchronize()
        times = []
        for _ in range(reps):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record(); step(); b.record(); b.synchronize()
            times.append(a.elapsed_time(b))
        ms = statistics.median(times)
        nbytes = 4 * d * (7 + (n + 1 if n > 1 else 0))
        print(f'RESULT torch algo=adam n={n} d={d} bytes={nbytes} step_ms={ms:.4f} step_GBs={nbytes / ms / 1e6:.1f}')
        del p, rows, opt
        torch.cuda.empty_cache()
PY
  rc=$?
  if ((rc == 0)); then note torch ok "fused Adam, median of $REPS ($(secs))"
  else note torch FAIL "rc=$rc, see torch.log"; tail -5 "$OUT/torch.log"; fi
fi

# ---- 5. compute-sanitizer (last: the slowest part, bounded by SAN_TIMEOUT seconds per tool)
san=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
if [[ -n "${SKIP_SANITIZER:-}" ]]; then note sanitizer skipped "SKIP_SANITIZER set"
elif ((!gpu)); then note sanitizer skipped "no usable GPU"
elif [[ -z "$san" ]]; then note sanitizer skipped "compute-sanitizer not found"
else
  : >"$OUT/sanitizer.log"
  for tool in memcheck racecheck; do
    echo "== compute-sanitizer $tool -> $OUT/sanitizer.log"
    extra=()
    [[ $tool == memcheck ]] && extra=(--leak-check full)
    timeout "$SAN_TIMEOUT" "$san" --tool "$tool" "${extra[@]}" --error-exitcode 99 "$BUILD/vsgd_selfcheck" --quick --require-cuda \
      >"$OUT/$tool.tmp" 2>&1
    rc=$?
    errs=$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/$tool.tmp" | tail -1)
    { echo "== $tool"; cat "$OUT/$tool.tmp"; } >>"$OUT/sanitizer.log" && rm -f "$OUT/$tool.tmp"
    if ((rc == 124)); then note "$tool" timeout "no verdict within ${SAN_TIMEOUT}s; ${errs}"; failed=1
    elif ((rc == 0)); then note "$tool" ok "${errs:-no summary line} ($(secs))"
    else note "$tool" FAIL "rc=$rc ${errs}"; failed=1; fi
  done
fi

print_summary
exit $failed
