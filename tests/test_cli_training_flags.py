"""``lrnet train``'s training extras (issue 5): each option reaches the saved model."""

import json

import pytest

import lrnet
from conftest import make_table
from lrnet import LRNClassifier
from lrnet.cli import main
from lrnet.initializers import INITS
from lrnet.optim.schedules import SCHEDULES

TINY = ["--hidden", "8", "--epochs", "3", "--lr", "0.01", "--no-report", "-q"]

#: the estimator's defaults of the parameters the new options set
EXTRA_PARAMS = (
    "dropout",
    "solver",
    "weight_decay",
    "learning_rate",
    "warmup_fraction",
    "max_grad_norm",
    "label_smoothing",
    "init",
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A small labelled CSV from :func:`make_table`."""
    path = tmp_path_factory.mktemp("flags") / "t.csv"
    make_table(n_rows=120).to_csv(path, index=False)
    return path


def train(data, tmp_path, *options: str) -> LRNClassifier:
    """Run ``lrnet train`` with ``options`` after :data:`TINY`; the loaded estimator."""
    model = tmp_path / "m.lrnet"
    code = main(["train", str(data), "-t", "label", *TINY, *options, "-o", str(model)])
    assert code == 0
    return lrnet.load(model).estimator


@pytest.mark.parametrize(
    "options, expected",
    [
        (["--dropout", "0.3"], {"dropout": 0.3}),
        (["--hidden", "8,4", "--dropout", "0.2,0.5"], {"dropout": [0.2, 0.5]}),  # JSON list
        (["--solver", "adamw"], {"solver": "adamw", "weight_decay": 0.01}),
        (["--solver", "adamw", "--weight-decay", "0.05"], {"weight_decay": 0.05}),
        (["--solver", "adamw", "--weight-decay", "0"], {"weight_decay": 0.0}),
        *[(["--schedule", name], {"learning_rate": name}) for name in SCHEDULES],
        (["--schedule", "cosine", "--warmup", "0.2"], {"warmup_fraction": 0.2}),
        (["--schedule", "onecycle", "--warmup", "0.3"], {"warmup_fraction": 0.3}),
        (["--max-grad-norm", "1.5"], {"max_grad_norm": 1.5}),
        (["--label-smoothing", "0.1"], {"label_smoothing": 0.1}),
        *[(["--init", name], {"init": name}) for name in INITS],
        (["--solver", "sgd", "--schedule", "invscaling"], {"solver": "sgd"}),
    ],
)
def test_option_reaches_the_saved_model(data, tmp_path, options, expected):
    params = train(data, tmp_path, *options).get_params()
    for name, value in expected.items():
        assert params[name] == value
        assert type(params[name]) is type(value)


def test_without_the_options_the_estimator_defaults_are_kept(data, tmp_path):
    params = train(data, tmp_path, "--no-refit").get_params()  # the refit's rate is cosine
    defaults = LRNClassifier(solver="adam").get_params()
    assert {k: params[k] for k in EXTRA_PARAMS} == {k: defaults[k] for k in EXTRA_PARAMS}


def test_inspect_lists_the_options(data, tmp_path, capsys):
    options = ["--hidden", "8,4", "--dropout", "0.2,0.5", "--solver", "adamw"]
    options += ["--weight-decay", "0.05", "--schedule", "cosine", "--warmup", "0.1"]
    options += ["--max-grad-norm", "1", "--label-smoothing", "0.1", "--init", "he"]
    train(data, tmp_path, *options)
    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "m.lrnet"), "--json"]) == 0
    params = json.loads(capsys.readouterr().out)["params"]
    assert params["dropout"] == [0.2, 0.5]
    assert params["solver"] == "adamw" and params["weight_decay"] == 0.05
    assert params["learning_rate"] == "cosine" and params["warmup_fraction"] == 0.1
    assert params["max_grad_norm"] == 1.0 and params["label_smoothing"] == 0.1
    assert params["init"] == "he"
    assert main(["inspect", str(tmp_path / "m.lrnet")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for text in ("learning_rate='cosine'", "warmup_fraction=0.1", "init='he'", "solver='adamw'"):
        assert text in out


def test_help_shows_the_options_and_an_example(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--dropout", "--weight-decay", "--schedule", "--warmup", "--max-grad-norm"):
        assert flag in out
    assert "--label-smoothing" in out and "--init {glorot,he,auto}" in out
    assert "--solver adamw" in out.split("examples:")[1]


@pytest.mark.parametrize(
    "options, message",
    [
        (["--dropout", "1.5"], "argument --dropout: expected a dropout rate in [0, 1)"),
        (["--dropout", "1.5"], "got '1.5'"),
        (["--dropout", "0.5,x"], "one rate per hidden layer such as 0.2,0.5, got '0.5,x'"),
        (["--dropout", "-0.1"], "got '-0.1'"),
        (["--dropout", "0.2,,0.5"], "got '0.2,,0.5'"),
        (["--dropout", "nan"], "got 'nan'"),
        (["--label-smoothing", "-1"], "argument --label-smoothing: expected a fraction in [0, 1)"),
        (["--label-smoothing", "1"], "got '1'"),
        (["--warmup", "1.5"], "argument --warmup: expected a fraction in [0, 1), got '1.5'"),
        (["--weight-decay", "-0.1"], "argument --weight-decay: expected a number >= 0"),
        (["--weight-decay", "lots"], "argument --weight-decay: expected a number, got 'lots'"),
        (["--max-grad-norm", "0"], "argument --max-grad-norm: expected a number > 0, got '0'"),
        (["--schedule", "bogus"], "argument --schedule: invalid choice: 'bogus'"),
        (["--init", "xavier"], "argument --init: invalid choice: 'xavier'"),
        (["--solver", "adamx"], "argument --solver: invalid choice: 'adamx'"),
    ],
)
def test_bad_values_are_usage_errors(options, message, capsys):
    assert main(["train", *options]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    assert message in errors[0]


@pytest.mark.parametrize(
    "hidden, rates, message",
    [
        ("8", "0.1,0.2", "--dropout has 2 rates but --hidden has 1 hidden layer(s)"),
        ("8,4,2", "0.1,0.2", "--dropout has 2 rates but --hidden has 3 hidden layer(s)"),
        ("none", "0.1,0.2", "--dropout has 2 rates but --hidden has 0 hidden layer(s)"),
    ],
)
def test_dropout_rates_must_match_the_hidden_layers(tmp_path, hidden, rates, message, capsys):
    # refused before reading DATA: the file does not even exist
    args = ["train", str(tmp_path / "nope.csv"), "--hidden", hidden, "--dropout", rates]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"lrnet: error: {message}: give one rate for all layers, or one per hidden layer."
    ]


@pytest.mark.parametrize(
    "options, note",
    [
        (
            ["--solver", "lbfgs", "--schedule", "cosine"],
            "--schedule: no effect with --solver lbfgs",
        ),
        (
            ["--solver", "lbfgs", "--dropout", "0.2", "--max-grad-norm", "1"],
            "--dropout, --max-grad-norm: no effect with --solver lbfgs",
        ),
        (["--weight-decay", "0.1"], "--weight-decay: no effect unless --solver is adamw"),
        (["--warmup", "0.1"], "--warmup: no effect unless --schedule is cosine or onecycle"),
        (["--hidden", "none", "--dropout", "0.2"], "--dropout: no effect without hidden layers"),
    ],
)
def test_options_without_effect_get_a_note(data, tmp_path, options, note, capsys):
    model = tmp_path / "m.lrnet"
    args = ["train", str(data), "-t", "label", *TINY[:-1], *options, "-o", str(model)]
    assert main(args) == 0
    assert f"note: {note}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options",
    [
        ["--solver", "adamw", "--weight-decay", "0.1"],
        ["--schedule", "onecycle", "--warmup", "0.2"],
        ["--dropout", "0.2", "--max-grad-norm", "1", "--label-smoothing", "0.1"],
    ],
)
def test_options_with_effect_get_no_note(data, tmp_path, options, capsys):
    model = tmp_path / "m.lrnet"
    args = ["train", str(data), "-t", "label", *TINY[:-1], *options, "-o", str(model)]
    assert main(args) == 0
    assert "no effect" not in capsys.readouterr().err
