"""Vision datasets: MNIST and Fashion-MNIST (IDX gzip), CIFAR-10 (binary version), FakeData.

Each loads from a folder (the `root` argument, else the KINDLING_DATA environment variable),
accepting the files directly in it, in a sub-folder named like the dataset ('mnist',
'fashion-mnist', 'MNIST/raw', 'cifar-10-batches-bin'), gzipped or not. Contents are verified
against published checksums: the sha256 of the *unpacked* IDX data where it is known (mirrors
often re-gzip the files, so .gz bytes differ), else the md5 of the original .gz. With
`download=True` and the files absent, they are fetched from the canonical mirrors.

Items are (image, target): the image a uint8 (H, W) or (H, W, 3) ndarray, or whatever
`transform` makes of it (`transforms.ToTensor()` gives a float (C, H, W) tensor in [0, 1]).
"""
import gzip
import os

import numpy as np

from ..creation import tensor as _tensor
from ..engine import dtypes
from ..engine.tensor import _make
from ..utils.data import Dataset
from .download import download_url, file_digest


def _data_root(root):
    root = root if root is not None else os.environ.get("KINDLING_DATA")
    if root is None:
        raise RuntimeError("no dataset folder: pass root=... or set the KINDLING_DATA "
                           "environment variable")
    return os.path.expanduser(os.fspath(root))


def read_idx(path):
    """Parse an IDX file (gzipped or not) into an ndarray, checking magic and size."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise RuntimeError(f"{path}: not an IDX file (bad magic)")
    types = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if data[2] not in types:
        raise RuntimeError(f"{path}: unknown IDX element type 0x{data[2]:02x}")
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4).astype(int)
    dtype = np.dtype(types[data[2]])
    expected = 4 + 4 * ndim + int(np.prod(dims)) * dtype.itemsize
    if len(data) != expected:
        raise RuntimeError(f"{path}: truncated or corrupt IDX file ({len(data)} bytes, expected "
                           f"{expected} for shape {tuple(dims)})")
    return np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim).reshape(tuple(dims))


class _IdxDataset(Dataset):
    """MNIST-format dataset. Subclasses give the file names, checksums and mirrors."""
    folders = ()
    mirrors = ()
    # file name -> (sha256 of unpacked content or None, md5 of the official .gz or None)
    checksums = {}
    files = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
    classes = [str(i) for i in range(10)]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        self.root = _data_root(root)
        self.train = train
        self.transform, self.target_transform = transform, target_transform
        paths = [self._find(name, download) for name in self.files[train]]
        for path in paths:
            self._verify(path)
        self.data = read_idx(paths[0])
        self.targets = _tensor(read_idx(paths[1]).astype(np.int64))
        if len(self.data) != len(self.targets):
            raise RuntimeError(f"{type(self).__name__}: {len(self.data)} images but "
                               f"{len(self.targets)} labels")

    def _candidates(self, name):
        dirs = [self.root] + [os.path.join(self.root, f) for f in self.folders]
        return [os.path.join(d, name + ext) for d in dirs for ext in (".gz", "")]

    def _find(self, name, download):
        for path in self._candidates(name):
            if os.path.exists(path):
                return path
        if not download:
            raise FileNotFoundError(
                f"{type(self).__name__}: {name}[.gz] not found in {self.root} (looked in "
                f"{', '.join(sorted({os.path.dirname(p) for p in self._candidates(name)}))}); "
                f"pass download=True to fetch it")
        target = os.path.join(self.root, self.folders[0] if self.folders else "", name + ".gz")
        errors = []
        for mirror in self.mirrors:
            try:
                return download_url(mirror + name + ".gz", target,
                                    md5=self.checksums.get(name, (None, None))[1])
            except RuntimeError as e:
                errors.append(str(e))
        raise RuntimeError(f"{type(self).__name__}: could not download {name}:\n  " +
                           "\n  ".join(errors))

    def _verify(self, path):
        name = os.path.basename(path).removesuffix(".gz")
        sha_unpacked, md5_gz = self.checksums.get(name, (None, None))
        if sha_unpacked and file_digest(path, "sha256", unpack_gzip=True) == sha_unpacked:
            return
        if md5_gz and path.endswith(".gz") and file_digest(path, "md5") == md5_gz:
            return
        if sha_unpacked or md5_gz:
            raise RuntimeError(f"{type(self).__name__}: {path} does not match the published "
                               f"checksum (corrupt or a different file); delete it and "
                               f"download again")

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img, target = self.data[index], int(self.targets._array[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    @classmethod
    def from_arrays(cls, images, labels, transform=None, target_transform=None):
        """The same dataset interface over in-memory arrays (e.g. an npz subset)."""
        obj = cls.__new__(cls)
        obj.root, obj.train = None, None
        obj.transform, obj.target_transform = transform, target_transform
        obj.data = np.asarray(images, dtype=np.uint8)
        obj.targets = _tensor(np.asarray(labels).reshape(-1).astype(np.int64))
        return obj

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"

    def __repr__(self):
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Root location: {self.root}\n    {self.extra_repr()}")


class MNIST(_IdxDataset):
    """LeCun et al.'s handwritten digits: 60,000 train and 10,000 test 28x28 grayscale images."""
    folders = ("mnist", "MNIST/raw")
    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/")
    checksums = {
        "train-images-idx3-ubyte": (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        "train-labels-idx1-ubyte": (
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "d53e105ee54ea40749a09fcbcd1e9432"),
        "t10k-images-idx3-ubyte": (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "9fb629c4189551a2d022fa330f9573f3"),
        "t10k-labels-idx1-ubyte": (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            "ec29112dd5afa0611ce80d1b7f02629c"),
    }


class FashionMNIST(_IdxDataset):
    """Zalando's Fashion-MNIST: the MNIST format with 10 clothing classes."""
    folders = ("fashion-mnist", "FashionMNIST/raw")
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    checksums = {  # md5 of the official .gz files, as published by Zalando
        "train-images-idx3-ubyte": (None, "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        "train-labels-idx1-ubyte": (
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "25c81989df183df01b3e8a0aad5dffbe"),
        "t10k-images-idx3-ubyte": (None, "bef4ecab320f06d8554ea6380940ec79"),
        "t10k-labels-idx1-ubyte": (
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            "bb300cfdad3c16e7a12a480ee83cd310"),
    }


class CIFAR10(Dataset):
    """CIFAR-10 from its binary version: records of 1 label byte + 3072 bytes (3x32x32, RGB).

    Images are returned as (32, 32, 3) uint8 arrays (HWC, like torchvision)."""
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    archive_md5 = "c32a1d4ab5d03f1284b67883e8d87530"
    folder = "cifar-10-batches-bin"
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]
    record = 1 + 3 * 32 * 32

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        self.root = _data_root(root)
        self.train = train
        self.transform, self.target_transform = transform, target_transform
        names = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
        folder = os.path.join(self.root, self.folder)
        if not all(os.path.exists(os.path.join(folder, n)) for n in names):
            if not download:
                raise FileNotFoundError(f"CIFAR10: {names[0]} not found in {folder}; pass "
                                        f"download=True to fetch it")
            self._download()
        chunks = []
        for n in names:
            raw = np.fromfile(os.path.join(folder, n), dtype=np.uint8)
            if raw.size == 0 or raw.size % self.record:
                raise RuntimeError(f"CIFAR10: {n} has {raw.size} bytes, not a whole number of "
                                   f"{self.record}-byte records (the official files hold 10,000 "
                                   f"each): truncated or not the binary version")
            chunks.append(raw.reshape(-1, self.record))
        records = np.concatenate(chunks)
        self.targets = _tensor(records[:, 0].astype(np.int64))
        self.data = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()

    def _download(self):
        import tarfile
        archive = os.path.join(self.root, "cifar-10-binary.tar.gz")
        download_url(self.url, archive, md5=self.archive_md5)
        with tarfile.open(archive) as tar:
            tar.extractall(self.root, filter="data")

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img, target = self.data[index], int(self.targets._array[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target


class FakeData(Dataset):
    """Random images and labels, deterministic per index (for smoke tests and examples)."""

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        self.size, self.image_size, self.num_classes = size, tuple(image_size), num_classes
        self.transform, self.target_transform = transform, target_transform
        self.random_offset = random_offset

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if not 0 <= index < self.size:
            raise IndexError(f"FakeData index {index} out of range for size {self.size}")
        rng = np.random.default_rng(index + self.random_offset)
        c, h, w = self.image_size
        img = rng.integers(0, 256, (h, w, c) if c == 3 else (h, w), dtype=np.uint8)
        target = int(rng.integers(0, self.num_classes))
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target


def as_tensors(dataset, normalize=True):
    """All images of an MNIST/CIFAR dataset as one float tensor (N, C, H, W) in [0, 1] and the
    labels as int64: the fast path for training small models without per-item transforms."""
    data = dataset.data
    x = data[:, None] if data.ndim == 3 else data.transpose(0, 3, 1, 2)
    x = x.astype(np.float32) / 255.0 if normalize else x
    return _make(np.ascontiguousarray(x)), dataset.targets.to(dtypes.int64)
