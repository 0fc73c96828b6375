"""`import kindling` stays light (issue #7): what kindling/__init__.py and kindling/ops/__init__.py
load on first use must not be imported up front, and must still resolve. Checked through
sys.modules in a fresh interpreter, never by timing."""
import importlib
import json
import subprocess
import sys

import pytest

import kindling
from kindling import ops

# Modules `import kindling` must not load: kindling's lazy sub-packages and op families, and the
# slow imports they (or the default RNG, or set_num_threads) would bring with them.
LAZY = ([f"kindling.{m}" for m in kindling._LAZY_MODULES]
        + [f"kindling.ops.{f}" for f in ops.LAZY_FAMILIES]
        + ["kindling.ops.recurrent", "kindling.ops.attention", "kindling.ops.loss",
           "numpy.random", "zipfile", "multiprocessing", "threadpoolctl"])


def _fresh(code):
    """Run code in a new interpreter; it prints a JSON value, returned here."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_import_kindling_loads_no_lazy_module():
    loaded = _fresh("import json, sys, kindling; print(json.dumps(sorted(sys.modules)))")
    assert sorted(set(LAZY) & set(loaded)) == []


# Run fresh, so each lazy name goes through kindling.__getattr__ rather than a module that an
# earlier test imported; the last lines do the same through the torch alias.
RESOLVE = """
import json, kindling
assert kindling.nn.Linear.__module__ == "kindling.nn.modules.linear"
from kindling import optim, nn
import kindling.utils.data as data
assert nn is kindling.nn and optim.SGD and data.DataLoader
assert kindling.cuda.is_available() is False
assert kindling.save.__module__ == kindling.load.__module__ == "kindling.serialization"
for name in ("conv2d", "max_pool2d", "layer_norm", "pixel_shuffle"):
    assert getattr(kindling, name) is getattr(kindling.nn.functional, name)
assert {"nn", "optim", "save", "load", "cuda", "testing", "conv2d", "models"} <= set(dir(kindling))
from kindling import compat
torch = compat.install()
assert torch.nn is nn and torch.save is kindling.save and torch.conv2d is kindling.conv2d
assert torch.testing is kindling.testing and not torch.cuda.is_available()
print(json.dumps("ok"))
"""


def test_lazy_attributes_resolve():
    assert _fresh(RESOLVE) == "ok"


def test_unknown_attribute_still_raises():
    with pytest.raises(AttributeError, match="not_a_kindling_name"):
        kindling.not_a_kindling_name


def test_lazy_op_families_have_no_tensor_methods():
    # kindling binds METHODS only from ops.FAMILIES; a lazy family's methods would be lost.
    for name in ops.LAZY_FAMILIES:
        family = importlib.import_module(f"kindling.ops.{name}")
        assert family.METHODS == {}, f"kindling.ops.{name} has Tensor methods: make it eager"

