"""English -> French translation with a GRU encoder-decoder and Bahdanau attention.

Uses the short Tatoeba pairs (lowercased, punctuation split, at most --max-len tokens), a 90/10
split, teacher forcing with probability --tf-ratio, and reports corpus BLEU-4 on held-out pairs
with greedy decoding and beam search.
    python experiments/seq2seq_translation.py --steps 300
"""
from _common import parser  # first: sets the BLAS thread count before NumPy loads
import os
import time

import numpy as np

import kindling
from kindling import optim
from kindling.nn.utils import clip_grad_norm_
from kindling.models import Seq2SeqGRU, Seq2SeqConfig
from kindling.text import TranslationPairs, pad_batch, corpus_bleu


def encode_batch(pairs, src_v, tgt_v):
    src, src_len = pad_batch([src_v.encode(s) for s, _ in pairs])
    tgt, _ = pad_batch([tgt_v.encode(t, add_bos=True, add_eos=True) for _, t in pairs])
    return src, src_len, tgt


def bleu(model, pairs, src_v, tgt_v, beam_width, by_src):
    src, src_len, _ = encode_batch(pairs, src_v, tgt_v)
    model.eval()
    outs = model.translate(src, src_len, max_len=15, beam_width=beam_width)
    model.train()
    hyps = [tgt_v.decode(o, skip_specials=True) for o in outs]
    refs = [by_src[tuple(s)] for s, _ in pairs]      # all translations of the sentence
    return corpus_bleu(hyps, refs), hyps


def main():
    args = parser(__doc__, 300, batch_size=(int, 64), lr=(float, 3e-3), max_len=(int, 6),
                  max_pairs=(int, 12000), tf_ratio=(float, 0.9), hidden=(int, 128),
                  eval_pairs=(int, 200)).parse_args()
    kindling.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    ds = TranslationPairs(os.path.join(args.data_dir, "translation", "fra-eng-52k", "fra.txt"),
                          max_len=args.max_len)
    pairs = [ds.pairs[i] for i in rng.permutation(len(ds))[:args.max_pairs]]
    by_src = {}
    for s, t in ds.pairs:
        by_src.setdefault(tuple(s), []).append(t)
    # split by English sentence so no test source is seen in training
    srcs = sorted({tuple(s) for s, _ in pairs})
    test_srcs = set(srcs[i] for i in rng.permutation(len(srcs))[:len(srcs) // 10])
    train = [p for p in pairs if tuple(p[0]) not in test_srcs]
    seen, test = set(), []
    for p in pairs:
        if tuple(p[0]) in test_srcs and tuple(p[0]) not in seen:
            seen.add(tuple(p[0]))
            test.append(p)
    test = test[:args.eval_pairs]
    src_v = kindling.text.WordVocab.build([s for s, _ in train], min_freq=1)
    tgt_v = kindling.text.WordVocab.build([t for _, t in train], min_freq=1)
    print(f"{len(train)} train pairs, {len(test)} test sources; vocab en {len(src_v)}, "
          f"fr {len(tgt_v)}")
    model = Seq2SeqGRU(Seq2SeqConfig(src_vocab_size=len(src_v), tgt_vocab_size=len(tgt_v),
                                     embed_dim=64, hidden_size=args.hidden,
                                     attn_dim=args.hidden, dropout=0.1,
                                     pad_id=tgt_v.pad_id, bos_id=tgt_v.bos_id,
                                     eos_id=tgt_v.eos_id))
    print(f"Seq2SeqGRU with {sum(p.numel() for p in model.parameters()):,} parameters")
    opt = optim.Adam(model.parameters(), lr=args.lr)
    t0 = time.time()
    for step in range(1, args.steps + 1):
        idx = rng.integers(0, len(train), args.batch_size)
        src, src_len, tgt = encode_batch([train[i] for i in idx], src_v, tgt_v)
        loss = model.loss(src, src_len, tgt, teacher_forcing_ratio=args.tf_ratio)
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == 1:
            print(f"step {step:5d}  loss {loss.item():.3f}  ({time.time() - t0:.0f}s)",
                  flush=True)
    greedy, hyps = bleu(model, test, src_v, tgt_v, 1, by_src)
    beam, _ = bleu(model, test, src_v, tgt_v, 4, by_src)
    print(f"final: test BLEU-4 greedy {100 * greedy:.2f}, beam(4) {100 * beam:.2f}")
    for (s, t), h in list(zip(test, hyps))[:8]:
        print(f"  {' '.join(s):30s} -> {' '.join(h):35s} (ref: {' '.join(t)})")


if __name__ == "__main__":
    main()
