"""kindling.train: a callback-driven Trainer and the techniques around it.

    trainer         Trainer, fit (epochs, iterations, accumulation, checkpoints, exact resume)
    callbacks       events and triggers; EarlyStopping, ModelCheckpoint, LR scheduling/warm-up,
                    gradient clipping, NaN/Inf detection, progress bar, CSV/TensorBoard/PNG logs
    metrics         accuracy, top-k, precision/recall/F1, confusion matrix, MSE/MAE, perplexity
    regularization  L1 penalty, max-norm constraint, input normalization from training stats
    imbalance       class weights, balanced over/under-sampling, focal loss
    transfer        freeze/unfreeze, discriminative lrs, gradual unfreezing, head replacement
    curriculum      difficulty-ordered sampling that widens over epochs
    ensemble        probability averaging, snapshot ensembles
    semi_supervised pseudo-labelling and active learning loops
    search          grid, random and optuna (TPE) hyperparameter search
    config          TOML/YAML run configs: load_config, run_from_config, resume_run,
                    search_from_config (what `kindling train` / `kindling search` call)
"""
from .callbacks import (Callback, CSVLogger, CurvePlotter, EarlyStopping, GradientClipping,
                        LambdaCallback, LRSchedulerCallback, LRWarmup, ModelCheckpoint,
                        NonFiniteCheck, NonFiniteError, ProgressBar, TensorBoardLogger, Trigger,
                        plot_history)
from .metrics import (F1, Accuracy, ConfusionMatrix, MeanAbsoluteError, MeanSquaredError,
                      Metric, Perplexity, Precision, Recall, TopKAccuracy, accuracy,
                      classification_report, confusion_matrix, precision_recall_f1)
from .trainer import Trainer, TrainerState, fit
