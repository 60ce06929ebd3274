"""Reference orders for DatasetMixTest: Hugging Face datasets' concatenate_datasets / interleave_datasets
(what LLaMA-Factory's mix_strategy calls) on small datasets whose rows say where they came from.

    python3 tools/mix_reference.py

Prints, per case, the mixed rows as "dataset:row". Round-robin orders (no probabilities) are exact
references for our DatasetMix; with probabilities the draws come from numpy's generator, so only the
rule (which dataset ends the mix, every row used once by all_exhausted) is comparable.
"""
import datasets
from datasets import Dataset, concatenate_datasets, interleave_datasets


def make(lengths):
    return [Dataset.from_dict({"id": [f"{d}:{r}" for r in range(n)]}) for d, n in enumerate(lengths)]


def show(name, ds):
    print(f"{name}: {len(ds)} {' '.join(ds['id'])}")


print("datasets", datasets.__version__)
for lengths in ([3, 5], [4, 2, 3]):
    show(f"concat {lengths}", concatenate_datasets(make(lengths)))
    show(f"first_exhausted {lengths}", interleave_datasets(make(lengths), stopping_strategy="first_exhausted"))
    show(f"all_exhausted {lengths}", interleave_datasets(make(lengths), stopping_strategy="all_exhausted"))
    probs = [0.7, 0.3] if len(lengths) == 2 else [0.5, 0.2, 0.3]
    for seed in (0, 42):
        show(f"first_exhausted {lengths} p={probs} seed={seed}",
             interleave_datasets(make(lengths), probabilities=probs, seed=seed, stopping_strategy="first_exhausted"))
        show(f"all_exhausted {lengths} p={probs} seed={seed}",
             interleave_datasets(make(lengths), probabilities=probs, seed=seed, stopping_strategy="all_exhausted"))
try:
    interleave_datasets(make([2, 2]), probabilities=[0.7, 0.2], seed=0)
except ValueError as e:
    print("probabilities [0.7, 0.2]:", e)
