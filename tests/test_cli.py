import csv
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_nnperf.cli import main
from keras_nnperf.report import is_png
from keras_nnperf.tabular import TabularPreprocessor

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
    pre = TabularPreprocessor.load(os.path.join(out, "preprocessing.json"))
    assert model.input_shape == (None, pre.num_features)

    # The target column may be absent at prediction time; an unseen category is fine, and
    # said, as is a column the model never saw.
    rows = [["0.1", "2.0", "purple", "x"], ["", "9.5", "red", "y"]]
    new = write_csv(tmp_path / "new.csv", ["a", "b", "color", "notes"], rows)
    preds = str(tmp_path / "preds.csv")
    code, _, stderr = run(["predict", out, new, "--out", preds], capsys)
    assert code == 0, stderr
    assert "column(s) the model was not trained on, ignored: notes" in stderr
    assert "no category in training" in stderr and "color: 'purple' (1 row)" in stderr
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


def test_a_table_of_slashed_time_stamps_trains_and_predicts(tmp_path, capsys):
    # vega_datasets' seattle-temps: `2010/01/01 00:00` and a temperature, nothing else. Before,
    # the stamp read as an ID and the fit stopped: `no feature columns left besides target`.
    start = np.datetime64("2010-01-01T00:00")
    stamps = [start + np.timedelta64(h, "h") for h in range(24 * 20)]
    hours = np.arange(len(stamps)) % 24
    rows = [
        [str(t).replace("-", "/").replace("T", " "), round(10 + 5 * np.sin(h * np.pi / 12), 2)]
        for t, h in zip(stamps, hours, strict=True)
    ]
    data = write_csv(tmp_path / "temps.csv", ["date", "temp"], rows)
    out = str(tmp_path / "report")
    code, stdout, stderr = run(["fit", data, "--target", "temp", "--out", out, *FAST], capsys)
    assert code == 0, stderr
    report = open(os.path.join(out, "report.md")).read()
    assert "date, written like 2012/01/31, with its hour of day" in report
    assert TabularPreprocessor.load(os.path.join(out, "preprocessing.json")).num_features == 3
    new = write_csv(tmp_path / "new.csv", ["date"], [["2011/06/01 03:00"], ["2011/06/01 15:00"]])
    code, stdout, stderr = run(["predict", out, new], capsys)
    assert code == 0, stderr
    predictions = [float(line) for line in stdout.splitlines()[1:]]
    assert len(predictions) == 2 and np.all(np.isfinite(predictions))


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
    [
        ["--epochs", "1"],
        ["--batch-size", "100000", "--epochs", "2"],
        ["--folds", "3", "--batch-size", "100000", "--epochs", "1"],
    ],
    ids=["1-epoch", "huge-batch", "folds"],
)
def test_tiny_data_and_short_runs_train(tmp_path, capsys, extra):
    data = generated(tmp_path, "binary", n=60)
    out = str(tmp_path / "report")
    argv = ["fit", data, "--target", "y", "--out", out, "--lr-find-steps", "5", *extra]
    code, stdout, stderr = run(argv, capsys)
    assert code == 0, stderr
    assert ("Out-of-fold" if "--folds" in extra else "Validation: accuracy") in stdout
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
    ragged.write_text("a,b,y\n1,2,0\n1,2,0,5\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    text_target = write_csv(tmp_path / "t.csv", ["a", "y"], [[i, "xyz"[i % 3]] for i in range(20)])
    one_class = write_csv(tmp_path / "c.csv", ["a", "y"], [[i, 1] for i in range(20)])
    only_id = write_csv(tmp_path / "n.csv", ["id", "y"], [[i, i % 2] for i in range(20)])
    few = write_csv(tmp_path / "f.csv", ["a", "y"], [[i, i % 2] for i in range(6)])
    a_file = tmp_path / "plain_file"
    a_file.write_text("x")
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    return {
        "missing file": (["fit", str(tmp_path / "nope.csv"), "--target", "y"], "no such file"),
        "binary file": (["fit", str(binary), "--target", "y"], "not a CSV file"),
        "unparsable": (["fit", str(ragged), "--target", "y"], "line 3 has 4 fields"),
        "empty file": (["fit", str(empty), "--target", "y"], "is empty"),
        "unknown target": (["fit", ok, "--target", "z"], "the columns are: a, b, color, y"),
        "single class": (["fit", one_class, "--target", "y"], "single class"),
        "text regression": (
            ["fit", text_target, "--target", "y", "--task", "regression"],
            "is not numeric",
        ),
        "only an ID column": (["fit", only_id, "--target", "y"], "no feature columns"),
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
        "resume without tune": (["fit", ok, "--target", "y", "--resume"], "needs --tune"),
        "zero rate": (["fit", ok, "--target", "y", "--lr", "0"], "--lr"),
        "NaN rate": (["fit", ok, "--target", "y", "--lr", "nan"], "--lr"),
        "text rate": (["fit", ok, "--target", "y", "--lr", "fast"], "--lr"),
        "one LR-test step": (["fit", ok, "--target", "y", "--lr-find-steps", "1"], "--lr-find"),
        "negative seed": (["fit", ok, "--target", "y", "--seed", "-1"], "--seed"),
        "one fold": (["fit", ok, "--target", "y", "--folds", "1"], "--folds"),
        "folds and tune": (["fit", ok, "--target", "y", "--folds", "3", "--tune", "2"], "--tune"),
        "ensemble and folds": (
            ["fit", ok, "--target", "y", "--folds", "3", "--ensemble", "2"],
            "--folds already averages",
        ),
        "ensemble and tune": (
            ["fit", ok, "--target", "y", "--tune", "2", "--ensemble", "2"],
            "--ensemble averages networks of one split",
        ),
        "no ensemble": (["fit", ok, "--target", "y", "--ensemble", "0"], "--ensemble"),
        "folds and split": (
            ["fit", ok, "--target", "y", "--folds", "3", "--validation-split", "0.3"],
            "--validation-split",
        ),
        "split out of range": (["fit", ok, "--target", "y", "--validation-split", "1.5"], "(0, 1)"),
        "too few rows for the folds": (["fit", ok, "--target", "y", "--folds", "40"], "40 folds"),
        "unknown --drop": (["fit", ok, "--target", "y", "--drop", "nope"], "--drop"),
        "unknown --id": (["fit", ok, "--target", "y", "--id", "nope"], "--id"),
        "truncated model": (["predict", _model_dir(tmp_path, ok, "cut"), ok], "not a valid .keras"),
        "old preprocessing": (
            ["predict", _model_dir(tmp_path, ok, "old"), ok],
            "preprocessing file",
        ),
        "damaged folds.json": (["predict", _model_dir(tmp_path, ok, "folds"), ok], "folds.json"),
    }


def _model_dir(tmp_path, csv_path, damage):
    """A folder as `nnperf fit` leaves it, with one thing broken (no training needed)."""
    from keras_nnperf.tabular import load_training_data

    folder = tmp_path / f"model-{damage}"
    folder.mkdir()
    load_training_data(csv_path, "y").preprocessor.save(str(folder / "preprocessing.json"))
    (folder / "model.keras").write_bytes(b"PK\x03\x04 a zip file cut short")
    if damage == "old":  # an older version's file: a feature without its "kind"
        (folder / "preprocessing.json").write_text(
            '{"target": "y", "task": "binary", "features": [{"name": "a"}], "classes": ["0", "1"]}'
        )
    elif damage == "folds":
        (folder / "folds.json").write_text('{"folds": [{"model": "fold_1.keras"}]}')
    return str(folder)


CASES = [
    "missing file",
    "binary file",
    "unparsable",
    "empty file",
    "unknown target",
    "single class",
    "text regression",
    "only an ID column",
    "too few rows",
    "unwritable out",
    "non-empty out",
    "predict without model",
    "bad argument",
    "unknown command",
    "workers without tune",
    "resume without tune",
    "zero rate",
    "NaN rate",
    "text rate",
    "one LR-test step",
    "negative seed",
    "one fold",
    "folds and tune",
    "ensemble and folds",
    "ensemble and tune",
    "no ensemble",
    "folds and split",
    "split out of range",
    "too few rows for the folds",
    "unknown --drop",
    "unknown --id",
    "truncated model",
    "old preprocessing",
    "damaged folds.json",
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


def _read_predictions(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_folds_fit_then_predict_with_the_fold_ensemble(tmp_path, capsys):
    data = generated(tmp_path, "binary", n=90)
    out = str(tmp_path / "report")
    argv = ["fit", data, "--target", "y", "--out", out, "--folds", "3", *FAST]
    code, stdout, stderr = run(argv, capsys)
    assert code == 0, stderr
    assert "Out-of-fold (3 folds" in stdout and "LR range test on fold 1" in stdout
    assert stdout.count("] LR range test") == 1  # one stage: once, reused by every fold
    files = sorted(os.listdir(out))
    assert "model.keras" not in files and "folds.json" in files
    for k in (1, 2, 3):
        assert f"fold_{k}.keras" in files and f"fold_{k}_preprocessing.json" in files
    report = open(os.path.join(out, "report.md")).read()
    assert "## Metrics per fold" in report and "mean +/- sd" in report
    assert "Out-of-fold metrics, beside baselines on the same folds" in report

    # predict averages the three folds and scores the file, which has the target.
    preds = str(tmp_path / "preds.csv")
    code, _, stderr = run(["predict", out, data, "--out", preds], capsys)
    assert code == 0, stderr
    assert "(mean of 3 fold models)" in stderr
    rows = _read_predictions(preds)
    labels = [r["y"] for r in _read_predictions(data)]
    # The printed accuracy is the accuracy of the written predictions against the file's target.
    accuracy = np.mean([r["prediction"] == y for r, y in zip(rows, labels, strict=True)])
    line = next(line for line in stderr.splitlines() if line.startswith("Metrics on"))
    assert "90 rows with a target" in line
    assert f"accuracy {accuracy:.4f}" in line

    # Each row's probability is the mean of the three models' (loaded here one by one).
    from keras_nnperf.tabular import TabularPreprocessor, read_csv

    table = read_csv(data)
    mean = np.mean(
        [
            keras.models.load_model(os.path.join(out, f"fold_{k}.keras"))
            .predict(
                TabularPreprocessor.load(
                    os.path.join(out, f"fold_{k}_preprocessing.json")
                ).transform(table, warn=False),
                verbose=0,
            )
            .reshape(-1)
            for k in (1, 2, 3)
        ],
        axis=0,
    )
    np.testing.assert_allclose([float(r["probability_yes"]) for r in rows], mean, atol=2e-6)

    # A later single-split run in the same folder replaces the folds.
    argv = ["fit", data, "--target", "y", "--out", out, "--overwrite", "--epochs", "1"]
    code, _, stderr = run([*argv, "--lr", "0.01"], capsys)
    assert code == 0, stderr
    assert "folds.json" not in os.listdir(out) and "fold_1.keras" not in os.listdir(out)
    code, _, stderr = run(["predict", out, data], capsys)
    assert code == 0 and "fold models" not in stderr


def test_an_ensemble_fit_then_predict_with_its_one_model(tmp_path, capsys):
    data = generated(tmp_path, "multiclass", n=90)
    out = str(tmp_path / "report")
    argv = ["fit", data, "--target", "y", "--out", out, "--ensemble", "2", *FAST]
    code, stdout, stderr = run(argv, capsys)
    assert code == 0, stderr
    assert "2 networks, seeds 0-1" in stdout and "each network alone: accuracy" in stdout
    assert "Averaged 2 networks" in stdout
    assert stdout.count("] LR range test") == 1  # once, the rate shared by both
    report = check_report(out)
    assert "The model is the mean of the outputs of 2 networks (a seed ensemble" in report
    assert "These are the first of the 2 networks the model averages" in report
    preds = str(tmp_path / "preds.csv")
    code, _, stderr = run(["predict", out, data, "--out", preds], capsys)
    assert code == 0, stderr
    # One file: predict reads it as a single model, its probabilities are the members' mean.
    assert "fold models" not in stderr and "(mean of 2 networks)" in stderr
    from keras_nnperf.recipe.ensemble import members_of
    from keras_nnperf.tabular import TabularPreprocessor, read_csv

    model = keras.models.load_model(os.path.join(out, "model.keras"))
    x = TabularPreprocessor.load(os.path.join(out, "preprocessing.json")).transform(
        read_csv(data), warn=False
    )
    mean = np.mean([m.predict(x, verbose=0) for m in members_of(model)], axis=0)
    rows = _read_predictions(preds)
    names = sorted(k for k in rows[0] if k.startswith("probability_"))
    written = np.array([[float(r[k]) for k in names] for r in rows])
    np.testing.assert_allclose(np.sort(written, axis=1), np.sort(mean, axis=1), atol=2e-6)


def test_folds_for_regression_with_an_id_and_a_dropped_column(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    rows = [
        [f"P{i:03d}", f"{x[i, 0]:.4f}", f"{x[i, 1]:.4f}", "noise", f"{3 * x[i, 0]:.4f}"]
        for i in range(40)
    ]
    data = write_csv(tmp_path / "r.csv", ["key", "a", "b", "junk", "y"], rows)
    out = str(tmp_path / "report")
    argv = ["fit", data, "--target", "y", "--out", out, "--folds", "2", "--epochs", "2"]
    code, stdout, stderr = run([*argv, "--lr", "0.01", "--id", "key", "--drop", "junk"], capsys)
    assert code == 0, stderr
    assert "rmse" in stdout and "(given with --lr), used for every fold" in stdout
    pre = TabularPreprocessor.load(os.path.join(out, "fold_1_preprocessing.json"))
    assert [f["name"] for f in pre.features] == ["a", "b"]
    new = write_csv(tmp_path / "new.csv", ["key", "a", "b", "junk"], [r[:4] for r in rows[:3]])
    code, stdout, stderr = run(["predict", out, new], capsys)
    assert code == 0, stderr
    lines = stdout.splitlines()
    # A Kaggle submission: the ID column first, then the prediction.
    assert lines[0] == "key,prediction" and lines[1].startswith("P000,")
    assert "Metrics on" not in stderr  # no target column: nothing to score
    # --submission: exactly what a Kaggle submission file holds, the ID and the target's name.
    code, stdout, stderr = run(["predict", out, new, "--submission"], capsys)
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines[0] == "key,y" and len(lines) == 4
    assert [line.split(",")[0] for line in lines[1:]] == ["P000", "P001", "P002"]


def _data_file(tmp_path, kind):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=40), rng.normal(size=40)
    y = (a + b > 0).astype(int)
    if kind == "semicolon, decimal comma":
        text = "a;b;y\n" + "".join(
            f"{a[i]:.3f};{b[i]:.3f};{y[i]}\n".replace(".", ",") for i in range(40)
        )
    elif kind == "inf cells":
        text = "a,b,y\n" + "".join(
            f"{'inf' if i % 9 == 0 else f'{a[i]:.3f}'},{b[i]:.3f},{y[i]}\n" for i in range(40)
        )
    elif kind == "values near 1e308":
        big = (1 + a / 10) * 1e308  # up to 1.3e308: finite, but its square overflows
        text = "a,b,y\n" + "".join(f"{big[i]:.6g},{b[i]:.3f},{y[i]}\n" for i in range(40))
    else:  # an empty column
        text = "a,gone,b,y\n" + "".join(f"{a[i]:.3f},,{b[i]:.3f},{y[i]}\n" for i in range(40))
    path = tmp_path / "data.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "kind", ["semicolon, decimal comma", "inf cells", "values near 1e308", "empty column"]
)
def test_awkward_files_train(tmp_path, capsys, kind):
    data = _data_file(tmp_path, kind)
    out = str(tmp_path / "report")
    argv = ["fit", data, "--target", "y", "--out", out, "--epochs", "1", "--lr-find-steps", "5"]
    code, stdout, stderr = run(argv, capsys)
    assert code == 0, stderr
    assert "Validation: accuracy" in stdout
    pre = TabularPreprocessor.load(os.path.join(out, "preprocessing.json"))
    assert "a" in [f["name"] for f in pre.features]  # read as numbers, not as text
    if kind in ("inf cells", "empty column"):
        assert "nnperf: warning:" in stderr  # each repair is said, naming the column
    code, _, stderr = run(["predict", out, data], capsys)
    assert code == 0 and "Metrics on" in stderr


# The command module alone, loaded from its file: what `nnperf --help` costs once the package's
# own import is lazy (keras_nnperf/__init__.py imports Keras today, before any of this runs).
ALONE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("nnperf_cli_alone", sys.argv[1])
cli = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cli)
{body}
"""


def _alone(body, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    path = os.path.join(REPO, "keras_nnperf", "cli.py")
    return subprocess.run(
        [sys.executable, "-c", ALONE.format(body=body), path],
        capture_output=True,
        text=True,
        timeout=300,
        env={**environment, **env},
    )


def test_help_imports_neither_keras_nor_numpy():
    result = _alone(
        "codes = [cli.main(['--help']), cli.main(['fit', '--help']), cli.main(['--version'])]\n"
        "heavy = [m for m in ('keras', 'numpy', 'tensorflow', 'jax') if m in sys.modules]\n"
        "print(codes, heavy)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[0, 0, 0] []"
    for flag in ("--folds", "--drop", "--id", "--lr", "--validation-split"):
        assert flag in result.stdout


def test_quiet_backend_imports_keras_without_start_up_logs():
    result = _alone(
        "cli.quiet_backend()\n"
        "import keras\n"
        "print(float(keras.ops.convert_to_numpy(keras.ops.sum(keras.ops.ones(3)))))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3.0"
    assert result.stderr == ""  # TensorFlow prints a dozen lines here without it


def test_the_real_command_starts_without_keras_and_a_library_import_loads_everything():
    # `python -m keras_nnperf --help` goes through the package's own __init__: it must not
    # import Keras (an answer in well under a second, and TensorFlow quieted before it starts).
    imports = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "keras_nnperf", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imports.returncode == 0, imports.stderr
    loaded = {line.rsplit("|", 1)[-1].strip() for line in imports.stderr.splitlines()}
    assert "keras_nnperf.cli" in loaded
    assert not {"keras", "numpy", "tensorflow", "jax", "torch"} & loaded
    # A library import registers every public object at once, as before.
    library = subprocess.run(
        [
            sys.executable,
            "-c",
            "import keras_nnperf, sys; print('keras' in sys.modules, "
            "len(keras_nnperf.__all__) > 20, keras_nnperf.callbacks.EMA.__name__)",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert library.returncode == 0, library.stderr
    assert library.stdout.split() == ["True", "True", "EMA"]


def _trial_folders(out):
    (project,) = [p for p in os.listdir(os.path.join(out, "tuner")) if not p.startswith(".")]
    folder = os.path.join(out, "tuner", project)
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.startswith("trial_")]


def test_resume_continues_the_search_of_an_interrupted_run(tmp_path, capsys):
    data = generated(tmp_path, "binary")
    out = str(tmp_path / "run")
    argv = ["fit", data, "--target", "y", "--out", out, *FAST]
    # Stands for a run stopped after its first trial: the folder holds the search so far.
    code, _, stderr = run([*argv, "--tune", "1"], capsys, clean=False)
    assert code == 0, stderr
    (first,) = _trial_folders(out)
    # A seeded trial run again would write the same files: a mark tells a kept trial apart.
    mark = os.path.join(first, "kept.txt")
    open(mark, "w").close()
    code, _, stderr = run([*argv, "--tune", "2"], capsys)
    assert code == 2 and "--overwrite" in stderr  # the folder is not reused by accident
    code, stdout, stderr = run([*argv, "--tune", "2", "--resume"], capsys, clean=False)
    assert code == 0, stderr
    assert len(_trial_folders(out)) == 2
    assert os.path.exists(mark)  # the finished trial was kept, not run again
    assert "Kept the best tuning" in stdout


def test_ctrl_c_during_the_search_keeps_the_best_completed_trial(tmp_path, capsys, monkeypatch):
    import keras

    from keras_nnperf.tuning.recipe import RecipeHyperModel

    class CtrlCAtEpochEnd(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    trials, fit = [], RecipeHyperModel.fit

    def ctrl_c_in_third_trial(self, hp, model, *args, callbacks=None, **kwargs):
        trials.append(hp.values)
        if len(trials) == 3:
            callbacks = [*(callbacks or []), CtrlCAtEpochEnd()]
        return fit(self, hp, model, *args, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(RecipeHyperModel, "fit", ctrl_c_in_third_trial)
    data = generated(tmp_path, "binary")
    out = str(tmp_path / "run")
    argv = ["fit", data, "--target", "y", "--out", out, *FAST, "--tune", "4"]
    code, stdout, stderr = run(argv, capsys, clean=False)
    assert code == 0, stderr
    assert "interrupted: the search ends with 2 of 4 trial(s) completed" in stdout
    report = check_report(out, ("tuner_trials",))
    assert "Searched 2 of 4 architecture(s) and recipe(s): interrupted by Ctrl-C" in report
    assert len(_trial_folders(out)) == 3  # the third trial's folder, to run again on resume
    code, stdout, stderr = run([*argv, "--resume"], capsys, clean=False)
    assert code == 0, stderr
    assert "interrupted" not in stdout
    assert len(_trial_folders(out)) == 4
    assert trials[3] == trials[2]  # the dropped trial ran again, with the same values


def test_keep_uses_an_id_like_column_as_a_feature(tmp_path, capsys):
    # A time step numbering the rows and a value that grows with it: left out as an ID, the
    # step left no feature at all; --keep makes it one.
    rows = [[str(i + 1), f"{0.1 * i + np.sin(i):.4f}"] for i in range(60)]
    data = write_csv(tmp_path / "series.csv", ["step", "value"], rows)
    argv = ["fit", data, "--target", "value", *FAST, "--out"]
    code, _, stderr = run([*argv, str(tmp_path / "a")], capsys)
    assert code == 2 and "left out: 'step' (integers numbering the rows" in stderr
    code, _, stderr = run([*argv, str(tmp_path / "b"), "--keep", "step"], capsys)
    assert code == 0, stderr
    pre = TabularPreprocessor.load(os.path.join(tmp_path, "b", "preprocessing.json"))
    assert pre.feature_names == ["step"]


def test_categorical_reads_postal_codes_as_categories_in_fit_and_predict(tmp_path, capsys):
    codes = ["02134", "10001", "94105"]
    rows = [
        [codes[i % 3], f"{np.sin(i):.3f}", str(int(i % 3 == 0 or i % 5 == 0))] for i in range(60)
    ]
    data = write_csv(tmp_path / "shops.csv", ["zip", "x", "y"], rows)
    out = str(tmp_path / "run")
    code, _, stderr = run(
        [
            "fit",
            data,
            "--target",
            "y",
            *FAST,
            "--ensemble",
            "1",
            "--out",
            out,
            "--categorical",
            "zip",
        ],
        capsys,
    )
    assert code == 0, stderr
    pre = TabularPreprocessor.load(os.path.join(out, "preprocessing.json"))
    assert pre.feature_names[:3] == [f"zip={c}" for c in pre.features[0]["categories"]]
    assert sorted(pre.features[0]["categories"]) == codes
    new = write_csv(tmp_path / "new.csv", ["zip", "x"], [["02134", "0.5"], ["94105", "0.5"]])
    code, stdout, stderr = run(["predict", out, new], capsys)
    assert code == 0, stderr
    lines = stdout.strip().splitlines()
    assert lines[0].startswith("prediction") and len(lines) == 3
    code, _, stderr = run(["fit", data, "--target", "y", "--out", out, "--overwrite",
                           "--categorical", "zp"], capsys)  # fmt: skip
    assert code == 2 and "--categorical: no column named 'zp'; did you mean 'zip'" in stderr


def test_quoted_numbers_are_categories_unless_named_with_numeric(tmp_path, capsys):
    # As R's write.csv writes a factor of digits: quoted, beside bare numbers.
    lines = ['"","x","group","y"']
    lines += [
        f'"{i}",{np.sin(i):.3f},"{i % 4 + 1}",{i % 4 == 1 or i % 3 == 0:d}' for i in range(60)
    ]
    data = tmp_path / "r.csv"
    data.write_text("\n".join(lines) + "\n")
    kinds = {}
    for name, extra in (("default", []), ("numeric", ["--numeric", "group"])):
        out = str(tmp_path / name)
        argv = ["fit", str(data), "--target", "y", *FAST, "--ensemble", "1", "--out", out]
        code, stdout, stderr = run([*argv, *extra], capsys)
        assert code == 0, stderr
        assert ("read as categories (pass --numeric group" in stderr) == (name == "default")
        pre = TabularPreprocessor.load(os.path.join(out, "preprocessing.json"))
        kinds[name] = next(f["kind"] for f in pre.features if f["name"] == "group")
    assert kinds == {"default": "categorical", "numeric": "numeric"}


def test_ctrl_c_during_training_saves_and_reports_the_best_epoch_so_far(
    tmp_path, capsys, monkeypatch
):
    from keras_nnperf.progress import EpochProgress
    from keras_nnperf.recipe import training

    class CtrlCAtSecondEpochEnd(EpochProgress):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt
            super().on_epoch_end(epoch, logs)

    monkeypatch.setattr(training, "EpochProgress", CtrlCAtSecondEpochEnd)
    data, out = generated(tmp_path, "binary"), str(tmp_path / "run")
    argv = ["fit", data, "--target", "y", "--out", out, "--epochs", "6", "--lr-find-steps", "5"]
    code, stdout, _ = run(argv, capsys)
    assert code == 0
    assert "interrupted after 2 epoch(s): saving epoch" in stdout
    assert "Trained 2 epoch(s) (stop: interrupted, kept epoch" in stdout
    report = check_report(out)
    assert "Training was interrupted (Ctrl-C) after 2 of at most 6 epoch(s)" in report
    assert "before the rate had annealed" in report
    # What was saved predicts like the model the run ended with.
    code, _, _ = run(["predict", out, data, "--out", str(tmp_path / "p.csv")], capsys)
    assert code == 0


def test_an_interrupted_search_says_how_to_resume(tmp_path, capsys, monkeypatch):
    from keras_nnperf import pipeline

    searched = []

    def interrupted(*args, **kwargs):
        if searched:  # the search has started: its folder holds trials to resume
            os.makedirs(os.path.join(args[1], "tuner"))  # as train_tabular(data, out, ...)
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "train_tabular", interrupted)
    data = generated(tmp_path, "binary")
    out = str(tmp_path / "run")
    code, _, stderr = run(["fit", data, "--target", "y", "--out", out, "--tune", "3"], capsys)
    assert code == 130 and "nnperf: interrupted" in stderr
    assert "--resume" not in stderr  # stopped before the search: nothing to resume
    searched.append(True)
    code, _, stderr = run(
        ["fit", data, "--target", "y", "--out", out, "--tune", "3", "--overwrite"], capsys
    )
    assert code == 130
    assert "nnperf: interrupted" in stderr and "with --resume" in stderr
    code, _, stderr = run(["fit", data, "--target", "y", "--out", out + "2"], capsys)
    assert code == 130 and "--resume" not in stderr  # nothing to resume without --tune


def test_log_target_with_zeros_trains_on_log_of_y_plus_c(tmp_path, capsys):
    # Fixed assets by industry (cost-of-capital-calculator): 12% zeros, the rest over eleven
    # orders of magnitude. --log-target refused them; it now trains log(y + c).
    rng = np.random.default_rng(0)
    size = rng.uniform(0, 10, 200)
    assets = np.where(rng.uniform(size=200) < 0.15, 0.0, np.exp(2 * size + rng.normal(0, 0.3, 200)))
    data = write_csv(tmp_path / "a.csv", ["size", "assets"], list(zip(size, assets, strict=True)))
    out = str(tmp_path / "run")
    code, stdout, err = run(
        ["fit", data, "--target", "assets", "--log-target", "--out", out, *FAST], capsys
    )
    assert code == 0, err
    assert re.search(r"Validation: .*r2_log -?[0-9.]+", stdout)
    pre = TabularPreprocessor.load(os.path.join(out, "preprocessing.json"))
    c = np.percentile(assets[assets > 0], 1)
    assert pre.target_shift == pytest.approx(c, rel=1e-6)
    report = open(os.path.join(out, "report.md")).read()
    assert f"with zeros: `log(assets + {c:.3g})`" in report
    new = write_csv(tmp_path / "new.csv", ["size"], [[0.5], [9.5]])
    code, stdout, err = run(["predict", out, new], capsys)
    assert code == 0, err
    assert all(float(line) >= 0 for line in stdout.splitlines()[1:])  # clipped at the zeros


def test_log_target_trains_on_the_logarithm_and_predicts_in_the_units(tmp_path, capsys):
    # mglearn's RAM prices span eleven orders of magnitude: R² 0.07 in their own units, 0.69
    # trained on their logarithm. Predictions and metrics stay in the target's units.
    rng = np.random.default_rng(0)
    year = rng.uniform(1957, 2015, 200)
    price = np.exp(20 - 0.45 * (year - 1957) + rng.normal(0, 0.3, 200))
    data = write_csv(tmp_path / "ram.csv", ["year", "price"], list(zip(year, price, strict=True)))
    out = str(tmp_path / "run")
    code, stdout, err = run(
        ["fit", data, "--target", "price", "--log-target", "--out", out, *FAST], capsys
    )
    assert code == 0, err
    assert "orders of magnitude" not in err  # the advice is taken
    # The R2 of the logarithms beside the R2 in the units, for the network and each baseline.
    assert re.search(r"Validation: .*r2 -?[0-9.]+, r2_log -?[0-9.]+", stdout)
    assert re.search(r"linear model .*: r2 -?[0-9.]+, r2_log -?[0-9.]+", stdout)
    pre = TabularPreprocessor.load(os.path.join(out, "preprocessing.json"))
    assert pre.target_log
    assert np.isclose(pre.target_mean, np.median(np.log(price)), rtol=0.2)
    assert "trained as its natural logarithm" in open(os.path.join(out, "report.md")).read()
    new = write_csv(tmp_path / "new.csv", ["year"], [[1960.0], [2010.0]])
    code, stdout, err = run(["predict", out, new], capsys)
    assert code == 0, err
    predictions = [float(line) for line in stdout.splitlines()[1:]]
    assert all(p > 0 for p in predictions)  # exp of the model's output
    # A target below zero, or a class, cannot be a log target.
    bad = write_csv(
        tmp_path / "bad.csv", ["year", "price"], [[1, -2.0]] + [[i, i] for i in range(1, 30)]
    )
    other = str(tmp_path / "other")
    code, _, err = run(["fit", bad, "--target", "price", "--log-target", "--out", other], capsys)
    assert code == 2 and "--log-target needs a target of no negative value; 'price' holds 1" in err
    classes = write_csv(tmp_path / "c.csv", ["a", "y"], [[i, "ab"[i % 2]] for i in range(30)])
    code, _, err = run(["fit", classes, "--target", "y", "--log-target", "--out", other], capsys)
    assert code == 2 and "--log-target needs a regression target; 'y' is binary" in err
