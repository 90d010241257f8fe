import json

import numpy as np
import pytest

from keras_nnperf.diagnostics.report import DiagnosisReport, Finding


def _findings():
    return [
        Finding("info", "constant_inputs", "A column never changes", {"columns": [3]}),
        Finding("error", "constant_init", "Kernels are constant", {"layers": ["dense"]}, "Fix A"),
        Finding("warning", "unscaled_inputs", "Not standardized", {"stds": np.array([5.0])}),
        Finding("error", "dropout_on_output", "Dropout on the output", {}, "Fix B"),
    ]


def test_findings_are_ranked_by_severity_keeping_check_order():
    report = DiagnosisReport(_findings())
    expected = ["constant_init", "dropout_on_output", "unscaled_inputs", "constant_inputs"]
    assert report.codes == expected
    assert [f.code for f in report.errors] == ["constant_init", "dropout_on_output"]
    assert [f.code for f in report.warnings] == ["unscaled_inputs"]
    assert report.has("unscaled_inputs") and not report.has("no_regularization")
    assert not report.healthy
    assert DiagnosisReport([Finding("info", "x", "y")]).healthy


def test_str_is_readable():
    text = str(DiagnosisReport(_findings(), {"parameters": 10}))
    lines = text.splitlines()
    assert lines[0] == "Model diagnosis: 2 error(s), 1 warning(s), 1 info(s)"
    assert lines[2].startswith("[ERROR] constant_init: Kernels are constant")
    assert "fix: Fix A" in text
    assert "No problems found." in str(DiagnosisReport([]))


def test_to_dict_is_json_serializable():
    report = DiagnosisReport(_findings(), {"lr": np.float32(0.5), "shape": (2, 3)})
    data = json.loads(json.dumps(report.to_dict()))
    assert data["counts"] == {"error": 2, "warning": 1, "info": 1}
    assert data["summary"] == {"lr": 0.5, "shape": [2, 3]}
    assert data["findings"][2]["evidence"] == {"stds": [5.0]}
    assert json.loads(report.to_json())["findings"][0]["fix"] == "Fix A"


def test_finding_and_report_validate():
    bad = [("fatal", "c", "t"), ("error", "", "t"), ("error", "c", ""), ("error", "c", "t", [])]
    for args in bad:
        with pytest.raises(ValueError, match="Received"):
            Finding(*args)
    with pytest.raises(ValueError, match="Finding"):
        DiagnosisReport(["oops"])
