// The nonFinite policy ('skip' by default: skip and count; 'throw': refuse the whole update with
// theta and state put back) and the probe()/update() row-count agreement. A refused update must
// leave the optimizer as if it had never been called: the next steps give the bits of a twin that
// never saw it.
import test from 'ava';
import { Adam, type Optimizer, SGD, type StepInfo, VSGD, VSGDfd } from '../lib/index.ts';

process.env.VSGD_FD_MIRROR = '1'; // device 'cuda' runs on the mirror backend (docs/cuda.md)

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const snapshot = (o: Optimizer) => ({
  theta: bits(o.theta), steps: o.steps, state: Object.fromEntries(Object.entries(o.state).map(([k, v]) => [k, bits(v as Float32Array)])),
});
const rows = (n: number, d: number, t: number) => Float32Array.from({ length: n * d }, (_, k) => Math.sin(3 * k + t) + 0.5);

type Make = (theta: Float32Array, o: object) => Optimizer;
const makers: [string, Make][] = [
  ['VSGDfd', (t, o) => new VSGDfd(t, { minibatch: 2, bootstrap: 2, ...o })],
  ['VSGDfd instance', (t, o) => new VSGDfd(t, { minibatch: 2, bootstrap: 2, sparsity: 'instance', ...o })],
  ['VSGD', (t, o) => new VSGD(t, { minibatch: 2, bootstrap: 2, ...o })],
  ['SGD', (t, o) => new SGD(t, { minibatch: 2, ...o })],
  ['Adam', (t, o) => new Adam(t, { minibatch: 2, ...o })],
];
// step() with the rows of step t (curvature rows: a fixed positive value)
const stepAt = (o: Optimizer, t: number, bad?: number) => o.step((at, out, curv) => {
  out.set(rows(2, o.d, t));
  if (bad !== undefined) out[bad] = NaN;
  curv?.fill(2);
});

test("the default is 'skip': a non-finite entry costs its coordinate, counted in skipped", (t) => {
  const opt = new VSGDfd(new Float32Array(5).fill(1), { minibatch: 2 });
  t.is(opt.options.nonFinite, 'skip');
  const info = stepAt(opt, 0, 3);
  t.is(info.skipped, 1);
  t.is(info.touched, 4);
});

for (const [name, make] of makers) {
  for (const device of ['cpu', 'cuda'] as const) {
    test(`${name} on ${device === 'cpu' ? 'the CPU' : 'a device-resident backend'}: nonFinite 'throw' refuses the update whole and the trajectory goes on as if it had not been called`, (t) => {
      const d = 9;
      const opt = make(new Float32Array(d).fill(1), { nonFinite: 'throw', device });
      const twin = make(new Float32Array(d).fill(1), { device: 'cpu' });
      for (let s = 0; s < 12; s++) {
        if (s % 3 === 1) {
          const before = snapshot(opt);
          t.throws(() => stepAt(opt, s, 2 * d - 2), {
            instanceOf: RangeError,
            message: new RegExp(`${opt.constructor.name}.update\\(\\): grads\\[row 1, coordinate ${d - 2}\\] is NaN; nothing was updated \\(options.nonFinite is 'throw'\\)`),
          });
          t.deepEqual(snapshot(opt), before, `step ${s}: theta, state and the step count as before`);
        }
        const a = stepAt(opt, s), b = stepAt(twin, s);
        t.deepEqual(a, b);
      }
      t.deepEqual(snapshot(opt), snapshot(twin), 'the bits of a twin that never saw the refused updates');
    });
  }
}

test("nonFinite 'throw': an update whose result would overflow float32 is refused, theta kept", (t) => {
  const theta = new Float32Array([3e38, 1]);
  const opt = new SGD(theta, { lr: 1, nonFinite: 'throw' });
  t.throws(() => opt.update(new Float32Array([-1e38, 1])), { instanceOf: RangeError, message: /1 coordinate would leave the float32 range \(the step overflows\); nothing was updated/ });
  t.deepEqual(Array.from(theta), Array.from(Float32Array.from([3e38, 1])));
  t.is(opt.steps, 0);
  const skip = new SGD(Float32Array.from([3e38, 1]), { lr: 1 });
  t.is(skip.update(new Float32Array([-1e38, 1])).skipped, 1, "the same update under 'skip' is counted");
});

test("nonFinite 'throw' covers updateAsync, updateSparse and finish", async (t) => {
  const d = 6;
  const a = new VSGDfd(new Float32Array(d).fill(1), { minibatch: 1, bootstrap: 1, nonFinite: 'throw' });
  const g = rows(1, d, 0);
  a.probe(g);
  const bad = g.slice();
  bad[4] = Infinity;
  const before = snapshot(a);
  await t.throwsAsync(a.updateAsync(bad, g), { instanceOf: RangeError, message: /updateAsync\(\): grads\[row 0, coordinate 4\] is Infinity/ });
  t.deepEqual(snapshot(a), before);

  const s = new VSGDfd(new Float32Array(d).fill(1), { sparsity: 'instance', bootstrap: 1, curvatureEvery: 2, nonFinite: 'throw' });
  const csr = { offsets: Int32Array.from([0, 2]), indices: Int32Array.from([1, 3]), values: Float32Array.from([0.5, NaN]) };
  s.probeSparse(csr);
  const sb = snapshot(s);
  t.throws(() => s.updateSparse({ ...csr, shifted: Float32Array.from([0.6, 1]) }), { instanceOf: RangeError, message: /rows.values\[1\] \(row 0, coordinate 3\) is NaN/ });
  t.deepEqual(snapshot(s), sb);

  // the accumulate form keeps sums only: a bad row is refused as it comes, an overflow at finish()
  const acc = new Adam(new Float32Array(d).fill(1), { nonFinite: 'throw' });
  acc.accumulate(rows(1, d, 1));
  t.throws(() => acc.accumulate(bad), { instanceOf: RangeError, message: /accumulate\(\): grads\[row 0, coordinate 4\] is Infinity; the rows were not added/ });
  const twin = new Adam(new Float32Array(d).fill(1));
  twin.accumulate(rows(1, d, 1));
  t.deepEqual(acc.finish(), twin.finish(), 'the refused rows never entered the sums');
  const sgd = new SGD(Float32Array.from([3e38, 1]), { lr: 1, nonFinite: 'throw' });
  sgd.accumulate(Float32Array.from([-1e38, 1]));
  const sb2 = snapshot(sgd);
  t.throws(() => sgd.finish(), { instanceOf: RangeError, message: /finish\(\): 1 coordinate would leave the float32 range/ });
  t.deepEqual(snapshot(sgd), sb2);
  t.throws(() => sgd.finish(), { message: /no rows were accumulated/ }, 'the refused step dropped its rows');
});

test('probe() with some rows and update() with others is refused', (t) => {
  const d = 4;
  const opt = new VSGDfd(new Float32Array(d).fill(1), { minibatch: 2, bootstrap: 4 });
  const one = rows(1, d, 0), two = rows(2, d, 0);
  const at = opt.probe(one);
  const shifted = two.map((x, k) => x + 0.1 * (at[k % d] - 1));
  const before = snapshot(opt);
  t.throws(() => opt.update(two, shifted), { instanceOf: RangeError, message: /VSGDfd.update\(\): probe\(\) was given 1 gradient row but update\(\) 2/ });
  t.deepEqual(snapshot(opt), before);
  opt.probe(two);
  const info: StepInfo = opt.update(two, shifted);
  t.is(info.rows, 2, 'the same rows go through');
  // past bootstrap the probe point comes from the state alone: any row count may follow
  const done = new VSGDfd(new Float32Array(d).fill(1), { bootstrap: 1 });
  done.probe(one);
  done.update(one, one);
  t.false(done.bootstrapping);
  done.probe();
  t.is(done.update(two, two).rows, 2);
});

test('probeSparse() with some rows and updateSparse() with others is refused', (t) => {
  const opt = new VSGDfd(new Float32Array(6).fill(1), { sparsity: 'instance', bootstrap: 2 });
  const a = { offsets: Int32Array.from([0, 2]), indices: Int32Array.from([0, 4]), values: Float32Array.from([1, 2]) };
  const b = { offsets: Int32Array.from([0, 1, 2]), indices: Int32Array.from([0, 4]), values: Float32Array.from([1, 2]) };
  opt.probeSparse(a);
  const before = snapshot(opt);
  t.throws(() => opt.updateSparse({ ...b, shifted: Float32Array.from([1, 2]) }), { instanceOf: RangeError, message: /probeSparse\(\) was given 1 rows with 2 entries but updateSparse\(\) 2 with 2/ });
  t.deepEqual(snapshot(opt), before);
  t.is(opt.updateSparse({ ...a, shifted: Float32Array.from([1.1, 2.1]) }).rows, 1);
});
