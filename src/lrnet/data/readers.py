"""Read tables from CSV, Parquet, ``.npz`` and ``.npy`` files, whole or in chunks.

Every reader returns :class:`pandas.DataFrame` objects with string column names, and
every problem a user can cause (a missing file, an unknown format, a wrong delimiter or
encoding, a corrupted file) raises :class:`DataError` with one line naming the file.

Text files are screened before pandas parses them (:func:`scan_text`): a NUL byte, a
line longer than :data:`MAX_LINE_BYTES` bytes, a repeated header name or a row
with fewer fields than the header is refused with the file's line number (1-based,
the header being line 1).  Only regular files are read: a FIFO, a device or a socket
is refused, since the delimiter sniffer and the parser each read the file.

Each frame's ``attrs`` say how to name its rows in messages (:func:`row_name`): the
line of a text file when every row sits on a line of its own, otherwise the row
counted from 1.

NumPy files carry no column names unless they hold them: a plain 2-D ``.npy`` array
gets columns ``x0 .. x{d-1}``; a structured ``.npy`` array keeps its field names; an
``.npz`` either holds ``X`` (2-D, optionally with ``feature_names``) and ``y``, or one
1-D array per column.  NumPy files are always loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import gzip
import lzma
import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
DELIMITERS = ",;\t|"
SUPPORTED = ".csv, .tsv, .txt (optionally .gz/.bz2/.xz), .parquet, .npz, .npy"
CHUNK_ROWS = 50_000
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # an empty zip starts with the second
#: the longest line of a text file, in bytes of UTF-8 (16 MiB); a longer one is refused
MAX_LINE_BYTES = 1 << 24
#: ``frame.attrs`` key: the file line of the frame's row label 0 (text files)
FIRST_LINE = "lrnet_first_line"
#: ``frame.attrs`` key: the rows come from a file, so they are named counting from 1
FROM_FILE = "lrnet_from_file"
#: ``frame.attrs`` key: at most this many rows in the whole file (to preallocate)
ROWS_AT_MOST = "lrnet_rows_at_most"


@dataclass(frozen=True)
class CsvOptions:
    """How to parse a text file: ``sep=None`` sniffs the delimiter.

    ``decimal=','`` reads ``1.234,5`` as 1234.5 (a point then separates thousands);
    ``header=False`` reads the first line as data, naming the columns ``col_0``,
    ``col_1``, ...
    """

    sep: str | None = None
    encoding: str = "utf-8"
    decimal: str | None = None
    header: bool = True


def file_kind(path: str | os.PathLike) -> str:
    """``'csv'``, ``'parquet'``, ``'npz'`` or ``'npy'`` from the file name."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in CSV_SUFFIXES:
        return "csv"
    if last in (".parquet", ".pq"):
        return "parquet"
    if last in (".npz", ".npy"):
        return last[1:]
    raise DataError(
        f"{path}: unsupported file type {last or '(no extension)'!r}; lrnet reads {SUPPORTED}."
    )


def check_readable(path: str | os.PathLike) -> Path:
    """Raise :class:`DataError` unless ``path`` is an existing, readable file."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file.")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a data file.")
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "not a regular file"
        kind = "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else kind
        kind = "a socket" if stat.S_ISSOCK(mode) else kind
        raise DataError(
            f"{path}: is {kind}; lrnet reads only regular files, since it reads a file "
            "more than once. Save the stream to a file first, e.g. `cat > data.csv`."
        )
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: permission denied; the file is not readable.")
    return path


def row_name(label, attrs: dict) -> str:
    """How a message names the row ``label`` of a frame with these ``attrs``.

    ``'line 152'`` for a text file whose rows each sit on one line, ``'row 151'``
    (counting from 1) for other files, and ``'row <label>'`` for frames that did not
    come from a reader.
    """
    if FIRST_LINE in attrs and isinstance(label, int | np.integer):
        return f"line {attrs[FIRST_LINE] + int(label)}"
    if attrs.get(FROM_FILE) and isinstance(label, int | np.integer):
        return f"row {int(label) + 1}"
    return f"row {label}"


def read_table(
    path: str | os.PathLike, options: CsvOptions = CsvOptions(), compact: bool = False
) -> pd.DataFrame:
    """Read a whole table.

    Parameters
    ----------
    path : str or path-like
        CSV (delimiter sniffed unless ``options.sep``), Parquet, ``.npz`` or ``.npy``.
    options : CsvOptions
        Delimiter and encoding of text files.
    compact : bool, default=False
        Read in chunks and keep float columns as float32 where that keeps their values
        (:mod:`lrnet.data.compact`): memory near that of the compact table, for
        training.  Otherwise the file is read at once, with pandas' dtypes.

    Returns
    -------
    pandas.DataFrame
        The table, with string column names.
    """
    if compact:
        from .compact import compact_table

        reread = _text_reader(Path(path), options) if file_kind(path) == "csv" else None
        return compact_table(iter_table(path, options, CHUNK_ROWS), reread)
    chunks = list(iter_table(path, options, chunk_rows=None))
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def _text_reader(path: Path, options: CsvOptions):
    """``reread(name)``: one column of a CSV file as text (missing values as NaN)."""

    def reread(name: str) -> pd.Series:
        sep = options.sep or sniff_delimiter(path, options.encoding)
        kwargs = dict(sep=sep, encoding=options.encoding, skipinitialspace=True)
        if not options.header:  # columns col_0, col_1, ...
            kwargs.update(header=None, usecols=[int(name.removeprefix("col_"))])
            return pd.read_csv(path, dtype=str, **kwargs).iloc[:, 0].rename(name)
        column = pd.read_csv(path, usecols=[name], dtype=str, **kwargs)[name]
        return column.reset_index(drop=True)

    return reread


def iter_table(
    path: str | os.PathLike,
    options: CsvOptions = CsvOptions(),
    chunk_rows: int | None = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """Yield the table in chunks of at most ``chunk_rows`` rows (``None``: one chunk).

    CSV is read with pandas' ``chunksize``, Parquet with pyarrow's ``iter_batches`` and
    ``.npy`` through a memory map, so memory stays bounded by the chunk size.  The row
    index runs on across chunks: a chunk's index labels are the rows' positions in the
    file (0 = the first data row).
    """
    path = check_readable(path)
    kind = file_kind(path)
    readers = {"csv": _iter_csv, "parquet": _iter_parquet, "npz": _iter_npz, "npy": _iter_npy}
    try:
        yielded, rows = False, 0
        for chunk in readers[kind](path, options, chunk_rows):
            chunk.columns = [str(c) for c in chunk.columns]
            if not yielded:
                _check_unique_columns(path, chunk.columns)
            chunk.index = pd.RangeIndex(rows, rows + len(chunk))
            chunk.attrs[FROM_FILE] = True
            rows += len(chunk)
            yielded = True
            yield chunk
        if not yielded:
            raise DataError(f"{path}: the file holds no rows.")
    except DataError:
        raise
    except MemoryError:
        raise DataError(
            f"{path}: not enough memory to read this {kind} file; its largest line or "
            "cell may be too large. Split the file, or drop the large columns."
        ) from None
    except UnicodeDecodeError as err:
        raise _encoding_error(path, options, err) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty.") from None
    except pd.errors.ParserError as err:
        raise _parser_error(path, options, err) from None
    except (OSError, ValueError, EOFError) as err:
        raise DataError(f"{path}: cannot read this {kind} file ({_first_line(err)}).") from None


def _check_unique_columns(path: Path, columns: pd.Index) -> None:
    """Raise :class:`DataError` when two columns share a name (Parquet allows it)."""
    counts = columns.value_counts(sort=False)
    repeated = counts[counts > 1]
    if len(repeated):
        shown = ", ".join(f"{name!r} ({n} times)" for name, n in repeated.items())
        raise DataError(
            f"{path}: duplicate column name(s) {shown}; lrnet needs a unique name per "
            "column. Rename the duplicates in the file."
        )


# ---------------------------------------------------------------------- CSV
def _open_text(path: Path, encoding: str):
    opener = COMPRESSIONS.get(path.suffix.lower())
    if opener is not None:
        return opener(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def sniff_delimiter(path: Path, encoding: str = "utf-8") -> str:
    """The delimiter of a text file, from its first 64 KiB (',' when unsure)."""
    with _open_text(path, encoding) as fh:
        sample = fh.read(65536)
    if not sample.strip():
        raise pd.errors.EmptyDataError
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        sample = "\n".join(lines[:-1])  # drop a line cut in the middle
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


@dataclass(frozen=True)
class TextScan:
    """What one pass over a text file found: where the header is, how rows map to lines."""

    header_line: int
    one_line_rows: bool
    filled_lines: int = 0


def scan_text(path: Path, encoding: str = "utf-8", block_chars: int = 1 << 20) -> TextScan:
    """Screen a text file in blocks, in bounded memory, before it is parsed.

    Each block is decoded (so that ``--encoding`` applies) and looked at as UTF-8 bytes
    with NumPy: line breaks, NUL bytes, and the parity of quote characters before each
    line break (odd: the break sits inside a quoted field).

    Raises
    ------
    DataError
        At the first line holding a NUL byte or longer than :data:`MAX_LINE_BYTES`.

    Returns
    -------
    TextScan
        The header's line number (the first non-blank line), whether every data row
        sits on a line of its own (no blank line among them, no quoted line break), and
        the number of non-blank lines (at least the number of rows).
    """
    lines = 0  # line breaks before the block
    run = 0  # bytes of the current line before the block
    last = 0  # the byte before the block
    quotes = 0  # parity of the quote characters before the block
    header, pending, blank_inside, multiline, filled_lines = 0, False, False, False, 0
    with _open_text(path, encoding) as fh:
        while text := fh.read(block_chars):
            data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
            breaks = np.flatnonzero(data == 10)
            _check_nul(path, data, breaks, lines)
            starts = np.concatenate(([-run - 1], breaks[:-1])) if len(breaks) else breaks
            lengths = breaks - starts - 1
            after_run = len(data) - 1 - int(breaks[-1]) if len(breaks) else run + len(data)
            _check_length(path, lengths, lines, after_run)
            before = np.where(breaks > 0, data[np.maximum(breaks - 1, 0)], last)
            blank = (lengths == 0) | ((lengths == 1) & (before == 13))
            if not multiline and (quotes or (data == 34).any()):
                # uint8 sums wrap at 256, which keeps their parity
                parity = (np.cumsum(data == 34, dtype=np.uint8)[breaks] + quotes) % 2
                multiline = bool(parity.any())
                quotes = int((np.count_nonzero(data == 34) + quotes) % 2)
            filled = np.flatnonzero(~blank)
            filled_lines += len(filled)
            if len(filled):
                if not header:
                    header = lines + int(filled[0]) + 1
                    after = blank[filled[0] :]
                else:
                    after = blank
                    blank_inside |= pending
                # a blank line before a filled one, after the header
                if after.any() and np.flatnonzero(after)[0] < np.flatnonzero(~after)[-1]:
                    blank_inside = True
                pending = bool(blank[-1])
            elif header:
                pending |= bool(len(blank))
            lines += len(breaks)
            run = after_run
            last = int(data[-1])
    if run and header and pending:
        blank_inside = True  # a last, unterminated line after blank ones
    if not header and run:
        header = lines + 1
    filled_lines += 1 if run else 0
    return TextScan(header, not (blank_inside or multiline), filled_lines)


def _check_nul(path: Path, data: np.ndarray, breaks: np.ndarray, lines: int) -> None:
    nul = np.flatnonzero(data == 0)
    if len(nul):
        number = lines + int(np.searchsorted(breaks, nul[0])) + 1
        raise DataError(
            f"{path}: line {number} holds a NUL byte (\\x00), which text never does: the "
            "file is binary, corrupted, or in another encoding (e.g. --encoding utf-16). "
            "Remove the NUL bytes or export the file again as text."
        )


def _check_length(path: Path, lengths: np.ndarray, lines: int, open_run: int) -> None:
    """Raise at the first line longer than the limit (``open_run``: the line still open)."""
    long = np.flatnonzero(lengths > MAX_LINE_BYTES)
    if len(long) or open_run > MAX_LINE_BYTES:
        number = lines + (int(long[0]) if len(long) else len(lengths)) + 1
        raise DataError(
            f"{path}: line {number} is longer than {MAX_LINE_BYTES:,} bytes, the limit of a "
            "line (a row, or one cell) lrnet reads. Check the line endings and the quoting, "
            "or split the large values out of the file."
        )


def csv_records(path: Path, sep: str, encoding: str):
    """``(line, fields)`` of each non-blank record, split as pandas splits it."""
    with _open_text(path, encoding) as fh:
        reader = csv.reader(fh, delimiter=sep, skipinitialspace=True, strict=False)
        line = 1
        for fields in reader:
            if fields and any(f.strip() for f in fields) or len(fields) > 1:
                yield line, fields
            line = reader.line_num + 1


def check_header(path: Path, sep: str, encoding: str, header: bool = True) -> int:
    """Raise on a repeated column name (pandas would rename it); returns the field count.

    Without a header (``header=False``) the first record is data: only counted.
    """
    for _, names in csv_records(path, sep, encoding):
        if not header:
            return len(names)
        named = pd.Index([n.strip() for n in names if n.strip()])
        try:
            _check_unique_columns(path, named)
        except DataError as err:
            repeated = named[named.duplicated()]
            if not any(_is_number(n) for n in repeated):
                raise
            raise DataError(
                f"{err} The header line repeats numbers: if it is a row of data, not a "
                "header, pass --no-header."
            ) from None
        return len(names)
    return 0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_short_rows(
    path: Path, sep: str, encoding: str, n_fields: int, header: bool = True
) -> None:
    """Raise at the first record with fewer fields than the header (pandas pads them)."""
    records = csv_records(path, sep, encoding)
    if header:
        next(records, None)
    for line, fields in records:
        if len(fields) < n_fields:
            raise DataError(
                f"{path}: line {line} has {len(fields)} field(s), but the header has "
                f"{n_fields}; lrnet will not guess which values are missing. Complete the "
                "line (an empty field is a missing value, e.g. 1,,3), or check the "
                "delimiter (--sep) and the quoting."
            )


def _iter_csv(path: Path, options: CsvOptions, chunk_rows: int | None):
    if options.sep is not None and len(options.sep) != 1:
        raise DataError(
            f"{path}: the delimiter --sep {options.sep!r} must be a single character, "
            "e.g. --sep ';' or --sep '|', or --sep tab for a tab."
        )
    scan = scan_text(path, options.encoding)
    sep = options.sep or sniff_delimiter(path, options.encoding)
    n_fields = check_header(path, sep, options.encoding, options.header)
    kwargs = dict(sep=sep, encoding=options.encoding, skipinitialspace=True)
    if options.decimal == ",":  # 1.234,5: the point separates thousands
        kwargs.update(decimal=",", thousands=".")
    if not options.header:
        kwargs.update(header=None, names=[f"col_{i}" for i in range(n_fields)])
    checked = False
    if chunk_rows is None:
        chunks = contextlib.nullcontext([pd.read_csv(path, low_memory=False, **kwargs)])
    else:
        chunks = pd.read_csv(path, chunksize=chunk_rows, **kwargs)
    with chunks as reader:
        for i, chunk in enumerate(reader):
            if i == 0:
                _check_delimiter(path, chunk, sep, options)
            if not checked and chunk.shape[1] > 1 and chunk.iloc[:, -1].isna().any():
                check_short_rows(path, sep, options.encoding, n_fields, options.header)
                checked = True  # the whole file is checked at once
            chunk.attrs[ROWS_AT_MOST] = scan.filled_lines  # the header, rows, and more
            if scan.one_line_rows:
                chunk.attrs[FIRST_LINE] = scan.header_line + (1 if options.header else 0)
            _check_cells(path, chunk)
            yield chunk


def _check_cells(path: Path, chunk: pd.DataFrame) -> None:
    """Refuse a text cell longer than :data:`MAX_LINE_BYTES` (a quoted multi-line cell)."""
    for name in chunk.columns:
        column = chunk[name]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
            if column.dtype == object:  # text mixed with other values (e.g. booleans)
                column = column.astype("string")
            lengths = column.str.len()
            if len(lengths) and lengths.max() > MAX_LINE_BYTES:
                position = int(np.argmax(lengths.to_numpy(dtype=float, na_value=0)))
                where = row_name(chunk.index[position], {**chunk.attrs, FROM_FILE: True})
                raise DataError(
                    f"{path}: a cell of column {name!r} ({where})"
                    f" is longer than {MAX_LINE_BYTES:,} characters, the limit lrnet reads. "
                    "Check the quoting, or split the large values out of the file."
                )


def _check_delimiter(path: Path, frame: pd.DataFrame, sep: str, options: CsvOptions) -> None:
    if frame.shape[1] != 1:
        return
    header = str(frame.columns[0])
    if any(d != sep and d in header for d in DELIMITERS):
        shown = repr(options.sep) if options.sep else f"detected {sep!r}"
        raise DataError(
            f"{path}: every line reads as one column ({header[:60]!r}) with the delimiter "
            f"{shown}; the delimiter looks wrong. Pass it with --sep, e.g. --sep ';'."
        )


def _parser_error(path: Path, options: CsvOptions, err: Exception) -> DataError:
    how = f"--sep {options.sep!r}" if options.sep else "the detected delimiter"
    return DataError(
        f"{path}: malformed CSV ({_first_line(err)}) when split with {how}. Check the "
        "delimiter (--sep) and the quoting."
    )


def _encoding_error(path: Path, options: CsvOptions, err: UnicodeDecodeError) -> DataError:
    byte = err.object[err.start : err.start + 1].hex()
    return DataError(
        f"{path}: not valid {options.encoding} text (byte 0x{byte} at offset {err.start} "
        "of a block); pass the file's encoding with --encoding, e.g. --encoding latin-1."
    )


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


# ---------------------------------------------------------------------- Parquet
def _iter_parquet(path: Path, options: CsvOptions, chunk_rows: int | None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        if chunk_rows is None:
            yield parquet.read().to_pandas()
            return
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            frame.attrs[ROWS_AT_MOST] = parquet.metadata.num_rows
            yield frame
    except pa.ArrowException as err:
        raise DataError(f"{path}: not a valid Parquet file ({_first_line(err)}).") from None


# ---------------------------------------------------------------------- NumPy
def _frame_from_array(path: Path, array: np.ndarray, what: str = "the array") -> pd.DataFrame:
    _check_table_shape(path, array, what)
    if array.dtype.names:
        return pd.DataFrame({name: array[name] for name in array.dtype.names})
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def _check_table_shape(path: Path, array: np.ndarray, what: str) -> None:
    """Raise unless ``array`` is a table: 2-D (rows x columns), or 1-D with named fields."""
    if array.dtype.names:
        if array.ndim != 1:
            raise DataError(
                f"{path}: {what} must be a 1-D structured array (one field per column), "
                f"got shape {array.shape}."
            )
        return
    if array.ndim == 2:
        return
    fix = {0: "save a table, not a single value", 1: "for one column save a.reshape(-1, 1)"}
    raise DataError(
        f"{path}: {what} must be 2-D (rows x columns), got a {array.ndim}-D array of shape "
        f"{array.shape}; {fix.get(array.ndim, 'reshape it to (rows, columns)')}."
    )


def _is_pickle_error(err: ValueError) -> bool:
    """True for NumPy's refusal of an object array (``allow_pickle=False``)."""
    text = str(err)
    return "Object arrays cannot be loaded" in text or "Python objects in dtype" in text


def _check_magic(path: Path, kind: str) -> None:
    """Raise unless the file starts as a ``.npy`` file (or, for ``.npz``, a zip) does."""
    with open(path, "rb") as fh:
        head = fh.read(len(NPY_MAGIC))
    if kind == "npy" and head == NPY_MAGIC or kind == "npz" and head.startswith(ZIP_MAGIC):
        return
    if kind == "npz":
        why = "it is not a zip archive" if head else "the file is empty"
        raise DataError(f"{path}: not a valid .npz archive ({why}); write it with numpy.savez.")
    why = "it does not start with the NumPy header" if head else "the file is empty"
    raise DataError(f"{path}: not a valid .npy file ({why}); write it with numpy.save.")


def _iter_npy(path: Path, options: CsvOptions, chunk_rows: int | None):
    _check_magic(path, "npy")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        if _is_pickle_error(err):
            raise DataError(
                f"{path}: the file holds Python objects (pickled data), which lrnet never "
                "loads; save plain numeric or string arrays."
            ) from None
        raise
    _check_table_shape(path, array, "the array")
    step = chunk_rows or max(len(array), 1)
    for start in range(0, len(array), step):
        yield _frame_from_array(path, np.asarray(array[start : start + step]))


def _iter_npz(path: Path, options: CsvOptions, chunk_rows: int | None):
    _check_magic(path, "npz")
    try:
        npz = np.load(path, allow_pickle=False)
    except zipfile.BadZipFile as err:
        raise DataError(f"{path}: not a valid .npz archive ({_first_line(err)}).") from None
    with npz:
        members = {name: _npz_member(path, npz, name) for name in npz.files}
    frame = _frame_from_npz(path, members)
    step = chunk_rows or max(len(frame), 1)
    for start in range(0, len(frame), step):
        yield frame.iloc[start : start + step]


def _npz_member(path: Path, npz, name: str) -> np.ndarray:
    """The array ``name`` of an open ``.npz``; a :class:`DataError` unless it is one."""
    member = f"{name}.npy" if f"{name}.npy" in npz.zip.namelist() else name
    try:
        array = npz[name]
    except ValueError as err:
        if _is_pickle_error(err):
            raise DataError(
                f"{path}: a member holds Python objects (pickled data), which lrnet "
                "never loads; save plain numeric or string arrays."
            ) from None
        raise DataError(
            f"{path}: member {member} is not a valid NumPy array file ({_first_line(err)})."
        ) from None
    except (EOFError, OSError, zipfile.BadZipFile) as err:
        raise DataError(
            f"{path}: not a valid .npz archive (member {member}: {_first_line(err)})."
        ) from None
    if not isinstance(array, np.ndarray):
        raise DataError(
            f"{path}: member {member} is not a NumPy array file; an .npz holds only arrays "
            "written by numpy.savez."
        )
    return array


def _frame_from_npz(path: Path, members: dict) -> pd.DataFrame:
    if "X" in members:
        frame = _frame_from_array(path, members["X"], "member 'X'")
        if "feature_names" in members:
            names = [str(n) for n in np.ravel(members["feature_names"])]
            if len(names) != frame.shape[1]:
                raise DataError(
                    f"{path}: feature_names has {len(names)} names for "
                    f"{frame.shape[1]} columns of X."
                )
            frame.columns = names
        if "y" in members:
            y = members["y"]
            if y.ndim != 1 or len(y) != len(frame):
                raise DataError(
                    f"{path}: y must be 1-D with one value per row of X, got "
                    f"shape {y.shape} for {len(frame)} rows."
                )
            frame["y"] = y
        return frame
    lengths = {name: a.shape for name, a in members.items()}
    if (
        not members
        or any(len(s) != 1 for s in lengths.values())
        or len({s[0] for s in lengths.values()}) != 1
    ):
        raise DataError(
            f"{path}: expected an array 'X' (and 'y'), or 1-D arrays of equal length, one "
            f"per column; found {lengths}."
        )
    return pd.DataFrame(members)
