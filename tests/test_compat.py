"""The torch alias (kindling.compat, kindling.run_torch) and the device / backend stand-ins.

The alias shadows the real torch, which other tests use as their oracle, so everything that
installs it runs in a subprocess; the stand-in modules are tested in-process directly."""
import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import kindling
from kindling import amp, backends, cuda, distributed, jit, testing, threads
from kindling import _misc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_torch(tmp_path, source, *args):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "kindling.run_torch", str(script), *args],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)


TRAINING_SCRIPT = """
import sys
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
torch.manual_seed(0)
torch.cuda.manual_seed_all(0)
torch.backends.cudnn.deterministic = True

X = torch.randn(256, 10)
w = torch.randn(10, 1)
y = (X @ w > 0).float().squeeze(1).long()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 32)
        self.fc2 = nn.Linear(32, 2)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


model = Net().to(device)
optimizer = optim.Adam(model.parameters(), lr=1e-2)
loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
losses = []
for epoch in range(5):
    model.train()
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        loss = nn.CrossEntropyLoss()(model(X.to(device)), y.to(device))
    losses.append(loss.item())
    print(f"epoch {epoch} loss {loss.item():.4f} {loss:.3f} {loss.item()!r}")
print("ARGS", sys.argv[1:])
assert losses[-1] < losses[0], losses
"""


def test_run_torch_trains_a_pytorch_script(tmp_path):
    result = run_torch(tmp_path, TRAINING_SCRIPT, "--flag", "1")
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith("epoch")]
    assert len(lines) == 5
    first, last = float(lines[0][3]), float(lines[-1][3])
    assert last < first
    exact = float(lines[-1][5])
    assert lines[-1][3] == f"{exact:.4f}"
    assert lines[-1][4] == f"{exact:.3f}"  # f"{loss:.3f}" formats a 0-d tensor like a float
    assert "ARGS ['--flag', '1']" in result.stdout


# The shape of pytorch/examples' MNIST script: argparse, Adadelta + StepLR, log_softmax + NLL,
# `pred.eq(target.view_as(pred))`, torch.save/torch.load of a state_dict, inference_mode.
EXAMPLES_SCRIPT = """
import argparse
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset, random_split

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=4)
args = parser.parse_args()
use_cuda = torch.cuda.is_available()
device = torch.device("cuda" if use_cuda else "cpu")
torch.manual_seed(1)
kwargs = {"num_workers": 1, "pin_memory": True} if use_cuda else {}

X = torch.randn(300, 1, 4, 4)
y = (X.sum(dim=(1, 2, 3)) > 0).long()
train_set, test_set = random_split(TensorDataset(X, y), [240, 60])
train_loader = DataLoader(train_set, batch_size=32, shuffle=True, **kwargs)
test_loader = DataLoader(test_set, batch_size=100)

class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(16, 32)
        self.dropout = nn.Dropout(0.25)
        self.fc2 = nn.Linear(32, 2)
    def forward(self, x):
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        return F.log_softmax(self.fc2(x), dim=1)

model = Net().to(device)
optimizer = optim.Adadelta(model.parameters(), lr=1.0)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
for epoch in range(1, args.epochs + 1):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print('Test set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)'.format(
        test_loss, correct, len(test_loader.dataset), 100. * correct / len(test_loader.dataset)))
    scheduler.step()
torch.save(model.state_dict(), "mnist_cnn.pt")
model.load_state_dict(torch.load("mnist_cnn.pt", weights_only=True))
with torch.inference_mode():
    print(model(X[:2]).exp().sum(dim=1).cpu().numpy())
print(optimizer.param_groups[0]["lr"])
"""


def test_run_torch_examples_style_script(tmp_path):
    result = run_torch(tmp_path, EXAMPLES_SCRIPT, "--epochs", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum(line.startswith("Test set: Average loss") for line in lines) == 3
    assert lines[-2] == "[1. 1.]"  # probabilities from exp(log_softmax) sum to one
    assert float(lines[-1]) == pytest.approx(0.7 ** 3)
    assert (tmp_path / "mnist_cnn.pt").is_file()


ALIAS_SCRIPT = """
import torch
import kindling
assert torch.Tensor is kindling.Tensor and torch.float32 is kindling.float32
assert torch.device('cpu') == 'cpu'
try:
    torch.fft
except AttributeError as e:
    assert str(e) == ("kindling (running as torch) has no attribute 'fft' — kindling does not "
                      "implement torch.fft yet"), str(e)
else:
    raise AssertionError("torch.fft did not raise")
assert not hasattr(torch, "some_fn")
try:
    import torch.fft
except ImportError as e:
    assert "does not implement torch.fft" in str(e)
else:
    raise AssertionError("import torch.fft did not raise")
import torch.distributed as dist
assert dist.is_available() is False and dist.is_initialized() is False
assert torch.backends.mps.is_available() is False
torch.backends.cudnn.benchmark = True
import torch.backends.cudnn as cudnn
assert cudnn.benchmark is True
from torch.cuda.amp import GradScaler, autocast
from torch.amp import autocast as autocast2
import torch.autograd, torch.random, torch.cuda, torch.jit, torch.onnx, torch.testing
import torch.multiprocessing as mp
from torch.utils.tensorboard import SummaryWriter
assert torch.autograd.grad is kindling.autograd.grad
assert torch.cuda.is_available() is False and torch.cuda.device_count() == 0
assert torch.is_tensor(torch.zeros(2)) and torch.numel(torch.zeros(2, 3)) == 6
assert torch.get_num_threads() >= 1
assert torch.compile(len) is len
import kindling.engine.tensor as kt
assert kt.__spec__.name == "kindling.engine.tensor"
try:
    torch.zeros(2).cuda()
except RuntimeError as e:
    assert "CPU only" in str(e)
else:
    raise AssertionError(".cuda() did not raise")
print("OK", torch.__version__)
"""


def test_alias_attributes_and_stand_ins(tmp_path):
    result = run_torch(tmp_path, ALIAS_SCRIPT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK 2.13.0+kindling")


def test_submodules_alias_the_same_objects(tmp_path):
    pytest.importorskip("kindling.nn")
    result = run_torch(tmp_path, """
        import torch, torch.nn as nn, torch.nn.functional as F, torch.optim as optim
        import torch.utils.data
        import kindling.nn, kindling.optim
        assert nn is kindling.nn and nn.Module is kindling.nn.Module
        assert optim is kindling.optim and torch.utils.data is kindling.utils.data
        import torch.nn.init
        print("OK")
    """)
    assert result.returncode == 0, result.stderr


def test_run_torch_module_mode(tmp_path):
    (tmp_path / "torchy_mod.py").write_text("import sys, torch\n"
                                            "print(torch.version.cuda, sys.argv[1:])\n")
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "kindling.run_torch", "-m", "torchy_mod", "x"],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "None ['x']"


def test_run_torch_usage_and_missing_script(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "kindling.run_torch"], capture_output=True,
                       text=True, env=env)
    assert r.returncode == 2 and "usage" in r.stderr
    r = subprocess.run([sys.executable, "-m", "kindling.run_torch", str(tmp_path / "nope.py")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "no such script" in r.stderr


def test_install_refuses_when_real_torch_is_loaded(monkeypatch):
    from kindling import compat
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))  # stands for real torch
    with pytest.raises(RuntimeError, match="real torch is already imported"):
        compat.install()
    assert not compat.is_installed()


# --- stand-ins, in process ---------------------------------------------------------------------
def test_cuda_is_absent():
    assert cuda.is_available() is False and cuda.device_count() == 0
    assert cuda.is_initialized() is False
    cuda.manual_seed(0), cuda.manual_seed_all(0), cuda.synchronize(), cuda.empty_cache()
    with pytest.raises(RuntimeError, match="CPU only"):
        cuda.current_device()
    with pytest.raises(RuntimeError, match="CPU only"):
        kindling.zeros(2).cuda()
    with pytest.raises(RuntimeError, match="CPU only"):
        kindling.zeros(2).to("cuda")
    assert kindling.zeros(2).to("cpu").device == kindling.device("cpu")


def test_backends():
    assert backends.mps.is_available() is False and backends.mps.is_built() is False
    old = backends.cudnn.deterministic
    backends.cudnn.deterministic = True
    assert backends.cudnn.deterministic is True
    with backends.cudnn.flags(enabled=False, deterministic=False):
        assert backends.cudnn.enabled is False and backends.cudnn.deterministic is False
    assert backends.cudnn.enabled is True and backends.cudnn.deterministic is True
    backends.cudnn.deterministic = old
    backends.cuda.matmul.allow_tf32 = True
    assert backends.cudnn.is_available() is False


def test_distributed_jit_onnx():
    assert distributed.is_available() is False and distributed.is_initialized() is False
    with pytest.raises(RuntimeError, match="no distributed backend"):
        distributed.init_process_group("gloo")
    with pytest.raises(NotImplementedError, match="TorchScript"):
        jit.script(lambda x: x)
    with pytest.raises(NotImplementedError, match="TorchScript"):
        jit.trace(lambda x: x, ())

    @jit.ignore
    def f(x):
        return x + 1
    assert f(1) == 2 and jit.unused(f) is f and jit.is_scripting() is False
    from kindling import onnx
    with pytest.raises(NotImplementedError, match="ONNX"):
        onnx.export(None, None, "m.onnx")


def test_amp_pass_through():
    class Opt:
        steps = 0

        def step(self):
            self.steps += 1
    with amp.autocast("cpu", dtype=None):
        x = kindling.ones(2) * 2
    assert x.dtype == kindling.float32
    scaler = amp.GradScaler()
    loss = kindling.tensor(3.0)
    assert scaler.scale(loss) is loss
    opt = Opt()
    scaler.unscale_(opt), scaler.step(opt), scaler.update()
    assert opt.steps == 1 and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    with cuda.amp.autocast():
        pass


def test_threads():
    before = threads.get_num_threads()
    threads.set_num_threads(1)
    assert threads.get_num_threads() == 1
    threadpoolctl = threads._threadpoolctl()
    if threadpoolctl is not None:  # the BLAS pool itself is limited
        info = threadpoolctl.threadpool_info()
        assert all(p["num_threads"] == 1 for p in info if p["user_api"] == "blas")
    threads.set_num_threads(before)
    assert threads.get_num_threads() == before
    with pytest.raises(RuntimeError):
        threads.set_num_threads(0)
    assert threads.get_num_interop_threads() >= 1


def test_testing_assert_close():
    testing.assert_close(kindling.ones(3), kindling.ones(3) + 1e-7)
    with pytest.raises(AssertionError, match="not close"):
        testing.assert_close(kindling.ones(3), kindling.ones(3) * 1.1)
    with pytest.raises(AssertionError, match="dtype"):
        testing.assert_close(kindling.ones(3), kindling.ones(3, dtype=kindling.float64))
    testing.assert_close(kindling.ones(3), kindling.ones(3, dtype=kindling.float64),
                         check_dtype=False)
    with pytest.raises(AssertionError, match="shape"):
        testing.assert_close(kindling.ones(3), kindling.ones(2))
    nan = kindling.tensor([float("nan")])
    testing.assert_close(nan, nan, equal_nan=True)
    with pytest.raises(AssertionError):
        testing.assert_close(nan, nan)
    testing.assert_close({"a": [1, 2]}, {"a": [1, 2]})


def test_misc_top_level_helpers():
    t = kindling.zeros(2, 3)
    assert _misc.is_tensor(t) and not _misc.is_tensor(np.zeros(2))
    assert _misc.numel(t) == 6 and _misc.is_floating_point(t)
    assert not _misc.is_floating_point(kindling.zeros(2, dtype=kindling.int64))
    saved = np.get_printoptions()
    try:
        _misc.set_printoptions(precision=2)
        assert _misc.get_printoptions()["precision"] == 2
        assert np.get_printoptions()["precision"] == 2
        _misc.set_printoptions(profile="default")
        assert _misc.get_printoptions()["precision"] == 4
    finally:
        np.set_printoptions(**saved)  # NumPy's options are process-wide


# --- tensor behaviours PyTorch scripts rely on -------------------------------------------------
def test_data_shares_memory():
    w = kindling.zeros(3, requires_grad=True)
    d = w.data
    assert not d.requires_grad
    d[0] = 5.0
    assert w[0].item() == 5.0


def test_len_iteration_and_format():
    t = kindling.arange(6).reshape(3, 2)
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3 and rows[1].tolist() == [2, 3]
    x = kindling.tensor(0.123456)
    assert f"{x:.3f}" == "0.123" and f"{x.item():.4f}" == "0.1235"
    with pytest.raises(TypeError):
        len(x)


def test_tensorboard_stand_in(tmp_path):
    from kindling._tensorboard import SummaryWriter, _tbx
    if _tbx is None:
        with pytest.raises(ImportError, match="pip install tensorboardX"):
            SummaryWriter()
        return
    writer = SummaryWriter(str(tmp_path))  # delegates to tensorboardX
    writer.add_scalar("loss", kindling.tensor(0.5), 1)  # kindling tensors are converted
    writer.add_histogram("weights", kindling.randn(50), 1)
    writer.close()
    assert any(p.name.startswith("events.out.tfevents") for p in tmp_path.iterdir())


def test_multiprocessing_reexports_stdlib():
    import multiprocessing as std
    from kindling import multiprocessing as mp
    assert mp.Process is std.Process and mp.get_context is std.get_context
    assert mp.get_sharing_strategy() in mp.get_all_sharing_strategies()


TORCHVISION_SCRIPT = """
import torch
import torchvision
from torchvision import datasets, transforms
from torchvision.utils import make_grid
import torchvision.models as models
tf = transforms.Compose([transforms.Resize(32), transforms.CenterCrop(28), transforms.ToTensor(),
                         transforms.Normalize((0.5,), (0.5,))])
fake = datasets.FakeData(size=8, image_size=(1, 28, 28), num_classes=10, transform=tf)
loader = torch.utils.data.DataLoader(fake, batch_size=4)
x, y = next(iter(loader))
assert tuple(x.shape) == (4, 1, 28, 28) and tuple(y.shape) == (4,)
assert tuple(make_grid(x).shape) == (3, 32, 122)
assert torchvision.datasets.MNIST is datasets.MNIST
assert type(models.resnet18(num_classes=10)).__name__ == "ResNet"
try:
    torchvision.ops
except AttributeError as e:
    print("missing:", e)
print("ok")
"""


def test_torchvision_alias_serves_datasets_transforms_utils_models(tmp_path):
    r = run_torch(tmp_path, TORCHVISION_SCRIPT)
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout
    assert "kindling does not implement torchvision.ops yet" in r.stdout
