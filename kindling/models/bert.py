"""BERT (Devlin et al. 2019): a bidirectional Transformer encoder pre-trained by masked language
modelling, with a classification head on [CLS] for fine-tuning.

    ids (B, T), segments (B, T) -> token + position + segment embeddings -> LayerNorm, dropout
    -> nn.TransformerEncoder (GELU; post-norm as in BERT, or pre-norm) -> hidden states (B, T, C)
    MLM head: dense -> GELU -> LayerNorm -> logits via the token embedding matrix (tied) + bias
    classifier: tanh(dense(h_[CLS])) -> dropout -> linear (B, num_classes)

`mask_tokens` implements the pre-training corruption: each ordinary token is selected with
probability `prob`; a selected token becomes <mask> 80 % of the time, a random ordinary token
10 %, and stays unchanged 10 %; labels hold the original id at selected positions and -100 (the
cross-entropy ignore_index) elsewhere.
"""
from dataclasses import dataclass

import numpy as np

from .. import nn, creation
from ..engine import dtypes
from ..nn import functional as F
from ..nn import init


@dataclass
class BERTConfig:
    vocab_size: int = 1000
    max_len: int = 128
    type_vocab_size: int = 2
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    ffn_dim: int = 512
    dropout: float = 0.1
    norm_first: bool = False     # False: post-norm (BERT); True: pre-norm
    num_classes: int = 2
    pad_id: int = 0


class BERT(nn.Module):
    """forward(ids, segments=None) -> hidden states (B, T, C); `mlm_logits(h)` -> (B, T, V);
    `classify(ids, segments)` -> (B, num_classes). Padding (pad_id) is masked out of attention."""
    def __init__(self, config=None, **kwargs):
        super().__init__()
        config = config or BERTConfig(**kwargs)
        self.config = config
        C = config.n_embd
        self.tok_embed = nn.Embedding(config.vocab_size, C)
        self.pos_embed = nn.Embedding(config.max_len, C)
        self.seg_embed = nn.Embedding(config.type_vocab_size, C)
        self.ln_embed = nn.LayerNorm(C)
        self.drop = nn.Dropout(config.dropout)
        layer = nn.TransformerEncoderLayer(C, config.n_head, config.ffn_dim, config.dropout,
                                           activation="gelu", batch_first=True,
                                           norm_first=config.norm_first)
        # pre-norm stacks end with a LayerNorm; post-norm layers already end normalized
        self.encoder = nn.TransformerEncoder(layer, config.n_layer,
                                             norm=nn.LayerNorm(C) if config.norm_first else None,
                                             enable_nested_tensor=False)
        # masked-LM head; its output matrix is the token embedding (tied)
        self.mlm_dense = nn.Linear(C, C)
        self.mlm_ln = nn.LayerNorm(C)
        self.mlm_bias = nn.Parameter(creation.zeros(config.vocab_size))
        # classification head on [CLS] (position 0)
        self.pooler = nn.Linear(C, C)
        self.cls_head = nn.Linear(C, config.num_classes)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            init.zeros_(module.bias)

    def forward(self, ids, segments=None):
        B, T = ids.shape
        if T > self.config.max_len:
            raise ValueError(f"BERT: sequence length {T} exceeds max_len {self.config.max_len}")
        if segments is None:
            segments = creation.zeros(B, T, dtype=dtypes.int64)
        pos = creation.arange(T, dtype=dtypes.int64)                          # (T,)
        x = self.tok_embed(ids) + self.pos_embed(pos) + self.seg_embed(segments)  # (B, T, C)
        x = self.drop(self.ln_embed(x))                                       # (B, T, C)
        pad_mask = ids == self.config.pad_id                                  # (B, T) True = pad
        return self.encoder(x, src_key_padding_mask=pad_mask)                 # (B, T, C)

    def mlm_logits(self, h):
        h = self.mlm_ln(F.gelu(self.mlm_dense(h)))                            # (B, T, C)
        return h @ self.tok_embed.weight.t() + self.mlm_bias                  # (B, T, V)

    def mlm_loss(self, ids, labels, segments=None):
        logits = self.mlm_logits(self(ids, segments))                         # (B, T, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                               ignore_index=-100)

    def classify(self, ids, segments=None):
        h = self(ids, segments)                                               # (B, T, C)
        pooled = self.pooler(h[:, 0]).tanh()                                  # (B, C)
        return self.cls_head(self.drop(pooled))                               # (B, num_classes)

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())


def mask_tokens(input_ids, vocab, prob=0.15, generator=None, special_ids=None):
    """BERT's 80/10/10 masking.

    Args:
        input_ids: int64 tensor (any shape).
        vocab: a Vocab with a <mask> token; its special tokens are never selected (nor used as
            random replacements).
        prob: selection probability per ordinary token.
        generator: kindling Generator (default: the global RNG, so manual_seed fixes it).
    Returns:
        (inputs, labels): corrupted ids and labels (original id where selected, else -100).
    """
    ids = input_ids.numpy().astype(np.int64)
    mask_id = vocab.mask_id
    if mask_id is None:
        raise ValueError("mask_tokens: the vocabulary has no <mask> token")
    if special_ids is None:
        special_ids = [vocab.stoi[t] for t in vocab.specials]
    ordinary = np.setdiff1d(np.arange(len(vocab)), special_ids)
    u = creation.rand(3, *ids.shape, generator=generator).numpy()             # (3, *)
    selected = (u[0] < prob) & ~np.isin(ids, special_ids)
    labels = np.where(selected, ids, -100)
    to_mask = selected & (u[1] < 0.8)
    to_random = selected & ~to_mask & (u[1] < 0.9)                            # the next 10 %
    random_ids = ordinary[np.minimum((u[2] * len(ordinary)).astype(np.int64),
                                     len(ordinary) - 1)]
    out = np.where(to_mask, mask_id, np.where(to_random, random_ids, ids))
    return (creation.tensor(out, dtype=dtypes.int64),
            creation.tensor(labels, dtype=dtypes.int64))
