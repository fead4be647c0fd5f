// `vsgd-fd simulate` on a reduced grid (30 runs instead of 100, everything else as the default):
// the paper's claims, results.json's own consistency, the heatmap's pixels against results.json,
// and index.html in headless Chromium (every figure there, no console error, nothing fetched,
// tables equal to results.json).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import test from 'ava';
import { FIXED_RATE } from '../lib/experiments/elementary.ts';
import { CELL_W, colorOf, rankAt } from '../lib/experiments/heatmap.ts';
import { FIGURES, type ResultsJson, showGain } from '../lib/experiments/report.ts';
import { expectedExcess } from '../lib/problems/elementary.ts';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(import.meta.dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vsgd-report-'));
const out = path.join(dir, 'report');
const args = ['--import', 'tsx', path.join(ROOT, 'lib/cli.ts'), 'simulate', '--out', out, '--runs', '30', '--no-progress'];
const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
const json: ResultsJson | null = run.status === 0 ? JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) : null;
const need = () => {
  if (!json) throw new Error(`simulate failed (status ${run.status}):\n${run.stderr}`);
  return json;
};

test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the report folder holds index.html, results.json and one PNG per figure', (t) => {
  need();
  t.deepEqual(fs.readdirSync(out).sort(), ['index.html', 'results.json', ...FIGURES.map((f) => `${f}.png`)].sort());
  t.deepEqual(fs.readdirSync(dir), ['report'], 'no temporary folder is left beside it');
  t.regex(run.stdout, /vSGD-fd \(defaults\) +n=1: 36\/36/);
});

test("claim: vSGD-fd, variant 'paper' and the defaults, improves on all 36 cases for n = 1 and n = 10", (t) => {
  const rows = need().elementary.rows.filter((r) => r.algo === 'vsgdfd');
  t.deepEqual(rows.map((r) => [r.id, r.n, r.improved, r.diverged]), [['vsgdfd-paper', 1, 36, 0], ['vsgdfd-paper', 10, 36, 0], ['vsgdfd', 1, 36, 0], ['vsgdfd', 10, 36, 0]]);
  t.true(need().elementary.claim.vsgdfdImprovesEverywhere);
});

test('claim: every fixed-rate algorithm has settings that fail; the largest rate fails at every n', (t) => {
  const rows = need().elementary.rows.filter((r) => (FIXED_RATE as string[]).includes(r.algo));
  for (const algo of FIXED_RATE) {
    const mine = rows.filter((r) => r.algo === algo);
    t.true(mine.some((r) => r.improved < 36), algo);
    for (const r of mine.filter((x) => x.options.lr === 10)) t.true(r.improved < 36 && r.diverged > 0, `${r.label} n=${r.n}`);
  }
  t.true(rows.filter((r) => r.improved < 36).length > rows.length / 2, 'most fixed-rate rows fail somewhere');
});

// The paper says every fixed setting fails somewhere. Here small decayed SGD rates and AdaGrad
// with η₀ <= 1 improve (some by a hair) on every case: AdaGrad's first step is η₀·sign(g), so
// η₀ = 1 = |θ₀ − θ*| lands next to the optimum at once (README, docs/experiments.md). What holds:
// the settings that never fail are all small-rate ones; no rate above 1 survives every case.
test('known deviation from the paper: only fixed settings with η₀ <= 1 improve everywhere', (t) => {
  const never = need().elementary.claim.fixedRateSettingsThatNeverFail as unknown[];
  const rows = need().elementary.rows.filter((r) => (FIXED_RATE as string[]).includes(r.algo) && r.improved === 36);
  t.log(`fixed settings that improve on all 36 cases: ${rows.map((r) => `${r.label} n=${r.n}`).join('; ')}`);
  t.true(never.length > 0 || rows.length === 0);
  for (const r of rows) t.true((r.options.lr as number) <= 1, `${r.label} n=${r.n}`);
});

test('results.json is consistent with itself: counts, gains, sorting, e0', (t) => {
  const j = need();
  let checked = 0;
  for (const r of j.elementary.rows) {
    t.is(r.improved, r.squares.filter((s) => s.improved).length);
    t.is(r.diverged, r.squares.filter((s) => s.diverged).length);
    r.squares.forEach((s, c) => {
      t.is(s.e0, expectedExcess(j.elementary.cases[c], 1));
      const last = s.meanExcess[s.meanExcess.length - 1];
      if (last !== null && s.gainMean !== null && last > 0) t.true(Math.abs(s.gainMean - Math.log10(s.e0 / last)) < 1e-9);
      t.is(s.improved, s.gainMean !== null && s.gainMean > 0 && s.gainMedian !== null && s.gainMedian > 0);
      t.is(s.diverged, last === null || last > s.e0);
      for (const col of s.sorted) {
        const xs = col.filter((x): x is number => x !== null);
        t.true(xs.every((x, k) => k === 0 || xs[k - 1] <= x), 'sorted ascending');
        t.is(col.length, j.settings.runs);
      }
      checked++;
    });
  }
  t.is(checked, 20 * 2 * 36); // 20 settings (vSGD-fd twice: variant 'paper' and the defaults)
});

test('the Figure 6 PNG shows exactly the sorted losses of results.json', async (t) => {
  const j = need();
  const { layout: L, blueScales } = j.figures.figure6;
  const image = await loadImage(fs.readFileSync(path.join(out, 'figure6.png')));
  t.deepEqual([image.width, image.height], [L.width, L.height]);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  const px = ctx.getImageData(0, 0, image.width, image.height).data;
  const bad: string[] = [];
  let checked = 0;
  j.elementary.rows.forEach((row, r) => row.squares.forEach((sq, c) => {
    sq.sorted.forEach((col, s) => {
      for (const py of [0, 13, L.squareH - 1]) {
        const want = colorOf(col[rankAt(py, col.length, L.squareH)], blueScales[c]);
        const o = ((L.y[r] + py) * L.width + L.x[c] + s * CELL_W + 1) * 4;
        const got = [px[o], px[o + 1], px[o + 2]];
        checked++;
        if (got.some((v, k) => v !== want[k])) bad.push(`${row.label} n=${row.n} case ${c} step ${s} y ${py}: ${got} vs ${want}`);
      }
    });
  }));
  t.true(checked > 20_000);
  t.deepEqual(bad.slice(0, 5), []);
});

const hasChromium = fs.existsSync(CHROMIUM);
const browserTest = hasChromium ? test : test.skip;
if (!hasChromium) console.warn(`report.test.ts: ${CHROMIUM} is absent (apt-get install chromium); the browser test is skipped`);

browserTest('index.html renders offline in Chromium: every figure, no console error, tables equal results.json', async (t) => {
  const j = need();
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    const fetched: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => fetched.push(r.url()));
    await page.goto(`file://${path.join(out, 'index.html')}`, { waitUntil: 'load' });
    t.deepEqual(errors, []);
    t.deepEqual(fetched.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')), [], 'nothing is fetched from a network');
    for (const name of FIGURES) {
      const info = await page.$eval(`img#${name}`, (el) => {
        const img = el as unknown as { complete: boolean; naturalWidth: number; src: string };
        return { ok: img.complete && img.naturalWidth > 0, src: img.src };
      });
      t.true(info.ok, `${name} loaded`);
      const file = fs.readFileSync(path.join(out, `${name}.png`)).toString('base64');
      t.is(info.src, `data:image/png;base64,${file}`, `${name} inlined from its PNG`);
    }
    const robust = await page.$$eval('#robustness td[data-id]', (tds) => tds.map((td) => [td.getAttribute('data-id'), td.getAttribute('data-n'), td.getAttribute('data-k'), td.textContent]));
    t.is(robust.length, 20 * 2 * 3);
    for (const [id, n, k, text] of robust) {
      const row = j.elementary.rows.find((r) => r.id === id && String(r.n) === n);
      if (!row) {
        t.fail(`no row ${id} n=${n}`);
        continue;
      }
      const c = j.elementary.cases[row.worstCase];
      const want = k === 'improved' ? `${row.improved}/36` : k === 'diverged' ? String(row.diverged) : `${showGain(row.worstGain)} (${c.loss} A=${c.A} σ²=${c.noise})`;
      t.is(text, want, `${id} n=${n} ${k}`);
    }
    const gains = await page.$$eval('#gains td[data-row]', (tds) => tds.map((td) => [Number(td.getAttribute('data-row')), Number(td.getAttribute('data-case')), td.textContent]));
    t.is(gains.length, 20 * 2 * 36);
    const wrong = gains.filter(([r, c, text]) => text !== showGain(j.elementary.rows[r as number].squares[c as number].gainMean));
    t.deepEqual(wrong, []);
    const settings = await page.$eval('#settings', (el) => el.textContent ?? '');
    t.true(settings.includes(String(j.settings.seed)) && settings.includes(j.command));
    const claim = await page.$eval('#claim', (el) => el.textContent ?? '');
    t.true(claim.includes('36/36 cases at n = 1, 36/36 cases at n = 10'));
  } finally {
    await browser.close();
  }
});
