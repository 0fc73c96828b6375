"""Side-by-side timing of kindling and PyTorch on the same workloads, in one process.

    python benchmarks/run.py              # every workload (a few minutes)
    python benchmarks/run.py --only mlp   # one workload
    python benchmarks/run.py --no-memory  # skip the peak-memory subprocesses

Each workload builds the same computation in both frameworks from `make(m)` with m the
framework module. Steps alternate between the two after a warm-up; the median milliseconds per
step, the ratio kindling/torch, the achieved GFLOP/s (GEMM-like FLOPs counted once by torch's
FlopCounterMode on the torch step) and its fraction of NumPy's float32 GEMM rate (measured now,
on this machine) are printed and written to benchmarks/results/latest.{json,md}. Peak memory is
measured in a fresh subprocess per framework per workload (see `peak_memory`). Not a test:
numbers depend on the machine and its load.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

WORKLOADS = {}
GOALS = {"tiny_ops": 1.0, "mlp": 1.0, "lenet": 1.0, "resnet_small": 1.5, "lstm_lm": 1.2,
         "gru_lm": 1.0, "gpt": 1.0, "inference_mlp": 1.0, "inference_lenet": 1.0}
IMPORT_GOAL_MS = 250.0
MEMORY_GOAL = 1.2


def workload(name, repeats=None):
    """Register make(m) -> step, where m is the `kindling` or `torch` module."""
    def register(fn):
        WORKLOADS[name] = (fn, repeats)
        return fn
    return register


# --- workloads ----------------------------------------------------------------------------------
@workload("tiny_ops", repeats=7)
def tiny_ops(m):
    """1,000 x (a*b+c).relu().sum().backward() on 16x16: per-op framework overhead."""
    a, b, c = (m.randn(16, 16, requires_grad=True) for _ in range(3))

    def step():
        for _ in range(1000):
            (a * b + c).relu().sum().backward()
    return step


def _train_step(m, model, opt, loss_fn, x, y, clip=None):
    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if clip is not None:
            m.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
    return step


def _mlp_model(m):
    nn = m.nn
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                         nn.Linear(256, 10))


@workload("mlp")
def mlp(m, batch=128):
    """784-512-256-10 ReLU MLP training step, batch 128, Adam, cross-entropy."""
    model = _mlp_model(m)
    opt = m.optim.Adam(model.parameters(), lr=1e-3)
    return _train_step(m, model, opt, m.nn.CrossEntropyLoss(), m.randn(batch, 784),
                       m.randint(0, 10, (batch,)))


def _lenet(m):
    """kindling.models.LeNet5, or its torch twin with the same layer layout."""
    if m.__name__ == "kindling":
        from kindling.models import LeNet5
        return LeNet5()
    nn = m.nn
    model = nn.Module()
    model.features = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
    model.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                                     nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    model.forward = lambda x: model.classifier(model.features(x))
    return model


@workload("lenet")
def lenet(m, batch=64):
    """LeNet-5 (ReLU, max pooling) training step, 1x28x28, batch 64, SGD momentum 0.9."""
    model = _lenet(m)
    opt = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _train_step(m, model, opt, m.nn.CrossEntropyLoss(), m.randn(batch, 1, 28, 28),
                       m.randint(0, 10, (batch,)))


def _torch_resnet20(torch):
    """Torch twin of kindling.models.resnet20: same blocks, 1x1 projection shortcuts, init."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = None if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet20(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.relu = nn.ReLU(inplace=True)
            cin, stages = 16, []
            for i, width in enumerate((16, 32, 64)):
                blocks = [Block(cin, width, 1 if i == 0 else 2)]
                blocks += [Block(width, width, 1) for _ in range(2)]
                stages.append(nn.Sequential(*blocks))
                cin = width
            self.layer1, self.layer2, self.layer3 = stages
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(64, 10)
            for mod in self.modules():
                if isinstance(mod, nn.Conv2d):
                    nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(self.avgpool(x).flatten(1))
    return ResNet20()


@workload("resnet_small", repeats=7)
def resnet_small(m, batch=32):
    """ResNet-20 (CIFAR, BatchNorm) training step, 3x32x32, batch 32, SGD momentum 0.9."""
    if m.__name__ == "kindling":
        from kindling.models import resnet20
        model = resnet20()
    else:
        model = _torch_resnet20(m)
    opt = m.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return _train_step(m, model, opt, m.nn.CrossEntropyLoss(), m.randn(batch, 3, 32, 32),
                       m.randint(0, 10, (batch,)))


def _rnn_lm(m, cell, vocab=65, emb=64, hidden=256, seq=64, batch=32):
    nn = m.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, emb)
            self.rnn = getattr(nn, cell)(emb, hidden, batch_first=True)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, idx):
            h, _ = self.rnn(self.embed(idx))          # (B, T, H)
            return self.head(h).reshape(-1, vocab)     # (B*T, V)

    model = LM()
    opt = m.optim.Adam(model.parameters(), lr=1e-3)
    x = m.randint(0, vocab, (batch, seq))
    y = m.randint(0, vocab, (batch, seq)).reshape(-1)
    return _train_step(m, model, opt, nn.CrossEntropyLoss(), x, y, clip=1.0)


@workload("lstm_lm", repeats=9)
def lstm_lm(m):
    """Char LSTM LM: vocab 65, embedding 64, hidden 256, seq 64, batch 32, Adam, clip 1.0."""
    return _rnn_lm(m, "LSTM")


@workload("gru_lm", repeats=9)
def gru_lm(m):
    """Char GRU LM: vocab 65, embedding 64, hidden 256, seq 64, batch 32, Adam, clip 1.0."""
    return _rnn_lm(m, "GRU")


def _torch_gpt(torch, vocab, block, n_layer, n_head, d):
    """Torch twin of kindling.models.gpt.GPT (pre-norm blocks, tied LM head, GELU MLP)."""
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.c_attn, self.attn_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
            q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn_proj(y.transpose(1, 2).contiguous().view(B, T, C))
            return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(block, d)
            self.h = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, vocab, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx, targets):
            B, T = idx.shape
            x = self.wte(idx) + self.wpe(torch.arange(T))
            for blk in self.h:
                x = blk(x)
            logits = self.lm_head(self.ln_f(x))
            return logits, F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T))
    return GPT()


@workload("gpt", repeats=9)
def gpt(m, vocab=65, seq=64, batch=32, n_layer=2, n_head=4, d=128):
    """GPT (kindling.models.gpt vs a torch twin): d_model 128, 4 heads, 2 layers, seq 64,
    batch 32, AdamW."""
    if m.__name__ == "kindling":
        from kindling.models.gpt import GPT, GPTConfig
        model = GPT(GPTConfig(vocab_size=vocab, block_size=seq, n_layer=n_layer, n_head=n_head,
                              n_embd=d))
    else:
        model = _torch_gpt(m, vocab, seq, n_layer, n_head, d)
    opt = m.optim.AdamW(model.parameters(), lr=3e-4)
    x, y = m.randint(0, vocab, (batch, seq)), m.randint(0, vocab, (batch, seq))

    def step():
        opt.zero_grad()
        _, loss = model(x, y)
        loss.backward()
        opt.step()
    return step


def _inference(m, model, x):
    model.eval()

    def step():
        with m.no_grad():
            for _ in range(100):
                model(x)
    return step


@workload("inference_mlp")
def inference_mlp(m):
    """Batch-1 latency of the MLP under no_grad (one step = 100 forward passes)."""
    return _inference(m, _mlp_model(m), m.randn(1, 784))


@workload("inference_lenet")
def inference_lenet(m):
    """Batch-1 latency of LeNet-5 under no_grad (one step = 100 forward passes)."""
    return _inference(m, _lenet(m), m.randn(1, 1, 28, 28))


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


def count_flops(step_t):
    """GEMM-like FLOPs (matmul, conv, attention; forward and backward) of one torch step.

    Counted with oneDNN off: torch's CPU LSTM is then a GEMM per step, which the counter sees,
    instead of one fused oneDNN kernel, which it would count as no FLOPs at all."""
    import warnings

    import torch
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the flags' note about TF32 on Intel GPUs
        with torch.backends.mkldnn.flags(enabled=False), counter:
            step_t()
    return float(counter.get_total_flops())


def measure(step_k, step_t, repeats, warmup=2):
    """Median ms per step of each, alternating. Each timed step follows an untimed step of the
    same framework: torch's OpenMP workers and NumPy's OpenBLAS workers keep spinning for a
    while after their last parallel region, so a step timed right after the other framework's
    would share the cores with them (on 2 cores this inflated either side by up to 2x)."""
    for _ in range(warmup):
        step_k()
        step_t()
    tk, tt = [], []
    for _ in range(repeats):
        for step, times in ((step_k, tk), (step_t, tt)):
            step()
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
    return statistics.median(tk) * 1e3, statistics.median(tt) * 1e3


def import_times():
    """Median time to import each framework in a fresh interpreter, with its bytecode cached as
    on any machine after the first import (pip compiles torch's at install; kindling's editable
    checkout is compiled by the warm-up run, even where PYTHONDONTWRITEBYTECODE is set)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def once(module):
        code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
        runs = [float(subprocess.check_output([sys.executable, "-c", code], text=True, cwd=ROOT,
                                              env=env))
                for _ in range(8)][1:]  # the first run writes the bytecode cache
        return statistics.median(runs) * 1e3
    return once("kindling"), once("torch")


def _rss_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _peak_memory_child(name, framework, steps=3):
    """Run in a fresh interpreter: import both frameworks, build the workload, take the resident
    set as baseline and reset the kernel's high-water mark (clear_refs 5), run a few steps, and
    print the peak resident set above the baseline in MiB."""
    import kindling
    import torch
    threads = int(os.environ.get("KINDLING_BENCH_THREADS", "2"))
    torch.set_num_threads(threads)
    kindling.set_num_threads(threads)
    m = {"kindling": kindling, "torch": torch}[framework]
    m.manual_seed(0)
    step = WORKLOADS[name][0](m)
    import gc
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _rss_kb("VmRSS")
    for _ in range(steps):
        step()
    print((_rss_kb("VmHWM") - base) / 1024)


def peak_memory(name, threads):
    """Peak MiB above baseline for (kindling, torch), each in its own subprocess."""
    env = dict(os.environ, KINDLING_BENCH_THREADS=str(threads))
    out = []
    for fw in ("kindling", "torch"):
        res = subprocess.run([sys.executable, os.path.abspath(__file__), "--_memory", name, fw],
                             capture_output=True, text=True, env=env, cwd=ROOT)
        out.append(float(res.stdout.split()[-1]) if res.returncode == 0 and res.stdout.strip()
                   else None)
    return out


def _status(ratio, goal):
    return "" if ratio is None or goal is None else ("ok" if ratio <= goal else "MISS")


def machine_info(threads, gemm, load):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import torch
    return {"python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "cpu": cpu, "cores": os.cpu_count(), "threads": threads,
            "numpy_gemm_gflops": round(gemm, 1), "load_average_at_start": load,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
            "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}


def write_results(machine, rows, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "latest.json"), "w") as f:
        json.dump({"machine": machine, "rows": rows}, f, indent=2)

    def cell(v, fmt="{}"):
        return "" if v is None else fmt.format(v)
    lines = ["| workload | kindling ms | torch ms | ratio | rounds | goal | GFLOP/s | of GEMM | "
             "kindling MiB | torch MiB | mem ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        goal = "" if r["goal"] is None else f"<= {r['goal']} {r['status']}"
        spread = r["round_ratios"]
        spread = f"{min(spread):.2f}-{max(spread):.2f}" if len(spread) > 1 else ""
        lines.append(f"| {r['workload']} | {r['kindling_ms']} | {r['torch_ms']} | {r['ratio']} | "
                     f"{spread} | {goal} | {cell(r['kindling_gflops'])} | "
                     f"{cell(r['fraction_of_gemm'], '{:.1%}')} | {cell(r['kindling_peak_mib'])} | "
                     f"{cell(r['torch_peak_mib'])} | {cell(r['memory_ratio'])} |")
    lines.append("")
    lines.append("Machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    with open(os.path.join(out_dir, "latest.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def profile(name, threads, steps=10):
    """Where a kindling step's time goes, by function (own time). cProfile sees only the main
    thread: work handed to kindling's other threads shows up as time waiting in `acquire`."""
    import cProfile
    import pstats

    import kindling
    kindling.set_num_threads(threads)
    kindling.manual_seed(0)
    step = WORKLOADS[name][0](kindling)
    for _ in range(3):
        step()
    profiler = cProfile.Profile()
    t = time.perf_counter()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    print(f"{name}: {(time.perf_counter() - t) / steps * 1e3:.1f} ms per step under cProfile, "
          f"{threads} thread(s), {steps} steps")
    pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "tottime")).print_stats(30)


def op_times(name, threads, steps=10):
    """Wall time per op class (its forward, and its backward) inside a kindling step, from timing
    every autograd Function's forward and backward. Sees what cProfile cannot: time spent in
    kindling's other threads, and how an op fares inside a step rather than alone. An op run
    inside another's forward or backward (linear's backward runs two matmuls) counts in both."""
    import collections

    import kindling
    from kindling.engine.function import Function
    kindling.set_num_threads(threads)
    kindling.manual_seed(0)
    spent, calls = collections.defaultdict(float), collections.Counter()

    def timed(fn, key):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start
                calls[key] += 1
        return staticmethod(run)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    step = WORKLOADS[name][0](kindling)
    originals = []
    for cls in set(subclasses(Function)):
        for method in ("forward", "backward"):
            if isinstance(cls.__dict__.get(method), staticmethod):
                originals.append((cls, method, cls.__dict__[method]))
                setattr(cls, method, timed(cls.__dict__[method].__func__,
                                           f"{cls.__name__}.{method}"))
    try:
        for _ in range(3):
            step()
        spent.clear()
        calls.clear()
        t = time.perf_counter()
        for _ in range(steps):
            step()
        total = (time.perf_counter() - t) / steps * 1e3
    finally:
        for cls, method, original in originals:
            setattr(cls, method, original)
    print(f"{name}: {total:.1f} ms per step (timed ops), {threads} thread(s), {steps} steps")
    for key, seconds in sorted(spent.items(), key=lambda kv: -kv[1])[:30]:
        print(f"  {key:40s} {seconds / steps * 1e3:8.2f} ms  {calls[key] // steps:4d} calls")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(WORKLOADS) + ["import"], action="append",
                        help="run only this workload (repeatable)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed steps per framework (default: per workload, 7-15)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="time every workload this many times, in turn, and report the "
                             "medians (the machine's speed drifts over minutes)")
    parser.add_argument("--threads", type=int, default=2,
                        help="intra-op threads for both (torch.set_num_threads and "
                             "kindling.set_num_threads, which limits NumPy's BLAS pool)")
    parser.add_argument("--no-memory", action="store_true", help="skip peak-memory subprocesses")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "results"))
    parser.add_argument("--profile", choices=sorted(WORKLOADS), default=None,
                        help="instead of timing: cProfile 10 kindling steps of this workload and "
                             "print the 30 functions with the most own time")
    parser.add_argument("--op-times", choices=sorted(WORKLOADS), default=None,
                        help="instead of timing: wall time per op class (forward, backward) "
                             "inside 10 kindling steps of this workload")
    parser.add_argument("--_memory", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._memory:
        return _peak_memory_child(*args._memory)
    if args.profile:
        return profile(args.profile, args.threads)
    if args.op_times:
        return op_times(args.op_times, args.threads)

    import kindling
    import torch
    torch.set_num_threads(args.threads)
    kindling.set_num_threads(args.threads)
    load = [round(v, 2) for v in os.getloadavg()]
    gemm = gemm_gflops()
    print(f"load average {load}; NumPy float32 GEMM {gemm:.1f} GFLOP/s", flush=True)
    names = args.only or list(WORKLOADS) + ["import"]
    # Rounds run every workload in turn, so each workload's timings sample the machine at
    # several moments: its speed drifts over minutes (the GEMM rate has ranged 90-170 GFLOP/s
    # between runs here), which a single window per workload cannot average out.
    timed = {name: [] for name in names}                 # (kindling ms, torch ms) per round
    info = {}                                            # flops, goal, gemm rate, memory
    for round_no in range(args.rounds):
        for name in names:
            if name == "import":
                k_ms, t_ms = import_times()
                info.setdefault(name, (0.0, None, gemm, None, None))
            else:
                make, repeats = WORKLOADS[name]
                kindling.manual_seed(0)
                torch.manual_seed(0)
                step_k, step_t = make(kindling), make(torch)
                if name not in info:
                    flops = count_flops(step_t)
                k_ms, t_ms = measure(step_k, step_t, args.repeats or repeats or 15)
                del step_k, step_t
                if name not in info:
                    gemm_now = gemm_gflops()  # the BLAS ceiling now: the load changes in a run
                    k_mem = t_mem = None
                    if not args.no_memory:
                        k_mem, t_mem = peak_memory(name, args.threads)
                    info[name] = (flops, GOALS.get(name), gemm_now, k_mem, t_mem)
            timed[name].append((k_ms, t_ms))
            if args.rounds > 1:
                print(f"{name:16s} kindling {k_ms:9.2f} ms   torch {t_ms:9.2f} ms   ratio "
                      f"{k_ms / t_ms:5.2f} (round {round_no + 1}/{args.rounds})", flush=True)
    rows = []
    for name in names:
        flops, goal, gemm_now, k_mem, t_mem = info[name]
        k_ms = statistics.median(k for k, _ in timed[name])
        t_ms = statistics.median(t for _, t in timed[name])
        ratios = [k / t for k, t in timed[name]]
        ratio = statistics.median(ratios)
        status = ("ok" if k_ms < IMPORT_GOAL_MS else "MISS") if name == "import" \
            else _status(ratio, goal)
        gflops = flops / (k_ms / 1e3) / 1e9 if flops else None
        rows.append({"workload": name, "kindling_ms": round(k_ms, 2), "torch_ms": round(t_ms, 2),
                     "ratio": round(ratio, 2), "round_ratios": [round(r, 2) for r in ratios],
                     "goal": f"{IMPORT_GOAL_MS:.0f} ms" if name == "import" else goal,
                     "status": status, "gflop_per_step": round(flops / 1e9, 4) if flops else None,
                     "kindling_gflops": None if gflops is None else round(gflops, 2),
                     "torch_gflops": round(flops / (t_ms / 1e3) / 1e9, 2) if flops else None,
                     "fraction_of_gemm": None if gflops is None else round(gflops / gemm_now, 3),
                     "numpy_gemm_gflops": round(gemm_now, 1),
                     "kindling_peak_mib": None if k_mem is None else round(k_mem, 1),
                     "torch_peak_mib": None if t_mem is None else round(t_mem, 1),
                     "memory_ratio": round(k_mem / max(t_mem, 1.0), 2)
                     if k_mem is not None and t_mem is not None else None})
        r = rows[-1]
        spread = f" (rounds {min(ratios):.2f}-{max(ratios):.2f})" if args.rounds > 1 else ""
        mem = f"   mem {k_mem:.1f}/{t_mem:.1f} MiB" if k_mem is not None and t_mem is not None \
            else ""
        print(f"{name:16s} kindling {k_ms:9.2f} ms   torch {t_ms:9.2f} ms   ratio {ratio:5.2f}"
              f" {status:4s}{spread}" + (f"   {gflops:6.1f} GFLOP/s "
                                         f"({r['fraction_of_gemm']:.1%} of GEMM)"
                                         if gflops else "") + mem, flush=True)
    machine = machine_info(args.threads, gemm, load)
    write_results(machine, rows, args.out)
    print(f"results in {args.out}/latest.{{json,md}}")


if __name__ == "__main__":
    main()
