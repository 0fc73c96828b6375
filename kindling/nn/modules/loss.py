"""Loss modules: thin stateful wrappers over `kindling.nn.functional`'s losses.

Each module stores its options (torch.nn's constructor arguments and defaults) and its forward
calls the functional loss. Class weights are buffers (saved in the state_dict, moved by `.to()`),
as in PyTorch. The formulas are documented on the functional losses.
"""
from .module import Module
from ..functional import loss as F
from ..functional.loss import _legacy_reduction

__all__ = [
    "L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss",
    "CrossEntropyLoss", "NLLLoss", "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss",
    "CosineEmbeddingLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "TripletMarginLoss",
    "MultiLabelSoftMarginLoss", "SoftMarginLoss", "MultiMarginLoss", "MultiLabelMarginLoss",
    "TripletMarginWithDistanceLoss", "CTCLoss", "FocalLoss",
    "SigmoidFocalLoss", "ContrastiveLoss",
]


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = _legacy_reduction(size_average, reduce, reduction)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class L1Loss(_Loss):
    """Mean absolute error |input - target|.

    Shape: input (*), target (*) the same shape; output scalar, or (*) for reduction='none'.

    Example:
        >>> loss = nn.L1Loss()(torch.randn(3, 5, requires_grad=True), torch.randn(3, 5))
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error (input - target)^2.

    Shape: input (*), target (*) the same shape; output scalar, or (*) for reduction='none'.

    Example:
        >>> loss = nn.MSELoss()(torch.randn(3, 5, requires_grad=True), torch.randn(3, 5))
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Squared error below `beta`, absolute error above it (see F.smooth_l1_loss).

    Shape: input (*), target (*) the same shape; output scalar, or (*) for reduction='none'."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Squared error below `delta`, delta-scaled absolute error above it (see F.huber_loss).

    Shape: input (*), target (*) the same shape; output scalar, or (*) for reduction='none'."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities (logs clamped at -100).

    Shape: input (*) in [0, 1], target (*) the same shape; output scalar, or (*) for 'none'."""

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable step; `pos_weight` (C,) weighs positives.

    Shape: input (*) logits, target (*) the same shape; output scalar, or (*) for 'none'.

    Example:
        >>> loss = nn.BCEWithLogitsLoss(pos_weight=torch.ones(5))(torch.randn(3, 5),
        ...                                                       torch.rand(3, 5))
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """log_softmax + negative log-likelihood, with class weights, ignore_index and label
    smoothing; targets are class indices or class probabilities.

    Shape: input (C), (N, C) or (N, C, d1, ...); target (), (N) or (N, d1, ...) int64 indices,
    or the input's shape for probabilities; output scalar, or per item for reduction='none'.

    Example:
        >>> loss = nn.CrossEntropyLoss()(torch.randn(3, 5, requires_grad=True),
        ...                              torch.tensor([1, 0, 4]))
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (e.g. the output of log_softmax).

    Shape: input (C), (N, C) or (N, C, d1, ...); target (), (N) or (N, d1, ...) int64."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class KLDivLoss(_Loss):
    """KL divergence, input given as log-probabilities; use reduction='batchmean' for the
    mathematical definition.

    Shape: input (*), target (*) the same shape; output scalar, or (*) for 'none'."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood (see F.poisson_nll_loss).

    Shape: input (*), target (*) the same shape; output scalar, or (*) for 'none'."""

    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                  eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood with predicted variance (see F.gaussian_nll_loss).

    Shape: input (N, *), target (N, *), var (N, *), (N, *) with one dim 1, or (N, *[:-1])."""

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(None, None, reduction)
        self.full = full
        self.eps = eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """1 - cos(x1, x2) for target 1, max(0, cos(x1, x2) - margin) for target -1.

    Shape: input1, input2 (N, D) or (D); target (N) or ()."""

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin,
                                       reduction=self.reduction)


class MarginRankingLoss(_Loss):
    """max(0, -target (x1 - x2) + margin).

    Shape: input1, input2 (N) or (); target the same shape."""

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin,
                                     reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """x for target 1, max(0, margin - x) for target -1.

    Shape: input (*), target (*) the same shape."""

    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, margin=self.margin,
                                      reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """max(0, margin + d(a, p) - d(a, n)) with the pairwise p-norm distance.

    Shape: anchor, positive, negative (N, D) or (D); output scalar, or (N) for 'none'."""

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                     eps=self.eps, swap=self.swap, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Per-class binary cross-entropy on logits, averaged over the classes.

    Shape: input (N, C) or (C); target the same shape; output scalar, or (N) for 'none'."""

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                             reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """log(1 + exp(-target input)) for targets in {1, -1}.

    Shape: input (*), target (*) the same shape."""

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss (see F.multi_margin_loss).

    Shape: input (N, C) or (C); target (N) or () int64."""

    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got {p}")
        self.p = p
        self.margin = margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss; each target row lists classes, ended by -1.

    Shape: input (C) or (N, C); target the same shape, int64; output scalar, or (N) for 'none'.
    """

    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """max(0, margin + d(a, p) - d(a, n)) with any distance function (default: Euclidean).

    Shape: anchor, positive, negative (N, D) or (D); output scalar, or (N) for 'none'."""

    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(None, None, reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: margin must be greater than 0, "
                             f"got {margin}")
        if distance_function is None:
            try:  # as in PyTorch, the default distance is a PairwiseDistance child module
                from .distance import PairwiseDistance
                distance_function = PairwiseDistance()
            except ImportError:
                pass  # F.triplet_margin_with_distance_loss uses the same distance for None
        self.distance_function = distance_function
        self.margin = margin
        self.swap = swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)


class CTCLoss(_Loss):
    """Connectionist temporal classification loss (see F.ctc_loss).

    Shape: log_probs (T, N, C) or (T, C); targets (N, S) or (sum(target_lengths),);
    input_lengths, target_lengths (N,); output scalar, or (N) for reduction='none'."""

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)


# --- beyond PyTorch -----------------------------------------------------------------------------
class FocalLoss(Module):
    """Multi-class focal loss -alpha_t (1 - p_t)^gamma log p_t (see F.focal_loss); gamma=0 and
    alpha=None is CrossEntropyLoss. A tensor alpha is a buffer.

    Shape: input (N, C) or (N, C, d1, ...); target (N) or (N, d1, ...) int64.

    Example:
        >>> loss = nn.FocalLoss(gamma=2.0)(torch.randn(3, 5), torch.tensor([1, 0, 4]))
    """

    def __init__(self, gamma=2.0, alpha=None, reduction="mean", ignore_index=-100):
        super().__init__()
        self.gamma = gamma
        if alpha is None or isinstance(alpha, (int, float)):
            self.alpha = alpha
        else:
            self.register_buffer("alpha", alpha)
        self.reduction = reduction
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.focal_loss(input, target, gamma=self.gamma, alpha=self.alpha,
                            reduction=self.reduction, ignore_index=self.ignore_index)

    def extra_repr(self):
        return f"gamma={self.gamma}"


class SigmoidFocalLoss(Module):
    """Binary focal loss on logits, torchvision's formula (see F.sigmoid_focal_loss).

    Shape: input (*) logits, target (*) in [0, 1] the same shape."""

    def __init__(self, alpha=0.25, gamma=2.0, reduction="none"):
        super().__init__()
        self.alpha = alpha
        self.gamma = gamma
        self.reduction = reduction

    def forward(self, input, target):
        return F.sigmoid_focal_loss(input, target, alpha=self.alpha, gamma=self.gamma,
                                    reduction=self.reduction)

    def extra_repr(self):
        return f"alpha={self.alpha}, gamma={self.gamma}"


class ContrastiveLoss(Module):
    """Contrastive loss y d^2 + (1 - y) max(0, margin - d)^2 (Hadsell et al. 2006; target 1 =
    similar pair; no factor 1/2). See F.contrastive_loss.

    Shape: x1, x2 (N, D) or (D); target (N) or (); output scalar, or (N) for 'none'."""

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__()
        self.margin = margin
        self.reduction = reduction

    def forward(self, x1, x2, target):
        return F.contrastive_loss(x1, x2, target, margin=self.margin, reduction=self.reduction)

    def extra_repr(self):
        return f"margin={self.margin}"
