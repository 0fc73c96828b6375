"""torch.backends.cudnn: kindling has no cuDNN. The flags are plain module attributes a script may
set and read back (`deterministic`, `benchmark`, `enabled`, `allow_tf32`); they change nothing,
since kindling's CPU kernels are always deterministic."""
import contextlib

enabled = True
benchmark = False
benchmark_limit = 10
deterministic = False
allow_tf32 = True


def is_available():
    return False


def version():
    return None


@contextlib.contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False,
          allow_tf32=True):
    """Set the flags inside a `with` block and restore them after, as torch's `cudnn.flags`."""
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
    module = globals()
    old = {n: module[n] for n in names}
    module.update(enabled=enabled, benchmark=benchmark, benchmark_limit=benchmark_limit,
                  deterministic=deterministic, allow_tf32=allow_tf32)
    try:
        yield
    finally:
        module.update(old)
