"""Kindling vs PyTorch on the same training run: a char-LSTM LM and a small char-GPT on Tiny
Shakespeare.

The kindling side is the shared training loop itself (kindling.text.tasks.train_char_lm /
train_char_gpt). The torch side is a twin built here from torch.nn with the same parameter names
and shapes, started from the same initial weights (a kindling model built under the same seed,
its state_dict copied into the twin), trained on the same batches (bptt_batches is
deterministic; GPT's random blocks are replayed from kindling's RNG in the order the loop draws
them) with the same optimizer, clipping and number of steps, and validated on the same data.
Prints both validation losses, their relative difference and PASS if it is within 2 %.

    python experiments/kindling_vs_torch.py --steps 200
"""
from _common import parser  # first: sets the BLAS thread count before NumPy loads
import math
import time

import numpy as np
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import kindling
from kindling.models import CharLM, CharLMConfig, GPT, GPTConfig
from kindling.text import TinyShakespeare, bptt_batches, random_blocks
from kindling.text.tasks import train_char_gpt, train_char_lm

TOLERANCE = 0.02


def to_torch(x):
    return torch.from_numpy(np.ascontiguousarray(x.numpy()))


def copy_weights(kindling_model, torch_model):
    state = {k: torch.from_numpy(v.detach().numpy().copy())
             for k, v in kindling_model.state_dict().items()}
    torch_model.load_state_dict(state, strict=True)


class Logged:
    """log() for the kindling loop that also remembers the step-1 training loss."""
    def __init__(self):
        self.first = None

    def __call__(self, line):
        print("  kindling | " + line, flush=True)
        if self.first is None and line.startswith("step     1"):
            self.first = float(line.split("loss")[1].split()[0])


def report(name, k_val, t_val, k_first, t_first, k_time, t_time):
    rel = abs(k_val - t_val) / abs(t_val)
    verdict = "PASS" if rel <= TOLERANCE else "FAIL"
    print(f"{name}: step-1 train loss kindling {k_first:.3f} torch {t_first:.3f}; "
          f"val loss kindling {k_val:.4f} torch {t_val:.4f}; relative difference {rel:.4%} "
          f"(tolerance {TOLERANCE:.0%}) {verdict}; time kindling {k_time:.0f}s torch "
          f"{t_time:.0f}s", flush=True)
    return verdict == "PASS"


# --- char-LSTM ---------------------------------------------------------------------------------
class TorchCharLM(tnn.Module):
    """Same layout as kindling.models.CharLM (embed, rnn, head), one LSTM layer."""
    def __init__(self, vocab_size, embed_dim, hidden_size):
        super().__init__()
        self.embed = tnn.Embedding(vocab_size, embed_dim)
        self.rnn = tnn.LSTM(embed_dim, hidden_size, 1, batch_first=True)
        self.head = tnn.Linear(hidden_size, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embed(ids), state)   # (B, T, H)
        return self.head(out), state                     # (B, T, V)


def torch_char_lm_loss(model, data, batch_size, bptt, max_batches):
    total, n, state = 0.0, 0, None
    with torch.no_grad():
        for i, (x, y) in enumerate(bptt_batches(data, batch_size, bptt)):
            if i >= max_batches:
                break
            logits, state = model(to_torch(x), state)
            total += TF.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                      to_torch(y).reshape(-1)).item() * y.numel()
            n += y.numel()
    return total / n


def compare_lstm(args, ds):
    kw = dict(steps=args.steps, seed=args.seed, batch_size=32, bptt=64, hidden=args.hidden,
              layers=1, embed_dim=64, lr=3e-3, clip=5.0, eval_batches=20)
    print(f"char-LSTM: {kw}")
    kindling.manual_seed(kw["seed"])   # the initial weights train_char_lm will start from
    init = CharLM(CharLMConfig(vocab_size=len(ds.vocab), embed_dim=64, hidden_size=kw["hidden"],
                               num_layers=1, cell="lstm"))
    twin = TorchCharLM(len(ds.vocab), 64, kw["hidden"])
    copy_weights(init, twin)

    t0 = time.time()
    log = Logged()
    k_val = train_char_lm(args.data_dir, log=log, **kw)["metrics"]["val_loss"]
    k_time = time.time() - t0

    t0 = time.time()
    opt = torch.optim.Adam(twin.parameters(), lr=kw["lr"])
    step, state, first = 0, None, None
    while step < kw["steps"]:
        for x, y in bptt_batches(ds.train, kw["batch_size"], kw["bptt"]):
            state = None if state is None else tuple(s.detach() for s in state)
            logits, state = twin(to_torch(x), state)
            loss = TF.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                    to_torch(y).reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(twin.parameters(), kw["clip"])
            opt.step()
            step += 1
            first = loss.item() if first is None else first
            if step >= kw["steps"]:
                break
    t_val = torch_char_lm_loss(twin, ds.val, kw["batch_size"], kw["bptt"], kw["eval_batches"])
    return report("char-LSTM", k_val, t_val, log.first, first, k_time, time.time() - t0)


# --- char-GPT ----------------------------------------------------------------------------------
class TorchAttention(tnn.Module):
    def __init__(self, C, n_head):
        super().__init__()
        self.n_head = n_head
        self.c_attn = tnn.Linear(C, 3 * C)
        self.c_proj = tnn.Linear(C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)                              # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in (q, k, v))                                        # (B, nh, T, hs)
        y = TF.scaled_dot_product_attention(q, k, v, is_causal=True)          # (B, nh, T, hs)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))                # (B, T, C)


class TorchMLP(tnn.Module):
    def __init__(self, C):
        super().__init__()
        self.c_fc = tnn.Linear(C, 4 * C)
        self.gelu = tnn.GELU()
        self.c_proj = tnn.Linear(4 * C, C)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))                           # (B, T, C)


class TorchBlock(tnn.Module):
    def __init__(self, C, n_head):
        super().__init__()
        self.ln_1 = tnn.LayerNorm(C)
        self.attn = TorchAttention(C, n_head)
        self.ln_2 = tnn.LayerNorm(C)
        self.mlp = TorchMLP(C)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TorchGPT(tnn.Module):
    """Same parameter names as kindling.models.GPT (wte, wpe, h.i.*, ln_f, lm_head tied)."""
    def __init__(self, cfg):
        super().__init__()
        self.wte = tnn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = tnn.Embedding(cfg.block_size, cfg.n_embd)
        self.h = tnn.ModuleList([TorchBlock(cfg.n_embd, cfg.n_head) for _ in range(cfg.n_layer)])
        self.ln_f = tnn.LayerNorm(cfg.n_embd)
        self.lm_head = tnn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx, targets):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))                         # (B, T, C)
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))                                   # (B, T, V)
        return TF.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T))


def compare_gpt(args, ds):
    kw = dict(steps=args.steps, seed=args.seed, batch_size=16, block_size=64, n_layer=2,
              n_head=4, n_embd=args.n_embd, lr=1e-3, weight_decay=0.1, eval_iters=10)
    print(f"char-GPT: {kw}")
    cfg = GPTConfig(vocab_size=len(ds.vocab), block_size=kw["block_size"],
                    n_layer=kw["n_layer"], n_head=kw["n_head"], n_embd=kw["n_embd"],
                    dropout=0.0)
    # Replay kindling's RNG as train_char_gpt consumes it: the model's initialization, then
    # `steps` training blocks, then `eval_iters` validation blocks.
    kindling.manual_seed(kw["seed"])
    init = GPT(cfg)
    train_blocks = [random_blocks(ds.train, kw["block_size"], kw["batch_size"])
                    for _ in range(kw["steps"])]
    val_blocks = [random_blocks(ds.val, kw["block_size"], kw["batch_size"])
                  for _ in range(kw["eval_iters"])]
    twin = TorchGPT(cfg)
    copy_weights(init, twin)

    t0 = time.time()
    log = Logged()
    k_val = train_char_gpt(args.data_dir, log=log, **kw)["metrics"]["val_loss"]
    k_time = time.time() - t0

    t0 = time.time()
    params = list(twin.parameters())   # as GPT.configure_optimizer: decay on matrices only
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2],
                              "weight_decay": kw["weight_decay"]},
                             {"params": [p for p in params if p.dim() < 2],
                              "weight_decay": 0.0}], lr=kw["lr"], betas=(0.9, 0.95))
    first = None
    for x, y in train_blocks:
        loss = twin(to_torch(x), to_torch(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    with torch.no_grad():
        t_val = sum(twin(to_torch(x), to_torch(y)).item() for x, y in val_blocks) / len(val_blocks)
    return report("char-GPT", k_val, t_val, log.first, first, k_time, time.time() - t0)


def main():
    args = parser(__doc__, 200, hidden=(int, 256), n_embd=(int, 64),
                  models=(str, "lstm,gpt")).parse_args()
    torch.set_num_threads(1)
    kindling.set_num_threads(1)
    ds = TinyShakespeare(f"{args.data_dir}/tinyshakespeare/input.txt")
    results = []
    if "lstm" in args.models:
        results.append(compare_lstm(args, ds))
    if "gpt" in args.models:
        results.append(compare_gpt(args, ds))
    print("overall:", "PASS" if all(results) else "FAIL")


if __name__ == "__main__":
    main()
