// `npm pack` and `npm publish` run this (prepack): the prebuilt addons the package ships, for
// this platform, in prebuilds/<platform>-<arch>/: vsgd.node (CPU only) always, and
// vsgd-cuda.node (the CPU backend plus CUDA, which falls back to the CPU at run time) when nvcc is
// found. Each is compiled in a build folder of its own and checked to load before it is kept.
// VSGD_FD_PREBUILD=cpu skips the CUDA build.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const platform = `${process.platform}-${process.arch}`;
const out = path.join(root, 'prebuilds', platform);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const nvcc = spawnSync('nvcc', ['--version'], { stdio: 'ignore' }).status === 0;

const variants = [['vsgd.node', 'OFF']];
if (nvcc && process.env.VSGD_FD_PREBUILD !== 'cpu') variants.push(['vsgd-cuda.node', 'ON']);

fs.rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
for (const [name, cuda] of variants) {
  const dir = path.join(root, `build-prebuild-${cuda === 'ON' ? 'cuda' : 'cpu'}`);
  console.log(`prebuild: ${platform}/${name} (VSGD_CUDA=${cuda})`);
  const args = [cmakeJs, 'compile', '--out', dir, `--CDVSGD_CUDA=${cuda}`];
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`prebuild: cmake-js compile failed for ${name}`);
  const file = path.join(out, name);
  fs.copyFileSync(path.join(dir, 'Release', 'vsgd.node'), file);
  if (process.platform === 'linux') spawnSync('strip', ['--strip-unneeded', file], { stdio: 'inherit' });
  // it must load, and its CUDA status must be what was asked for
  const compiled = execFileSync(process.execPath, ['-p', `require(${JSON.stringify(file)}).backends().cuda.compiled`], { encoding: 'utf8' }).trim();
  if (compiled !== String(cuda === 'ON')) throw new Error(`prebuild: ${name} reports cuda.compiled = ${compiled}`);
  let needs = '';
  if (process.platform === 'linux') {
    // what a machine must have for it to load: its shared libraries and the newest glibc symbol
    const libs = [...execFileSync('readelf', ['-d', file], { encoding: 'utf8' }).matchAll(/\(NEEDED\).*\[(.+)\]/g)].map((m) => m[1]);
    const symbols = execFileSync('objdump', ['-T', file], { encoding: 'utf8' });
    const newest = (re) => [...symbols.matchAll(re)].map((m) => m[1]).sort((x, y) => x.localeCompare(y, 'en', { numeric: true })).at(-1);
    needs = `; needs ${libs.join(', ')}, glibc >= ${newest(/GLIBC_([\d.]+)/g)}, libstdc++ with GLIBCXX_${newest(/GLIBCXX_([\d.]+)/g)}`;
  }
  console.log(`prebuild: ${path.relative(root, file)}, ${(fs.statSync(file).size / 1024).toFixed(0)} kB${needs}`);
}
