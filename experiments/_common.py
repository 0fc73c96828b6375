"""Shared argument parsing for the text experiments."""
import argparse
import os
import sys

# One BLAS thread: on a shared 2-core machine multi-threaded BLAS on these small matrices is
# over 10x slower (measured: 1.15 s vs 0.09 s per char-LSTM step under load). Set before NumPy
# is imported, so import this module first.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def parser(description, steps, **extra):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data-dir", default=os.path.join(REPO, "..", "shared", "data"),
                   help="folder holding the shared datasets (default: ../shared/data)")
    p.add_argument("--steps", type=int, default=steps, help="optimizer steps")
    p.add_argument("--seed", type=int, default=0)
    for name, (typ, default) in extra.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=typ, default=default)
    return p
