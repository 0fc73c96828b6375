"""Vision data: dataset loaders (checksums, download from a local HTTP server), transforms,
Mixup/CutMix, make_grid/save_image."""
import functools
import gzip
import hashlib
import http.server
import os
import shutil
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import kindling
import kindling.nn.functional as F
from kindling.vision import datasets as D, transforms as T, utils as U, Mixup, CutMix
from conftest import SHARED_DATA

MNIST_DIR = os.path.join(SHARED_DATA, "mnist")
needs_mnist = pytest.mark.skipif(not os.path.exists(MNIST_DIR), reason="shared MNIST absent")


@needs_mnist
def test_mnist_loads_and_verifies_real_files():
    test = D.MNIST(SHARED_DATA, train=False)
    assert len(test) == 10000 and test.data.shape == (10000, 28, 28)
    assert test.targets[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(test.targets.numpy()).tolist() == [980, 1135, 1032, 1010, 982, 892, 958,
                                                          1028, 974, 1009]
    img, label = D.MNIST(MNIST_DIR, train=False, transform=T.ToTensor())[0]
    assert img.shape == (1, 28, 28) and img.dtype == kindling.float32 and label == 7
    assert 0.0 <= img.numpy().min() and img.numpy().max() <= 1.0


@needs_mnist
def test_environment_variable_root(monkeypatch):
    monkeypatch.setenv("KINDLING_DATA", SHARED_DATA)
    assert len(D.MNIST(train=False)) == 10000


def _write_idx(path, array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_checksum_mismatch_and_truncation_are_clear_errors(tmp_path):
    if not os.path.exists(MNIST_DIR):
        pytest.skip("shared MNIST absent")
    for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]:
        shutil.copy(os.path.join(MNIST_DIR, name), tmp_path / name)
    labels = D.read_idx(str(tmp_path / "t10k-labels-idx1-ubyte.gz")).copy()
    labels[0] = (labels[0] + 1) % 10
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    with pytest.raises(RuntimeError, match="does not match the published checksum"):
        D.MNIST(tmp_path, train=False)
    raw = gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz").read()
    with gzip.open(tmp_path / "bad-idx3-ubyte.gz", "wb") as f:
        f.write(raw[:1000])
    with pytest.raises(RuntimeError, match="truncated or corrupt IDX"):
        D.read_idx(str(tmp_path / "bad-idx3-ubyte.gz"))
    with pytest.raises(FileNotFoundError, match="download=True"):
        D.MNIST(tmp_path / "empty", train=True)


@pytest.fixture
def http_server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_from_local_http_server(http_server, tmp_path):
    served, url = http_server
    rng = np.random.default_rng(0)
    arrays = {"t10k-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28)),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, (20,))}
    sums = {}
    for name, a in arrays.items():
        _write_idx(served / (name + ".gz"), a)
        unpacked = gzip.open(served / (name + ".gz")).read()
        md5 = hashlib.md5(open(served / (name + ".gz"), "rb").read()).hexdigest()
        sums[name] = (hashlib.sha256(unpacked).hexdigest(), md5)

    class LocalMNIST(D.MNIST):
        mirrors = (url + "missing/", url)     # the first mirror 404s: falls through
        checksums = sums

    root = tmp_path / "root"
    ds = LocalMNIST(root, train=False, download=True)
    assert len(ds) == 20 and ds.targets.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    assert os.path.exists(root / "mnist" / "t10k-images-idx3-ubyte.gz")
    assert LocalMNIST(root, train=False).data.shape == (20, 28, 28)  # now found locally

    class BadChecksum(D.MNIST):
        mirrors = (url,)
        checksums = {k: (v[0], "0" * 32) for k, v in sums.items()}

    with pytest.raises(RuntimeError, match="md5"):
        BadChecksum(tmp_path / "other", train=False, download=True)
    assert not any(p.name.startswith(".download") for p in (tmp_path / "other" / "mnist").iterdir())


def test_cifar10_binary_format(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    images = rng.integers(0, 256, (7, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, 7, dtype=np.uint8)
    records = np.concatenate([labels[:, None], images.reshape(7, -1)], axis=1)
    records.tofile(folder / "test_batch.bin")
    ds = D.CIFAR10(tmp_path, train=False)
    img, label = ds[3]
    assert img.shape == (32, 32, 3) and label == labels[3]
    np.testing.assert_array_equal(img, images[3].transpose(1, 2, 0))
    (folder / "test_batch.bin").write_bytes(records.tobytes()[:-5])
    with pytest.raises(RuntimeError, match="whole number"):
        D.CIFAR10(tmp_path, train=False)


def test_fashion_subset_and_fake_data():
    x = np.zeros((5, 28, 28), np.uint8)
    ds = D.FashionMNIST.from_arrays(x, [1, 2, 3, 4, 5], transform=T.ToTensor())
    assert len(ds) == 5 and ds[2][1] == 3 and ds[2][0].shape == (1, 28, 28)
    fake = D.FakeData(size=4, image_size=(3, 8, 8), transform=T.ToTensor())
    a, b = fake[1], fake[1]
    assert np.array_equal(a[0].numpy(), b[0].numpy()) and a[0].shape == (3, 8, 8)
    with pytest.raises(IndexError):
        fake[4]


def test_to_tensor_normalize_and_flips():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)  # HWC
    t = T.ToTensor()(img)
    assert t.shape == (3, 2, 3) and t.dtype == kindling.float32
    np.testing.assert_allclose(t.numpy(), img.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    n = T.Normalize((0.5, 0.5, 0.5), (0.25, 0.5, 1.0))(t)
    np.testing.assert_allclose(n.numpy()[1], (t.numpy()[1] - 0.5) / 0.5, rtol=1e-6)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1)(t).numpy(), t.numpy()[..., ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1)(t).numpy(), t.numpy()[:, ::-1])
    assert T.RandomHorizontalFlip(p=0)(t) is t
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0,), (0,))


def test_crops_and_resize():
    x = kindling.tensor(np.random.default_rng(0).random((3, 10, 12)).astype(np.float32))
    crop = T.RandomCrop(8, padding=2)(x)
    assert crop.shape == (3, 8, 8)
    c = T.CenterCrop((4, 6))(x)
    np.testing.assert_array_equal(c.numpy(), x.numpy()[:, 3:7, 3:9])
    r = T.Resize((5, 7))(x)
    ref = TF.interpolate(torch.tensor(x.numpy())[None], size=(5, 7), mode="bilinear",
                         align_corners=False)[0]
    np.testing.assert_allclose(r.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
    assert T.Resize(5)(x).shape == (3, 5, 6)
    assert T.RandomResizedCrop(6)(x).shape == (3, 6, 6)
    with pytest.raises(ValueError, match="larger than the input"):
        T.RandomCrop(20)(x)


def test_rotation_and_affine_geometry():
    a = np.random.default_rng(1).random((1, 6, 6)).astype(np.float32)
    x = kindling.tensor(a)
    np.testing.assert_allclose(T.rotate(x, 90).numpy()[0], np.rot90(a[0]), atol=1e-5)
    np.testing.assert_allclose(T.rotate(x, 0).numpy(), a, atol=1e-6)
    shifted = T.affine(x, 0, (2, 1), 1.0, 0.0)
    np.testing.assert_allclose(shifted.numpy()[0, 1:, 2:], a[0, :-1, :-2], atol=1e-6)
    assert np.all(shifted.numpy()[0, 0] == 0)
    assert T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5)(x).shape == x.shape
    assert T.RandomRotation(15)(x).shape == x.shape


def test_random_transforms_are_reproducible_under_seed():
    x = kindling.rand(3, 16, 16)
    pipeline = T.Compose([T.RandomCrop(12, padding=2), T.RandomHorizontalFlip(),
                          T.RandomRotation(20), T.ColorJitter(0.4, 0.4), T.RandomErasing(p=1),
                          T.GaussianNoise(sigma=0.05)])
    kindling.manual_seed(5)
    a = pipeline(x).numpy()
    kindling.manual_seed(5)
    np.testing.assert_array_equal(pipeline(x).numpy(), a)
    kindling.manual_seed(6)
    assert not np.array_equal(pipeline(x).numpy(), a)


def test_color_jitter_erasing_noise_act():
    x = kindling.full((3, 8, 8), 0.5)
    kindling.manual_seed(0)
    bright = [T.ColorJitter(brightness=0.5)(x).numpy().mean() for _ in range(50)]
    assert min(bright) >= 0.25 - 1e-6 and max(bright) <= 0.75 + 1e-6 and np.std(bright) > 0.05
    erased = T.RandomErasing(p=1, value=0)(x).numpy()
    zero = erased == 0
    assert zero.any() and (erased[~zero] == 0.5).all()
    noisy = T.GaussianNoise(sigma=0.1, clip=False)(kindling.zeros(3, 64, 64)).numpy()
    assert abs(noisy.std() - 0.1) < 0.01


def test_mixup_and_cutmix_give_soft_targets_cross_entropy_accepts():
    kindling.manual_seed(0)
    x = kindling.rand(8, 3, 16, 16)
    y = kindling.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    for mixer in (Mixup(alpha=0.4, num_classes=4), CutMix(alpha=1.0, num_classes=4)):
        xm, ym = mixer(x, y)
        assert xm.shape == x.shape and ym.shape == (8, 4)
        np.testing.assert_allclose(ym.numpy().sum(1), 1, rtol=1e-6)
        assert np.isclose(ym.numpy().max(1).min(), max(mixer.last_lambda, 1 - mixer.last_lambda),
                          atol=1e-6) or ym.numpy().max() == 1
        loss = F.cross_entropy(kindling.randn(8, 4, requires_grad=True), ym)
        assert np.isfinite(loss.item())
    cm = CutMix(alpha=1.0, num_classes=4)
    kindling.manual_seed(3)
    xm, ym = cm(x, y)
    y0, y1, x0, x1 = cm.last_box
    assert np.isclose(cm.last_lambda, 1 - (y1 - y0) * (x1 - x0) / 256)
    outside = np.ones((16, 16), bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(xm.numpy()[:, :, outside], x.numpy()[:, :, outside])


def test_make_grid_and_save_image(tmp_path):
    batch = kindling.rand(10, 1, 28, 28)
    grid = U.make_grid(batch, nrow=8, padding=2)
    assert grid.shape == (3, 62, 242)
    np.testing.assert_allclose(grid.numpy()[0, 2:30, 2:30], batch.numpy()[0, 0])
    assert U.make_grid(batch[:1]).shape == (3, 28, 28)
    path = tmp_path / "grid.png"
    U.save_image(batch, str(path), nrow=5)
    import matplotlib.image as mpimg
    assert mpimg.imread(str(path)).shape[:2] == (62, 152)
