"""kindling.distributions against torch.distributions: log_prob, entropy, moments, cdf/icdf,
KL divergences, sample shapes and statistics, reparameterized gradients, argument checks."""
import numpy as np
import pytest
import torch
import torch.distributions as TD

import kindling as K
import kindling.distributions as KD

RNG = np.random.default_rng(0)


def close(k, t, atol=1e-6):
    assert tuple(k.shape) == tuple(t.shape)
    np.testing.assert_allclose(k.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=atol)


def f32(*shape, lo=None, hi=None):
    if lo is None:
        return RNG.standard_normal(shape).astype(np.float32)
    return RNG.uniform(lo, hi, shape).astype(np.float32)


def test_normal_matches_torch():
    loc, scale, v = f32(2, 3), f32(2, 3, lo=0.5, hi=2), f32(4, 2, 3)
    k, t = KD.Normal(K.tensor(loc), K.tensor(scale)), TD.Normal(torch.tensor(loc),
                                                                torch.tensor(scale))
    for name in ("log_prob", "cdf"):
        close(getattr(k, name)(K.tensor(v)), getattr(t, name)(torch.tensor(v)))
    p = f32(2, 3, lo=0.05, hi=0.95)
    close(k.icdf(K.tensor(p)), t.icdf(torch.tensor(p)), atol=1e-5)
    for name in ("mean", "stddev", "variance", "mode"):
        close(getattr(k, name), getattr(t, name))
    close(k.entropy(), t.entropy())
    assert k.batch_shape == t.batch_shape and k.sample((5, 4)).shape == t.sample((5, 4)).shape
    close(KD.Normal(0.0, 1.0).log_prob(K.tensor(v)), TD.Normal(0.0, 1.0).log_prob(torch.tensor(v)))


def test_normal_rsample_is_reparameterized_and_sample_is_not():
    loc = K.tensor([1.0, -2.0], requires_grad=True)
    scale = K.tensor([0.5, 2.0], requires_grad=True)
    K.manual_seed(0)
    draws = KD.Normal(loc, scale).rsample((20000,))
    draws.mean(0).sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [1.0, 1.0], rtol=1e-3)   # d mean / d loc
    np.testing.assert_allclose(draws.mean(0).detach().numpy(), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(draws.std(0).detach().numpy(), [0.5, 2.0], rtol=0.03)
    assert not KD.Normal(loc, scale).sample((3,)).requires_grad


def test_bernoulli_matches_torch():
    p, logits = f32(2, 4, lo=0.05, hi=0.95), f32(2, 4)
    v = (RNG.random((3, 2, 4)) > 0.5).astype(np.float32)
    for kd, td in ((KD.Bernoulli(K.tensor(p)), TD.Bernoulli(torch.tensor(p))),
                   (KD.Bernoulli(logits=K.tensor(logits)),
                    TD.Bernoulli(logits=torch.tensor(logits)))):
        close(kd.log_prob(K.tensor(v)), td.log_prob(torch.tensor(v)))
        close(kd.entropy(), td.entropy())
        close(kd.logits, td.logits, atol=1e-5)
        for name in ("mean", "variance", "mode"):
            close(getattr(kd, name), getattr(td, name))
        s = kd.sample((2000,))
        assert s.shape == td.sample((2000,)).shape and set(np.unique(s.numpy())) <= {0.0, 1.0}
        np.testing.assert_allclose(s.mean(0).numpy(), kd.probs.numpy(), atol=0.05)


def test_categorical_matches_torch():
    p, logits = f32(3, 5, lo=0.1, hi=1.0), f32(3, 5)
    v = RNG.integers(0, 5, (4, 3))
    for kd, td in ((KD.Categorical(K.tensor(p)), TD.Categorical(torch.tensor(p))),
                   (KD.Categorical(logits=K.tensor(logits)),
                    TD.Categorical(logits=torch.tensor(logits)))):
        close(kd.log_prob(K.tensor(v)), td.log_prob(torch.tensor(v)))
        close(kd.entropy(), td.entropy())
        close(kd.probs, td.probs)
        close(kd.logits, td.logits, atol=1e-5)
        assert kd.mode.tolist() == td.mode.tolist() and kd.batch_shape == td.batch_shape
        s = kd.sample((4000,))
        assert s.shape == td.sample((4000,)).shape and s.dtype == K.int64
        freq = np.stack([(s.numpy() == c).mean(0) for c in range(5)], -1)
        np.testing.assert_allclose(freq, kd.probs.numpy(), atol=0.04)


def test_uniform_matches_torch():
    lo, hi = f32(3, lo=-2, hi=0), f32(3, lo=1, hi=3)
    k, t = KD.Uniform(K.tensor(lo), K.tensor(hi)), TD.Uniform(torch.tensor(lo), torch.tensor(hi))
    v = f32(3, lo=0, hi=1)
    for name in ("log_prob", "cdf"):
        close(getattr(k, name)(K.tensor(v)), getattr(t, name)(torch.tensor(v)))
    close(k.icdf(K.tensor(v)), t.icdf(torch.tensor(v)))
    close(k.entropy(), t.entropy())
    for name in ("mean", "variance", "stddev"):
        close(getattr(k, name), getattr(t, name))
    s = k.rsample((1000,))
    assert ((s.numpy() >= lo) & (s.numpy() < hi)).all()


def test_kl_divergences_match_torch():
    a, b = f32(4), f32(4)
    sa, sb = f32(4, lo=0.5, hi=2), f32(4, lo=0.5, hi=2)
    close(KD.kl_divergence(KD.Normal(K.tensor(a), K.tensor(sa)),
                           KD.Normal(K.tensor(b), K.tensor(sb))),
          TD.kl_divergence(TD.Normal(torch.tensor(a), torch.tensor(sa)),
                           TD.Normal(torch.tensor(b), torch.tensor(sb))))
    p, q = f32(2, 5, lo=0.1, hi=1), f32(2, 5, lo=0.1, hi=1)
    q[0, 1] = 0.0                                          # q gives zero mass: KL is inf
    close(KD.kl_divergence(KD.Categorical(K.tensor(p)), KD.Categorical(K.tensor(q))),
          TD.kl_divergence(TD.Categorical(torch.tensor(p)), TD.Categorical(torch.tensor(q))))
    bp, bq = f32(5, lo=0.05, hi=0.95), f32(5, lo=0.05, hi=0.95)
    close(KD.kl_divergence(KD.Bernoulli(K.tensor(bp)), KD.Bernoulli(K.tensor(bq))),
          TD.kl_divergence(TD.Bernoulli(torch.tensor(bp)), TD.Bernoulli(torch.tensor(bq))),
          atol=1e-5)
    lo = np.float32([0.0, -1.0])
    close(KD.kl_divergence(KD.Uniform(K.tensor(lo), K.tensor(lo + 1)),
                           KD.Uniform(K.tensor(lo - 1), K.tensor(lo + 0.5))),
          TD.kl_divergence(TD.Uniform(torch.tensor(lo), torch.tensor(lo + 1)),
                           TD.Uniform(torch.tensor(lo - 1), torch.tensor(lo + 0.5))))
    with pytest.raises(NotImplementedError):
        KD.kl_divergence(KD.Normal(0.0, 1.0), KD.Uniform(0.0, 1.0))


def test_arguments_and_supports_are_checked_as_in_torch():
    for kd, td in ((KD, TD),):
        with pytest.raises(ValueError, match="scale"):
            kd.Normal(0.0, -1.0)
        with pytest.raises(ValueError, match="probs"):
            kd.Bernoulli(K.tensor([1.5]) if kd is KD else torch.tensor([1.5]))
        with pytest.raises(ValueError, match="Either `probs` or `logits`"):
            kd.Categorical()
    with pytest.raises(ValueError, match="support"):
        KD.Uniform(0.0, 1.0).log_prob(K.tensor([2.0]))
    with pytest.raises(ValueError, match="support"):
        KD.Categorical(K.tensor([0.5, 0.5])).log_prob(K.tensor([2]))
    assert np.isinf(KD.Uniform(0.0, 1.0, validate_args=False).log_prob(K.tensor([2.0])).item())
