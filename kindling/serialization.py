"""`kindling.save` / `kindling.load`: checkpoints that never execute code when loaded.

PyTorch's `torch.save` pickles, and unpickling a file can run any code its author chose. A
kindling checkpoint is data only: a JSON manifest describing the structure and raw NumPy arrays,
read with `allow_pickle=False`. Loading validates everything and raises `CheckpointError` (a
`RuntimeError` and a `ValueError`) naming what is wrong; nothing in the file is ever executed.

Format, version 1
-----------------
A ZIP archive whose entries are all *stored* (uncompressed):

    kindling_checkpoint.json    the manifest, UTF-8 JSON
    arrays/0.npy, arrays/1.npy  one NumPy .npy file (format 1.0 or 2.0) per distinct tensor

The manifest is::

    {"format": "kindling-checkpoint", "version": 1,
     "arrays": [{"file": "arrays/0.npy", "dtype": "float32", "shape": [3, 4]}, ...],
     "root": NODE}

and a NODE is one of

    null / true / false / number / "string"        None, bool, int, float, str (JSON ints are
                                                   ints, JSON floats are floats; NaN and
                                                   Infinity are written as bare tokens)
    [NODE, ...]                                    list
    {"$": "tuple", "items": [NODE, ...]}           tuple (namedtuples are saved as tuples)
    {"$": "size", "items": [int, ...]}             kindling.Size
    {"$": "dict", "keys": [NODE...], "values": [NODE...]}
                                                   dict; keys are None/bool/int/float/str or
                                                   tuples of those (so optimizer state dicts
                                                   keep their int keys)
    {"$": "odict", "keys": [...], "values": [...]} collections.OrderedDict
    {"$": "tensor", "ref": i, "requires_grad": b, "parameter": b}
                                                   a Tensor whose values are arrays[i];
                                                   "parameter" makes it a kindling.nn.Parameter
    {"$": "ndarray", "ref": i}                     a NumPy array
    {"$": "scalar", "dtype": "float32", "value": number}   a NumPy scalar
    {"$": "dtype", "name": "float32"}              a kindling dtype

A tensor object that appears several times is stored once and loads as one object, so
identity is preserved. Distinct tensors that share memory (views of each other) are stored
separately: their values round-trip, their sharing does not. Only the values, dtype,
requires_grad and Parameter-ness of a tensor are saved (not `.grad`, hooks or the graph; a
non-leaf tensor loads as a leaf).

Saving to a path is atomic: the archive is written to a temporary file in the same directory,
flushed and fsync'ed, then renamed over the target (and the directory fsync'ed). If anything
fails midway, the previous file is untouched and the temporary file is removed. Saving to a
file object writes into it directly.

safetensors
-----------
`save_safetensors(tensors, path, metadata=None)` and `load_safetensors(path)` read and write
the `.safetensors` format (a flat dict of named tensors, also data-only), the way to move
weights between PyTorch and kindling. They need the optional package:
`pip install kindling[safetensors]`.
"""
import collections
import io
import json
import os
import struct
import tempfile
import zipfile

import numpy as np

from .engine import dtypes
from .engine.tensor import Tensor, Size, _make

FORMAT = "kindling-checkpoint"
VERSION = 1
MANIFEST = "kindling_checkpoint.json"
MAX_MANIFEST_BYTES = 256 << 20   # a manifest this big would describe millions of tensors
MAX_NPY_HEADER = 10000           # NumPy's own default limit
MAX_DEPTH = 200                  # nesting depth of saved containers

_ARRAY_DTYPES = {d.name: d.np for d in dtypes.ALL}
# What the ZIP and .npy readers raise on damaged input.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                TypeError, NotImplementedError, struct.error, OverflowError)


class CheckpointError(RuntimeError, ValueError):
    """A file that `kindling.load` refuses: not a checkpoint, truncated, corrupted or crafted."""


# --- save -------------------------------------------------------------------------------------
class _Encoder:
    """Python object -> JSON-able node, collecting the arrays to store."""

    def __init__(self):
        self.arrays = []      # ndarrays to write, in ref order
        self.refs = {}        # id(object) -> ref, so a tensor saved twice is stored once
        self.keep = []        # keep encoded objects alive so their ids stay unique
        self.active = set()   # containers being encoded: detects self-reference
        self.parameter = _parameter_class()

    def ref(self, obj, array):
        key = id(obj)
        if key not in self.refs:
            self.refs[key] = len(self.arrays)
            self.arrays.append(array)
            self.keep.append(obj)
        return self.refs[key]

    def encode(self, obj, depth=0):
        if depth > MAX_DEPTH:
            raise ValueError(f"kindling.save: the object is nested more than {MAX_DEPTH} levels "
                             f"deep")
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, np.generic):
            return self.scalar(obj)
        if isinstance(obj, (int, float)):
            return int(obj) if isinstance(obj, int) else float(obj)
        if isinstance(obj, Tensor):
            param = self.parameter is not None and isinstance(obj, self.parameter)
            return {"$": "tensor", "ref": self.ref(obj, obj._array),
                    "requires_grad": bool(obj._requires_grad), "parameter": param}
        if isinstance(obj, np.ndarray):
            _check_array_dtype(obj.dtype)
            return {"$": "ndarray", "ref": self.ref(obj, obj)}
        if isinstance(obj, dtypes.dtype):
            return {"$": "dtype", "name": obj.name}
        if isinstance(obj, (list, tuple, dict)):
            if id(obj) in self.active:
                raise ValueError("kindling.save: the object contains itself (a reference "
                                 "cycle), which a checkpoint cannot represent")
            self.active.add(id(obj))
            try:
                return self.container(obj, depth + 1)
            finally:
                self.active.discard(id(obj))
        hint = (" (checkpoints hold data, not code: save its .state_dict() and load it back "
                "with .load_state_dict())" if hasattr(obj, "state_dict") else "")
        raise TypeError(f"kindling.save: cannot save an object of type {type(obj).__name__}"
                        f"{hint}; supported: Tensor, dict, OrderedDict, list, tuple, str, int, "
                        f"float, bool, None, NumPy arrays and scalars, dtypes")

    def scalar(self, obj):
        _check_array_dtype(obj.dtype)
        value = obj.item()
        return {"$": "scalar", "dtype": obj.dtype.name, "value": value}

    def container(self, obj, depth):
        if isinstance(obj, list):
            return [self.encode(x, depth) for x in obj]
        if isinstance(obj, Size):
            return {"$": "size", "items": [int(x) for x in obj]}
        if isinstance(obj, tuple):
            return {"$": "tuple", "items": [self.encode(x, depth) for x in obj]}
        keys = []
        for k in obj:
            _check_key(k)
            keys.append(self.encode(k, depth))
        return {"$": "odict" if isinstance(obj, collections.OrderedDict) else "dict",
                "keys": keys, "values": [self.encode(v, depth) for v in obj.values()]}


def _check_key(key):
    if isinstance(key, tuple):
        for k in key:
            _check_key(k)
    elif not (key is None or isinstance(key, (bool, int, float, str))) \
            or isinstance(key, np.generic):
        raise TypeError(f"kindling.save: dict keys must be str, int, float, bool, None or tuples "
                        f"of those; got a key of type {type(key).__name__}")


def _check_array_dtype(d):
    if d.name not in _ARRAY_DTYPES or np.dtype(d) != _ARRAY_DTYPES[d.name]:
        raise TypeError(f"kindling.save: cannot save NumPy data of dtype {d}; supported: "
                        f"{', '.join(_ARRAY_DTYPES)}")


def _parameter_class():
    try:
        from .nn.parameter import Parameter
    except ImportError:
        return None
    return Parameter


def _c_order(array):
    """C-contiguous, keeping 0-d arrays 0-d (np.ascontiguousarray makes them 1-d)."""
    return array if array.flags.c_contiguous else array.copy(order="C")


def _write_array(zf, name, array):
    """Write one array as a .npy entry (never pickled)."""
    array = _c_order(array)
    with zf.open(name, "w", force_zip64=array.nbytes > (1 << 30)) as entry:
        np.lib.format.write_array(entry, array, allow_pickle=False)


def _write_checkpoint(fileobj, manifest, arrays):
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(MANIFEST, manifest)
        for i, array in enumerate(arrays):
            _write_array(zf, f"arrays/{i}.npy", array)


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Save `obj` (tensors, dicts, lists, tuples, numbers, strings, None, nested: model, optimizer
    and scheduler state dicts) to `f`, a path or a writable binary file object.

    The pickle arguments are accepted for PyTorch compatibility and ignored: nothing is pickled.
    See the module docstring for the format. Saving to a path is atomic.
    """
    enc = _Encoder()
    root = enc.encode(obj)
    manifest = json.dumps({
        "format": FORMAT, "version": VERSION,
        "arrays": [{"file": f"arrays/{i}.npy", "dtype": a.dtype.name, "shape": list(a.shape)}
                   for i, a in enumerate(enc.arrays)],
        "root": root}).encode()
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), lambda out: _write_checkpoint(out, manifest, enc.arrays))
    else:
        _write_checkpoint(f, manifest, enc.arrays)


def _atomic_write(path, write):
    """Run `write(fileobj)` into a temporary file next to `path`, then rename it over `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")  # PyTorch's message
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # platforms that can't open directories (Windows) don't need this
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _new_file_mode(path):
    """The mode `open(path, 'wb')` would give: the old file's, or 0o666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        mask = os.umask(0)  # reading the umask means setting it; restored at once
        os.umask(mask)
        return 0o666 & ~mask


# --- load -------------------------------------------------------------------------------------
_PYTORCH_HINT = ("kindling never unpickles files, because unpickling can execute arbitrary "
                 "code. Convert the weights once, in PyTorch: "
                 "`from safetensors.torch import save_file; "
                 "save_file(torch.load(path, weights_only=True), 'model.safetensors')`, then "
                 "load them with `kindling.serialization.load_safetensors('model.safetensors')`")


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Load what `kindling.save` wrote, from a path or a readable binary file object.

    The file is only ever parsed as data, whatever `weights_only` says (it is accepted for
    PyTorch compatibility): a file that is not a valid kindling checkpoint raises
    `CheckpointError`, and PyTorch's pickle files are refused with a pointer to safetensors.
    `map_location` may be None, 'cpu', a device, or a dict/callable (PyTorch's forms); tensors
    always load on the CPU. `mmap` is accepted and ignored (arrays are read into memory).
    """
    _check_map_location(map_location)
    if pickle_module is not None:
        raise TypeError("kindling.load: pickle_module is not supported; kindling never unpickles")
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        with open(name, "rb") as fileobj:
            return _load(fileobj, repr(name))
    name = repr(f.name) if isinstance(getattr(f, "name", None), str) else "the file object"
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())
    return _load(f, name)


def _check_map_location(map_location):
    from .engine.device import check_device, device
    if map_location is None or callable(map_location) and not isinstance(map_location, device):
        return
    if isinstance(map_location, dict):
        for v in map_location.values():
            check_device(v)
        return
    check_device(map_location)


def _fail(name, message):
    error = CheckpointError(f"kindling.load: {name} {message}")
    error.__suppress_context__ = True  # the message already says what the parser found
    raise error


def _load(fileobj, name):
    start = fileobj.tell()
    head = fileobj.read(4)
    fileobj.seek(0, os.SEEK_END)
    size = fileobj.tell() - start
    fileobj.seek(start)
    if not head:
        _fail(name, "is empty: not a kindling checkpoint")
    if head[:1] == b"\x80":
        _fail(name, f"is a pickle file (a legacy PyTorch torch.save checkpoint?), not a kindling "
                    f"checkpoint. {_PYTORCH_HINT}")
    if head != b"PK\x03\x04":
        _fail(name, f"is not a kindling checkpoint (it starts with {head!r}, not a ZIP header)")
    try:
        zf = zipfile.ZipFile(fileobj, "r")
    except _READ_ERRORS as e:
        _fail(name, f"is truncated or corrupted: it is not a readable ZIP archive ({e})")
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
            _fail(name, f"is a PyTorch checkpoint (torch.save, which pickles), not a kindling "
                        f"checkpoint. {_PYTORCH_HINT}")
        if MANIFEST not in names:
            _fail(name, f"is not a kindling checkpoint (a ZIP archive without {MANIFEST})")
        if len(set(names)) != len(names):
            _fail(name, "is corrupted or crafted: it has duplicate entries")
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED:
                _fail(name, f"is not a kindling checkpoint: entry {info.filename!r} is "
                            f"compressed (kindling writes stored entries only)")
            if info.flag_bits & 0x1:
                _fail(name, f"is not a kindling checkpoint: entry {info.filename!r} is "
                            f"encrypted")
            if info.header_offset + info.compress_size > size or info.file_size > size:
                _fail(name, f"is truncated or corrupted: entry {info.filename!r} claims "
                            f"{info.file_size} bytes, beyond the end of the "
                            f"{size}-byte file")
        info = zf.getinfo(MANIFEST)
        if info.file_size > MAX_MANIFEST_BYTES:
            _fail(name, f"has a {info.file_size}-byte manifest, over the "
                        f"{MAX_MANIFEST_BYTES}-byte limit")
        try:
            manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            _fail(name, f"has a manifest that is not valid JSON ({e})")
        except _READ_ERRORS as e:
            _fail(name, f"is truncated or corrupted ({e})")
        except RecursionError:
            _fail(name, "has a manifest nested too deeply")
        decoder = _Decoder(zf, name, manifest, names)
        return decoder.decode(manifest["root"], 0)


class _Decoder:
    """JSON node -> Python object, validating every node and reading arrays on first use."""

    def __init__(self, zf, name, manifest, names):
        self.zf, self.name = zf, name
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            self.fail("is not a kindling checkpoint (its manifest has no "
                      f"\"format\": \"{FORMAT}\")")
        version = manifest.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.fail(f"has an invalid format version {version!r}")
        if version > VERSION:
            self.fail(f"was written in checkpoint format version {version}; this kindling reads "
                      f"versions up to {VERSION} (upgrade kindling)")
        if set(manifest) != {"format", "version", "arrays", "root"}:
            self.fail(f"has a malformed manifest (keys {sorted(manifest)})")
        specs = manifest["arrays"]
        if not isinstance(specs, list):
            self.fail("has a malformed manifest (\"arrays\" is not a list)")
        for i, spec in enumerate(specs):
            ok = (isinstance(spec, dict) and set(spec) == {"file", "dtype", "shape"}
                  and isinstance(spec["file"], str) and spec["dtype"] in _ARRAY_DTYPES
                  and isinstance(spec["shape"], list)
                  and all(type(s) is int and s >= 0 for s in spec["shape"]))
            if not ok:
                self.fail(f"has a malformed manifest: array {i} is described as {spec!r} "
                          f"(expected file, a dtype among {', '.join(_ARRAY_DTYPES)}, and a "
                          f"shape of non-negative ints)")
            if spec["file"] not in names or spec["file"] == MANIFEST:
                self.fail(f"is truncated or crafted: array {i} refers to the entry "
                          f"{spec['file']!r}, which the archive does not contain")
        files = [s["file"] for s in specs]
        if len(set(files)) != len(files):
            self.fail("is crafted: several arrays refer to the same entry")
        expected = {MANIFEST} | set(files)
        extra = [n for n in names if n not in expected]
        if extra:
            self.fail(f"is not a kindling checkpoint: unexpected entries {extra[:5]}")
        self.specs = specs
        self.arrays = {}
        self.objects = {}
        self.parameter = None

    def fail(self, message):
        _fail(self.name, message)

    def bad(self, node, why):
        text = json.dumps(node)
        self.fail(f"has a malformed manifest: {why} in {text[:200]}")

    def decode(self, node, depth):
        if depth > MAX_DEPTH:
            self.fail(f"has a structure nested more than {MAX_DEPTH} levels deep")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(x, depth + 1) for x in node]
        if not isinstance(node, dict):
            self.bad(node, "an unexpected value")
        tag = node.get("$")
        method = getattr(self, f"decode_{tag}", None) if isinstance(tag, str) else None
        if method is None:
            self.bad(node, f"an unknown tag {tag!r}")
        return method(node, depth + 1)

    def fields(self, node, *keys):
        if set(node) != {"$", *keys}:
            self.bad(node, f"a {node['$']!r} node needs exactly the fields {list(keys)}")
        return [node[k] for k in keys]

    def items(self, node, depth):
        (items,) = self.fields(node, "items")
        if not isinstance(items, list):
            self.bad(node, "\"items\" is not a list")
        return [self.decode(x, depth) for x in items]

    def decode_tuple(self, node, depth):
        return tuple(self.items(node, depth))

    def decode_size(self, node, depth):
        items = self.items(node, depth)
        if not all(type(x) is int and x >= 0 for x in items):
            self.bad(node, "a size needs non-negative ints")
        return Size(items)

    def decode_dict(self, node, depth, kind=dict):
        keys, values = self.fields(node, "keys", "values")
        if not isinstance(keys, list) or not isinstance(values, list) \
                or len(keys) != len(values):
            self.bad(node, "\"keys\" and \"values\" must be lists of equal length")
        out = kind()
        for k, v in zip(keys, values):
            key = self.decode(k, depth)
            try:
                _check_key(key)
            except TypeError:
                self.bad(node, f"a key of type {type(key).__name__}")
            out[key] = self.decode(v, depth)
        return out

    def decode_odict(self, node, depth):
        return self.decode_dict(node, depth, collections.OrderedDict)

    def decode_dtype(self, node, depth):
        (dname,) = self.fields(node, "name")
        if not isinstance(dname, str) or dname not in dtypes._BY_NAME:
            self.bad(node, "an unknown dtype")
        return dtypes._BY_NAME[dname]

    def decode_scalar(self, node, depth):
        dname, value = self.fields(node, "dtype", "value")
        if dname not in _ARRAY_DTYPES or isinstance(value, (list, dict, str)) or value is None:
            self.bad(node, "a NumPy scalar needs a supported dtype and a number")
        try:
            return _ARRAY_DTYPES[dname].type(value)
        except (OverflowError, ValueError, TypeError):
            self.bad(node, f"the value does not fit {dname}")

    def decode_ndarray(self, node, depth):
        (ref,) = self.fields(node, "ref")
        key = ("ndarray", self.check_ref(node, ref))
        if key not in self.objects:
            self.objects[key] = self.array(ref)
        return self.objects[key]

    def decode_tensor(self, node, depth):
        ref, requires_grad, parameter = self.fields(node, "ref", "requires_grad", "parameter")
        if not isinstance(requires_grad, bool) or not isinstance(parameter, bool):
            self.bad(node, "\"requires_grad\" and \"parameter\" must be true or false")
        key = ("tensor", self.check_ref(node, ref))
        if key in self.objects:
            return self.objects[key]
        array = self.array(ref)
        if requires_grad and array.dtype.kind != "f":
            self.bad(node, f"a {array.dtype.name} tensor cannot require grad")
        t = _make(array)
        t._requires_grad = requires_grad
        if parameter:
            cls = _parameter_class()
            if cls is not None:
                t = cls(t, requires_grad=requires_grad)
        self.objects[key] = t
        return t

    def check_ref(self, node, ref):
        if type(ref) is not int or not 0 <= ref < len(self.specs):
            self.bad(node, f"a reference to array {ref!r}, but there are {len(self.specs)}")
        return ref

    def array(self, ref):
        spec = self.specs[ref]
        entry = spec["file"]
        try:
            with self.zf.open(entry) as f:
                return _read_npy(f, spec, self.zf.getinfo(entry).file_size)
        except CheckpointError as e:
            self.fail(f"has an invalid array entry {entry!r}: {e}")
        except _READ_ERRORS as e:
            self.fail(f"is truncated or corrupted: entry {entry!r} cannot be read ({e})")


def _read_npy(f, spec, entry_size):
    """Read a .npy stream as the dtype and shape the manifest promises, without ever allowing
    pickled objects, and only after checking the data fits in the entry."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(
            f, max_header_size=MAX_NPY_HEADER)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(
            f, max_header_size=MAX_NPY_HEADER)
    else:
        raise CheckpointError(f"unsupported .npy format version {version}")
    expected = _ARRAY_DTYPES[spec["dtype"]]
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise CheckpointError(f"its dtype {dtype} holds Python objects or records; only plain "
                              f"numeric arrays are allowed")
    if dtype.newbyteorder("=") != expected.newbyteorder("="):
        raise CheckpointError(f"it holds {dtype}, but the manifest says {spec['dtype']}")
    if list(shape) != spec["shape"]:
        raise CheckpointError(f"it has shape {list(shape)}, but the manifest says "
                              f"{spec['shape']}")
    count = 1
    for s in shape:
        count *= s
    nbytes = count * dtype.itemsize
    if nbytes > entry_size:
        raise CheckpointError(f"its header promises {nbytes} bytes of data but the entry has "
                              f"only {entry_size} bytes (truncated)")
    flat = np.empty(count, dtype=dtype)
    view = memoryview(flat.view(np.uint8))
    filled = 0
    while filled < nbytes:
        n = f.readinto(view[filled:])
        if not n:
            raise CheckpointError(f"its data ends after {filled} of {nbytes} bytes "
                                  f"(truncated)")
        filled += n
    if f.read(1):  # also makes the ZIP reader check the entry's CRC
        raise CheckpointError("it has trailing data after the array")
    if fortran:
        array = flat.reshape(shape[::-1]).transpose()
    else:
        array = flat.reshape(shape)
    return _c_order(array.astype(expected, copy=False))


# --- safetensors ------------------------------------------------------------------------------
_SAFETENSORS_DTYPES = {"F16": "float16", "F32": "float32", "F64": "float64", "U8": "uint8",
                       "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64",
                       "BOOL": "bool"}


def _safetensors(fn):
    try:
        import safetensors.numpy
        from safetensors import safe_open
    except ImportError:
        raise ImportError(f"kindling.serialization.{fn} needs the optional 'safetensors' "
                          f"package: pip install kindling[safetensors]  (or: pip install "
                          f"safetensors)") from None
    return safetensors.numpy, safe_open


def save_safetensors(tensors, filename, metadata=None):
    """Save a flat dict `{name: Tensor}` to a `.safetensors` file (atomically), readable by
    `safetensors.torch.load_file`. `metadata` is an optional dict of str -> str."""
    st_numpy, _ = _safetensors("save_safetensors")
    if not isinstance(tensors, dict):
        raise TypeError(f"save_safetensors: expected a dict of name -> Tensor, got "
                        f"{type(tensors).__name__}")
    arrays = {}
    for k, v in tensors.items():
        if not isinstance(k, str):
            raise TypeError(f"save_safetensors: keys must be str, got {k!r}")
        if not isinstance(v, Tensor):
            raise TypeError(f"save_safetensors: {k!r} is a {type(v).__name__}, not a Tensor")
        arrays[k] = _c_order(v._array)
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str)
                                        for k, v in metadata.items()):
        raise TypeError("save_safetensors: metadata must be a dict of str -> str")
    blob = st_numpy.save(arrays, metadata=metadata)
    _atomic_write(os.fspath(filename), lambda out: out.write(blob))


def load_safetensors(filename, device="cpu"):
    """Load a `.safetensors` file (for example one written by `safetensors.torch.save_file`)
    as a dict `{name: Tensor}`. Tensors of dtypes kindling lacks (bfloat16, float8, complex)
    raise a TypeError naming them."""
    from .engine.device import check_device
    check_device(device)
    _, safe_open = _safetensors("load_safetensors")
    out = {}
    with safe_open(os.fspath(filename), framework="np") as f:
        for k in f.keys():
            st_dtype = f.get_slice(k).get_dtype()
            if st_dtype not in _SAFETENSORS_DTYPES:
                raise TypeError(f"load_safetensors: tensor {k!r} has dtype {st_dtype}, which "
                                f"kindling does not support (supported: "
                                f"{', '.join(_SAFETENSORS_DTYPES.values())}); convert it in "
                                f"PyTorch first, e.g. with .float()")
            array = f.get_tensor(k)
            if not array.flags.writeable:
                array = array.copy()
            out[k] = _make(array)
    return out
