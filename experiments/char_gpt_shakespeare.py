"""Character-level GPT on Tiny Shakespeare (nanoGPT's shakespeare_char, scaled down for a CPU).

    python experiments/char_gpt_shakespeare.py --steps 300
"""
from _common import parser  # first: sets the BLAS thread count before NumPy loads
import math
import os
import time

import kindling
from kindling.models import GPT, GPTConfig
from kindling.text import TinyShakespeare, random_blocks
from kindling.generate import generate


def estimate(model, data, block, batch, iters=10):
    model.eval()
    total = 0.0
    with kindling.no_grad():
        for _ in range(iters):
            x, y = random_blocks(data, block, batch)
            total += model(x, y)[1].item()
    model.train()
    return total / iters


def main():
    args = parser(__doc__, 300, batch_size=(int, 16), block_size=(int, 64), n_layer=(int, 2),
                  n_head=(int, 4), n_embd=(int, 128), lr=(float, 1e-3)).parse_args()
    kindling.manual_seed(args.seed)
    ds = TinyShakespeare(os.path.join(args.data_dir, "tinyshakespeare", "input.txt"))
    cfg = GPTConfig(vocab_size=len(ds.vocab), block_size=args.block_size, n_layer=args.n_layer,
                    n_head=args.n_head, n_embd=args.n_embd, dropout=0.0)
    model = GPT(cfg)
    print(ds)
    print(f"GPT {cfg} with {model.num_parameters():,} parameters "
          f"(formula {GPT.count_formula(cfg):,})")
    opt = model.configure_optimizer(lr=args.lr, weight_decay=0.1)
    t0 = time.time()
    for step in range(1, args.steps + 1):
        x, y = random_blocks(ds.train, args.block_size, args.batch_size)
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == 1:
            print(f"step {step:5d}  train loss {loss.item():.3f}  ({time.time() - t0:.0f}s)",
                  flush=True)
    val = estimate(model, ds.val, args.block_size, args.batch_size)
    print(f"final: val loss {val:.3f} nats/char (uniform {math.log(len(ds.vocab)):.3f})")
    model.eval()
    out = generate(model, kindling.tensor([ds.vocab.encode("\n")]), 200, strategy="sample",
                   temperature=0.8, top_k=20, seed=args.seed)
    print("sample:\n" + ds.vocab.decode(out[0]))


if __name__ == "__main__":
    main()
