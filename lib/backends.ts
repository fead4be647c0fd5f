import { addon, type Backends } from './native';

/** What this build can run on: the CPU always; CUDA when compiled in and a device is usable. */
export function backends(): Backends {
  return addon.backends();
}
