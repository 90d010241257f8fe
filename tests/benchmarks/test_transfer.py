"""The paired statistics of `benchmarks/transfer.py` (what docs/transfer.md's verdicts rest on)."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    pytest.importorskip("sklearn")
    return load_benchmark("transfer")


def test_paired_differences_is_the_paired_t_statistic(bench):
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    reference = rng.uniform(0.9, 0.96, size=10)
    values = reference + rng.normal(0.004, 0.006, size=10)
    values[3] = reference[3]  # one exact tie
    result = bench.paired_differences(values, reference)
    t = stats.ttest_rel(values, reference).statistic
    assert result["mean"] / result["se"] == pytest.approx(t, rel=1e-9)
    assert result["mean"] == pytest.approx(np.mean(values - reference))
    assert (result["wins"], result["ties"], result["losses"]) == (
        int(np.sum(values - reference > 0)),
        1,
        int(np.sum(values - reference < 0)),
    )


@pytest.mark.parametrize("shift, verdict", [(0.02, "beats"), (-0.02, "loses"), (0.0005, "tie")])
def test_the_verdict_needs_two_standard_errors(bench, shift, verdict):
    reference = np.linspace(0.90, 0.95, 8)
    noise = np.array([1, -1, 1, -1, 1, -1, 1, -1]) * 0.002
    assert bench.paired_differences(reference + shift + noise, reference)["verdict"] == verdict


def test_rows_that_did_not_start_alike_are_refused(bench):
    paired = {"naive": {"data": "a", "init": "w"}, "fine_tune": {"data": "a", "init": "w"}}
    bench.check_pairing([paired])
    unpaired = {"naive": {"data": "a", "init": "w"}, "fine_tune": {"data": "a", "init": "v"}}
    with pytest.raises(AssertionError, match="not paired on init"):
        bench.check_pairing([paired, unpaired])
    assert bench.fingerprint(np.arange(3.0)) != bench.fingerprint(np.arange(3.0) + 1e-12)
