"""``lrnet evaluate`` and ``lrnet predict``: apply a saved model to a table, in chunks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .._files import atomic_write
from ..data.readers import DataError, iter_table
from ..persistence import Model, load
from ..report import classification_metrics, write_report
from .common import (
    check_output_file,
    csv_options,
    model_inputs,
    model_target,
    note_columns,
    target_labels,
    unknown_column,
)
from .display import Output, UsageError, UserError, listing, metrics_tables
from .scoring import note_warnings, saved_order, saved_priors

OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def align_labels(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``y`` in the dtype of ``classes``, matching by text when the kinds differ."""
    if y.dtype.kind == classes.dtype.kind or classes.dtype.kind in "UO" and y.dtype.kind == "U":
        return y
    lookup = {str(c): c for c in classes}
    return np.array([lookup.get(str(v), str(v)) for v in y], dtype=object)


# ---------------------------------------------------------------------- evaluate
def labelled_chunks(model: Model, args, target: str, out: Output):
    """Yield ``(y, proba)`` per chunk of rows that have a target value."""
    estimator = model.estimator
    for i, chunk in enumerate(iter_table(args.data, csv_options(args, model))):
        if i == 0:
            if target not in chunk.columns:
                raise unknown_column(target, chunk.columns, args.data, "target column")
            note_columns(model, chunk.columns, args.data, out)
        chunk = chunk.loc[chunk[target].notna()]
        if chunk.empty:
            continue
        y = align_labels(target_labels(chunk[target], args.data), estimator.classes_)
        X = model_inputs(model, chunk, args.data, target)
        yield y, estimator.predict_proba(X)


def run_evaluate(args, out: Output) -> int:
    """Run ``lrnet evaluate``."""
    model = load(args.model)
    target = model_target(model, args.target)
    if target is None:
        raise UsageError(f"{args.model} does not record its target column; pass --target.")
    pairs = list(labelled_chunks(model, args, target, out))
    if not pairs:
        raise DataError(f"{args.data}: the target column {target!r} is empty in every row.")
    y = np.concatenate([p[0] for p in pairs])
    proba = np.concatenate([p[1] for p in pairs])
    classes = model.estimator.classes_
    known = np.isin(y, classes)
    if not known.any():
        raise UserError(
            f"{args.data}: none of the {len(y)} row(s) has a target value the model saw in "
            f"training ({listing(sorted({str(v) for v in y}))}); its classes are "
            f"{listing(classes)}. Check the target column (--target)."
        )
    if not known.all():  # as train does with test rows of a class it never saw
        out.note(
            f"{args.data}: {int((~known).sum())} row(s) with classes the model never saw in "
            f"training ({listing(sorted({str(v) for v in y[~known]}))}) are left out of the "
            "metrics."
        )
        y, proba = y[known], proba[known]
    priors = saved_priors(model.metadata, classes)
    order = saved_order(model.metadata)
    metrics = classification_metrics(y, proba, classes, priors, order)
    report = None
    if args.report:
        info = {"model file": args.model, "data": args.data, "target": target}
        temperature = getattr(model.estimator, "temperature_", None)
        if temperature is not None:
            info["calibration"] = f"temperature {temperature:.4g} (saved in the model)"
        report = write_report(
            args.report, metrics, model.estimator.history_, info, evaluated_on=Path(args.data).name
        )
    out.show(*metrics_tables(metrics, f"Metrics of {args.model} on {args.data} ({target})"))
    note_warnings(metrics, args.data, out)
    if report is not None:
        out.line(f"Report written to {report['html']}")
    out.emit_json(
        {
            "model": args.model,
            "data": args.data,
            "target": target,
            "metrics": metrics,
            "report": None if report is None else str(report["html"]),
        }
    )
    return 0


# ---------------------------------------------------------------------- predict
def _free_name(name: str, taken: set) -> str:
    """``name``, or ``name_2``, ``name_3``, ... : the first one not in ``taken``."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def output_columns(classes, keep: list[str]) -> tuple[str, list[str]]:
    """Name of the prediction column and of the probability columns (one per class).

    None of them replaces a ``--keep`` column: a taken name gets a suffix.
    """
    taken = set(keep)
    prediction = "prediction" if "prediction" not in taken else _free_name("predicted_class", taken)
    taken.add(prediction)
    names = [str(c) for c in classes]
    if taken & set(names) or len(set(names)) != len(names):
        names = [_free_name(f"proba_{n}", taken) for n in names]
    return prediction, names


class CsvSink:
    """Append chunks to a CSV text stream; the header goes with the first."""

    def __init__(self, stream):
        self.stream, self.first = stream, True

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``."""
        frame.to_csv(self.stream, header=self.first, index=False, float_format="%.6g")
        self.first = False

    def close(self) -> None:
        """Flush."""
        self.stream.flush()


class ParquetSink:
    """Append chunks as row groups of one Parquet file."""

    def __init__(self, stream):
        self.stream, self.writer = stream, None

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``, cast to the schema of the first chunk."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = None if self.writer is None else self.writer.schema
        try:
            table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        except (pa.ArrowTypeError, pa.ArrowInvalid) as err:
            raise DataError(
                f"a --keep column changes type from one chunk of rows to the next ({err}), "
                "which a Parquet file cannot hold. Raise --chunk-size above the number of "
                "rows, or write CSV (-o out.csv)."
            ) from None
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.stream, table.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        """Write the footer."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def predictions(model: Model, args, out: Output):
    """Yield one output frame per input chunk."""
    estimator = model.estimator
    target = model_target(model, None)
    prediction, proba_names = output_columns(estimator.classes_, args.keep)
    for i, chunk in enumerate(iter_table(args.data, csv_options(args, model), args.chunk_size)):
        if i == 0:
            for column in args.keep:
                if column not in chunk.columns:
                    raise unknown_column(column, chunk.columns, args.data, "column to --keep")
            note_columns(model, chunk.columns, args.data, out, ignore=args.keep)
        result = chunk[args.keep].reset_index(drop=True)
        if chunk.empty:  # a header without rows: an output with its header only
            columns = [prediction] + (proba_names if args.proba else [])
            yield result.assign(**{c: pd.Series(dtype=object) for c in columns})
            continue
        X = model_inputs(model, chunk, args.data, target)
        result[prediction] = estimator.predict(X)
        if args.proba:
            proba = pd.DataFrame(estimator.predict_proba(X), columns=proba_names)
            result = pd.concat([result, proba], axis=1)
        yield result


def run_predict(args, out: Output) -> int:
    """Run ``lrnet predict``."""
    kind = "csv"
    if args.output:
        kind = OUTPUT_FORMATS.get(Path(args.output).suffix.lower())
        if kind is None:
            raise UsageError(f"-o {args.output}: the output must end in .csv or .parquet.")
        check_output_file(Path(args.output), "-o", inputs=(args.data, args.model))
    model = load(args.model)
    rows = 0
    if args.output is None:
        sink = CsvSink(sys.stdout)
        for frame in predictions(model, args, out):
            sink.write(frame)
            rows += len(frame)
        sink.close()
    else:
        mode = {"csv": ("w", {"encoding": "utf-8", "newline": ""}), "parquet": ("wb", {})}
        with atomic_write(args.output, mode[kind][0], **mode[kind][1]) as stream:
            sink = CsvSink(stream) if kind == "csv" else ParquetSink(stream)
            try:
                for frame in predictions(model, args, out):
                    sink.write(frame)
                    rows += len(frame)
            finally:
                sink.close()  # before the stream, even on an error
    out.note(f"wrote {rows} prediction(s) to {args.output or 'standard output'}.")
    return 0
