"""Loaders for the small text datasets (each takes the path of the data file or folder).

* TinyShakespeare(path): the char-rnn text; `.train` / `.val` are the first 90 % / last 10 %
  (nanoGPT's split) as int64 id arrays under a 65-character CharVocab.
* SentimentSentences(folder): the 3 UCI files (amazon, imdb, yelp): 3,000 (sentence, label)
  pairs, label 1 = positive. Lines are split on the LAST tab and stripped.
* TranslationPairs(path): "English<TAB>French[<TAB>attribution]" lines, lowercased and
  punctuation-split; pairs longer than `max_len` tokens on either side are dropped.
"""
import os

import numpy as np

from .tokenize import word_tokenize
from .vocab import CharVocab, WordVocab, DEFAULT_SPECIALS


class TinyShakespeare:
    """Character-level Tiny Shakespeare with the 90/10 train/validation split.

    Args:
        path: input.txt, or the folder holding it.
        split: fraction of the text used for training (0.9).
    Attributes: text, vocab (CharVocab), data (all ids), train, val (np.int64 arrays).
    """
    def __init__(self, path, split=0.9):
        if os.path.isdir(path):
            path = os.path.join(path, "input.txt")
        with open(path, encoding="utf-8") as f:
            self.text = f.read()
        self.vocab = CharVocab.from_text(self.text)
        self.data = np.array(self.vocab.encode(self.text), dtype=np.int64)
        n = int(split * len(self.data))
        self.train, self.val = self.data[:n], self.data[n:]

    def __repr__(self):
        return (f"TinyShakespeare(chars={len(self.text)}, vocab={len(self.vocab)}, "
                f"train={len(self.train)}, val={len(self.val)})")


class SentimentSentences:
    """UCI Sentiment Labelled Sentences.

    Args:
        path: the folder with `*_labelled.txt` files (or a single such file).
        sources: which of "amazon_cells", "imdb", "yelp" to read (all three by default).
    Attributes: sentences (list[str]), labels (list[int]), sources (list[str]); indexing gives
    (sentence, label). `tokens()` returns word_tokenize of every sentence.
    """
    FILES = ("amazon_cells", "imdb", "yelp")

    def __init__(self, path, sources=FILES):
        files = [path] if os.path.isfile(path) else \
            [os.path.join(path, f"{s}_labelled.txt") for s in sources]
        self.sentences, self.labels, self.sources = [], [], []
        for fp in files:
            name = os.path.basename(fp).replace("_labelled.txt", "")
            with open(fp, encoding="utf-8") as f:
                for line in f:
                    if not line.strip():
                        continue
                    sentence, label = line.rstrip("\n").rsplit("\t", 1)
                    self.sentences.append(sentence.strip())
                    self.labels.append(int(label))
                    self.sources.append(name)

    def __len__(self):
        return len(self.sentences)

    def __getitem__(self, i):
        return self.sentences[i], self.labels[i]

    def tokens(self):
        return [word_tokenize(s) for s in self.sentences]


class TranslationPairs:
    """English-French sentence pairs, tokenized.

    Args:
        path: fra.txt / eng-fra.txt (tab-separated; a third attribution column is ignored).
        max_len: drop pairs with more than this many tokens on either side (None keeps all).
        reverse: if True, the pairs are (french, english).
        max_pairs: keep only the first `max_pairs` pairs after filtering.
    Attributes: pairs (list of (src_tokens, tgt_tokens)); `build_vocabs(min_freq)` returns
    (src_vocab, tgt_vocab) WordVocabs with <pad> <unk> <bos> <eos>.
    """
    def __init__(self, path, max_len=10, reverse=False, max_pairs=None, prefixes=None):
        self.pairs = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                if len(cols) < 2:
                    continue
                src, tgt = word_tokenize(cols[0]), word_tokenize(cols[1])
                if reverse:
                    src, tgt = tgt, src
                if max_len is not None and (len(src) > max_len or len(tgt) > max_len):
                    continue
                if prefixes is not None and not " ".join(src).startswith(tuple(prefixes)):
                    continue
                self.pairs.append((src, tgt))
                if max_pairs is not None and len(self.pairs) >= max_pairs:
                    break

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, i):
        return self.pairs[i]

    def build_vocabs(self, min_freq=1, specials=DEFAULT_SPECIALS):
        src = WordVocab.build((p[0] for p in self.pairs), min_freq=min_freq, specials=specials)
        tgt = WordVocab.build((p[1] for p in self.pairs), min_freq=min_freq, specials=specials)
        return src, tgt
