"""The framework's random number generator: `manual_seed`, `Generator`, and RNG state.

Each Generator wraps a NumPy PCG64 bit generator. Streams differ from PyTorch's (its Mersenne
Twister and Philox kernels are not reproduced); what matches is the API and the distributions,
and runs are reproducible under a seed. States are uint8 tensors (JSON bytes), so they save with
`kindling.save` and never need pickle.
"""
import numpy as np

_DEFAULT_SEED = 67280421310721  # PyTorch's default seed


class Generator:
    def __init__(self, device="cpu"):
        self._seed = _DEFAULT_SEED
        self._rng = None  # None: a fresh stream from _seed, made on first use (see _np)
        self.device = device

    @property
    def _np(self):
        """The NumPy generator behind this one. Made on first use rather than in __init__, so
        `import kindling` (which makes the default generator) does not import numpy.random."""
        if self._rng is None:
            self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self._rng

    def manual_seed(self, seed):
        seed = int(seed)
        if seed < 0:
            seed += 1 << 64  # PyTorch accepts negative seeds as their 64-bit two's complement
        self._seed = seed
        self._rng = None
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy % (1 << 63))
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        import json
        from .creation import tensor
        from .engine import dtypes
        blob = json.dumps({"seed": self._seed, "state": self._np.bit_generator.state}).encode()
        return tensor(np.frombuffer(blob, dtype=np.uint8).copy(), dtype=dtypes.uint8)

    def set_state(self, new_state):
        import json
        try:
            blob = bytes(np.asarray(new_state._array, dtype=np.uint8).tobytes())
            state = json.loads(blob.decode())
            bit_generator = np.random.PCG64()
            bit_generator.state = state["state"]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise RuntimeError(f"Generator.set_state: not a kindling RNG state ({e})") from None
        self._seed = state["seed"]
        self._rng = np.random.Generator(bit_generator)
        return self


default_generator = Generator()


def _np_rng(generator=None):
    return (generator or default_generator)._np


def manual_seed(seed):
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)
