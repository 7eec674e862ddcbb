"""Read a table a row group at a time: Parquet as it is, CSV through a Parquet copy.

A Parquet file is read with ``ParquetFile.iter_batches`` on one row group at a time
(``row_groups=[i]``), never ``Dataset.to_batches``, whose memory grows over a scan
(Arrow issue 39808).  A CSV file (``.csv``, ``.csv.gz``, any text file lrnet reads) is
read once, in blocks of :data:`CSV_BLOCK_ROWS` rows, with lrnet's own reader (the same
screening, delimiter detection, decimal mark and messages as the in-memory run), and
copied into a temporary Parquet file whose row groups are those blocks: every later
pass (statistics, epochs, scoring) then reads row groups in any order, without parsing
text again.  The copy's column types are fixed by the first block: numbers as float64
(integers as int64), anything else as text.

Each frame read carries its rows' numbers in the file (0-based) as its index, and the
``attrs`` that make messages name a row by its line (text files) or number.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api import types

from ..data.readers import (
    FIRST_LINE,
    FROM_FILE,
    CsvOptions,
    DataError,
    check_readable,
    file_kind,
    iter_table,
)

#: rows per block of a CSV file (a row group of its Parquet copy)
CSV_BLOCK_ROWS = 50_000
#: rows per record batch decoded from a Parquet row group
BATCH_ROWS = 32_768
#: bytes of the buffered reads of a Parquet file
READ_BUFFER = 1 << 20
#: the file types ``--stream`` reads
STREAMED_KINDS = ("parquet", "csv")


class StreamTable:
    """A Parquet file read by row groups: its row count, groups and columns.

    Build one with :func:`open_table`; :meth:`close` removes a CSV file's copy.
    """

    def __init__(self, path: Path, source: str, attrs: dict, workdir: Path | None = None):
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.source = source
        self.attrs = dict(attrs)
        self.workdir = workdir
        # pages read through a 1 MiB buffer, not whole column chunks at once: a huge row
        # group costs its batches, not its size
        self.file = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=READ_BUFFER)
        meta = self.file.metadata
        self.group_rows = np.array(
            [meta.row_group(i).num_rows for i in range(meta.num_row_groups)], dtype=np.int64
        )
        self.group_starts = np.concatenate(([0], np.cumsum(self.group_rows)[:-1])).astype(np.int64)
        self.n_rows = int(self.group_rows.sum())
        self.columns = [str(c) for c in self.file.schema_arrow.names]

    @property
    def n_groups(self) -> int:
        """Row groups (CSV blocks) of the table."""
        return len(self.group_rows)

    def read_group(self, i: int, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
        """The rows of group ``i`` as frames of at most :data:`BATCH_ROWS` rows."""
        import pyarrow as pa

        start = int(self.group_starts[i])
        for batch in self.file.iter_batches(
            batch_size=BATCH_ROWS, row_groups=[int(i)], columns=columns, use_threads=False
        ):
            frame = batch.to_pandas()
            del batch
            frame.index = pd.RangeIndex(start, start + len(frame))
            frame.attrs.update(self.attrs)
            start += len(frame)
            yield frame
        # the decoded pages go back to the system, not to Arrow's pool: RSS stays bounded
        pa.default_memory_pool().release_unused()

    def sample(self, rows: int, rng: np.random.Generator) -> pd.DataFrame:
        """About ``rows`` rows from row groups drawn at random, in file order.

        Groups are drawn until they hold ``rows`` rows; each gives its first
        ``rows / groups drawn`` rows (all of them for groups of equal size), so a file of
        a few huge row groups is not read whole.  The whole table when it has at most
        ``rows`` rows.
        """
        order = rng.permutation(self.n_groups)
        taken = np.cumsum(self.group_rows[order])
        chosen = np.sort(order[: int(np.searchsorted(taken, rows)) + 1])
        quota = -(-rows // len(chosen))
        frames = []
        for i in chosen:
            got = 0
            for frame in self.read_group(int(i)):
                frames.append(frame.iloc[: quota - got])
                got += len(frames[-1])
                if got >= quota:
                    break
        frame = pd.concat(frames) if len(frames) > 1 else frames[0]
        frame.attrs.update(self.attrs)
        return frame

    def close(self) -> None:
        """Close the file; remove the Parquet copy of a CSV file."""
        self.file = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> StreamTable:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_table(path, options: CsvOptions | None = None, tmpdir=None) -> StreamTable:
    """The table of ``path`` (Parquet, or CSV copied into a temporary Parquet file).

    Raises
    ------
    DataError
        For a file type ``--stream`` does not read, and every reading problem of
        :func:`lrnet.data.readers.iter_table`.
    """
    options = options or CsvOptions()
    kind = file_kind(path)
    if kind not in STREAMED_KINDS:
        raise DataError(
            f"{path}: --stream reads Parquet and CSV files (.parquet, .csv, .csv.gz, ...), "
            f"not {kind} files. Load this one without --stream, or convert it to Parquet."
        )
    if kind == "parquet":
        try:
            table = StreamTable(check_readable(path), str(path), {FROM_FILE: True})
        except DataError:
            raise
        except Exception as err:  # pyarrow's errors have no common base with OSError
            raise DataError(f"{path}: not a valid Parquet file ({err}).") from None
        repeated = sorted({c for c in table.columns if table.columns.count(c) > 1})
        if repeated:
            raise DataError(
                f"{path}: duplicate column name(s) {', '.join(map(repr, repeated))}; lrnet "
                "needs a unique name per column. Rename the duplicates in the file."
            )
        if table.n_rows == 0:
            raise DataError(f"{path}: the file holds no rows.")
        return table
    return _copy_csv(path, options, tmpdir)


def _arrow_types(chunk: pd.DataFrame):
    """The Parquet copy's column types, from a CSV file's first block."""
    import pyarrow as pa

    fields = []
    for name in chunk.columns:
        dtype = chunk[name].dtype
        if types.is_bool_dtype(dtype) or not types.is_numeric_dtype(dtype):
            fields.append(pa.field(name, pa.string()))
        elif types.is_integer_dtype(dtype):
            fields.append(pa.field(name, pa.int64()))
        else:
            fields.append(pa.field(name, pa.float64()))
    return pa.schema(fields)


def _as_arrow(chunk: pd.DataFrame, schema, source: str):
    """A CSV block as an Arrow table of ``schema``; a column that changed type is an error."""
    import pyarrow as pa

    arrays = []
    for field in schema:
        column = chunk[field.name]
        if pa.types.is_string(field.type):
            values = column.astype("string").to_numpy(dtype=object, na_value=None)
            arrays.append(pa.array(values, type=pa.string()))
            continue
        numbers = pd.to_numeric(column, errors="coerce")
        bad = numbers.isna() & column.notna()
        if bad.any():
            label = column.index[int(np.flatnonzero(bad.to_numpy())[0])]
            first = chunk.attrs.get(FIRST_LINE)
            where = f"line {first + int(label)}" if first is not None else f"row {int(label) + 1}"
            raise DataError(
                f"{source}: column {field.name!r} holds numbers in the first "
                f"{CSV_BLOCK_ROWS:,} rows but {column.loc[label]!r} at {where}; --stream "
                "fixes each column's type from the first rows. Fix that value, or train "
                "without --stream."
            )
        if pa.types.is_integer(field.type) and not numbers.isna().any():
            if np.all(numbers == np.round(numbers)):
                arrays.append(pa.array(numbers.to_numpy(dtype=np.int64), type=pa.int64()))
                continue
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        if pa.types.is_integer(field.type):
            whole = np.isnan(values) | (values == np.round(values))
            if whole.all():
                arrays.append(pa.array(values, type=pa.int64(), from_pandas=True))
                continue
            raise DataError(
                f"{source}: column {field.name!r} holds whole numbers in the first "
                f"{CSV_BLOCK_ROWS:,} rows and fractions later; --stream fixes each column's "
                "type from the first rows. Write the column with a decimal point, or train "
                "without --stream."
            )
        arrays.append(pa.array(values, type=pa.float64(), from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def _copy_csv(path, options: CsvOptions, tmpdir) -> StreamTable:
    """Copy a text file into a temporary Parquet file, a row group per block."""
    import pyarrow.parquet as pq

    workdir = Path(tempfile.mkdtemp(prefix="lrnet-stream-", dir=tmpdir))
    target = workdir / "table.parquet"
    attrs = {FROM_FILE: True}
    writer = None
    try:
        for chunk in iter_table(path, options, CSV_BLOCK_ROWS):
            if writer is None:
                schema = _arrow_types(chunk)
                writer = pq.ParquetWriter(target, schema, compression="snappy")
                if FIRST_LINE in chunk.attrs:
                    attrs[FIRST_LINE] = chunk.attrs[FIRST_LINE]
            writer.write_table(_as_arrow(chunk, schema, str(path)), row_group_size=len(chunk))
        writer.close()
        return StreamTable(target, str(path), attrs, workdir)
    except OSError as err:
        shutil.rmtree(workdir, ignore_errors=True)
        raise DataError(
            f"{path}: cannot write the temporary Parquet copy in {workdir.parent} ({err}); "
            "free some disk space there, or set TMPDIR to a folder with room."
        ) from None
    except BaseException:
        if writer is not None:
            writer.close()
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def file_bytes(path) -> int:
    """The size of ``path`` on disk."""
    return os.stat(path).st_size
