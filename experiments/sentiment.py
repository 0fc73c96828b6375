"""BiLSTM sentiment classifier on the UCI Sentiment Labelled Sentences (amazon, imdb, yelp).

80/20 stratified-by-shuffle split of the 3,000 sentences; reports test accuracy, compares with
a bag-of-words logistic regression baseline trained the same way, and prints the model's
predictions on negation probes ("not good", "not bad", ...). The loop is
kindling.text.tasks.train_sentiment (also `kindling train --task sentiment`).
    python experiments/sentiment.py --steps 400
"""
from _common import parser  # first: sets the BLAS thread count before NumPy loads

from kindling.text.tasks import train_sentiment


def main():
    args = parser(__doc__, 400, batch_size=(int, 32), lr=(float, 3e-3),
                  hidden=(int, 64)).parse_args()
    result = train_sentiment(args.data_dir, steps=args.steps, seed=args.seed,
                             batch_size=args.batch_size, hidden=args.hidden, lr=args.lr)
    print("final: " + result["summary"])
    print("negation probes (1 = positive):")
    for probe, lstm, bow in result["extra"]["probes"]:
        print(f"  BiLSTM {lstm}  BoW {bow}  | {probe}")


if __name__ == "__main__":
    main()
