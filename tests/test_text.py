"""kindling.text: vocabularies, tokenizers, batching, dataset loaders, BLEU."""
import math
import os

import numpy as np
import pytest

import kindling
from conftest import SHARED_DATA
from kindling.text import (Vocab, CharVocab, WordVocab, word_tokenize, BPETokenizer,
                           random_blocks, bptt_batches, pad_batch, padding_mask, causal_mask,
                           TextBlockDataset, TinyShakespeare, SentimentSentences,
                           TranslationPairs, corpus_bleu, sentence_bleu, MASK)

needs_data = pytest.mark.skipif(not os.path.isdir(SHARED_DATA), reason="shared data absent")


# --- vocabularies ------------------------------------------------------------------------------
def test_word_vocab_specials_unknowns_roundtrip():
    v = WordVocab.build([["the", "cat", "sat"], ["the", "dog"]])
    assert v.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert v.itos[4] == "the"                       # most frequent first
    ids = v.encode(["the", "cat", "zebra"], add_bos=True, add_eos=True)
    assert ids[0] == v.bos_id and ids[-1] == v.eos_id and ids[3] == v.unk_id
    assert v.decode(ids) == ["<bos>", "the", "cat", "<unk>", "<eos>"]
    assert v.decode(ids, skip_specials=True) == ["the", "cat"]
    assert v.decode(kindling.tensor(ids[1:3])) == ["the", "cat"]


def test_vocab_min_freq_max_size_and_mask_token():
    seqs = [["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"]]
    assert WordVocab.build(seqs, min_freq=2).itos[4:] == ["a", "b", "c"]
    assert WordVocab.build(seqs, max_size=2).itos[4:] == ["a", "b"]
    v = WordVocab.build(seqs, specials=("<pad>", "<unk>", "<cls>", "<sep>", MASK))
    assert v.mask_id == 4 and v.cls_id == 2 and v.bos_id is None


def test_vocab_save_load(tmp_path):
    v = WordVocab.build([["héllo", "world", "world"]])
    v.save(tmp_path / "v.json")
    w = Vocab.load(tmp_path / "v.json")
    assert isinstance(w, WordVocab) and w == v and w.stoi == v.stoi
    c = CharVocab.from_text("hello")
    c.save(tmp_path / "c.json")
    c2 = Vocab.load(tmp_path / "c.json")
    assert isinstance(c2, CharVocab) and c2.decode(c2.encode("hole")) == "hole"


def test_vocab_without_unk_raises():
    c = CharVocab.from_text("abc")
    with pytest.raises(KeyError, match="not in the vocabulary"):
        c.encode("abz")


def test_char_vocab_is_sorted_and_roundtrips():
    c = CharVocab.from_text("hello world")
    assert c.itos == sorted(set("hello world"))
    assert c.decode(c.encode("low")) == "low"


# --- tokenizers ---------------------------------------------------------------------------------
def test_word_tokenize():
    assert word_tokenize("Hello, World! Don't stop.") == \
        ["hello", ",", "world", "!", "don't", "stop", ".", ]
    assert word_tokenize("Il a 3 ans ; c’est l'été !") == \
        ["il", "a", "3", "ans", ";", "c'est", "l'été", "!"]
    assert word_tokenize("Keep Case", lower=False) == ["Keep", "Case"]


def test_bpe_without_tokenizers_names_the_extra(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "tokenizers", None)     # makes `import tokenizers` fail
    with pytest.raises(ImportError, match=r"kindling\[text\]"):
        BPETokenizer.train(["hello world"] * 10, vocab_size=50)


def test_bpe_requires_tokenizers_or_works():
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="tokenizers"):
            BPETokenizer.train(["hello world"] * 10, vocab_size=50)
        return
    tok = BPETokenizer.train(["to be or not to be"] * 50, vocab_size=300)
    assert tok.decode(tok.encode("to be or not")) == "to be or not"


# --- batching -----------------------------------------------------------------------------------
def test_random_blocks_shift_and_seed():
    data = np.arange(100)
    x, y = random_blocks(data, 8, 4, generator=kindling.Generator().manual_seed(0))
    assert x.shape == (4, 8) and x.dtype == kindling.int64
    np.testing.assert_array_equal(y.numpy(), x.numpy() + 1)     # data[i] == i
    x2, _ = random_blocks(data, 8, 4, generator=kindling.Generator().manual_seed(0))
    np.testing.assert_array_equal(x.numpy(), x2.numpy())


def test_bptt_batches_are_contiguous_per_row():
    data = np.arange(103)
    batches = list(bptt_batches(data, batch_size=4, bptt=10))
    n = 102 // 4
    assert len(batches) == math.ceil(n / 10) and batches[-1][0].shape == (4, n % 10)
    rows = np.concatenate([b[0].numpy() for b in batches], axis=1)     # (4, n)
    np.testing.assert_array_equal(rows, np.arange(4 * n).reshape(4, n))
    for x, y in batches:
        np.testing.assert_array_equal(y.numpy(), x.numpy() + 1)
    xt, _ = next(bptt_batches(data, 4, 10, batch_first=False))
    assert xt.shape == (10, 4)


def test_text_block_dataset():
    ds = TextBlockDataset(np.arange(50), block_size=8)
    assert len(ds) == 6
    x, y = ds[5]
    assert x.tolist() == list(range(40, 48)) and y.tolist() == list(range(41, 49))
    with pytest.raises(IndexError):
        ds[6]
    loader = kindling.utils.data.DataLoader(ds, batch_size=3)
    xb, yb = next(iter(loader))
    assert xb.shape == (3, 8)


def test_pad_batch_and_masks():
    ids, lengths = pad_batch([[5, 6, 7], [8], [9, 10]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]] and lengths.tolist() == [3, 1, 2]
    assert padding_mask(lengths).tolist() == [[False, False, False], [False, True, True],
                                              [False, False, True]]
    ids2, l2 = pad_batch([[1, 2, 3, 4], [5]], max_len=2)
    assert ids2.tolist() == [[1, 2], [5, 0]] and l2.tolist() == [2, 1]
    assert causal_mask(3).tolist() == [[False, True, True], [False, False, True],
                                       [False, False, False]]


# --- BLEU ---------------------------------------------------------------------------------------
def test_bleu_perfect_and_zero():
    s = "the cat is on the mat".split()
    assert corpus_bleu([s], [[s]]) == pytest.approx(1.0)
    assert corpus_bleu(["a b c d".split()], [["e f g h".split()]]) == 0.0


def test_bleu_hand_computed_example():
    # Papineni et al.'s example: candidate "the the the the the the the", clipped unigram 2/7
    cand = "the cat sat on the mat today".split()          # 7 tokens
    ref = "the cat sat on the red mat".split()             # 7 tokens
    # 1-grams: the x2, cat, sat, on, mat match; today doesn't -> 6/7
    # 2-grams: the cat, cat sat, sat on, on the -> 4/6 ; 3-grams: 3/5 ; 4-grams: 2/4
    expected = math.exp((math.log(6 / 7) + math.log(4 / 6) + math.log(3 / 5) + math.log(2 / 4))
                        / 4)
    score, stats = corpus_bleu([cand], [[ref]], return_stats=True)
    assert score == pytest.approx(expected)
    assert stats["bp"] == 1.0
    # brevity penalty: a 4-token candidate against a 7-token reference
    short = "the cat sat on".split()
    assert sentence_bleu(short, [ref]) == pytest.approx(math.exp(1 - 7 / 4))
    # clipping: "the" appears twice in the reference
    _, st = corpus_bleu([["the"] * 7], [[ref]], max_n=1, return_stats=True)
    assert st["precisions"][0] == pytest.approx(2 / 7)


def test_bleu_corpus_pools_counts_and_closest_ref():
    c1, r1 = "a b c d".split(), "a b c d".split()
    c2, r2 = "e f g h i".split(), "e f x h i".split()
    _, st = corpus_bleu([c1, c2], [[r1], [r2, "e f".split()]], return_stats=True)
    assert st["precisions"][0] == pytest.approx(8 / 9)       # pooled over the corpus
    assert st["precisions"][1] == pytest.approx(5 / 7)
    assert st["ref_len"] == 9                                # closest lengths 4 + 5
    try:
        import sacrebleu
    except ImportError:
        return
    hyp = ["the cat sat on the mat today", "a b c d"]
    refs = ["the cat sat on the red mat", "a b c d"]
    ours = corpus_bleu([h.split() for h in hyp], [[r.split()] for r in refs])
    theirs = sacrebleu.corpus_bleu(hyp, [refs], tokenize="none", smooth_method="none").score
    assert 100 * ours == pytest.approx(theirs, abs=1e-6)


# --- datasets -------------------------------------------------------------------------------------
@needs_data
def test_tiny_shakespeare():
    ds = TinyShakespeare(os.path.join(SHARED_DATA, "tinyshakespeare", "input.txt"))
    assert len(ds.vocab) == 65 and len(ds.text) == 1_115_394
    assert len(ds.train) == int(0.9 * 1_115_394) and len(ds.train) + len(ds.val) == 1_115_394
    assert ds.vocab.decode(ds.train[:14]) == ds.text[:14] == "First Citizen:"


@needs_data
def test_sentiment_sentences():
    ds = SentimentSentences(os.path.join(SHARED_DATA, "sentiment-labelled-sentences"))
    assert len(ds) == 3000 and sum(ds.labels) == 1500
    assert set(ds.sources) == {"amazon_cells", "imdb", "yelp"}
    assert all(s == s.strip() and "\t" not in s for s in ds.sentences)
    assert len(ds.tokens()) == 3000


@needs_data
def test_translation_pairs():
    path = os.path.join(SHARED_DATA, "translation", "fra-eng-52k", "fra.txt")
    ds = TranslationPairs(path, max_len=None)
    assert len(ds) == 51_976
    assert ds[0] == (["go", "."], ["va", "!"])
    small = os.path.join(SHARED_DATA, "translation", "fra-eng-5k-attributed", "eng-fra.txt")
    ds = TranslationPairs(small, max_len=None)
    assert len(ds) == 5000
    short = TranslationPairs(small, max_len=5)
    assert 0 < len(short) < len(ds)
    assert all(len(s) <= 5 and len(t) <= 5 for s, t in short.pairs)
    src_v, tgt_v = short.build_vocabs(min_freq=2)
    assert src_v.pad_id == 0 and "go" in src_v and "va" in tgt_v
    rev = TranslationPairs(os.path.join(SHARED_DATA, "translation", "fra-eng-5k-attributed",
                                        "eng-fra.txt"), reverse=True, max_pairs=10)
    assert len(rev) == 10 and rev[0][1] == ["go", "."]
