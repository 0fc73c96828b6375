"""English -> French translation with a GRU encoder-decoder and Bahdanau attention.

Uses the short Tatoeba pairs (lowercased, punctuation split, at most --max-len tokens), a 90/10
split by English sentence, teacher forcing with probability --tf-ratio, and reports corpus
BLEU-4 on held-out pairs with greedy decoding and beam search. The loop is
kindling.text.tasks.train_seq2seq (also `kindling train --task seq2seq`).
    python experiments/seq2seq_translation.py --steps 300
"""
from _common import parser  # first: sets the BLAS thread count before NumPy loads

from kindling.text.tasks import train_seq2seq


def main():
    args = parser(__doc__, 300, batch_size=(int, 64), lr=(float, 3e-3), max_len=(int, 6),
                  max_pairs=(int, 12000), tf_ratio=(float, 0.9), hidden=(int, 128),
                  eval_pairs=(int, 200)).parse_args()
    result = train_seq2seq(args.data_dir, steps=args.steps, seed=args.seed,
                           batch_size=args.batch_size, hidden=args.hidden, lr=args.lr,
                           max_len=args.max_len, max_pairs=args.max_pairs,
                           tf_ratio=args.tf_ratio, eval_pairs=args.eval_pairs)
    print("final: " + result["summary"])
    for src, hyp, ref in result["extra"]["examples"][:8]:
        print(f"  {src:30s} -> {hyp:35s} (ref: {ref})")


if __name__ == "__main__":
    main()
