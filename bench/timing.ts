import { cpus } from 'node:os';

// Repeated timing with a time budget: calls too short to time alone are batched, and every
// repeat reports the time per call; the bench keeps the median and the min-max.

export interface Stat {
  /** median, min and max over repeats, milliseconds per call */
  ms: number;
  min: number;
  max: number;
  reps: number;
  /** same, for the part of a call that the body timed itself (e.g. update() inside probe+update) */
  part?: { ms: number; min: number; max: number };
}

export interface Budget {
  /** target time of all repeats together, ms */
  ms: number;
  minReps: number;
  maxReps: number;
  /** shortest batch of calls worth timing, ms */
  batchMs: number;
  /** a call slower than this gets only three repeats */
  slowMs?: number;
  /** batch size must be a multiple of this (curvatureEvery cycles) */
  multiple?: number;
  /** the caller already ran the body once (see measure) */
  warmed?: boolean;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const summary = (xs: number[]) => ({ ms: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

/** The median time of calls body(0) .. body(calls - 1), each timed alone, ms (rounds of cases
 * taking turns). */
export function timesOf(body: (k: number) => void, calls: number): number {
  const ms: number[] = [];
  for (let k = 0; k < calls; k++) {
    const t0 = performance.now();
    body(k);
    ms.push(performance.now() - t0);
  }
  return summary(ms).ms;
}

export const gc = () => (globalThis as { gc?: () => void }).gc?.();

/** body(k) runs the k-th call; if it returns a number, that is the ms of its own timed part. */
export function measure(body: (k: number) => number | void, b: Budget): Stat {
  const mult = b.multiple ?? 1;
  let k = 0;
  const totals: number[] = [];
  const parts: number[] = [];
  const run = (batch: number) => {
    let part = 0;
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) part += body(k++) ?? 0;
    return { ms: Math.max((performance.now() - t0) / batch, 1e-6), part: part / batch };
  };
  let w = run(mult);  // warm-up
  if (w.ms < b.batchMs) w = run(mult);  // cheap calls: size the batch on a warm call
  const batch = Math.ceil(Math.max(1, b.batchMs / w.ms) / mult) * mult;
  const minReps = b.slowMs !== undefined && w.ms > b.slowMs ? Math.min(3, b.minReps) : b.minReps;
  const reps = Math.max(minReps, Math.min(b.maxReps, Math.floor(b.ms / (w.ms * batch))));
  // a body warmed by its caller (page faults, bootstrap) makes a long warm-up call a valid repeat
  if (b.warmed && batch === mult) totals.push(w.ms), parts.push(w.part);
  while (totals.length < reps) {
    const r = run(batch);
    totals.push(r.ms);
    parts.push(r.part);
  }
  const stat: Stat = { ...summary(totals), reps };
  if (parts.some((p) => p > 0)) stat.part = summary(parts);
  return stat;
}

const cpuTimes = () => cpus().reduce((a, c) => {
  const { user, nice, sys, irq, idle } = c.times;
  return { busy: a.busy + user + nice + sys + irq, all: a.all + user + nice + sys + irq + idle };
}, { busy: 0, all: 0 });

/** Share of all CPUs busy during the next `ms` (this process sleeps meanwhile). */
export function othersBusy(ms = 1000): number {
  const stop = othersMeter();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return stop();
}

/** Starts counting CPU time that other processes take; the returned function gives their share
 * of all CPUs since the start. Other work distorts the multi-threaded cases most. */
export function othersMeter(): () => number {
  const a = cpuTimes(), own = process.cpuUsage();
  return () => {
    const b = cpuTimes(), mine = process.cpuUsage(own);
    return Math.max(0, (b.busy - a.busy - (mine.user + mine.system) / 1000) / Math.max(1, b.all - a.all));
  };
}
