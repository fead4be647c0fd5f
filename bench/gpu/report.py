#!/usr/bin/env python3
"""Tables from the logs of bench/gpu/check.sh.

  report.py OUT            the step-time table as text (check.sh prints it last)
  report.py OUT --md       (check.sh's summary lines on stdin) the same numbers as the Markdown section that bench/run.ts carries into
                           BENCHMARKS.md (check.sh writes it to OUT/GPU.md; copy it to bench/gpu/GPU.md)
"""
import os
import sys

COLS = ['vsgdfd', 'vsgdfd-x1', 'vsgdfd-nocurv', 'vsgdfd-reweight', 'adam', 'adam-x1', 'torch-adam']


def results(path):
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        if line.startswith('RESULT '):
            parts = line.split()
            out.append((parts[1], dict(x.split('=', 1) for x in parts[2:])))
    return out


def first_line(path, prefix=''):
    if os.path.exists(path):
        for line in open(path):
            if line.startswith(prefix):
                return line.strip()
    return ''


def device_rows(out):
    rows = {}
    for kind, kv in results(os.path.join(out, 'bench.log')) + results(os.path.join(out, 'torch.log')):
        if kind not in ('device', 'torch'):
            continue
        name = kv['algo'] if kind == 'device' else 'torch-adam'
        copy = float(kv['copy_GBs']) if 'copy_GBs' in kv else None
        rows.setdefault((int(kv['d']), int(kv['n'])), {})[name] = (float(kv['step_ms']), float(kv['step_GBs']), copy)
    return rows


def text(out):
    rows = device_rows(out)

    def cell(v):
        if v is None:
            return '-'
        ms, gbs, copy = v
        return '%.3f (%.0f%s)' % (ms, gbs, ', %.0f%%' % (100 * gbs / copy) if copy else '')

    print('step time in ms (GB/s of its own traffic, % of a cudaMemcpy D2D of the same bytes)')
    print('%-6s %3s ' % ('log2d', 'n') + ' '.join('%-22s' % c for c in COLS))
    for (d, n) in sorted(rows):
        print('%-6d %3d ' % (d.bit_length() - 1, n) + ' '.join('%-22s' % cell(rows[(d, n)].get(c)) for c in COLS))


def md(out):
    rows = device_rows(out)
    dev = first_line(os.path.join(out, 'cuda-info.txt'), 'device:').replace('device: ', '')
    torch = first_line(os.path.join(out, 'torch.log'), 'device')
    driver = first_line(os.path.join(out, 'cuda-info.txt'), 'driver:').replace('driver: ', '')
    summary = sys.stdin.read().rstrip()
    w = print
    w('## GPU')
    w()
    w('Command: `OUT=<dir> bash bench/gpu/check.sh` (then `cp <dir>/GPU.md bench/gpu/GPU.md` and '
      '`npm run bench -- --report-only` to carry it here), %s.' % first_line(os.path.join(out, 'cuda-info.txt'), 'date:').replace('date: ', ''))
    w('Device: %s%s; %s.' % (dev or 'unknown', ', driver ' + driver if driver else '', torch.replace('device ', '') or 'no torch'))
    w()
    w('Checks (logs under OUT):')
    w()
    w('```')
    w(summary)
    w('```')
    w()
    w('Fused step with the rows and θ on the device: median ms over the repeats, GB/s of the step\'s own '
      'minimal traffic (θ and the state read and written, the rows read), and that rate as a share of a '
      '`cudaMemcpy` device-to-device of the same bytes timed beside it. torch-adam is '
      '`torch.optim.Adam(fused=True)` (for n = 10 after the rows\' mean); the last column is this library\'s Adam '
      'time over torch\'s (below 1: ours is faster). The -x1 columns are the one-coordinate-per-thread kernel '
      '(`VSGD_FD_CUDA_SCALAR=1`) beside the default four-coordinate one with 16-byte loads and stores.')
    w()
    w('| d | n | ' + ' | '.join(COLS) + ' | adam / torch-adam |')
    w('|---|---|' + '---|' * len(COLS) + '---|')
    for (d, n) in sorted(rows):
        r = rows[(d, n)]
        cells = []
        for c in COLS:
            v = r.get(c)
            if v is None:
                cells.append('–')
            else:
                ms, gbs, copy = v
                cells.append('%.3f ms, %.0f GB/s%s' % (ms, gbs, ' (%.0f%%)' % (100 * gbs / copy) if copy else ''))
        ratio = '%.2f×' % (r['adam'][0] / r['torch-adam'][0]) if 'adam' in r and 'torch-adam' in r else '–'
        w('| 2^%d | %d | %s | %s |' % (d.bit_length() - 1, n, ' | '.join(cells), ratio))
    host = [kv for kind, kv in results(os.path.join(out, 'bench.log')) if kind == 'host']
    if host:
        w()
        w('Host path: `step()` with the rows in pageable host memory (rows to the device through the pinned '
          'staging buffers, θ back every step), d = 2^%d; bus bytes per second.' % (int(host[0]['d']).bit_length() - 1))
        w()
        w('| algo | n | ms | bus GB/s |')
        w('|---|---|---|---|')
        for kv in host:
            w('| %s | %s | %.2f | %.1f |' % (kv['algo'], kv['n'], float(kv['step_ms']), float(kv['bus_GBs'])))


if __name__ == '__main__':
    (md if '--md' in sys.argv[2:] else text)(sys.argv[1])
