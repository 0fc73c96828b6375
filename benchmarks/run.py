"""Side-by-side timing of kindling and PyTorch on the same workloads, in one process.

    python benchmarks/run.py            # every workload (a few minutes)
    python benchmarks/run.py --only mlp  # one workload

Each workload builds the same computation in both frameworks. Steps alternate between the two
after a warm-up; the median milliseconds per step, the ratio kindling/torch, the achieved GFLOP/s
and its fraction of NumPy's float32 GEMM rate (measured now, on this machine) are printed and
written to benchmarks/results/latest.{json,md}. Not a test: numbers depend on the machine.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

WORKLOADS = {}


def workload(name, flops=0.0):
    def register(fn):
        WORKLOADS[name] = (fn, flops)
        return fn
    return register


# --- workloads: each returns (kindling_step, torch_step) ----------------------------------------
@workload("tiny_ops", flops=0.0)
def tiny_ops():
    """1,000 x (a*b+c).relu().sum().backward() on 16x16: per-op framework overhead."""
    import kindling
    import torch

    def make(m):
        a, b, c = (m.randn(16, 16, requires_grad=True) for _ in range(3))

        def step():
            for _ in range(1000):
                (a * b + c).relu().sum().backward()
        return step
    return make(kindling), make(torch)


def _mlp(m, batch=128):
    nn = m.nn
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    opt = m.optim.Adam(model.parameters(), lr=1e-3)
    x = m.randn(batch, 784)
    y = m.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return step, model


MLP_FLOPS = 3 * 2 * 128 * (784 * 512 + 512 * 256 + 256 * 10)


@workload("mlp", flops=MLP_FLOPS)
def mlp():
    """784-512-256-10 ReLU MLP training step, batch 128, Adam, cross-entropy."""
    import kindling
    import torch
    return _mlp(kindling)[0], _mlp(torch)[0]


@workload("inference_mlp", flops=2 * (784 * 512 + 512 * 256 + 256 * 10))
def inference_mlp():
    """Batch-1 latency of the MLP under no_grad."""
    import kindling
    import torch

    def make(m):
        _, model = _mlp(m)
        model.eval()
        x = m.randn(1, 784)

        def step():
            with m.no_grad():
                model(x)
        return step
    return make(kindling), make(torch)


# --- measurement --------------------------------------------------------------------------------
def gemm_gflops():
    a = np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32)
    a @ a
    times = []
    for _ in range(10):
        t = time.perf_counter()
        a @ a
        times.append(time.perf_counter() - t)
    return 2 * 512 ** 3 / statistics.median(times) / 1e9


def measure(step_k, step_t, repeats, warmup=2):
    for _ in range(warmup):
        step_k()
        step_t()
    tk, tt = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        step_k()
        tk.append(time.perf_counter() - t)
        t = time.perf_counter()
        step_t()
        tt.append(time.perf_counter() - t)
    return statistics.median(tk) * 1e3, statistics.median(tt) * 1e3


def import_times():
    def once(module):
        code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
        runs = [float(subprocess.check_output([sys.executable, "-c", code], text=True))
                for _ in range(3)]
        return min(runs) * 1e3
    return once("kindling"), once("torch")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(WORKLOADS) + ["import"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import torch
    torch.set_num_threads(args.threads)
    gemm = gemm_gflops()
    rows = []
    names = [args.only] if args.only else sorted(WORKLOADS) + ["import"]
    for name in names:
        if name == "import":
            k_ms, t_ms = import_times()
            flops = 0.0
        else:
            build, flops = WORKLOADS[name]
            step_k, step_t = build()
            k_ms, t_ms = measure(step_k, step_t, args.repeats)
        gflops = flops / (k_ms / 1e3) / 1e9 if flops else None
        rows.append({"workload": name, "kindling_ms": round(k_ms, 3), "torch_ms": round(t_ms, 3),
                     "ratio": round(k_ms / t_ms, 3),
                     "kindling_gflops": None if gflops is None else round(gflops, 2),
                     "fraction_of_gemm": None if gflops is None else round(gflops / gemm, 3)})
        r = rows[-1]
        print(f"{name:16s} kindling {k_ms:9.3f} ms   torch {t_ms:9.3f} ms   ratio {r['ratio']:.2f}"
              + (f"   {gflops:6.1f} GFLOP/s ({r['fraction_of_gemm']:.0%} of GEMM)" if gflops
                 else ""), flush=True)

    machine = {"python": platform.python_version(), "numpy": np.__version__,
               "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
               "cores": os.cpu_count(), "threads": args.threads,
               "numpy_gemm_gflops": round(gemm, 1)}
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.json"), "w") as f:
        json.dump({"machine": machine, "rows": rows}, f, indent=2)
    lines = ["| workload | kindling ms | torch ms | ratio | GFLOP/s | of GEMM |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['workload']} | {r['kindling_ms']} | {r['torch_ms']} | {r['ratio']} | "
                     f"{r['kindling_gflops'] or ''} | {r['fraction_of_gemm'] or ''} |")
    lines.append(f"\nMachine: {machine}")
    with open(os.path.join(out_dir, "latest.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"NumPy float32 GEMM: {gemm:.1f} GFLOP/s; results in {out_dir}/latest.{{json,md}}")


if __name__ == "__main__":
    main()
