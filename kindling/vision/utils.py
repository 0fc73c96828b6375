"""Image grids and saving (torchvision.utils.make_grid / save_image)."""
import math

import numpy as np

from ..engine.tensor import Tensor, _make


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):
    """Tile a (B, C, H, W) batch (or a list of (C, H, W)) into one (3 or C, H', W') image."""
    if isinstance(tensor, (list, tuple)):
        a = np.stack([t._array if isinstance(t, Tensor) else np.asarray(t) for t in tensor])
    else:
        a = tensor._array if isinstance(tensor, Tensor) else np.asarray(tensor)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        a = a[None] if a.shape[0] in (1, 3) else a[:, None]
    a = a.astype(np.float32, copy=True)
    if a.shape[1] == 1:
        a = np.repeat(a, 3, axis=1)
    if normalize:
        def norm(x, lo, hi):
            return np.clip((x - lo) / max(hi - lo, 1e-5), 0, 1)
        if scale_each:
            a = np.stack([norm(x, *(value_range or (x.min(), x.max()))) for x in a])
        else:
            a = norm(a, *(value_range or (a.min(), a.max())))
    if a.shape[0] == 1:
        return _make(a[0])
    b, c, h, w = a.shape
    cols = min(nrow, b)
    rows = int(math.ceil(b / cols))
    hh, ww = h + padding, w + padding
    grid = np.full((c, rows * hh + padding, cols * ww + padding), pad_value, dtype=np.float32)
    for k in range(b):
        r, q = divmod(k, cols)
        grid[:, r * hh + padding:r * hh + padding + h, q * ww + padding:q * ww + padding + w] = a[k]
    return _make(grid)


def save_image(tensor, fp, format=None, **kwargs):
    """Save a tensor image (or a grid of a batch) as PNG (via matplotlib, an optional extra)."""
    grid = make_grid(tensor, **kwargs)._array
    image = (np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("save_image needs matplotlib: pip install kindling[plots]") from None
    plt.imsave(fp, image, format=format)
