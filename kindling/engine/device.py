"""kindling computes on the CPU only. Device objects exist so PyTorch scripts that pick a device
and move tensors to it run unchanged; asking to *use* another device is a clear error."""


class device:
    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        type = str(type)
        if ":" in type:
            type, idx = type.split(":", 1)
            index = int(idx)
        if type not in ("cpu", "cuda", "mps", "meta", "xpu"):
            raise RuntimeError(f"Expected one of cpu, cuda, mps device type at start of device "
                               f"string: {type}")
        self.type, self.index = type, index

    def __repr__(self):
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not None
                                               else ")")

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


CPU = device("cpu")


def check_device(d):
    """Validate a device argument of a factory or `.to()`; only the CPU can hold tensors."""
    if d is None:
        return
    d = d if isinstance(d, device) else device(d)
    if d.type != "cpu":
        raise RuntimeError(f"kindling runs on the CPU only: device '{d}' is not available "
                           f"(kindling.cuda.is_available() and backends.mps.is_available() return "
                           f"False; use device='cpu')")
