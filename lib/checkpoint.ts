// Checkpoint bytes (docs/checkpoint.md). The format is written and validated in C++
// (native/core/checkpoint.cpp, which a fuzz target exercises); this file adapts types.
import { expected } from './check';
import { addon } from './native';

export interface Checkpoint {
  algo: number;
  d: number;
  steps: number;
  options: Record<string, unknown>;
  state: Float32Array;
}

interface CheckpointAddon {
  checkpointEncode(algo: number, d: number, steps: number, options: Record<string, unknown>, state: Float32Array): Uint8Array;
  /** throws "Invalid checkpoint: <why>" */
  checkpointDecode(bytes: Uint8Array): Checkpoint;
  checkpointVersion: number;
}
const native = addon as unknown as CheckpointAddon;

export const FORMAT_VERSION: number = native.checkpointVersion;

export function encode(c: Checkpoint): Uint8Array {
  return native.checkpointEncode(c.algo, c.d, c.steps, c.options, c.state);
}

export function decode(bytes: unknown): Checkpoint {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(expected('a Uint8Array (from save())', 'bytes', bytes));
  // Another thread could rewrite shared bytes between the checksum and the read: take a copy.
  const own = bytes.buffer instanceof SharedArrayBuffer ? bytes.slice() : bytes;
  return native.checkpointDecode(own);
}
