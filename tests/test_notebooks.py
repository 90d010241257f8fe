import glob
import json
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(REPO, "examples")
NOTEBOOKS = NOTEBOOKS_ON_DISK = sorted(glob.glob(os.path.join(EXAMPLES, "*.ipynb")))
sys.path.insert(0, EXAMPLES)  # build_notebooks.py, the notebooks' source


def test_every_example_is_collected():
    pytest.importorskip("nbformat", reason="the notebooks' tools are in the TensorFlow dev venv")
    from build_notebooks import NOTEBOOKS as SOURCES

    assert sorted(os.path.basename(p) for p in NOTEBOOKS_ON_DISK) == sorted(SOURCES)


@pytest.mark.slow
@pytest.mark.tensorflow_only("the notebooks run in the TensorFlow dev venv, with its kernel")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs(path, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    # The kernel inherits this environment: shortened runs, quiet TensorFlow, no GPU probing.
    monkeypatch.setenv("NNPERF_FAST", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # The kernel runs in a temporary folder: make sure it imports this checkout.
    monkeypatch.setenv("PYTHONPATH", REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    notebook = nbformat.read(path, as_version=4)
    # A stored output (notebook 02 is stored executed) must never show a figure as text. (After
    # this headless run, with the Agg backend and no inline display hook, every bare Figure is
    # text, so only the stored outputs are checked.)
    assert not _figures_shown_as_text(notebook)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors


def _figures_shown_as_text(notebook) -> list:
    # A bare matplotlib Figure as a cell's value prints as "<Figure size ...>" instead of a
    # picture: what a reader on GitHub or Kaggle would see.
    return [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if str(output.get("data", {}).get("text/plain", "")).startswith("<Figure")
        and "image/png" not in output.get("data", {})
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_is_stored_executed_with_its_pictures(path):
    # GitHub and Kaggle show what is stored: every code cell ran, none failed, the pictures are
    # images (never "<Figure ...>" text), and the stored run is the current source.
    pytest.importorskip("nbformat", reason="the notebooks' tools are in the TensorFlow dev venv")
    from build_notebooks import NOTEBOOKS as SOURCES
    from build_notebooks import build

    with open(path, encoding="utf-8") as f:
        notebook = json.load(f)
    cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in cells), "a code cell was never run"
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    import nbformat

    assert not _figures_shown_as_text(nbformat.from_dict(notebook))
    source = build(SOURCES[os.path.basename(path)])
    assert ["".join(c["source"]) for c in notebook["cells"]] == [
        c["source"] for c in source.cells
    ], "stale: run python examples/build_notebooks.py --execute"
