"""kindling.save / kindling.load (a data-only checkpoint format) and safetensors interop."""
import collections
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch

import kindling
from kindling import serialization
from kindling.serialization import CheckpointError


def roundtrip(obj):
    buf = io.BytesIO()
    kindling.save(obj, buf)
    buf.seek(0)
    return kindling.load(buf)


def assert_equal(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, kindling.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_equal(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "uint8", "int8", "int16",
                                   "int32", "int64", "bool"])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (2, 0, 4)])
def test_tensor_roundtrip_every_dtype_and_shape(dtype, shape):
    array = np.asarray((np.random.default_rng(0).standard_normal(shape) * 5).astype(dtype))
    t = kindling.from_numpy(array)
    out = roundtrip(t)
    assert_equal(out, t)
    assert out._array.flags.writeable and out._array.flags.c_contiguous


def test_every_python_type_roundtrips():
    obj = {
        "none": None, "t": True, "f": False, "int": -3, "big": 2 ** 80, "float": 1.5,
        "one_float": 1.0, "nan": float("nan"), "inf": float("-inf"), "str": "héllo \"x\"",
        "list": [1, [2, [3, []]]], "tuple": (1, (2.0, "a"), ()), "empty": {},
        "odict": collections.OrderedDict([("b", 1), ("a", 2)]),
        1: "int key", 2.5: "float key", (1, "x"): "tuple key", None: "none key", False: "b",
        "np": np.arange(6, dtype=np.int32).reshape(2, 3), "np_scalar": np.float32(0.25),
        "np_int": np.int64(7), "size": kindling.Size([2, 3]), "dtype": kindling.float16,
    }
    out = roundtrip(obj)
    assert_equal(out, obj)
    assert type(out["odict"]) is collections.OrderedDict
    assert type(out["size"]) is kindling.Size
    assert out["dtype"] is kindling.float16
    assert type(out["np_scalar"]) is np.float32
    assert 1 in out and "1" not in out


def test_optimizer_and_scheduler_like_state_dicts_roundtrip():
    opt = {
        "state": {0: {"step": kindling.tensor(10.0), "exp_avg": kindling.randn(3, 2),
                      "exp_avg_sq": kindling.rand(3, 2)},
                  1: {"step": kindling.tensor(10.0), "momentum_buffer": None}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                          "amsgrad": False, "maximize": False, "foreach": None,
                          "params": [0, 1]}],
    }
    sched = {"base_lrs": [0.1], "last_epoch": 5, "_step_count": 6, "verbose": False,
             "_get_lr_called_within_step": False, "_last_lr": [0.05], "gamma": 0.5}
    model = collections.OrderedDict([("fc.weight", kindling.randn(4, 3)),
                                     ("fc.bias", kindling.zeros(4)),
                                     ("bn.num_batches_tracked", kindling.tensor(3))])
    ckpt = {"model": model, "optimizer": opt, "scheduler": sched, "epoch": 3,
            "rng": kindling.get_rng_state()}
    out = roundtrip(ckpt)
    assert_equal(out, ckpt)
    assert out["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert list(out["optimizer"]["state"]) == [0, 1]
    kindling.set_rng_state(out["rng"])  # the RNG state loads back usable


def test_requires_grad_parameter_and_shared_tensors():
    leaf = kindling.randn(3, requires_grad=True)
    nonleaf = leaf * 2
    plain = kindling.ones(2)
    obj = {"leaf": leaf, "nonleaf": nonleaf, "plain": plain, "again": plain, "view": plain[0:1]
           if hasattr(kindling.Tensor, "__getitem__") else plain.detach()}
    out = roundtrip(obj)
    assert out["leaf"].requires_grad and out["leaf"].is_leaf
    assert out["nonleaf"].requires_grad and out["nonleaf"].is_leaf
    np.testing.assert_allclose(out["nonleaf"].detach().numpy(), nonleaf.detach().numpy())
    assert not out["plain"].requires_grad
    assert out["again"] is out["plain"]  # one object saved twice loads as one object
    from kindling.nn.parameter import Parameter
    p = Parameter(kindling.randn(2, 2))
    frozen = Parameter(kindling.randn(2), requires_grad=False)
    out = roundtrip({"p": p, "frozen": frozen})
    assert type(out["p"]) is Parameter and out["p"].requires_grad
    assert type(out["frozen"]) is Parameter and not out["frozen"].requires_grad
    np.testing.assert_array_equal(out["p"].detach().numpy(), p.detach().numpy())


def test_noncontiguous_tensor_roundtrips():
    a = np.arange(12.0).reshape(3, 4).T  # Fortran-ordered view
    out = roundtrip(kindling.from_numpy(a))
    np.testing.assert_array_equal(out.numpy(), a)


def test_save_rejects_unsupported_objects():
    with pytest.raises(TypeError, match="cannot save an object of type set"):
        roundtrip({"s": {1, 2}})
    with pytest.raises(TypeError, match="dict keys must be"):
        roundtrip({kindling.ones(1): 1})
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        roundtrip(loop)
    with pytest.raises(TypeError, match="dtype object"):
        roundtrip(np.array([1, None], dtype=object))


def test_path_roundtrip_and_map_location(tmp_path):
    path = tmp_path / "ckpt.kt"
    obj = {"w": kindling.randn(2, 2)}
    kindling.save(obj, path)
    assert_equal(kindling.load(path), obj)
    assert_equal(kindling.load(str(path), map_location="cpu"), obj)
    assert_equal(kindling.load(path, map_location=kindling.device("cpu")), obj)
    assert_equal(kindling.load(path, map_location=lambda storage, loc: storage), obj)
    assert_equal(kindling.load(path, weights_only=False), obj)
    with pytest.raises(RuntimeError, match="CPU only"):
        kindling.load(path, map_location="cuda:0")
    assert os.listdir(tmp_path) == ["ckpt.kt"]


def test_format_is_the_documented_one():
    buf = io.BytesIO()
    kindling.save({"a": kindling.zeros(2), 3: (1, 2)}, buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as zf:
        assert zf.namelist() == ["kindling_checkpoint.json", "arrays/0.npy"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        manifest = json.loads(zf.read("kindling_checkpoint.json"))
        array = np.load(io.BytesIO(zf.read("arrays/0.npy")), allow_pickle=False)
    assert manifest["format"] == "kindling-checkpoint" and manifest["version"] == 1
    assert manifest["arrays"] == [{"file": "arrays/0.npy", "dtype": "float32", "shape": [2]}]
    assert manifest["root"]["$"] == "dict"
    np.testing.assert_array_equal(array, np.zeros(2, np.float32))


# --- hostile and damaged files ------------------------------------------------------------
def _checkpoint_bytes():
    buf = io.BytesIO()
    kindling.save({"w": kindling.randn(50, 20), "b": kindling.zeros(20), "step": 3}, buf)
    return buf.getvalue()


def _craft(manifest, entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("kindling_checkpoint.json", json.dumps(manifest))
        for name, data in entries.items():
            zf.writestr(name, data)
    buf.seek(0)
    return buf


def _npy(array, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def test_truncated_file_gives_a_clear_error():
    data = _checkpoint_bytes()
    for cut in [0, 1, 3, 10, 100, len(data) // 2, len(data) - 200, len(data) - 22,
                len(data) - 1]:
        with pytest.raises(CheckpointError, match=r"kindling\.load: .*(truncated|empty|not a "
                                                  r"kindling checkpoint)"):
            kindling.load(io.BytesIO(data[:cut]))


def test_corrupted_bytes_give_a_clear_error():
    data = bytearray(_checkpoint_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the float data of the first array: CRC mismatch
    with pytest.raises(CheckpointError, match="corrupted"):
        kindling.load(io.BytesIO(bytes(data)))


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="is not a kindling checkpoint"):
        kindling.load(io.BytesIO(b"hello world"))
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("readme.txt", "hi")
    other_zip.seek(0)
    with pytest.raises(CheckpointError, match="without kindling_checkpoint.json"):
        kindling.load(other_zip)
    with pytest.raises(CheckpointError, match="is empty"):
        kindling.load(io.BytesIO(b""))


def _spec(dtype="float32", shape=(2,), file="arrays/0.npy"):
    return {"file": file, "dtype": dtype, "shape": list(shape)}


def _tensor_node(ref=0):
    return {"$": "tensor", "ref": ref, "requires_grad": False, "parameter": False}


def _manifest(root, arrays=(), version=1):
    return {"format": "kindling-checkpoint", "version": version, "arrays": list(arrays),
            "root": root}


def test_crafted_object_dtype_npy_is_refused():
    payload = _npy(np.array([1, "x", None], dtype=object), allow_pickle=True)
    f = _craft(_manifest(_tensor_node(), [_spec("float32", (3,))]), {"arrays/0.npy": payload})
    with pytest.raises(CheckpointError, match="holds Python objects|object"):
        kindling.load(f)
    f = _craft(_manifest(_tensor_node(), [_spec("object", (3,))]), {"arrays/0.npy": payload})
    with pytest.raises(CheckpointError, match="malformed manifest"):
        kindling.load(f)


def test_crafted_manifests_are_refused():
    good = _npy(np.zeros(2, np.float32))
    cases = {
        "missing entry": (_manifest(_tensor_node(), [_spec(file="arrays/9.npy")]),
                          {"arrays/0.npy": good}, "does not contain"),
        "bad ref": (_manifest(_tensor_node(5), [_spec()]), {"arrays/0.npy": good},
                    "reference to array 5"),
        "unknown tag": (_manifest({"$": "eval", "code": "1"}), {}, "unknown tag"),
        "shape mismatch": (_manifest(_tensor_node(), [_spec(shape=(3,))]),
                           {"arrays/0.npy": good}, "has shape"),
        "dtype mismatch": (_manifest(_tensor_node(), [_spec("int64")]),
                           {"arrays/0.npy": good}, "manifest says int64"),
        "newer version": (_manifest(None, version=99), {}, "version 99"),
        "bad format": ({"format": "other", "version": 1, "arrays": [], "root": None}, {},
                       "not a kindling checkpoint"),
        "huge shape": (_manifest(_tensor_node(), [_spec(shape=(10 ** 9, 10 ** 9))]),
                       {"arrays/0.npy": _npy(np.zeros((0, 0), np.float32))}, "has shape"),
        "extra entry": (_manifest(None), {"evil.py": b"import os"}, "unexpected entries"),
        "int tensor requires grad": (
            _manifest({"$": "tensor", "ref": 0, "requires_grad": True, "parameter": False},
                      [_spec("int64")]), {"arrays/0.npy": _npy(np.zeros(2, np.int64))},
            "cannot require grad"),
        "unhashable key": (_manifest({"$": "dict", "keys": [[1]], "values": [1]}), {},
                           "a key of type list"),
        "ragged dict": (_manifest({"$": "dict", "keys": [1, 2], "values": [1]}), {},
                        "equal length"),
        "extra field": (_manifest({"$": "tuple", "items": [], "x": 1}), {}, "exactly the fields"),
    }
    for name, (manifest, entries, message) in cases.items():
        with pytest.raises(CheckpointError, match=message):
            kindling.load(_craft(manifest, entries))


def test_truncated_npy_inside_valid_zip():
    data = _npy(np.zeros(100, np.float64))
    f = _craft(_manifest(_tensor_node(), [_spec("float64", (100,))]),
               {"arrays/0.npy": data[:-8]})
    with pytest.raises(CheckpointError, match="truncated"):
        kindling.load(f)
    f = _craft(_manifest(_tensor_node(), [_spec("float64", (100,))]),
               {"arrays/0.npy": data + b"xx"})
    with pytest.raises(CheckpointError, match="trailing data"):
        kindling.load(f)


def test_compressed_entries_are_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("kindling_checkpoint.json", json.dumps(_manifest(None)))
    buf.seek(0)
    with pytest.raises(CheckpointError, match="compressed"):
        kindling.load(buf)


class _Marker:
    path = None

    def __reduce__(self):
        # Unpickling this would create the marker file.
        return (open, (self.path, "w"))


def test_pickle_files_are_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    evil = _Marker()
    evil.path = str(marker)
    payload = pickle.dumps(evil, protocol=2)
    f = tmp_path / "evil.pt"
    f.write_bytes(payload)
    with pytest.raises(CheckpointError, match="pickle.*safetensors"):
        kindling.load(f)
    # the same payload hidden in a kindling-looking archive, as data.pkl and as an array
    with pytest.raises(CheckpointError, match="PyTorch checkpoint.*safetensors"):
        kindling.load(_craft(_manifest(None), {"archive/data.pkl": payload}))
    with pytest.raises(CheckpointError):
        kindling.load(_craft(_manifest(_tensor_node(), [_spec()]), {"arrays/0.npy": payload}))
    assert not marker.exists()


def test_torch_save_file_is_refused_with_safetensors_hint(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="PyTorch checkpoint.*safetensors"):
        kindling.load(path)
    torch.save({"w": torch.zeros(2)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="pickle.*safetensors"):
        kindling.load(path)


# --- atomic writes ------------------------------------------------------------------------
def test_failed_save_leaves_old_file_intact_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.kt"
    old = {"w": kindling.ones(3)}
    kindling.save(old, path)
    before = path.read_bytes()
    real = serialization._write_array
    calls = []

    def failing(zf, name, array):
        calls.append(name)
        if len(calls) == 2:
            real(zf, name, array[: len(array) // 2])  # a partial write, then the failure
            raise KeyboardInterrupt("interrupted mid-save")
        real(zf, name, array)

    monkeypatch.setattr(serialization, "_write_array", failing)
    with pytest.raises(KeyboardInterrupt):
        kindling.save({"a": kindling.randn(100), "b": kindling.randn(100),
                       "c": kindling.randn(100)}, path)
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.kt"]
    assert_equal(kindling.load(path), old)
    # an unsupported object fails before anything is written
    with pytest.raises(TypeError):
        kindling.save({"x": object()}, tmp_path / "new.kt")
    assert sorted(os.listdir(tmp_path)) == ["ckpt.kt"]


def test_save_replaces_existing_file_and_keeps_its_mode(tmp_path):
    path = tmp_path / "ckpt.kt"
    kindling.save(1, path)
    os.chmod(path, 0o640)
    kindling.save(2, path)
    assert kindling.load(path) == 2
    assert os.stat(path).st_mode & 0o777 == 0o640


# --- safetensors --------------------------------------------------------------------------
def test_safetensors_from_torch_and_back(tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    sd = {"fc.weight": torch.randn(4, 3), "fc.bias": torch.randn(4).double(),
          "emb": torch.randn(5, 2).half(), "steps": torch.arange(3),
          "mask": torch.tensor([True, False]), "small": torch.tensor([1, 2], dtype=torch.int8),
          "scalar": torch.tensor(2.5)}
    path = tmp_path / "torch.safetensors"
    safetensors_torch.save_file(sd, str(path))
    loaded = serialization.load_safetensors(path)
    assert sorted(loaded) == sorted(sd)
    for k, t in sd.items():
        assert isinstance(loaded[k], kindling.Tensor)
        assert str(loaded[k].dtype) == str(t.dtype)
        np.testing.assert_array_equal(loaded[k].numpy(), t.numpy())
    back = tmp_path / "kindling.safetensors"
    serialization.save_safetensors(loaded, back, metadata={"framework": "kindling"})
    again = safetensors_torch.load_file(str(back))
    for k, t in sd.items():
        assert again[k].dtype == t.dtype
        assert torch.equal(again[k], t)
    from safetensors import safe_open
    with safe_open(str(back), framework="np") as f:
        assert f.metadata() == {"framework": "kindling"}


def test_safetensors_unsupported_dtype_and_bad_input(tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "bf16.safetensors"
    safetensors_torch.save_file({"w": torch.zeros(2, dtype=torch.bfloat16)}, str(path))
    with pytest.raises(TypeError, match="BF16"):
        serialization.load_safetensors(path)
    with pytest.raises(TypeError, match="not a Tensor"):
        serialization.save_safetensors({"w": np.zeros(2)}, tmp_path / "x.safetensors")


def test_safetensors_missing_package_message(monkeypatch, tmp_path):
    import sys
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r"pip install kindling\[safetensors\]"):
        serialization.save_safetensors({}, tmp_path / "x.safetensors")
    with pytest.raises(ImportError, match=r"pip install kindling\[safetensors\]"):
        serialization.load_safetensors(tmp_path / "x.safetensors")


# --- properties -----------------------------------------------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

_keys = st.one_of(st.text(max_size=5), st.integers(-5, 5), st.none(), st.booleans())
_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.text(max_size=8),
    st.floats(allow_nan=False, width=64),
    st.builds(lambda shape, d: kindling.from_numpy(np.asarray(np.ones(shape, dtype=d))),
              st.lists(st.integers(0, 3), max_size=3).map(tuple),
              st.sampled_from(["float32", "int64", "bool", "float16"])))
_objects = st.recursive(_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
    st.dictionaries(_keys, inner, max_size=4),
    st.dictionaries(_keys, inner, max_size=4).map(collections.OrderedDict)), max_leaves=12)


@settings(max_examples=40, deadline=None)
@given(_objects)
def test_roundtrip_property(obj):
    assert_equal(roundtrip(obj), obj)


def test_nesting_depth_limits():
    obj = 1
    for _ in range(150):
        obj = [obj]
    assert_equal(roundtrip(obj), obj)
    for _ in range(100):
        obj = (obj,)
    with pytest.raises(ValueError, match="nested more than"):
        roundtrip(obj)
    deep = {"$": "tuple", "items": []}
    for _ in range(300):
        deep = {"$": "tuple", "items": [deep]}
    with pytest.raises(CheckpointError, match="nested"):
        kindling.load(_craft(_manifest(deep), {}))


def test_load_from_non_seekable_stream():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, b):
            chunk = self.inner.read(len(b))
            b[:len(chunk)] = chunk
            return len(chunk)

    obj = {"w": kindling.randn(3, 3)}
    buf = io.BytesIO()
    kindling.save(obj, buf)
    assert_equal(kindling.load(Pipe(buf.getvalue())), obj)


def test_duplicate_array_entries_are_refused():
    good = _npy(np.zeros(2, np.float32))
    f = _craft(_manifest([_tensor_node(0), _tensor_node(1)], [_spec(), _spec()]),
               {"arrays/0.npy": good})
    with pytest.raises(CheckpointError, match="same entry"):
        kindling.load(f)


def test_save_into_missing_directory(tmp_path):
    with pytest.raises(RuntimeError, match="Parent directory .* does not exist"):
        kindling.save(1, tmp_path / "nope" / "x.kt")


def test_saving_a_module_points_to_state_dict():
    nn = pytest.importorskip("kindling.nn")
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        roundtrip(nn.Linear(2, 2))


def test_model_and_optimizer_checkpoint_resume():
    nn = pytest.importorskip("kindling.nn")
    optim = pytest.importorskip("kindling.optim")
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(kindling.randn(4, 3)).sum().backward()
    opt.step()
    out = roundtrip({"model": model.state_dict(), "opt": opt.state_dict()})
    model2 = nn.Linear(3, 2)
    model2.load_state_dict(out["model"])
    opt2 = optim.Adam(model2.parameters(), lr=0.5)
    opt2.load_state_dict(out["opt"])
    assert opt2.param_groups[0]["lr"] == 0.01
    assert opt2.param_groups[0]["betas"] == (0.9, 0.999)
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_random_damage_only_ever_raises_checkpoint_error():
    import random
    data = _checkpoint_bytes()
    original = kindling.load(io.BytesIO(data))
    rng = random.Random(0)
    for _ in range(300):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:
            damaged = damaged[:rng.randrange(len(damaged))]
        try:
            out = kindling.load(io.BytesIO(bytes(damaged)))
        except CheckpointError:
            continue
        assert_equal(out, original)  # damage in unchecked bytes (timestamps) changes nothing
