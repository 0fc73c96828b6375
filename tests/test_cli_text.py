"""`kindling train --task ...` on the language tasks and `kindling generate`: tiny models and a
few steps each (the metrics are only checked to be reported, not to be good)."""
import os
import re

import pytest

import kindling
import kindling.threads
from kindling import cli

DATA = os.environ.get("KINDLING_TEXT_DATA", "/work/shared/data")
pytestmark = pytest.mark.skipif(
    not os.path.isfile(os.path.join(DATA, "tinyshakespeare", "input.txt")),
    reason=f"the shared text data is not in {DATA}")


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = kindling.threads.get_num_threads()
    yield
    kindling.threads.set_num_threads(threads)


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def train(capsys, out, task, *extra):
    status, stdout, err = run(capsys, "train", "--task", task, "--data-dir", DATA,
                              "--out", out, *extra)
    assert status == 0, err
    last = stdout.strip().splitlines()[-1]
    assert last.startswith(f"done: {task}: ") and "model.kdl" in last
    assert os.path.isfile(os.path.join(out, "model.kdl"))
    return stdout


@pytest.fixture(scope="module")
def lstm_checkpoint(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("lstm"))
    status = cli.main(["train", "--task", "char-lstm", "--data-dir", DATA, "--out", out,
                       "--steps", "3", "--hidden", "32", "--block-size", "16",
                       "--eval-size", "2"])
    assert status == 0
    return os.path.join(out, "model.kdl")


def test_char_lstm_checkpoint_holds_config_and_vocab(lstm_checkpoint):
    ckpt = kindling.load(lstm_checkpoint)
    assert ckpt["task"] == "char-lstm"
    assert ckpt["config"]["hidden_size"] == 32 and ckpt["config"]["cell"] == "lstm"
    assert len(ckpt["vocab"]["itos"]) == 65 and ckpt["vocab"]["class"] == "CharVocab"
    assert ckpt["metrics"]["val_loss"] > 0


def test_generate_uses_vocab_and_is_reproducible(capsys, lstm_checkpoint):
    vocab = set(kindling.load(lstm_checkpoint)["vocab"]["itos"])
    args = ["generate", lstm_checkpoint, "--prompt", "ROMEO:", "--max-new-tokens", "40",
            "--temperature", "0.8", "--top-p", "0.9"]
    status, first, _ = run(capsys, *args, "--seed", "1")
    assert status == 0
    text = first[:-1]                    # print's newline
    assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 40
    assert set(text) <= vocab
    assert run(capsys, *args, "--seed", "1")[1] == first
    assert run(capsys, *args, "--seed", "2")[1] != first


def test_generate_greedy_and_beam(capsys, lstm_checkpoint):
    for strategy in ("greedy", "beam"):
        status, out, _ = run(capsys, "generate", lstm_checkpoint, "--prompt", "KING",
                             "--max-new-tokens", "10", "--strategy", strategy,
                             "--beam-width", "2")
        assert status == 0 and out.startswith("KING")


def test_char_gpt_train_and_generate(capsys, tmp_path):
    stdout = train(capsys, str(tmp_path), "char-gpt", "--steps", "3", "--hidden", "32",
                   "--layers", "1", "--block-size", "16", "--eval-size", "2")
    assert re.search(r"val loss \d+\.\d+ nats/char", stdout)
    status, out, _ = run(capsys, "generate", tmp_path / "model.kdl", "--prompt", "ROMEO:",
                         "--max-new-tokens", "20", "--top-k", "5", "--seed", "0")
    assert status == 0 and out.startswith("ROMEO:") and len(out) == len("ROMEO:") + 21


def test_sentiment_reports_accuracy_and_negations(capsys, tmp_path):
    stdout = train(capsys, str(tmp_path), "sentiment", "--steps", "30", "--hidden", "16")
    assert re.search(r"BiLSTM test accuracy 0\.\d{3}", stdout)
    assert "the food was not good" in stdout and "the movie was not bad" in stdout
    # `predict` rebuilds the saved model: the same labels the training run printed
    probes = dict((line.split("| ")[1], int(line.split()[1]))
                  for line in stdout.splitlines() if line.startswith("  BiLSTM "))
    status, out, _ = run(capsys, "predict", tmp_path / "model.kdl", *probes)
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == len(probes)
    for line, (probe, label) in zip(lines, probes.items()):
        name, prob, text = line.split(" ", 2)
        assert text.strip() == probe and name == ("negative", "positive")[label]
        assert 0.5 <= float(prob) <= 1.0


def test_seq2seq_reports_bleu_and_predict_translates_as_in_training(capsys, tmp_path):
    stdout = train(capsys, str(tmp_path), "seq2seq", "--steps", "30", "--hidden", "16",
                   "--max-pairs", "1000", "--eval-size", "10")
    assert re.search(r"test BLEU-4 greedy \d+\.\d\d, beam\(4\) \d+\.\d\d", stdout)
    ckpt = kindling.load(str(tmp_path / "model.kdl"))
    assert set(ckpt["vocab"]) == {"src", "tgt"}
    # the printed examples are greedy translations of held-out sources
    examples = [re.match(r"  (.+?) +-> (.*?) +\(ref: ", line).groups()
                for line in stdout.splitlines() if " -> " in line and "(ref: " in line]
    assert examples
    status, out, _ = run(capsys, "predict", tmp_path / "model.kdl",
                         *[src for src, _ in examples])
    assert status == 0
    assert out.splitlines() == [f"{src} -> {hyp}" for src, hyp in examples]
    status, out, _ = run(capsys, "predict", tmp_path / "model.kdl", examples[0][0],
                         "--beam-width", "3")
    assert status == 0 and out.startswith(f"{examples[0][0]} -> ")


def test_word2vec_reports_neighbours_and_predict_finds_the_same(capsys, tmp_path):
    stdout = train(capsys, str(tmp_path), "word2vec", "--steps", "3", "--hidden", "8")
    printed = re.search(r"  king  : (.+)", stdout)
    assert printed and re.match(r"\w+ -?\d\.\d\d", printed.group(1))
    status, out, _ = run(capsys, "predict", tmp_path / "model.kdl", "King", "king - man + woman",
                         "-k", "6")
    assert status == 0
    king, analogy = out.splitlines()
    assert king == f"King: {printed.group(1)}"
    assert re.match(r"king - man \+ woman: (\w+ -?\d\.\d\d, ){5}\w+ -?\d\.\d\d$", analogy)
    # the vocabulary keeps its counts, so the rebuilt model's noise distribution is the same
    from kindling.text.tasks import load_task_model
    model, _ = load_task_model(kindling.load(str(tmp_path / "model.kdl")))
    assert model.counts.sum() > 0 and abs(model.noise.sum() - 1) < 1e-6
    status, _, err = run(capsys, "predict", tmp_path / "model.kdl", "zzzxq")
    assert status == 2 and "not in the word2vec vocabulary: zzzxq" in err


@pytest.mark.parametrize("make", ["garbage", "missing", "image-checkpoint", "sentiment"])
def test_generate_bad_checkpoint_is_one_line(capsys, tmp_path, make):
    path = tmp_path / "model.kdl"
    if make == "garbage":
        path.write_text("not a checkpoint")
    elif make == "image-checkpoint":
        kindling.save({"model_state": {}, "config": {"model": "mlp"}}, str(path))
    elif make == "sentiment":
        kindling.save({"task": "sentiment", "config": {}}, str(path))
    status, out, err = run(capsys, "generate", path)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("kindling generate: error:")


def test_train_task_errors_are_one_line(capsys, tmp_path):
    for argv in (["--data-dir", tmp_path / "nowhere"], ["--data-dir", tmp_path],
                 ["--data-dir", DATA, "--hidden", "30", "--steps", "1"]):  # 30 % 4 heads
        status, _, err = run(capsys, "train", "--task", "char-gpt", "--out", tmp_path / "o",
                             *argv)
        assert status == 2 and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("make", ["garbage", "missing", "char-lstm"])
def test_predict_bad_checkpoint_is_one_line(capsys, tmp_path, lstm_checkpoint, make):
    path = tmp_path / "model.kdl"
    if make == "garbage":
        path.write_text("not a checkpoint")
    elif make == "char-lstm":
        path = lstm_checkpoint
    status, out, err = run(capsys, "predict", path, "hello")
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("kindling predict: error:")
    if make == "char-lstm":
        assert "use `kindling generate`" in err


def test_prompt_outside_vocabulary(capsys, lstm_checkpoint):
    status, _, err = run(capsys, "generate", lstm_checkpoint, "--prompt", "caf\u00e9")
    assert status == 2 and "outside the model's vocabulary" in err
