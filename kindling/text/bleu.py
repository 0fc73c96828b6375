"""Corpus BLEU (Papineni et al. 2002) over token lists.

BLEU-4 = BP * exp(sum_n 1/4 * log p_n), where p_n is the modified n-gram precision pooled over
the whole corpus (each candidate n-gram count is clipped by its maximum count in any reference)
and BP = min(1, exp(1 - r/c)) with c the total candidate length and r the total of the reference
lengths closest to each candidate's length (ties: the shorter reference). No smoothing: if some
p_n is 0 the score is 0, as in the paper and in sacrebleu with smooth_method='none'. Scores are
in [0, 1] (multiply by 100 for the usual presentation).
"""
import math
from collections import Counter


def ngram_counts(tokens, n):
    """Counter of the n-grams (tuples) of a token list."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _as_refs(refs):
    # one reference given as a token list -> [tokens]
    if refs and isinstance(refs[0], str):
        return [refs]
    return refs


def corpus_bleu(candidates, references, max_n=4, weights=None, return_stats=False):
    """BLEU of `candidates` (list of token lists) against `references` (per candidate a list of
    reference token lists, or a single token list)."""
    if len(candidates) != len(references):
        raise ValueError(f"corpus_bleu: {len(candidates)} candidates but {len(references)} "
                         f"reference sets")
    weights = weights or [1.0 / max_n] * max_n
    matches = [0] * max_n
    totals = [0] * max_n
    c_len = r_len = 0
    for cand, refs in zip(candidates, references):
        refs = _as_refs(refs)
        c_len += len(cand)
        # closest reference length, ties broken toward the shorter reference
        r_len += min((abs(len(r) - len(cand)), len(r)) for r in refs)[1]
        for n in range(1, max_n + 1):
            cand_counts = ngram_counts(cand, n)
            max_ref = Counter()
            for r in refs:
                for g, c in ngram_counts(r, n).items():
                    max_ref[g] = max(max_ref[g], c)
            matches[n - 1] += sum(min(c, max_ref[g]) for g, c in cand_counts.items())
            totals[n - 1] += max(len(cand) - n + 1, 0)
    precisions = [m / t if t else 0.0 for m, t in zip(matches, totals)]
    if c_len == 0 or min(precisions) == 0:
        score = 0.0
    else:
        log_p = sum(w * math.log(p) for w, p in zip(weights, precisions))
        bp = 1.0 if c_len > r_len else math.exp(1 - r_len / c_len)
        score = bp * math.exp(log_p)
    if return_stats:
        bp = 1.0 if c_len > r_len or c_len == 0 else math.exp(1 - r_len / c_len)
        return score, {"precisions": precisions, "bp": bp, "sys_len": c_len, "ref_len": r_len}
    return score


def sentence_bleu(candidate, references, max_n=4):
    return corpus_bleu([candidate], [references], max_n=max_n)
