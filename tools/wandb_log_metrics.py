#!/usr/bin/env python3
"""Uploads a lora-scripts run's metrics.jsonl to Weights & Biases (there is no Java W&B client).

Usage:
    pip install wandb && wandb login
    python3 tools/wandb_log_metrics.py --project my-loras output/my_style/logs/metrics.jsonl
    python3 tools/wandb_log_metrics.py --project my-loras --name style-v2 --dry-run output/my_style/logs/metrics.jsonl

Each row of metrics.jsonl ({"step": N, "wall_time": T, "train/loss": ..., ...}, the rows the trainer also
writes to TensorBoard) becomes one run.log(values, step=N); null values (NaN) and non-numeric fields are
left out. The run is named after the logs' output folder unless --name is given. --dry-run prints the
calls instead of making them (and needs no wandb). wandb <= 0.29.0 can instead read the TensorBoard event
files themselves: wandb sync --sync-tensorboard -p PROJECT output/my_style/logs (wandb 0.30.0 removed that
option). Exit status: 0 done, 2 bad usage or file.
"""
import argparse
import json
import math
import os
import sys


def rows(path):
    """(step, wall_time, {metric: value}) per line, steps ascending as W&B requires."""
    last = -1
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"error: {path}:{number}: not JSON ({e.msg})")
            step = row.get("step")
            if not isinstance(step, int) or step < last:
                raise SystemExit(f"error: {path}:{number}: step {step!r} is not an integer >= the previous row's {last}")
            last = step
            values = {k: float(v) for k, v in row.items()
                      if k not in ("step", "wall_time") and isinstance(v, (int, float)) and not isinstance(v, bool)
                      and math.isfinite(v)}
            if values:
                yield step, row.get("wall_time"), values


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("metrics", help="output_dir/logs/metrics.jsonl of a run")
    p.add_argument("--project", required=True, help="W&B project")
    p.add_argument("--entity", default=None, help="W&B entity (team or user); default: yours")
    p.add_argument("--name", default=None, help="run name; default: the run's output folder name")
    p.add_argument("--dry-run", action="store_true", help="print the calls, upload nothing")
    a = p.parse_args(argv)
    if not os.path.isfile(a.metrics):
        print(f"error: {a.metrics}: no such file; give output_dir/logs/metrics.jsonl", file=sys.stderr)
        return 2
    name = a.name or os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(a.metrics)))) or "lora"
    data = list(rows(a.metrics))
    if a.dry_run:
        print(f"wandb.init(project={a.project!r}, entity={a.entity!r}, name={name!r})")
        for step, _, values in data:
            print(f"run.log({json.dumps(values, sort_keys=True)}, step={step})")
        print("run.finish()")
        return 0
    try:
        import wandb
    except ImportError:
        print("error: the wandb package is missing; pip install wandb", file=sys.stderr)
        return 2
    run = wandb.init(project=a.project, entity=a.entity, name=name, job_type="lora-scripts")
    for step, _, values in data:
        run.log(values, step=step)
    run.finish()
    print(f"logged {len(data)} rows to {a.project}/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
