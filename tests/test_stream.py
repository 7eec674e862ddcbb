"""Out-of-core training (``lrnet train --stream``, :mod:`lrnet.stream`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import spearmanr

import lrnet
from lrnet.cli import main
from lrnet.data.columns import ColumnOptions, plan_columns
from lrnet.data.preprocessing import Preprocessor
from lrnet.data.readers import DataError, read_table
from lrnet.estimator import LRNClassifier
from lrnet.heads import head_for
from lrnet.holdout import make_validator
from lrnet.network import Layout, Net
from lrnet.stream import split
from lrnet.stream.files import open_table
from lrnet.stream.fit import (
    encoder,
    fit_stream,
    label_binarizer,
    streamed_objective,
    streamed_validator,
)
from lrnet.stream.rows import Rows, Split, scan
from lrnet.stream.source import StreamSource
from lrnet.stream.stats import NumericStats, TableStats, capped_categories, fitted_preprocessor

FAST = ["--hidden", "8", "--epochs", "3", "--no-report", "--quiet", "--force"]


def make_frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Numbers with gaps, a constant-free categorical with gaps, a wide one with ties;
    a numeric and a categorical column with rare gaps (fewer than an indicator needs)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.normal(5, 2, n),
            "b": rng.integers(0, 100, n).astype(np.int64),
            "c": rng.choice(["x", "y", "z", "w"], n),
            "d": rng.choice([f"k{i:02d}" for i in range(40)], n),
        }
    )
    frame.loc[rng.random(n) < 0.1, "a"] = np.nan
    frame.loc[rng.random(n) < 0.05, "c"] = None
    frame.loc[[7, n // 2, n - 3], "b"] = np.nan  # rare gaps: filled, no indicator
    frame.loc[[11, n - 7], "d"] = None
    logit = frame["a"].fillna(5) - 5 + (frame["c"] == "x") * 2.0
    frame["y"] = np.where(logit + rng.logistic(size=n) > 0, "yes", "no")
    return frame


def write(frame: pd.DataFrame, path, group_rows: int = 400) -> None:
    if str(path).endswith(".parquet"):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, path, row_group_size=group_rows)
    else:
        frame.to_csv(path, index=False)


# ---------------------------------------------------------------------- the hash split
def test_split_is_stable_and_takes_the_right_shares():
    rows = np.arange(200_000)
    roles = split.roles(rows, 7, 0.2, 0.1)
    assert np.array_equal(roles, split.roles(rows, 7, 0.2, 0.1))
    # a row's role depends on its number only, not on which rows are asked about
    assert np.array_equal(roles[123_456:123_500], split.roles(rows[123_456:123_500], 7, 0.2, 0.1))
    assert (roles != split.roles(rows, 8, 0.2, 0.1)).mean() > 0.2
    test = (roles == split.TEST).mean()
    validation = (roles == split.VALIDATION).sum() / (roles != split.TEST).sum()
    assert abs(test - 0.2) < 0.005  # 5 standard deviations of a binomial share
    assert abs(validation - 0.1) < 0.005


@pytest.mark.parametrize("share", [1.0, 0.25])
def test_scored_test_rows_are_a_uniform_share(share):
    rows = np.arange(100_000)
    test = split.roles(rows, 3, 0.2, 0.0) == split.TEST
    scored = split.scored(rows, 3, 0.2, share)
    assert not (scored & ~test).any()  # only test rows are scored
    assert abs(scored.sum() / test.sum() - share) < 0.02


# ---------------------------------------------------------------------- statistics
def streamed_preprocessor(path, how: Split, max_categories: int = 30, sample=None):
    options = ColumnOptions(max_categories=max_categories)
    with open_table(path) as table:
        frame = table.sample(10**9, np.random.default_rng(0))  # the whole (small) table
        plan = plan_columns(frame, "y", str(path), options)
        rows = Rows(table, "y", how, lambda s: s.astype(str).to_numpy(dtype=str))
        found = scan(rows, TableStats(plan, np.random.default_rng(1), sample))
        return fitted_preprocessor(found.stats, "y", options, str(path)), found


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".csv.gz"])
@pytest.mark.parametrize("max_categories", [50, 5])
def test_streaming_statistics_equal_the_in_memory_preprocessor(tmp_path, suffix, max_categories):
    frame = make_frame()
    path = tmp_path / f"t{suffix}"
    write(frame, path)
    how = Split(seed=4, test_fraction=0.2, validation_fraction=0.1)
    pre, found = streamed_preprocessor(path, how, max_categories)
    table = read_table(path)
    fit_rows = how.roles(np.arange(len(table))) != split.TEST
    options = ColumnOptions(max_categories=max_categories)
    expected = Preprocessor.fit(table.loc[fit_rows], "y", str(path), options).to_dict()
    got = pre.to_dict()
    assert got["categorical"] == expected["categorical"]  # categories, most frequent, gaps
    assert got.get("capped") == expected.get("capped")
    assert ("capped" in got) == (max_categories == 5)
    num, ref = got["numeric"], expected["numeric"]
    for key in ("columns", "medians", "missing_indicator", "n_samples_seen"):
        assert num[key] == ref[key], key
    for key in ("mean", "var", "scale"):
        np.testing.assert_allclose(num[key], ref[key], rtol=1e-12, err_msg=key)
    assert got["feature_names_out"] == expected["feature_names_out"]
    assert sum(found.labels[split.TEST].values()) == (~fit_rows).sum()
    # the model file's form: rebuilt from plain data, it transforms as the fitted one
    rebuilt = Preprocessor.from_dict(got)
    np.testing.assert_array_equal(rebuilt.transform(table), pre.transform(table))


def test_medians_come_from_a_bounded_uniform_sample():
    rng = np.random.default_rng(0)
    values = rng.exponential(size=(50_000, 1))
    stats = NumericStats(["v"], np.random.default_rng(1), sample=2_000)
    for start in range(0, len(values), 7_000):
        stats.update(values[start : start + 7_000])
    assert len(stats.values[0]) == 2_000
    median = stats.medians()[0]
    rank = (values < median).mean()
    assert abs(rank - 0.5) < 0.05  # 4.5 standard deviations of a 2,000-value sample
    assert median != np.median(values)  # a sample, not all values
    exact = NumericStats(["v"], np.random.default_rng(1), sample=50_000)
    exact.update(values)
    assert exact.medians()[0] == np.median(values)
    np.testing.assert_allclose(stats.mean, values.mean(), rtol=1e-12)


@pytest.mark.parametrize(
    "counts, k, m",
    [
        ({"a": 9, "b": 9, "c": 9, "d": 1}, 2, 1),  # a tie: the later categories stay
        ({"a": 3, "b": 8, "c": 6, "d": 7, "e": 4}, 3, 5),
        ({"a": 1, "b": 2}, 5, 1),
    ],
)
def test_capped_categories_choose_as_the_in_memory_run(counts, k, m):
    from lrnet.data.categories import kept_categories

    values = np.array([v for v, n in counts.items() for _ in range(n)], dtype=object)
    assert capped_categories(counts, k, m) == kept_categories(values, k, m)


# ---------------------------------------------------------------------- the shuffle
def sorted_source(n=20_000, groups=1_000, buffer_share=0.1, batch=64):
    starts = np.arange(0, n, n // groups)

    def load(g):
        rows = np.arange(starts[g], starts[g] + n // groups, dtype=np.float32)
        half = len(rows) // 2  # two pieces per group
        Y = np.zeros((len(rows), 1), np.float32)
        return [(rows[:half, None], Y[:half], None), (rows[half:, None], Y[half:], None)]

    return StreamSource(groups, load, n, batch, int(buffer_share * n), (1, 1, False))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_shuffle_decorrelates_a_sorted_file(seed):
    source = sorted_source()
    emitted = np.concatenate(
        [X[:, 0].copy() for X, _, _ in source.epoch(np.random.default_rng(seed))]
    )
    assert np.array_equal(np.sort(emitted), np.arange(20_000))  # every row, once
    rho = spearmanr(emitted, np.arange(len(emitted))).statistic
    assert abs(rho) < 0.1
    in_order = StreamSource(1_000, source.load, 20_000, 64, 2_000, (1, 1, False), shuffle=False)
    plain = np.concatenate(
        [X[:, 0].copy() for X, _, _ in in_order.epoch(np.random.default_rng(seed))]
    )
    assert np.array_equal(plain, np.arange(20_000))  # shuffle=False keeps the file's order


def test_batches_are_full_but_the_last():
    source = sorted_source(n=1_000, groups=10, batch=64)
    sizes = [X.shape[0] for X, _, _ in source.epoch(np.random.default_rng(0))]
    assert sizes[:-1] == [64] * (len(sizes) - 1) and sum(sizes) == 1_000


# ---------------------------------------------------------------------- fitting
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A shuffled Parquet file, its streamed preprocessing and the prepared rows."""
    path = tmp_path_factory.mktemp("small") / "small.parquet"
    write(make_frame(2_000, seed=1), path, group_rows=250)
    how = Split(seed=0, test_fraction=0.0, validation_fraction=0.2)
    pre, found = streamed_preprocessor(path, how)
    table = open_table(path)
    rows = Rows(table, "y", how, lambda s: s.astype(str).to_numpy(dtype=str))
    yield path, table, rows, pre, found
    table.close()


def blocks_of(small, role, encode):
    _, table, rows, pre, _ = small

    def blocks():
        for g in range(table.n_groups):
            yield rows.prepared(g, (role,), encode, pre, "t")

    return blocks


def test_streamed_lbfgs_objective_is_the_full_batch_objective(small):
    _, table, rows, pre, found = small
    classes = np.array(["no", "yes"])
    encode = encoder(label_binarizer(classes), 0.0)
    blocks = blocks_of(small, split.TRAIN, encode)
    parts = list(blocks())
    X = np.concatenate([p[0] for p in parts]).astype(np.float64)
    Y = np.concatenate([p[1] for p in parts]).astype(np.float64)
    net = Net(Layout((X.shape[1], 6, 1)), "tanh", "logistic")
    params = np.random.default_rng(0).normal(size=net.layout.size)
    objective = streamed_objective(
        net, 0.01, lambda: ((x.astype(np.float64), y, w, _)[:3] for x, y, w, _ in blocks())
    )
    grads = np.empty_like(params)
    loss = objective(params, grads)
    from lrnet.network import full_batch_value_and_grad

    expected = np.empty_like(params)
    work = net.workspace(X.shape[0], np.float64)
    ref = full_batch_value_and_grad(
        net, params, expected, X, Y, None, 0.01, work, np.empty_like(params)
    )
    assert loss == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(grads, expected, rtol=1e-10, atol=1e-14)


def test_streamed_lbfgs_reaches_the_in_memory_optimum(small):
    _, table, rows, pre, found = small
    counts = found.labels[split.TRAIN] + found.labels[split.VALIDATION]
    classes = np.array(sorted(counts))
    encode = encoder(label_binarizer(classes), 0.0)
    blocks = blocks_of(small, split.TRAIN, encode)
    parts = list(blocks())
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[3] for p in parts])
    params = dict(hidden_layer_sizes=(), solver="lbfgs", alpha=0.01, max_iter=500, random_state=0)
    local = LRNClassifier(**params).fit(X, y)
    streamed = LRNClassifier(**params)
    source = StreamSource(
        table.n_groups, lambda g: [parts[g][:3]], len(y), 200, 1, (X.shape[1], 1, False)
    )
    fit_stream(
        streamed,
        source,
        classes,
        [counts[c] for c in classes],
        X.shape[1],
        objective=lambda net, alpha: streamed_objective(net, alpha, lambda: (p[:3] for p in parts)),
    )
    np.testing.assert_allclose(streamed.coefs_[0], local.coefs_[0], rtol=1e-3, atol=1e-4)
    assert streamed.loss_ == pytest.approx(local.loss_, rel=1e-5)


def test_streamed_validation_scores_as_the_in_memory_validator(small):
    _, table, rows, pre, found = small
    classes = np.array(["no", "yes"])
    encode = encoder(label_binarizer(classes), 0.0)
    blocks = blocks_of(small, split.VALIDATION, encode)
    parts = list(blocks())
    X, Y, y = (np.concatenate([p[k] for p in parts]) for k in (0, 1, 3))
    net = Net(Layout((X.shape[1], 5, 1)), "relu", "logistic")
    params = np.random.default_rng(2).normal(size=net.layout.size).astype(np.float32)
    head = head_for("binary")
    streamed = streamed_validator(net, head, classes, blocks)(params)
    held = make_validator(net, head, classes, X, Y, y, None)(params)
    assert streamed[0] == pytest.approx(held[0], rel=1e-5)
    assert streamed[1] == pytest.approx(held[1], abs=1e-12)


def train(path, out, *extra):
    assert main(["train", str(path), "--target", "y", "--out", str(out), *FAST, *extra]) == 0
    return lrnet.load(out).estimator


@pytest.mark.parametrize("suffix", [".parquet", ".csv.gz"])
def test_same_seed_same_model_on_a_shuffled_file(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    write(make_frame(2_000, seed=5), path, group_rows=500)
    first = train(path, tmp_path / "a.lrnet", "--stream", "--seed", "3")
    again = train(path, tmp_path / "b.lrnet", "--stream", "--seed", "3")
    other = train(path, tmp_path / "c.lrnet", "--stream", "--seed", "4")
    for w, v in zip(first.coefs_, again.coefs_, strict=True):
        np.testing.assert_array_equal(w, v)
    assert not np.array_equal(first.coefs_[0], other.coefs_[0])


def test_the_model_file_has_the_in_memory_format(tmp_path, capsys):
    import json

    path = tmp_path / "data.parquet"
    write(make_frame(3_000, seed=6), path, group_rows=1_000)
    model = tmp_path / "m.lrnet"
    args = ["train", str(path), "-t", "y", "--out", str(model), "--stream", "--hidden", "8"]
    assert main([*args, "--epochs", "3", "--no-report", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 400 < result["metrics"]["n_samples"] < 800  # the hash-held-out 20%
    loaded = lrnet.load(model)
    assert loaded.estimator.classes_.tolist() == ["no", "yes"]
    assert loaded.metadata["train_rows"] + result["metrics"]["n_samples"] == 3_000
    assert main(["predict", str(model), str(path), "-o", str(tmp_path / "p.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == 3_000


def test_a_file_larger_than_memory_is_streamed_with_a_note(tmp_path, capsys, monkeypatch):
    from lrnet.cli import stream

    monkeypatch.setattr(stream, "IN_MEMORY_FACTOR", 20.0)  # 3,000 x 5 x 8 x 20 = 2.4 MB
    path = tmp_path / "data.parquet"
    write(make_frame(3_000), path, group_rows=1_000)
    args = ["train", str(path), "-t", "y", "--hidden", "4", "--epochs", "2", "--no-report"]
    assert main([*args, "--out", str(tmp_path / "a.lrnet"), "--memory", "2MB"]) == 0
    err = capsys.readouterr().err
    assert "needs about 2.3 MB in memory, more than --memory 2.0 MB: streaming it" in err
    assert "streaming " in err and "row groups" in err
    assert main([*args, "--out", str(tmp_path / "b.lrnet"), "--memory", "3MB"]) == 0
    assert "streaming" not in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "c.lrnet"), "--memory", "2MB", "--no-stream"]) == 0
    assert "streaming" not in capsys.readouterr().err


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "args, message",
    [
        (["--stream", "--memory", "lots"], "expected a memory size of at least 1MB"),
        (["--stream", "--memory", "10KB"], "expected a memory size of at least 1MB"),
        (["--stream", "--shuffle-buffer", "0"], "shuffle-buffer"),
        (["--stream", "--calibrate"], "--calibrate is not supported with --stream"),
        (["--stream", "--checkpoint-every", "2"], "--checkpoint-every is not supported"),
        (
            ["--stream", "--memory", "1MB", "--shuffle-buffer", "100000"],
            "more than half of --memory",
        ),
    ],
)
def test_bad_stream_options_are_refused(tmp_path, capsys, args, message):
    path = tmp_path / "data.parquet"
    write(make_frame(500), path)
    code = main(["train", str(path), "-t", "y", "--out", str(tmp_path / "m.lrnet"), *FAST, *args])
    assert code != 0
    assert message in capsys.readouterr().err


def test_stream_refuses_other_files_and_no_file(tmp_path, capsys):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((10, 2)), y=np.arange(10) % 2)
    assert main(["train", str(path), "--stream", *FAST]) != 0
    assert "--stream reads Parquet and CSV files" in capsys.readouterr().err
    assert main(["train", "--stream", *FAST]) != 0
    assert "--stream needs a DATA file" in capsys.readouterr().err


def test_a_csv_column_that_changes_type_is_named(tmp_path):
    from lrnet.stream import files

    frame = pd.DataFrame({"v": np.arange(files.CSV_BLOCK_ROWS + 10, dtype=float), "y": 0})
    frame["v"] = frame["v"].astype(object)
    frame.loc[files.CSV_BLOCK_ROWS + 5, "v"] = "oops"
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(
        DataError,
        match=r"column 'v' holds numbers in the first 50,000 rows but 'oops' at line 50007",
    ):
        open_table(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not parquet at all", "not a valid Parquet file"),
        (None, "duplicate column name(s) 'v'"),
    ],
)
def test_bad_parquet_files_are_named(tmp_path, content, message):
    path = tmp_path / "t.parquet"
    if content is None:
        table = pa.table([pa.array([1.0, 2.0]), pa.array([3.0, 4.0])], names=["v", "v"])
        pq.write_table(table, path)
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        open_table(path)


@pytest.mark.parametrize(
    "extra, scored",
    [
        (["--test-fraction", "0"], "all"),  # the metrics are on every row with a target
        (["--solver", "lbfgs", "--epochs", "5"], "test"),
    ],
)
def test_scoring_and_lbfgs_through_the_command(tmp_path, capsys, extra, scored):
    import json

    frame = make_frame(1_500, seed=8)
    frame.loc[::50, "y"] = None
    path = tmp_path / "data.parquet"
    write(frame, path, group_rows=500)
    args = ["train", str(path), "-t", "y", "--out", str(tmp_path / "m.lrnet"), "--stream"]
    assert main([*args, "--hidden", "4", "--epochs", "2", "--no-report", "--json", *extra]) == 0
    result = json.loads(capsys.readouterr().out)
    n = result["metrics"]["n_samples"]
    with_target = frame["y"].notna().to_numpy()
    test = split.roles(np.arange(len(frame)), 0, 0.2, 0.0) == split.TEST
    assert n == (with_target.sum() if scored == "all" else (with_target & test).sum())
    assert "dropped 30 row(s) whose target 'y' is missing." in result["notes"]


def test_the_progress_bar_counts_rows(monkeypatch):
    import io

    from rich.console import Console

    from lrnet.stream.progress import PassProgress

    progress = PassProgress(True, np.array([300, 200]))
    buffer = io.StringIO()
    progress.console = Console(file=buffer, force_terminal=True, width=120)
    progress.enabled = True
    progress.start("epoch 1")
    progress.group(1)
    progress.group(0)
    assert progress.done == 500
    assert progress.progress.tasks[0].completed == 500
    assert "rows/s" in progress.progress.tasks[0].fields["rate"]
    progress.close()
    assert progress.progress is None
