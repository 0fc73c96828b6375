"""Character-level recurrent language model (Karpathy's char-rnn):
embedding -> RNN/LSTM/GRU -> dropout -> linear over the vocabulary.

    >>> model = CharLM(CharLMConfig(vocab_size=65, embed_dim=64, hidden_size=256, cell="lstm"))
    >>> logits, state = model(ids)            # ids (B, T) -> logits (B, T, V)
    >>> logits, state = model(next_ids, state)  # carry the state across BPTT batches

With `tie_weights=True` the output layer reuses the embedding matrix (Press & Wolf 2017); this
needs hidden_size == embed_dim.
"""
from dataclasses import dataclass

from .. import nn


@dataclass
class CharLMConfig:
    vocab_size: int = 65
    embed_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 2
    cell: str = "lstm"           # "rnn", "lstm" or "gru"
    dropout: float = 0.0
    tie_weights: bool = False


class CharLM(nn.Module):
    """Recurrent LM. forward(ids (B, T), state=None) -> (logits (B, T, V), state); `state` is the
    recurrent layer's (h) or (h, c), each (num_layers, B, H). `detach_state` cuts the graph
    between BPTT batches."""
    _CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

    def __init__(self, config=None, **kwargs):
        super().__init__()
        config = config or CharLMConfig(**kwargs)
        if config.cell not in self._CELLS:
            raise ValueError(f"CharLM: cell must be one of {sorted(self._CELLS)}, got "
                             f"{config.cell!r}")
        if config.tie_weights and config.hidden_size != config.embed_dim:
            raise ValueError(f"CharLM: tie_weights needs hidden_size == embed_dim, got "
                             f"{config.hidden_size} and {config.embed_dim}")
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim)
        inter_layer_dropout = config.dropout if config.num_layers > 1 else 0.0
        self.rnn = self._CELLS[config.cell](config.embed_dim, config.hidden_size,
                                            config.num_layers, batch_first=True,
                                            dropout=inter_layer_dropout)
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)
        if config.tie_weights:
            self.head.weight = self.embed.weight        # one Parameter, two uses

    def forward(self, ids, state=None):
        x = self.drop(self.embed(ids))                  # (B, T, E)
        out, state = self.rnn(x, state)                 # (B, T, H)
        logits = self.head(self.drop(out))              # (B, T, V)
        return logits, state

    @staticmethod
    def detach_state(state):
        if state is None:
            return None
        if isinstance(state, tuple):
            return tuple(s.detach() for s in state)
        return state.detach()

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())
