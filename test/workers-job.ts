// The job of test/workers.test.ts: one optimizer stepping a deterministic noisy quadratic on a
// view of a SharedArrayBuffer. Run in worker threads, and sequentially in the main thread to
// compare. Run as a worker's entry point, it does the jobs in workerData and posts the results.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as lib from '../lib/index.ts';
import { rng } from './reference.ts';

export interface Job { algo: 'VSGDfd' | 'VSGD' | 'SGD' | 'AdaGrad' | 'NaturalGradient' | 'Adam'; options: object; d: number; steps: number; seed: number; offset: number }
export interface Result { bytes: Uint8Array; infos: string }

export function runJob(job: Job, theta: Float32Array): Result {
  const Cls = lib[job.algo] as unknown as new (theta: Float32Array, options: object) => lib.Optimizer;
  const opt = new Cls(theta, job.options);
  const r = rng(job.seed);
  const n = (job.options as { minibatch?: number }).minibatch ?? 1;
  const noise = new Float32Array(n * job.d);
  const infos = [];
  for (let s = 0; s < job.steps; s++) {
    for (let k = 0; k < noise.length; k++) noise[k] = r() - 0.5;
    infos.push(opt.step((at, out, curv) => {
      for (let k = 0; k < out.length; k++) out[k] = (1 + (k % 7)) * at[k % job.d] - noise[k];
      curv?.fill(2);
    }));
  }
  const bytes = opt.save();
  opt.dispose();
  return { bytes, infos: JSON.stringify(infos) };
}

if (!isMainThread && workerData?.jobs) {
  const { jobs, shared } = workerData as { jobs: Job[]; shared: SharedArrayBuffer };
  const results = jobs.map((job) => runJob(job, new Float32Array(shared, job.offset * 4, job.d)));
  parentPort?.postMessage(results);
}
