"""kindling._allocator: after `import kindling`, large temporaries reuse freed memory instead of
page-faulting fresh pages on every op (see the module's docstring)."""
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

_FAULTS = """
import resource
import numpy as np
import kindling
x = kindling.randn(1 << 20)  # 4 MiB
(x * 2).sum()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    live = [x * i for i in range(8)]  # 32 MiB alive at once, then freed: a step's activations
    del live
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(after - before)
"""


def _faults(**env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
                          "KINDLING_KEEP_MALLOC")}
    out = subprocess.run([sys.executable, "-c", _FAULTS], env={**clean, **env},
                         capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_large_temporaries_reuse_memory_after_import():
    tuned, default = _faults(), _faults(KINDLING_KEEP_MALLOC="1")
    # glibc's defaults give the freed heap back to the OS each time: up to 8 x 1,024 faults a round
    assert default > 20 * 2 * 1024
    assert tuned < default / 10


def test_user_settings_are_left_alone():
    from kindling import _allocator
    previous = os.environ.get("KINDLING_KEEP_MALLOC")
    os.environ["KINDLING_KEEP_MALLOC"] = "1"
    try:
        assert _allocator.tune() is False
    finally:
        if previous is None:
            del os.environ["KINDLING_KEEP_MALLOC"]
        else:
            os.environ["KINDLING_KEEP_MALLOC"] = previous
