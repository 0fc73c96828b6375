"""Decoding for autoregressive models: greedy, sampling (temperature, top-k, top-p, repetition
penalty) and beam search.

A *decoder LM* is any module whose forward maps int64 ids (B, T) to logits (B, T, V). Recurrent
LMs may instead take `(ids, state)` and return `(logits, state)`; `generate` then feeds the
prompt once and afterwards only the newest token together with the carried state. If the model
has `config.block_size` (GPT), the context is cropped to the last `block_size` tokens.

Sampling draws from kindling's RNG: `seed=` (a private Generator) or `generator=` make a call
reproducible, as does `kindling.manual_seed` before it.

Beam search scores a hypothesis y (generated tokens only, EOS included) by
    score(y) = log p(y | prompt) / lp(y),    lp(y) = ((5 + |y|) / 6) ** length_penalty
(the GNMT length penalty, Wu et al. 2016; length_penalty=0 gives the raw log-probability and
favours short hypotheses, larger values favour longer ones). A hypothesis that emits `eos_id` is
finished; the search runs until `max_new_tokens` or until no hypothesis is alive (or, with
`early_stopping=True`, as soon as `n_best` hypotheses have finished). Hypotheses still alive at
the end are finished as they are. Beam search keeps the `beam_width` best prefixes at every
step: with beam_width >= V**(L-1) nothing is ever pruned and the result equals exhaustive search
over all length-L sequences (for L <= 2 that is beam_width = V).
"""
import numpy as np

from . import creation
from .engine import dtypes
from .engine.grad_mode import no_grad
from .engine.tensor import Tensor
from .random import Generator

__all__ = ["generate", "beam_search", "apply_repetition_penalty", "top_k_filter",
           "top_p_filter", "process_logits", "sequence_logprob"]


# --- logit processors (NumPy in, NumPy out; Tensors accepted and returned as Tensors) -------------
def _np(x):
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def _like(out, ref):
    return creation.tensor(out, dtype=ref.dtype) if isinstance(ref, Tensor) else out


def _log_softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def apply_repetition_penalty(logits, previous_ids, penalty):
    """CTRL's repetition penalty (Keskar et al. 2019): for every token already present in
    `previous_ids` (B, t), a positive logit is divided by `penalty` and a negative one multiplied
    by it, so with penalty > 1 repeated tokens always become less likely. logits: (B, V)."""
    if penalty == 1.0:
        return logits
    out = _np(logits).astype(np.float64 if _np(logits).dtype == np.float64 else np.float32,
                              copy=True)
    prev = _np(previous_ids).astype(np.int64).reshape(out.shape[0], -1)
    for b in range(out.shape[0]):
        ids = np.unique(prev[b])
        row = out[b, ids]
        out[b, ids] = np.where(row > 0, row / penalty, row * penalty)
    return _like(out, logits)


def top_k_filter(logits, k):
    """Set every logit below the k-th largest of its row to -inf. logits: (B, V)."""
    x = _np(logits).copy()
    if k is None or k <= 0 or k >= x.shape[-1]:
        return _like(x, logits)
    kth = np.sort(x, axis=-1)[..., -k][..., None]
    x[x < kth] = -np.inf
    return _like(x, logits)


def top_p_filter(logits, p):
    """Nucleus filtering (Holtzman et al. 2020): keep the smallest set of most probable tokens
    whose cumulative probability is >= p (at least one token) and set the rest to -inf."""
    x = _np(logits).copy()
    if p is None or p >= 1.0:
        return _like(x, logits)
    probs = np.exp(_log_softmax(x.astype(np.float64)))
    order = np.argsort(-probs, axis=-1, kind="stable")                 # (B, V) most probable first
    sorted_p = np.take_along_axis(probs, order, -1)
    before = np.cumsum(sorted_p, axis=-1) - sorted_p                   # mass of the tokens ahead
    drop_sorted = before >= p                                          # set already reached p
    drop_sorted[..., 0] = False
    drop = np.zeros_like(drop_sorted)
    np.put_along_axis(drop, order, drop_sorted, -1)
    x[drop] = -np.inf
    return _like(x, logits)


def process_logits(logits, previous_ids=None, temperature=1.0, top_k=None, top_p=None,
                   repetition_penalty=1.0):
    """Repetition penalty, then temperature, then top-k, then top-p (HF's order)."""
    x = _np(logits).astype(np.float64)
    if previous_ids is not None and repetition_penalty != 1.0:
        x = apply_repetition_penalty(x, previous_ids, repetition_penalty)
    if temperature != 1.0:
        x = x / temperature
    if top_k is not None:
        x = top_k_filter(x, top_k)
    if top_p is not None:
        x = top_p_filter(x, top_p)
    return x


# --- model calls ---------------------------------------------------------------------------------
def _block_size(model):
    cfg = getattr(model, "config", None)
    return getattr(cfg, "block_size", None)


def _call(model, ids, state=None, stateful=None):
    """Run the model on ids (B, t); return (last logits (B, V) ndarray, state, stateful)."""
    x = creation.tensor(ids, dtype=dtypes.int64)
    out = model(x) if not stateful else model(x, state)
    if isinstance(out, tuple):
        logits, state = out
        stateful = True
    else:
        logits, stateful = out, False
    return logits[:, -1, :].numpy().astype(np.float64), state, stateful    # (B, V)


def sequence_logprob(model, ids, prompt_len):
    """Sum of log p(ids[:, t] | ids[:, :t]) over t >= prompt_len, as a (B,) ndarray: the score
    that beam search maximizes (with length_penalty=0)."""
    ids = _np(ids).astype(np.int64)
    with no_grad():
        out = model(creation.tensor(ids[:, :-1], dtype=dtypes.int64))
    logits = (out[0] if isinstance(out, tuple) else out).numpy().astype(np.float64)  # (B, T-1, V)
    logp = _log_softmax(logits)
    tgt = ids[:, 1:]                                                     # (B, T-1)
    lp = np.take_along_axis(logp, tgt[..., None], -1)[..., 0]            # (B, T-1)
    return lp[:, prompt_len - 1:].sum(-1)


# --- beam search ---------------------------------------------------------------------------------
def _length_penalty(length, alpha):
    return ((5.0 + length) / 6.0) ** alpha


def _select(state, idx):
    """Pick hypotheses `idx` out of a state batched along dim 0 (None, Tensor, ndarray or nested
    tuples/lists of them)."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(_select(s, idx) for s in state)
    if isinstance(state, Tensor):
        return state[creation.tensor(np.asarray(idx, dtype=np.int64), dtype=dtypes.int64)]
    return state[np.asarray(idx)]


def beam_search(step_fn, prefix, beam_width=4, max_new_tokens=20, eos_id=None,
                length_penalty=0.0, n_best=1, state=None, select_state=_select,
                early_stopping=False):
    """Generic beam search.

    Args:
        step_fn: called as `step_fn(prefixes, state)` with prefixes an int64 ndarray (N, t) of
            the alive hypotheses (the fixed prefix plus their generated tokens) and `state` the
            per-hypothesis state (batched along dim 0, or None). Returns `(log_probs, new_state)`
            with log_probs (N, V) (ndarray or Tensor, normalized log-probabilities).
        prefix: list of ids every hypothesis starts with (e.g. [bos] or the prompt).
        state: initial state for the single starting hypothesis (batch of 1 along dim 0).
        select_state: `select_state(state, indices)` reorders/duplicates a batched state.
    Returns:
        list of `n_best` (tokens, score) sorted by score descending, `tokens` being the generated
        ids (prefix excluded, EOS included if emitted) and `score` the length-normalized
        log-probability described in the module docstring.
    """
    prefix = [int(t) for t in prefix]
    alive = [([], 0.0)]                       # (generated tokens, log-prob)
    finished = []                             # (tokens, normalized score, log-prob)
    for step in range(max_new_tokens):
        if not alive:
            break
        prefixes = np.array([prefix + toks for toks, _ in alive], dtype=np.int64)   # (N, t)
        logp, new_state = step_fn(prefixes, state)
        logp = _np(logp).astype(np.float64)                                           # (N, V)
        V = logp.shape[-1]
        total = np.array([s for _, s in alive])[:, None] + logp                      # (N, V)
        flat = total.reshape(-1)
        order = np.argsort(-flat, kind="stable")
        next_alive, parents = [], []
        for rank, f in enumerate(order):
            if len(next_alive) >= beam_width:
                break
            if not np.isfinite(flat[f]):
                break
            parent, tok = divmod(int(f), V)
            toks = alive[parent][0] + [tok]
            if eos_id is not None and tok == eos_id:
                if rank < beam_width:
                    finished.append((toks, flat[f] / _length_penalty(len(toks), length_penalty),
                                     flat[f]))
                continue
            next_alive.append((toks, float(flat[f])))
            parents.append(parent)
        alive = next_alive
        state = select_state(new_state, parents) if alive else None
        if early_stopping and len(finished) >= n_best:
            break
    for toks, s in alive:
        finished.append((toks, s / _length_penalty(len(toks), length_penalty), s))
    finished.sort(key=lambda h: -h[1])
    return [(toks, float(score)) for toks, score, _ in finished[:n_best]]


# --- the public entry point ----------------------------------------------------------------------
def generate(model, prompt_ids, max_new_tokens, strategy="greedy", temperature=1.0, top_k=None,
             top_p=None, repetition_penalty=1.0, beam_width=4, length_penalty=0.0, eos_id=None,
             num_return_sequences=1, pad_id=None, seed=None, generator=None,
             early_stopping=False, return_scores=False):
    """Continue `prompt_ids` (B, T0) with up to `max_new_tokens` tokens.

    strategy:
        'greedy' - argmax of the (repetition-penalized) logits at every step.
        'sample' - draw from softmax(processed logits / temperature) after top-k / top-p
                   filtering; temperature=0 means greedy.
        'beam'   - beam search per prompt (see module docstring); returns the
                   `num_return_sequences` best hypotheses of each prompt, best first.
    Rows that emitted `eos_id` are padded with `pad_id` (default: eos_id) afterwards; generation
    stops when every row is finished.

    Returns an int64 tensor of shape (B * num_return_sequences, T0 + n) (prompt included). With
    return_scores=True, also a (B * num_return_sequences,) array: the total log-probability of
    the generated tokens (greedy/sample, under the unprocessed model distribution) or the beam
    score.
    """
    prompt = _np(prompt_ids).astype(np.int64)
    if prompt.ndim == 1:
        prompt = prompt[None, :]
    if strategy not in ("greedy", "sample", "beam"):
        raise ValueError(f"generate: unknown strategy {strategy!r} (greedy, sample, beam)")
    if temperature is not None and temperature < 0:
        raise ValueError(f"generate: temperature must be >= 0, got {temperature}")
    if seed is not None and generator is None:
        generator = Generator()
        generator.manual_seed(seed)
    pad_id = eos_id if pad_id is None else pad_id
    block = _block_size(model)
    crop = (lambda ids: ids[:, -block:]) if block else (lambda ids: ids)

    with no_grad():
        if strategy == "beam":
            return _generate_beam(model, prompt, max_new_tokens, beam_width, length_penalty,
                                  eos_id, num_return_sequences, pad_id, crop, repetition_penalty,
                                  early_stopping, return_scores)
        if num_return_sequences > 1:
            prompt = np.repeat(prompt, num_return_sequences, axis=0)
        B = prompt.shape[0]
        ids = prompt
        done = np.zeros(B, dtype=bool)
        total_logp = np.zeros(B)
        state, stateful = None, None
        logits, state, stateful = _call(model, crop(ids), None, None)
        for step in range(max_new_tokens):
            if step > 0:
                if stateful:   # recurrent LM: feed only the newest token with the carried state
                    logits, state, _ = _call(model, ids[:, -1:], state, True)
                else:
                    logits, _, _ = _call(model, crop(ids), None, False)
            raw_logp = _log_softmax(logits)
            greedy = strategy == "greedy" or not temperature
            x = process_logits(logits, ids, 1.0 if greedy else temperature,
                               None if greedy else top_k, None if greedy else top_p,
                               repetition_penalty)
            if greedy:
                nxt = x.argmax(-1)                                              # (B,)
            else:
                probs = np.exp(_log_softmax(x))                                 # (B, V)
                nxt = creation.multinomial(creation.tensor(probs, dtype=dtypes.float64), 1,
                                           generator=generator).numpy()[:, 0]
            nxt = np.where(done, pad_id if pad_id is not None else 0, nxt)
            total_logp += np.where(done, 0.0, raw_logp[np.arange(B), nxt])
            ids = np.concatenate([ids, nxt[:, None]], axis=1)                   # (B, t+1)
            if eos_id is not None:
                done |= nxt == eos_id
                if done.all():
                    break
        out = creation.tensor(ids, dtype=dtypes.int64)
        return (out, total_logp) if return_scores else out


def _generate_beam(model, prompt, max_new_tokens, beam_width, length_penalty, eos_id, n_best,
                   pad_id, crop, repetition_penalty, early_stopping, return_scores):
    def step_fn(prefixes, state):
        logits, _, _ = _call(model, crop(prefixes))   # recurrent LMs: full prefix, fresh state
        if repetition_penalty != 1.0:
            logits = apply_repetition_penalty(logits, prefixes, repetition_penalty)
        return _log_softmax(logits), None

    rows, scores = [], []
    for b in range(prompt.shape[0]):
        hyps = beam_search(step_fn, prompt[b].tolist(), beam_width, max_new_tokens, eos_id,
                           length_penalty, n_best, early_stopping=early_stopping)
        for toks, score in hyps:
            rows.append(prompt[b].tolist() + toks)
            scores.append(score)
    T = max(len(r) for r in rows)
    out = np.full((len(rows), T), pad_id if pad_id is not None else 0, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    out = creation.tensor(out, dtype=dtypes.int64)
    return (out, np.array(scores)) if return_scores else out
