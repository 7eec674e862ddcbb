"""``lrnet export``: write a model and its preprocessing as ONNX, optionally verified."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..data.readers import iter_table
from ..data.transform import read_values
from ..persistence import Model, load
from .common import check_output_file, csv_options, model_inputs, model_target
from .display import Output, UsageError, UserError

#: --verify passes when |p_onnx - p_lrnet| <= ATOL + RTOL |p_lrnet| everywhere ...
ATOL, RTOL = 1e-5, 1e-4
#: ... and the labels agree on every row whose top-two probability margin exceeds this
MARGIN = 1e-5


def _exporter():
    try:
        from .. import export
    except ImportError as err:
        raise UserError(f"{err}.") from None
    return export


def _session(proto):
    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError(
            "--verify needs onnxruntime: pip install 'lrnet[onnx]' (or onnxruntime)."
        ) from None
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def margins(proba: np.ndarray, multilabel: bool) -> np.ndarray:
    """How clearly each label is decided: top-two gap, or ``|2p - 1|`` per label."""
    if multilabel:
        return np.abs(2.0 * proba - 1.0)
    top = np.sort(proba, axis=1)
    return top[:, -1] - top[:, -2]


def verify(model: Model, proto, args) -> dict:
    """Run onnxruntime and lrnet on every row of ``args.verify``; the comparison."""
    export = _exporter()
    session = _session(proto)
    target = model_target(model, None)
    estimator = model.estimator
    multilabel = estimator.fitted_network().label_type == "multilabel-indicator"
    worst, rows, agree, decided, bad = 0.0, 0, 0, 0, 0
    for chunk in iter_table(args.verify, csv_options(args, model)):
        if chunk.empty:
            continue
        X = model_inputs(model, chunk, args.verify, target)
        if model.preprocessor is None:
            feeds = {"X": np.ascontiguousarray(X, dtype=np.float32)}
        else:
            # numbers written as text are the graph's double inputs once read; the
            # graph takes the log of long-tailed columns itself
            plan = dataclasses.replace(model.preprocessor.plan, logged=[])
            read = read_values(chunk, plan, args.verify)
            feeds = export.frame_inputs(proto, read)
        label, proba = session.run(list(export.OUTPUTS), feeds)
        want, want_label = estimator.predict_proba(X), estimator.predict(X)
        diff = np.abs(proba - want)
        worst = max(worst, float(diff.max()))
        bad += int((diff > ATOL + RTOL * np.abs(want)).any(axis=1).sum())
        same = label == want_label
        clear = margins(want, multilabel) > MARGIN
        if multilabel:
            same, clear = same.all(axis=1), clear.all(axis=1)
        rows += len(chunk)
        agree += int(same.sum())
        decided += int((~same & clear).sum())
    return {
        "rows": rows,
        "max_probability_difference": worst,
        "rows_beyond_tolerance": bad,
        "labels_agree": agree,
        "clear_labels_disagree": decided,
        "passed": bad == 0 and decided == 0,
    }


def run(args, out: Output) -> int:
    """Run ``lrnet export``."""
    export = _exporter()
    if not export.MIN_OPSET <= args.opset <= export.MAX_OPSET:
        raise UsageError(
            f"--opset {args.opset}: lrnet writes opsets {export.MIN_OPSET} to "
            f"{export.MAX_OPSET} (default {export.DEFAULT_OPSET})."
        )
    output = Path(args.output)
    check_output_file(output, "-o", inputs=(args.model, args.verify))
    if args.verify is not None and not Path(args.verify).exists():
        raise UsageError(f"--verify {args.verify}: no such file.")
    model = load(args.model)
    proto = export.to_onnx(model, opset=args.opset)
    report = None
    if args.verify is not None:
        report = verify(model, proto, args)
        summary = (
            f"largest probability difference {report['max_probability_difference']:.3g}, "
            f"labels agree on {report['labels_agree']}/{report['rows']} rows"
        )
        if not report["passed"]:
            raise UserError(
                f"--verify {args.verify}: the ONNX model disagrees with lrnet: {summary} "
                f"({report['rows_beyond_tolerance']} row(s) beyond the tolerance "
                f"{ATOL:g} + {RTOL:g} x p, {report['clear_labels_disagree']} clear label(s) "
                f"differ); {output} was not written."
            )
    export.save_onnx(proto, output)
    inputs = [i.name for i in proto.graph.input]
    out.line(
        f"Wrote {output}: opset {args.opset}, IR version {proto.ir_version}, "
        f"{len(inputs)} input(s), outputs {' and '.join(export.OUTPUTS)}."
    )
    if report is not None:
        out.line(f"Verified on {args.verify} with onnxruntime: {summary}.")
    out.emit_json(
        {
            "model": args.model,
            "output": str(output),
            "opset": args.opset,
            "ir_version": proto.ir_version,
            "inputs": inputs,
            "outputs": list(export.OUTPUTS),
            "verify": report,
        }
    )
    return 0
