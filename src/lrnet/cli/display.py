"""What the commands print: one-line notes, rich tables, JSON."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape as escape_markup
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from ..metrics import summary_rows

#: the confusion matrix is printed in full up to this many classes
MAX_CONFUSION = 20
#: what a terminal would act on instead of showing: C0 and C1 control characters (ESC
#: sequences among them), DEL, and the marks and overrides that reorder text
UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text) -> str:
    """``str(text)`` with control characters escaped (ESC as four characters), safe on a terminal.

    Column names, labels and paths come from files; an ESC sequence among them must
    not reach the terminal raw.  Every line the commands print goes through here.
    """
    text = str(text)
    if not UNPRINTABLE.search(text):
        return text
    return UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def escape(text) -> str:
    """``text`` for a rich table cell: control characters and rich markup escaped."""
    return escape_markup(printable(text))


class SafeConsole(Console):
    """A rich console that escapes control characters in the text it renders.

    The tables escape their cells already (:func:`escape`); this catches the rest, and
    leaves rich's own styling (``Segment.control`` and styles) alone.
    """

    def _render_buffer(self, buffer) -> str:
        # rich's own line breaks (Segment.line()) stay; any other control character is escaped
        safe = (
            s if s.control or s.text == "\n" else Segment(printable(s.text), s.style)
            for s in buffer
        )
        return super()._render_buffer(safe)

    def on_broken_pipe(self) -> None:
        """A closed stdout (``lrnet evaluate ... | head``): as every command, status 141.

        rich's own handler exits with status 1, which reads as an error; the command
        line's handler of ``BrokenPipeError`` silences stdout and returns 141.
        """
        self.quiet = True
        raise BrokenPipeError


class UserError(ValueError):
    """An error the user can fix; printed as one line, exit code 1."""


class UsageError(UserError):
    """Options that do not fit together; printed as one line, exit code 2."""


@dataclass
class Output:
    """Where a command writes: results on stdout, notes on stderr.

    ``json_mode`` turns the results into one JSON document on stdout; ``quiet``
    silences notes and results (errors are still printed).
    """

    json_mode: bool = False
    quiet: bool = False
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.console = SafeConsole(file=sys.stdout, highlight=False, soft_wrap=False)

    def note(self, text: str) -> None:
        """A one-line remark on stderr (kept in the JSON output too)."""
        self.notes.append(text)
        if not self.quiet:
            print(f"note: {printable(text)}", file=sys.stderr, flush=True)

    def show(self, *renderables) -> None:
        """Print rich renderables on stdout, unless quiet or in JSON mode."""
        if not (self.quiet or self.json_mode):
            for item in renderables:
                self.console.print(item)

    def line(self, text: str) -> None:
        """A plain result line on stdout, unless quiet or in JSON mode."""
        if not (self.quiet or self.json_mode):
            print(printable(text), flush=True)

    def emit_json(self, document: dict) -> None:
        """The JSON document on stdout, in JSON mode."""
        if self.json_mode:
            document = {**document, "notes": self.notes}
            print(json.dumps(document, indent=2, default=str))


def metrics_tables(metrics: dict, title: str) -> list:
    """Summary, per-class and confusion-matrix tables for :func:`report.classification_metrics`.

    The summary sets each metric beside the class-prior baseline's (a model that
    ignores the inputs; see :func:`lrnet.metrics.baseline_metrics`).
    """
    priors_from = metrics["baseline"]["priors_from"]
    summary = Table(
        title=f"{metrics['n_samples']:,} rows; baseline: class frequencies of the {priors_from}",
        title_justify="left",
    )
    summary.add_column("metric", style="bold")
    summary.add_column("model", justify="right")
    summary.add_column("class-prior baseline", justify="right")
    summary.add_column("baseline predicts")
    for name, model, baseline, how in summary_rows(metrics):
        summary.add_row(
            name,
            f"{model:.4f}",
            "" if baseline is None else f"{baseline:.4f}",
            escape(how),
        )

    per_class = Table(title="Per class", title_justify="left")
    per_class.add_column("class")
    for name in ("precision", "recall", "F1", "support"):
        per_class.add_column(name, justify="right")
    for row in metrics["per_class"]:
        per_class.add_row(
            escape(row["class"]),
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
    return [Text(printable(title), style="bold"), summary, per_class, confusion_table(metrics)]


def confusion_table(metrics: dict):
    """Rows: true class; columns: predicted class."""
    names = metrics["classes"]
    if len(names) > MAX_CONFUSION:
        return (
            f"Confusion matrix: {len(names)} classes, too many to print; see the "
            "report's confusion.png or --json."
        )
    table = Table(title="Confusion matrix", title_justify="left")
    table.add_column("true \\ predicted", style="bold")
    for name in names:
        table.add_column(escape(name), justify="right")
    for i, row in enumerate(metrics["confusion_matrix"]):
        cells = [
            f"[bold green]{v}[/]" if i == j else (str(v) if v else "[dim]0[/]")
            for j, v in enumerate(row)
        ]
        table.add_row(escape(names[i]), *cells)
    return table


def key_value_table(title: str, rows: dict) -> Table:
    """A two-column table of ``rows``."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in rows.items():
        table.add_row(escape(str(key)), escape(str(value)))
    return table


def listing(names, limit: int = 8) -> str:
    """``'a', 'b', 'c' and 5 more``."""
    names = [str(n) for n in names]
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
