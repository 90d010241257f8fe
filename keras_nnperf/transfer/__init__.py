"""Transfer learning: reuse, unfreeze gradually, train with discriminative rates, pretrain.

Reuse a trained network's lower layers, unfreeze them gradually, train them with discriminative
rates, and pretrain them without labels:

* `reuse`: a new model from a trained one's lower layers and a new head (BatchNormalization of
  the reused part in inference mode, Keras's rule for fine-tuning);
* `DiscriminativeLearningRates` / `layer_rates`: a rate multiplier per layer group, in-graph,
  composing with every schedule and LR callback (0 freezes a group exactly);
* `GradualUnfreezing`: ULMFiT's top-down unfreezing, optimizer state kept;
* `fine_tune`: fastai's recipe (head first, then everything with discriminative rates and
  1Cycle, `lr_find` before each phase);
* `pretrain_autoencoder`: unsupervised pretraining of an encoder that `reuse` then takes.
"""

from keras_nnperf.transfer.discriminative import (
    DiscriminativeLearningRates,
    even_multipliers,
    layer_groups,
    layer_rates,
    ulmfit_multipliers,
)
from keras_nnperf.transfer.fine_tune import FineTuneResult, fine_tune
from keras_nnperf.transfer.pretraining import default_decoder, pretrain_autoencoder
from keras_nnperf.transfer.reuse import reuse, reused_layer_names
from keras_nnperf.transfer.unfreezing import GradualUnfreezing

__all__ = [
    "DiscriminativeLearningRates",
    "FineTuneResult",
    "GradualUnfreezing",
    "default_decoder",
    "even_multipliers",
    "fine_tune",
    "layer_groups",
    "layer_rates",
    "pretrain_autoencoder",
    "reuse",
    "reused_layer_names",
    "ulmfit_multipliers",
]
