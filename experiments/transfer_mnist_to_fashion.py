"""Transfer learning experiment: MNIST -> Fashion-MNIST with a small labelled budget.

1. Pretrain LeNet-5 on a subset of MNIST (digits).
2. Fine-tune it on 500 labelled Fashion-MNIST images (the first 500 of the 2,000 test images
   shipped in shared/data), with a fresh head, discriminative learning rates (the head gets
   the base lr, each earlier layer half of the next one's) and gradual unfreezing (head only
   in the first epoch, one more layer every epoch after that).
3. Train the same architecture from scratch on the same 500 images with the same budget.
4. Report both accuracies on the other 1,500 Fashion-MNIST images (indices 500..1999; the
   same test set for every --budget).

Inputs are standardized with the mean/std of the respective training split only.

Run:  python experiments/transfer_mnist_to_fashion.py [--data ../shared/data]
                                                       [--pretrain 6000] [--epochs 15]
A few minutes on two CPU cores.

Results measured on 2 loaded CPU cores (seed 0; test set = the same 1,500 images):

    budget  pretrain (MNIST imgs x epochs)  fine-tuning               fine-tuned  scratch
    500     6000 x 2                        decay 0.5, unfreeze 1/ep  0.738       0.750
    500     12000 x 3                       decay 0.7, no unfreezing  0.766       0.789
    500     12000 x 3                       decay 0.7, unfreeze 1/2ep 0.761       0.789
    500     12000 x 3                       decay 1.0, no unfreezing  0.785       0.789
    100     6000 x 2                        decay 1.0, no unfreezing  0.623       0.629
    100     6000 x 2                        decay 0.5, unfreeze 1/ep  0.573       0.629

(20 fine-tuning epochs for the 12000-image rows, 30 for budget 100, 15 otherwise.) With this
small LeNet-5, digit features do not transfer usefully to clothing: fine-tuning at best matches
training from scratch, and freezing or slowing the lower layers (gradual unfreezing, small
layer-wise lrs) hurts, i.e. the lower layers need to change substantially for the new domain.
"""
import argparse
import os
import time

import numpy as np

import kindling as K
import kindling.nn as nn
from kindling.models import LeNet5
from kindling.optim import Adam
from kindling.train import Accuracy, Trainer
from kindling.train.regularization import Normalizer
from kindling.train.transfer import (GradualUnfreezing, discriminative_param_groups,
                                     replace_head)
from kindling.utils.data import DataLoader, TensorDataset
from kindling.vision.datasets import MNIST, as_tensors


def loader(x, y, batch_size, shuffle):
    return DataLoader(TensorDataset(K.tensor(x), K.tensor(y)), batch_size=batch_size,
                      shuffle=shuffle)


def accuracy(model, x, y):
    t = Trainer(model, nn.CrossEntropyLoss(), None, None, metrics=[Accuracy()], progress=False)
    return t.evaluate(loader(x, y, 500, False), prefix="")["accuracy"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data"))
    ap.add_argument("--pretrain", type=int, default=6000, help="MNIST images to pretrain on")
    ap.add_argument("--pretrain-epochs", type=int, default=2)
    ap.add_argument("--budget", type=int, default=500, help="labelled Fashion-MNIST images")
    ap.add_argument("--epochs", type=int, default=15, help="fine-tuning / scratch epochs")
    ap.add_argument("--decay", type=float, default=0.5,
                    help="lr ratio between consecutive layers when fine-tuning")
    ap.add_argument("--unfreeze-every", type=int, default=1,
                    help="epochs between unfreezing steps (0: no gradual unfreezing)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    start = time.time()

    # --- data
    xm, ym = as_tensors(MNIST(os.path.join(args.data, "mnist"), train=True))
    rng = np.random.default_rng(args.seed)
    pick = rng.permutation(len(ym))[:args.pretrain]
    xm, ym = xm.numpy()[pick], ym.numpy()[pick]
    fdir = os.path.join(args.data, "fashion-mnist", "npz-test-first2000")
    xf = np.load(os.path.join(fdir, "x_test.npz"))["arr_0"].astype(np.float32)[:, None] / 255.0
    yf = np.load(os.path.join(fdir, "y_test.npz"))["arr_0"].astype(np.int64)
    if not 0 < args.budget <= 500:
        raise SystemExit("--budget must be in 1..500 (images 500..1999 are the test set)")
    xf_tr, yf_tr = xf[:args.budget], yf[:args.budget]
    xf_te, yf_te = xf[500:], yf[500:]  # the same 1,500 held-out images for every budget

    norm_m = Normalizer.fit(xm)
    xm = norm_m(xm).numpy()
    norm_f = Normalizer.fit(xf_tr)  # statistics of the 500 labelled images only
    xf_tr, xf_te = norm_f(xf_tr).numpy(), norm_f(xf_te).numpy()

    # --- 1. pretrain on MNIST
    K.manual_seed(args.seed)
    model = LeNet5()
    Trainer(model, nn.CrossEntropyLoss(), Adam(model.parameters(), lr=2e-3),
            loader(xm, ym, 64, True), metrics=[Accuracy()], max_epochs=args.pretrain_epochs,
            progress=None).fit()
    mnist_acc = accuracy(model, *[a[:2000] for a in (xm, ym)])
    print(f"pretrained on {len(ym)} MNIST images: train accuracy {mnist_acc:.4f} "
          f"({time.time() - start:.0f}s)")

    # --- 2. fine-tune on the labelled budget
    K.manual_seed(args.seed + 1)
    replace_head(model, 10)
    groups = discriminative_param_groups(model, base_lr=2e-3, decay=args.decay)
    unfreezing = [GradualUnfreezing(initial=1, every=args.unfreeze_every)] \
        if args.unfreeze_every else []
    Trainer(model, nn.CrossEntropyLoss(), Adam(groups), loader(xf_tr, yf_tr, 32, True),
            max_epochs=args.epochs, callbacks=unfreezing, progress=None).fit()
    fine_acc = accuracy(model, xf_te, yf_te)

    # --- 3. the same architecture from scratch on the same images
    K.manual_seed(args.seed + 1)
    scratch = LeNet5()
    Trainer(scratch, nn.CrossEntropyLoss(), Adam(scratch.parameters(), lr=2e-3),
            loader(xf_tr, yf_tr, 32, True), max_epochs=args.epochs, progress=None).fit()
    scratch_acc = accuracy(scratch, xf_te, yf_te)

    print(f"Fashion-MNIST, {args.budget} labelled training images, evaluated on "
          f"{len(yf_te)} held-out images:")
    print(f"  fine-tuned from MNIST : {fine_acc:.4f}")
    print(f"  trained from scratch  : {scratch_acc:.4f}")
    print(f"total time {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
