// The package as npm would pack it (the file list of `npm pack --dry-run`): what the README, the
// type comments and the CLI help point to is in it, nothing of a build is, and the runtime
// dependencies are the command line's only. scripts/package-check.sh installs it for real.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const packed = (): string[] => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
};

test('every file the README, the declarations and the CLI point to is packed; no build leftovers', (t) => {
  const files = new Set(packed());
  const texts = [readFileSync(join(root, 'README.md'), 'utf8'), readFileSync(join(root, 'lib', 'cli.ts'), 'utf8')];
  for (const f of readdirSync(join(root, 'dist'), { recursive: true }) as string[]) {
    if (f.endsWith('.d.ts')) texts.push(readFileSync(join(root, 'dist', f), 'utf8'));
  }
  const named = new Set(texts.flatMap((s) => [...s.matchAll(/\b(docs\/[\w/.-]+\.(?:md|png)|BENCHMARKS\.md|LICENSE)\b/g)].map((m) => m[1])));
  t.true(named.size >= 8, [...named].join(' '));
  for (const f of named) t.true(files.has(f), `${f} is named but not packed`);
  t.true(files.has('scripts/install.js') && files.has('dist/index.js') && files.has('dist/index.d.ts'));
  t.deepEqual([...files].filter((f) => /^build\/|^build-|CMakeFiles|\.o$/.test(f)), [], 'build leftovers');
});

test('the package says what it is: license, install step, lean runtime dependencies', (t) => {
  t.is(pkg.license, 'MIT');
  t.regex(readFileSync(join(root, 'LICENSE'), 'utf8'), /^MIT License/);
  t.is(pkg.scripts.install, 'node scripts/install.js');
  t.true(pkg.files.includes('prebuilds'), 'the prebuilt addons ship');
  t.deepEqual(Object.keys(pkg.dependencies).sort(), ['cli-progress', 'commander'], 'the command line\'s only');
  for (const name of Object.keys(pkg.peerDependencies)) {
    t.true(pkg.peerDependenciesMeta[name]?.optional, `${name}: optional`);
    t.truthy(pkg.devDependencies[name], `${name}: in a clone`);
  }
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  t.true(readme.indexOf('npm install vsgd-fd') < readme.indexOf('## Example'), 'the user\'s command comes first');
  t.regex(readme.slice(0, readme.indexOf('## Example')), /npm install && npm run simulate[\s\S]*npm test/, 'a clone\'s two commands near the top');
});
