"""Language models: char RNN LM, GPT, BERT, seq2seq, BiLSTM classifier."""
import numpy as np
import pytest

import kindling
from kindling import nn, optim
from kindling.nn import functional as F
from kindling.models import (CharLM, GPT, GPTConfig, BERT, BERTConfig, mask_tokens, Seq2SeqGRU,
                             TransformerSeq2Seq, BiLSTMClassifier)
from kindling.text import WordVocab, pad_batch, MASK


def _steps_lower_loss(model, loss_fn, steps=5, lr=1e-2):
    opt = optim.Adam(model.parameters(), lr=lr)
    first = None
    for _ in range(steps):
        loss = loss_fn()
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    return first, loss_fn().item()


# --- char LM ----------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_charlm_shapes_state_and_training(cell):
    m = CharLM(vocab_size=11, embed_dim=8, hidden_size=12, num_layers=2, cell=cell)
    ids = kindling.randint(0, 11, (3, 10))
    logits, state = m(ids)
    assert logits.shape == (3, 10, 11)
    # carrying the state over two halves equals one pass over the whole sequence
    a, s = m(ids[:, :4])
    b, _ = m(ids[:, 4:], s)
    np.testing.assert_allclose(kindling.cat([a, b], 1).detach().numpy(),
                               logits.detach().numpy(), atol=1e-5)
    x, y = ids[:, :-1], ids[:, 1:]
    first, last = _steps_lower_loss(
        m, lambda: F.cross_entropy(m(x)[0].reshape(-1, 11), y.reshape(-1)))
    assert last < first


def test_charlm_weight_tying():
    m = CharLM(vocab_size=11, embed_dim=8, hidden_size=8, num_layers=1, tie_weights=True)
    assert m.head.weight is m.embed.weight
    assert sum(p is m.embed.weight for p in m.parameters()) == 1
    with pytest.raises(ValueError, match="tie_weights"):
        CharLM(vocab_size=11, embed_dim=8, hidden_size=16, tie_weights=True)


# --- GPT ----------------------------------------------------------------------------------------
def small_gpt(**kw):
    cfg = dict(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16)
    cfg.update(kw)
    return GPT(GPTConfig(**cfg))


@pytest.mark.parametrize("bias", [True, False])
def test_gpt_parameter_count_matches_formula(bias):
    m = small_gpt(bias=bias)
    cfg = m.config
    C, L = cfg.n_embd, cfg.n_layer
    expected = cfg.vocab_size * C + cfg.block_size * C + L * (12 * C * C + (13 * C if bias
                                                                             else 2 * C)) \
        + (2 * C if bias else C)
    assert m.num_parameters() == expected == GPT.count_formula(cfg)
    assert m.num_parameters(non_embedding=True) == expected - cfg.block_size * C


def test_gpt_weight_tying_and_shapes():
    m = small_gpt()
    assert m.lm_head.weight is m.wte.weight
    assert sum(p is m.wte.weight for p in m.parameters()) == 1
    ids = kindling.randint(0, 13, (2, 8))
    logits, loss = m(ids, ids)
    assert logits.shape == (2, 8, 13) and loss.shape == ()
    loss.backward()
    assert m.wte.weight.grad is not None
    with pytest.raises(ValueError, match="block_size"):
        m(kindling.randint(0, 13, (1, 9)))


def test_gpt_is_causal():
    m = small_gpt().eval()
    ids = kindling.randint(0, 13, (1, 8))
    base = m(ids).detach().numpy()
    for t in (2, 5):
        changed = ids.clone()
        changed[0, t] = (int(ids[0, t]) + 1) % 13
        out = m(changed).detach().numpy()
        np.testing.assert_allclose(out[:, :t], base[:, :t], atol=1e-6)
        assert not np.allclose(out[:, t], base[:, t])


def test_gpt_training_step_lowers_loss():
    m = small_gpt()
    ids = kindling.randint(0, 13, (4, 8))
    first, last = _steps_lower_loss(m, lambda: m(ids[:, :-1], ids[:, 1:])[1])
    assert last < first


# --- BERT -----------------------------------------------------------------------------------------
def bert_vocab(n=40):
    return WordVocab([f"w{i}" for i in range(n)],
                     specials=("<pad>", "<unk>", "<cls>", "<sep>", MASK))


def test_mask_tokens_statistics():
    v = bert_vocab(200)
    ids = kindling.randint(5, len(v), (400, 128))
    ids[:, 0] = v.cls_id
    ids[:, -8:] = v.pad_id
    inputs, labels = mask_tokens(ids, v, prob=0.15)
    x, inp, lab = ids.numpy(), inputs.numpy(), labels.numpy()
    sel = lab != -100
    special = np.isin(x, [v.pad_id, v.cls_id])
    assert not sel[special].any()                          # specials never selected
    assert (inp[special] == x[special]).all()
    assert (lab[sel] == x[sel]).all()
    assert (inp[~sel] == x[~sel]).all()                     # unselected tokens untouched
    frac = sel.sum() / (~special).sum()
    assert abs(frac - 0.15) < 0.01
    masked = (inp[sel] == v.mask_id).mean()
    unchanged = (inp[sel] == x[sel]).mean()
    random = 1 - masked - unchanged
    assert abs(masked - 0.8) < 0.02
    assert abs(unchanged - 0.1 - 0.1 / 195) < 0.015         # random ids can equal the original
    assert abs(random - 0.1) < 0.015
    assert inp[sel & (inp != v.mask_id)].min() >= 5          # random ids are ordinary tokens


def test_mask_tokens_reproducible():
    v = bert_vocab()
    ids = kindling.randint(5, len(v), (4, 16))
    a = mask_tokens(ids, v, generator=kindling.Generator().manual_seed(1))
    b = mask_tokens(ids, v, generator=kindling.Generator().manual_seed(1))
    assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()


@pytest.mark.parametrize("norm_first", [False, True])
def test_bert_shapes_padding_and_training(norm_first):
    v = bert_vocab()
    m = BERT(BERTConfig(vocab_size=len(v), max_len=16, n_layer=2, n_head=2, n_embd=16,
                        ffn_dim=32, dropout=0.0, norm_first=norm_first, num_classes=3))
    ids = kindling.randint(5, len(v), (3, 10))
    ids[:, 0] = v.cls_id
    h = m(ids)
    assert h.shape == (3, 10, 16)
    assert m.mlm_logits(h).shape == (3, 10, len(v)) and m.classify(ids).shape == (3, 3)
    # the MLM output layer is the token embedding matrix
    expected = m.mlm_ln(F.gelu(m.mlm_dense(h))) @ m.tok_embed.weight.t() + m.mlm_bias
    np.testing.assert_allclose(m.mlm_logits(h).detach().numpy(), expected.detach().numpy(),
                               atol=1e-6)
    # appending padding leaves the real positions unchanged
    m.eval()
    padded = kindling.cat([ids, kindling.zeros(3, 4, dtype=kindling.int64)], 1)
    np.testing.assert_allclose(m(padded)[:, :10].detach().numpy(), m(ids).detach().numpy(),
                               atol=1e-5)
    m.train()
    inputs, labels = mask_tokens(ids, v, prob=0.5)
    first, last = _steps_lower_loss(m, lambda: m.mlm_loss(inputs, labels))
    assert last < first
    y = kindling.tensor([0, 1, 2])
    first, last = _steps_lower_loss(m, lambda: F.cross_entropy(m.classify(ids), y))
    assert last < first


# --- seq2seq --------------------------------------------------------------------------------------
def test_seq2seq_gru_teacher_forcing_paths_and_training():
    m = Seq2SeqGRU(src_vocab_size=12, tgt_vocab_size=13, embed_dim=8, hidden_size=10,
                   attn_dim=10, dropout=0.0)
    src = kindling.randint(4, 12, (3, 5))
    src[1, 3:] = 0
    src_len = kindling.tensor([5, 3, 5])
    tgt = kindling.randint(4, 13, (3, 6))
    tgt[:, 0] = 2
    full = m(src, src_len, tgt, teacher_forcing_ratio=1.0)
    free = m(src, src_len, tgt, teacher_forcing_ratio=0.0)
    assert full.shape == free.shape == (3, 5, 13)
    np.testing.assert_allclose(full[:, 0].detach().numpy(), free[:, 0].detach().numpy())
    free.sum().backward()
    # padding of the source does not change the result
    short = m(src[1:2, :3], src_len[1:2], tgt[1:2])
    np.testing.assert_allclose(short.detach().numpy(), full[1:2].detach().numpy(), atol=1e-5)
    m.zero_grad()
    first, last = _steps_lower_loss(m, lambda: m.loss(src, src_len, tgt, 0.5))
    assert last < first
    greedy = m.translate(src, src_len, max_len=6)
    beam1 = m.translate(src, src_len, max_len=6, beam_width=1)
    assert greedy == beam1 and len(m.translate(src, src_len, max_len=6, beam_width=3)) == 3


@pytest.mark.skipif(not hasattr(nn, "Transformer"), reason="nn.Transformer not available")
def test_transformer_seq2seq():
    m = TransformerSeq2Seq(src_vocab_size=12, tgt_vocab_size=13, d_model=16, nhead=2,
                           num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32,
                           dropout=0.0, max_len=16)
    src = kindling.randint(4, 12, (3, 5))
    tgt = kindling.randint(4, 13, (3, 6))
    tgt[:, 0] = 2
    assert m(src, tgt[:, :-1]).shape == (3, 5, 13)
    m.eval()
    base = m(src, tgt[:, :-1]).detach().numpy()
    changed = tgt.clone()
    changed[:, 3] = 4 + (changed[:, 3] - 3) % 9
    out = m(src, changed[:, :-1]).detach().numpy()
    np.testing.assert_allclose(out[:, :3], base[:, :3], atol=1e-5)     # causal decoder
    m.train()
    first, last = _steps_lower_loss(m, lambda: m.loss(src, tgt))
    assert last < first
    assert len(m.translate(src, max_len=5, beam_width=2)) == 3


# --- BiLSTM classifier ----------------------------------------------------------------------------
@pytest.mark.parametrize("pool", ["max", "mean"])
def test_classifier_padding_invariance(pool):
    m = BiLSTMClassifier(vocab_size=20, embed_dim=6, hidden_size=5, num_classes=3, pool=pool)
    ids, lengths = pad_batch([[4, 5, 6], [7, 8, 9, 10, 11, 12], [13]])
    out = m(ids, lengths)
    assert out.shape == (3, 3)
    for i, seq in enumerate([[4, 5, 6], [7, 8, 9, 10, 11, 12], [13]]):
        alone = m(kindling.tensor([seq]), kindling.tensor([len(seq)]))
        np.testing.assert_allclose(alone.detach().numpy(), out[i:i + 1].detach().numpy(),
                                   atol=1e-5)
    out.sum().backward()


def _negation_data(n, rng):
    fill = ["the", "movie", "was", "food", "really", "service", "it", "quite", "so"]
    data = []
    for _ in range(n):
        pol, neg = str(rng.choice(["good", "bad"])), bool(rng.random() < 0.5)
        words = [str(w) for w in rng.choice(fill, rng.integers(1, 5))]
        pos = int(rng.integers(0, len(words) + 1))
        sent = words[:pos] + (["not"] if neg else []) + [pol] + words[pos:]
        data.append((sent, int((pol == "good") != neg), neg))
    return data


def test_bilstm_learns_negation():
    """'not good' is negative and 'not bad' positive: a bag of words cannot separate these
    (the label is the XOR of two word indicators); the BiLSTM can."""
    rng = np.random.default_rng(0)
    train, test = _negation_data(600, rng), _negation_data(300, rng)
    vocab = WordVocab.build([d[0] for d in train])
    m = BiLSTMClassifier(vocab_size=len(vocab), embed_dim=16, hidden_size=16)
    opt = optim.Adam(m.parameters(), lr=0.02)
    for epoch in range(4):
        order = rng.permutation(len(train))
        for s in range(0, len(order), 32):
            batch = [train[i] for i in order[s:s + 32]]
            ids, lengths = pad_batch([vocab.encode(d[0]) for d in batch])
            loss = F.cross_entropy(m(ids, lengths), kindling.tensor([d[1] for d in batch]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    m.eval()
    with kindling.no_grad():
        ids, lengths = pad_batch([vocab.encode(d[0]) for d in test])
        pred = m(ids, lengths).argmax(1).numpy()
    y = np.array([d[1] for d in test])
    negated = np.array([d[2] for d in test])
    assert (pred == y).mean() > 0.95
    assert (pred == y)[negated].mean() > 0.95
