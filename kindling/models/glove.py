"""GloVe (Pennington et al. 2014): word vectors from a weighted least-squares fit of log
co-occurrence counts.

Co-occurrences: for every pair of words at distance d <= window in a sentence, X[i, j] and
X[j, i] grow by 1/d (symmetric window, the paper's distance weighting).

Loss over the non-zero entries:
    J = sum_ij f(X_ij) * (w_i . w~_j + b_i + b~_j - log X_ij)^2,
    f(x) = (x / x_max) ** alpha if x < x_max else 1        (x_max = 100, alpha = 3/4)
minimized with Adagrad (initial lr 0.05), as in the paper. The word vectors are W + W~.
"""
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .. import nn, optim, creation
from ..engine import dtypes
from ..text.vocab import Vocab
from .word2vec import EmbeddingQueries


def cooccurrence(sentences, vocab, window=5, distance_weighting=True):
    """Dict {(i, j): X_ij} of symmetric window co-occurrences weighted by 1/distance."""
    X = defaultdict(float)
    stoi = vocab.stoi
    for s in sentences:
        ids = [stoi[w] for w in s if w in stoi]
        for p, i in enumerate(ids):
            for d in range(1, window + 1):
                if p + d >= len(ids):
                    break
                j = ids[p + d]
                inc = 1.0 / d if distance_weighting else 1.0
                X[(i, j)] += inc
                X[(j, i)] += inc
    return dict(X)


def glove_weight(x, x_max=100.0, alpha=0.75):
    x = np.asarray(x, dtype=np.float64)
    return np.where(x < x_max, (x / x_max) ** alpha, 1.0)


@dataclass
class GloVeConfig:
    embed_dim: int = 50
    window: int = 5
    x_max: float = 100.0
    alpha: float = 0.75
    min_count: int = 1


class GloVe(nn.Module, EmbeddingQueries):
    """    >>> g = GloVe.build(sentences, GloVeConfig(embed_dim=32)); g.fit(epochs=50)
    >>> g.nearest("king"); g.analogy("king", "man", "woman")"""
    def __init__(self, vocab, cooc, config=None, **kwargs):
        super().__init__()
        self.config = config = config or GloVeConfig(**kwargs)
        self.vocab = vocab
        V, D = len(vocab), config.embed_dim
        self.w = nn.Embedding(V, D)
        self.w_tilde = nn.Embedding(V, D)
        self.b = nn.Embedding(V, 1)
        self.b_tilde = nn.Embedding(V, 1)
        for e in (self.w, self.w_tilde, self.b, self.b_tilde):   # the reference code's init
            nn.init.uniform_(e.weight, -0.5 / D, 0.5 / D)
        keys = sorted(cooc)
        self.rows = np.array([k[0] for k in keys], dtype=np.int64)
        self.cols = np.array([k[1] for k in keys], dtype=np.int64)
        self.x = np.array([cooc[k] for k in keys], dtype=np.float64)

    @classmethod
    def build(cls, sentences, config=None, **kwargs):
        config = config or GloVeConfig(**kwargs)
        vocab = Vocab.build(sentences, min_freq=config.min_count, specials=())
        return cls(vocab, cooccurrence(sentences, vocab, config.window), config)

    def vectors(self):
        return (self.w.weight + self.w_tilde.weight).detach().numpy()

    def loss(self, rows, cols, x):
        """Weighted least squares over a batch of (i, j, X_ij): rows, cols (B,), x (B,)."""
        f = creation.tensor(glove_weight(x, self.config.x_max, self.config.alpha),
                            dtype=dtypes.float32)                                   # (B,)
        logx = creation.tensor(np.log(x), dtype=dtypes.float32)                     # (B,)
        i, j = creation.tensor(rows), creation.tensor(cols)
        pred = (self.w(i) * self.w_tilde(j)).sum(-1) + self.b(i)[:, 0] + \
            self.b_tilde(j)[:, 0]                                                   # (B,)
        return (f * (pred - logx) ** 2).sum()                                       # ()

    def forward(self, rows, cols, x):
        return self.loss(rows, cols, x)

    def fit(self, epochs=25, batch_size=512, lr=0.05, seed=0, verbose=False):
        """Adagrad over shuffled non-zero entries; returns the total loss J per epoch (the
        paper's objective, measured during the epoch)."""
        rng = np.random.default_rng(seed)
        opt = optim.Adagrad(self.parameters(), lr=lr)
        history = []
        for epoch in range(epochs):
            order = rng.permutation(len(self.x))
            total = 0.0
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                loss = self.loss(self.rows[idx], self.cols[idx], self.x[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item()
            history.append(total)
            if verbose:
                print(f"epoch {epoch + 1}: J = {total:.4f}")
        return history
