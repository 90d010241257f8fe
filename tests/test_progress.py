import io

import numpy as np
import pytest

from keras_nnperf.progress import EpochProgress, Stages


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, float("nan"), "3", None])
def test_counts_must_be_positive_integers(bad):
    with pytest.raises(ValueError, match=r"Argument total must be an integer >= 1\. Received"):
        Stages(total=bad)
    with pytest.raises(ValueError, match=r"Argument epochs must be an integer >= 1\. Received"):
        EpochProgress(bad)


def test_numpy_integers_are_counts():
    stages = Stages(total=np.int64(2), stream=io.StringIO())
    assert stages.total == 2 and type(stages.total) is int
    assert EpochProgress(np.int32(5)).epochs == 5


def test_stages_are_numbered():
    stream = io.StringIO()
    stages = Stages(total=2, stream=stream)
    with stages.stage("Reading"):
        pass
    with stages.stage("Fitting"):
        pass
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[1/2] Reading ..." and lines[2] == "[2/2] Fitting ..."
