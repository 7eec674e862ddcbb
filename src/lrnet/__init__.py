"""lrnet: logistic regression networks with backpropagation written on NumPy."""

from ._version import __version__
from .estimator import LRNClassifier
from .persistence import load

__all__ = ["LRNClassifier", "load", "__version__"]
