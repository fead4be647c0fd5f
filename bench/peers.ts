// PyTorch's and numpy's Adam through Debian's python3-torch and python3-numpy: optional peers,
// measured in a child process when installed. Debian installs them for /usr/bin/python3, which
// may not be the first python3 on PATH; VSGD_BENCH_PYTHON overrides.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Result } from './cases.ts';
import { adamBytes } from './cases.ts';
import type { Budget } from './timing.ts';

export const INSTALL = 'apt-get update && apt-get install -y python3-torch python3-numpy';

export interface PeerRun { impl: 'torch' | 'numpy'; version?: string; threads?: number; results: Result[]; missing?: string }

const python = () => process.env.VSGD_BENCH_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

export function runPeer(impl: 'torch' | 'numpy', sizes: number[], budget: Budget, threads: number): PeerRun {
  const script = join(__dirname, 'peers', `adam_${impl}.py`);
  const env = { ...process.env };
  // numpy's OpenBLAS must pick its own core type and cache size on this machine
  if (impl === 'numpy') delete env.OPENBLAS_CORETYPE, delete env.OPENBLAS_L2_SIZE;
  const args = [script, '--sizes', sizes.join(','), '--budget-ms', String(budget.ms), '--min-reps', String(budget.minReps),
    '--max-reps', String(budget.maxReps), '--threads', String(threads)];
  let out: string;
  try {
    out = execFileSync(python(), args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  } catch (e) {
    const err = String((e as { stderr?: string }).stderr || (e as Error).message);
    const why = /ModuleNotFoundError|No module named/.test(err) ? `not installed (${INSTALL})` : `failed: ${err.trim().split('\n').pop()}`;
    return { impl, results: [], missing: why };
  }
  const j = JSON.parse(out.trim().split('\n').pop() as string);
  const results: Result[] = j.results.map((r: { d: number; ms: number; min: number; max: number; reps: number }) => ({
    case: impl, d: r.d, n: 1, threads: j.threads, bytes: adamBytes * r.d,
    stat: { ms: r.ms, min: r.min, max: r.max, reps: r.reps },
  }));
  return { impl, version: j.version, threads: j.threads, results };
}
