"""benchmarks/run.py keeps working: a one-repeat run with rounds writes its table and JSON, the
profiler prints, and the FLOP counter sees the LSTM's GEMMs (not timings: those are never
tested)."""
import json
import os
import sys

import pytest
import torch

import kindling

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
import run as bench  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_threads():
    k, t = kindling.get_num_threads(), torch.get_num_threads()
    yield
    kindling.set_num_threads(k)
    torch.set_num_threads(t)


def test_rounds_write_the_table_and_json(tmp_path, capsys):
    bench.main(["--only", "tiny_ops", "--repeats", "1", "--rounds", "2", "--threads", "1",
                "--no-memory", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert out.count("(round ") == 2 and "tiny_ops" in out
    row, = json.load(open(tmp_path / "latest.json"))["rows"]
    assert row["workload"] == "tiny_ops" and len(row["round_ratios"]) == 2
    assert min(row["round_ratios"]) <= row["ratio"] <= max(row["round_ratios"])
    table = (tmp_path / "latest.md").read_text().splitlines()
    assert table[0].startswith("| workload | kindling ms | torch ms | ratio | rounds |")
    assert table[2].startswith("| tiny_ops |") and "<= 1.0" in table[2]


def test_profile_prints_where_the_time_goes(capsys):
    bench.profile("tiny_ops", 1, steps=2)
    out = capsys.readouterr().out
    assert "ms per step under cProfile" in out and "tottime" in out


def test_op_times_lists_ops_and_restores_them(capsys):
    from kindling.ops.elementwise import Relu
    forward = Relu.__dict__["forward"]
    bench.op_times("tiny_ops", 1, steps=2)
    out = capsys.readouterr().out
    assert "ms per step (timed ops)" in out
    assert "Relu.forward" in out and "Relu.backward" in out and "1000 calls" in out
    assert Relu.__dict__["forward"] is forward          # the timing wrappers are gone


def test_lstm_flops_are_counted_through_its_gemms():
    torch.manual_seed(0)
    step = bench.WORKLOADS["lstm_lm"][0](torch)
    flops = bench.count_flops(step)
    # forward, input and weight gradients of 64 steps of x W_ih^T + h W_hh^T (4 gates, hidden
    # 256, input 64, batch 32): 3 * 2 * 64 * 32 * (64 + 256) * 1024 = 4.0 GFLOP, plus the head
    assert 4.0e9 < flops < 4.5e9
