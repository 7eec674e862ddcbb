"""PNG plots (matplotlib Agg) and a self-contained HTML report of the metrics.

The metrics themselves come from :mod:`lrnet.metrics`.

Plots are drawn on :class:`matplotlib.figure.Figure` objects with the Agg canvas, so
nothing touches pyplot's global state or needs a display.  ``MPLCONFIGDIR`` is pointed
at a temporary folder when it is unset, so matplotlib never writes into ``$HOME``.
"""

from __future__ import annotations

import base64
import html
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ._files import atomic_write, make_dirs, read_back
from .metrics import classification_metrics, summary_rows

__all__ = ["PLOTS", "classification_metrics", "metrics_html", "write_report"]

PLOTS = {
    "loss": "loss.png",
    "validation": "validation_score.png",
    "confusion": "confusion.png",
    "reliability": "reliability.png",
}


# ---------------------------------------------------------------------- plots
def _figure(width: float = 6.4, height: float = 4.2):
    os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="lrnet-mpl-"))
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(fig, path: Path) -> Path:
    with atomic_write(path) as fh:
        fig.savefig(fh, format="png")
    return path


def _series(history: list[dict], key: str) -> tuple[list, list]:
    pairs = [(h.get("epoch", i + 1), h.get(key)) for i, h in enumerate(history)]
    pairs = [(e, v) for e, v in pairs if v is not None and np.isfinite(v)]
    return [e for e, _ in pairs], [v for _, v in pairs]


def plot_loss(history: list[dict], path: Path, unit: str = "epoch") -> Path | None:
    """Training loss (and validation loss when recorded) against the epoch."""
    epochs, loss = _series(history, "loss")
    if not loss:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(epochs, loss, marker="." if len(loss) < 60 else None, label="training loss")
    val_epochs, val_loss = _series(history, "validation_loss")
    if val_loss:
        ax.plot(
            val_epochs,
            val_loss,
            marker="." if len(val_loss) < 60 else None,
            label="validation loss",
        )
    ax.set_title("Loss per " + unit)
    ax.set_xlabel(unit)
    ax.set_ylabel("cross-entropy")
    if min(loss + val_loss) > 0 and max(loss + val_loss) / min(loss + val_loss) > 50:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_validation(history: list[dict], path: Path) -> Path | None:
    """Validation accuracy per epoch, or ``None`` when none was recorded."""
    epochs, scores = _series(history, "validation_score")
    if not scores:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot(epochs, scores, marker="." if len(scores) < 60 else None, color="tab:green")
    best = int(np.argmax(scores))
    ax.scatter(
        [epochs[best]],
        [scores[best]],
        color="tab:red",
        zorder=3,
        label=f"best {scores[best]:.4f} (epoch {epochs[best]})",
    )
    ax.set_title("Validation accuracy per epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_confusion(matrix, classes: list[str], path: Path, title: str = "Confusion matrix") -> Path:
    """The confusion matrix as a heat map with counts and class names."""
    matrix = np.asarray(matrix)
    k = len(classes)
    side = min(max(4.8, 0.55 * k + 2.5), 16.0)
    fig = _figure(side + 1.0, side)
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8, label="samples")
    ax.set_xticks(
        range(k),
        labels=classes,
        rotation=45 if max(map(len, classes)) > 3 else 0,
        ha="right" if max(map(len, classes)) > 3 else "center",
    )
    ax.set_yticks(range(k), labels=classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if k <= 30:
        threshold = matrix.max() / 2 if matrix.size else 0
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(
                j,
                i,
                str(value),
                ha="center",
                va="center",
                fontsize=8 if k > 12 else 10,
                color="white" if value > threshold else "black",
            )
    return _save(fig, path)


def plot_reliability(calibration: dict, path: Path, title: str = "Reliability diagram") -> Path:
    """Accuracy against top-class confidence per bin, the diagonal, and the rows per bin.

    ``calibration``: the ``calibration`` entry of :func:`classification_metrics`.
    """
    bins = calibration["bins"]
    edges = np.asarray(bins["edges"])
    width = np.diff(edges)
    centres = edges[:-1] + width / 2
    filled = np.array([n > 0 for n in bins["count"]])
    accuracy = np.array([a if a is not None else 0.0 for a in bins["accuracy"]])
    confidence = np.array([c if c is not None else 0.0 for c in bins["confidence"]])
    fig = _figure(6.0, 6.4)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    top.bar(
        centres[filled],
        accuracy[filled],
        width=width[filled] * 0.9,
        color="tab:blue",
        edgecolor="white",
        label="accuracy in the bin",
    )
    top.scatter(
        confidence[filled],
        accuracy[filled],
        color="tab:red",
        zorder=3,
        s=14,
        label="(mean confidence, accuracy)",
    )
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(f"{title}: ECE {calibration['ece']:.4f} ({calibration['n_bins']} bins)")
    top.grid(True, alpha=0.3)
    top.legend(loc="upper left")
    bottom.bar(centres, bins["count"], width=width * 0.9, color="tab:grey")
    bottom.set_xlabel("top-class confidence (predicted probability of the predicted class)")
    bottom.set_ylabel("rows")
    bottom.grid(True, alpha=0.3)
    return _save(fig, path)


# ---------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}code{background:#f3f3f3}
.warning{background:#fff3cd;border-left:4px solid #e0a800;padding:6px 10px}
"""


def _table(header: list[str] | None, rows: list[list]) -> str:
    """An HTML table; ``header=None`` for a key-value table without a header row."""
    head = ""
    if header is not None:
        head = "<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>"
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table>{head}{body}</table>"


def _fmt(value) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _image(path: Path | None, alt: str) -> str:
    if path is None:
        return f"<p><em>{html.escape(alt)}: not recorded in this run.</em></p>"
    data = base64.b64encode(read_back(path)).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def metrics_html(metrics: dict) -> str:
    """The metrics as HTML: warnings, summary against the baseline, per class."""
    base = metrics["baseline"]
    warnings = "".join(
        f'<p class="warning">Warning: {html.escape(text)}</p>' for text in metrics["warnings"]
    )
    summary = _table(
        ["metric", "model", "class-prior baseline", "baseline predicts"],
        [["samples", metrics["n_samples"], "", ""]] + summary_rows(metrics),
    )
    note = (
        f"<p>Class-prior baseline: the class frequencies of the {html.escape(base['priors_from'])}"
        " predicted for every row, ignoring the inputs.</p>"
    )
    per_class = _table(
        ["class", "precision", "recall", "F1", "support"],
        [
            [c["class"], c["precision"], c["recall"], c["f1"], c["support"]]
            for c in metrics["per_class"]
        ],
    )
    return warnings + summary + note + "<h3>Per class</h3>" + per_class


def write_report(
    directory,
    metrics: dict,
    history: list[dict],
    info: dict,
    unit: str = "epoch",
    evaluated_on: str = "test set",
) -> dict[str, Path]:
    """Write the PNG plots and ``report.html`` into ``directory``.

    Parameters
    ----------
    directory : str or path-like
        Created if needed.
    metrics : dict
        From :func:`classification_metrics`.
    history : list of dict
        The estimator's ``history_``.
    info : dict
        Key -> value lines shown at the top (model file, data, hyperparameters).
    unit : str
        What one history entry is: 'epoch', or 'iteration' for lbfgs.
    evaluated_on : str
        Which data the metrics come from, for the titles.

    Returns
    -------
    dict
        ``{'loss': path, 'validation': path or None, 'confusion': path,
        'reliability': path, 'html': path}``.
    """
    directory = make_dirs(directory)  # removed again if the staged report is not committed
    paths = {
        "loss": plot_loss(history, directory / PLOTS["loss"], unit),
        "validation": plot_validation(history, directory / PLOTS["validation"]),
        "confusion": plot_confusion(
            metrics["confusion_matrix"],
            metrics["classes"],
            directory / PLOTS["confusion"],
            f"Confusion matrix ({evaluated_on})",
        ),
        "reliability": plot_reliability(
            metrics["calibration"],
            directory / PLOTS["reliability"],
            f"Reliability ({evaluated_on})",
        ),
    }
    page = _page(paths, metrics, info, evaluated_on)
    paths["html"] = directory / "report.html"
    with atomic_write(paths["html"], "w", encoding="utf-8") as fh:
        fh.write(page)
    return paths


def _page(paths: dict, metrics: dict, info: dict, evaluated_on: str) -> str:
    """The self-contained HTML page: info, metrics tables, embedded plots."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    calibration = metrics["calibration"]
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>lrnet report</title>"
        f"<style>{_CSS}</style></head><body><h1>lrnet report</h1>"
        f"<p>{html.escape(stamp)}</p>"
        + _table(None, [[k, v] for k, v in info.items()])
        + f"<h2>Metrics ({html.escape(evaluated_on)})</h2>"
        + metrics_html(metrics)
        + "<h2>Confusion matrix</h2>"
        + _image(paths["confusion"], "confusion matrix")
        + "<h2>Calibration</h2>"
        + f"<p>Expected calibration error {calibration['ece']:.4f}: the rows are put in "
        f"{calibration['n_bins']} equal-width bins of their top-class confidence, and the "
        "gaps between each bin's accuracy and mean confidence are averaged, weighted by "
        "the rows in the bin. A calibrated model's bars follow the diagonal.</p>"
        + _image(paths["reliability"], "reliability diagram")
        + "<h2>Training</h2>"
        + _image(paths["loss"], "loss curve")
        + _image(paths["validation"], "validation score")
        + "</body></html>"
    )
