"""Output heads: one per kind of target, each owning everything about its output layer.

A head knows its output link (``"logistic"``: independent sigmoids, ``"softmax"``),
how many output units it needs, its loss and output delta (the link's cross-entropy
from :mod:`lrnet.losses`, served by the kernel set), label smoothing, probabilities
and log-probabilities from logits, and decoding logits to labels.

=====================  ==========  ============================================
label type             link        head
=====================  ==========  ============================================
``binary``             logistic    one sigmoid unit; probabilities ``[1-p, p]``
``multiclass``         softmax     one unit per class
``multilabel-indicator`` logistic  one sigmoid per label; labels are 0/1
=====================  ==========  ============================================

The label types are scikit-learn's (``LabelBinarizer.y_type_``); :data:`HEADS` maps
each to its head, and nothing else in lrnet branches on them.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

from .losses import bounded_logits, log_probabilities_, logits_in_bounds, probabilities_

#: the smallest positive float64: the floor of predict_proba
TINY = float(np.finfo(np.float64).tiny)

#: the smallest positive normal number of each output dtype, as a scalar of that dtype
_TINY = {np.dtype(t): np.finfo(t).tiny for t in (np.float32, np.float64)}


class Head:
    """The softmax head; the sigmoid heads below change what differs."""

    label_type = "multiclass"
    link = "softmax"

    def n_outputs(self, n_classes: int) -> int:
        """Output units for ``n_classes`` classes (labels)."""
        return n_classes

    def smooth(self, Y: np.ndarray, eps: float) -> np.ndarray:
        """Label smoothing: ``Y (1 - eps) + eps / K`` (``K`` classes; 2 for sigmoids)."""
        if not eps:
            return Y
        return Y * (1.0 - eps) + eps / self._smoothing_classes(Y)

    def _smoothing_classes(self, Y: np.ndarray) -> int:
        return Y.shape[1]

    def decision(self, Z: np.ndarray) -> np.ndarray:
        """``decision_function``'s shape of the logits: (n, k); (n,) for binary."""
        return Z

    def decode(self, Z: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Labels from logits ``Z``: the class of the largest logit."""
        return classes[np.argmax(Z, axis=1)]

    def predict(self, Z: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Labels from raw logits, clipped first if the network overflowed."""
        if not logits_in_bounds(Z):
            Z = bounded_logits(Z.astype(np.float64))
        return self.decode(Z, classes)

    def probabilities(self, Z: np.ndarray, dtype=None) -> np.ndarray:
        """Class probabilities from raw logits, in ``Z``'s dtype or ``dtype``.

        float32 logits give float32 probabilities, as scikit-learn's estimators do for
        float32 input; ``dtype=np.float64`` evaluates the link in float64, which keeps
        the precision of probabilities near 0 and 1 (e.g. ``1 - p`` below 1e-7).  The
        link never overflows (logits beyond +-1e300, or infinite, are evaluated in
        float64 from clipped values), and a probability that underflows is the smallest
        positive number of the dtype rather than 0, so its logarithm stays finite.
        ``Z`` may be overwritten.
        """
        dtype = np.dtype(Z.dtype if dtype is None else dtype)
        if dtype != np.float32:
            dtype = np.dtype(np.float64)
        if logits_in_bounds(Z):
            P = self._probabilities(Z.astype(dtype, copy=False))
        else:
            P = self._probabilities(bounded_logits(Z.astype(np.float64))).astype(dtype)
        return np.maximum(P, _TINY[dtype], out=P)

    def _probabilities(self, Z: np.ndarray) -> np.ndarray:
        return probabilities_(Z, self.link)

    def log_probabilities(self, Z: np.ndarray) -> np.ndarray:
        """Log class probabilities from raw logits (never ``log(0)``), in ``Z``'s dtype.

        float64: the log-link evaluated directly (log-sigmoid, ``z - logsumexp``).
        float32: the logarithm of :meth:`probabilities`' float32 values, so that one is
        exactly a transformation of the other (scikit-learn checks this); it stops at
        ``log`` of the smallest normal float32, -87.3.
        """
        if Z.dtype == np.float32:
            return np.log(self.probabilities(Z))
        return self._log_probabilities(bounded_logits(Z.astype(np.float64, copy=False)))

    def _log_probabilities(self, Z: np.ndarray) -> np.ndarray:
        return log_probabilities_(Z, self.link)


class MultiLabelHead(Head):
    """Independent sigmoids, one per label; labels are a 0/1 indicator matrix."""

    label_type = "multilabel-indicator"
    link = "logistic"

    def _smoothing_classes(self, Y: np.ndarray) -> int:
        return 2

    def decode(self, Z: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """The indicator matrix ``Z > 0``."""
        return (Z > 0).astype(int)


class BinaryHead(MultiLabelHead):
    """One sigmoid unit for two classes; probabilities ``[1 - p, p]``."""

    label_type = "binary"

    def n_outputs(self, n_classes: int) -> int:
        """One unit, whatever the two classes are."""
        return 1

    def decision(self, Z: np.ndarray) -> np.ndarray:
        """The one logit per row, shape (n,), as ``LogisticRegression``."""
        return Z[:, 0]

    def decode(self, Z: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """The second class where the logit is positive."""
        return classes[(Z[:, 0] > 0).astype(int)]

    def _probabilities(self, Z: np.ndarray) -> np.ndarray:
        P = np.concatenate((np.negative(Z), Z), axis=1)
        return expit(P, out=P)

    def _log_probabilities(self, Z: np.ndarray) -> np.ndarray:
        return np.hstack([log_expit(-Z), log_expit(Z)])


#: label type -> head
HEADS: dict[str, Head] = {h.label_type: h for h in (BinaryHead(), Head(), MultiLabelHead())}


def head_for(label_type: str) -> Head:
    """The head of scikit-learn label type ``label_type``."""
    try:
        return HEADS[label_type]
    except KeyError:
        raise ValueError(
            f"no output head for targets of type {label_type!r}; expected one of {sorted(HEADS)}"
        ) from None
