"""Evaluation metrics, PNG plots (matplotlib Agg) and a self-contained HTML report.

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
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
)

from ._files import atomic_write

PLOTS = {"loss": "loss.png", "validation": "validation_score.png", "confusion": "confusion.png"}


# ---------------------------------------------------------------------- metrics
def classification_metrics(y_true, proba: np.ndarray, classes: np.ndarray) -> dict:
    """Accuracy, log-loss, per-class precision/recall/F1 and the confusion matrix.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, all among ``classes``.
    proba : ndarray of shape (n_samples, n_classes)
        Predicted probabilities, columns in the order of ``classes``.
    classes : ndarray of shape (n_classes,)
        The model's classes.

    Returns
    -------
    dict
        JSON-compatible: ``n_samples``, ``accuracy``, ``log_loss``, ``macro_f1`` (over
        the classes that occur in ``y_true`` or in the predictions),
        ``classes`` (as strings), ``per_class`` (list of dicts) and
        ``confusion_matrix`` (rows: true class, columns: predicted class).
    """
    y_true = np.asarray(y_true)
    y_pred = classes[np.argmax(proba, axis=1)]
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=0
    )
    # classes neither in the data nor predicted have no F1 to average
    present = np.isin(classes, np.union1d(np.unique(y_true), np.unique(y_pred)))
    names = [str(c) for c in classes]
    per_class = [
        {
            "class": names[i],
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i in range(len(classes))
    ]
    return {
        "n_samples": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "log_loss": float(log_loss(y_true, proba, labels=classes)),
        "macro_f1": float(np.mean(f1[present])),
        "classes": names,
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=classes).tolist(),
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


# ---------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}code{background:#f3f3f3}
"""


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _image(path: Path | None, alt: str) -> str:
    if path is None:
        return f"<p><em>{html.escape(alt)}: not recorded in this run.</em></p>"
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def metrics_html(metrics: dict) -> str:
    """The metrics as HTML tables: summary, per class, confusion matrix."""
    summary = _table(
        ["metric", "value"],
        [
            ["samples", metrics["n_samples"]],
            ["accuracy", metrics["accuracy"]],
            ["log-loss", metrics["log_loss"]],
            ["macro F1", metrics["macro_f1"]],
        ],
    )
    per_class = _table(
        ["class", "precision", "recall", "F1", "support"],
        [
            [c["class"], c["precision"], c["recall"], c["f1"], c["support"]]
            for c in metrics["per_class"]
        ],
    )
    names = metrics["classes"]
    confusion = _table(
        ["true \\ predicted", *names],
        [[names[i], *row] for i, row in enumerate(metrics["confusion_matrix"])],
    )
    return summary + per_class + "<h3>Confusion matrix</h3>" + confusion


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
        ``{'loss': path, 'validation': path or None, 'confusion': path, 'html': path}``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "loss": plot_loss(history, directory / PLOTS["loss"], unit),
        "validation": plot_validation(history, directory / PLOTS["validation"]),
        "confusion": plot_confusion(
            metrics["confusion_matrix"],
            metrics["classes"],
            directory / PLOTS["confusion"],
            f"Confusion matrix ({evaluated_on})",
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
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>lrnet report</title>"
        f"<style>{_CSS}</style></head><body><h1>lrnet training report</h1>"
        f"<p>{html.escape(stamp)}</p>"
        + _table(["", ""], [[k, v] for k, v in info.items()])
        + f"<h2>Metrics ({html.escape(evaluated_on)})</h2>"
        + metrics_html(metrics)
        + "<h2>Training</h2>"
        + _image(paths["loss"], "loss curve")
        + _image(paths["validation"], "validation score")
        + "<h2>Confusion matrix</h2>"
        + _image(paths["confusion"], "confusion matrix")
        + "</body></html>"
    )
