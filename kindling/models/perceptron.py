"""Rosenblatt's perceptron (1958): a linear threshold unit trained by the perceptron rule.

    y_hat = step(w . x + b)          step(z) = 1 if z > 0 else 0
    for each example (x, y):         w <- w + lr (y - y_hat) x,   b <- b + lr (y - y_hat)

No gradients and no autograd: the rule only moves the weights when an example is misclassified.
If the two classes are linearly separable, it stops making mistakes after finitely many updates
(Novikoff's convergence theorem). If they are not, as for XOR, some example is misclassified in
every epoch, forever: a single linear unit cannot represent XOR (Minsky and Papert, 1969), which
is why multi-layer networks trained by backpropagation (kindling.models.MLP) are needed.

Labels and outputs are 0/1. Labels given as -1/+1 are accepted and read as 0/1.
"""
import numpy as np

from .. import nn
from ..creation import tensor, zeros
from ..engine.tensor import Tensor


def _as_numpy(x, dtype):
    array = x.detach().numpy() if isinstance(x, Tensor) else np.asarray(x)
    return array.astype(dtype)


class Perceptron(nn.Module):
    """A single threshold unit on `in_features` inputs.

    Shape:
        - Input: (N, in_features) or (in_features,)
        - Output: (N,) or (), int64 labels in {0, 1}

    Example::

        >>> p = Perceptron(2)
        >>> errors = p.fit(X, y, epochs=20)   # errors[-1] == 0 when X, y are separable
        >>> p.predict(X)
    """

    def __init__(self, in_features):
        super().__init__()
        self.in_features = in_features
        # Buffers, not Parameters: nothing here is learned by gradient descent, but the weights
        # belong in the state_dict.
        self.register_buffer("weight", zeros(in_features))
        self.register_buffer("bias", zeros(()))

    def extra_repr(self):
        return f"in_features={self.in_features}"

    def decision_function(self, x):
        """w . x + b, the signed (unnormalized) distance to the separating hyperplane."""
        w, b = self.weight.numpy(), self.bias.numpy()
        return tensor(_as_numpy(x, w.dtype) @ w + b)

    def forward(self, x):
        return self.predict(x)

    def predict(self, x):
        return tensor((self.decision_function(x).numpy() > 0).astype(np.int64))

    def fit(self, X, y, epochs=100, lr=1.0, shuffle=False, generator=None):
        """Apply the perceptron rule for up to `epochs` passes over (X, y).

        Returns the number of misclassified examples (= updates) in each epoch. Training stops
        early after the first epoch with no errors: the data are then separated.
        `shuffle=True` visits the examples in a new random order each epoch (drawn from
        `generator`, or kindling's default generator)."""
        X = _as_numpy(X, self.weight.numpy().dtype)
        y = _as_numpy(y, np.float64)
        if X.ndim != 2 or X.shape[1] != self.in_features:
            raise ValueError(f"Perceptron.fit: expected X of shape (N, {self.in_features}), got "
                             f"{X.shape}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"Perceptron.fit: expected y of shape ({X.shape[0]},), got {y.shape}")
        y = np.where(y < 0, 0.0, y)  # -1/+1 labels -> 0/1
        if not np.all((y == 0) | (y == 1)):
            raise ValueError("Perceptron.fit: labels must be 0/1 (or -1/+1)")
        # Work on the buffers' arrays in place: no graph, no autograd.
        w, b = self.weight.numpy(), self.bias.numpy()
        errors_per_epoch = []
        for _ in range(epochs):
            if shuffle:
                from ..random import _np_rng
                order = _np_rng(generator).permutation(len(X))
            else:
                order = range(len(X))
            errors = 0
            for i in order:
                y_hat = 1.0 if X[i] @ w + b > 0 else 0.0
                delta = lr * (y[i] - y_hat)
                if delta != 0:
                    w += delta * X[i]
                    b += delta
                    errors += 1
            errors_per_epoch.append(errors)
            if errors == 0:
                break
        return errors_per_epoch
