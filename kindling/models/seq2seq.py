"""Sequence-to-sequence models for translation.

`Seq2SeqGRU` (Bahdanau et al. 2015): a bidirectional GRU encoder and a GRU decoder with additive
attention.
    encoder: src ids (B, S) -> embedding -> packed BiGRU -> annotations (B, S, 2H);
             s_0 = tanh(W [h_fwd_last; h_bwd_first])                        (B, H)
    decoder step t: context c_t = attention(s_{t-1}, annotations), masked on source padding
             s_t = GRUCell([emb(y_{t-1}); c_t], s_{t-1})
             logits_t = W_o [s_t; c_t; emb(y_{t-1})]                         (B, V)
Training feeds the reference token y_{t-1} with probability `teacher_forcing_ratio` at each step
(one coin per step for the whole batch), otherwise the model's own argmax prediction; ratio 1.0
is pure teacher forcing and 0.0 pure free running. `translate` decodes greedily or with beam
search (kindling.generate.beam_search).

`TransformerSeq2Seq`: nn.Transformer (batch_first) between token embeddings scaled by sqrt(d)
plus sinusoidal positions and a linear output layer; causal mask on the target and padding masks
on both sides.
"""
import math
from dataclasses import dataclass

import numpy as np

import kindling
from .. import nn, creation
from ..engine import dtypes
from ..engine.grad_mode import no_grad
from ..nn import functional as F
from ..nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from ..generate import beam_search


@dataclass
class Seq2SeqConfig:
    src_vocab_size: int = 1000
    tgt_vocab_size: int = 1000
    embed_dim: int = 64
    hidden_size: int = 128
    attn_dim: int = 128
    dropout: float = 0.1
    pad_id: int = 0
    bos_id: int = 2
    eos_id: int = 3


class Encoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embed = nn.Embedding(config.src_vocab_size, config.embed_dim,
                               padding_idx=config.pad_id)
        self.rnn = nn.GRU(config.embed_dim, config.hidden_size, batch_first=True,
                          bidirectional=True)
        self.bridge = nn.Linear(2 * config.hidden_size, config.hidden_size)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, src, src_len):
        S = src.shape[1]
        x = self.drop(self.embed(src))                                         # (B, S, E)
        lengths = src_len.numpy() if hasattr(src_len, "numpy") else np.asarray(src_len)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h = self.rnn(packed)                                              # h (2, B, H)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=S)   # (B, S, 2H)
        s0 = self.bridge(kindling.cat([h[0], h[1]], dim=-1)).tanh()           # (B, H)
        return out, s0


class AttnDecoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        H, E = config.hidden_size, config.embed_dim
        self.embed = nn.Embedding(config.tgt_vocab_size, E, padding_idx=config.pad_id)
        self.attention = nn.AdditiveAttention(H, 2 * H, config.attn_dim)
        self.cell = nn.GRUCell(E + 2 * H, H)
        self.out = nn.Linear(H + 2 * H + E, config.tgt_vocab_size)
        self.drop = nn.Dropout(config.dropout)

    def step(self, y_prev, s, annotations, src_mask):
        """y_prev (B,), s (B, H), annotations (B, S, 2H), src_mask (B, S) True = real token.
        Returns logits (B, V), new s (B, H), attention weights (B, S)."""
        e = self.drop(self.embed(y_prev))                                      # (B, E)
        ctx, weights = self.attention(s, annotations, mask=src_mask)           # (B, 2H), (B, S)
        s = self.cell(kindling.cat([e, ctx], dim=-1), s)                       # (B, H)
        logits = self.out(self.drop(kindling.cat([s, ctx, e], dim=-1)))        # (B, V)
        return logits, s, weights


class Seq2SeqGRU(nn.Module):
    def __init__(self, config=None, **kwargs):
        super().__init__()
        self.config = config = config or Seq2SeqConfig(**kwargs)
        self.encoder = Encoder(config)
        self.decoder = AttnDecoder(config)

    def _src_mask(self, src, src_len):
        S = src.shape[1]
        return creation.arange(S).unsqueeze(0) < src_len.unsqueeze(1)         # (B, S)

    def forward(self, src, src_len, tgt, teacher_forcing_ratio=1.0):
        """src (B, S), src_len (B,), tgt (B, T) = <bos> ... <eos> <pad>...
        Returns logits (B, T-1, V) predicting tgt[:, 1:]."""
        annotations, s = self.encoder(src, src_len)                            # (B, S, 2H), (B, H)
        mask = self._src_mask(src, src_len)                                    # (B, S)
        y = tgt[:, 0]                                                          # (B,)
        outputs = []
        for t in range(1, tgt.shape[1]):
            logits, s, _ = self.decoder.step(y, s, annotations, mask)          # (B, V)
            outputs.append(logits)
            teacher = teacher_forcing_ratio >= 1.0 or (
                teacher_forcing_ratio > 0.0 and creation.rand(1).item() < teacher_forcing_ratio)
            y = tgt[:, t] if teacher else logits.argmax(-1).detach()           # (B,)
        return kindling.stack(outputs, dim=1)                                  # (B, T-1, V)

    def loss(self, src, src_len, tgt, teacher_forcing_ratio=1.0):
        logits = self(src, src_len, tgt, teacher_forcing_ratio)                # (B, T-1, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1),
                               ignore_index=self.config.pad_id)

    def translate(self, src, src_len, max_len=20, beam_width=1, length_penalty=0.0,
                  return_attention=False):
        """Decode every source sentence; returns a list of token-id lists (EOS stripped)."""
        cfg = self.config
        results = []
        with no_grad():
            annotations, s = self.encoder(src, src_len)
            mask = self._src_mask(src, src_len)
            for b in range(src.shape[0]):
                state = (s[b:b + 1], annotations[b:b + 1], mask[b:b + 1])

                def step(prefixes, state):
                    s_, ann, m = state
                    n = prefixes.shape[0]
                    if ann.shape[0] != n:     # first step: one hypothesis, expand
                        ann = ann.expand(n, *ann.shape[1:])
                        m = m.expand(n, *m.shape[1:])
                    y = creation.tensor(prefixes[:, -1], dtype=dtypes.int64)     # (N,)
                    logits, s_new, _ = self.decoder.step(y, s_, ann, m)          # (N, V)
                    return F.log_softmax(logits, dim=-1), (s_new, ann, m)

                hyps = beam_search(step, [cfg.bos_id], beam_width, max_len, cfg.eos_id,
                                   length_penalty, n_best=1, state=state,
                                   early_stopping=beam_width == 1)
                toks = hyps[0][0]
                if toks and toks[-1] == cfg.eos_id:
                    toks = toks[:-1]
                results.append(toks)
        return results


# --- Transformer ---------------------------------------------------------------------------------
def sinusoidal_positions(max_len, d_model):
    """PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...) (Vaswani et al. 2017)."""
    pos = np.arange(max_len)[:, None]
    div = np.exp(np.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    pe = np.zeros((max_len, d_model), dtype=np.float32)
    pe[:, 0::2] = np.sin(pos * div)
    pe[:, 1::2] = np.cos(pos * div)[:, :d_model // 2]
    return pe


@dataclass
class TransformerSeq2SeqConfig:
    src_vocab_size: int = 1000
    tgt_vocab_size: int = 1000
    d_model: int = 64
    nhead: int = 4
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    dim_feedforward: int = 256
    dropout: float = 0.1
    max_len: int = 64
    pad_id: int = 0
    bos_id: int = 2
    eos_id: int = 3


class TransformerSeq2Seq(nn.Module):
    def __init__(self, config=None, **kwargs):
        super().__init__()
        self.config = config = config or TransformerSeq2SeqConfig(**kwargs)
        self.src_embed = nn.Embedding(config.src_vocab_size, config.d_model)
        self.tgt_embed = nn.Embedding(config.tgt_vocab_size, config.d_model)
        self.register_buffer("pe", creation.tensor(sinusoidal_positions(config.max_len,
                                                                        config.d_model)))
        self.drop = nn.Dropout(config.dropout)
        self.transformer = nn.Transformer(config.d_model, config.nhead,
                                          config.num_encoder_layers, config.num_decoder_layers,
                                          config.dim_feedforward, config.dropout,
                                          batch_first=True)
        self.out = nn.Linear(config.d_model, config.tgt_vocab_size)

    def _embed(self, embed, ids):
        T = ids.shape[1]
        x = embed(ids) * math.sqrt(self.config.d_model) + self.pe[:T]          # (B, T, d)
        return self.drop(x)

    def forward(self, src, tgt_in):
        """src (B, S), tgt_in (B, T) (starting with <bos>) -> logits (B, T, V)."""
        T = tgt_in.shape[1]
        causal = creation.ones(T, T, dtype=dtypes.bool).triu(1)               # (T, T) True: masked
        src_pad = src == self.config.pad_id                                    # (B, S)
        tgt_pad = tgt_in == self.config.pad_id                                 # (B, T)
        h = self.transformer(self._embed(self.src_embed, src),
                             self._embed(self.tgt_embed, tgt_in), tgt_mask=causal,
                             src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                             memory_key_padding_mask=src_pad)                  # (B, T, d)
        return self.out(h)                                                     # (B, T, V)

    def loss(self, src, tgt):
        logits = self(src, tgt[:, :-1])                                        # (B, T-1, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1),
                               ignore_index=self.config.pad_id)

    def translate(self, src, max_len=20, beam_width=1, length_penalty=0.0):
        cfg = self.config
        results = []
        with no_grad():
            for b in range(src.shape[0]):
                s = src[b:b + 1]

                def step(prefixes, state):
                    n = prefixes.shape[0]
                    logits = self(s.expand(n, s.shape[1]),
                                  creation.tensor(prefixes, dtype=dtypes.int64))  # (N, t, V)
                    return F.log_softmax(logits[:, -1], dim=-1), None

                hyps = beam_search(step, [cfg.bos_id], beam_width, max_len, cfg.eos_id,
                                   length_penalty, n_best=1, early_stopping=beam_width == 1)
                toks = hyps[0][0]
                if toks and toks[-1] == cfg.eos_id:
                    toks = toks[:-1]
                results.append(toks)
        return results
