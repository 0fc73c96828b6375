"""word2vec (skip-gram, CBOW) and GloVe on tiny corpora with planted structure."""
import numpy as np
import pytest

import kindling
from kindling.models.word2vec import (Word2Vec, Word2VecConfig, subsample_discard_probs,
                                      noise_distribution, unigram_table)
from kindling.models.glove import GloVe, GloVeConfig, cooccurrence, glove_weight
from kindling.text import Vocab

FRUIT = ["apple", "banana", "cherry", "grape", "lemon"]
VEHICLE = ["car", "bus", "train", "truck", "bike"]


def topic_corpus(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return [[str(w) for w in rng.choice(FRUIT if rng.random() < 0.5 else VEHICLE, 8)]
            for _ in range(n)]


def analogy_corpus(n=400, seed=0):
    roles = {"king": ("royal", "male"), "queen": ("royal", "female"),
             "man": ("common", "male"), "woman": ("common", "female")}
    ctx = {"royal": ["palace", "crown", "throne"], "common": ["street", "field", "market"],
           "male": ["he", "him", "his"], "female": ["she", "her", "hers"]}
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        w = str(rng.choice(list(roles)))
        status, gender = roles[w]
        out.append([str(rng.choice(ctx[status])), w, str(rng.choice(ctx[gender]))])
    return out


def test_subsampling_probabilities_follow_mikolov():
    counts = np.array([1000, 100, 10, 1])
    t = 1e-2
    f = counts / counts.sum()
    expected = np.maximum(0, 1 - np.sqrt(t / f))
    np.testing.assert_allclose(subsample_discard_probs(counts, t), expected)
    m = Word2Vec.build([["a"] * 1000 + ["b"] * 100 + ["c"] * 10 + ["d"]], subsample=t)
    np.testing.assert_allclose(m.discard, expected)          # ids follow frequency order
    # empirical keep rate of the most frequent word in one epoch
    rng = np.random.default_rng(0)
    kept = [(m._ids([["a"] * 1000])[0][rng.random(1000) >= m.discard[0]]).size
            for _ in range(20)]
    assert np.mean(kept) / 1000 == pytest.approx(1 - expected[0], abs=0.02)


def test_negative_sampling_distribution_is_unigram_to_075():
    counts = np.array([81.0, 16.0, 1.0])
    p = noise_distribution(counts)
    np.testing.assert_allclose(p, np.array([27.0, 8.0, 1.0]) / 36.0)
    table = unigram_table(counts, table_size=36_000)
    np.testing.assert_allclose(np.bincount(table) / len(table), p, atol=1e-4)
    m = Word2Vec.build([["x"] * 81 + ["y"] * 16 + ["z"]])
    np.testing.assert_allclose(m.noise, p)


@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_word2vec_recovers_topic_clusters(mode):
    sents = topic_corpus()
    m = Word2Vec.build(sents, Word2VecConfig(embed_dim=16, window=2, negatives=3, subsample=0,
                                             mode=mode))
    hist = m.fit(sents, epochs=3, batch_size=128, lr=0.02)
    assert hist[-1] < hist[0]
    for word, group in (("apple", FRUIT), ("car", VEHICLE)):
        neigh = [w for w, _ in m.nearest(word, 4)]
        assert set(neigh) == set(group) - {word}
    assert m.similarity("apple", "banana") > m.similarity("apple", "car")


def test_word2vec_planted_analogy():
    sents = analogy_corpus()
    m = Word2Vec.build(sents, Word2VecConfig(embed_dim=8, window=2, negatives=3, subsample=0))
    m.fit(sents, epochs=6, batch_size=64, lr=0.02)
    assert m.analogy("king", "man", "woman") == "queen"
    assert m.analogy("woman", "queen", "king") == "man"
    top = m.analogy("king", "man", "woman", k=3)
    assert len(top) == 3 and all(w not in ("king", "man", "woman") for w, _ in top)


def test_query_api_on_planted_vectors():
    m = Word2Vec(Vocab(["king", "queen", "man", "woman", "apple"], specials=()), embed_dim=3)
    vecs = np.array([[1, 1, 0], [1, -1, 0], [-1, 1, 0], [-1, -1, 0], [0, 0, 1]], np.float32)
    with kindling.no_grad():
        m.in_embed.weight.copy_(kindling.tensor(vecs))
    assert m.analogy("king", "man", "woman") == "queen"
    assert m.nearest("apple", 1)[0][1] == pytest.approx(0.0, abs=1e-6)
    assert m.nearest("king", 4)[-1] == ("woman", pytest.approx(-1.0))


def test_cooccurrence_counts_are_exact():
    v = Vocab(["a", "b", "c"], specials=())
    X = cooccurrence([["a", "b", "c", "a"]], v, window=2)
    a, b, c = 0, 1, 2
    # pairs: (a,b) d1, (a,c) d2, (b,c) d1, (b,a) d2 [b..a at positions 1,3], (c,a) d1
    assert X[(a, b)] == pytest.approx(1 + 0.5) and X[(b, a)] == pytest.approx(1.5)
    assert X[(a, c)] == pytest.approx(0.5 + 1) and X[(c, a)] == pytest.approx(1.5)
    assert X[(b, c)] == pytest.approx(1.0) and X[(c, b)] == pytest.approx(1.0)
    assert (a, a) not in X                      # distance 3 > window
    X3 = cooccurrence([["a", "b", "c", "a"]], v, window=3)
    assert X3[(a, a)] == pytest.approx(2 / 3)   # symmetric: counted in both directions


def test_glove_weighting_function():
    np.testing.assert_allclose(glove_weight([1, 50, 100, 500], x_max=100, alpha=0.75),
                               [0.01 ** 0.75, 0.5 ** 0.75, 1, 1])


def test_glove_loss_decreases_and_clusters():
    sents = topic_corpus()
    g = GloVe.build(sents, GloVeConfig(embed_dim=8, window=2, x_max=10))
    hist = g.fit(epochs=30, lr=0.1, batch_size=32)
    assert hist[-1] < 0.1 * hist[0]
    assert all(b <= a * 1.05 for a, b in zip(hist, hist[1:]))
    for word, group in (("apple", FRUIT), ("car", VEHICLE)):
        assert set(w for w, _ in g.nearest(word, 4)) == set(group) - {word}
    # the trained loss equals the objective recomputed from scratch
    full = g.loss(g.rows, g.cols, g.x).item()
    assert full > 0 and full < hist[0]
