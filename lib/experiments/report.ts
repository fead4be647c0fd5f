// The report folder: results.json (every number behind the figures), one PNG per figure and a
// self-contained index.html (images inlined as data: URLs, no script, nothing fetched).
// The folder is written beside its final place and renamed into it, so an interrupted run
// leaves either the old report or the new one, never half of one.
import fs from 'node:fs';
import path from 'node:path';
import { FIXED_RATE, type GridResult, type Row, fails } from './elementary';
import { figure1Png, figure2Png, figure3Png, figure5Png, figure6Png } from './figures';
import { CELL_W, RED_DECADES, blueScales, colorOf, layout, rgb } from './heatmap';
import type { Panel } from './minibatch';
import type { Figure3 } from './reweight';

export interface Results {
  grid: GridResult;
  figure1: Panel[];
  figure2: Panel[];
  figure3: Figure3;
  command: string;
  version: string;
  seconds: number;
}

export const FIGURES = ['figure5', 'figure6', 'figure1', 'figure2', 'figure3'] as const;

/** Figure 5 shows vSGD-fd and two baselines on one case, n = 1 (or what the grid has). */
function figure5Choice(grid: GridResult): { caseIndex: number; rows: number[] } {
  let caseIndex = grid.cases.findIndex((c) => c.loss === 'quad' && c.A === 1 && c.noise === 1);
  if (caseIndex < 0) caseIndex = 0;
  const n = grid.rows[0].n;
  const pick: number[] = [];
  for (const id of ['vsgdfd', 'sgd-0.1-0', 'adagrad-1', 'natural-1', 'vsgd', 'adam']) {
    const k = grid.rows.findIndex((r) => r.setting.id === id && r.n === n);
    if (k >= 0 && pick.length < 3) pick.push(k);
  }
  for (let k = 0; pick.length < Math.min(3, grid.rows.length) && k < grid.rows.length; k++) if (grid.rows[k].n === n && !pick.includes(k)) pick.push(k);
  return { caseIndex, rows: pick };
}

export function claim(grid: GridResult) {
  const vsgdfd = grid.rows.filter((r) => r.setting.algo === 'vsgdfd').map((r) => ({ label: r.setting.label, n: r.n, improved: r.improved, cases: r.squares.length }));
  const fixed = grid.rows.filter((r) => FIXED_RATE.includes(r.setting.algo));
  const ids = [...new Set(fixed.map((r) => r.setting.id))];
  const neverFail = ids.filter((id) => fixed.filter((r) => r.setting.id === id).every((r) => !fails(r)));
  return {
    vsgdfd,
    vsgdfdImprovesEverywhere: vsgdfd.length > 0 && vsgdfd.every((v) => v.improved === v.cases),
    fixedRateRows: fixed.length,
    fixedRateRowsThatFail: fixed.filter(fails).length,
    /** fixed-rate settings that improve on every case at every n (the paper says there are none) */
    fixedRateSettingsThatNeverFail: neverFail,
  };
}

export function resultsJson(r: Results) {
  const { grid } = r;
  const L = layout(grid);
  const f5 = figure5Choice(grid);
  return {
    tool: 'vsgd-fd simulate',
    version: r.version,
    command: r.command,
    seconds: { total: round(r.seconds, 2), grid: round(r.grid.seconds, 2) },
    settings: {
      ...grid.options,
      definitions: {
        gain: 'log10(excess_0 / excess_T) for one run; "gain of the mean" uses the mean excess over the runs',
        improved: 'gain of the mean > 0 and median run gain > 0',
        diverged: 'mean final excess larger than the initial, or not finite',
        fails: 'a row fails when it does not improve on some case',
        heatmap: 'sorted[step][rank] = log10(excess / excess_0), runs sorted ascending (best first); null = not finite; capped at 300 decades',
      },
    },
    elementary: {
      cases: grid.cases,
      steps: grid.steps,
      rows: grid.rows.map((row) => ({
        id: row.setting.id, label: row.setting.label, algo: row.setting.algo, options: row.setting.options, n: row.n,
        improved: row.improved, diverged: row.diverged, worstGain: row.worstGain, worstCase: row.worstCase,
        squares: row.squares,
      })),
      claim: claim(grid),
    },
    figures: {
      figure5: { caseIndex: f5.caseIndex, rows: f5.rows },
      figure6: { blueScales: blueScales(grid), redDecades: RED_DECADES, cellWidth: CELL_W, layout: L },
      figure1: r.figure1,
      figure2: r.figure2,
      figure3: r.figure3,
    },
  };
}

export type ResultsJson = ReturnType<typeof resultsJson>;

/** Every file of the report, by name. */
export function reportFiles(r: Results): Map<string, Buffer> {
  const json = resultsJson(r);
  const blue = json.figures.figure6.blueScales;
  const pngs: Record<(typeof FIGURES)[number], Buffer> = {
    figure5: figure5Png(r.grid, json.figures.figure5.caseIndex, json.figures.figure5.rows, blue),
    figure6: figure6Png(r.grid, blue, json.figures.figure6.layout),
    figure1: figure1Png(r.figure1),
    figure2: figure2Png(r.figure2),
    figure3: figure3Png(r.figure3),
  };
  const files = new Map<string, Buffer>();
  for (const name of FIGURES) files.set(`${name}.png`, pngs[name]);
  files.set('results.json', Buffer.from(JSON.stringify(json)));
  files.set('index.html', Buffer.from(html(json, pngs)));
  return files;
}

/** Writes the files into a fresh folder beside `out`, then swaps it in. */
export function writeReport(out: string, files: Map<string, Buffer>, signal?: AbortSignal): void {
  const target = path.resolve(out);
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  if (fs.existsSync(target)) {
    const entries = fs.statSync(target).isDirectory() ? fs.readdirSync(target) : null;
    if (entries === null || (entries.length > 0 && !entries.includes('results.json'))) {
      throw new Error(`Refusing to replace ${target}: it is not an earlier report (no results.json in it)`);
    }
  }
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.tmp-`));
  fs.chmodSync(tmp, 0o755); // mkdtemp makes it private; a report is for reading
  let old: string | null = null;
  try {
    for (const [name, data] of files) {
      if (signal?.aborted) throw new Error('interrupted');
      fs.writeFileSync(path.join(tmp, name), data);
    }
    if (fs.existsSync(target)) {
      old = `${tmp}-old`;
      fs.renameSync(target, old);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (old && !fs.existsSync(target)) fs.renameSync(old, target);
    throw err;
  }
  if (old) fs.rmSync(old, { recursive: true, force: true });
}

const round = (x: number, k: number) => Math.round(x * 10 ** k) / 10 ** k;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** how the tables print a gain (tests parse this back) */
export const showGain = (g: number | null) => (g === null ? 'not finite' : g.toFixed(2));

function robustnessTable(rows: ResultsJson['elementary']['rows'], ns: number[], caseName: (k: number) => string): string {
  const ids = [...new Set(rows.map((r) => r.id))];
  const head = ns.map((n) => `<th colspan="3">n = ${n}</th>`).join('');
  const sub = ns.map(() => '<th>improved</th><th>diverged</th><th>worst gain (case)</th>').join('');
  const body = ids.map((id) => {
    const cells = ns.map((n) => {
      const r = rows.find((x) => x.id === id && x.n === n);
      if (!r) return '<td></td><td></td><td></td>';
      const total = r.squares.length;
      const cls = r.improved === total ? 'ok' : 'bad';
      return `<td class="${cls}" data-id="${esc(id)}" data-n="${n}" data-k="improved">${r.improved}/${total}</td>` +
        `<td data-id="${esc(id)}" data-n="${n}" data-k="diverged">${r.diverged}</td>` +
        `<td data-id="${esc(id)}" data-n="${n}" data-k="worst">${showGain(r.worstGain)} (${esc(caseName(r.worstCase))})</td>`;
    }).join('');
    const label = rows.find((x) => x.id === id)?.label ?? id;
    return `<tr><th class="label">${esc(label)}</th>${cells}</tr>`;
  });
  return `<table id="robustness"><thead><tr><th rowspan="2">setting</th>${head}</tr><tr>${sub}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

function gainTable(json: ResultsJson): string {
  const { cases, rows } = json.elementary;
  const blue = json.figures.figure6.blueScales;
  const head = cases.map((c) => `<th title="${esc(`${c.loss} A=${c.A} σ²=${c.noise}`)}">${esc(c.loss)}<br>${c.A}<br>${c.noise}</th>`).join('');
  const body = rows.map((r, k) => {
    const cells = r.squares.map((s, c) => {
      const g = s.gainMean;
      const bg = rgb(colorOf(g === null ? null : -g, blue[c]));
      const fg = g !== null && (g > 0.6 * blue[c] || g < -1) ? '#fff' : '#000';
      return `<td style="background:${bg};color:${fg}" data-row="${k}" data-case="${c}">${showGain(g)}</td>`;
    }).join('');
    return `<tr><th class="label">${esc(r.label)}</th><th>${r.n}</th>${cells}</tr>`;
  });
  return `<table id="gains" class="small"><thead><tr><th>setting</th><th>n</th>${head}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

function html(json: ResultsJson, pngs: Record<string, Buffer>): string {
  const s = json.settings;
  const { cases } = json.elementary;
  const caseName = (k: number) => `${cases[k].loss} A=${cases[k].A} σ²=${cases[k].noise}`;
  const img = (name: string, alt: string) => `<img id="${name}" src="data:image/png;base64,${pngs[name].toString('base64')}" alt="${esc(alt)}">`;
  const c = json.elementary.claim;
  const labels = [...new Set(c.vsgdfd.map((v) => v.label))];
  const vs = labels.map((l) => `${l} improves on ${c.vsgdfd.filter((v) => v.label === l).map((v) => `${v.improved}/${v.cases} cases at n = ${v.n}`).join(', ')}`).join('; ');
  const never = c.fixedRateSettingsThatNeverFail;
  const f5 = json.figures.figure5;
  const labelOf = (id: string) => json.elementary.rows.find((r) => r.id === id)?.label ?? id;
  const settingsRows: [string, string][] = [
    ['command', json.command],
    ['seed', String(s.seed)],
    ['runs per case', String(s.runs)],
    ['updates per run', String(s.steps)],
    ['minibatch sizes n', s.ns.join(', ')],
    ['losses', s.losses.join(', ')],
    ['algorithms', s.algorithms.join(', ')],
    ['η₀ grid (SGD, AdaGrad, natural gradient)', s.lrs.join(', ')],
    ['γ grid (SGD)', s.decays.join(', ')],
    ['vSGD, vSGD-fd, Adam', 'library defaults (vSGD-fd: bootstrap 10, slowStart 2, ε 1e-5, outlierSigmas 2; Adam: lr 1e-3)'],
    ['θ₀, recorded steps', `1; ${json.elementary.steps.join(', ')}`],
    ['threads per optimizer', String(s.threads ?? 'library default')],
    ['version', json.version],
    ['time', `${json.seconds.total} s in all, ${json.seconds.grid} s for the grid`],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vSGD-fd: the paper's experiments</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1560px;padding:0 16px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
th.label{text-align:left;white-space:nowrap}td.ok{background:#e3f1e3}td.bad{background:#f8e0e0}
table.small td,table.small th{font-size:10px;padding:1px 3px}
img{max-width:100%;border:1px solid #eee}figure{margin:12px 0}figcaption{max-width:1000px}
code{background:#f4f4f4;padding:0 3px}
</style></head><body>
<h1>vSGD-fd: the paper's experiments</h1>
<p id="claim">${vs}${c.vsgdfdImprovesEverywhere ? ' — every case, as the paper claims.' : ' — <strong>not every case</strong>, unlike the paper.'}
Of the ${c.fixedRateRows} rows of fixed-rate baselines (SGD, AdaGrad, natural gradient; one row per setting and n), ${c.fixedRateRowsThatFail} fail on at least one case.
${never.length === 0 ? 'Every fixed-rate setting fails somewhere, as the paper claims.' : `<strong>Unlike the paper's claim</strong>, these fixed-rate settings improve on every case at every n: <span id="never-fail">${never.map((id) => esc(labelOf(id))).join(', ')}</span> (their worst gains are in the table below).`}</p>
<h2>Settings</h2>
<table id="settings"><tbody>${settingsRows.map(([k, v]) => `<tr><th class="label">${esc(k)}</th><td style="text-align:left"><code>${esc(v)}</code></td></tr>`).join('')}</tbody></table>
<p>Definitions: ${Object.entries(s.definitions).map(([k, v]) => `<b>${esc(k)}</b>: ${esc(v)}`).join('; ')}.</p>
<h2>Robustness per algorithm setting</h2>
${robustnessTable(json.elementary.rows, s.ns, caseName)}
<h2>Figure 5: how to read a heatmap square</h2>
<figure>${img('figure5', 'learning curves and heatmap squares of one case')}<figcaption>Left: log10(loss / initial loss) of ${json.elementary.rows[f5.rows[0]].squares[f5.caseIndex].trials.length} runs per algorithm (thin) and of the mean loss (thick) on ${esc(caseName(f5.caseIndex))}, at steps 0, 1, 2, 4, …. Right: all runs of the same three as heatmap squares: x is the step (log2), y the runs sorted by their loss at that step; white is the initial loss, blue lower, red higher.</figcaption></figure>
<h2>Figure 6: every algorithm setting on the 36 cases</h2>
<figure>${img('figure6', 'heatmap of all algorithm settings on all cases')}<figcaption>One square per (algorithm setting, n, case); rows come in pairs n = ${s.ns.join(' / ')}. Colour scales are shared within a column (one case), not across columns.</figcaption></figure>
<h2>Gain of the mean loss per case, after the last update</h2>
<div style="overflow-x:auto">${gainTable(json)}</div>
<h2>Figure 1: diminishing returns of minibatches</h2>
<figure>${img('figure1', 'relative gain per sample against minibatch size')}<figcaption>Noisy separable quadratic, one update with the optimal rates of eq. 3 (dense) and eq. 4 (sparse: each gradient entry non-zero with probability p), from distance 1 with curvature 1: log-loss gain per sample gradient at minibatch size n, relative to n = 1. Curves are exact expectations, dots Monte Carlo runs of the problem.</figcaption></figure>
<h2>Figure 2: instance-based against global sparsity</h2>
<figure>${img('figure2', 'instance-based and global effective minibatch sizes')}<figcaption>Same measure; green uses each minibatch's own count of non-zero entries (eq. 4), red the long-term average p (clamped n·p), yellow dots 40 fixed SGD rates from 0.01 to 100 (only those with a positive gain). The dashed line marks n = 1/p.</figcaption></figure>
<h2>Figure 3: reweighting minibatch gradients</h2>
<figure>${img('figure3', 'mean and reweighted gradient of two clusters')}<figcaption>The plain mean is dominated by the common cluster; the reweighted gradient of eq. 5 takes about a full step toward each cluster, close to what a hard clustering would give. Reweighted: (${json.figures.figure3.reweighted.direction.map((v) => v.toFixed(3)).join(', ')}), mean: (${json.figures.figure3.mean.map((v) => v.toFixed(3)).join(', ')}), clustering: (${json.figures.figure3.clustered.map((v) => v.toFixed(3)).join(', ')}).</figcaption></figure>
<p>Every number behind these figures is in <a href="results.json">results.json</a>.</p>
</body></html>
`;
}
