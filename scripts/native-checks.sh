#!/usr/bin/env bash
# Native checks (docs/reliability.md), about 4 minutes on 2 cores:
#   sanitizers  the core and native/tools/vsgd_selfcheck built with AddressSanitizer and
#               UndefinedBehaviorSanitizer (-DVSGD_SANITIZE), run over the reference comparisons
#   fuzz        libFuzzer on checkpoint parsing (native/tools/fuzz_checkpoint.cpp) for FUZZ_SECONDS,
#               from a seed corpus of save() output of every optimizer class
#   valgrind    memcheck of a short Node session using the addon (scripts/native-session.js):
#               no definite leaks, and no error whose stack passes through vsgd.node
# One "PASS name" or "FAIL name: why" line per check, then "native checks: N passed, N failed";
# exit status 1 when any failed. Installs clang, its libFuzzer runtime and valgrind when missing
# (as root, with apt-get).
# Environment: VSGD_FD_ADDON  the addon to run (default: a CPU-only build in the work folder),
#              FUZZ_SECONDS (60), CHECKS_DIR (work folder, default build-checks).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${CHECKS_DIR:-$ROOT/build-checks}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
JOBS=$(nproc 2>/dev/null || echo 2)
mkdir -p "$WORK"
passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
  echo "FAIL $1"
  failed=$((failed + 1))
  [[ -n ${2:-} && -f $2 ]] && tail -n 30 "$2" | sed 's/^/    /'
}

apt_install() {
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || return 1
  [[ -n ${apt_updated:-} ]] || { apt-get update -qq >/dev/null 2>&1; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}
# a trivial libFuzzer target links only where the runtime is installed
fuzzer_links() {
  printf '#include <cstdint>\n#include <cstddef>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' >"$WORK/probe.cpp"
  clang++ -fsanitize=fuzzer "$WORK/probe.cpp" -o "$WORK/probe" >/dev/null 2>&1
}
command -v cmake >/dev/null || apt_install cmake
command -v valgrind >/dev/null || apt_install valgrind
command -v clang++ >/dev/null || apt_install clang
if command -v clang++ >/dev/null && ! fuzzer_links; then
  major=$(clang++ -dumpversion | cut -d. -f1)
  apt_install "libclang-rt-$major-dev" || apt_install "libclang-common-$major-dev"
fi

echo "== native checks (work folder $WORK)"

# -- the addon and the compiled library, for the seeds and the valgrind session. A CPU-only build
# of its own unless VSGD_FD_ADDON names one: the CUDA runtime's internals are no concern here.
ADDON=${VSGD_FD_ADDON:-}
if [[ -z $ADDON ]]; then
  ADDON=$WORK/addon/Release/vsgd.node
  npx cmake-js compile --out "$WORK/addon" --CDVSGD_CUDA=OFF >"$WORK/addon.log" 2>&1 || rm -f "$ADDON"
fi
export VSGD_FD_ADDON=$ADDON
npx tsc -p tsconfig.json --outDir "$WORK/dist" --declaration false >"$WORK/tsc.log" 2>&1
have_lib=0
[[ -f $ADDON && -f $WORK/dist/index.js ]] && have_lib=1

# -- 1. sanitizers
SAN=$WORK/asan
if ! { cmake -S "$ROOT" -B "$SAN" -DVSGD_ADDON=OFF -DVSGD_TOOLS=ON -DVSGD_CUDA=OFF -DVSGD_SANITIZE=address,undefined \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build "$SAN" --target vsgd_selfcheck -j "$JOBS"; } >"$WORK/asan-build.log" 2>&1; then
  fail "sanitizers: the ASan+UBSan build failed" "$WORK/asan-build.log"
elif ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  timeout 600 "$SAN/vsgd_selfcheck" >"$WORK/asan-run.log" 2>&1 && grep -q '^RESULT: PASS' "$WORK/asan-run.log"; then
  pass "sanitizers: vsgd_selfcheck under ASan+UBSan, no report ($(grep -E '^[0-9]+ (cases|trajectories)' "$WORK/asan-run.log" | paste -sd ';' - | sed 's/;/; /g'); $(grep -o 'seed [0-9]*' "$WORK/asan-run.log" | tail -1))"
else
  fail "sanitizers: vsgd_selfcheck under ASan+UBSan reported errors" "$WORK/asan-run.log"
fi

# -- 2. fuzz
FUZZ=$WORK/fuzz_checkpoint
if ! command -v clang++ >/dev/null || ! fuzzer_links; then
  fail "fuzz: clang++ with the libFuzzer runtime is not available"
elif ! clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  native/tools/fuzz_checkpoint.cpp native/core/checkpoint.cpp -o "$FUZZ" >"$WORK/fuzz-build.log" 2>&1; then
  fail "fuzz: building the harness failed" "$WORK/fuzz-build.log"
elif [[ $have_lib -ne 1 ]] || ! { rm -rf "$WORK/fuzz-seeds" && mkdir -p "$WORK/fuzz-seeds" &&
  node scripts/native-session.js "$WORK/dist/index.js" "$WORK/fuzz-seeds"; } >"$WORK/fuzz-seeds.log" 2>&1; then
  fail "fuzz: writing the seed corpus failed (addon $ADDON)" "$WORK/fuzz-seeds.log"
else
  rm -rf "$WORK/fuzz-corpus" && mkdir -p "$WORK/fuzz-corpus"
  printf '%s\n' '"VSGDFDCK"' '"\x01\x00\x00\x00"' '"{"' '"}"' '","' '":"' '"\\u00"' '"true"' '"false"' '"1e308"' \
    '"-0"' '"\"sparsity\""' '"\"instance\""' '"\"global\""' '"\"none\""' '"\"minibatch\""' >"$WORK/fuzz.dict"
  if timeout $((FUZZ_SECONDS + 120)) "$FUZZ" -max_total_time="$FUZZ_SECONDS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -dict="$WORK/fuzz.dict" -artifact_prefix="$WORK/fuzz-" "$WORK/fuzz-corpus" "$WORK/fuzz-seeds" \
    >"$WORK/fuzz.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$WORK/fuzz.log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$WORK/fuzz.log" | tail -1)
    pass "fuzz: checkpoint parsing, ${FUZZ_SECONDS} s, ${runs:-?} inputs, $cov, $(ls "$WORK/fuzz-seeds" | wc -l) seeds, no crash"
  else
    fail "fuzz: the checkpoint parser crashed or misbehaved (inputs in $WORK/fuzz-*)" "$WORK/fuzz.log"
  fi
fi

# -- 3. valgrind
VG=$WORK/valgrind.log
if ! command -v valgrind >/dev/null; then
  fail "valgrind: not installed"
elif [[ $have_lib -ne 1 ]]; then
  fail "valgrind: no addon or compiled library to run (addon $ADDON)" "$WORK/tsc.log"
elif ! timeout 600 valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=40 \
  --suppressions=scripts/valgrind-node.supp --log-file="$VG" \
  node --expose-gc scripts/native-session.js "$WORK/dist/index.js" >"$WORK/valgrind-session.log" 2>&1; then
  fail "valgrind: the session failed under valgrind" "$WORK/valgrind-session.log"
else
  # error records run from a header line to an empty "==pid== " line; count those through vsgd.node
  ours=$(awk '/^==[0-9]+== $/ { if (rec ~ /vsgd\.node/) n++; rec = ""; next } { rec = rec "\n" $0 } END { print n + 0 }' "$VG")
  lost=$(grep -o 'definitely lost: [0-9,]* bytes' "$VG" | grep -o '[0-9,]* bytes' | tr -d ,)
  errors=$(grep -o 'ERROR SUMMARY: [0-9]* errors' "$VG" | grep -o '[0-9]* errors')
  if [[ $ours -eq 0 && ${lost:-0 bytes} == "0 bytes" ]]; then
    pass "valgrind: session ran clean (definitely lost ${lost:-0 bytes}; ${errors:-0 errors} after suppressions; 0 through vsgd.node)"
  else
    fail "valgrind: $ours error records through vsgd.node, definitely lost ${lost:-?} (log $VG)" "$VG"
  fi
fi

echo "native checks: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
