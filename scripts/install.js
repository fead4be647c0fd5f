// npm's install step for vsgd-fd (docs/install.md). In an installed package: keep the prebuilt
// addon the package ships when it loads here, and compile with cmake-js only when it does not
// (or with `--build-from-source`), leaving nothing of the build but build/Release/vsgd.node. In a
// clone of the repository (a git checkout): always compile, and keep the build folder.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const clone = fs.existsSync(path.join(root, '.git'));
const fromSource = clone || /^(true|1|vsgd-fd)$/.test(process.env.npm_config_build_from_source || '');

function prebuilt() {
  try {
    const native = require(path.join(root, 'dist', 'native.js'));
    return { ok: true, path: path.relative(root, native.addonPath) };
  } catch (e) {
    return { ok: false, why: String(e.message) };
  }
}

function fail(lines) {
  console.error(['vsgd-fd: no usable native addon.', ...lines].join('\n'));
  process.exit(1);
}

if (!fromSource) {
  const p = prebuilt();
  if (p.ok) {
    console.log(`vsgd-fd: using the prebuilt addon ${p.path}`);
    process.exit(0);
  }
  console.log(`vsgd-fd: the prebuilt addon does not load here; compiling from source.\n${p.why}`);
}

let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  require.resolve('node-addon-api', { paths: [root] });
} catch {
  fail([
    'Compiling it needs the packages cmake-js and node-addon-api, and cmake with a C++17 compiler:',
    '  npm install --save-dev cmake-js node-addon-api && npm rebuild vsgd-fd',
  ]);
}
if (spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status !== 0) {
  fail(['Compiling it needs cmake and a C++17 compiler on PATH (for example: apt-get install cmake g++),', 'then `npm rebuild vsgd-fd`.']);
}
const r = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail(['cmake-js compile failed (its output is above).']);
if (!clone) {
  // an installed package keeps the addon only: the objects and CMake's files are megabytes
  const build = path.join(root, 'build');
  for (const entry of fs.readdirSync(build)) {
    if (entry !== 'Release') fs.rmSync(path.join(build, entry), { recursive: true, force: true });
  }
  for (const entry of fs.readdirSync(path.join(build, 'Release'))) {
    if (entry !== 'vsgd.node') fs.rmSync(path.join(build, 'Release', entry), { recursive: true, force: true });
  }
}
