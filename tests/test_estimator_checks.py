"""scikit-learn's own estimator checks, with the default solver and with lbfgs.

No expected failures are declared: with the checks' small data sets (15 rows) the
default batch size covers every row, so even the sample-weight-vs-repetition
equivalence holds for adam.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from lrnet import LRNClassifier


@parametrize_with_checks([LRNClassifier(max_iter=100), LRNClassifier(solver="lbfgs", max_iter=100)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
