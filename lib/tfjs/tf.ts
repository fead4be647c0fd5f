// TensorFlow.js core, an optional peer dependency: only this subpath loads it, so that
// `import 'vsgd-fd'` works without it and a missing install gives one clear error here.
import type * as TF from '@tensorflow/tfjs-core';

function load(): typeof TF {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@tensorflow/tfjs-core') as typeof TF;
  } catch (err) {
    if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND' || !String((err as Error).message).includes('@tensorflow/tfjs-core')) throw err;
    throw new Error("vsgd-fd/tfjs needs the package '@tensorflow/tfjs-core' (installed with '@tensorflow/tfjs' or '@tensorflow/tfjs-node'): run `npm install @tensorflow/tfjs`");
  }
}

export const tf = load();
export type { TF };
