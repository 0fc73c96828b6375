"""kindling.text: vocabularies, tokenizers, batching, dataset loaders and BLEU for sequence models.

Everything here works on plain Python lists and NumPy arrays and returns kindling tensors where a
model consumes the result (batches, masks)."""
from .vocab import Vocab, CharVocab, WordVocab, PAD, UNK, BOS, EOS, MASK, CLS, SEP
from .tokenize import word_tokenize, char_tokenize, BPETokenizer
from .batching import (random_blocks, bptt_batches, pad_batch, padding_mask, causal_mask,
                       TextBlockDataset)
from .datasets import TinyShakespeare, SentimentSentences, TranslationPairs
from .bleu import corpus_bleu, sentence_bleu, ngram_counts

__all__ = ["Vocab", "CharVocab", "WordVocab", "PAD", "UNK", "BOS", "EOS", "MASK", "CLS", "SEP",
           "word_tokenize", "char_tokenize", "BPETokenizer", "random_blocks", "bptt_batches",
           "pad_batch", "padding_mask", "causal_mask", "TextBlockDataset", "TinyShakespeare",
           "SentimentSentences", "TranslationPairs", "corpus_bleu", "sentence_bleu",
           "ngram_counts"]
