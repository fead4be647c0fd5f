// Where an optimizer runs: every device decision of the library is made here. The addon builds
// the backend it is told to and asserts that the CPU-only calls find the CPU.
import { type MpiStatus, mpiStatus } from './mpi';
import { addon, type Backends, type EngineConfig, type NativeEngine } from './native';

export type DeviceOption = 'auto' | 'cpu' | 'cuda';

// VSGD_FD_MIRROR=1: device 'cuda' runs on the mirror backend (native/core/mirror.cpp), the CPU
// standing in for a device-resident backend, so tests take the device paths without a GPU. Read
// at each use: tests set it at run time.
const mirror = () => process.env.VSGD_FD_MIRROR === '1';

/** What this build can run on: the CPU always; CUDA when compiled in and a device is usable; MPI
 * when vsgd_mpi.node was built and an MPI launcher started this process (docs/distributed.md). */
export function backends(): Backends & { mpi: MpiStatus } {
  const b = addon.backends();
  if (mirror()) b.cuda = { ...b.cuda, available: true, device: 'mirror: the CPU standing in for a device (VSGD_FD_MIRROR=1)' };
  return { ...b, mpi: mpiStatus() };
}

/** The backend for the `device` option: 'auto' takes the GPU when there is one. */
export function engineDevice(option: DeviceOption): EngineConfig['device'] {
  if (option === 'cpu' || (option === 'auto' && !backends().cuda.available)) return 'cpu';
  return mirror() ? 'mirror' : 'cuda';
}

/** Sparse rows and the accumulate form run on the CPU. An optimizer made with device 'auto'
 * moves there for good at the first such call (theta and state read back first); one made with
 * device 'cuda' refuses. */
export function toCpu(engine: NativeEngine, option: DeviceOption, what: string): void {
  if (engine.device === 'cpu') return;
  if (option !== 'auto') {
    throw new Error(`${what} run on the CPU only, and this optimizer was made with device 'cuda' (${engine.device}); make it with device 'cpu' or 'auto'`);
  }
  engine.moveToCpu();
}
