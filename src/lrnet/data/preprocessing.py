"""Tabular preprocessing: the fitted column plan and transformer, applied to tables.

:meth:`Preprocessor.fit` plans the columns of a training table (constant and ID-like
columns are dropped, :mod:`lrnet.data.columns`) and fits the ``ColumnTransformer`` of
:mod:`lrnet.data.transform` on them, a column or a block of rows at a time
(:mod:`lrnet.data.fitting`); :meth:`Preprocessor.transform` turns a table into the
network's input, in blocks of rows written into one float32 matrix.

A model file stores the fitted transformer as plain data (:meth:`Preprocessor.to_dict`)
and :meth:`Preprocessor.from_dict` rebuilds it without unpickling anything; both
delegate to :mod:`lrnet.data.spec`, which owns that form.  Imports run one way:
preprocessing -> spec -> transform.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer

from . import fitting
from .categories import kept_categories
from .columns import ColumnOptions, ColumnPlan, plan_columns
from .readers import DataError, row_name
from .skew import signed_expm1
from .spec import from_dict as spec_from_dict
from .spec import to_dict as spec_to_dict
from .transform import as_strings, check_scales, prepare_frame, read_values


class Preprocessor:
    """Fitted tabular preprocessing: column plan, ``ColumnTransformer`` and target name.

    Build one with :meth:`fit` (from a training table) or :meth:`from_dict` (from a
    model file); :meth:`transform` turns a table into the network's float32 input.
    """

    def __init__(self, plan: ColumnPlan, transformer: ColumnTransformer, target: str | None):
        self.plan = plan
        self.transformer = transformer
        self.target = target

    # ---------------------------------------------------------------- fitting
    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        target: str | None = None,
        source: str = "data",
        options: ColumnOptions | None = None,
    ) -> Preprocessor:
        """Plan the columns of ``frame`` and fit the transformer on them.

        Parameters
        ----------
        frame : pandas.DataFrame
            Training table; the ``target`` column, if any, is left out.
        target : str or None
            Name of the target column.
        source : str
            Where the table came from, for error messages.
        options : ColumnOptions or None
            How columns are read: decimal mark, dates, the cap on categories.  The
            plan's ``notes`` say what was done to which column.

        Returns
        -------
        Preprocessor
            The fitted preprocessing; checked to survive :meth:`to_dict` unchanged.
        """
        options = options or ColumnOptions()
        plan = plan_columns(frame, target, source, options)
        _cap_categories(frame, plan, options, source)
        table = read_values(frame, plan, source)  # text numbers, date features, "other"
        transformer = fitting.fit_transformer(table, plan, source)  # bounded memory
        del table
        check_scales(transformer, source)
        fitted = cls(plan, transformer, target)
        fitted._check_round_trip(frame.head(256), source)
        return fitted

    def _check_round_trip(self, sample: pd.DataFrame, source: str) -> None:
        rebuilt = Preprocessor.from_dict(self.to_dict(), source)  # its limits name the data
        if not np.array_equal(rebuilt.transform(sample, source), self.transform(sample, source)):
            raise RuntimeError(
                "lrnet bug: the preprocessing rebuilt from plain data differs "
                "from the fitted one; please report it."
            )

    # ---------------------------------------------------------------- applying
    @property
    def columns(self) -> list[str]:
        """The input columns the transformer reads."""
        return self.plan.columns

    @property
    def feature_names_out(self) -> list[str]:
        """Names of the network's input features."""
        return [str(n) for n in self.transformer.get_feature_names_out()]

    def missing_columns(self, columns) -> list[str]:
        """Input columns absent from ``columns``."""
        present = {str(c) for c in columns}
        return [c for c in self.columns if c not in present]

    def extra_columns(self, columns) -> list[str]:
        """Columns of ``columns`` that the preprocessing ignores (target excluded)."""
        used = set(self.columns) | {self.target}
        return [str(c) for c in columns if str(c) not in used]

    def transform(
        self, frame: pd.DataFrame, source: str = "data", dtype=np.float32, out=None
    ) -> np.ndarray:
        """The network input for ``frame``: shape (n_rows, n_features_out), ``dtype``.

        ``out``: an array of that shape and dtype to write into (e.g. rows of a larger
        one, so that two parts of a table end up in one array without a copy).
        """
        missing = self.missing_columns(frame.columns)
        if missing:
            shown = ", ".join(map(repr, missing[:10]))
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise DataError(
                f"{source}: missing {len(missing)} feature column(s) the model was trained "
                f"on: {shown}{more}."
            )
        width = len(self.feature_names_out)
        step = fitting.block_rows(max(width, len(self.columns)))
        if out is not None:
            if out.shape != (len(frame), width) or out.dtype != np.dtype(dtype):
                raise ValueError(
                    f"out has shape {out.shape} and dtype {out.dtype}; expected "
                    f"{(len(frame), width)} and {np.dtype(dtype)}"
                )
        elif len(frame) <= step:
            return self._transform_block(frame, source, dtype)
        else:  # in blocks of rows, into the output: no float64 copy of the whole table
            out = np.empty((len(frame), width), dtype=dtype)
        for start in range(0, len(frame), step):
            block = frame.iloc[start : start + step]
            out[start : start + len(block)] = self._transform_block(block, source, dtype)
        return out

    def _transform_block(self, frame: pd.DataFrame, source: str, dtype) -> np.ndarray:
        out = self.transformer.transform(prepare_frame(frame, self.plan, source))
        with np.errstate(over="ignore"):
            out = np.ascontiguousarray(out, dtype=dtype)
        if not np.isfinite(out).all():
            row, col = np.argwhere(~np.isfinite(out))[0]
            feature = self.feature_names_out[col]
            name = feature.partition("__")[2]  # 'num__income' -> 'income'
            what = f"column {name!r}" if name in frame.columns else f"feature {feature!r}"
            raise DataError(
                f"{source}: {what} of {row_name(frame.index[row], frame.attrs)} overflows "
                "once standardised: the value is far outside the range seen in training. "
                "Check that column."
            )
        return out

    # ---------------------------------------------------------------- plain data
    def to_dict(self) -> dict:
        """The fitted preprocessing as JSON-compatible plain data.

        See :func:`lrnet.data.spec.to_dict`.
        """
        return spec_to_dict(self.plan, self.transformer, self.target)

    @classmethod
    def from_dict(cls, spec: dict, source: str = "model") -> Preprocessor:
        """Rebuild a fitted preprocessing from :meth:`to_dict` data; never runs code.

        See :func:`lrnet.data.spec.from_dict`.

        Raises
        ------
        ValueError
            When the data is malformed, or the rebuilt transformer does not reproduce
            the stored probe output.
        """
        return cls(*spec_from_dict(spec, source))

    def describe(self) -> list[dict]:
        """One plain dict per input column: kind, fill value, scaling or categories.

        A column read on a log scale has ``"log": True``; its ``mean`` and ``scale``
        are those of the logged values, its ``fill`` is in the column's own units.
        """
        spec = self.to_dict()
        rows = []
        num = spec.get("numeric")
        logged = set(self.plan.logged)
        if num:
            for i, name in enumerate(num["columns"]):
                row = {
                    "column": name,
                    "kind": "numeric",
                    "fill": num["medians"][i],
                    "indicator": i in num["missing_indicator"],
                    "mean": num["mean"][i],
                    "scale": num["scale"][i],
                }
                if name in logged:  # the median of the logs is the log of a median
                    # to 12 digits: expm1(log1p(13)) is 12.999999999999996
                    row.update(fill=float(f"{signed_expm1(row['fill']):.12g}"), log=True)
                rows.append(row)
        cat = spec.get("categorical")
        if cat:
            for i, name in enumerate(cat["columns"]):
                rows.append(
                    {
                        "column": name,
                        "kind": "categorical",
                        "fill": cat["most_frequent"][i],
                        "indicator": i in cat["missing_indicator"],
                        "categories": cat["categories"][i],
                    }
                )
        return rows


def _cap_categories(
    frame: pd.DataFrame, plan: ColumnPlan, options: ColumnOptions, source: str
) -> None:
    """Group the rare categories of columns with more than ``options.max_categories``."""
    for name in list(plan.categorical):
        how = kept_categories(
            as_strings(frame[name]), options.max_categories, options.min_frequency
        )
        if how is None:
            continue
        levels = how["levels"]
        if not how["kept"]:
            plan.categorical.remove(name)
            plan.dropped[name] = f"{levels:,} values, none in {options.min_frequency} rows or more"
            continue
        plan.capped[name] = {"kept": how["kept"], "other": how["other"]}
        plan.notes.append(
            f"column {name!r}: {levels:,} distinct values; kept the {len(how['kept'])} most "
            f"frequent ({how['share']:.0%} of the rows), the other {levels - len(how['kept']):,} "
            f"grouped as {how['other']!r} (--max-categories)."
        )
    if not plan.features:
        raise DataError(
            f"{source}: no feature column is left after dropping {len(plan.dropped)} "
            "column(s); lrnet needs at least one feature."
        )
