"""Decoding: greedy, sampling filters, repetition penalty, seeds, and beam search vs exhaustive
search on a tiny model."""
import itertools

import numpy as np
import pytest

import kindling
from kindling import nn
from kindling.generate import (generate, beam_search, apply_repetition_penalty, top_k_filter,
                               top_p_filter, sequence_logprob, _log_softmax)
from kindling.models.charlm import CharLM
from kindling.models.gpt import GPT, GPTConfig

V = 5


def tiny_gpt(vocab=V, seed=0):
    kindling.manual_seed(seed)
    m = GPT(GPTConfig(vocab_size=vocab, block_size=16, n_layer=1, n_head=2, n_embd=8))
    for p in m.parameters():          # sharpen the distributions so decoding choices matter
        nn.init.normal_(p, 0.0, 0.7)
    return m.eval()


def manual_greedy(model, prompt, n):
    ids = np.array(prompt)
    for _ in range(n):
        logits = model(kindling.tensor(ids)).detach().numpy()[:, -1]
        ids = np.concatenate([ids, logits.argmax(-1)[:, None]], 1)
    return ids


def test_greedy_is_argmax_decoding():
    m = tiny_gpt()
    out = generate(m, kindling.tensor([[1, 2], [3, 0]]), 6, strategy="greedy")
    assert out.shape == (2, 8)
    np.testing.assert_array_equal(out.numpy(), manual_greedy(m, [[1, 2], [3, 0]], 6))


def test_top_k_1_equals_greedy_and_low_temperature_approaches_greedy():
    m = tiny_gpt()
    g = generate(m, kindling.tensor([[1, 2]]), 8).numpy()
    s = generate(m, kindling.tensor([[1, 2]]), 8, strategy="sample", top_k=1, seed=3).numpy()
    np.testing.assert_array_equal(g, s)
    cold = generate(m, kindling.tensor([[1, 2]] * 4), 8, strategy="sample", temperature=1e-4,
                    seed=1).numpy()
    np.testing.assert_array_equal(cold, np.repeat(g, 4, 0))
    zero = generate(m, kindling.tensor([[1, 2]]), 8, strategy="sample", temperature=0).numpy()
    np.testing.assert_array_equal(zero, g)


def test_top_p_keeps_smallest_nucleus():
    probs = np.array([[0.05, 0.5, 0.15, 0.2, 0.1]])
    logits = np.log(probs)
    kept = lambda p: set(np.flatnonzero(np.isfinite(top_p_filter(logits, p)[0])))  # noqa: E731
    assert kept(0.3) == {1}
    assert kept(0.5 - 1e-9) == {1}
    assert kept(0.51) == {1, 3}
    assert kept(0.8) == {1, 3, 2}
    assert kept(0.9) == {1, 3, 2, 4}
    assert kept(0.99) == {0, 1, 2, 3, 4}
    assert kept(1.0) == {0, 1, 2, 3, 4}
    # tensors in, tensors out
    out = top_p_filter(kindling.tensor(logits), 0.51)
    assert isinstance(out, kindling.Tensor) and np.isinf(out.numpy()).sum() == 3


def test_top_k_filter():
    x = np.array([[1.0, 5.0, 3.0, 2.0]])
    out = top_k_filter(x, 2)
    assert list(np.isfinite(out[0])) == [False, True, True, False]


def test_repetition_penalty_ctrl_formula():
    logits = kindling.tensor([[2.0, -2.0, 1.0, 3.0]])
    out = apply_repetition_penalty(logits, kindling.tensor([[0, 1, 1]]), 2.0)
    np.testing.assert_allclose(out.numpy(), [[1.0, -4.0, 1.0, 3.0]])
    # in generation the penalty can only make repeated tokens less likely
    m = tiny_gpt()
    plain = generate(m, kindling.tensor([[1]]), 12).numpy()[0]
    pen = generate(m, kindling.tensor([[1]]), 12, repetition_penalty=50.0).numpy()[0]
    assert len(set(pen.tolist())) >= len(set(plain.tolist()))


def test_sampling_reproducible_under_seed():
    m = tiny_gpt()
    p = kindling.tensor([[1, 2]] * 3)
    a = generate(m, p, 10, strategy="sample", top_p=0.9, seed=123).numpy()
    b = generate(m, p, 10, strategy="sample", top_p=0.9, seed=123).numpy()
    np.testing.assert_array_equal(a, b)
    kindling.manual_seed(7)
    c = generate(m, p, 10, strategy="sample").numpy()
    kindling.manual_seed(7)
    d = generate(m, p, 10, strategy="sample").numpy()
    np.testing.assert_array_equal(c, d)
    e = generate(m, p, 10, strategy="sample", seed=124).numpy()
    assert not np.array_equal(a, e)


def exhaustive(model, prompt, L, eos_id=None, alpha=0.0):
    """All continuations of length <= L (shorter ones must end in EOS); best by beam score."""
    results = []
    for n in range(1, L + 1):
        for seq in itertools.product(range(V), repeat=n):
            if eos_id is not None and eos_id in seq[:-1]:
                continue
            if n < L and (eos_id is None or seq[-1] != eos_id):
                continue
            ids = np.array([list(prompt) + list(seq)])
            lp = sequence_logprob(model, ids, len(prompt))[0]
            results.append((lp / ((5 + n) / 6) ** alpha, list(seq)))
    results.sort(key=lambda r: -r[0])
    return results


@pytest.mark.parametrize("L,width", [(2, V), (3, V * V)])
def test_beam_without_pruning_equals_exhaustive_search(L, width):
    m = tiny_gpt()
    prompt = [1, 3]
    best = exhaustive(m, prompt, L)
    out, scores = generate(m, kindling.tensor([prompt]), L, strategy="beam", beam_width=width,
                           num_return_sequences=3, return_scores=True)
    for i in range(3):
        assert out.numpy()[i, 2:].tolist() == best[i][1]
        assert scores[i] == pytest.approx(best[i][0], abs=1e-5)


def test_beam_with_eos_and_length_penalty_equals_exhaustive():
    m = tiny_gpt(seed=2)
    prompt, L, eos = [2], 3, 0
    for alpha in (0.0, 1.0):
        best = exhaustive(m, prompt, L, eos_id=eos, alpha=alpha)
        out, scores = generate(m, kindling.tensor([prompt]), L, strategy="beam",
                               beam_width=V ** L, eos_id=eos, length_penalty=alpha,
                               num_return_sequences=4, return_scores=True)
        assert scores == pytest.approx([b[0] for b in best[:4]], abs=1e-5)
        assert list(scores) == sorted(scores, reverse=True)       # n-best sorted
        toks = out.numpy()[0, 1:].tolist()
        n = len(best[0][1])
        assert toks[:n] == best[0][1] and all(t == eos for t in toks[n:])


def test_beam_width_one_is_greedy():
    m = tiny_gpt()
    g = generate(m, kindling.tensor([[4]]), 6).numpy()
    b = generate(m, kindling.tensor([[4]]), 6, strategy="beam", beam_width=1).numpy()
    np.testing.assert_array_equal(g, b)


def test_generic_beam_search_step_function():
    # a fixed bigram table as the "decoder": state-free step function
    rng = np.random.default_rng(0)
    table = _log_softmax(rng.normal(size=(V, V)) * 2)

    def step(prefixes, state):
        return table[prefixes[:, -1]], state

    hyps = beam_search(step, [0], beam_width=V * V, max_new_tokens=3, n_best=5)
    brute = sorted(((table[0, a] + table[a, b] + table[b, c], [a, b, c])
                    for a in range(V) for b in range(V) for c in range(V)), key=lambda r: -r[0])
    assert [h[0] for h in hyps] == [b[1] for b in brute[:5]]
    assert [h[1] for h in hyps] == pytest.approx([b[0] for b in brute[:5]])


def test_eos_stops_and_pads():
    m = tiny_gpt()
    prompts = kindling.tensor([[1, 2], [3, 0]])
    g = generate(m, prompts, 8).numpy()
    eos = int(g[0, 3])
    out = generate(m, prompts, 8, eos_id=eos, pad_id=V + 1).numpy()
    for row_g, row in zip(g, out):
        gen = row_g[2:].tolist()
        n = gen.index(eos) + 1 if eos in gen else len(gen)      # tokens up to and incl. EOS
        assert row[2:2 + n].tolist() == gen[:n]
        assert (row[2 + n:] == V + 1).all()
    # generation stops once every row has finished
    assert out.shape[1] <= g.shape[1]


class _Stateless(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, ids):
        return self.lm(ids)[0]


def test_recurrent_lm_carried_state_matches_recomputation():
    kindling.manual_seed(0)
    lm = CharLM(vocab_size=V, embed_dim=6, hidden_size=10, num_layers=2, cell="gru").eval()
    a = generate(lm, kindling.tensor([[1, 2, 3]]), 10).numpy()
    b = generate(_Stateless(lm), kindling.tensor([[1, 2, 3]]), 10).numpy()
    np.testing.assert_array_equal(a, b)
    s1 = generate(lm, kindling.tensor([[1]]), 10, strategy="sample", seed=5).numpy()
    s2 = generate(_Stateless(lm), kindling.tensor([[1]]), 10, strategy="sample", seed=5).numpy()
    np.testing.assert_array_equal(s1, s2)
    beam = generate(lm, kindling.tensor([[1]]), 4, strategy="beam", beam_width=3,
                    num_return_sequences=2)
    assert beam.shape == (2, 5)
