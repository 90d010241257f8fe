"""`nnperf`: train, diagnose and report on a CSV file without writing code.

    nnperf demo                                  # the whole flow on bundled data
    nnperf fit train.csv --target label          # diagnose, LR range test, train, report
    nnperf fit train.csv --target label --folds 5 --id PassengerId
    nnperf fit train.csv --target label --tune 20
    nnperf predict nnperf-report test.csv --out preds.csv
    nnperf lr-find train.csv --target label
    nnperf diagnose train.csv --target label

Exit codes: 0 success, 1 unexpected failure (a bug: rerun with `--debug` for the traceback),
2 bad input or usage, or no Keras backend installed (one line on stderr, `nnperf: error: ...`),
130 interrupted.

The command is an application, so it may do what a library must not: before the backend is
imported it quiets TensorFlow's C++ start-up logs (`quiet_backend`), and when the backend Keras
is configured for (TensorFlow unless told otherwise) is not installed it uses one that is, and
says so (`installed_backend`: a JAX-only environment used to end in a traceback from inside
Keras). Parsing the arguments
imports only the standard library; Keras and the recipe are imported inside the commands, so
`nnperf --help` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import logging
import math
import os
import sys
import warnings

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEMO_DIR = "nnperf-report-demo"
FIT_DIR = "nnperf-report"
LR_FIND_DIR = "nnperf-report-lr-find"


class UsageError(Exception):
    """A command-line mistake; `main` prints it as one line and returns 2."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the usage block and calls sys.exit; one line and a return code read better.
    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def check_out_dir(path: str, overwrite: bool) -> None:
    """Fail early if `path` cannot hold a report, or would overwrite files without `--overwrite`.

    Raises:
        UsageError: for a non-directory, a non-empty directory without `overwrite`, or a path
            that cannot be created or written.
    """
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise UsageError(f"output directory {path} exists and is not a directory")
        if os.listdir(path) and not overwrite:
            raise UsageError(
                f"output directory {path} is not empty; pass --overwrite to replace its files "
                "or choose another --out"
            )
        parent = path
    else:
        parent = os.path.dirname(os.path.abspath(path))
        while not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if not os.path.isdir(parent):
            raise UsageError(f"cannot create output directory {path}: {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write to output directory {path}: permission denied")


def make_out_dir(path: str) -> None:
    """Create `path` (after `check_out_dir`), turning OS errors into `UsageError`."""
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".nnperf-write-test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as err:
        raise UsageError(f"cannot write to output directory {path}: {err.strerror}") from None


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", metavar="DATA.csv", help="comma-separated file with a header row")
    p.add_argument("--target", required=True, help="name of the column to predict")
    p.add_argument(
        "--task",
        default="auto",
        choices=["auto", "binary", "multiclass", "regression"],
        help="what to predict (default: inferred from the target column)",
    )
    p.add_argument(
        "--batch-size",
        type=_positive,
        default=None,
        help="default: 32 up to 4,096 training rows, then larger (about 128 steps per epoch, "
        "at most 256)",
    )
    p.add_argument(
        "--validation-split",
        type=_fraction,
        default=None,
        metavar="FRACTION",
        help="share of rows held out for validation, in (0, 1) (default: 0.2)",
    )
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--drop",
        nargs="+",
        default=[],
        metavar="COL",
        help="leave these columns out of the features",
    )
    p.add_argument(
        "--id",
        metavar="COL",
        help="the ID column: never a feature; predict writes it first in its output",
    )
    p.add_argument(
        "--keep",
        nargs="+",
        default=[],
        metavar="COL",
        help="use these columns as features even if they look like IDs (a time step)",
    )
    p.add_argument(
        "--categorical",
        nargs="+",
        default=[],
        metavar="COL",
        help="read these columns as categories even where every value is a number (postal, "
        "store or product codes: 02134 keeps its zero)",
    )
    p.add_argument(
        "--numeric",
        nargs="+",
        default=[],
        metavar="COL",
        help="read these columns of quoted numbers as numbers (the file quotes them as R quotes "
        "factors, which are read as categories otherwise)",
    )
    p.add_argument(
        "--log-target",
        action="store_true",
        help="train a regression target of no negative value as its logarithm (prices, counts "
        "spanning orders of magnitude; with zeros, log(y + c)); predictions and metrics stay in "
        "its units",
    )


def _out_args(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument("--out", default=default, help=f"report folder (default: {default})")
    p.add_argument("--overwrite", action="store_true", help="replace files in a non-empty --out")


def _train_args(p: argparse.ArgumentParser, epochs: int | None) -> None:
    shown = epochs or "50; 100 for a regression target without --tune"
    p.add_argument("--epochs", type=_positive, default=epochs, help=f"at most (default: {shown})")
    p.add_argument(
        "--lr-find-steps", type=_at_least_5, default=100, help="LR range test steps (default: 100)"
    )
    p.add_argument(
        "--lr",
        type=_rate,
        metavar="RATE",
        help="peak learning rate; skips the LR range test (default: its suggestion)",
    )


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite rate > 0, got {text}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text}")
    return value


def _at_least_2(text: str) -> int:
    value = _positive(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected a number >= 2, got {value}")
    return value


def _at_least_5(text: str) -> int:
    value = _positive(text)
    if value < 5:
        raise argparse.ArgumentTypeError(f"expected a number >= 5, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 2**32), got {value}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The `nnperf` argument parser with its five commands."""
    parser = _Parser(prog="nnperf", description="Make Keras networks train better and faster.")
    parser.add_argument("--version", action="version", version=f"nnperf {_version()}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an unexpected error"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    demo = commands.add_parser(
        "demo", help="the whole flow on bundled breast-cancer data, with a report"
    )
    _out_args(demo, DEMO_DIR)
    _train_args(demo, 40)
    demo.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")
    demo.set_defaults(handler=_demo)

    fit = commands.add_parser("fit", help="diagnose, LR range test, train (or tune), report")
    _data_args(fit)
    _train_args(fit, None)  # the recipe's default_epochs(task)
    fit.add_argument(
        "--folds",
        type=_at_least_2,
        metavar="K",
        help="K-fold cross-validation (stratified for classification): K models, out-of-fold "
        "metrics, and predict averages the K models",
    )
    fit.add_argument(
        "--ensemble",
        type=_positive,
        metavar="N",
        help="train N networks from seeds SEED..SEED+N-1 and save the mean of their outputs as "
        "one model (default: 3 up to 1,500 training rows, else 1)",
    )
    fit.add_argument(
        "--tune", type=_positive, metavar="N_TRIALS", help="search N_TRIALS architectures instead"
    )
    fit.add_argument("--workers", type=_positive, default=1, help="parallel trials with --tune")
    fit.add_argument(
        "--resume",
        action="store_true",
        help="continue the --tune search an interrupted run left in --out (same data and options)",
    )
    _out_args(fit, FIT_DIR)
    fit.set_defaults(handler=_fit)

    predict = commands.add_parser("predict", help="predict a CSV with a model from `nnperf fit`")
    predict.add_argument("model_dir", metavar="MODEL_DIR", help="the --out folder of nnperf fit")
    predict.add_argument(
        "data",
        metavar="DATA.csv",
        help="rows to predict; when it has the target column, the metrics go to stderr",
    )
    predict.add_argument("--out", help="write predictions here (default: standard output)")
    predict.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    predict.add_argument(
        "--submission",
        action="store_true",
        help="write only the ID column and the prediction, named after the target (a Kaggle "
        "submission file); default: also the class probabilities",
    )
    predict.set_defaults(handler=_predict)

    lr_find = commands.add_parser("lr-find", help="LR range test: suggest a learning rate")
    _data_args(lr_find)
    lr_find.add_argument("--steps", type=_at_least_5, default=100, help="default: 100")
    _out_args(lr_find, LR_FIND_DIR)
    lr_find.set_defaults(handler=_lr_find)

    diagnose = commands.add_parser("diagnose", help="check data, model and learning rate")
    _data_args(diagnose)
    diagnose.set_defaults(handler=_diagnose)
    return parser


def _version() -> str:
    # From the installed metadata: importing the package would import Keras.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("keras-nnperf")
    except PackageNotFoundError:
        from keras_nnperf import __version__

        return __version__


def _demo(args) -> int:
    from keras_nnperf import pipeline

    check_out_dir(args.out, args.overwrite)
    make_out_dir(args.out)
    path = pipeline.write_demo_csv(os.path.join(args.out, "breast_cancer.csv"))
    print(f"Demo data: scikit-learn's breast-cancer set (569 rows) written to {path}")
    args.folds, args.drop, args.id, args.keep = None, [], None, []
    result = _train(args, path, "target", "auto", None, validation_split=0.2, tune=None)
    print(result.summary())
    return EXIT_OK


def _fit(args) -> int:
    print(run_fit(args).summary())
    return EXIT_OK


def run_fit(args):
    """Run `nnperf fit` for parsed `args` and return its `PipelineResult` (benchmarks call this).

    Raises:
        UsageError, DataError: for bad input.
    """
    if args.resume and not args.tune:
        raise UsageError("--resume continues an interrupted search; it needs --tune N_TRIALS")
    # A resumed run reuses its own folder: the search's trials are what it came back for.
    check_out_dir(args.out, args.overwrite or args.resume)
    if args.workers != 1 and not args.tune:
        raise UsageError("--workers runs tuning trials in parallel; it needs --tune N_TRIALS")
    if args.folds and args.tune:
        raise UsageError("--folds and --tune cannot be combined: tune first, then use --folds")
    if args.folds and args.validation_split is not None:
        raise UsageError("--folds validates on every row in turn; drop --validation-split")
    if (args.ensemble or 1) > 1 and (args.folds or args.tune):
        raise UsageError(
            "--ensemble averages networks of one split: --folds already averages its K fold "
            "networks, and --tune keeps its best trial's"
        )
    split = 0.2 if args.validation_split is None else args.validation_split
    return _train(args, args.data, args.target, args.task, args.batch_size, split, args.tune)


def _load_options(args) -> dict:
    # Passed only when given, so the loader's signature is needed only by those who use them.
    options = {}
    if getattr(args, "drop", None):
        options["drop"] = tuple(args.drop)
    if getattr(args, "id", None):
        options["id_column"] = args.id
    if getattr(args, "keep", None):
        options["keep"] = tuple(args.keep)
    if getattr(args, "categorical", None):
        options["categorical"] = tuple(args.categorical)
    if getattr(args, "numeric", None):
        options["numeric"] = tuple(args.numeric)
    if getattr(args, "log_target", False):
        options["log_target"] = True
    return options


def _load(args, path=None, target=None, task=None, split=None):
    from keras_nnperf.tabular import load_training_data

    split = 0.2 if split is None else split
    return load_training_data(
        path or args.data,
        target or args.target,
        task or args.task,
        split,
        args.seed,
        **_load_options(args),
    )


def _train(args, path, target, task, batch_size, validation_split, tune):
    import keras

    from keras_nnperf import pipeline

    common = dict(
        epochs=args.epochs,
        batch_size=batch_size,
        lr_find_steps=args.lr_find_steps,
        seed=args.seed,
        data_path=path,
        learning_rate=args.lr,
    )
    if args.folds:
        datasets, rows = pipeline.load_folds(
            path, target, task, args.folds, args.seed, **_load_options(args)
        )
        make_out_dir(args.out)
        keras.utils.set_random_seed(args.seed)
        return pipeline.train_folds(datasets, rows, args.out, **common)
    data = _load(args, path, target, task, validation_split)
    make_out_dir(args.out)
    keras.utils.set_random_seed(args.seed)
    return pipeline.train_tabular(
        data,
        args.out,
        tune_trials=tune,
        workers=getattr(args, "workers", 1),
        resume=getattr(args, "resume", False),
        ensemble=getattr(args, "ensemble", None),
        **common,
    )


def _predict(args) -> int:
    from keras_nnperf import pipeline

    if args.out is not None:
        if os.path.exists(args.out) and not args.overwrite:
            raise UsageError(f"{args.out} exists; pass --overwrite to replace it")
        parent = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(parent):
            raise UsageError(f"cannot write {args.out}: directory {parent} does not exist")
    result = pipeline.predict_csv(args.model_dir, args.data)
    columns = result.submission() if args.submission else result.columns
    names = list(columns)
    rows = zip(*(columns[n] for n in names), strict=True)
    try:
        with contextlib.ExitStack() as stack:
            if args.out is None:
                f = sys.stdout
            else:
                f = stack.enter_context(open(args.out, "w", newline="", encoding="utf-8"))
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(names)
            for row in rows:
                writer.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row])
    except OSError as err:
        raise UsageError(f"cannot write {args.out}: {err.strerror}") from None
    n = len(result.columns["prediction"])
    ensemble = ""
    if result.models > 1:
        ensemble = f" (mean of {result.models} fold models)"
    elif result.networks > 1:
        ensemble = f" (mean of {result.networks} networks)"
    if args.out is not None:
        print(f"Wrote {n} predictions to {args.out}{ensemble}", file=sys.stderr)
    if result.metrics is not None:
        # stderr: standard output may be the predictions file.
        shown = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
        print(
            f"Metrics on {args.data}, {result.scored_rows} rows with a target{ensemble}: {shown}",
            file=sys.stderr,
        )
    for note in result.notes:
        print(f"nnperf: note: {note}", file=sys.stderr)
    return EXIT_OK


def _lr_find(args) -> int:
    import keras

    from keras_nnperf import pipeline

    check_out_dir(args.out, args.overwrite)
    data = _load(args, split=args.validation_split)
    make_out_dir(args.out)
    keras.utils.set_random_seed(args.seed)
    finder, path = pipeline.lr_range_test(data, args.out, args.batch_size, args.steps)
    print(f"Suggested learning rate: {finder.suggestion:.3g} (rule: {finder.rule})")
    print(f"Why: {finder.reason}")
    print(f"Plot: {path}")
    return EXIT_OK


def _diagnose(args) -> int:
    import keras

    from keras_nnperf import pipeline

    data = _load(args, split=args.validation_split)
    keras.utils.set_random_seed(args.seed)
    print(pipeline.diagnose_data(data, args.batch_size))
    return EXIT_OK


@contextlib.contextmanager
def _stderr_silenced():
    """Send file descriptor 2 to the null device (C++ libraries write there, not to sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def quiet_backend() -> None:
    """Import Keras and its backend without TensorFlow's start-up logs; quiet its loggers.

    TensorFlow logs through absl before `absl::InitializeLog()`; `TF_CPP_MIN_LOG_LEVEL=3`
    quiets what comes after, but the start-up lines (oneDNN, CPU features) ignore it, so the
    import runs with file descriptor 2 sent to the null device. An import error is still raised
    (and shown by `main`) as usual. TensorFlow's Python logger and absl's are set to errors.

    This changes the process's logging, which only an application may do: `main` calls it, the
    library never does. In a process that imported Keras already it is too late for the C++
    logs (the environment variable is read at start-up); the loggers are still quieted.
    """
    if "keras" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with _stderr_silenced():
            import keras  # noqa: F401  (imports the backend)
    if "tensorflow" in sys.modules:
        # TensorFlow's Python warnings ("triggered tf.function retracing") go through this logger.
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if "absl.logging" in sys.modules:
        sys.modules["absl.logging"].set_verbosity("error")


@contextlib.contextmanager
def _warnings_to_stderr():
    """Show data warnings as `nnperf: warning: ...` lines and silence library chatter."""
    from keras_nnperf.callbacks.alerts import TrainingAlert
    from keras_nnperf.recipe.training import RecipeWarning
    from keras_nnperf.tabular import DataWarning

    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, (DataWarning, RecipeWarning)):
            print(f"nnperf: warning: {message}", file=sys.stderr)
        elif issubclass(category, TrainingAlert):
            print(f"nnperf: alert: {message}", file=sys.stderr)
        else:
            original(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.simplefilter("always", DataWarning)
        # The LR range test feeds fit a shuffled, repeated dataset on purpose.
        warnings.filterwarnings("ignore", message=".*shuffle=True. was passed")
        warnings.showwarning = show
        yield


def main(argv=None) -> int:
    """Run `nnperf` with `argv` (default: `sys.argv[1:]`) and return the exit code.

    Args:
        argv: Command-line arguments without the program name.

    Returns:
        0 on success, 1 on an unexpected error, 2 on bad input or usage, 130 when interrupted.

    Example:
    ```python
    from keras_nnperf.cli import main
    main(["fit", "train.csv", "--target", "label", "--epochs", "5"])
    ```
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as err:
        print(f"nnperf: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exit_:  # --help and --version print, then exit 0.
        return int(exit_.code or 0)
    # Imported here, as every package module: `cli` alone must load without the package.
    from keras_nnperf.installed_backend import choose_installed_backend, configured_backend

    if "keras" not in sys.modules:
        # The configured backend (TensorFlow by default) may not be installed: use one that is.
        chosen = choose_installed_backend()
        if chosen:
            print(f"nnperf: note: {chosen}", file=sys.stderr)
    try:
        try:
            quiet_backend()
        except ImportError as err:  # only Keras's own import: the package's errors are bugs
            if args.debug:
                raise
            print(
                f"nnperf: error: Keras could not import its {configured_backend()} backend "
                f"({err}). Install a backend (pip install 'keras-nnperf[cpu]', '[jax]' or "
                "'[torch]') or set KERAS_BACKEND to one that is installed",
                file=sys.stderr,
            )
            return EXIT_USAGE
        # Started as the command, the package's import loaded nothing: load and register the
        # whole API now, as `import keras_nnperf` does in a library (load_model needs it).
        import keras_nnperf._api  # noqa: F401
        from keras_nnperf.compilation_cache import enable_jax_compilation_cache
        from keras_nnperf.recipe.fit import PipelineError
        from keras_nnperf.tabular import DataError

        # An application may configure JAX for its run: a run trains identical networks (the
        # range test's copy, ensemble members, folds, trials), each compiled once this way.
        enable_jax_compilation_cache()
    except KeyboardInterrupt:
        print("nnperf: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    with _warnings_to_stderr():
        try:
            return args.handler(args)
        except (UsageError, DataError) as err:
            print(f"nnperf: error: {err}", file=sys.stderr)
            return EXIT_USAGE
        except PipelineError as err:
            print(f"nnperf: error: {err}", file=sys.stderr)
            return EXIT_FAILURE
        except KeyboardInterrupt:
            print("nnperf: interrupted", file=sys.stderr)
            trials = os.path.join(getattr(args, "out", "") or "", "tuner")
            # Only a search that had started leaves trials to come back for.
            if getattr(args, "tune", None) and os.path.isdir(trials):
                print(
                    f"nnperf: the search's trials are kept in {trials}: rerun the same command "
                    "with --resume to continue it",
                    file=sys.stderr,
                )
            return EXIT_INTERRUPTED
        except Exception as err:
            if args.debug:
                raise
            print(
                f"nnperf: error: unexpected {type(err).__name__}: {err} "
                "(rerun with --debug to see the traceback)",
                file=sys.stderr,
            )
            return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
