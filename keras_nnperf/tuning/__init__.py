"""Keras-Tuner templates that encode best practice, and a search that does not fall over.

* `HyperMLP` (tabular data) and `HyperCNN` (small images): keras-tuner `HyperModel`s that search
  the architecture (depth, width, activation with its matched initializer, normalization,
  dropout, residual connections) and the training recipe (optimizer, learning rate, schedule,
  warm-up, clipping, batch size, early stopping; `RecipeHyperModel`).
* `search(template, x, y, ...)`: one call around keras-tuner's tuners (by default the template's
  defaults first, then random draws and local moves around the best trial, which successive
  halving stops early) with failed trials recorded instead of fatal, time budgets, resuming,
  process-isolated trials and N parallel workers; it returns a `SearchResult` whose
  `best_model` holds the best trial's best-epoch weights and whose `best_recipe()` is the
  `TrainingRecipe` that trained it.
"""

from keras_nnperf.tuning.hyper_cnn import HyperCNN
from keras_nnperf.tuning.hyper_mlp import HyperMLP
from keras_nnperf.tuning.recipe import RecipeHyperModel, TrainingRecipe
from keras_nnperf.tuning.result import SearchResult
from keras_nnperf.tuning.search import search

__all__ = [
    "HyperCNN",
    "HyperMLP",
    "RecipeHyperModel",
    "SearchResult",
    "TrainingRecipe",
    "search",
]
