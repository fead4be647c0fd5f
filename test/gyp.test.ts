// binding.gyp is a second, CPU-only build of the same sources through node-gyp: build it in a
// scratch copy, load it in a child process and check it computes the same bits as the main build.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

// A short deterministic trajectory; prints theta's bits.
const script = `
const { VSGDfd } = require(${JSON.stringify(join(root, 'dist', 'index.js'))});
const d = 300, n = 4, theta = new Float32Array(d).fill(1);
const opt = new VSGDfd(theta, { minibatch: n, curvatureEvery: 2 });
let s = 1;
const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
for (let k = 0; k < 40; k++) {
  const xi = Array.from({ length: n * d }, rand);
  opt.step((at, out) => { for (let j = 0; j < n * d; j++) out[j] = (1 + (j % d) / d) * (at[j % d] - xi[j]); });
}
console.log(JSON.stringify(Array.from(new Uint32Array(theta.buffer))));
`;

test('the node-gyp build compiles, loads and matches the cmake-js build bit for bit', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vsgd-gyp-'));
  try {
    cpSync(join(root, 'binding.gyp'), join(dir, 'binding.gyp'));
    cpSync(join(root, 'native'), join(dir, 'native'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const gyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    execFileSync(process.execPath, [gyp, 'rebuild', '-j', '2'], { cwd: dir, stdio: 'pipe' });
    const addon = join(dir, 'build', 'Release', 'vsgd.node');
    const run = (env: NodeJS.ProcessEnv) => execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
    const viaGyp = run({ ...process.env, VSGD_FD_ADDON: addon });
    const viaMain = run(process.env); // the build the other tests use
    t.is(viaGyp, viaMain);
    t.true(JSON.parse(viaGyp).length === 300);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
