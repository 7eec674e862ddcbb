"""The kernel layer: choosing a set, and every body of training taken from it."""

import warnings
from types import MappingProxyType

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from lrnet import LRNClassifier, kernels, training
from lrnet.activations import ACTIVATIONS, Activation
from lrnet.initializers import init_flat
from lrnet.kernels import ENV, Kernels, resolve
from lrnet.kernels.numpy_ref import KERNELS as NUMPY
from lrnet.network import Layout, Net, value_and_grad
from lrnet.optim import adam, lion, sgd
from lrnet.sources import ArraySource

RNG = np.random.default_rng(0)
X = RNG.standard_normal((50, 4))
y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)


def quiet_fit(clf, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


# ------------------------------------------------------------------ choosing a set
@pytest.mark.parametrize("value", [None, "", "auto", "numpy", "numba"])
def test_resolve_gives_numba_for_big_jobs_and_numpy_on_request(monkeypatch, value):
    if value is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, value)
    assert ENV == "LRNET_KERNELS"
    expected = "numpy" if value == "numpy" else "numba"  # numba is installed here
    big = resolve(work=kernels.AUTO_MIN_WORK)
    assert big.name == expected
    assert big is kernels.SETS[expected]()
    if value == "numpy":
        assert resolve() is NUMPY


@pytest.mark.parametrize("work", [None, 0, 1e6, kernels.AUTO_MIN_WORK / 2])
def test_auto_does_not_start_numba_for_a_small_job(monkeypatch, work):
    monkeypatch.delenv(ENV, raising=False)
    # as in a process where numba has not been loaded yet
    monkeypatch.setitem(kernels._COMPILED, "numba", "lrnet.kernels.not_loaded_yet")
    assert resolve(work=work) is NUMPY
    assert resolve("numba", work=work).name == "numba"  # named: loaded whatever the size
    assert resolve(work=kernels.AUTO_MIN_WORK).name == "numba"


@pytest.mark.parametrize("work", [None, 0, 1e6])
def test_auto_uses_numba_for_any_job_once_it_is_loaded(monkeypatch, work):
    monkeypatch.delenv(ENV, raising=False)
    resolve("numba")  # loaded: its start-up is paid
    assert resolve(work=work).name == "numba"


@pytest.mark.parametrize("name", ["Numba", "Numpy", "fast"])
def test_an_unknown_set_names_the_variable_and_the_choices(monkeypatch, name):
    monkeypatch.setenv(ENV, name)
    message = (
        rf"LRNET_KERNELS='{name}' is not a kernel set; expected 'auto' or one of "
        r"\['numba', 'numpy'\]"
    )
    with pytest.raises(ValueError, match=message):
        resolve()
    with pytest.raises(ValueError, match=r"Unset LRNET_KERNELS, or set it to 'numpy'"):
        resolve()
    monkeypatch.delenv(ENV)
    with pytest.raises(ValueError, match=message):
        resolve(name)


def test_an_unknown_set_fails_the_fit_with_the_same_message(monkeypatch):
    monkeypatch.setenv(ENV, "fast")
    with pytest.raises(ValueError, match=r"LRNET_KERNELS='fast' is not a kernel set"):
        LRNClassifier((4,), max_iter=2).fit(X, y)


def test_auto_skips_a_set_that_cannot_load(monkeypatch):
    def unavailable():
        raise ImportError("no compiler here")

    monkeypatch.setattr(kernels, "SETS", {"compiled": unavailable, "numpy": kernels._numpy})
    monkeypatch.delenv(ENV, raising=False)
    assert resolve() is NUMPY
    assert resolve("auto", work=kernels.AUTO_MIN_WORK) is NUMPY


def _unavailable():
    raise ImportError("numba is not installed here")


def test_naming_a_set_that_cannot_load_says_how_to_fix_it(monkeypatch):
    monkeypatch.setitem(kernels.SETS, "numba", _unavailable)
    monkeypatch.setenv(ENV, "numba")
    with pytest.raises(ImportError, match=r"LRNET_KERNELS='numba', but that kernel set cannot"):
        resolve()
    with pytest.raises(ImportError, match=r"pip install numba\), or set LRNET_KERNELS=auto"):
        resolve()
    monkeypatch.setenv(ENV, "auto")
    assert resolve(work=kernels.AUTO_MIN_WORK) is NUMPY


def test_a_broken_numba_counts_as_missing(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "lrnet.kernels.numba_", None)  # import fails
    assert kernels._numba is kernels.SETS["numba"]
    with pytest.raises(ImportError):
        kernels._numba()
    monkeypatch.delenv(ENV, raising=False)
    assert resolve(work=kernels.AUTO_MIN_WORK) is NUMPY


def test_the_argument_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(ENV, "bogus")
    assert resolve("numpy") is NUMPY


@pytest.mark.parametrize("forced_set", ["numba", "numpy"])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lion", "lbfgs"])
def test_a_fit_under_a_named_set_is_bit_identical_to_that_set_as_default(
    monkeypatch, solver, forced_set
):
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=6, random_state=0)
    monkeypatch.delenv(ENV, raising=False)
    if forced_set == "numpy":  # the default when numba cannot load
        monkeypatch.setitem(kernels.SETS, "numba", _unavailable)
    default = quiet_fit(LRNClassifier(**params), X, y)
    monkeypatch.setenv(ENV, forced_set)
    monkeypatch.setitem(kernels.SETS, "numba", kernels._numba)
    forced = quiet_fit(LRNClassifier(**params), X, y)
    mine, theirs = default.coefs_ + default.intercepts_, forced.coefs_ + forced.intercepts_
    for a, b in zip(mine, theirs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert default.loss_curve_ == forced.loss_curve_


def test_the_reference_set_serves_the_registries():
    assert dict(NUMPY.activations) == ACTIVATIONS
    assert set(NUMPY.cross_entropy) == {"logistic", "softmax"}
    assert NUMPY.update("adam", adam.update) is adam.update
    assert NUMPY.activation("tanh") is ACTIVATIONS["tanh"]
    custom = Activation("custom", ACTIVATIONS["tanh"].forward, ACTIVATIONS["tanh"].backward)
    assert NUMPY.activation(custom) is custom


# ------------------------------------------------------------------ spies
class Counting:
    """Wraps ``body`` and counts its calls."""

    def __init__(self, body):
        self.body, self.calls = body, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.body(*args, **kwargs)


def spy_set(updates=(), activations=(), cross_entropy=()):
    """The reference set with some bodies replaced."""
    return Kernels(
        name="spy",
        activations=MappingProxyType({**NUMPY.activations, **dict(activations)}),
        cross_entropy=MappingProxyType({**NUMPY.cross_entropy, **dict(cross_entropy)}),
        updates=MappingProxyType(dict(updates)),
    )


#: solver -> (module whose update a kernel set replaces, its reference body)
UPDATES = {
    "sgd": ("sgd", sgd.update),
    "adam": ("adam", adam.update),
    "adamw": ("adam", adam.update),
    "lion": ("lion", lion.update),
}


def loop(kernel_set, solver, epochs=3, batch_size=10):
    """A small fit through ``training.fit_loop`` with ``kernel_set``; (params, state)."""
    Y = np.eye(3)[y]
    layout = Layout((4, 5, 3))
    net = Net(layout, "tanh", "softmax", kernel_set)
    params = init_flat(layout, "tanh", np.random.default_rng(0), np.float64)
    config = training.Config(
        solver=solver, learning_rate_init=0.01, batch_size=batch_size, max_iter=epochs
    )
    optimizer = training.make_optimizer(config, kernel_set)
    state = training.init_state(config, params, optimizer)
    source = ArraySource(X, Y, None, batch_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        training.fit_loop(
            net, params, source, config, state, np.random.default_rng(1), epochs, optimizer
        )
    return params, state


@pytest.mark.parametrize("solver", list(UPDATES))
def test_the_optimizer_takes_its_update_from_the_kernel_set(solver):
    module, reference = UPDATES[solver]
    spy = Counting(reference)
    params, state = loop(spy_set(updates={module: spy}), solver)
    assert state.step == 3 * 5
    assert spy.calls == state.step
    reference_params, _ = loop(NUMPY, solver)
    np.testing.assert_array_equal(params, reference_params)


@pytest.mark.parametrize("solver", list(UPDATES))
def test_an_update_for_another_optimizer_is_not_used(solver):
    module, _ = UPDATES[solver]
    others = {m: Counting(body) for m, body in UPDATES.values() if m != module}
    loop(spy_set(updates=others), solver, epochs=1)
    assert all(spy.calls == 0 for spy in others.values())


def test_make_optimizer_binds_the_sets_body_once_per_step():
    spy = Counting(adam.update)
    config = training.Config(solver="adam", learning_rate_init=0.1)
    optimizer = training.make_optimizer(config, spy_set(updates={"adam": spy}))
    params = np.ones(6)
    state = optimizer.init(params)
    for n in range(1, 4):
        state = optimizer.update(params, np.full(6, 0.5), state, 0.1)
        assert spy.calls == n and state.count == n


@pytest.mark.parametrize("out_kind, k", [("softmax", 3), ("logistic", 2)])
def test_net_takes_cross_entropy_and_activation_from_the_set(out_kind, k):
    loss_spy = Counting(NUMPY.cross_entropy[out_kind])
    tanh = ACTIVATIONS["tanh"]
    forward, backward = Counting(tanh.forward), Counting(tanh.backward)
    spies = spy_set(
        activations={"tanh": Activation("tanh", forward, backward)},
        cross_entropy={out_kind: loss_spy},
    )
    layout = Layout((4, 5, 3, k))
    net = Net(layout, "tanh", out_kind, spies)
    reference = Net(layout, "tanh", out_kind, NUMPY)
    assert net.kernels is spies and net.cross_entropy is loss_spy and net.act.forward is forward
    assert net == reference  # the kernel set is not part of the network's identity

    params = np.random.default_rng(1).uniform(-1, 1, layout.size)
    Y = (np.eye(3)[y] if out_kind == "softmax" else np.eye(2)[y % 2]).astype(float)
    g1, g2 = np.empty_like(params), np.empty_like(params)
    l1 = value_and_grad(net, params, g1, X, Y, None, 0.1, net.workspace(50, "f8"))
    l2 = value_and_grad(reference, params, g2, X, Y, None, 0.1, reference.workspace(50, "f8"))
    assert loss_spy.calls == 1
    assert forward.calls == 2 and backward.calls == 2  # two hidden layers
    assert l1 == l2
    np.testing.assert_array_equal(g1, g2)


def test_the_estimator_trains_with_the_set_that_resolve_returns(monkeypatch):
    update = Counting(adam.update)
    loss = Counting(NUMPY.cross_entropy["softmax"])
    monkeypatch.setitem(
        kernels.SETS,
        "spy",
        lambda: spy_set(updates={"adam": update}, cross_entropy={"softmax": loss}),
    )
    monkeypatch.setenv(ENV, "spy")
    clf = quiet_fit(LRNClassifier((5,), max_iter=3, batch_size=10, random_state=0), X, y)
    assert clf._state.step == 15
    assert update.calls == 15 and loss.calls == 15
