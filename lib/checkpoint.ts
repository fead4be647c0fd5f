// Checkpoint bytes (docs/checkpoint.md). The format is written and validated in C++
// (native/core/checkpoint.cpp, which a fuzz target exercises); this file adapts types.
import { expected } from './check';
import { addon, type CheckpointFields } from './native';

export type Checkpoint = CheckpointFields;

export function encode(c: Checkpoint): Uint8Array {
  return addon.checkpointEncode(c.algo, c.d, c.steps, c.options, c.state);
}

export function decode(bytes: unknown): Checkpoint {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(expected('a Uint8Array (from save())', 'bytes', bytes));
  // Another thread could rewrite shared bytes between the checksum and the read: take a copy.
  const own = bytes.buffer instanceof SharedArrayBuffer ? bytes.slice() : bytes;
  return addon.checkpointDecode(own);
}
