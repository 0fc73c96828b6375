"""Character-level LSTM language model on Tiny Shakespeare (char-rnn).

Trains with truncated BPTT over contiguous batches (the state is carried across batches and
detached), reports train/validation loss in nats per character and samples some text.
    python experiments/char_lstm_shakespeare.py --steps 300
"""
from _common import parser  # first: sets the BLAS thread count before NumPy loads
import math
import os
import time


import kindling
from kindling import optim
from kindling.nn import functional as F
from kindling.nn.utils import clip_grad_norm_
from kindling.models import CharLM, CharLMConfig
from kindling.text import TinyShakespeare, bptt_batches
from kindling.generate import generate


def evaluate(model, data, batch_size, bptt, max_batches=20):
    model.eval()
    total, n, state = 0.0, 0, None
    with kindling.no_grad():
        for i, (x, y) in enumerate(bptt_batches(data, batch_size, bptt)):
            if i >= max_batches:
                break
            logits, state = model(x, state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                     y.reshape(-1)).item() * y.numel()
            n += y.numel()
    model.train()
    return total / n


def main():
    args = parser(__doc__, 300, batch_size=(int, 32), bptt=(int, 64), hidden=(int, 256),
                  layers=(int, 1), lr=(float, 3e-3), cell=(str, "lstm")).parse_args()
    kindling.manual_seed(args.seed)
    ds = TinyShakespeare(os.path.join(args.data_dir, "tinyshakespeare", "input.txt"))
    print(ds)
    model = CharLM(CharLMConfig(vocab_size=len(ds.vocab), embed_dim=64, hidden_size=args.hidden,
                                num_layers=args.layers, cell=args.cell))
    print(f"{args.cell.upper()} LM with {model.num_parameters():,} parameters")
    opt = optim.Adam(model.parameters(), lr=args.lr)
    step, state, t0 = 0, None, time.time()
    while step < args.steps:
        for x, y in bptt_batches(ds.train, args.batch_size, args.bptt):
            state = model.detach_state(state)
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            step += 1
            if step % 50 == 0 or step == 1:
                print(f"step {step:5d}  train loss {loss.item():.3f}  "
                      f"({time.time() - t0:.0f}s)", flush=True)
            if step >= args.steps:
                break
    val = evaluate(model, ds.val, args.batch_size, args.bptt)
    print(f"final: val loss {val:.3f} nats/char ({val / math.log(2):.3f} bits/char), "
          f"uniform would be {math.log(len(ds.vocab)):.3f}")
    model.eval()
    prompt = kindling.tensor([ds.vocab.encode("ROMEO:\n")])
    out = generate(model, prompt, 200, strategy="sample", temperature=0.8, seed=args.seed)
    print("sample:\n" + ds.vocab.decode(out[0]))


if __name__ == "__main__":
    main()
