"""``lrnet train FILE --dask``: the workers read the file (:mod:`lrnet.cli.dask_table`).

The cluster binds 127.0.0.1, keeps its files under a temporary folder and is closed by
its fixture; the command connects to it by address (a client of its own, closed at the
end of the run).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

pytest.importorskip("distributed")

import lrnet  # noqa: E402
from lrnet.cli import main  # noqa: E402
from lrnet.data.columns import ColumnOptions, plan_columns  # noqa: E402
from lrnet.distributed import cluster  # noqa: E402
from lrnet.distributed import table as worker  # noqa: E402
from lrnet.errors import DataError  # noqa: E402
from lrnet.stream.files import open_table  # noqa: E402
from lrnet.stream.rows import Rows, Split, scan  # noqa: E402
from lrnet.stream.stats import TableStats, fitted_preprocessor  # noqa: E402
from test_stream import make_frame, write  # noqa: E402

FAST = ["--hidden", "6", "--no-report", "--quiet", "--force", "--seed", "3"]


@pytest.fixture(scope="module")
def address(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dask-table")
    with cluster.local_cluster(2, folder, as_default=False) as client:
        yield client.scheduler.address


def labels(series):
    return series.astype(str).to_numpy(dtype=str)


# ---------------------------------------------------------------------- blocks of row groups
@pytest.mark.parametrize(
    "group_rows, n_blocks",
    [
        ([10] * 5, 4),
        ([100, 1, 1, 1], 2),
        ([5], 4),
        ([3] * 6, 2),
        ([7, 0, 7, 0, 7], 3),
        ([1] * 9, 9),
    ],
)
def test_blocks_are_contiguous_cover_every_group_and_balance_rows(group_rows, n_blocks):
    blocks = worker.blocks(group_rows, n_blocks)
    assert [g for b in blocks for g in b] == list(range(len(group_rows)))  # in order, once
    assert 1 <= len(blocks) <= min(n_blocks, len(group_rows))
    rows = [sum(group_rows[g] for g in b) for b in blocks]
    share = sum(group_rows) / len(blocks)
    assert max(rows) <= share + max(group_rows)  # no block holds more than a share plus a group


# ---------------------------------------------------------------------- merged statistics
@pytest.mark.parametrize("n_blocks", [1, 2, 7])
@pytest.mark.parametrize("max_categories", [50, 5])
def test_statistics_merged_from_blocks_equal_one_pass(tmp_path, n_blocks, max_categories):
    path = tmp_path / "t.parquet"
    write(make_frame(3000), path, group_rows=250)
    how = Split(seed=4, test_fraction=0.2, validation_fraction=0.1)
    options = ColumnOptions(max_categories=max_categories)
    with open_table(path) as table:
        frame = table.sample(10**9, np.random.default_rng(0))
        plan = plan_columns(frame, "y", str(path), options)
        one = scan(Rows(table, "y", how, labels), TableStats(plan, np.random.default_rng(1)))
        spec = worker.TableRows(str(path), str(path), table.attrs, "y", how, labels)
        blocks = worker.blocks(table.group_rows, n_blocks)
    parts = [worker.statistics(spec, b, plan, 0, i) for i, b in enumerate(blocks)]
    assert sum(p.rows(0) for p in parts) == one.rows(0)
    merged = worker.merged(parts)
    assert merged.labels == one.labels and merged.missing_target == one.missing_target
    got = fitted_preprocessor(merged.stats, "y", options, str(path)).to_dict()
    want = fitted_preprocessor(one.stats, "y", options, str(path)).to_dict()
    assert got["categorical"] == want["categorical"] and got.get("capped") == want.get("capped")
    num, ref = got["numeric"], want["numeric"]
    # every value fits in the median samples here, so the medians are exact in both
    for key in ("columns", "medians", "missing_indicator", "n_samples_seen"):
        assert num[key] == ref[key], key
    for key in ("mean", "var", "scale"):
        np.testing.assert_allclose(num[key], ref[key], rtol=1e-12, err_msg=key)


def test_merged_median_samples_stay_bounded_and_uniform(tmp_path):
    from lrnet.stream.stats import NumericStats

    rng = np.random.default_rng(0)
    values = rng.exponential(size=(40_000, 1))
    parts = []
    for i, start in enumerate(range(0, len(values), 10_000)):
        stats = NumericStats(["v"], np.random.default_rng([5, i]), sample=2_000)
        stats.update(values[start : start + 10_000])
        parts.append(stats)
    for other in parts[1:]:
        parts[0].merge(other)
    assert len(parts[0].values[0]) == 2_000
    assert parts[0].count[0] == 40_000
    # the sample's median is within a few standard errors of the true one (ln 2)
    assert abs(parts[0].medians()[0] - np.log(2)) < 0.06


def test_a_worker_that_cannot_read_the_file_says_what_to_do(tmp_path):
    spec = worker.TableRows(str(tmp_path / "gone.parquet"), "data.parquet", {}, "y", None, labels)
    with pytest.raises(DataError, match="every worker sees .a shared filesystem"):
        spec.open()


# ---------------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def table_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("dask-data") / "t.parquet"
    write(make_frame(3000), path, group_rows=200)
    return path


def test_dask_lbfgs_equals_the_streamed_lbfgs(table_file, address, tmp_path):
    """The workers' passes give the model of the single-process streamed run.

    Logistic regression (convex) to convergence: both runs sum the same rows in float32
    in different orders, so they agree to the solver's tolerance, not bit for bit (the
    float64 equality of distributed and local lbfgs is in test_distributed).
    """
    common = ["train", str(table_file), "--target", "y", "--solver", "lbfgs", "--epochs", "200"]
    common += [*FAST, "--hidden", "none"]
    assert main([*common, "--stream", "-o", str(tmp_path / "s.lrnet")]) == 0
    assert main([*common, "--dask", address, "-o", str(tmp_path / "d.lrnet")]) == 0
    streamed, on_dask = lrnet.load(tmp_path / "s.lrnet"), lrnet.load(tmp_path / "d.lrnet")
    got, want = on_dask.preprocessor.to_dict(), streamed.preprocessor.to_dict()
    assert got["categorical"] == want["categorical"]
    for key in ("mean", "scale", "medians"):
        np.testing.assert_allclose(got["numeric"][key], want["numeric"][key], rtol=1e-12)
    a, b = on_dask.estimator, streamed.estimator
    assert a.n_iter_ < 200 and abs(a.n_iter_ - b.n_iter_) <= 1  # both converged
    np.testing.assert_allclose(a.loss_, b.loss_, rtol=1e-6)
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_allclose(x, y, atol=1e-3)


def test_the_client_never_reads_a_row_of_a_role(table_file, address, tmp_path, monkeypatch, capsys):
    """Training, validation and test rows are read by the workers only."""

    def refused(*args, **kwargs):
        raise AssertionError("the client read rows of the table")

    monkeypatch.setattr(Rows, "frames", refused)
    model = tmp_path / "m.lrnet"
    args = ["train", str(table_file), "--target", "y", "--epochs", "5", "--hidden", "6"]
    assert main([*args, "--no-report", "--json", "--dask", address, "-o", str(model)]) == 0
    result = json.loads(capsys.readouterr().out)
    notes = " ".join(result["notes"])
    assert "its 2 worker(s) read" in notes and "statistics pass on the workers" in notes
    assert 1 <= lrnet.load(model).estimator.n_iter_ <= 5
    assert 0 < result["metrics"]["log_loss"] < result["metrics"]["baseline"]["log_loss"]


def test_csv_files_are_read_by_the_workers_too(address, tmp_path, capsys):
    path = tmp_path / "t.csv.gz"
    write(make_frame(1500), path)
    model = tmp_path / "m.lrnet"
    args = ["train", str(path), "--target", "y", "--epochs", "3", *FAST, "-o", str(model)]
    assert main([*args, "--dask", address]) == 0
    assert lrnet.load(model).estimator.n_iter_ >= 1


@pytest.mark.parametrize(
    "option", [["--calibrate"], ["--checkpoint-every", "2"], ["--resume", "nowhere.ckpt"]]
)
def test_options_the_workers_cannot_run_are_refused(table_file, option, capsys):
    code = main(["train", str(table_file), "--target", "y", "--dask", "local:1", *option])
    assert code == 2
    err = capsys.readouterr().err
    assert "with --dask on a file" in err or "no such checkpoint" in err


def test_too_many_validation_rows_for_memory_is_refused(table_file, address, tmp_path, capsys):
    args = ["train", str(table_file), "--target", "y", "--validation-fraction", "0.5"]
    args += ["--memory", "1MB", *FAST, "--dask", address, "-o", str(tmp_path / "m.lrnet")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "validation rows need" in err and "--validation-fraction" in err
    assert not (tmp_path / "m.lrnet").exists()


def test_a_worker_killed_mid_fit_reloads_its_rows_from_the_file(table_file, tmp_path, monkeypatch):
    """The partitions a dead worker held are read again from the file; the fit finishes."""
    import dask

    from lrnet.cli import train
    from test_distributed import KillWorker

    with cluster.local_cluster(2, tmp_path / "cluster", as_default=False) as client:
        killer = KillWorker(client)
        make = train.make_estimator

        def with_killer(*args, **kwargs):
            estimator = make(*args, **kwargs)
            estimator.set_params(callbacks=[*estimator.callbacks, killer])
            return estimator

        monkeypatch.setattr(train, "make_estimator", with_killer)
        model = tmp_path / "m.lrnet"
        args = ["train", str(table_file), "--target", "y", "--epochs", "4", "--patience", "9"]
        started = time.monotonic()
        with dask.config.set({cluster.TIMEOUT_KEY: 50}):
            code = main([*args, *FAST, "--dask", client.scheduler.address, "-o", str(model)])
        assert time.monotonic() - started < 60
    assert code == 0 and killer.killed is not None
    assert lrnet.load(model).estimator.n_iter_ == 4
