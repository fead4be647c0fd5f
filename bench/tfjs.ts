// TensorFlow.js Adam on its pure-JS 'cpu' backend and its 'wasm' backend (both one thread in
// Node: the wasm backend's threaded build needs browser workers). @tensorflow/tfjs-node is not
// used: it downloads a native library at install time, which this machine cannot reach.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { type Budget, measure, type Stat } from './timing.ts';

export type TfBackend = 'cpu' | 'wasm';

export async function useBackend(name: TfBackend): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} did not initialize`);
  await tf.ready();
}

export const tfVersion = () => tf.version.tfjs;
export const wasmSimd = () => tf.env().getBool('WASM_HAS_SIMD_SUPPORT');

/** One Adam step per call, on the backend set by useBackend(), with a fixed gradient tensor. */
export function adamStep(grad: Float32Array, budget: Budget): Stat {
  const d = grad.length;
  const x = tf.tidy(() => tf.variable(tf.zeros([d])));
  const g = tf.tensor1d(grad);
  const opt = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const grads = [{ name: x.name, tensor: g }];
  try {
    return measure(() => opt.applyGradients(grads), budget);  // the warm-up call creates the moments
  } finally {
    opt.dispose();
    x.dispose();
    g.dispose();
  }
}
