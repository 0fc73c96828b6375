#!/usr/bin/env bash
# Reproduce the README's MNIST results with the `kindling` command (not a test: minutes).
#   bash experiments/mnist.sh [DATA_DIR]      (default: ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
bash scripts/setup.sh
# LeNet-5: 8 epochs of Adam with a cosine schedule -> >= 99.0% on the 10,000 test images
.venv/bin/kindling train --model lenet --dataset mnist --data-dir "$data" --epochs 8 \
    --batch-size 64 --val-fraction 0.1 --schedule cosine --lr 0.002 --out runs/mnist-lenet
# ResNet-20: 3 epochs -> >= 99.3%
.venv/bin/kindling train --model resnet --dataset mnist --data-dir "$data" --epochs 3 \
    --batch-size 128 --val-fraction 0.1 --schedule cosine --lr 0.003 --out runs/mnist-resnet
