"""Every error a user can hit, matched on its message."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from lrnet import LRNClassifier
from lrnet.activations import ACTIVATIONS
from lrnet.validation import check_finite

RNG = np.random.default_rng(0)
X = RNG.standard_normal((20, 4))
y = np.arange(20) % 2
y3 = np.arange(20) % 3


@pytest.fixture
def fitted():
    return LRNClassifier((3,), solver="lbfgs", alpha=1.0, random_state=0).fit(X, y3)


# ---------------------------------------------------------------------- X values
@pytest.mark.parametrize("method", ["fit", "predict", "predict_proba", "predict_log_proba"])
def test_nan_in_X_is_named(fitted, method):
    Xbad = X.copy()
    Xbad[3, 2] = np.nan
    call = (
        (lambda: LRNClassifier().fit(Xbad, y))
        if method == "fit"
        else (lambda: getattr(fitted, method)(Xbad))
    )
    with pytest.raises(
        ValueError,
        match=r"contains NaN \(1 value\(s\); the first at row 3, "
        r"column 2\).*SimpleImputer",
    ):
        call()


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinity_in_X_is_named(fitted, value):
    Xbad = X.copy()
    Xbad[0, 1] = value
    with pytest.raises(ValueError, match="contains infinity"):
        LRNClassifier().fit(Xbad, y)
    with pytest.raises(ValueError, match="contains infinity"):
        fitted.predict(Xbad)


def test_nan_in_sparse_X():
    Xbad = X.copy()
    Xbad[2, 0] = np.nan
    with pytest.raises(ValueError, match="contains NaN"):
        LRNClassifier().fit(sp.csr_matrix(Xbad), y)


def test_huge_but_finite_X_is_accepted():
    """The fast path sums X; an overflowing sum of finite values is not an error."""
    Xbig = np.full((4, 2), 1e308)
    Xbig[:, 1] = [-1, 1, -1, 1]
    with np.errstate(over="ignore"):
        check_finite(Xbig)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba", "score"])
def test_wrong_number_of_features_at_predict(fitted, method):
    args = (X[:, :3], y3) if method == "score" else (X[:, :3],)
    with pytest.raises(
        ValueError, match="X has 3 features, but LRNClassifier is expecting 4 features"
    ):
        getattr(fitted, method)(*args)


def test_wrong_number_of_features_at_partial_fit():
    est = LRNClassifier((3,)).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="X has 5 features, but LRNClassifier is expecting 4"):
        est.partial_fit(np.ones((3, 5)), [0, 1, 0])


def test_empty_X():
    with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
        LRNClassifier().fit(np.empty((0, 4)), np.empty(0))


def test_X_without_features():
    with pytest.raises(ValueError, match=r"0 feature\(s\)"):
        LRNClassifier().fit(np.empty((5, 0)), [0, 1, 0, 1, 0])


def test_non_numeric_X():
    Xs = np.array([["a", "b"], ["c", "d"], ["e", "f"]], dtype=object)
    with pytest.raises(ValueError, match="X must be numeric.*OneHotEncoder"):
        LRNClassifier().fit(Xs, [0, 1, 0])


def test_dataframe_with_string_column_names_the_column():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "colour": ["red", "blue", "red"], "b": [1, 2, 3]})
    with pytest.raises(ValueError, match=re.escape("Non-numeric columns: ['colour']")):
        LRNClassifier().fit(df, [0, 1, 0])


# ---------------------------------------------------------------------- y
def test_y_with_a_single_class():
    with pytest.raises(ValueError, match=r"y contains only one class \(1\) among 20 samples"):
        LRNClassifier().fit(X, np.ones(20, dtype=int))


def test_y_none():
    with pytest.raises(ValueError, match="requires y to be passed"):
        LRNClassifier().fit(X, None)


def test_continuous_y():
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        LRNClassifier().fit(X, np.linspace(0, 1, 20))


@pytest.mark.parametrize("n_y", [19, 21])
def test_X_and_y_of_different_lengths(n_y):
    with pytest.raises(ValueError, match=f"X has 20 rows but y has {n_y} labels"):
        LRNClassifier().fit(X, np.arange(n_y) % 2)


# ---------------------------------------------------------------------- sample_weight
def test_negative_sample_weight():
    sw = np.ones(20)
    sw[[3, 5]] = -1.0
    with pytest.raises(ValueError, match=r"sample_weight contains 2 negative value\(s\)"):
        LRNClassifier().fit(X, y, sample_weight=sw)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_sample_weight(value):
    sw = np.ones(20)
    sw[0] = value
    with pytest.raises(ValueError, match=r"sample_weight contains 1 non-finite value\(s\)"):
        LRNClassifier().fit(X, y, sample_weight=sw)


def test_sample_weight_all_zero():
    with pytest.raises(ValueError, match="sample_weight sums to zero"):
        LRNClassifier().fit(X, y, sample_weight=np.zeros(20))


def test_sample_weight_leaving_one_class():
    sw = (y == 0).astype(float)
    with pytest.raises(ValueError, match="only the class \\[0\\] has a positive weight"):
        LRNClassifier().fit(X, y, sample_weight=sw)


def test_sample_weight_of_wrong_shape():
    with pytest.raises(ValueError, match=r"sample_weight has shape \(19,\), expected \(20,\)"):
        LRNClassifier().fit(X, y, sample_weight=np.ones(19))


# ---------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    ("value", "suggestion"), [("rel", "relu"), ("tanhh", "tanh"), ("sigmoid", None)]
)
def test_unknown_activation(value, suggestion):
    with pytest.raises(InvalidParameterError) as info:
        LRNClassifier(activation=value).fit(X, y)
    msg = str(info.value)
    assert "'activation' parameter of LRNClassifier" in msg
    assert f"Got {value!r} instead" in msg
    for name in ACTIVATIONS:
        assert repr(name) in msg
    if suggestion:
        assert f"Did you mean activation={suggestion!r}?" in msg
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(("value", "suggestion"), [("adma", "adam"), ("lbgfs", "lbfgs")])
def test_unknown_solver(value, suggestion):
    with pytest.raises(ValueError, match=f"'solver' parameter of LRNClassifier.*{value!r}") as e:
        LRNClassifier(solver=value).fit(X, y)
    for name in ("lbfgs", "sgd", "adam"):
        assert repr(name) in str(e.value)
    assert f"Did you mean solver={suggestion!r}?" in str(e.value)


@pytest.mark.parametrize("sizes", [(5, 0), (-3,), (4, -1, 2), [0]])
def test_hidden_layer_sizes_with_zero_or_negative_entries(sizes):
    with pytest.raises(ValueError, match=r"hidden_layer_sizes must be > 0, got .*use \(\) for"):
        LRNClassifier(hidden_layer_sizes=sizes).fit(X, y)


@pytest.mark.parametrize("sizes", [0, -2])
def test_scalar_hidden_layer_sizes_out_of_range(sizes):
    with pytest.raises(ValueError, match="'hidden_layer_sizes' parameter of LRNClassifier"):
        LRNClassifier(hidden_layer_sizes=sizes).fit(X, y)


def test_non_integer_hidden_layer_sizes():
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        LRNClassifier(hidden_layer_sizes=(2.5,)).fit(X, y)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("alpha", -1.0),
        ("learning_rate_init", 0.0),
        ("max_iter", 0),
        ("momentum", 1.5),
        ("batch_size", 0),
        ("validation_fraction", 1.0),
        ("beta_1", 1.0),
        ("class_weight", "bal"),
    ],
)
def test_out_of_range_parameters(param, value):
    with pytest.raises(ValueError, match=f"'{param}' parameter of LRNClassifier"):
        LRNClassifier(**{param: value}).fit(X, y)


# ---------------------------------------------------------------------- partial_fit
def test_partial_fit_label_outside_classes():
    est = LRNClassifier((3,)).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(
        ValueError,
        match=r"y has label\(s\) \[7\] that are not among the "
        r"classes \[0, 1\]",
    ):
        est.partial_fit(X[:3], [0, 7, 1])


def test_partial_fit_first_call_label_outside_classes():
    with pytest.raises(ValueError, match=r"label\(s\) \[2\] that are not among"):
        LRNClassifier((3,)).partial_fit(X, y3, classes=[0, 1])


def test_partial_fit_first_call_without_classes():
    with pytest.raises(ValueError, match="classes must be passed on the first call to partial_fit"):
        LRNClassifier((3,)).partial_fit(X, y)


def test_partial_fit_not_available_for_lbfgs():
    est = LRNClassifier(solver="lbfgs")
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as info:
        est.partial_fit(X, y, classes=[0, 1])
    # scikit-learn's available_if chains the reason, shown in the traceback
    assert re.search(
        r"partial_fit is only available for the stochastic solvers .*sgd.*adam.*, not "
        r"solver='lbfgs'\. Use fit",
        str(info.value.__cause__),
    )


def test_partial_fit_with_early_stopping():
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        LRNClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1])


# ---------------------------------------------------------------------- class_weight
def test_class_weight_with_multilabel_y():
    Y = np.column_stack([y, 1 - y, np.arange(20) % 3 == 0]).astype(int)
    with pytest.raises(ValueError, match="class_weight is not supported for multi-label y"):
        LRNClassifier(class_weight="balanced").fit(X, Y)


# ---------------------------------------------------------------------- warm start / fitted
def test_warm_start_with_wrongly_shaped_coefs(fitted):
    fitted.coefs_ = [w.T for w in fitted.coefs_]
    fitted.set_params(warm_start=True)
    with pytest.raises(
        ValueError,
        match=r"warm-start parameter has shape \(3, 4\), "
        r"expected \(4, 3\)",
    ):
        fitted.fit(X, y3)


def test_predict_before_fit():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        LRNClassifier().predict(X)


def test_too_small_validation_set():
    Y = np.column_stack([y, 1 - y]).astype(int)  # multi-label: no stratified split
    with pytest.raises(
        ValueError,
        match=r"validation set is too small for validation_fraction=.* \(1 sample\(s\)\)",
    ):
        LRNClassifier(early_stopping=True, validation_fraction=0.05).fit(X, Y)


def test_stratified_validation_set_smaller_than_the_number_of_classes():
    with pytest.raises(
        ValueError, match="test_size = 1 should be greater or equal to the number of classes = 2"
    ):
        LRNClassifier(early_stopping=True, validation_fraction=0.05).fit(X, y)
