"""BiLSTM sentiment classifier on the UCI Sentiment Labelled Sentences (amazon, imdb, yelp).

80/20 stratified-by-shuffle split of the 3,000 sentences; reports test accuracy, compares with
a bag-of-words logistic regression baseline trained the same way, and prints the model's
predictions on negation probes ("not good", "not bad", ...).
    python experiments/sentiment.py --steps 400
"""
from _common import parser  # first: sets the BLAS thread count before NumPy loads
import os
import time

import numpy as np

import kindling
from kindling import nn, optim
from kindling.nn import functional as F
from kindling.models import BiLSTMClassifier, BiLSTMConfig
from kindling.text import SentimentSentences, WordVocab, pad_batch, word_tokenize

PROBES = ["the food was good", "the food was not good", "the movie was bad",
          "the movie was not bad", "i did not like it at all", "not bad at all , i liked it",
          "great phone", "this is not a great phone", "i would not recommend this place",
          "never disappointed"]


def batches(data, batch_size, rng):
    while True:
        order = rng.permutation(len(data))
        for s in range(0, len(order) - batch_size + 1, batch_size):
            yield [data[i] for i in order[s:s + batch_size]]


def accuracy(predict, data):
    with kindling.no_grad():
        pred = predict([d[0] for d in data])
    return float((pred == np.array([d[1] for d in data])).mean())


def main():
    args = parser(__doc__, 400, batch_size=(int, 32), lr=(float, 3e-3),
                  hidden=(int, 64)).parse_args()
    kindling.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    ds = SentimentSentences(os.path.join(args.data_dir, "sentiment-labelled-sentences"))
    toks = ds.tokens()
    order = rng.permutation(len(ds))
    split = int(0.8 * len(ds))
    train = [(toks[i], ds.labels[i]) for i in order[:split]]
    test = [(toks[i], ds.labels[i]) for i in order[split:]]
    vocab = WordVocab.build([t for t, _ in train], min_freq=1)
    print(f"{len(train)} train / {len(test)} test sentences, vocabulary {len(vocab)}")

    model = BiLSTMClassifier(BiLSTMConfig(vocab_size=len(vocab), embed_dim=64,
                                          hidden_size=args.hidden, dropout=0.3, pool="max"))
    bow = nn.Linear(len(vocab), 2)

    def bow_features(sents):
        x = np.zeros((len(sents), len(vocab)), np.float32)
        for i, s in enumerate(sents):
            x[i, vocab.encode(s)] = 1.0
        return kindling.tensor(x)

    def lstm_predict(sents):
        model.eval()
        ids, lengths = pad_batch([vocab.encode(s) for s in sents])
        out = model(ids, lengths).argmax(1).numpy()
        model.train()
        return out

    opt = optim.Adam(model.parameters(), lr=args.lr)
    opt_bow = optim.Adam(bow.parameters(), lr=1e-2, weight_decay=1e-4)
    t0 = time.time()
    for step, batch in zip(range(1, args.steps + 1), batches(train, args.batch_size, rng)):
        y = kindling.tensor([d[1] for d in batch])
        ids, lengths = pad_batch([vocab.encode(d[0]) for d in batch])
        loss = F.cross_entropy(model(ids, lengths), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        bow_loss = F.cross_entropy(bow(bow_features([d[0] for d in batch])), y)
        opt_bow.zero_grad()
        bow_loss.backward()
        opt_bow.step()
        if step % 100 == 0 or step == 1:
            print(f"step {step:5d}  loss {loss.item():.3f}  test acc "
                  f"{accuracy(lstm_predict, test):.3f}  ({time.time() - t0:.0f}s)", flush=True)
    lstm_acc = accuracy(lstm_predict, test)
    bow_acc = accuracy(lambda s: bow(bow_features(s)).argmax(1).numpy(), test)
    print(f"final: BiLSTM test accuracy {lstm_acc:.3f}, bag-of-words baseline {bow_acc:.3f}")
    print("negation probes (1 = positive):")
    with kindling.no_grad():
        probe_toks = [word_tokenize(p) for p in PROBES]
        lp = lstm_predict(probe_toks)
        bp = bow(bow_features(probe_toks)).argmax(1).numpy()
    for p, a, b in zip(PROBES, lp, bp):
        print(f"  BiLSTM {a}  BoW {b}  | {p}")


if __name__ == "__main__":
    main()
