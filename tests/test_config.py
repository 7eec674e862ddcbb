"""What a fit keeps from the previous one (config.next_state), and the loop's Config."""

import numpy as np
import pytest

from conftest import quiet_fit
from lrnet import LRNClassifier
from lrnet.config import config_from_params


@pytest.mark.parametrize("first,second", [(True, False), (False, True)])
def test_warm_start_may_switch_early_stopping(iris, first, second):
    """The stopping rule changed between warm starts: its monitor starts afresh."""
    X, y = iris
    clf = LRNClassifier((5,), max_iter=3, warm_start=True, random_state=0, early_stopping=first)
    quiet_fit(clf, X, y)
    before = [w.copy() for w in clf.coefs_]
    quiet_fit(clf.set_params(early_stopping=second), X, y)
    assert len(clf.loss_curve_) == 6
    assert not np.array_equal(clf.coefs_[0], before[0])  # the second fit trained
    if second:
        assert clf.best_validation_score_ == max(clf.validation_scores_)
    else:
        assert clf.validation_scores_ is None


def test_warm_start_with_the_same_rule_keeps_the_monitor(iris):
    X, y = iris
    clf = LRNClassifier((5,), max_iter=3, warm_start=True, random_state=0)
    quiet_fit(clf, X, y)
    monitor = clf._state.monitor
    quiet_fit(clf, X, y)
    assert clf._state.monitor.best_loss <= monitor.best_loss
    assert clf._state.monitor is not monitor  # a copy: a failed fit leaves the old one


@pytest.mark.parametrize(
    "batch_size,n,expected", [("auto", 50, 50), ("auto", 500, 200), (64, 500, 64)]
)
def test_config_batch_size(batch_size, n, expected):
    params = LRNClassifier(batch_size=batch_size).get_params()
    assert config_from_params(params, n, 1).batch_size == expected


def test_config_clips_a_batch_larger_than_the_data_with_a_warning():
    params = LRNClassifier(batch_size=500).get_params()
    with pytest.warns(UserWarning, match="batch_size=500 is larger than the 60 training samples"):
        assert config_from_params(params, 60, 1).batch_size == 60
