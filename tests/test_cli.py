import csv
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_nnperf.cli import main
from keras_nnperf.report import is_png

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = ("lr_finder", "schedule", "training_curves", "gradient_norms", "activations")
FAST = ["--epochs", "2", "--lr-find-steps", "5"]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def generated(tmp_path, task, n=120, seed=0):
    """Two numeric columns (one with gaps), one categorical column, and a target."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(3.0, 5.0, size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    score = a + (b - 3) / 5 + (color == "red")
    if task == "binary":
        y = np.where(score > 0.3, "yes", "no")
    elif task == "multiclass":
        y = np.digitize(score, [-0.5, 0.8]).astype(str)
    else:
        y = [f"{v:.4f}" for v in 10 + 2 * score]
    rows = [["" if i % 17 == 0 else f"{a[i]:.4f}", f"{b[i]:.4f}", color[i], y[i]] for i in range(n)]
    return write_csv(tmp_path / f"{task}.csv", ["a", "b", "color", "y"], rows)


def run(argv, capsys, clean=True):
    code = main(argv)
    out, err = capsys.readouterr()
    if clean:
        assert "Traceback" not in out + err
    return code, out, err


def check_report(out_dir, figures=FIGURES):
    report = open(os.path.join(out_dir, "report.md")).read()
    for name in figures:
        path = os.path.join(out_dir, f"{name}.png")
        assert is_png(path), path
        assert f"({name}.png)" in report
    return report


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_fit_then_predict(tmp_path, capsys, task):
    data = generated(tmp_path, task)
    out = str(tmp_path / "report")
    extra = ["--tune", "1"] if task == "multiclass" else []
    # keras-tuner prints the traceback of a failed trial itself; the search goes on.
    argv = ["fit", data, "--target", "y", "--out", out, *FAST, *extra]
    code, stdout, stderr = run(argv, capsys, clean=not extra)
    assert code == 0, stderr
    assert "nnperf: warning: missing values in column(s) a" in stderr
    assert "Validation:" in stdout
    # With --tune the best trial's model is kept as it is: no range test, no retraining.
    report = check_report(out, ("tuner_trials",) if extra else FIGURES)
    assert f"task: **{task}**" in report
    if extra:
        assert "Kept the best trial's model" in report and "Kept the best tuning" in stdout

    model = keras.models.load_model(os.path.join(out, "model.keras"))
    assert model.input_shape == (None, 2 + 3)

    # The target column may be absent at prediction time; an unseen category is fine.
    rows = [["0.1", "2.0", "purple"], ["", "9.5", "red"]]
    new = write_csv(tmp_path / "new.csv", ["a", "b", "color"], rows)
    preds = str(tmp_path / "preds.csv")
    code, _, stderr = run(["predict", out, new, "--out", preds], capsys)
    assert code == 0, stderr
    with open(preds) as f:
        result = list(csv.DictReader(f))
    assert len(result) == 2
    if task == "regression":
        assert set(result[0]) == {"prediction"}
        assert all(np.isfinite(float(r["prediction"])) for r in result)
    else:
        classes = {"binary": ["no", "yes"], "multiclass": ["0", "1", "2"]}[task]
        assert set(result[0]) == {"prediction", *(f"probability_{c}" for c in classes)}
        assert all(r["prediction"] in classes for r in result)
        total = [sum(float(r[f"probability_{c}"]) for c in classes) for r in result]
        np.testing.assert_allclose(total, 1.0, atol=1e-4)

    # The same model predicts the same thing through the CLI and in Python.
    code, stdout, _ = run(["predict", out, new], capsys)
    assert code == 0 and stdout.splitlines()[0].startswith("prediction")


def test_lr_overrides_the_range_test(tmp_path, capsys):
    data = generated(tmp_path, "binary")
    out = str(tmp_path / "report")
    code, stdout, stderr = run(
        ["fit", data, "--target", "y", "--out", out, "--epochs", "3", "--lr", "0.02"], capsys
    )
    assert code == 0, stderr
    assert "LR range test" not in stdout
    assert "peak learning rate 0.02 (given with --lr)" in stdout
    report = open(os.path.join(out, "report.md")).read()
    assert "Peak learning rate 0.02, given with --lr" in report
    assert not os.path.exists(os.path.join(out, "lr_finder.png"))


def test_the_report_names_the_rule_that_chose_the_rate(tmp_path, capsys):
    data = generated(tmp_path, "regression")
    out = str(tmp_path / "report")
    code, stdout, stderr = run(["fit", data, "--target", "y", "--out", out, *FAST], capsys)
    assert code == 0, stderr
    report = open(os.path.join(out, "report.md")).read()
    assert "LR range test, rule `" in report
    assert "(rule: " in stdout
    assert "trivial baseline" in report and "trivial baseline" in stdout


@pytest.mark.parametrize(
    "extra",
    [["--epochs", "1"], ["--batch-size", "100000", "--epochs", "2"]],
    ids=["1-epoch", "huge-batch"],
)
def test_tiny_data_and_short_runs_train(tmp_path, capsys, extra):
    data = generated(tmp_path, "binary", n=60)
    out = str(tmp_path / "report")
    argv = ["fit", data, "--target", "y", "--out", out, "--lr-find-steps", "5", *extra]
    code, stdout, stderr = run(argv, capsys)
    assert code == 0, stderr
    assert "Validation: accuracy" in stdout
    report = open(os.path.join(out, "report.md")).read()
    assert "too few for a 1Cycle" in report


def test_no_progress_bar_codes_when_output_is_not_a_terminal(tmp_path, capsys):
    data = generated(tmp_path, "binary")
    out = str(tmp_path / "report")
    code, stdout, _ = run(["fit", data, "--target", "y", "--out", out, *FAST], capsys)
    assert code == 0
    assert "\x1b[" not in stdout and "\r" not in stdout
    assert "epoch 1/2" in stdout


def test_demo_writes_the_full_report(tmp_path, capsys):
    out = str(tmp_path / "demo")
    code, stdout, stderr = run(["demo", "--out", out, *FAST], capsys)
    assert code == 0, stderr
    assert "Validation: accuracy" in stdout
    check_report(out)
    assert os.path.isfile(os.path.join(out, "breast_cancer.csv"))
    # A second run refuses to overwrite, then succeeds with --overwrite.
    code, _, stderr = run(["demo", "--out", out, *FAST], capsys)
    assert code == 2 and "--overwrite" in stderr
    code, _, stderr = run(
        [
            "lr-find",
            os.path.join(out, "breast_cancer.csv"),
            "--target",
            "target",
            "--steps",
            "8",
            "--out",
            str(tmp_path / "lr"),
        ],
        capsys,
    )
    assert code == 0 and is_png(str(tmp_path / "lr" / "lr_finder.png"))


def test_diagnose_prints_the_report(tmp_path, capsys):
    code, stdout, stderr = run(["diagnose", generated(tmp_path, "binary"), "--target", "y"], capsys)
    assert code == 0, stderr
    assert stdout.strip()


def _bad_inputs(tmp_path):
    ok = generated(tmp_path, "binary", n=30)
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,y\n1,2,0\n1,2\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    text_target = write_csv(tmp_path / "t.csv", ["a", "y"], [[i, "xyz"[i % 3]] for i in range(20)])
    one_class = write_csv(tmp_path / "c.csv", ["a", "y"], [[i, 1] for i in range(20)])
    all_nan = write_csv(tmp_path / "n.csv", ["a", "gone", "y"], [[i, "", i % 2] for i in range(20)])
    few = write_csv(tmp_path / "f.csv", ["a", "y"], [[i, i % 2] for i in range(6)])
    a_file = tmp_path / "plain_file"
    a_file.write_text("x")
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    return {
        "missing file": (["fit", str(tmp_path / "nope.csv"), "--target", "y"], "no such file"),
        "binary file": (["fit", str(binary), "--target", "y"], "not a CSV file"),
        "unparsable": (["fit", str(ragged), "--target", "y"], "line 3 has 2 fields"),
        "empty file": (["fit", str(empty), "--target", "y"], "is empty"),
        "unknown target": (["fit", ok, "--target", "z"], "the columns are: a, b, color, y"),
        "single class": (["fit", one_class, "--target", "y"], "single class"),
        "text regression": (
            ["fit", text_target, "--target", "y", "--task", "regression"],
            "is not numeric",
        ),
        "all-NaN column": (["fit", all_nan, "--target", "y"], "no values at all: gone"),
        "too few rows": (["fit", few, "--target", "y"], "too few rows"),
        "unwritable out": (
            ["fit", ok, "--target", "y", "--out", str(a_file / "sub")],
            "cannot create output directory",
        ),
        "non-empty out": (["fit", ok, "--target", "y", "--out", str(full)], "--overwrite"),
        "predict without model": (["predict", str(full), ok], "has no model.keras"),
        "bad argument": (["fit", ok, "--target", "y", "--epochs", "0"], "--epochs"),
        "unknown command": (["train"], "invalid choice"),
        "workers without tune": (["fit", ok, "--target", "y", "--workers", "2"], "needs --tune"),
        "zero rate": (["fit", ok, "--target", "y", "--lr", "0"], "--lr"),
        "NaN rate": (["fit", ok, "--target", "y", "--lr", "nan"], "--lr"),
        "text rate": (["fit", ok, "--target", "y", "--lr", "fast"], "--lr"),
        "one LR-test step": (["fit", ok, "--target", "y", "--lr-find-steps", "1"], "--lr-find"),
        "negative seed": (["fit", ok, "--target", "y", "--seed", "-1"], "--seed"),
    }


CASES = [
    "missing file",
    "binary file",
    "unparsable",
    "empty file",
    "unknown target",
    "single class",
    "text regression",
    "all-NaN column",
    "too few rows",
    "unwritable out",
    "non-empty out",
    "predict without model",
    "bad argument",
    "unknown command",
    "workers without tune",
    "zero rate",
    "NaN rate",
    "text rate",
    "one LR-test step",
    "negative seed",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, case):
    argv, message = _bad_inputs(tmp_path)[case]
    code, stdout, stderr = run(argv, capsys)
    assert code == 2
    lines = [line for line in stderr.splitlines() if line.startswith("nnperf: error:")]
    assert len(lines) == 1 and message in lines[0], stderr
    if case == "non-empty out":
        assert os.listdir(tmp_path / "full") == ["keep.txt"]


def test_help_in_a_subprocess_and_the_console_script():
    # Both start TensorFlow; running them side by side halves the wait on two cores.
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    script = os.path.join(os.path.dirname(sys.executable), "nnperf")
    commands = [
        [sys.executable, "-m", "keras_nnperf", "--help"],
        [script, "fit", "missing.csv", "--target", "y"],
    ]
    processes = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for c in commands
    ]
    (help_out, help_err), (_, fit_err) = (p.communicate(timeout=180) for p in processes)
    assert processes[0].returncode == 0, help_err
    for command in ("demo", "fit", "predict", "lr-find", "diagnose"):
        assert command in help_out
    assert processes[1].returncode == 2
    assert "nnperf: error: missing.csv: no such file" in fit_err
    assert "Traceback" not in fit_err
