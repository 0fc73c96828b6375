"""torch.nn.parallel on the CPU: DataParallel calls the module itself (as PyTorch does without a
GPU), keeps the `module.` prefix in its state_dict, and trains; DistributedDataParallel says it
needs a process group."""
import numpy as np
import pytest
import torch

import kindling as K
import kindling.nn as nn
from kindling.nn.parallel import DataParallel, DistributedDataParallel, data_parallel


def test_data_parallel_matches_torch_on_the_cpu():
    K.manual_seed(0)
    ours = DataParallel(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)))
    theirs = torch.nn.DataParallel(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(),
                                                       torch.nn.Linear(3, 2)))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    assert repr(ours) == repr(theirs) and ours.device_ids == theirs.device_ids == []
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    ko, to = ours(K.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(ko.detach().numpy(), to.detach().numpy(), rtol=1e-6, atol=1e-6)
    ko.sum().backward()
    to.sum().backward()
    np.testing.assert_allclose(ours.module[0].weight.grad.numpy(),
                               theirs.module[0].weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(data_parallel(ours.module, K.tensor(x)).detach().numpy(),
                               ko.detach().numpy())
    assert nn.DataParallel is DataParallel and nn.parallel.DistributedDataParallel is \
        DistributedDataParallel


def test_distributed_data_parallel_needs_a_process_group():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedDataParallel(nn.Linear(2, 2))
