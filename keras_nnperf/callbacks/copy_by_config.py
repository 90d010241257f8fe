"""Deep copies of callbacks that start fresh: what keras-tuner needs for every trial."""

from __future__ import annotations

import copy


class CopyByConfig:
    """Mixin: `copy.deepcopy` gives a fresh, unbound callback built from the same arguments.

    keras-tuner deep-copies the callbacks for every trial; a callback that already trained holds
    its model and backend variables, which must not be copied along. The class keeps its
    constructor arguments in `self._config`.
    """

    def get_config(self) -> dict:
        """The constructor arguments."""
        return dict(self._config)

    def __deepcopy__(self, memo):
        return type(self)(**copy.deepcopy(self.get_config(), memo))
