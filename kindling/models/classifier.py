"""Bidirectional LSTM text classifier:
ids (B, T) + lengths (B,) -> embedding -> packed BiLSTM -> max/mean pool over real tokens ->
dropout -> linear -> class logits (B, num_classes).

The sequences are packed (nn.utils.rnn.pack_padded_sequence, enforce_sorted=False), so the
recurrence never reads padding and the result for a sentence does not depend on how much
padding the batch adds; pooling masks the padded positions too.
"""
from dataclasses import dataclass

from .. import nn, creation
from ..nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


@dataclass
class BiLSTMConfig:
    vocab_size: int = 1000
    embed_dim: int = 64
    hidden_size: int = 64
    num_layers: int = 1
    num_classes: int = 2
    dropout: float = 0.0
    pool: str = "max"           # "max" or "mean"
    pad_id: int = 0


class BiLSTMClassifier(nn.Module):
    def __init__(self, config=None, **kwargs):
        super().__init__()
        config = config or BiLSTMConfig(**kwargs)
        if config.pool not in ("max", "mean"):
            raise ValueError(f"BiLSTMClassifier: pool must be 'max' or 'mean', got "
                             f"{config.pool!r}")
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=config.pad_id)
        self.lstm = nn.LSTM(config.embed_dim, config.hidden_size, config.num_layers,
                            batch_first=True, bidirectional=True,
                            dropout=config.dropout if config.num_layers > 1 else 0.0)
        self.drop = nn.Dropout(config.dropout)
        self.fc = nn.Linear(2 * config.hidden_size, config.num_classes)

    def forward(self, ids, lengths=None):
        B, T = ids.shape
        if lengths is None:
            lengths = (ids != self.config.pad_id).sum(1)                       # (B,)
        lengths_np = lengths.numpy() if hasattr(lengths, "numpy") else lengths
        x = self.drop(self.embed(ids))                                         # (B, T, E)
        packed = pack_padded_sequence(x, lengths_np, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)   # (B, T, 2H)
        valid = creation.arange(T).unsqueeze(0) < creation.tensor(lengths_np).unsqueeze(1)  # (B, T)
        if self.config.pool == "max":
            out = out.masked_fill(~valid.unsqueeze(-1), float("-inf"))         # (B, T, 2H)
            pooled = out.max(1).values                                         # (B, 2H)
        else:
            m = valid.unsqueeze(-1).to(out.dtype)                              # (B, T, 1)
            pooled = (out * m).sum(1) / m.sum(1)                               # (B, 2H)
        return self.fc(self.drop(pooled))                                      # (B, C)

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())
