"""Skip-gram word2vec with negative sampling on Tiny Shakespeare words; prints the nearest
neighbours of a few words. The loop is kindling.text.tasks.train_word2vec (also
`kindling train --task word2vec`).
    python experiments/word2vec_shakespeare.py --steps 2000
(--steps counts mini-batches of (center, context) pairs.)
"""
from _common import parser  # first: sets the BLAS thread count before NumPy loads

from kindling.text.tasks import train_word2vec


def main():
    args = parser(__doc__, 2000, batch_size=(int, 512), dim=(int, 64), window=(int, 4),
                  min_count=(int, 5), lr=(float, 3e-3)).parse_args()
    result = train_word2vec(args.data_dir, steps=args.steps, seed=args.seed,
                            batch_size=args.batch_size, dim=args.dim, window=args.window,
                            min_count=args.min_count, lr=args.lr)
    print("final: " + result["summary"])
    print("nearest neighbours (cosine):")
    for word, near in result["extra"]["neighbours"].items():
        print(f"  {word:6s}: " + ", ".join(f"{n} {c:.2f}" for n, c in near))


if __name__ == "__main__":
    main()
