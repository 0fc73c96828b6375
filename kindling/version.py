"""torch.version: what scripts print to describe their build. kindling has no CUDA or ROCm."""
cuda = None
hip = None
git_version = None
debug = False


def __getattr__(name):
    if name == "__version__":  # read lazily: importable before kindling/__init__ finishes
        from . import __version__
        return __version__
    raise AttributeError(f"module 'kindling.version' has no attribute '{name}'")
