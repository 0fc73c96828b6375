"""torch.nn.parallel on the CPU. `DataParallel` with no GPU to replicate onto calls the wrapped
module directly, exactly as PyTorch does when no accelerator is available (so scripts that wrap
their model run unchanged, and state_dict keys keep the `module.` prefix). Data-parallel training
across processes (`DistributedDataParallel`) needs a process group, which kindling, running in
one process, does not have."""
from ..modules.module import Module

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]


class DataParallel(Module):
    """Wraps `module`; forward calls it on the whole batch (device_ids is [] on the CPU)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = []
        self.output_device = None
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    """The functional DataParallel: module(*inputs) on the CPU."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))


class DistributedDataParallel(Module):
    def __init__(self, module, *args, **kwargs):
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group. (kindling runs in one process and has no "
                         "torch.distributed backend; train with the module itself)")
