"""lrnet: logistic regression networks with backpropagation written on NumPy."""

from .estimator import LRNClassifier

__version__ = "0.1.0"

__all__ = ["LRNClassifier", "__version__"]
