"""Training loops of the language tasks, shared by `kindling train --task ...` and the scripts in
experiments/ (one place per loop).

Each `train_*` function reads its data from `data_dir` (the shared data folder holding
tinyshakespeare/, sentiment-labelled-sentences/, translation/), trains for `steps` optimizer
steps, prints progress through `log`, and returns a result dict:

    {"task": str, "model": Module, "config": dict (the model's dataclass config as a dict),
     "vocab": dict (or {"src": dict, "tgt": dict}), "metrics": {name: float},
     "summary": str (one line), "extra": {...task-specific outputs}}

`checkpoint(result)` turns it into the data-only dict written by kindling.save;
`load_task_model` rebuilds the model and its vocabulary from such a checkpoint, and
`classify_sentiment` / `translate` (and the model's own `nearest` / `analogy` for word2vec,
`kindling.generate` for the character models) use it on new input.

This module imports models and optimizers, so it sits above kindling.models in the dependency
order; kindling.text/__init__ does not import it (import kindling.text.tasks explicitly).
"""
import math
import os
import time
from dataclasses import asdict

import numpy as np

from .. import creation
from ..engine.grad_mode import no_grad
from ..random import manual_seed
from .batching import bptt_batches, pad_batch, random_blocks
from .bleu import corpus_bleu
from .datasets import SentimentSentences, TinyShakespeare, TranslationPairs
from .tokenize import word_tokenize
from .vocab import CharVocab, Vocab, WordVocab

SENTIMENT_PROBES = ["the food was good", "the food was not good", "the movie was bad",
                    "the movie was not bad", "i did not like it at all",
                    "not bad at all , i liked it", "great phone", "this is not a great phone",
                    "i would not recommend this place", "never disappointed"]
WORD2VEC_QUERIES = ["king", "love", "good", "he", "thou", "lord", "death", "night"]


def _path(data_dir, *parts):
    path = os.path.join(data_dir, *parts)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such data file or folder: {path}")
    return path


def _vocab_dict(vocab):
    """JSON-able vocabulary: the id order, and the token counts where the vocabulary has them
    (word2vec's noise and subsampling distributions are made from them)."""
    d = {"class": type(vocab).__name__, "specials": list(vocab.specials),
         "itos": list(vocab.itos[len(vocab.specials):])}
    if vocab.counts:
        d["counts"] = [int(vocab.counts.get(t, 0)) for t in d["itos"]]
    return d


def vocab_from_dict(d):
    kind = {"Vocab": Vocab, "CharVocab": CharVocab, "WordVocab": WordVocab}[d["class"]]
    vocab = kind(d["itos"], specials=d["specials"])
    if "counts" in d:
        vocab.counts = dict(zip(d["itos"], d["counts"]))
    return vocab


def checkpoint(result, train_args=None):
    """The dict saved by kindling.save for a task result."""
    return {"task": result["task"], "model_state": result["model"].state_dict(),
            "config": result["config"], "vocab": result["vocab"],
            "metrics": result["metrics"], "train_args": dict(train_args or {})}


def load_task_model(ckpt):
    """(model in eval mode, vocabulary) from the checkpoint dict of any task; for seq2seq the
    vocabulary is {"src": WordVocab, "tgt": WordVocab}."""
    from .. import models
    task, config = ckpt["task"], ckpt["config"]
    if task == "word2vec":
        vocab = vocab_from_dict(ckpt["vocab"])
        model = models.Word2Vec(vocab, models.Word2VecConfig(**config))
    elif task == "seq2seq":
        vocab = {side: vocab_from_dict(d) for side, d in ckpt["vocab"].items()}
        model = models.Seq2SeqGRU(models.Seq2SeqConfig(**config))
    else:
        vocab = vocab_from_dict(ckpt["vocab"])
        build = {"char-lstm": lambda: models.CharLM(models.CharLMConfig(**config)),
                 "char-gru": lambda: models.CharLM(models.CharLMConfig(**config)),
                 "char-gpt": lambda: models.GPT(models.GPTConfig(**config)),
                 "sentiment": lambda: models.BiLSTMClassifier(models.BiLSTMConfig(**config))}
        if task not in build:
            raise ValueError(f"unknown task {task!r}")
        model = build[task]()
    model.load_state_dict(ckpt["model_state"])
    model.eval()
    return model, vocab


def classify_sentiment(model, vocab, sentences):
    """[(label, probability of that label)] of a sentiment BiLSTM for raw sentences; labels
    as in the UCI data: 0 negative, 1 positive."""
    import kindling.nn.functional as F
    ids, lengths = pad_batch([vocab.encode(word_tokenize(s)) for s in sentences])
    with no_grad():
        probs = F.softmax(model(ids, lengths), dim=1).numpy()
    return [(int(p.argmax()), float(p.max())) for p in probs]


def translate(model, vocabs, sentences, beam_width=1, max_len=15):
    """Translations (space-separated tokens, as the training examples) of raw sentences."""
    src, src_len = pad_batch([vocabs["src"].encode(word_tokenize(s)) for s in sentences])
    with no_grad():
        outs = model.translate(src, src_len, max_len=max_len, beam_width=beam_width)
    return [" ".join(vocabs["tgt"].decode(o, skip_specials=True)) for o in outs]


# --- character language models -----------------------------------------------------------------
def char_lm_loss(model, data, batch_size, bptt, max_batches=20):
    """Mean cross-entropy (nats/char) of a recurrent CharLM over the first `max_batches` BPTT
    batches of `data`, carrying the state across batches."""
    import kindling.nn.functional as F
    model.eval()
    total, n, state = 0.0, 0, None
    with no_grad():
        for i, (x, y) in enumerate(bptt_batches(data, batch_size, bptt)):
            if i >= max_batches:
                break
            logits, state = model(x, state)                       # (B, T, V)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                     y.reshape(-1)).item() * y.numel()
            n += y.numel()
    model.train()
    return total / n


def gpt_loss(model, data, block_size, batch_size, iters=10):
    """Mean cross-entropy of a GPT over `iters` random blocks of `data`."""
    model.eval()
    total = 0.0
    with no_grad():
        for _ in range(iters):
            x, y = random_blocks(data, block_size, batch_size)
            total += model(x, y)[1].item()
    model.train()
    return total / iters


def train_char_lm(data_dir, steps=300, seed=0, batch_size=32, bptt=64, hidden=256, layers=1,
                  embed_dim=64, lr=3e-3, cell="lstm", clip=5.0, eval_batches=20, log=print):
    """char-rnn: truncated BPTT over contiguous batches, the state carried across batches and
    detached; Adam with gradient-norm clipping."""
    from .. import optim
    import kindling.nn.functional as F
    from ..nn.utils import clip_grad_norm_
    from ..models import CharLM, CharLMConfig
    manual_seed(seed)
    ds = TinyShakespeare(_path(data_dir, "tinyshakespeare", "input.txt"))
    log(repr(ds))
    config = CharLMConfig(vocab_size=len(ds.vocab), embed_dim=embed_dim, hidden_size=hidden,
                          num_layers=layers, cell=cell)
    model = CharLM(config)
    log(f"{cell.upper()} LM with {model.num_parameters():,} parameters")
    opt = optim.Adam(model.parameters(), lr=lr)
    step, state, t0, loss = 0, None, time.time(), None
    while step < steps:
        for x, y in bptt_batches(ds.train, batch_size, bptt):
            state = model.detach_state(state)
            logits, state = model(x, state)                       # (B, T, V)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), clip)
            opt.step()
            step += 1
            if step % 50 == 0 or step == 1:
                log(f"step {step:5d}  train loss {loss.item():.3f}  ({time.time() - t0:.0f}s)")
            if step >= steps:
                break
    val = char_lm_loss(model, ds.val, batch_size, bptt, eval_batches)
    summary = (f"val loss {val:.3f} nats/char ({val / math.log(2):.3f} bits/char), uniform "
               f"would be {math.log(len(ds.vocab)):.3f}")
    return {"task": f"char-{cell}", "model": model, "config": asdict(config),
            "vocab": _vocab_dict(ds.vocab), "metrics": {"val_loss": val, "steps": steps},
            "summary": summary, "extra": {"dataset": ds}}


def train_char_gpt(data_dir, steps=300, seed=0, batch_size=16, block_size=64, n_layer=2,
                   n_head=4, n_embd=128, lr=1e-3, weight_decay=0.1, eval_iters=10, log=print):
    """nanoGPT's shakespeare_char, scaled down: random blocks, AdamW (decay on matrices only)."""
    from ..models import GPT, GPTConfig
    manual_seed(seed)
    ds = TinyShakespeare(_path(data_dir, "tinyshakespeare", "input.txt"))
    config = GPTConfig(vocab_size=len(ds.vocab), block_size=block_size, n_layer=n_layer,
                       n_head=n_head, n_embd=n_embd, dropout=0.0)
    model = GPT(config)
    log(repr(ds))
    log(f"GPT {config} with {model.num_parameters():,} parameters "
        f"(formula {GPT.count_formula(config):,})")
    opt = model.configure_optimizer(lr=lr, weight_decay=weight_decay)
    t0 = time.time()
    for step in range(1, steps + 1):
        x, y = random_blocks(ds.train, block_size, batch_size)    # (B, T) each
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == 1:
            log(f"step {step:5d}  train loss {loss.item():.3f}  ({time.time() - t0:.0f}s)")
    val = gpt_loss(model, ds.val, block_size, batch_size, eval_iters)
    summary = f"val loss {val:.3f} nats/char (uniform {math.log(len(ds.vocab)):.3f})"
    return {"task": "char-gpt", "model": model, "config": asdict(config),
            "vocab": _vocab_dict(ds.vocab), "metrics": {"val_loss": val, "steps": steps},
            "summary": summary, "extra": {"dataset": ds}}


# --- sentiment ---------------------------------------------------------------------------------
def _sentence_batches(data, batch_size, rng):
    while True:
        order = rng.permutation(len(data))
        for s in range(0, len(order) - batch_size + 1, batch_size):
            yield [data[i] for i in order[s:s + batch_size]]


def _accuracy(predict, data):
    with no_grad():
        pred = predict([d[0] for d in data])
    return float((pred == np.array([d[1] for d in data])).mean())


def train_sentiment(data_dir, steps=400, seed=0, batch_size=32, hidden=64, lr=3e-3,
                    eval_every=100, baseline=True, log=print):
    """BiLSTM (max-pooled) on the 3,000 UCI sentences, 80/20 split by a seeded shuffle; with
    `baseline`, a bag-of-words logistic regression trained on the same batches. Returns the
    test accuracies and the predictions on SENTIMENT_PROBES (negations) in extra["probes"]."""
    from .. import nn, optim
    import kindling.nn.functional as F
    from ..models import BiLSTMClassifier, BiLSTMConfig
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    ds = SentimentSentences(_path(data_dir, "sentiment-labelled-sentences"))
    toks = ds.tokens()
    order = rng.permutation(len(ds))
    split = int(0.8 * len(ds))
    train = [(toks[i], ds.labels[i]) for i in order[:split]]
    test = [(toks[i], ds.labels[i]) for i in order[split:]]
    vocab = WordVocab.build([t for t, _ in train], min_freq=1)
    log(f"{len(train)} train / {len(test)} test sentences, vocabulary {len(vocab)}")
    config = BiLSTMConfig(vocab_size=len(vocab), embed_dim=64, hidden_size=hidden,
                          dropout=0.3, pool="max")
    model = BiLSTMClassifier(config)
    bow = nn.Linear(len(vocab), 2)

    def bow_features(sents):
        x = np.zeros((len(sents), len(vocab)), np.float32)       # (N, V) word presence
        for i, s in enumerate(sents):
            x[i, vocab.encode(s)] = 1.0
        return creation.tensor(x)

    def lstm_predict(sents):
        model.eval()
        ids, lengths = pad_batch([vocab.encode(s) for s in sents])
        out = model(ids, lengths).argmax(1).numpy()
        model.train()
        return out

    opt = optim.Adam(model.parameters(), lr=lr)
    opt_bow = optim.Adam(bow.parameters(), lr=1e-2, weight_decay=1e-4)
    t0 = time.time()
    for step, batch in zip(range(1, steps + 1), _sentence_batches(train, batch_size, rng)):
        y = creation.tensor([d[1] for d in batch])
        ids, lengths = pad_batch([vocab.encode(d[0]) for d in batch])
        loss = F.cross_entropy(model(ids, lengths), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if baseline:
            bow_loss = F.cross_entropy(bow(bow_features([d[0] for d in batch])), y)
            opt_bow.zero_grad()
            bow_loss.backward()
            opt_bow.step()
        if step % eval_every == 0 or step == 1:
            log(f"step {step:5d}  loss {loss.item():.3f}  test acc "
                f"{_accuracy(lstm_predict, test):.3f}  ({time.time() - t0:.0f}s)")
    lstm_acc = _accuracy(lstm_predict, test)
    metrics = {"test_acc": lstm_acc, "steps": steps}
    summary = f"BiLSTM test accuracy {lstm_acc:.3f}"
    probe_toks = [word_tokenize(p) for p in SENTIMENT_PROBES]
    with no_grad():
        lstm_probes = lstm_predict(probe_toks).tolist()
        bow_probes = bow(bow_features(probe_toks)).argmax(1).numpy().tolist()
    if baseline:
        metrics["bow_test_acc"] = _accuracy(
            lambda s: bow(bow_features(s)).argmax(1).numpy(), test)
        summary += f", bag-of-words baseline {metrics['bow_test_acc']:.3f}"
    return {"task": "sentiment", "model": model, "config": asdict(config),
            "vocab": _vocab_dict(vocab), "metrics": metrics, "summary": summary,
            "extra": {"probes": list(zip(SENTIMENT_PROBES, lstm_probes,
                                         bow_probes if baseline else [None] * len(probe_toks)))}}


# --- translation -------------------------------------------------------------------------------
def _encode_pairs(pairs, src_v, tgt_v):
    src, src_len = pad_batch([src_v.encode(s) for s, _ in pairs])              # (B, S)
    tgt, _ = pad_batch([tgt_v.encode(t, add_bos=True, add_eos=True) for _, t in pairs])
    return src, src_len, tgt


def _bleu(model, pairs, src_v, tgt_v, beam_width, by_src):
    src, src_len, _ = _encode_pairs(pairs, src_v, tgt_v)
    model.eval()
    outs = model.translate(src, src_len, max_len=15, beam_width=beam_width)
    model.train()
    hyps = [tgt_v.decode(o, skip_specials=True) for o in outs]
    refs = [by_src[tuple(s)] for s, _ in pairs]      # all translations of the sentence
    return corpus_bleu(hyps, refs), hyps


def train_seq2seq(data_dir, steps=300, seed=0, batch_size=64, hidden=128, lr=3e-3, max_len=6,
                  max_pairs=12000, tf_ratio=0.9, eval_pairs=200, beam_width=4, log=print):
    """English -> French GRU encoder-decoder with Bahdanau attention on the short Tatoeba pairs;
    split by English sentence (no test source seen in training); corpus BLEU-4 on held-out
    sources with greedy decoding and beam search (all translations of a source are references).
    """
    from .. import optim
    from ..nn.utils import clip_grad_norm_
    from ..models import Seq2SeqGRU, Seq2SeqConfig
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    ds = TranslationPairs(_path(data_dir, "translation", "fra-eng-52k", "fra.txt"),
                          max_len=max_len)
    pairs = [ds.pairs[i] for i in rng.permutation(len(ds))[:max_pairs]]
    by_src = {}
    for s, t in ds.pairs:
        by_src.setdefault(tuple(s), []).append(t)
    srcs = sorted({tuple(s) for s, _ in pairs})
    test_srcs = set(srcs[i] for i in rng.permutation(len(srcs))[:len(srcs) // 10])
    train = [p for p in pairs if tuple(p[0]) not in test_srcs]
    seen, test = set(), []
    for p in pairs:
        if tuple(p[0]) in test_srcs and tuple(p[0]) not in seen:
            seen.add(tuple(p[0]))
            test.append(p)
    test = test[:eval_pairs]
    src_v = WordVocab.build([s for s, _ in train], min_freq=1)
    tgt_v = WordVocab.build([t for _, t in train], min_freq=1)
    log(f"{len(train)} train pairs, {len(test)} test sources; vocab en {len(src_v)}, "
        f"fr {len(tgt_v)}")
    config = Seq2SeqConfig(src_vocab_size=len(src_v), tgt_vocab_size=len(tgt_v), embed_dim=64,
                           hidden_size=hidden, attn_dim=hidden, dropout=0.1,
                           pad_id=tgt_v.pad_id, bos_id=tgt_v.bos_id, eos_id=tgt_v.eos_id)
    model = Seq2SeqGRU(config)
    log(f"Seq2SeqGRU with {sum(p.numel() for p in model.parameters()):,} parameters")
    opt = optim.Adam(model.parameters(), lr=lr)
    t0 = time.time()
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(train), batch_size)
        src, src_len, tgt = _encode_pairs([train[i] for i in idx], src_v, tgt_v)
        loss = model.loss(src, src_len, tgt, teacher_forcing_ratio=tf_ratio)
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == 1:
            log(f"step {step:5d}  loss {loss.item():.3f}  ({time.time() - t0:.0f}s)")
    greedy, hyps = _bleu(model, test, src_v, tgt_v, 1, by_src)
    beam, _ = _bleu(model, test, src_v, tgt_v, beam_width, by_src)
    summary = (f"test BLEU-4 greedy {100 * greedy:.2f}, beam({beam_width}) {100 * beam:.2f} "
               f"on {len(test)} held-out sources")
    examples = [(" ".join(s), " ".join(h), " ".join(t)) for (s, t), h in zip(test, hyps)]
    return {"task": "seq2seq", "model": model, "config": asdict(config),
            "vocab": {"src": _vocab_dict(src_v), "tgt": _vocab_dict(tgt_v)},
            "metrics": {"bleu_greedy": greedy, "bleu_beam": beam, "steps": steps},
            "summary": summary, "extra": {"examples": examples}}


# --- word2vec ----------------------------------------------------------------------------------
def train_word2vec(data_dir, steps=2000, seed=0, batch_size=512, dim=64, window=4, min_count=5,
                   lr=3e-3, queries=WORD2VEC_QUERIES, k=6, log=print):
    """Skip-gram with negative sampling on the words of Tiny Shakespeare; `steps` counts
    mini-batches of (center, context) pairs. extra["neighbours"]: {word: [(word, cosine)]}."""
    from .. import optim
    from ..models import Word2Vec, Word2VecConfig
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    with open(_path(data_dir, "tinyshakespeare", "input.txt"), encoding="utf-8") as f:
        lines = [word_tokenize(line) for line in f.read().split("\n") if line.strip()]
    sents = [[w for w in line if w.isalpha()] for line in lines]
    config = Word2VecConfig(embed_dim=dim, window=window, negatives=5, min_count=min_count,
                            subsample=1e-4)
    model = Word2Vec.build(sents, config)
    log(f"{sum(map(len, sents)):,} words, vocabulary {len(model.vocab):,} "
        f"(min_count {min_count})")
    opt = optim.Adam(model.parameters(), lr=lr)
    step, t0, loss = 0, time.time(), None
    while step < steps:
        centers, contexts = model.make_examples(sents, rng)
        order = rng.permutation(len(centers))
        log(f"epoch of {len(centers):,} pairs after subsampling")
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            negs = rng.choice(len(model.noise), size=(len(idx), config.negatives),
                              p=model.noise)                     # (B, negatives)
            loss = model.loss(creation.tensor(centers[idx]), creation.tensor(contexts[idx]),
                              creation.tensor(negs))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % 200 == 0 or step == 1:
                log(f"step {step:5d}  loss {loss.item():.3f}  ({time.time() - t0:.0f}s)")
            if step >= steps:
                break
    neighbours = {w: [(n, float(c)) for n, c in model.nearest(w, k)]
                  for w in queries if w in model.vocab}
    summary = f"final loss {loss.item():.3f}; nearest neighbours of {len(neighbours)} words"
    return {"task": "word2vec", "model": model, "config": asdict(config),
            "vocab": _vocab_dict(model.vocab), "metrics": {"loss": loss.item(), "steps": steps},
            "summary": summary, "extra": {"neighbours": neighbours}}
