"""Same method as bench/timing.ts: batch short calls, time repeats, keep median and min-max."""
import argparse
import json
import statistics
import sys
import time


def measure(step, budget_ms, min_reps, max_reps, batch_ms=20.0):
    t0 = time.perf_counter()
    step()  # warm-up; also sizes the batch
    once = max((time.perf_counter() - t0) * 1e3, 1e-4)
    batch = max(1, int(-(-batch_ms // once)))
    reps = max(min_reps, min(max_reps, int(budget_ms // (once * batch))))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(batch):
            step()
        times.append((time.perf_counter() - t0) * 1e3 / batch)
    return {"ms": statistics.median(times), "min": min(times), "max": max(times), "reps": reps}


def args():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", required=True, help="comma-separated d")
    p.add_argument("--budget-ms", type=float, default=1000.0)
    p.add_argument("--min-reps", type=int, default=3)
    p.add_argument("--max-reps", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    a.sizes = [int(s) for s in a.sizes.split(",") if s]
    return a


def run(name, version, threads, make_step, a):
    """make_step(d) -> a function doing one Adam step; prints one JSON object on stdout."""
    results = []
    for d in a.sizes:
        step = make_step(d)
        results.append({"d": d, **measure(step, a.budget_ms, a.min_reps, a.max_reps)})
        del step
    json.dump({"impl": name, "version": version, "threads": threads, "results": results}, sys.stdout)
    print()
