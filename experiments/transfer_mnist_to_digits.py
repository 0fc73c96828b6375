"""Transfer learning where it pays: MNIST -> scikit-learn's 8x8 digits, few labels.

1. Pretrain LeNet-5 on MNIST (28x28 scans of handwritten digits).
2. Fine-tune it on a small labelled budget of a *different* dataset: scikit-learn's bundled
   8x8 digits (a separate collection, 16 grey levels, upsampled to 28x28), with a fresh head
   and discriminative learning rates (each earlier layer gets `--decay` times the lr of the
   next).
3. Train the same architecture from scratch on the same few images with the same budget.
4. Report both accuracies on all the other digits images.

Compare experiments/transfer_mnist_to_fashion.py, where the same recipe does *not* help:
features learned on digits transfer to other digits, not to clothing.

Run:  python experiments/transfer_mnist_to_digits.py [--data ../shared/data] [--budget 100]
"""
import argparse
import os
import time

import numpy as np

import kindling as K
import kindling.nn as nn
import kindling.nn.functional as F
from kindling.models import LeNet5
from kindling.optim import Adam
from kindling.train.transfer import discriminative_param_groups, replace_head
from kindling.utils.data import DataLoader, TensorDataset
from kindling.vision.datasets import MNIST, as_tensors


def standardize(x, mean, std):
    return ((x - mean) / std).astype(np.float32)


def train(model, params, x, y, epochs, batch_size, seed):
    K.manual_seed(seed)
    opt = Adam(params)
    loader = DataLoader(TensorDataset(K.tensor(x), K.tensor(y)), batch_size=batch_size,
                        shuffle=True)
    model.train()
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()


def accuracy(model, x, y):
    model.eval()
    with K.no_grad():
        pred = model(K.tensor(x)).argmax(1).numpy()
    return float((pred == y).mean())


def load_digits_28():
    from sklearn.datasets import load_digits
    d = load_digits()
    x = d.images.astype(np.float32) / 16.0                           # (N, 8, 8) in [0, 1]
    x = K.nn.functional.interpolate(K.tensor(x[:, None]), size=(20, 20), mode="bilinear",
                                    align_corners=False)
    x = K.nn.functional.pad(x, (4, 4, 4, 4)).numpy()                 # MNIST-like: 20x20 in 28x28
    return x, d.target.astype(np.int64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                    "shared", "data"))
    ap.add_argument("--pretrain", type=int, default=12000, help="MNIST images to pretrain on")
    ap.add_argument("--pretrain-epochs", type=int, default=2)
    ap.add_argument("--budget", type=int, default=100, help="labelled digits images (10/class)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--decay", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    K.set_num_threads(1)
    start = time.time()
    rng = np.random.default_rng(args.seed)

    xm, ym = as_tensors(MNIST(args.data, train=True))
    pick = rng.permutation(len(ym))[:args.pretrain]
    xm, ym = xm.numpy()[pick], ym.numpy()[pick]
    mean, std = xm.mean(), xm.std()
    K.manual_seed(args.seed)
    pretrained = LeNet5()
    train(pretrained, pretrained.parameters(), standardize(xm, mean, std), ym,
          args.pretrain_epochs, 64, args.seed)

    xd, yd = load_digits_28()
    labelled = np.concatenate([rng.permutation(np.flatnonzero(yd == c))[:args.budget // 10]
                               for c in range(10)])
    rest = np.setdiff1d(np.arange(len(yd)), labelled)
    dmean, dstd = xd[labelled].mean(), xd[labelled].std()   # statistics of the labelled split
    x_train, y_train = standardize(xd[labelled], dmean, dstd), yd[labelled]
    x_test, y_test = standardize(xd[rest], dmean, dstd), yd[rest]

    zero_shot = accuracy(pretrained, x_test, y_test)
    replace_head(pretrained, 10)                              # a fresh classifier
    groups = discriminative_param_groups(pretrained, base_lr=2e-3, decay=args.decay)
    train(pretrained, groups, x_train, y_train, args.epochs, 16, args.seed)
    fine_tuned = accuracy(pretrained, x_test, y_test)

    K.manual_seed(args.seed)
    scratch = LeNet5()
    train(scratch, [{"params": list(scratch.parameters()), "lr": 2e-3}], x_train, y_train,
          args.epochs, 16, args.seed)
    from_scratch = accuracy(scratch, x_test, y_test)
    print(f"labelled digits: {len(y_train)}, test digits: {len(y_test)}; MNIST pretraining: "
          f"{len(ym)} images x {args.pretrain_epochs} epochs")
    print(f"pretrained, zero-shot (MNIST head) : {zero_shot:.3f}")
    print(f"fine-tuned from MNIST              : {fine_tuned:.3f}")
    print(f"trained from scratch               : {from_scratch:.3f}")
    print(f"({time.time() - start:.0f}s)")


if __name__ == "__main__":
    main()
