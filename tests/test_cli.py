"""The `kindling` command line: train, evaluate, and one-line errors with exit status 2.

A short training run (3 epochs on the digits) is shared by the tests through a module fixture;
the full default run (>= 97% validation accuracy) is checked by hand, not here."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import kindling
import kindling.threads
from kindling import cli

pytest.importorskip("sklearn")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = kindling.threads.get_num_threads()
    yield
    kindling.threads.set_num_threads(threads)  # train's --threads limits BLAS process-wide


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    import contextlib
    import io
    buffer = io.StringIO()
    threads = kindling.threads.get_num_threads()
    with contextlib.redirect_stdout(buffer):
        status = cli.main(["train", "--epochs", "3", "--out", str(out)])
    kindling.threads.set_num_threads(threads)
    return status, buffer.getvalue(), out


def test_train_writes_checkpoint_curves_and_summary(trained):
    status, output, out = trained
    assert status == 0, output
    lines = output.strip().splitlines()
    epochs = [line for line in lines if line.startswith("epoch")]
    assert len(epochs) == 3 and all("train loss" in e and "val loss" in e for e in epochs)
    summary = lines[-1]
    match = re.search(r"best val accuracy ([\d.]+)%", summary)
    assert match and float(match.group(1)) >= 90.0, summary
    checkpoint = out / cli.CHECKPOINT_NAME
    assert str(checkpoint) in summary
    assert checkpoint.is_file() and (out / "curves.png").is_file()
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "history.json").is_file() and (out / "config.json").is_file()


def test_checkpoint_contents(trained):
    _, _, out = trained
    ckpt = kindling.load(str(out / cli.CHECKPOINT_NAME))
    assert set(ckpt) == {"model_state", "config", "epoch", "metrics"}
    assert ckpt["config"]["model"] == "mlp" and ckpt["config"]["dataset"] == "digits"
    assert 1 <= ckpt["epoch"] <= 3 and ckpt["metrics"]["epoch"] == ckpt["epoch"]
    assert ckpt["metrics"]["val_acc"] >= 0.9
    model = cli.build_model(ckpt["config"])
    model.load_state_dict(ckpt["model_state"])  # strict: the rebuilt model matches exactly


def test_evaluate_prints_accuracy_and_confusion_matrix(trained, capsys):
    _, output, out = trained
    assert cli.main(["evaluate", str(out / cli.CHECKPOINT_NAME)]) == 0
    printed = capsys.readouterr().out.splitlines()
    acc = float(re.search(r"accuracy ([\d.]+)%", "\n".join(printed)).group(1))
    best = float(re.search(r"best val accuracy ([\d.]+)%", output).group(1))
    assert acc == pytest.approx(best, abs=0.01)  # the same model on the same split
    start = next(i for i, line in enumerate(printed) if line.startswith("confusion matrix"))
    header = printed[start + 1].split()
    assert header == [str(c) for c in range(10)]
    rows = [line.split() for line in printed[start + 2:start + 12]]
    matrix = np.array([[int(v) for v in row[1:]] for row in rows])
    assert matrix.shape == (10, 10)
    ckpt = kindling.load(str(out / cli.CHECKPOINT_NAME))
    assert matrix.sum() == ckpt["config"]["val_size"] == 359
    assert np.trace(matrix) / matrix.sum() == pytest.approx(acc / 100, abs=1e-4)


def test_split_is_stratified_and_reproducible():
    a, b = cli.load_digits(0, 0.2), cli.load_digits(0, 0.2)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert len(a.y_train) + len(a.y_val) == 1797
    counts = np.bincount(a.y_val, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37
    assert abs(a.x_train.mean()) < 1e-5  # standardized with training statistics
    c = cli.load_digits(1, 0.2)
    assert not np.array_equal(a.y_val, c.y_val) or not np.array_equal(a.x_val, c.x_val)


def test_confusion_matrix_helper():
    counts = cli.confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 3)
    np.testing.assert_array_equal(counts, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])


def _one_line_error(capsys, argv, match):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and re.search(match, err), err


def test_bad_arguments_exit_2_with_one_line(capsys):
    _one_line_error(capsys, ["train", "--epochs", "zero"], r"--epochs.*invalid int")
    _one_line_error(capsys, ["train", "--lr", "-1"], r"--lr.*must be positive")
    _one_line_error(capsys, ["train", "--model", "resnet999"], r"invalid choice")
    _one_line_error(capsys, ["train", "--bogus"], r"unrecognized arguments")
    _one_line_error(capsys, ["frobnicate"], r"invalid choice")
    _one_line_error(capsys, [], r"required")
    _one_line_error(capsys, ["train", "--dropout", "1.5"], r"--dropout")
    _one_line_error(capsys, ["train", "--activation", "swishy"], r"unknown activation")
    _one_line_error(capsys, ["train", "--epochs", "1", "--out", os.devnull + "/x"],
                    r"cannot create output folder")


def test_missing_or_invalid_checkpoint(tmp_path, capsys):
    _one_line_error(capsys, ["evaluate", str(tmp_path / "missing.kdl")], r"no such checkpoint")
    junk = tmp_path / "junk.kdl"
    junk.write_text("not a checkpoint")
    _one_line_error(capsys, ["evaluate", str(junk)], r"not a checkpoint written by")
    other = tmp_path / "other.kdl"
    kindling.save({"weights": kindling.zeros(2)}, str(other))
    _one_line_error(capsys, ["evaluate", str(other)], r"not a checkpoint written by")


def test_console_script_exit_status(tmp_path):
    """The installed `kindling` command (or `python -m kindling.cli`) reports errors the same."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "kindling.cli", "evaluate",
                        str(tmp_path / "nope.kdl")], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == f"kindling evaluate: error: no such checkpoint file: " \
                               f"{tmp_path / 'nope.kdl'}"



def test_help_exits_0(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "evaluate" in out
    assert cli.main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "mlp" in out and "digits" in out and "mnist" in out  # the registries are listed


def test_missing_scikit_learn_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    _one_line_error(capsys, ["train", "--epochs", "1"], r"pip install kindling\[data\]")


def test_train_logistic_regression(tmp_path, capsys):
    assert cli.main(["train", "--model", "logreg", "--epochs", "2", "--optimizer", "sgd",
                     "--out", str(tmp_path)]) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert float(re.search(r"best val accuracy ([\d.]+)%", summary).group(1)) >= 85.0
    assert cli.main(["evaluate", str(tmp_path / cli.CHECKPOINT_NAME)]) == 0


MNIST_ROOT = os.path.join(ROOT, "..", "shared", "data")


@pytest.mark.skipif(not os.path.isdir(os.path.join(MNIST_ROOT, "mnist")),
                    reason="needs the shared MNIST files")
def test_lenet_on_mnist_through_the_registries(tmp_path, capsys):
    assert cli.main(["train", "--model", "lenet", "--dataset", "mnist", "--data-root",
                     MNIST_ROOT, "--epochs", "1", "--limit", "512", "--val-fraction", "0.02",
                     "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"512 train / 1\d\d\d val examples", out), out
    assert float(re.search(r"best val accuracy ([\d.]+)%", out).group(1)) >= 50.0
    assert cli.main(["evaluate", str(tmp_path / cli.CHECKPOINT_NAME)]) == 0
    assert re.search(r"1\d\d\d validation examples", capsys.readouterr().out)


def test_dataset_and_model_mismatch_is_a_one_line_error(capsys):
    _one_line_error(capsys, ["train", "--model", "lenet"], r"lenet needs square")
    env_free = ["train", "--dataset", "mnist", "--data-root", ""]
    _one_line_error(capsys, env_free, r"--data-root")


def test_mnist_run_reports_official_test_accuracy(tmp_path, capsys):
    data = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
    if not os.path.exists(os.path.join(data, "mnist")):
        pytest.skip("shared MNIST absent")
    code = cli.main(["train", "--model", "lenet", "--dataset", "mnist", "--data-dir", data,
                     "--limit", "256", "--epochs", "1", "--out", str(tmp_path / "run"),
                     "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    match = re.search(r"test accuracy ([\d.]+)% \(10000 test examples\)", out)
    assert match and 30.0 < float(match.group(1)) <= 100.0
    assert os.path.exists(tmp_path / "run" / "test.json")


def test_config_resume_and_search_commands(tmp_path, capsys):
    config = tmp_path / "digits.toml"
    config.write_text('seed = 0\n[data]\ndataset = "digits"\n[model]\nhidden = [32]\n'
                      '[train]\nmax_epochs = 2\nprogress = false\nplot = false\n')
    out_dir = tmp_path / "cfg"
    assert cli.main(["train", "--config", str(config), "--out", str(out_dir)]) == 0
    assert "done: 2 epochs" in capsys.readouterr().out
    assert (out_dir / "metrics.csv").exists()
    assert cli.main(["train", "--resume", str(out_dir)]) == 0
    assert "resumed" in capsys.readouterr().out
    search = tmp_path / "search.toml"
    search.write_text('seed = 0\n[data]\ndataset = "digits"\n[model]\nhidden = [16]\n'
                      '[train]\nmax_epochs = 1\nprogress = false\nplot = false\n'
                      '[search]\nmethod = "grid"\nmonitor = "val_loss"\nmode = "min"\n'
                      '[search.space]\n"optimizer.lr" = [0.001, 0.01]\n')
    assert cli.main(["search", str(search), "--out", str(tmp_path / "s")]) == 0
    assert "best" in capsys.readouterr().out
    lines = (tmp_path / "s" / "trials.jsonl").read_text().splitlines()
    assert len(lines) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nmax_epoch = 3\n")
    assert cli.main(["train", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown config key 'train.max_epoch'" in err and err.count("\n") == 1
