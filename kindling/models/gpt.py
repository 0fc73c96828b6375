"""GPT: a decoder-only Transformer language model (Radford et al. 2018/2019), nanoGPT-shaped.

    token ids (B, T) -> token + learned position embeddings -> n_layer pre-norm blocks
    [x + attn(ln1(x)); x + mlp(ln2(x))] -> final LayerNorm -> LM head tied to the token embedding

Parameter count (weights tied, so the LM head adds nothing), with C = n_embd:
    vocab_size*C + block_size*C + n_layer*(12*C^2 + 13*C) + 2*C          (bias=True)
    vocab_size*C + block_size*C + n_layer*(12*C^2 + 2*C) + C             (bias=False)
(per block: qkv 3C^2(+3C), attention output C^2(+C), MLP 4C^2(+4C) + 4C^2(+C), two LayerNorms
2C(+2C)); `GPT.count_formula(config)` evaluates it.
"""
import math
from dataclasses import dataclass

from .. import nn
from ..nn import functional as F
from ..nn import init
from ..engine import dtypes
from .. import creation


@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 64       # maximum context length
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True          # biases in Linear and LayerNorm layers


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError(f"GPT: n_embd={config.n_embd} is not divisible by "
                             f"n_head={config.n_head}")
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        B, T, C = x.shape
        nh = self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)                             # 3 x (B, T, C)
        q = q.view(B, T, nh, C // nh).transpose(1, 2)                        # (B, nh, T, hs)
        k = k.view(B, T, nh, C // nh).transpose(1, 2)                        # (B, nh, T, hs)
        v = v.view(B, T, nh, C // nh).transpose(1, 2)                        # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0,
            is_causal=True)                                                  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)                     # (B, T, C)
        return self.resid_dropout(self.c_proj(y))                            # (B, T, C)


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        x = self.gelu(self.c_fc(x))                                          # (B, T, 4C)
        return self.dropout(self.c_proj(x))                                  # (B, T, C)


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))                                      # (B, T, C)
        x = x + self.mlp(self.ln_2(x))                                       # (B, T, C)
        return x


class GPT(nn.Module):
    """forward(idx (B, T), targets=None) -> logits (B, T, V), or (logits, loss) when targets
    (B, T) are given (cross-entropy, ignore_index=-100)."""
    def __init__(self, config=None, **kwargs):
        super().__init__()
        config = config or GPTConfig(**kwargs)
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight            # weight tying: one Parameter
        self.apply(self._init_weights)
        # GPT-2: residual projections scaled by 1/sqrt(2 * n_layer)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"GPT: sequence of length {T} exceeds block_size "
                             f"{self.config.block_size}")
        pos = creation.arange(T, dtype=dtypes.int64)                          # (T,)
        x = self.drop(self.wte(idx) + self.wpe(pos))                          # (B, T, C)
        for block in self.h:
            x = block(x)                                                      # (B, T, C)
        logits = self.lm_head(self.ln_f(x))                                   # (B, T, V)
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.view(B * T, -1), targets.reshape(B * T))  # ()
        return logits, loss

    def num_parameters(self, non_embedding=False):
        """Distinct parameters (the tied matrix counted once); non_embedding=True leaves out the
        position embeddings, as nanoGPT reports."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.wpe.weight.numel()
        return n

    @staticmethod
    def count_formula(config):
        C, L = config.n_embd, config.n_layer
        per_block = 12 * C * C + (13 * C if config.bias else 2 * C)
        return (config.vocab_size * C + config.block_size * C + L * per_block +
                (2 * C if config.bias else C))

    def configure_optimizer(self, lr=3e-4, weight_decay=0.1, betas=(0.9, 0.95)):
        """AdamW with weight decay on matrices only (not on biases, LayerNorms)."""
        from .. import optim
        params = list(self.parameters())
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        return optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                            {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=betas)
