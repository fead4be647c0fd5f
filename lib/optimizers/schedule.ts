// The probe/curvature schedule of one optimizer (docs/algorithm.md, "Curvature every k-th update" and
// "Bootstrap"): when an update must come with curvature rows, how many coordinates still
// bootstrap, which rows the probe point of this step was formed from, and what the probe buffer
// holds. Plain bookkeeping; the optimizer asks it and tells it what happened.

/** What the second row argument of update() is: gradients at the probe point (VSGDfd), supplied
 * curvature (VSGD), or nothing (the baselines). */
export type RowKind = 'shifted' | 'curvature' | null;

export class Schedule {
  /** coordinates still gathering bootstrap statistics (all of them at first) */
  boot: number;
  /** the rows of this step's probe point: null before probe(), 0 when it came from the state
   * alone, else the row count (update() must then bring as many) */
  probedRows: number | null = null;
  /** nnz of the sparse rows probeSparse() was given, for the same check */
  probedNnz = 0;
  /** 'current': the probe buffer holds θ+δ (δ from the state alone) for every coordinate, as
   * the last update left it; 'patched': and probeSparse() then adjusted its rows' coordinates */
  point: 'none' | 'current' | 'patched' = 'none';

  constructor(
    readonly kind: RowKind,
    readonly every: number,
    /** dense rates: every coordinate bootstraps together, and curvature is due until all are done */
    readonly dense: boolean,
    d: number,
  ) {
    this.boot = kind ? d : 0;
  }

  /** whether the update after `steps` updates must bring curvature rows */
  due(steps: number): boolean {
    return this.kind !== null && (steps % this.every === 0 || (this.dense && this.boot > 0));
  }

  /** why it is due, for messages */
  why(): string {
    return this.dense && this.boot > 0 ? 'the optimizer is bootstrapping' : `curvatureEvery = ${this.every}`;
  }

  /** whether the update after `steps` updates should also write the next probe point: it does
   * when the next update takes curvature, on backends that fuse it into the pass */
  fuses(steps: number, fusesProbe: boolean): boolean {
    return this.kind === 'shifted' && fusesProbe && (steps + 1) % this.every === 0;
  }

  /** after an update: `boot` coordinates still bootstrap; `fused` says whether it wrote the probe */
  stepped(boot: number, fused: boolean): void {
    this.boot = boot;
    this.probedRows = null;
    this.point = fused ? 'current' : 'none';
  }

  /** theta or the state changed behind the schedule's back: the probe buffer is stale */
  invalidate(): void {
    this.point = 'none';
  }
}
