#!/usr/bin/env python3
"""Configurations of the LLM reference benchmark (shared/bench/bench_llm_peft.py) that its own loop does not run.

Takes the reference script's imports, tables and run() function unchanged (its top-level loop is left out) and calls
run() for each extra configuration, printing the reference's JSON lines:
  - Llama-3-8B shape, LoRA on every linear layer, without gradient checkpointing.

Usage: python3 tools/bench_llm_extra.py [REFERENCE_SCRIPT (default .device/reference/bench_llm_peft.py)]
"""
import ast
import sys

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def reference_run(path):
    """The script's run() with its imports and definitions, without executing its configurations."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)   # the shapes table too
    tree.body = [n for n in tree.body if isinstance(n, keep)]
    scope = {"__name__": "reference", "__file__": path}
    exec(compile(tree, path, "exec"), scope)
    if "run" not in scope:
        sys.exit(f"{path}: no run() function found; is it the LLM reference benchmark?")
    return scope["run"]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else ".device/reference/bench_llm_peft.py"
    run = reference_run(path)
    run("llama3-8b", False, targets=ALL_LINEAR)


if __name__ == "__main__":
    main()
