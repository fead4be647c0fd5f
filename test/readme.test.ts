// The README's example runs as written (through the package name, as a user would import it).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;

test('the README example runs', (t) => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const code = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  t.truthy(code, 'README has an Example section with a ts block');
  const tsx = `${root}node_modules/tsx/dist/cli.mjs`;
  const out = execFileSync(process.execPath, [tsx, '--eval', code as string], { cwd: root, encoding: 'utf8' });
  const rates = out.slice(out.indexOf('[')).match(/-?\d+(\.\d+)?(e-?\d+)?/g)?.map(Number) ?? [];
  t.true(rates.length >= 3 && rates.every((r) => r > 0 && Number.isFinite(r)), `printed rates: ${out}`);
});
