// Checkpoint format, version 1 (little-endian; docs/checkpoint.md):
//   0  8 bytes  magic "VSGDFDCK"
//   8  u32      format version (1)
//  12  u32      algorithm id
//  16  f64      d (coordinates)
//  24  f64      steps (updates done)
//  32  u32      L, byte length of the options JSON
//  36  L bytes  options JSON (UTF-8), zero-padded to a multiple of 4
//   .  u32      S, number of state floats
//   .  4S bytes state (float32)
//   .  u32      CRC-32 (IEEE) of every byte before it
// Everything is checked before anything is used, so a bad checkpoint is refused whole.
import { expected } from './check';

export interface Checkpoint {
  algo: number;
  d: number;
  steps: number;
  options: Record<string, unknown>;
  state: Float32Array;
}

const MAGIC = 'VSGDFDCK';
export const FORMAT_VERSION = 1;

let table: Uint32Array | undefined;
export function crc32(bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function encode(c: Checkpoint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(c.options));
  const padded = (json.length + 3) & ~3;
  const size = 36 + padded + 4 + c.state.length * 4 + 4;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, c.algo, true);
  view.setFloat64(16, c.d, true);
  view.setFloat64(24, c.steps, true);
  view.setUint32(32, json.length, true);
  out.set(json, 36);
  let at = 36 + padded;
  view.setUint32(at, c.state.length, true);
  at += 4;
  for (let i = 0; i < c.state.length; i++, at += 4) view.setFloat32(at, c.state[i], true);
  view.setUint32(at, crc32(out.subarray(0, at)), true);
  return out;
}

function refuse(why: string): never {
  throw new Error(`Invalid checkpoint: ${why}`);
}

export function decode(bytes: unknown): Checkpoint {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(expected('a Uint8Array (from save())', 'bytes', bytes));
  if (bytes.length < 44) refuse(`it has ${bytes.length} bytes, fewer than any checkpoint`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < 8; i++) if (bytes[i] !== MAGIC.charCodeAt(i)) refuse('it does not start with the vsgd-fd magic bytes');
  const version = view.getUint32(8, true);
  if (version !== FORMAT_VERSION) refuse(`format version ${version}; this build reads version ${FORMAT_VERSION}`);
  const end = bytes.length - 4;
  if (crc32(bytes.subarray(0, end)) !== view.getUint32(end, true)) refuse('checksum mismatch (truncated or corrupted)');
  const algo = view.getUint32(12, true);
  const d = view.getFloat64(16, true);
  const steps = view.getFloat64(24, true);
  if (!Number.isSafeInteger(d) || d < 1) refuse(`d = ${d}`);
  if (!Number.isSafeInteger(steps) || steps < 0) refuse(`steps = ${steps}`);
  const len = view.getUint32(32, true);
  const padded = (len + 3) & ~3;
  if (36 + padded + 4 > end) refuse('the options block runs past the end');
  let options: unknown;
  try {
    options = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(36, 36 + len)));
  } catch {
    refuse('the options block is not valid JSON');
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) refuse('the options block is not an object');
  let at = 36 + padded;
  const count = view.getUint32(at, true);
  at += 4;
  if (at + count * 4 !== end) refuse(`${count} state floats do not fill the ${end - at} bytes left`);
  const state = new Float32Array(count);
  for (let i = 0; i < count; i++, at += 4) state[i] = view.getFloat32(at, true);
  return { algo, d, steps, options: options as Record<string, unknown>, state };
}
