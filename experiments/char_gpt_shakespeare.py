"""Character-level GPT on Tiny Shakespeare (nanoGPT's shakespeare_char, scaled down for a CPU).
The loop is kindling.text.tasks.train_char_gpt (also `kindling train --task char-gpt`).

    python experiments/char_gpt_shakespeare.py --steps 300
"""
from _common import parser  # first: sets the BLAS thread count before NumPy loads

import kindling
from kindling.generate import generate
from kindling.text.tasks import train_char_gpt


def main():
    args = parser(__doc__, 300, batch_size=(int, 16), block_size=(int, 64), n_layer=(int, 2),
                  n_head=(int, 4), n_embd=(int, 128), lr=(float, 1e-3)).parse_args()
    result = train_char_gpt(args.data_dir, steps=args.steps, seed=args.seed,
                            batch_size=args.batch_size, block_size=args.block_size,
                            n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd,
                            lr=args.lr)
    print("final: " + result["summary"])
    model, vocab = result["model"], result["extra"]["dataset"].vocab
    model.eval()
    out = generate(model, kindling.tensor([vocab.encode("\n")]), 200, strategy="sample",
                   temperature=0.8, top_k=20, seed=args.seed)
    print("sample:\n" + vocab.decode(out[0]))


if __name__ == "__main__":
    main()
