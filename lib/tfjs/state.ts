// The optimizer's state as tensors for getWeights()/setWeights(): the native save() bytes as an
// int32 tensor [byteLength, words…] (int32 survives every weights format bit for bit) and the
// variables' shapes as [count, rank, dims…, rank, dims…].
import { tf, type TF } from './tf';

export const STATE = 'vsgd-fd/state';
export const SHAPES = 'vsgd-fd/shapes';

export function packBytes(bytes: Uint8Array): TF.Tensor {
  const words = new Int32Array(1 + Math.ceil(bytes.length / 4));
  words[0] = bytes.length;
  new Uint8Array(words.buffer, 4).set(bytes);
  return tf.tensor1d(words, 'int32');
}

export function unpackBytes(words: Int32Array): Uint8Array {
  const n = words[0];
  if (!(n >= 0 && n <= (words.length - 1) * 4)) throw new Error(`vsgd-fd/tfjs: '${STATE}' is not a saved state (length ${n})`);
  return new Uint8Array(words.buffer, words.byteOffset + 4, n).slice();
}

export function packShapes(shapes: number[][]): TF.Tensor {
  return tf.tensor1d([shapes.length, ...shapes.flatMap((s) => [s.length, ...s])], 'int32');
}

export function unpackShapes(words: Int32Array): number[][] {
  const out: number[][] = [];
  let i = 1;
  for (let k = 0; k < words[0]; k++) {
    const rank = words[i++];
    out.push(Array.from(words.subarray(i, i + rank)));
    i += rank;
  }
  return out;
}
