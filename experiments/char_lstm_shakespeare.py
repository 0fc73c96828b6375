"""Character-level LSTM language model on Tiny Shakespeare (char-rnn).

Trains with truncated BPTT over contiguous batches (the state is carried across batches and
detached), reports train/validation loss in nats per character and samples some text. The loop
is kindling.text.tasks.train_char_lm (also `kindling train --task char-lstm`).
    python experiments/char_lstm_shakespeare.py --steps 300
"""
from _common import parser  # first: sets the BLAS thread count before NumPy loads

import kindling
from kindling.generate import generate
from kindling.text.tasks import train_char_lm


def main():
    args = parser(__doc__, 300, batch_size=(int, 32), bptt=(int, 64), hidden=(int, 256),
                  layers=(int, 1), lr=(float, 3e-3), cell=(str, "lstm")).parse_args()
    result = train_char_lm(args.data_dir, steps=args.steps, seed=args.seed,
                           batch_size=args.batch_size, bptt=args.bptt, hidden=args.hidden,
                           layers=args.layers, lr=args.lr, cell=args.cell)
    print("final: " + result["summary"])
    model, vocab = result["model"], result["extra"]["dataset"].vocab
    model.eval()
    prompt = kindling.tensor([vocab.encode("ROMEO:\n")])
    out = generate(model, prompt, 200, strategy="sample", temperature=0.8, seed=args.seed)
    print("sample:\n" + vocab.decode(out[0]))


if __name__ == "__main__":
    main()
