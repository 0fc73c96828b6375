"""Skip-gram word2vec with negative sampling on Tiny Shakespeare words; prints the nearest
neighbours of a few words.
    python experiments/word2vec_shakespeare.py --steps 2000
(--steps counts mini-batches of (center, context) pairs.)
"""
from _common import parser  # first: sets the BLAS thread count before NumPy loads
import os
import time

import numpy as np

import kindling
from kindling import optim
from kindling.models import Word2Vec, Word2VecConfig
from kindling.text import word_tokenize

QUERIES = ["king", "love", "good", "he", "thou", "lord", "death", "night"]


def main():
    args = parser(__doc__, 2000, batch_size=(int, 512), dim=(int, 64), window=(int, 4),
                  min_count=(int, 5), lr=(float, 3e-3)).parse_args()
    kindling.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    with open(os.path.join(args.data_dir, "tinyshakespeare", "input.txt"),
              encoding="utf-8") as f:
        lines = [word_tokenize(l) for l in f.read().split("\n") if l.strip()]
    sents = [[w for w in l if w.isalpha()] for l in lines]
    cfg = Word2VecConfig(embed_dim=args.dim, window=args.window, negatives=5,
                         min_count=args.min_count, subsample=1e-4)
    model = Word2Vec.build(sents, cfg)
    print(f"{sum(map(len, sents)):,} words, vocabulary {len(model.vocab):,} "
          f"(min_count {args.min_count})")
    opt = optim.Adam(model.parameters(), lr=args.lr)
    step, t0 = 0, time.time()
    while step < args.steps:
        centers, contexts = model.make_examples(sents, rng)
        order = rng.permutation(len(centers))
        print(f"epoch of {len(centers):,} pairs after subsampling")
        for s in range(0, len(order), args.batch_size):
            idx = order[s:s + args.batch_size]
            negs = rng.choice(len(model.noise), size=(len(idx), cfg.negatives), p=model.noise)
            loss = model.loss(kindling.tensor(centers[idx]), kindling.tensor(contexts[idx]),
                              kindling.tensor(negs))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % 200 == 0 or step == 1:
                print(f"step {step:5d}  loss {loss.item():.3f}  ({time.time() - t0:.0f}s)",
                      flush=True)
            if step >= args.steps:
                break
    print("final: nearest neighbours (cosine)")
    for w in QUERIES:
        if w in model.vocab:
            print(f"  {w:6s}: " + ", ".join(f"{n} {c:.2f}" for n, c in model.nearest(w, 6)))


if __name__ == "__main__":
    main()
