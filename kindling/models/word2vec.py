"""word2vec (Mikolov et al. 2013): skip-gram and CBOW with negative sampling.

Training data: sentences of tokens -> a WordVocab (tokens seen >= min_count times) -> per epoch,
frequent words are randomly discarded with probability
    P_discard(w) = max(0, 1 - sqrt(t / f(w))),   f(w) = count(w) / total count
(the formula of "Distributed Representations of Words and Phrases", section 2.3), then every
remaining position gives (center, context) pairs within a window whose size is drawn uniformly
from 1..window per position (as the reference implementation does, which weights near
contexts more).

Loss per pair (skip-gram: v = in_embed[center], target = context; CBOW: v = mean of the context
words' in_embed, target = center), with K negatives n_k drawn from the noise distribution
P_n(w) proportional to count(w) ** 0.75:
    -log sigmoid(u_target . v) - sum_k log sigmoid(-u_{n_k} . v)
Input vectors start uniform in [-0.5/D, 0.5/D] and output vectors at 0 (the reference
implementation's choice). `vectors` are the input embeddings.

Queries (shared with GloVe): `nearest(word, k)`, `analogy(a, b, c)` = the word closest to
vec(a) - vec(b) + vec(c) ("king" - "man" + "woman" -> "queen"), by cosine similarity, excluding
the query words.
"""
from dataclasses import dataclass

import numpy as np

from .. import nn, optim, creation
from ..engine import dtypes
from ..nn import functional as F
from ..text.vocab import Vocab


def subsample_discard_probs(counts, t=1e-3):
    """P_discard(w) = max(0, 1 - sqrt(t / f(w))) for an array of word counts."""
    counts = np.asarray(counts, dtype=np.float64)
    f = counts / counts.sum()
    return np.clip(1.0 - np.sqrt(t / np.maximum(f, 1e-300)), 0.0, 1.0)


def noise_distribution(counts, power=0.75):
    """Negative-sampling distribution: P_n(w) = count(w)^power / sum_v count(v)^power."""
    w = np.asarray(counts, dtype=np.float64) ** power
    if w.sum() <= 0:                      # no counts known (e.g. a hand-made vocab): uniform
        return np.full(len(w), 1.0 / len(w))
    return w / w.sum()


def unigram_table(counts, table_size=1_000_000, power=0.75):
    """The reference implementation's lookup table: word i fills a share P_n(i) of its slots,
    so drawing a uniform slot samples from P_n."""
    p = noise_distribution(counts, power)
    bounds = np.round(np.cumsum(p) * table_size).astype(np.int64)
    return np.repeat(np.arange(len(p)), np.diff(np.concatenate([[0], bounds])))


class EmbeddingQueries:
    """nearest / analogy / similarity over `self.vectors()` (V, D) and `self.vocab`."""
    def vectors(self):
        raise NotImplementedError

    def _unit(self):
        v = self.vectors()
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    def _query_ids(self):
        # ordinary words only: special tokens are never answers
        return np.array([i for i, t in enumerate(self.vocab.itos)
                         if t not in set(self.vocab.specials)], dtype=np.int64)

    def vector(self, word):
        return self.vectors()[self.vocab.stoi[word]]

    def similarity(self, a, b):
        u = self._unit()
        return float(u[self.vocab.stoi[a]] @ u[self.vocab.stoi[b]])

    def _closest(self, query, exclude, k):
        u = self._unit()
        q = query / max(np.linalg.norm(query), 1e-12)
        cand = self._query_ids()
        cand = cand[~np.isin(cand, list(exclude))]
        sims = u[cand] @ q
        top = np.argsort(-sims, kind="stable")[:k]
        return [(self.vocab.itos[cand[i]], float(sims[i])) for i in top]

    def nearest(self, word, k=5):
        """The k words most cosine-similar to `word` (itself excluded): [(word, cos), ...]."""
        i = self.vocab.stoi[word]
        return self._closest(self.vectors()[i], {i}, k)

    def analogy(self, a, b, c, k=1):
        """Words closest to vec(a) - vec(b) + vec(c), excluding a, b, c. analogy("king", "man",
        "woman") answers "king is to man as ? is to woman". Returns the best word when k == 1,
        else a list of (word, cos)."""
        u = self._unit()
        ia, ib, ic = (self.vocab.stoi[w] for w in (a, b, c))
        res = self._closest(u[ia] - u[ib] + u[ic], {ia, ib, ic}, k)
        return res[0][0] if k == 1 else res


@dataclass
class Word2VecConfig:
    embed_dim: int = 50
    window: int = 5
    negatives: int = 5
    min_count: int = 1
    subsample: float = 1e-3        # t in the discard formula; 0 disables subsampling
    mode: str = "skipgram"         # or "cbow"
    power: float = 0.75


class Word2Vec(nn.Module, EmbeddingQueries):
    """Skip-gram / CBOW with negative sampling.

        >>> w2v = Word2Vec.build(sentences, Word2VecConfig(embed_dim=32, window=3))
        >>> w2v.fit(sentences, epochs=5, lr=0.01)
        >>> w2v.nearest("king", 5); w2v.analogy("king", "man", "woman")
    """
    def __init__(self, vocab, config=None, **kwargs):
        super().__init__()
        self.config = config = config or Word2VecConfig(**kwargs)
        if config.mode not in ("skipgram", "cbow"):
            raise ValueError(f"Word2Vec: mode must be 'skipgram' or 'cbow', got {config.mode!r}")
        self.vocab = vocab
        V, D = len(vocab), config.embed_dim
        self.in_embed = nn.Embedding(V, D)
        self.out_embed = nn.Embedding(V, D)
        nn.init.uniform_(self.in_embed.weight, -0.5 / D, 0.5 / D)
        nn.init.zeros_(self.out_embed.weight)
        counts = np.array([vocab.counts.get(t, 0) for t in vocab.itos], dtype=np.float64)
        self.counts = counts
        self.noise = noise_distribution(counts, config.power)           # (V,) specials get 0
        self.discard = subsample_discard_probs(np.maximum(counts, 1e-12), config.subsample) \
            if config.subsample > 0 else np.zeros(V)

    @classmethod
    def build(cls, sentences, config=None, **kwargs):
        config = config or Word2VecConfig(**kwargs)
        vocab = Vocab.build(sentences, min_freq=config.min_count, specials=())
        return cls(vocab, config)

    def vectors(self):
        return self.in_embed.weight.detach().numpy()

    # --- data ----------------------------------------------------------------------------------
    def _ids(self, sentences):
        stoi = self.vocab.stoi
        return [np.array([stoi[w] for w in s if w in stoi], dtype=np.int64) for s in sentences]

    def make_examples(self, sentences, rng):
        """One epoch of training examples. Skip-gram: (centers (N,), contexts (N,)). CBOW:
        (centers (N,), contexts (N, 2*window) padded with -1)."""
        w = self.config.window
        centers, contexts = [], []
        for ids in self._ids(sentences):
            if self.config.subsample > 0:
                ids = ids[rng.random(len(ids)) >= self.discard[ids]]
            n = len(ids)
            for pos in range(n):
                b = int(rng.integers(1, w + 1))
                ctx = [ids[j] for j in range(max(0, pos - b), min(n, pos + b + 1)) if j != pos]
                if not ctx:
                    continue
                if self.config.mode == "skipgram":
                    centers.extend([ids[pos]] * len(ctx))
                    contexts.extend(ctx)
                else:
                    centers.append(ids[pos])
                    contexts.append(ctx + [-1] * (2 * w - len(ctx)))
        return np.array(centers, dtype=np.int64), np.array(contexts, dtype=np.int64)

    # --- model ---------------------------------------------------------------------------------
    def loss(self, centers, contexts, negatives):
        """Mean negative-sampling loss. centers (B,), contexts (B,) or (B, 2w) with -1 padding,
        negatives (B, K)."""
        if self.config.mode == "skipgram":
            v = self.in_embed(centers)                                   # (B, D)
            target = contexts                                            # (B,)
        else:
            mask = (contexts >= 0).to(dtypes.float32)                    # (B, 2w)
            ctx = self.in_embed(contexts.clamp_min(0)) * mask.unsqueeze(-1)  # (B, 2w, D)
            v = ctx.sum(1) / mask.sum(1, keepdim=True)                   # (B, D)
            target = centers                                             # (B,)
        u = self.out_embed(target)                                       # (B, D)
        u_neg = self.out_embed(negatives)                                # (B, K, D)
        pos = (u * v).sum(-1)                                            # (B,)
        neg = (u_neg @ v.unsqueeze(-1)).squeeze(-1)                      # (B, K)
        return -(F.logsigmoid(pos) + F.logsigmoid(-neg).sum(-1)).mean()  # ()

    def forward(self, centers, contexts, negatives):
        return self.loss(centers, contexts, negatives)

    def fit(self, sentences, epochs=5, batch_size=256, lr=0.01, optimizer="adam", seed=0,
            verbose=False):
        """Train; returns the list of mean losses per epoch."""
        rng = np.random.default_rng(seed)
        opt = (optim.Adam if optimizer == "adam" else optim.SGD)(self.parameters(), lr=lr)
        history = []
        for epoch in range(epochs):
            centers, contexts = self.make_examples(sentences, rng)
            order = rng.permutation(len(centers))
            total, n = 0.0, 0
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                negs = rng.choice(len(self.noise), size=(len(idx), self.config.negatives),
                                  p=self.noise)
                loss = self.loss(creation.tensor(centers[idx]), creation.tensor(contexts[idx]),
                                 creation.tensor(negs))
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
                n += len(idx)
            history.append(total / max(n, 1))
            if verbose:
                print(f"epoch {epoch + 1}: loss {history[-1]:.4f} ({n} examples)")
        return history
