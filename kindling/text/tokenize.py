"""Tokenizers: a simple rule-based word tokenizer, characters, and a BPE wrapper.

`word_tokenize` lowercases (optionally), separates punctuation from words and keeps in-word
apostrophes and hyphens ("don't", "well-known"); it works for English and French (accented
letters are word characters; French "l'homme" stays one token, which is enough for small demos).
"""
import re
import unicodedata

_WORD_RE = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]", re.UNICODE)


def _normalize(text):
    # compose accents (é as one code point) and unify the typographic apostrophe
    return unicodedata.normalize("NFC", text).replace("’", "'").replace("\u202f", " ") \
        .replace("\xa0", " ")


def word_tokenize(text, lower=True):
    """Split `text` into words and punctuation marks.

        >>> word_tokenize("Hello, World! Don't stop.")
        ['hello', ',', 'world', '!', "don't", 'stop', '.']
    """
    text = _normalize(text)
    if lower:
        text = text.lower()
    return _WORD_RE.findall(text)


def char_tokenize(text):
    return list(text)


class BPETokenizer:
    """Byte-pair-encoding tokenizer trained with the optional `tokenizers` package
    (`pip install kindling[text]`).

        >>> tok = BPETokenizer.train(texts, vocab_size=1000)
        >>> ids = tok.encode("to be or not to be"); tok.decode(ids)
    """
    def __init__(self, tokenizer):
        self._tok = tokenizer

    @staticmethod
    def _require():
        try:
            import tokenizers  # noqa: F401
        except ImportError as e:
            raise ImportError("BPETokenizer needs the optional 'tokenizers' package: "
                              "pip install 'kindling[text]' (or pip install tokenizers)") from e
        return tokenizers

    @classmethod
    def train(cls, texts, vocab_size=1000, min_frequency=2,
              special_tokens=("<pad>", "<unk>", "<bos>", "<eos>")):
        tk = cls._require()
        tok = tk.Tokenizer(tk.models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = tk.decoders.ByteLevel()
        trainer = tk.trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                         special_tokens=list(special_tokens),
                                         initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(list(texts), trainer=trainer)
        return cls(tok)

    @classmethod
    def load(cls, path):
        tk = cls._require()
        return cls(tk.Tokenizer.from_file(path))

    def save(self, path):
        self._tok.save(path)

    def encode(self, text):
        return self._tok.encode(text).ids

    def decode(self, ids):
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        return self._tok.decode(list(ids))

    def token_to_id(self, token):
        return self._tok.token_to_id(token)

    def __len__(self):
        return self._tok.get_vocab_size()
