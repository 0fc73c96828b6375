"""Image transforms with torchvision's names and arguments.

`ToTensor` turns an (H, W) or (H, W, C) uint8 array (or a PIL image) into a float32 (C, H, W)
tensor in [0, 1]; the others take and return (C, H, W) float tensors. Random transforms draw
from kindling's generator, so `kindling.manual_seed` makes augmentation reproducible.
Geometric transforms resample with an inverse affine map (bilinear by default) in NumPy.
"""
import math
import numbers

import numpy as np

from ..engine.tensor import Tensor, _make
from ..random import _np_rng


def _array(img):
    return img._array if isinstance(img, Tensor) else np.asarray(img)


def _to_chw(img):
    """A (C, H, W) array of any image the transforms accept, and the function that turns a
    result back into the same kind: tensors are (C, H, W) already; ndarrays and PIL images are
    (H, W) or (H, W, C) (torchvision's convention), uint8 ones scaled to [0, 1] and back."""
    if isinstance(img, Tensor):
        return img._array, _make
    pil = not isinstance(img, np.ndarray)
    a = np.asarray(img)
    if a.ndim not in (2, 3):
        raise TypeError(f"expected an image of shape (H, W) or (H, W, C), got {a.shape}")
    scale = a.dtype == np.uint8
    chw = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    if scale:
        chw = chw.astype(np.float32) / np.float32(255)

    def back(out):
        if scale:
            out = np.clip(np.round(out * 255), 0, 255).astype(np.uint8)
        out = np.ascontiguousarray(out[0] if a.ndim == 2 else out.transpose(1, 2, 0))
        if pil:
            from PIL import Image
            return Image.fromarray(out)
        return out
    return chw, back


def _size2(size):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    return int(size[0]), int(size[1])


class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class _Transform:
    def __repr__(self):
        args = ", ".join(f"{k}={v}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class ToTensor(_Transform):
    """uint8 HWC (or HW, or PIL) -> float32 CHW in [0, 1]; float arrays are only transposed."""

    def __call__(self, pic):
        a = np.asarray(pic)
        if a.ndim == 2:
            a = a[:, :, None]
        if a.ndim != 3:
            raise TypeError(f"ToTensor: expected an (H, W) or (H, W, C) image, got shape "
                            f"{a.shape}")
        chw = np.ascontiguousarray(a.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            return _make(chw.astype(np.float32) / np.float32(255))
        return _make(chw.astype(np.float32, copy=False))


class PILToTensor(_Transform):
    def __call__(self, pic):
        a = np.asarray(pic)
        a = a[:, :, None] if a.ndim == 2 else a
        return _make(np.ascontiguousarray(a.transpose(2, 0, 1)))


class ToPILImage(_Transform):
    def __call__(self, pic):
        from PIL import Image
        a = _array(pic)
        if a.ndim == 3 and a.shape[0] in (1, 3, 4):
            a = a.transpose(1, 2, 0)
        if a.dtype != np.uint8:
            a = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
        return Image.fromarray(a.squeeze(-1) if a.ndim == 3 and a.shape[-1] == 1 else a)


class Normalize(_Transform):
    """(x - mean) / std per channel."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = tuple(mean), tuple(std), inplace
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero after conversion to float32, "
                             f"leading to division by zero (std={self.std})")

    def __call__(self, tensor):
        a = _array(tensor)
        if a.ndim < 3:
            raise ValueError(f"Normalize: expected a (C, H, W) tensor, got shape {a.shape}")
        mean = np.asarray(self.mean, dtype=a.dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=a.dtype).reshape(-1, 1, 1)
        if self.inplace:
            a -= mean
            a /= std
            return tensor
        return _make((a - mean) / std)


class Lambda(_Transform):
    def __init__(self, lambd):
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)


class RandomApply(_Transform):
    def __init__(self, transforms, p=0.5):
        self.transforms, self.p = list(transforms), p

    def __call__(self, img):
        if _np_rng().random() >= self.p:
            return img
        for t in self.transforms:
            img = t(img)
        return img


class RandomHorizontalFlip(_Transform):
    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        if _np_rng().random() >= self.p:
            return img
        a, back = _to_chw(img)
        return back(np.ascontiguousarray(a[..., ::-1]))


class RandomVerticalFlip(_Transform):
    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        if _np_rng().random() >= self.p:
            return img
        a, back = _to_chw(img)
        return back(np.ascontiguousarray(a[..., ::-1, :]))


def _pad_chw(a, padding, fill=0, mode="constant"):
    if isinstance(padding, numbers.Number):
        left = right = top = bottom = int(padding)
    elif len(padding) == 2:
        left = right = int(padding[0])
        top = bottom = int(padding[1])
    else:
        left, top, right, bottom = (int(p) for p in padding)
    widths = ((0, 0), (top, bottom), (left, right))
    numpy_mode = {"constant": "constant", "edge": "edge", "reflect": "reflect",
                  "symmetric": "symmetric"}[mode]
    if numpy_mode == "constant":
        return np.pad(a, widths, constant_values=fill)
    return np.pad(a, widths, mode=numpy_mode)


class Pad(_Transform):
    def __init__(self, padding, fill=0, padding_mode="constant"):
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img):
        a, back = _to_chw(img)
        return back(_pad_chw(a, self.padding, self.fill, self.padding_mode))


class CenterCrop(_Transform):
    def __init__(self, size):
        self.size = _size2(size)

    def __call__(self, img):
        a, back = _to_chw(img)
        th, tw = self.size
        h, w = a.shape[-2:]
        if th > h or tw > w:  # torchvision pads with zeros first
            a = _pad_chw(a, (max(0, (tw - w) // 2), max(0, (th - h) // 2),
                             max(0, (tw - w + 1) // 2), max(0, (th - h + 1) // 2)))
            h, w = a.shape[-2:]
        top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
        return back(np.ascontiguousarray(a[..., top:top + th, left:left + tw]))


class RandomCrop(_Transform):
    """Random (size) crop, after optional padding (e.g. RandomCrop(32, padding=4) for CIFAR)."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _size2(size)
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    def __call__(self, img):
        a, back = _to_chw(img)
        if self.padding is not None:
            a = _pad_chw(a, self.padding, self.fill, self.padding_mode)
        th, tw = self.size
        h, w = a.shape[-2:]
        if self.pad_if_needed and (h < th or w < tw):
            a = _pad_chw(a, (max(0, tw - w), max(0, th - h)), self.fill, self.padding_mode)
            h, w = a.shape[-2:]
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the "
                             f"input image size {(h, w)}")
        rng = _np_rng()
        top = int(rng.integers(0, h - th + 1))
        left = int(rng.integers(0, w - tw + 1))
        return back(np.ascontiguousarray(a[..., top:top + th, left:left + tw]))


def _resize(a, size, interpolation="bilinear"):
    """Resize the last two dims of a (C, H, W) array (align_corners=False bilinear)."""
    from ..ops.resample import interpolate
    x = _make(np.ascontiguousarray(a[None].astype(np.float32, copy=False)))
    mode = "nearest" if interpolation == "nearest" else "bilinear"
    return interpolate(x, size=size, mode=mode,
                       align_corners=False if mode == "bilinear" else None)._array[0]


class Resize(_Transform):
    """Resize to (h, w), or make the smaller edge `size` keeping the aspect ratio."""

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=True):
        self.size, self.interpolation, self.max_size = size, interpolation, max_size

    def __call__(self, img):
        a, back = _to_chw(img)
        h, w = a.shape[-2:]
        if isinstance(self.size, numbers.Number) or len(self.size) == 1:
            short = int(self.size if isinstance(self.size, numbers.Number) else self.size[0])
            if h <= w:
                size = (short, int(short * w / h))
            else:
                size = (int(short * h / w), short)
            if self.max_size is not None and max(size) > self.max_size:
                scale = self.max_size / max(size)
                size = (int(size[0] * scale), int(size[1] * scale))
        else:
            size = _size2(self.size)
        return back(_resize(a, size, self.interpolation))


class RandomResizedCrop(_Transform):
    """Crop a random area fraction in `scale` with aspect ratio in `ratio`, resize to `size`."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), interpolation="bilinear",
                 antialias=True):
        self.size, self.scale, self.ratio = _size2(size), scale, ratio
        self.interpolation = interpolation

    def get_params(self, h, w):
        rng = _np_rng()
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            cw = int(round(math.sqrt(target * aspect)))
            ch = int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
        # fallback: a central crop with the ratio clamped
        in_ratio = w / h
        if in_ratio < min(self.ratio):
            cw, ch = w, int(round(w / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            ch, cw = h, int(round(h * max(self.ratio)))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def __call__(self, img):
        a, back = _to_chw(img)
        top, left, ch, cw = self.get_params(*a.shape[-2:])
        return back(_resize(a[..., top:top + ch, left:left + cw], self.size,
                             self.interpolation))


def _affine_inverse(angle, translate, scale, shear, center):
    """The inverse of torchvision's affine map, as a 2x3 matrix from output to input (x, y)."""
    rot = math.radians(angle)
    sx, sy = (math.radians(s) for s in shear)
    cx, cy = center
    tx, ty = translate
    # forward: T(translate) C R S Shear C^-1; invert R*S*Shear analytically
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = np.array([[a, b], [c, d]]) * scale
    inv = np.linalg.inv(m)
    offset = np.array([cx, cy]) - inv @ (np.array([cx + tx, cy + ty]))
    return np.hstack([inv, offset[:, None]])


def _warp(a, matrix, fill=0.0, interpolation="bilinear"):
    """Sample a (C, H, W) image at matrix @ (x, y, 1) for each output pixel (x, y)."""
    c, h, w = a.shape
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64) + 0.5, np.arange(w, dtype=np.float64) + 0.5,
                         indexing="ij")
    src_x = matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2] - 0.5
    src_y = matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2] - 0.5
    padded = np.pad(a, ((0, 0), (1, 1), (1, 1)), constant_values=fill).astype(np.float32)
    if interpolation == "nearest":
        ix = np.clip(np.round(src_x).astype(np.int64) + 1, 0, w + 1)
        iy = np.clip(np.round(src_y).astype(np.int64) + 1, 0, h + 1)
        out = padded[:, iy, ix]
        inside = (src_x > -0.5) & (src_x < w - 0.5) & (src_y > -0.5) & (src_y < h - 0.5)
        return np.where(inside, out, np.float32(fill)).astype(a.dtype)
    x0 = np.floor(src_x)
    y0 = np.floor(src_y)
    wx, wy = (src_x - x0).astype(np.float32), (src_y - y0).astype(np.float32)
    ix0 = np.clip(x0.astype(np.int64) + 1, 0, w + 1)
    iy0 = np.clip(y0.astype(np.int64) + 1, 0, h + 1)
    ix1, iy1 = np.clip(ix0 + 1, 0, w + 1), np.clip(iy0 + 1, 0, h + 1)
    out = (padded[:, iy0, ix0] * (1 - wx) * (1 - wy) + padded[:, iy0, ix1] * wx * (1 - wy) +
           padded[:, iy1, ix0] * (1 - wx) * wy + padded[:, iy1, ix1] * wx * wy)
    return out.astype(a.dtype)


def affine(img, angle, translate, scale, shear, interpolation="bilinear", fill=0.0):
    a, back = _to_chw(img)
    h, w = a.shape[-2:]
    shear = (shear, 0.0) if isinstance(shear, numbers.Number) else tuple(shear)
    matrix = _affine_inverse(angle, translate, scale, shear, (w / 2, h / 2))
    return back(_warp(a, matrix, fill, interpolation))


def rotate(img, angle, interpolation="bilinear", fill=0.0):
    """Rotate counter-clockwise by `angle` degrees about the centre."""
    return affine(img, -angle, (0, 0), 1.0, (0.0, 0.0), interpolation, fill)


def _range(value, name, center=0.0):
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"If {name} is a single number, it must be positive.")
        return (center - value, center + value)
    return tuple(value)


class RandomRotation(_Transform):
    def __init__(self, degrees, interpolation="bilinear", expand=False, center=None, fill=0.0):
        self.degrees = _range(degrees, "degrees")
        self.interpolation, self.fill = interpolation, fill

    def __call__(self, img):
        return rotate(img, _np_rng().uniform(*self.degrees), self.interpolation, self.fill)


class RandomAffine(_Transform):
    """Random rotation, translation (fractions of width/height), scale and shear."""

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation="nearest",
                 fill=0.0):
        self.degrees = _range(degrees, "degrees")
        self.translate, self.scale, self.shear = translate, scale, shear
        self.interpolation, self.fill = interpolation, fill

    def __call__(self, img):
        h, w = _to_chw(img)[0].shape[-2:]
        rng = _np_rng()
        angle = rng.uniform(*self.degrees)
        if self.translate is not None:
            tx = round(rng.uniform(-self.translate[0] * w, self.translate[0] * w))
            ty = round(rng.uniform(-self.translate[1] * h, self.translate[1] * h))
        else:
            tx = ty = 0
        scale = rng.uniform(*self.scale) if self.scale is not None else 1.0
        shear = (0.0, 0.0)
        if self.shear is not None:
            s = _range(self.shear, "shear") if isinstance(self.shear, numbers.Number) \
                else tuple(self.shear)
            shear = (rng.uniform(s[0], s[1]),
                     rng.uniform(s[2], s[3]) if len(s) == 4 else 0.0)
        return affine(img, angle, (tx, ty), scale, shear, self.interpolation, self.fill)


class ColorJitter(_Transform):
    """Random brightness and contrast (and saturation for RGB) factors in [1 - v, 1 + v]."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = _range(brightness, "brightness", 1.0) if brightness else None
        self.contrast = _range(contrast, "contrast", 1.0) if contrast else None
        self.saturation = _range(saturation, "saturation", 1.0) if saturation else None
        if hue:
            raise NotImplementedError("ColorJitter: hue jitter is not supported by kindling")

    def __call__(self, img):
        a, back = _to_chw(img)
        a = a.astype(np.float32)
        rng = _np_rng()
        gray = lambda x: (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2])[None] \
            if x.shape[0] == 3 else x  # noqa: E731
        for kind in rng.permutation(3):
            if kind == 0 and self.brightness:
                a = np.clip(a * rng.uniform(*self.brightness), 0, 1)
            elif kind == 1 and self.contrast:
                mean = gray(a).mean()
                f = rng.uniform(*self.contrast)
                a = np.clip(f * a + (1 - f) * mean, 0, 1)
            elif kind == 2 and self.saturation and a.shape[0] == 3:
                f = rng.uniform(*self.saturation)
                a = np.clip(f * a + (1 - f) * gray(a), 0, 1)
        return back(a.astype(np.float32))


class RandomErasing(_Transform):
    """Erase a random rectangle (area fraction `scale`, aspect `ratio`) with `value`
    (a number, a per-channel tuple, or 'random')."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        self.p, self.scale, self.ratio, self.value = p, scale, ratio, value

    def __call__(self, img):
        rng = _np_rng()
        if rng.random() >= self.p:
            return img
        a, back = _to_chw(img)
        a = a.copy()
        c, h, w = a.shape
        for _ in range(10):
            target = h * w * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1])))
            eh = int(round(math.sqrt(target * aspect)))
            ew = int(round(math.sqrt(target / aspect)))
            if eh < h and ew < w:
                top, left = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
                if self.value == "random":
                    patch = rng.standard_normal((c, eh, ew)).astype(a.dtype)
                else:
                    patch = np.asarray(self.value, dtype=a.dtype).reshape(-1, 1, 1)
                a[:, top:top + eh, left:left + ew] = patch
                return back(a)
        return img


class GaussianNoise(_Transform):
    """Add N(mean, sigma^2) noise, optionally clipping to [0, 1]."""

    def __init__(self, mean=0.0, sigma=0.1, clip=True):
        self.mean, self.sigma, self.clip = mean, sigma, clip

    def __call__(self, img):
        a, back = _to_chw(img)
        out = a + _np_rng().normal(self.mean, self.sigma, a.shape).astype(a.dtype)
        return back(np.clip(out, 0, 1) if self.clip else out)


class Grayscale(_Transform):
    def __init__(self, num_output_channels=1):
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        a, back = _to_chw(img)
        g = (0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2])[None] if a.shape[0] == 3 else a
        return back(np.repeat(g, self.num_output_channels, axis=0).astype(a.dtype))
