"""Keep freed memory in the process instead of handing it back to the OS after every op.

Every kindling op allocates its result (and often temporaries) as fresh NumPy arrays. With
glibc's defaults, arrays of more than a few hundred KB are mmap'ed and unmapped again when
freed, and the top of the heap is trimmed: the next step's arrays of the same sizes then land on
new pages, and the kernel zero-fills each page on first touch. Measured on a 2-core EPYC: 2,500
to 9,600 minor page faults per training step (torch: about none): half of a LeNet step, and
60% of the normal CDF of a 1M-element GELU. Raising both thresholds once at import makes glibc
reuse that memory from its heap; the peak resident memory of a step is unchanged (the memory
columns of benchmarks/), but memory freed by one step stays in the process for the next.

Not applied when the user set MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ themselves, when
KINDLING_KEEP_MALLOC=1 is set, or off glibc (macOS, Windows, musl).
"""
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20   # glibc's ceiling for it on 64-bit: blocks above stay mmap'ed
TRIM_THRESHOLD = 1 << 30    # free heap kept before returning memory to the OS


def tune():
    """Raise glibc's mmap and trim thresholds; returns whether it did."""
    if (not sys.platform.startswith("linux") or os.environ.get("KINDLING_KEEP_MALLOC") == "1"
            or "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    # Both together: setting either one alone also switches off glibc's adaptive mmap threshold,
    # and the trim threshold alone then made a ResNet step fault 10x more.
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
