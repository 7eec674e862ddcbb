"""Input that must be refused, not guessed (issue 14, section 5).

Short CSV rows, NUL bytes, repeated header names, files that are not regular files,
lines or cells past the limit, control characters on the terminal, and the fit's
messages for dates, complex numbers and odd labels.  Rows are named by the file's line
(1-based, the header being line 1).
"""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from conftest import make_table
from lrnet import LRNClassifier
from lrnet.cli import main
from lrnet.cli.display import printable
from lrnet.data import DataError, iter_table, read_table, readers

FAST = ["--hidden", "4", "--epochs", "2", "--no-report"]


def run(capsys, *args) -> tuple[int, str, str]:
    """Exit status, standard output and standard error of ``lrnet ARGS``."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error(code: int, err: str) -> str:
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.startswith("lrnet: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def write(tmp_path, text: str, name: str = "t.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "wt", encoding=encoding, newline="") as fh:
        fh.write(text)
    return path


ROWS = "".join(f"{i},{i % 7}.5,{i % 2}\n" for i in range(40))


# ---------------------------------------------------------------------- short rows
@pytest.mark.parametrize(
    "text, line, fields",
    [
        ("a,b,y\n1,2,0\n3,4\n5,6,1\n", 3, 2),
        ("a,b,y\n1,2,0\n3,4,1\n5\n", 4, 1),
        ("a,b,y\n1,2,0\n3,4,1\n5,6", 4, 2),  # no newline at the end
        ("a,b,y\n1,2,0\n\n3,4\n", 4, 2),  # a blank line counts as a line
        ('a,b,y\n1,"two\nlines",0\n3,4\n', 4, 2),  # a quoted line break too
        ("a;b;y\n" + ROWS.replace(",", ";") + "3;4\n", 42, 2),
        ("a,b,y\n" + ROWS + "7,8\n" + ROWS, 42, 2),  # past the first chunk
    ],
    ids=[
        "middle",
        "one-field",
        "last-unterminated",
        "after-blank",
        "after-quoted",
        "semicolon",
        "later-chunk",
    ],
)
@pytest.mark.parametrize("chunk_rows", [None, 5])
def test_a_row_with_fewer_fields_than_the_header_is_refused(
    tmp_path, text, line, fields, chunk_rows
):
    path = write(tmp_path, text)
    with pytest.raises(
        DataError, match=rf"line {line} has {fields} field\(s\), but the header has 3"
    ):
        list(iter_table(path, chunk_rows=chunk_rows))


def test_short_row_through_the_command_line(tmp_path, capsys):
    path = write(tmp_path, "a,b,y\n" + ROWS + "1,2\n")
    code, _, err = run(capsys, "train", path, "--target", "y", *FAST, "--out", tmp_path / "m")
    line = one_error(code, err)
    assert "line 42 has 2 field(s), but the header has 3" in line and "t.csv" in line


@pytest.mark.parametrize("text", ["a,b,y\n1,,0\n3,4,\n", 'a,b,y\n1,"",0\n,,\n'])
def test_empty_fields_are_missing_values_not_short_rows(tmp_path, text):
    table = read_table(write(tmp_path, text))
    assert table.shape == (2, 3) and table.isna().any().any()


def test_extra_fields_name_the_file_line(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,0\n\n3,4,5,6\n")
    with pytest.raises(DataError, match="line 4, saw 4"):
        read_table(path)


# ---------------------------------------------------------------------- NUL bytes
@pytest.mark.parametrize(
    "text, name, line",
    [
        ("a,b,y\n1,2,0\n3,x\x00y,1\n", "t.csv", 3),
        ("a,b\x00,y\n1,2,0\n", "t.csv", 1),
        ("a,b,y\n1,2,0\n3,4,1\n\x00\x00\x00\n", "t.csv", 4),
        ("a,b,y\n1,2,0\n3,\x00,1\n", "t.csv.gz", 3),
    ],
    ids=["value", "header", "binary-tail", "gzip"],
)
def test_nul_bytes_are_refused_with_their_line(tmp_path, text, name, line):
    path = write(tmp_path, text, name)
    with pytest.raises(DataError, match=rf"line {line} holds a NUL byte"):
        read_table(path)


def test_utf16_text_is_not_taken_for_nul_bytes(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,0\n3,4,1\n", encoding="utf-16")
    table = read_table(path, readers.CsvOptions(encoding="utf-16"))
    assert table["b"].tolist() == [2, 4]


# ---------------------------------------------------------------------- duplicate names
@pytest.mark.parametrize(
    "header, name",
    [("x,x,y", "x"), ("x, x,y", "x"), ('"x","x",y', "x"), ("x,y,y", "y"), ("a;a;y", "a")],
    ids=["plain", "space", "quoted", "target", "semicolon"],
)
def test_duplicate_csv_header_names_are_refused(tmp_path, capsys, header, name):
    sep = ";" if ";" in header else ","
    body = "".join(sep.join([str(i), str(i % 3), str(i % 2)]) + "\n" for i in range(40))
    path = write(tmp_path, header + "\n" + body)
    with pytest.raises(DataError, match=rf"duplicate column name\(s\) '{name}' \(2 times\)"):
        read_table(path)
    code, _, err = run(capsys, "train", path, "--target", "y", *FAST, "--out", tmp_path / "m")
    assert "Rename the duplicates" in one_error(code, err)


# ---------------------------------------------------------------------- non-regular files
def _fifo_writer(path, stop: threading.Event) -> None:
    """Feed a CSV into the FIFO whenever a reader opens it, until ``stop``."""
    while not stop.is_set():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # no reader yet
            time.sleep(0.01)
            continue
        try:
            os.write(fd, ("a,b,y\n" + ROWS).encode())
        except OSError:
            pass
        finally:
            os.close(fd)


def _special_file(tmp_path, kind: str):
    path = tmp_path / "data.csv"
    if kind.startswith("fifo"):
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to(os.devnull)
    else:
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.bind(str(path))
        except OSError:
            pytest.skip("cannot bind a socket in the temporary folder")
        return path, sock
    return path, None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
@pytest.mark.parametrize(
    "kind, what",
    [
        ("fifo-with-writer", "a FIFO (named pipe)"),
        ("fifo-alone", "a FIFO (named pipe)"),
        ("device", "a device"),
        ("socket", "a socket"),
    ],
)
def test_non_regular_files_are_refused_without_blocking(tmp_path, kind, what):
    path, sock = _special_file(tmp_path, kind)
    stop = threading.Event()
    if kind == "fifo-with-writer":
        threading.Thread(target=_fifo_writer, args=(path, stop), daemon=True).start()
    outcome = []

    def read():
        try:
            read_table(path)
            outcome.append("read")
        except DataError as err:
            outcome.append(str(err))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=20)
    stop.set()
    if sock is not None:
        sock.close()
    assert outcome, "read_table blocked on a non-regular file"
    assert f"is {what}; lrnet reads only regular files" in outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_fifo_through_the_command_line_ends(tmp_path):
    path, _ = _special_file(tmp_path, "fifo-with-writer")
    stop = threading.Event()
    threading.Thread(target=_fifo_writer, args=(path, stop), daemon=True).start()
    code = "import sys; from lrnet.cli import main; sys.exit(main(sys.argv[1:]))"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, "train", str(path), "--target", "y", *FAST],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    finally:
        stop.set()
    assert proc.returncode == 1, proc.stderr
    assert "is a FIFO (named pipe); lrnet reads only regular files" in proc.stderr


# ---------------------------------------------------------------------- size limits
@pytest.mark.parametrize(
    "text, line",
    [
        ("a,b,y\n1,2,0\n" + "3," + "9" * 300 + ",1\n", 3),  # one long cell
        ("a,b,y\n1,2,0\n3,4,1\n" + "," * 300 + "\n", 4),  # a line of many fields
        ("a,b,y\n" + "x" * 300, 2),  # no line break at all
    ],
    ids=["cell", "fields", "unterminated"],
)
@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz"])
def test_a_line_past_the_limit_is_refused_with_its_number(tmp_path, monkeypatch, text, line, name):
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 200)
    path = write(tmp_path, text, name)
    with pytest.raises(DataError, match=rf"line {line} is longer than 200 bytes, the limit"):
        read_table(path)


def test_a_quoted_cell_past_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 200)
    cell = "\n".join(["word " * 20] * 5)  # 505 characters, on lines of 100
    path = write(tmp_path, f'a,b,y\n1,2,0\n3,"{cell}",1\n')
    with pytest.raises(DataError, match=r"a cell of column 'b' \(row 2\) is longer than 200"):
        read_table(path)


def test_a_long_cell_on_one_line_names_its_line(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 200)
    monkeypatch.setattr(readers, "scan_text", lambda path, encoding: readers.TextScan(1, True))
    path = write(tmp_path, "a,b,y\n1,2,0\n3," + "w" * 300 + ",1\n")
    with pytest.raises(DataError, match=r"a cell of column 'b' \(line 3\) is longer than 200"):
        read_table(path)


def test_the_line_limit_is_documented_and_generous():
    assert readers.MAX_LINE_BYTES == 1 << 24
    assert f"{readers.MAX_LINE_BYTES:,}" == "16,777,216"


# ---------------------------------------------------------------------- line numbers
def _with_text(table: pd.DataFrame, row: int) -> pd.DataFrame:
    table = table.copy()
    table["x1"] = table["x1"].astype(object)
    table.loc[row, "x1"] = "oops"
    return table


@pytest.fixture(scope="module")
def table_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    data = folder / "train.csv"
    make_table().to_csv(data, index=False)
    model = folder / "m.lrnet"
    assert main(["train", str(data), "--target", "label", *FAST, "--out", str(model), "-q"]) == 0
    return model


@pytest.mark.parametrize(
    "fmt, where",
    [
        ("csv", "line 32 holds 'oops'"),
        ("csv-blank-lines", "row 31 holds 'oops'"),  # lines no longer follow the rows
        ("parquet", "row 31 holds 'oops'"),  # rows counted from 1
    ],
)
@pytest.mark.parametrize("chunk", [None, "7"])
def test_errors_name_the_line_or_the_row_counted_from_1(
    tmp_path, capsys, table_model, fmt, where, chunk
):
    table = _with_text(make_table(60), 30)
    if fmt == "parquet":
        path = tmp_path / "new.parquet"
        table.astype({"x1": str}).to_parquet(path)
    else:
        path = tmp_path / "new.csv"
        text = table.to_csv(index=False)
        if fmt == "csv-blank-lines":
            text = text.replace("\n", "\n\n", 3)
        path.write_text(text)
    extra = ["--chunk-size", chunk] if chunk else []
    code, _, err = run(capsys, "predict", table_model, path, *extra)
    assert where in one_error(code, err)


def test_training_errors_name_the_line_after_rows_without_target(tmp_path, capsys):
    table = make_table(60)
    table.loc[3, "label"] = None  # dropped: the rows after it keep their lines
    table.loc[40, "x2"] = np.inf
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    argv = ["train", path, "--target", "label", *FAST, "--test-fraction", "0"]
    code, _, err = run(capsys, *argv, "--out", tmp_path / "m.lrnet")
    assert "the first at line 42" in one_error(code, err)


# ---------------------------------------------------------------------- terminal escapes
UNPRINTABLE = ["\x1b[31m", "\x1b]0;title\x07", "\x9b2J", "\u202e", "\r", "\x08"]


@pytest.mark.parametrize(
    "bad", UNPRINTABLE, ids=["csi", "osc-title", "c1-csi", "bidi", "cr", "backspace"]
)
def test_printable_escapes_every_control_character(bad):
    text = printable(f"col{bad}name")
    assert text.isprintable() and text.startswith("col") and text.endswith("name")
    assert printable("plain é ü 名前") == "plain é ü 名前"


def _control_table(bad: str) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 80
    return pd.DataFrame(
        {
            f"x{bad}1": rng.normal(size=n),
            f"const{bad}": np.ones(n),  # dropped: named in a note
            f"c{bad}": rng.choice([f"red{bad}", "blue"], n),
            f"label{bad}": rng.choice([f"yes{bad}", "no"], n),
        }
    )


@pytest.mark.parametrize("bad", UNPRINTABLE[:4], ids=["csi", "osc-title", "c1-csi", "bidi"])
def test_control_characters_never_reach_the_terminal(tmp_path, capsys, bad):
    path = tmp_path / "t.csv"
    _control_table(bad).to_csv(path, index=False)
    model = tmp_path / "m.lrnet"
    target = f"label{bad}"
    outputs = []
    code, out, err = run(
        capsys,
        "train",
        path,
        "--target",
        target,
        "--hidden",
        "4",
        "--epochs",
        "2",
        "--no-report",
        "--out",
        model,
    )
    assert code == 0, err
    outputs.append(out + err)
    code, out, err = run(capsys, "inspect", model)
    assert code == 0, err
    outputs.append(out + err)
    code, out, err = run(capsys, "train", path, "--target", f"nope{bad}", *FAST, "--out", model)
    assert code == 2 or code == 1
    outputs.append(out + err)
    code, out, err = run(capsys, "predict", model, tmp_path / f"missing{bad}.csv")
    assert code == 1
    outputs.append(out + err)
    for text in outputs:
        raw = [ch for ch in bad if not ch.isprintable()]
        assert not any(ch in text for ch in raw), repr(text[:2000])
    assert "\\x1b" in outputs[1] or "\\x9b" in outputs[1] or "\\u202e" in outputs[1]
    assert outputs[1].count("\n") > 20  # rich's own line breaks stay: tables keep their rows


# ---------------------------------------------------------------------- fit messages
X = np.random.default_rng(0).normal(size=(20, 2))
Y = np.array([0, 1] * 10)


def _frame_with(column) -> pd.DataFrame:
    return pd.DataFrame({"a": X[:, 0], "when": column})


@pytest.mark.parametrize(
    "X_, y_, message",
    [
        (
            _frame_with(pd.date_range("2020", periods=20)),
            Y,
            r"X column\(s\) 'when' \(datetime64\[.*\]\) hold dates or time spans.*Convert them",
        ),
        (
            _frame_with(pd.date_range("2020", periods=20, tz="UTC")),
            Y,
            r"'when' \(datetime64\[.*, UTC\]\) hold dates",
        ),
        (
            _frame_with(pd.to_timedelta(np.arange(20), unit="s")),
            Y,
            r"'when' \(timedelta64\[.*\]\) hold dates or time spans",
        ),
        (
            np.arange(20).astype("datetime64[D]").reshape(-1, 1),
            Y,
            r"X has dtype datetime64\[D\]: LRNClassifier needs real numbers",
        ),
        (X + 1j, Y, r"X has dtype complex128.*np.column_stack\(\[X.real, X.imag\]\)"),
        (_frame_with(X[:, 1] + 2j), Y, r"X column\(s\) 'when' \(complex128\) hold complex"),
        ((X + 1j).tolist(), Y, r"Complex data not supported: X holds complex numbers"),
        (
            X,
            np.array([0, 1, None] * 6 + [0, 1], dtype=object),
            r"y holds 6 missing label\(s\) \(None or NaN\), the first at position 2",
        ),
        (X, [0, 1, None] * 6 + [0, 1], r"y holds 6 missing label"),
        (X, pd.Series(["a", "b", None] * 6 + ["a", "b"]), r"y holds 6 missing label"),
        (
            X,
            np.array([0, "a"] * 10, dtype=object),
            r"y mixes numbers and strings \(e.g. 0 and 'a'; types int, str\)",
        ),
        (X, [1.5, "b"] * 10, r"y mixes numbers and strings \(e.g. 1.5 and 'b'"),
        (X, pd.Series([0, "a"] * 10), r"y mixes numbers and strings"),
    ],
    ids=[
        "datetime",
        "datetime-tz",
        "timedelta",
        "datetime-array",
        "complex-array",
        "complex-column",
        "complex-list",
        "none-array",
        "none-list",
        "none-series",
        "mixed-array",
        "mixed-list",
        "mixed-series",
    ],
)
def test_fit_names_the_problem_and_the_fix(X_, y_, message):
    with pytest.raises(ValueError, match=message) as info:
        LRNClassifier(max_iter=2).fit(X_, y_)
    assert len(str(info.value)) < 600  # never the whole array


@pytest.mark.parametrize(
    "y_",
    [["a", "b"] * 10, [0, 1] * 10, [True, False] * 10, np.array(["a", "b"] * 10, dtype=object)],
)
def test_labels_of_one_kind_are_accepted(y_):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        LRNClassifier(max_iter=2, random_state=0).fit(X, y_)


def test_predict_on_complex_input_does_not_print_the_array():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LRNClassifier(max_iter=2, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match="Complex data not supported") as info:
        model.predict(X + 1j)
    assert len(str(info.value)) < 600


# ---------------------------------------------------------------------- the block scanner
def _reference_scan(text: str) -> tuple[int, bool]:
    """Header line and one-line rows, line by line (what scan_text computes in blocks)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    blank = [line in ("", "\r") for line in lines]
    filled = [i for i, b in enumerate(blank) if not b]
    if not filled:
        return 0, True
    header, end = filled[0], filled[-1]
    inside = any(blank[header:end])
    multiline = text.count('"') and any(text[: m.start()].count('"') % 2 for m in _breaks(text))
    return header + 1, not (inside or multiline)


def _breaks(text):
    import re

    return re.finditer("\n", text)


SCAN_TEXTS = [
    "a,b\n1,2\n3,4\n",
    "a,b\n1,2\n3,4",
    "\n\na,b\n1,2\n",
    "a,b\n1,2\n\n3,4\n",
    "a,b\r\n1,2\r\n\r\n3,4\r\n",
    "a,b\n1,2\n3,4\n\n\n",
    'a,b\n1,"x\ny"\n3,4\n',
    'a,b\n1,"x ""q"" y"\n3,4\n',
    'a,"b\n"\n1,2\n',
    "a,b\n1,2\n\n3,4",
    "a,b\n" + "1,2\n" * 30 + "\n" + "5,6\n" * 5,
    "a,b\n" + '1,"x"\n' * 20 + '2,"y\nz"\n',
    "é,ü\n名,2\n\n3,4\n",
]


@pytest.mark.parametrize("text", SCAN_TEXTS)
@pytest.mark.parametrize("block", [1, 2, 3, 7, 1 << 20])
def test_the_block_scanner_agrees_with_a_line_by_line_scan(tmp_path, text, block):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    scan = readers.scan_text(path, block_chars=block)
    assert (scan.header_line, scan.one_line_rows) == _reference_scan(text)
