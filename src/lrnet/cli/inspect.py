"""``lrnet inspect``: describe a model file."""

from __future__ import annotations

import math

from rich.table import Table

from ..metrics import display_order
from ..persistence import Model, load
from .display import Output, escape, key_value_table, listing
from .scoring import parameter_count, saved_order

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
        shown = {"accuracy": "accuracy", "log_loss": "log-loss", "roc_auc": "ROC AUC"}
        parts = [
            f"{name} {metrics[key]:.4f}" for key, name in shown.items() if _number(metrics.get(key))
        ]
        if parts:
            return label, ", ".join(parts)
    text = repr(metrics)
    return label, text if len(text) <= 80 else text[:77] + "..."


def refit_text(metadata: dict) -> str | None:
    """What ``lrnet train --refit`` recorded, as a line; None when not refitted."""
    refit = metadata.get("refit")
    if not isinstance(refit, dict) or not all(_number(refit.get(k)) for k in ("rows", "epochs")):
        return None
    networks = refit.get("networks")
    averaged = ""
    if _number(networks) and int(networks) > 1:
        averaged = f", {int(networks)} networks from consecutive seeds averaged into this one"
    return (
        f"on all {int(refit['rows']):,} rows for {int(refit['epochs'])} epochs after "
        f"scoring{averaged}; the metrics are of the model fitted without the held-out rows"
    )


def json_safe(value):
    """``value`` as strict JSON data: non-finite floats become null, keys strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def transform_text(row: dict) -> str:
    """What the preprocessing does to one column, in a few words."""
    if row["kind"] == "numeric":
        mean, scale = row["mean"], row["scale"]
        x = "log1p(x)" if row.get("log") else "x"  # signed: the caption says so
        shifted = f"{x} - {mean:.4g}" if mean >= 0 else f"{x} + {-mean:.4g}"
        return f"({shifted}) / {scale:.4g}"
    if "categories" in row:
        categories = row["categories"]
        return f"one-hot ({len(categories)}): {listing(categories, 3)}"
    return str(row.get("transform", ""))


def missing_text(row: dict) -> str:
    """The fill value of a column; `` *`` when a missing-value indicator is added too."""
    fill = row.get("fill")
    text = f"{fill:.4g}" if isinstance(fill, int | float) else repr(fill)
    return text + (" *" if row.get("indicator") else "")


def preprocessing_table(model: Model, width: int = 80) -> Table | None:
    """Per input column: kind, fill value for missing, scaling or categories.

    The table fits in ``width`` terminal columns with one line per input column: a long
    column name folds, a long fill value or transform is cut with an ellipsis
    (``--json`` has everything).
    """
    if model.preprocessor is None:
        return None
    rows = model.preprocessor.describe()
    cells = [
        (str(r["column"]), str(r["kind"]), missing_text(r), transform_text(r))
        for r in rows[:MAX_ROWS]
    ]
    header = ("column", "kind", "if missing", "transform")
    longest = [max(len(text) for text in column) for column in zip(header, *cells, strict=True)]
    sizes = [min(longest[0], 16), longest[1], min(longest[2], 12)]
    sizes.append(max(min(longest[3], width - 13 - sum(sizes)), 16))  # 13: the borders
    table = Table(title="Preprocessing (per input column)", title_justify="left")
    for name, size in zip(header, sizes, strict=True):
        folds = name == "column"
        table.add_column(
            name, width=size, no_wrap=not folds, overflow="fold" if folds else "ellipsis"
        )
    for row in cells:
        table.add_row(*(escape(text) for text in row))
    if len(rows) > MAX_ROWS:
        table.add_row(f"... {len(rows) - MAX_ROWS} more (see --json)", "", "", "")
    captions = []
    if any(row.get("indicator") for row in rows):
        captions.append("* also a 0/1 input that says the value was missing")
    if any(row.get("log") for row in rows):
        captions.append("log1p(x): sign(x) log(1 + |x|), a long tail (--no-log)")
    if captions:
        table.caption = "\n".join(captions)
        table.caption_justify = "left"
    return table


def class_names(model: Model) -> list[str]:
    """The classes as text, in the order the model file records for display, if any."""
    names = [str(c) for c in model.estimator.classes_]
    return [names[i] for i in display_order(names, saved_order(model.metadata))]


def dropped_text(dropped: dict | None, limit: int = 6) -> str:
    """``'id' (ID-like name), 'c' (constant)``: each name quoted once, with its reason."""
    items = list((dropped or {}).items())
    if not items:
        return "none"
    shown = ", ".join(f"{name!r} ({why})" for name, why in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def describe(model: Model) -> dict:
    """Everything ``inspect`` shows, as JSON-compatible data."""
    estimator, header = model.estimator, model.header
    pre = model.preprocessor
    return {
        "file": model.path,
        "format_version": header.get("format_version"),
        "lrnet_version": header.get("lrnet_version"),
        "layers": layers(model),
        "parameters": parameter_count(estimator),
        "classes": class_names(model),
        "target": None if pre is None else pre.target,
        "input_columns": None if pre is None else pre.columns,
        "dropped_columns": None if pre is None else pre.plan.dropped,
        "n_features": int(estimator.n_features_in_),
        "temperature": getattr(estimator, "temperature_", None),
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
            *(
                f"{row[k]:,}" if k in ("in", "out", "parameters") else str(row[k])
                for k in ("layer", "in", "out", "activation", "parameters", "dtype")
            )
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
        "network inputs": f"{info['n_features']:,}",
        "dropped at training": dropped_text(info["dropped_columns"]),
        "lrnet version": info["lrnet_version"],
        "file format version": info["format_version"],
    }
    metrics = metrics_summary(info["metadata"])
    if metrics:
        overview[metrics[0]] = metrics[1]
    refitted = refit_text(info["metadata"])
    if refitted:
        overview["refit"] = refitted
    if info["temperature"] is not None:
        overview["calibration"] = f"temperature scaling, T = {info['temperature']:.4g}"
    params = ", ".join(f"{k}={v!r}" for k, v in info["params"].items())
    out.show(net, key_value_table("Model", overview))
    table = preprocessing_table(model, out.console.width)
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
