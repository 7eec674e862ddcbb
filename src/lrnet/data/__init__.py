"""Tabular data: file readers and the preprocessing saved inside a model."""

from .preprocessing import Preprocessor
from .readers import CsvOptions, DataError, iter_table, read_table

__all__ = ["CsvOptions", "DataError", "Preprocessor", "iter_table", "read_table"]
