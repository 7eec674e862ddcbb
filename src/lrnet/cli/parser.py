"""The ``lrnet`` argument parser: subcommands, options, help with examples."""

from __future__ import annotations

import argparse
import codecs
import math
import sys

from ..activations import ACTIVATIONS
from ..estimator import SOLVERS, LRNClassifier
from ..initializers import INITS
from ..optim.schedules import SCHEDULES
from .dask_ import check_address

FORMATS = "CSV (delimiter sniffed; .csv.gz fine), Parquet, .npz or .npy"

TRAIN_EXAMPLES = """\
examples:
  lrnet train                                   # scikit-learn's digits, in seconds
  lrnet train customers.csv --target churned
  lrnet train data.parquet --target label --hidden 128,64 --epochs 50 --early-stopping
  lrnet train data.csv --target y --hidden 256,128 --dropout 0.2,0.5 --solver adamw \\
      --weight-decay 0.05 --schedule cosine --warmup 0.1 --max-grad-norm 1 --label-smoothing 0.1
  lrnet train train.csv --target y --valid valid.csv --test-fraction 0 --out y.lrnet
  lrnet train data.csv --target y --json --quiet > run.json
  lrnet train big.parquet --target y --stream --memory 2GB   # larger than memory
"""

EVALUATE_EXAMPLES = """\
examples:
  lrnet evaluate digits.lrnet test.csv
  lrnet evaluate model.lrnet holdout.parquet --json
"""

PREDICT_EXAMPLES = """\
examples:
  lrnet predict model.lrnet new.csv -o predictions.csv
  lrnet predict model.lrnet new.parquet --proba --keep customer_id -o scores.parquet
  lrnet predict model.lrnet new.csv | head
"""

EXPORT_EXAMPLES = """\
examples:
  lrnet export model.lrnet -o model.onnx
  lrnet export model.lrnet -o model.onnx --verify new.csv
  lrnet export model.lrnet -o model.onnx --opset 21 --json
"""

INSPECT_EXAMPLES = """\
examples:
  lrnet inspect digits.lrnet
  lrnet inspect model.lrnet --json
"""

MAIN_DESCRIPTION = (
    """\
Logistic regression networks from the command line: train a classifier on a table,
evaluate it, predict with it, inspect a model file, export it to ONNX.  Tables are read from """
    + FORMATS
    + """.
Preprocessing (scaling, one-hot encoding, imputation) is automatic and saved in the model.

examples:
  lrnet train                       # train on scikit-learn's digits and print the metrics
  lrnet train data.csv --target y   # train on your table
  lrnet predict model.lrnet new.csv -o out.csv
  lrnet <command> --help            # options of one command
"""
)


def hidden_sizes(text: str) -> tuple[int, ...]:
    """``'128,64'`` -> ``(128, 64)``; ``''`` or ``'none'`` -> ``()`` (logistic regression)."""
    if text.strip().lower() in ("", "none", "0"):
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive layer sizes such as 128,64, got {text!r}"
        )
    return sizes


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def dropout_rates(text: str) -> float | tuple[float, ...]:
    """``'0.5'`` -> ``0.5`` (all hidden layers); ``'0.2,0.5'`` -> ``(0.2, 0.5)`` (one per layer)."""
    try:
        rates = tuple(float(part) for part in text.split(","))
    except ValueError:
        rates = ()
    if not rates or not all(0 <= rate < 1 for rate in rates):
        raise argparse.ArgumentTypeError(
            f"expected a dropout rate in [0, 1) or one rate per hidden layer such as 0.2,0.5, "
            f"got {text!r}"
        )
    return rates[0] if len(rates) == 1 else rates


def batch_size(text: str) -> int | str:
    """A positive integer or 'auto'."""
    return "auto" if text == "auto" else _naming_auto(positive_int, text)


def _naming_auto(parse, text: str):
    """``parse(text)``; its error says that ``'auto'`` is accepted too."""
    try:
        return parse(text)
    except argparse.ArgumentTypeError as err:
        expected, got, value = str(err).rpartition(", got ")
        if not got:
            raise
        raise argparse.ArgumentTypeError(f"{expected} or 'auto', got {value}") from None


def positive_float(text: str) -> float:
    """A float > 0."""
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    """A float >= 0."""
    value = _float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A float in [0, 1)."""
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def or_auto(parse):
    """``parse``, or None for ``'auto'`` (the value is then chosen from the data)."""

    def parse_or_auto(text: str):
        return None if text == "auto" else _naming_auto(parse, text)

    parse_or_auto.__name__ = parse.__name__
    return parse_or_auto


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def seed(text: str) -> int:
    """A random seed: an integer in [0, 2**32 - 1], as NumPy and scikit-learn take."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to 4294967295, got {text!r}")
    return value


#: ``--memory`` units (powers of 1024)
MEMORY_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def memory_size(text: str) -> int:
    """Bytes from ``500MB``, ``1.5G``, ``2GiB`` or a plain number of bytes."""
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = value[-1:] if value[-1:] in MEMORY_UNITS else ""
    number = value[: len(value) - len(unit)].strip()
    try:
        size = float(number) * MEMORY_UNITS[unit]
    except ValueError:
        size = math.nan
    if not math.isfinite(size) or size < 1 << 20:
        raise argparse.ArgumentTypeError(
            f"expected a memory size of at least 1MB such as 500MB, 2GB or 1.5G, got {text!r}"
        )
    return int(size)


def encoding(text: str) -> str:
    """A text encoding Python knows (utf-8, latin-1, cp1252, utf-16, ...)."""
    try:
        codecs.lookup(text)
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"unknown encoding {text!r}; use e.g. utf-8, latin-1, cp1252 or utf-16"
        ) from None
    return text


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (the usage block is in --help)."""

    def error(self, message: str):
        """Print ``lrnet train: error: ...`` and exit with status 2."""
        print(f"{self.prog}: error: {message}. See '{self.prog} --help'.", file=sys.stderr)
        raise SystemExit(2)


def column_list(text: str) -> list[str]:
    """``'a,b'`` -> ``['a', 'b']`` (a name given twice counts once)."""
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _add_reading(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading text files")
    group.add_argument(
        "--sep", metavar="CHAR", help="CSV delimiter (default: detected among , ; tab |)"
    )
    group.add_argument(
        "--encoding",
        default="utf-8",
        type=encoding,
        help="text encoding of CSV files (default: utf-8)",
    )
    group.add_argument(
        "--decimal",
        choices=(".", ","),
        help="decimal mark of numbers: with ',' a '.' separates thousands (1.234,5) "
        "(default: detected per text column; predict and evaluate: as in training)",
    )
    group.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="--no-header: the first line is data, the columns are named col_0, col_1, ... "
        "(default: a header line; predict and evaluate: as in training)",
    )


def _add_column_reading(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading columns")
    group.add_argument(
        "--no-dates",
        action="store_true",
        help="leave date and time columns as text (default: read them as dates and use "
        "days since 1970, year, month, weekday and hour as features)",
    )
    group.add_argument(
        "--no-log",
        action="store_true",
        help="keep long-tailed numeric columns on their scale (default: a column of counts "
        "or amounts, never negative, with 10 or more distinct values spanning an order of "
        "magnitude, a sample skewness above 2 and a skewed bulk, is read as log(1 + x) "
        "before scaling)",
    )
    group.add_argument(
        "--max-categories",
        type=positive_int,
        default=30,
        metavar="K",
        help="a text column with more distinct values keeps its K most frequent (each in "
        "5 rows or more) and groups the others as '(other)' (default: 30)",
    )


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document instead of tables"
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing but errors (no progress, notes or tables)",
    )


def _train_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on a table and report its metrics",
        description="Train a classifier on DATA, report held-out metrics, "
        "save the model and an HTML report.",
        epilog=TRAIN_EXAMPLES,
        formatter_class=_formatter,
    )
    p.add_argument(
        "data",
        nargs="?",
        metavar="DATA",
        help=f"training table: {FORMATS} (default: scikit-learn's digits)",
    )
    p.add_argument("-t", "--target", metavar="COL", help="target column (default: the last column)")
    _add_network_options(p.add_argument_group("network and training"))
    _add_split_options(p.add_argument_group("validation and test data"))
    _add_train_outputs(p.add_argument_group("output"))
    _add_output(p)
    _add_reading(p)
    _add_column_reading(p)
    _add_streaming(p.add_argument_group("tables larger than memory"))
    p.add_argument_group("a Dask cluster").add_argument(
        "--dask",
        type=check_address,
        metavar="ADDRESS",
        help="train data-parallel on a Dask cluster: a scheduler address (tcp://host:8786) "
        "or local:N, N single-threaded worker processes here, stopped at the end; a Parquet "
        "or CSV file is read by the workers (at the same path), other data here",
    )


def _add_streaming(group) -> None:
    group.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train on a Parquet or CSV file in bounded memory, reading it a row group at "
        "a time in every pass (default: when the file would not fit in --memory; "
        "--no-stream loads it whatever its size)",
    )
    group.add_argument(
        "--memory",
        type=memory_size,
        metavar="SIZE",
        help="memory the run may use, e.g. 500MB or 4GB; a larger table is streamed "
        "(default: a quarter of the RAM)",
    )
    group.add_argument(
        "--shuffle-buffer",
        type=positive_int,
        metavar="ROWS",
        help="--stream: rows of the buffer that shuffles the rows of the row groups, which "
        "come in a random order every epoch (default: the rows that fit in an eighth of "
        "--memory, at most the training rows)",
    )


def _add_network_options(net) -> None:
    net.add_argument(
        "--hidden",
        type=hidden_sizes,
        default=(100,),
        metavar="SIZES",
        help="hidden layer sizes, e.g. 128,64; 'none' for logistic regression (default: 100)",
    )
    net.add_argument(
        "--activation",
        choices=sorted(ACTIVATIONS),
        default="relu",
        help="hidden activation (default: relu)",
    )
    net.add_argument(
        "--solver",
        choices=SOLVERS,
        default="adam",
        help="optimizer; adamw is Adam with --weight-decay; lion is Lion (use a 3-10x smaller "
        "--lr than adam) (default: adam)",
    )
    net.add_argument(
        "--epochs",
        type=or_auto(positive_int),
        default=None,
        metavar="N",
        help="maximum epochs (iterations for lbfgs); 'auto' caps at about 20,000 steps, "
        "30 to 300 epochs (lbfgs: 200) (default: auto)",
    )
    net.add_argument(
        "--batch-size",
        type=batch_size,
        default="auto",
        metavar="N",
        help="minibatch size, or 'auto': 32 below 2,000 training rows, 64 below 10,000, "
        "128 below 50,000, else 256 (default: auto)",
    )
    net.add_argument(
        "--lr",
        type=positive_float,
        default=1e-3,
        metavar="RATE",
        help="initial learning rate (default: 0.001)",
    )
    net.add_argument(
        "--alpha",
        type=or_auto(nonnegative_float),
        default=None,
        help="L2 penalty, or 'auto': below 10,000 training rows with early stopping, the one "
        "of 0.001, 0.01, 0.1 with the lowest validation log-loss (three fits), else 0.0001 "
        "(0.001 below 10,000 rows) (default: auto)",
    )
    net.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="stop once the validation log-loss has not improved for --patience epochs and "
        "keep the best epoch's weights (default: on whenever there is a validation split)",
    )
    net.add_argument(
        "--patience",
        type=positive_int,
        default=10,
        metavar="N",
        help="epochs without a better validation log-loss before early stopping (default: 10)",
    )
    net.add_argument(
        "--refit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after scoring the model on the test split, fit it again on every row (training, "
        "validation and test) and save that one, as scikit-learn's GridSearchCV(refit=True) "
        "does: with early stopping, for twice the best epoch count under a cosine-decaying "
        "learning rate; the metrics stay those of the scored model (default: on)",
    )
    net.add_argument(
        "--ensemble",
        type=or_auto(positive_int),
        default=None,
        metavar="N",
        help="the refit trains N networks from seeds --seed, --seed+1, ... and saves their "
        "average (the mean of their logits) as one network N times as wide; 'auto': 3 below "
        "50,000 training rows, else 1 (default: auto)",
    )
    _add_training_extras(net)
    net.add_argument(
        "--seed",
        type=seed,
        default=0,
        help="random seed of initialisation, shuffling and splits (default: 0)",
    )


#: the estimator's defaults, quoted in the help of the options that leave them alone
_DEFAULTS = LRNClassifier().get_params()


def _add_training_extras(net) -> None:
    """Options whose default (``None``) leaves the estimator's own default in place."""
    net.add_argument(
        "--schedule",
        choices=SCHEDULES,
        help=(
            "learning-rate schedule of the gradient solvers "
            f"(default: {_DEFAULTS['learning_rate']})"
        ),
    )
    net.add_argument(
        "--warmup",
        type=fraction,
        metavar="F",
        help="share of the steps spent warming up (cosine, onecycle) "
        f"(default: {_DEFAULTS['warmup_fraction']})",
    )
    net.add_argument(
        "--dropout",
        type=dropout_rates,
        metavar="RATES",
        help="dropout rate of the hidden layers, or one per layer, e.g. 0.2,0.5 (default: none)",
    )
    net.add_argument(
        "--weight-decay",
        type=nonnegative_float,
        metavar="W",
        help=(
            "decoupled weight decay of --solver adamw and lion "
            f"(default: {_DEFAULTS['weight_decay']})"
        ),
    )
    net.add_argument(
        "--max-grad-norm",
        type=positive_float,
        metavar="NORM",
        help="clip the gradient norm to this before each step (default: no clipping)",
    )
    net.add_argument(
        "--label-smoothing",
        type=fraction,
        metavar="EPS",
        help=f"mix the targets with the uniform distribution (default: "
        f"{_DEFAULTS['label_smoothing']})",
    )
    net.add_argument(
        "--init",
        choices=INITS,
        help=f"weight initialisation; auto: he for relu (default: {_DEFAULTS['init']})",
    )


def _add_split_options(split) -> None:
    split.add_argument(
        "--valid", metavar="FILE", help="separate validation table, scored after training"
    )
    split.add_argument(
        "--validation-fraction",
        type=or_auto(fraction),
        default=None,
        metavar="F",
        help="share of the training rows held out (stratified) to score every epoch and for "
        "early stopping; 0 for none; 'auto': 10%%, at least min(200 rows, 25%%), at most "
        "50,000 rows (default: auto)",
    )
    split.add_argument(
        "--test-fraction",
        type=fraction,
        default=0.2,
        metavar="F",
        help="share of DATA held out for the metrics; 0 scores the training data (default: 0.2)",
    )
    split.add_argument(
        "--calibrate",
        action="store_true",
        help="temperature scaling: divide the logits by the T > 0 that minimises the "
        "log-loss on the validation split (which the weights are not trained on); saved in "
        "the model and applied by predict, evaluate and export",
    )


def _add_train_outputs(out) -> None:
    out.add_argument(
        "-o", "--out", metavar="MODEL", help="model file to write (default: <DATA name>.lrnet here)"
    )
    out.add_argument(
        "--report",
        metavar="DIR",
        help="report folder (default: <MODEL name>-report next to the model)",
    )
    out.add_argument("--no-report", action="store_true", help="write no report")
    out.add_argument(
        "--checkpoint-every",
        type=positive_int,
        metavar="N",
        help="every N epochs, write the full training state (weights, optimizer moments, "
        "random state, schedule, stopping monitor) to --checkpoint, atomically",
    )
    out.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="checkpoint file (default: <MODEL name>.ckpt.lrnet next to the model); it is "
        "also a model file",
    )
    out.add_argument(
        "--resume",
        metavar="FILE",
        help="continue the run that wrote checkpoint FILE: give the same DATA and options; "
        "the result is bit-identical to a run that was never stopped",
    )
    out.add_argument(
        "--force",
        action="store_true",
        help="replace an existing model even with one that does not beat the class priors",
    )


def _evaluate_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="print a model's metrics on a labelled table",
        description="Score MODEL on DATA, which holds the target column.",
        epilog=EVALUATE_EXAMPLES,
        formatter_class=_formatter,
    )
    p.add_argument("model", metavar="MODEL", help="model file written by lrnet train")
    p.add_argument("data", metavar="DATA", help=f"labelled table: {FORMATS}")
    p.add_argument(
        "-t",
        "--target",
        metavar="COL",
        help="target column (default: the one the model was trained on)",
    )
    p.add_argument("--report", metavar="DIR", help="also write plots and report.html here")
    _add_output(p)
    _add_reading(p)


def _predict_parser(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="write predictions for a table",
        description="Predict a class (and with --proba, one probability "
        "column per class) for every row of DATA, reading it in chunks.",
        epilog=PREDICT_EXAMPLES,
        formatter_class=_formatter,
    )
    p.add_argument("model", metavar="MODEL", help="model file written by lrnet train")
    p.add_argument("data", metavar="DATA", help=f"table to predict: {FORMATS}")
    p.add_argument(
        "--proba",
        action="store_true",
        help="add one probability column per class, named after the class",
    )
    p.add_argument(
        "--keep",
        type=column_list,
        action="extend",
        default=[],
        metavar="COL",
        help="copy these input columns (e.g. an ID) into the output; "
        "repeat or separate with commas",
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="output .csv or .parquet (default: CSV on standard output)",
    )
    p.add_argument(
        "--chunk-size",
        type=positive_int,
        default=50_000,
        metavar="ROWS",
        help="rows read and predicted at a time (default: 50000)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    _add_reading(p)


def _inspect_parser(sub) -> None:
    p = sub.add_parser(
        "inspect",
        help="describe a model file",
        description="Show the layers and parameter count, classes, input "
        "features, preprocessing, training history and versions of MODEL.",
        epilog=INSPECT_EXAMPLES,
        formatter_class=_formatter,
    )
    p.add_argument("model", metavar="MODEL", help="model file written by lrnet")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(quiet=False)


def _export_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a model and its preprocessing as ONNX",
        description="Write MODEL, with the preprocessing saved in it, as an ONNX file that "
        "onnxruntime runs without lrnet: one input per table column (numeric: double, NaN "
        'missing; categorical: string, "" missing), outputs label and probabilities. '
        "Needs the onnx package (pip install 'lrnet[onnx]').",
        epilog=EXPORT_EXAMPLES,
        formatter_class=_formatter,
    )
    p.add_argument("model", metavar="MODEL", help="model file written by lrnet")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the .onnx file to write")
    p.add_argument(
        "--opset",
        type=positive_int,
        default=19,
        metavar="N",
        help="ai.onnx opset, 19 to 23 (default: 19; onnxruntime 1.20 and later load 19 to 21)",
    )
    p.add_argument(
        "--verify",
        metavar="DATA",
        help="run onnxruntime on this table and compare with lrnet's predictions; "
        "exit with an error (and write nothing) when they differ",
    )
    _add_output(p)
    _add_reading(p)


def build_parser() -> argparse.ArgumentParser:
    """The ``lrnet`` parser with its five subcommands."""
    from .._version import __version__

    parser = Parser(prog="lrnet", description=MAIN_DESCRIPTION, formatter_class=_formatter)
    parser.add_argument("--version", action="version", version=f"lrnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _train_parser(sub)
    _evaluate_parser(sub)
    _predict_parser(sub)
    _inspect_parser(sub)
    _export_parser(sub)
    return parser
