"""One plain description of a fitted network: what persistence and export read.

:class:`FittedNetwork` holds the layer sizes, the hidden activation, the head (by
scikit-learn label type), the flat parameter buffer, the classes with their dtype,
the feature names, the hyperparameters and the training record (``n_iter_``,
``loss_curve_``, ...).  The estimator makes one (``LRNClassifier.fitted_network()``)
and is rebuilt from one (``LRNClassifier.from_fitted``); :mod:`lrnet.persistence`
writes and reads it without knowing the estimator, and the ONNX exporter will read
it the same way.  Estimator classes register under the name a model file records
(:func:`register_estimator`), so loading never imports the estimator back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .heads import HEADS, Head, head_for
from .network import Layout

#: fitted attributes that the description holds as arrays, not in ``attributes``
ARRAY_ATTRIBUTES = frozenset({"coefs_", "intercepts_", "classes_", "feature_names_in_"})

#: estimator name (as in a model file's header) -> class with ``from_fitted``
ESTIMATORS: dict[str, type] = {}


def register_estimator(cls: type) -> type:
    """Class decorator: models saved from ``cls`` load back as ``cls``."""
    ESTIMATORS[cls.__name__] = cls
    return cls


@dataclass
class FittedNetwork:
    """A fitted network as plain data (see the module docstring)."""

    layer_units: tuple[int, ...]
    activation: str
    label_type: str
    params: np.ndarray
    classes: np.ndarray
    feature_names: np.ndarray | None = None
    hyperparameters: dict = field(default_factory=dict)
    attributes: dict = field(default_factory=dict)
    estimator: str = "LRNClassifier"

    @property
    def layout(self) -> Layout:
        """Shapes and offsets of the layers in :attr:`params`."""
        return Layout(tuple(self.layer_units))

    @property
    def head(self) -> Head:
        """The output head (link, decoding, probabilities)."""
        return head_for(self.label_type)

    @property
    def coefs(self) -> list[np.ndarray]:
        """Per-layer weight matrices (views into :attr:`params`)."""
        return self.layout.views(self.params)[0]

    @property
    def intercepts(self) -> list[np.ndarray]:
        """Per-layer intercept vectors (views into :attr:`params`)."""
        return self.layout.views(self.params)[1]

    def check(self, hidden_layer_sizes=None) -> None:
        """The record agrees with the weights; a ``ValueError`` says where not.

        ``hidden_layer_sizes``: the validated hyperparameter (default: the recorded one).
        """
        units = tuple(self.layer_units)
        expected = {"n_features_in_": units[0], "n_outputs_": units[-1], "n_layers_": len(units)}
        for name, value in expected.items():
            if self.attributes.get(name) != value:
                raise ValueError(
                    f"{name} is {self.attributes.get(name)!r}, the weights say {value}"
                )
        hidden = units[1:-1]
        sizes = hidden_layer_sizes
        if sizes is None:
            sizes = self.hyperparameters.get("hidden_layer_sizes")
        if tuple(int(h) for h in np.atleast_1d(sizes)) != hidden:
            raise ValueError(f"hidden_layer_sizes {sizes!r} does not match the weights {hidden}")
        temperature = self.attributes.get("temperature_", 1.0)  # set by calibrate()
        if not (
            isinstance(temperature, int | float)
            and not isinstance(temperature, bool)
            and 0 < temperature < float("inf")
        ):
            raise ValueError(f"temperature_ is {temperature!r}; expected a positive number")
        if self.attributes.get("out_activation_") not in {h.link for h in HEADS.values()}:
            raise ValueError(
                f"unknown output activation {self.attributes.get('out_activation_')!r}"
            )
