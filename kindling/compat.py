"""Run unmodified PyTorch scripts on kindling: `import torch` resolves to kindling.

    from kindling import compat
    compat.install()
    import torch, torch.nn as nn          # kindling, kindling.nn

or, for a whole script, `python -m kindling.run_torch train.py --its-args`.

How it works. `install()` puts an alias module named `torch` into `sys.modules` and an import
finder in front of `sys.meta_path`. The finder answers every `torch.X.Y` import with the module
`kindling.X.Y` itself (the same object, so `torch.nn.Module is kindling.nn.Module`), resolved
lazily at import time: a kindling sub-package that does not exist gives a clear
ModuleNotFoundError rather than a mapping set up in advance. A few torch paths live elsewhere in
kindling (see `_RENAMES`). The alias's attributes come from kindling, then from the small
top-level helpers in kindling._misc and kindling.threads, then from kindling's sub-modules
(`torch.nn` works after a bare `import torch`); anything else raises

    AttributeError: kindling (running as torch) has no attribute 'fft' — kindling does not
    implement torch.fft yet

Install it in a fresh process (a script runner, a subprocess): it shadows a real PyTorch, so
`install()` refuses to run once the real torch has been imported.
"""
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

__all__ = ["install", "uninstall", "is_installed"]

# torch paths whose kindling module is not simply kindling + the rest of the path.
# torchvision's datasets, transforms and utils are kindling.vision's; its models are kindling's.
_RENAMES = {"torch.utils.tensorboard": "kindling._tensorboard",
            "torchvision.models": "kindling.models",
            "torchvision": "kindling.vision"}

# kindling modules whose public names also appear at torch's top level.
_TOP_LEVEL_EXTRAS = ("kindling._misc", "kindling.threads")

# torch's version is reported as the API level kindling follows, with kindling's own version as
# a PEP 440 local label, so version checks in scripts (`>= "2.0"`) take the modern code path.
_TORCH_API_VERSION = "2.13.0"


class MissingFeatureError(ModuleNotFoundError):
    """A `torch.X` module kindling does not provide."""


def _aliased(fullname):
    return any(fullname == root or fullname.startswith(root + ".")
               for root in ("torch", "torchvision"))


def _target(fullname):
    """The kindling module name for a torch (or torchvision) module name."""
    for prefix, target in _RENAMES.items():
        if fullname == prefix or fullname.startswith(prefix + "."):
            return target + fullname[len(prefix):]
    return "kindling" + fullname[len("torch"):]


def _missing(fullname):
    return (f"kindling (running as torch) has no module '{fullname}' — kindling does not "
            f"implement {fullname} yet")


class _AliasLoader(importlib.abc.Loader):
    """Loads `torch.X` by returning the already-importable `kindling.X` module object."""

    def __init__(self, target):
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self._own_spec = module.__spec__
        return module

    def exec_module(self, module):
        # kindling.X already ran under its own name. The import system has just overwritten the
        # module's __spec__ with the torch one; restore it so kindling's own relative imports
        # and importlib.reload keep working.
        module.__spec__ = self._own_spec


class _TorchFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if not _aliased(fullname) or fullname == "torch":
            return None
        name = _target(fullname)
        try:
            found = importlib.util.find_spec(name)
        except ModuleNotFoundError as e:
            if e.name and not (name == e.name or name.startswith(e.name + ".")):
                raise  # a dependency of an existing kindling module is missing: say which
            found = None
        if found is None:
            # Answer here rather than returning None: later finders would otherwise load the
            # file a second time under the torch name, or find a real torch on sys.path.
            raise MissingFeatureError(_missing(fullname))
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(name), is_package=found.submodule_search_locations is not None)


class _TorchAlias(types.ModuleType):
    """The module `torch` names: kindling's namespace, with errors that say what is missing."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(f"module 'torch' (kindling) has no attribute '{name}'")
        import kindling
        sources = [kindling] + [importlib.import_module(m) for m in _TOP_LEVEL_EXTRAS]
        for source in sources:
            if hasattr(source, name):
                value = getattr(source, name)
                break
        else:
            try:
                value = importlib.import_module("torch." + name)  # torch.nn without import
            except MissingFeatureError:
                raise AttributeError(f"kindling (running as torch) has no attribute '{name}' — "
                                     f"kindling does not implement torch.{name} yet") from None
        setattr(self, name, value)  # cache: the next lookup is a plain attribute read
        return value

    def __dir__(self):
        import kindling
        names = set(dir(kindling))
        for m in _TOP_LEVEL_EXTRAS:
            names.update(getattr(importlib.import_module(m), "__all__", ()))
        return sorted(names | set(self.__dict__))


_finder = _TorchFinder()


def is_installed():
    return isinstance(sys.modules.get("torch"), _TorchAlias)


def install():
    """Make `import torch` (and every `torch.*` sub-module import) resolve to kindling.

    Idempotent. Raises RuntimeError if the real PyTorch is already imported in this process."""
    if is_installed():
        return sys.modules["torch"]
    if "torch" in sys.modules or "torchvision" in sys.modules:
        raise RuntimeError("compat.install(): the real torch is already imported in this "
                           "process; install the kindling alias before anything imports torch "
                           "(for example with `python -m kindling.run_torch script.py`)")
    import kindling
    alias = _TorchAlias("torch", "kindling running as torch: " + (kindling.__doc__ or ""))
    alias.__file__ = kindling.__file__
    alias.__path__ = []  # a package, so `import torch.nn` asks the finders (ours comes first)
    alias.__version__ = f"{_TORCH_API_VERSION}+kindling.{kindling.__version__}"
    alias.__spec__ = importlib.machinery.ModuleSpec("torch", None, is_package=True)
    sys.meta_path.insert(0, _finder)
    sys.modules["torch"] = alias
    return alias


def uninstall():
    """Undo install(): drop the finder and every `torch` / `torch.*` entry of sys.modules."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    if is_installed():
        for name in [n for n in sys.modules if _aliased(n)]:
            del sys.modules[name]
