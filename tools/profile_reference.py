#!/usr/bin/env python3
"""Profile the PyTorch reference benchmarks (shared/bench/bench_*_peft.py) step by step.

Runs a reference script unchanged, but turns torch.profiler on between the first
torch.cuda.synchronize() of each configuration (end of warm-up) and the second (end of the timed
steps), and writes each configuration's events as tab-separated lines (name, device type: 0 CPU /
1 CUDA, activity type, start ns, duration ns), the form org.lorascripts.bench.StepProfile reads.
The profiled pass is slower than an unprofiled one: its times are for the breakdown, not the ratio.

Usage: python3 tools/profile_reference.py SCRIPT OUT_PREFIX [script args...]
       -> OUT_PREFIX-0.tsv, OUT_PREFIX-1.tsv, ... (one per configuration, in the script's order)
"""
import os
import runpy
import sys

import torch
from torch.profiler import ProfilerActivity, profile


def main():
    script, prefix = sys.argv[1], sys.argv[2]
    sys.argv = [script] + sys.argv[3:]
    real_sync = torch.cuda.synchronize
    script_path = os.path.abspath(script)
    state = {"calls": 0, "prof": None, "index": 0}

    def sync(*a, **k):
        real_sync(*a, **k)
        # only the script's own calls (warm-up end, timed steps end) switch the profiler
        if sys._getframe(1).f_code.co_filename != script_path:
            return
        state["calls"] += 1
        if state["calls"] % 2 == 1:
            state["prof"] = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
            state["prof"].__enter__()
        else:
            p = state["prof"]
            p.__exit__(None, None, None)
            path = "%s-%d.tsv" % (prefix, state["index"])
            state["index"] += 1
            with open(path, "w") as out:
                for e in p.profiler.kineto_results.events():
                    name = e.name().replace("\t", " ").replace("\n", " ")
                    dev = 1 if "cuda" in str(e.device_type()).lower() else 0
                    start = e.start_ns() if hasattr(e, "start_ns") else e.start_us() * 1000
                    dur = e.duration_ns() if hasattr(e, "duration_ns") else e.duration_us() * 1000
                    act = e.activity_type() if hasattr(e, "activity_type") else 0
                    try:
                        act = int(act)
                    except (TypeError, ValueError):
                        act = 0
                    out.write("%s\t%d\t%d\t%d\t%d\n" % (name, dev, act, start, dur))
            print("profile: wrote %s" % path, file=sys.stderr, flush=True)

    torch.cuda.synchronize = sync
    runpy.run_path(script_path, run_name="__main__")


if __name__ == "__main__":
    main()
