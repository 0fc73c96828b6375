"""Vocabularies: a bijection between tokens and integer ids, with special tokens first.

    >>> v = WordVocab.build([["the", "cat"], ["the", "dog"]], min_freq=1)
    >>> v.decode(v.encode(["the", "cat", "zebra"]))   # unknown words map to <unk>
    ['the', 'cat', '<unk>']

Ids of the special tokens are fixed by their order in `specials` (default: <pad>=0, <unk>=1,
<bos>=2, <eos>=3), so padding is always id 0. Ordinary tokens follow, most frequent first (ties
broken by first appearance, so a vocabulary built twice from the same corpus is identical).
"""
import json
from collections import Counter

PAD, UNK, BOS, EOS, MASK, CLS, SEP = "<pad>", "<unk>", "<bos>", "<eos>", "<mask>", "<cls>", "<sep>"
DEFAULT_SPECIALS = (PAD, UNK, BOS, EOS)


class Vocab:
    """Token <-> id mapping.

    Args:
        tokens: ordinary tokens in id order (specials are put before them).
        specials: special tokens, ids 0..len(specials)-1. `<unk>`, if present, is the id
            unknown tokens encode to; without it, encoding an unknown token raises KeyError.
        counts: optional token frequencies kept for word2vec-style uses.
    """
    def __init__(self, tokens=(), specials=DEFAULT_SPECIALS, counts=None):
        self.specials = list(specials)
        self.itos = list(self.specials)
        seen = set(self.itos)
        for t in tokens:
            if t not in seen:
                seen.add(t)
                self.itos.append(t)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.counts = dict(counts) if counts is not None else {}

    @classmethod
    def build(cls, sequences, min_freq=1, max_size=None, specials=DEFAULT_SPECIALS):
        """Count tokens over an iterable of token sequences; keep those seen at least `min_freq`
        times, at most `max_size` ordinary tokens (most frequent first)."""
        counter = Counter()
        for seq in sequences:
            counter.update(seq)
        # Counter.most_common is stable for ties (insertion order), so the result is deterministic
        items = [(t, c) for t, c in counter.most_common() if c >= min_freq and t not in specials]
        if max_size is not None:
            items = items[:max_size]
        return cls([t for t, _ in items], specials=specials, counts=dict(items))

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        return token in self.stoi

    def __getitem__(self, token):
        """Id of `token` (the <unk> id for unknown tokens)."""
        if token in self.stoi:
            return self.stoi[token]
        if UNK in self.stoi:
            return self.stoi[UNK]
        raise KeyError(f"token {token!r} is not in the vocabulary and it has no {UNK} token")

    def _special_id(self, token):
        return self.stoi.get(token)

    pad_id = property(lambda self: self._special_id(PAD))
    unk_id = property(lambda self: self._special_id(UNK))
    bos_id = property(lambda self: self._special_id(BOS))
    eos_id = property(lambda self: self._special_id(EOS))
    mask_id = property(lambda self: self._special_id(MASK))
    cls_id = property(lambda self: self._special_id(CLS))
    sep_id = property(lambda self: self._special_id(SEP))

    def encode(self, tokens, add_bos=False, add_eos=False):
        """List of token ids; optionally framed by <bos>/<eos>."""
        ids = [self[t] for t in tokens]
        if add_bos:
            ids = [self.stoi[BOS]] + ids
        if add_eos:
            ids = ids + [self.stoi[EOS]]
        return ids

    def decode(self, ids, skip_specials=False):
        """List of tokens for `ids` (ints, a list, an ndarray or a 1-D tensor)."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        specials = set(self.specials)
        out = [self.itos[int(i)] for i in ids]
        if skip_specials:
            out = [t for t in out if t not in specials]
        return out

    def to_dict(self):
        return {"class": type(self).__name__, "specials": self.specials,
                "itos": self.itos[len(self.specials):], "counts": self.counts}

    def save(self, path):
        """Write the vocabulary as JSON (ids are the list order)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        kind = {"Vocab": Vocab, "CharVocab": CharVocab, "WordVocab": WordVocab}.get(
            d.get("class"), cls)
        return kind(d["itos"], specials=d["specials"], counts=d.get("counts"))

    def __eq__(self, other):
        return isinstance(other, Vocab) and self.itos == other.itos and \
            self.specials == other.specials

    def __repr__(self):
        return f"{type(self).__name__}(size={len(self)}, specials={self.specials})"


class CharVocab(Vocab):
    """Character vocabulary. By default it has no special tokens (as char-rnn / nanoGPT:
    Tiny Shakespeare gives exactly 65 ids); `encode` takes a string and `decode` returns one.
    Characters are sorted, so ids do not depend on the text's order."""
    def __init__(self, tokens=(), specials=(), counts=None):
        super().__init__(tokens, specials=specials, counts=counts)

    @classmethod
    def from_text(cls, text, specials=()):
        counts = Counter(text)
        return cls(sorted(counts), specials=specials, counts=counts)

    def decode(self, ids, skip_specials=False):
        return "".join(super().decode(ids, skip_specials))


class WordVocab(Vocab):
    """Word vocabulary with <pad> <unk> <bos> <eos> (add <mask>, <cls>, <sep> for BERT)."""
    @classmethod
    def build(cls, sequences, min_freq=1, max_size=None, specials=DEFAULT_SPECIALS):
        return super().build(sequences, min_freq=min_freq, max_size=max_size, specials=specials)
