"""``lrnet inspect``: describe a model file."""

from __future__ import annotations

import math

from rich.table import Table

from ..persistence import Model, load
from .display import Output, escape, key_value_table, listing

#: input columns listed in the preprocessing table
MAX_ROWS = 30


def layers(model: Model) -> list[dict]:
    """One dict per weight layer: units in and out, activation, parameter count."""
    estimator = model.estimator
    rows = []
    last = len(estimator.coefs_) - 1
    for i, (w, b) in enumerate(zip(estimator.coefs_, estimator.intercepts_, strict=True)):
        rows.append(
            {
                "layer": "output" if i == last else f"hidden {i + 1}",
                "in": int(w.shape[0]),
                "out": int(w.shape[1]),
                "activation": estimator.out_activation_ if i == last else estimator.activation,
                "parameters": int(w.size + b.size),
                "dtype": str(w.dtype),
            }
        )
    return rows


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def history_summary(history) -> dict:
    """Epochs, first/final/best loss, best validation score and total time.

    Records that are not objects and values that are not numbers are skipped: the
    summary shows what it can of a history saved by other code.
    """
    if not isinstance(history, list) or not history:
        return {"epochs": 0}
    records = [h for h in history if isinstance(h, dict)]
    losses = [h["loss"] for h in records if _number(h.get("loss"))]
    scores = [
        (h["validation_score"], h.get("epoch"))
        for h in records
        if _number(h.get("validation_score"))
    ]
    summary = {"epochs": len(history)}
    if losses:
        summary.update(
            {"first loss": losses[0], "final loss": losses[-1], "best loss": min(losses)}
        )
    if scores:
        best, epoch = max(scores, key=lambda pair: pair[0])
        summary["best validation accuracy"] = f"{best:.4f} (epoch {epoch})"
        summary["final validation accuracy"] = scores[-1][0]
    times = [h["time"] for h in records if _number(h.get("time"))]
    if times:
        summary["training time"] = f"{math.fsum(times):.2f} s"
    return summary


def metrics_summary(metadata: dict) -> tuple[str, str] | None:
    """The saved test metrics as (label, text), or None; odd types are shown as text."""
    metrics = metadata.get("metrics")
    if not metrics:
        return None
    label = f"metrics ({metadata.get('evaluated_on', 'test')})"
    if isinstance(metrics, dict):
        shown = {"accuracy": "accuracy", "log_loss": "log-loss"}
        parts = [
            f"{name} {metrics[key]:.4f}" for key, name in shown.items() if _number(metrics.get(key))
        ]
        if parts:
            return label, ", ".join(parts)
    text = repr(metrics)
    return label, text if len(text) <= 80 else text[:77] + "..."


def json_safe(value):
    """``value`` as strict JSON data: non-finite floats become null, keys strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def preprocessing_table(model: Model) -> Table | None:
    """Per input column: kind, fill value for missing, scaling or categories."""
    if model.preprocessor is None:
        return None
    table = Table(title="Preprocessing (per input column)", title_justify="left")
    for name in ("column", "kind", "fill missing", "indicator", "transform"):
        table.add_column(name)
    rows = model.preprocessor.describe()
    for row in rows[:MAX_ROWS]:
        if row["kind"] == "numeric":
            fill = f"{row['fill']:.4g}"
            how = f"(x - {row['mean']:.4g}) / {row['scale']:.4g}"
        else:
            fill = repr(row["fill"])
            how = f"one-hot, {len(row['categories'])} categories: {listing(row['categories'], 5)}"
        table.add_row(
            escape(row["column"]),
            row["kind"],
            escape(fill),
            "yes" if row["indicator"] else "",
            escape(how),
        )
    if len(rows) > MAX_ROWS:
        table.add_row(f"... {len(rows) - MAX_ROWS} more (see --json)", "", "", "", "")
    return table


def describe(model: Model) -> dict:
    """Everything ``inspect`` shows, as JSON-compatible data."""
    estimator, header = model.estimator, model.header
    pre = model.preprocessor
    return {
        "file": model.path,
        "format_version": header.get("format_version"),
        "lrnet_version": header.get("lrnet_version"),
        "layers": layers(model),
        "parameters": sum(r["parameters"] for r in layers(model)),
        "classes": [str(c) for c in estimator.classes_],
        "target": None if pre is None else pre.target,
        "input_columns": None if pre is None else pre.columns,
        "dropped_columns": None if pre is None else pre.plan.dropped,
        "n_features": int(estimator.n_features_in_),
        "preprocessing": None if pre is None else pre.describe(),
        "history": history_summary(getattr(estimator, "history_", None)),
        "params": {k: v for k, v in estimator.get_params().items() if k != "callbacks"},
        "metadata": model.metadata if isinstance(model.metadata, dict) else {},
    }


def run(args, out: Output) -> int:
    """Run ``lrnet inspect``."""
    model = load(args.model)
    info = describe(model)
    net = Table(title=f"{args.model}: network", title_justify="left")
    for name in ("layer", "in", "out", "activation", "parameters", "dtype"):
        net.add_column(name, justify="right" if name in ("in", "out", "parameters") else "left")
    for row in info["layers"]:
        net.add_row(
            *(str(row[k]) for k in ("layer", "in", "out", "activation", "parameters", "dtype"))
        )
    net.add_row("total", "", "", "", f"{info['parameters']:,}", "", style="bold")
    overview = {
        "classes": f"{len(info['classes'])}: {listing(info['classes'], 12)}",
        "target column": info["target"] or "(not recorded)",
        "input columns": (
            "(none saved: plain arrays)"
            if info["input_columns"] is None
            else f"{len(info['input_columns'])}: {listing(info['input_columns'], 10)}"
        ),
        "network inputs": info["n_features"],
        "dropped at training": listing(
            [f"{k} ({v})" for k, v in (info["dropped_columns"] or {}).items()], 6
        )
        or "none",
        "lrnet version": info["lrnet_version"],
        "file format version": info["format_version"],
    }
    metrics = metrics_summary(info["metadata"])
    if metrics:
        overview[metrics[0]] = metrics[1]
    params = ", ".join(f"{k}={v!r}" for k, v in info["params"].items())
    out.show(net, key_value_table("Model", overview))
    table = preprocessing_table(model)
    if table is not None:
        out.show(table)
    out.show(
        key_value_table(
            "Training history",
            {k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in info["history"].items()},
        )
    )
    out.show(key_value_table("Hyperparameters", {"get_params()": params}))
    out.emit_json(json_safe(info))
    return 0
