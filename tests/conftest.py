"""Shared builders for the network-level tests: a small problem in a flat buffer."""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from lrnet.network import Layout, Net, Workspace, value_and_grad

#: output kinds of the network tests: (output link, number of output units, target kind)
OUTPUTS = {
    "binary": ("logistic", 1),
    "multiclass": ("softmax", 3),
    "multilabel": ("logistic", 3),
}


#: the fixture generators (tests/fixtures/make_*.py) import as plain modules
sys.path.insert(0, str(Path(__file__).parent / "fixtures"))


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    """One BLAS thread: the tests' matrices are tiny, and extra threads only contend."""
    with threadpool_limits(limits=1):
        yield


@dataclass
class Problem:
    """A network, its parameters and one batch of data, all float64."""

    net: Net
    params: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    sample_weight: np.ndarray | None
    alpha: float

    def value_and_grad(self, params: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """Objective and a fresh copy of its gradient at ``params`` (default: own)."""
        params = self.params if params is None else params
        grads = np.empty_like(params)
        work = Workspace(self.net.layout, self.X.shape[0], params.dtype)
        loss = value_and_grad(
            self.net, params, grads, self.X, self.Y, self.sample_weight, self.alpha, work
        )
        return loss, grads


def make_problem(
    activation: str = "tanh",
    output: str = "multiclass",
    hidden: tuple[int, ...] = (5,),
    weighted: bool = False,
    alpha: float = 0.0,
    n_samples: int = 12,
    n_features: int = 4,
    seed: int = 0,
) -> Problem:
    """A random float64 problem; targets match the output kind."""
    rng = np.random.default_rng(seed)
    kind, k = OUTPUTS[output]
    X = rng.standard_normal((n_samples, n_features))
    if output == "multiclass":
        Y = np.eye(k)[rng.integers(k, size=n_samples)]
    else:
        Y = rng.integers(2, size=(n_samples, k)).astype(np.float64)
    layout = Layout((n_features, *hidden, k))
    params = rng.uniform(-1.0, 1.0, layout.size)
    sw = None
    if weighted:
        sw = rng.uniform(0.0, 3.0, n_samples)
        sw[:2] = 0.0  # zero weights must simply drop rows
    return Problem(Net(layout, activation, kind), params, X, Y, sw, alpha)


@pytest.fixture
def problem_factory():
    """The :func:`make_problem` builder, for tests that need several problems."""
    return make_problem


@pytest.fixture(autouse=True)
def _matplotlib_config_dir(tmp_path_factory, monkeypatch):
    """Keep matplotlib's cache out of $HOME: MPLCONFIGDIR in a temporary folder."""
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path_factory.getbasetemp() / "mplconfig"))


def make_table(n_rows: int = 240, seed: int = 0):
    """A small table like real data: numbers, categories, gaps, an ID, a string target.

    ``label`` ('yes', 'no', 'maybe') depends on ``x1``, ``x2`` and ``color``; ``x1``
    and ``color`` have missing values; ``customer_id`` is an all-unique integer ID.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n_rows)
    x2 = rng.normal(50.0, 10.0, size=n_rows)
    color = rng.choice(["red", "green", "blue"], n_rows)
    score = 1.5 * x1 + 1.5 * (color == "red") - (x2 - 50.0) / 10.0
    label = np.where(score > 0.7, "yes", np.where(score < -0.7, "no", "maybe"))
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(1000, 1000 + n_rows),
            "x1": x1,
            "x2": x2.round(2),
            "color": color,
            "size": rng.choice(["S", "M", "L"], n_rows),
            "label": label,
        }
    )
    frame.loc[rng.choice(n_rows, 20, replace=False), "x1"] = np.nan
    frame.loc[rng.choice(n_rows, 15, replace=False), "color"] = None
    return frame


@pytest.fixture
def table():
    """:func:`make_table`'s default table (a fresh copy per test)."""
    return make_table()


def train_table_model(folder, *options):
    """``lrnet train`` on :func:`make_table`'s CSV in ``folder``; returns (csv, model)."""
    from lrnet.cli import main

    data = folder / "customers.csv"
    make_table().to_csv(data, index=False)
    model = folder / "customers.lrnet"
    code = main(["train", str(data), "--target", "label", *options, "--out", str(model), "-q"])
    assert code == 0
    return data, model


@pytest.fixture(scope="session")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def quiet_fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)
