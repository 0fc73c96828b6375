"""Multi-layer perceptrons and logistic regression.

`MLP` stacks Linear -> [norm] -> activation -> [dropout] blocks and ends with a Linear layer
that gives logits. `LogisticRegression` is its zero-hidden-layer case, with accessors that
explain its coefficients.
"""

from .. import nn
from ..engine.grad_mode import no_grad

_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "gelu": "GELU",
                "leaky_relu": "LeakyReLU", "elu": "ELU", "selu": "SELU", "silu": "SiLU",
                "softplus": "Softplus", "mish": "Mish", "identity": "Identity"}
_NORMS = {"layer": "LayerNorm", "batch": "BatchNorm1d"}

def _nn_class(kind, name, table):
    """The kindling.nn class for an activation / norm name, with a clear error if missing."""
    key = name.lower()
    if key not in table:
        raise ValueError(f"MLP: unknown {kind} {name!r}; choose one of {sorted(table)} or pass a "
                         f"Module class")
    cls = getattr(nn, table[key], None)
    if cls is None:
        raise NotImplementedError(f"MLP: {kind} {name!r} needs kindling.nn.{table[key]}, which "
                                  f"kindling does not implement yet")
    return cls

class MLP(nn.Module):
    """A fully connected network.

    Args:
        in_features: size of each input sample (inputs with more dimensions are flattened from
            dim 1, so images can be fed directly).
        hidden: list of hidden layer widths, e.g. [128] or [256, 128]. [] gives a linear model.
        out_features: size of the output (logits; no final activation).
        activation: a name ('relu', 'tanh', 'gelu', ...) or a Module class, instantiated once per
            hidden layer with no arguments.
        dropout: dropout probability after each hidden activation (0 = none).
        norm: None, 'layer' (LayerNorm) or 'batch' (BatchNorm1d), applied after each hidden
            Linear, before the activation.

    Shape:
        - Input: (N, in_features) or (N, *) with prod(*) == in_features
        - Output: (N, out_features)

    Example::

        >>> model = MLP(64, [128], 10)
        >>> logits = model(torch.randn(32, 64))   # (32, 10)
    """

    def __init__(self, in_features, hidden, out_features, activation="relu", dropout=0.0,
                 norm=None):
        super().__init__()
        hidden = [int(h) for h in ([hidden] if isinstance(hidden, int) else hidden)]
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout}")
        act_cls = (_nn_class("activation", activation, _ACTIVATIONS)
                   if isinstance(activation, str) else activation)
        norm_cls = None if norm is None else _nn_class("norm", norm, _NORMS)
        self.in_features, self.hidden, self.out_features = in_features, hidden, out_features
        layers, width = [], in_features
        for h in hidden:
            layers.append(nn.Linear(width, h))
            if norm_cls is not None:
                layers.append(norm_cls(h))
            layers.append(act_cls())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, out_features))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        if x.dim() > 2:
            x = x.reshape(x.shape[0], -1)  # (N, *) -> (N, in_features)
        return self.layers(x)  # (N, out_features)

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

class LogisticRegression(nn.Module):
    """Logistic (num_classes=1) or multinomial (num_classes>1) regression: one Linear layer.

    The output is logits: for num_classes=1 the log-odds log(p / (1 - p)) of the positive class
    (train with nn.BCEWithLogitsLoss on float 0/1 targets); for num_classes>1 the unnormalized
    log-probabilities of each class (train with nn.CrossEntropyLoss on class indices).

    Reading the coefficients: the model says log-odds = w . x + b. So `log_odds()` (= weight) are
    log-odds ratios: raising feature j by one unit, the others fixed, adds w_j to the log-odds,
    i.e. multiplies the odds of the positive class by exp(w_j) (`odds_ratios()`). The bias is the
    log-odds when every feature is 0. With several classes, w[k, j] - w[l, j] is the log-odds
    ratio of class k against class l for a unit increase of feature j.

    Shape:
        - Input: (N, in_features)
        - Output: (N,) for num_classes=1, else (N, num_classes)
    """

    def __init__(self, in_features, num_classes=1):
        super().__init__()
        self.in_features, self.num_classes = in_features, num_classes
        self.linear = nn.Linear(in_features, num_classes)

    def forward(self, x):
        if x.dim() > 2:
            x = x.reshape(x.shape[0], -1)
        logits = self.linear(x)  # (N, num_classes)
        return logits.squeeze(1) if self.num_classes == 1 else logits

    def log_odds(self):
        """The coefficients, as log-odds ratios: shape (in_features,) for a binary model,
        (num_classes, in_features) otherwise. A detached copy."""
        w = self.linear.weight.detach().clone()
        return w[0] if self.num_classes == 1 else w

    def intercept(self):
        """The bias: the log-odds when all features are zero."""
        b = self.linear.bias.detach().clone()
        return b[0] if self.num_classes == 1 else b

    def odds_ratios(self):
        """exp(coefficients): the factor by which a unit increase of each feature multiplies the
        odds."""
        return self.log_odds().exp()

    @no_grad()
    def predict_proba(self, x):
        """Class probabilities (inference only: no graph is recorded)."""
        logits = self.forward(x)
        return logits.sigmoid() if self.num_classes == 1 else logits.softmax(dim=-1)

    @no_grad()
    def predict(self, x):
        """Predicted class indices (inference only)."""
        logits = self.forward(x)
        return (logits > 0).long() if self.num_classes == 1 else logits.argmax(dim=-1)
