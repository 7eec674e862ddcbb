"""An activation whose derivative needs Z (``needs_z=True``): exact GELU, plugged in.

GELU(z) = z Phi(z), GELU'(z) = Phi(z) + z phi(z): the derivative cannot be written from
the output alone, so the workspace must keep the pre-activations.
"""

import math

import numpy as np
import pytest
from scipy.special import ndtr

import lrnet.activations
from lrnet.activations import Activation
from lrnet.layout import Workspace
from lrnet.network import Layout, Net, predict_logits, value_and_grad

NAME = "gelu_exact"


def gelu(Z):
    """Z <- Z Phi(Z), in place."""
    np.multiply(Z, ndtr(Z), out=Z)


def gelu_backward(Z, delta):
    """delta <- delta (Phi(Z) + Z phi(Z)), from the pre-activation Z."""
    delta *= ndtr(Z) + Z * np.exp(-0.5 * Z * Z) / math.sqrt(2.0 * math.pi)


GELU = Activation(NAME, gelu, gelu_backward, needs_z=True)


@pytest.fixture
def gelu_registered(monkeypatch):
    """GELU in the registry for this test only."""
    monkeypatch.setitem(lrnet.activations.ACTIVATIONS, NAME, GELU)
    return NAME


def make(hidden, out_kind, k, dropout, seed=0, m=11, activation=NAME):
    rng = np.random.default_rng(seed)
    layout = Layout((4, *hidden, k))
    net = Net(layout, activation, out_kind)
    params = rng.uniform(-1.5, 1.5, layout.size)
    X = rng.standard_normal((m, 4))
    if out_kind == "softmax":
        Y = np.eye(k)[rng.integers(k, size=m)]
    else:
        Y = rng.integers(2, size=(m, k)).astype(float)
    sw = rng.uniform(0.5, 2.0, m)
    rates = [0.4] * len(hidden) if dropout else None
    work = net.workspace(m, np.float64, rates)
    masks = [mask.copy() for mask in work.draw_masks(rng, rates)] if dropout else None
    return net, params, X, Y, sw, work, masks


def objective(net, X, Y, sw, work, masks, alpha=0.3):
    def f(p):
        grads = np.empty_like(p)
        return value_and_grad(net, p, grads, X, Y, sw, alpha, work, masks), grads

    return f


def finite_differences(f, params, h=1e-6):
    num = np.empty_like(params)
    for i in range(params.size):
        e = np.zeros_like(params)
        e[i] = h
        num[i] = (f(params + e)[0] - f(params - e)[0]) / (2 * h)
    return num


CASES = [
    pytest.param((5,), "softmax", 3, id="1-hidden-softmax"),
    pytest.param((5,), "logistic", 1, id="1-hidden-binary"),
    pytest.param((5, 3), "softmax", 3, id="2-hidden-softmax"),
    pytest.param((5, 3), "logistic", 2, id="2-hidden-multilabel"),
]


def test_gelu_body_is_exact_gelu():
    Z = np.array([[-3.0, -0.5, 0.0, 0.7, 2.5]])
    expected = Z * 0.5 * (1.0 + np.vectorize(math.erf)(Z / math.sqrt(2.0)))
    out = Z.copy()
    gelu(out)
    np.testing.assert_allclose(out, expected, rtol=1e-14)


@pytest.mark.parametrize("dropout", [False, True], ids=["no-dropout", "dropout"])
def test_workspace_keeps_the_pre_activations(gelu_registered, dropout):
    net = Net(Layout((4, 5, 3, 2)), gelu_registered, "logistic")
    assert net.act is GELU and net.act.needs_z
    work = net.workspace(7, np.float32, [0.2, 0.2] if dropout else None)
    assert [p.shape for p in work.pre] == [(7, 5), (7, 3)]
    assert all(p.dtype == np.float32 for p in work.pre)
    assert [p.shape for p in work.rows(4).pre] == [(4, 5), (4, 3)]
    tanh = Net(Layout((4, 5, 3, 2)), "tanh", "logistic").workspace(7, np.float32)
    assert tanh.pre == [None, None]


def test_forward_stores_z_before_the_activation(gelu_registered):
    net, params, X, Y, sw, work, _ = make((5, 3), "softmax", 3, False)
    value_and_grad(net, params, np.empty_like(params), X, Y, sw, 0.0, work)
    coefs, intercepts = net.layout.views(params)
    Z1 = X @ coefs[0] + intercepts[0]
    A1 = Z1 * ndtr(Z1)
    Z2 = A1 @ coefs[1] + intercepts[1]
    # gelu_backward reads Z without overwriting it, so pre still holds both layers' Z
    np.testing.assert_allclose(work.pre[0], Z1, rtol=1e-12)
    np.testing.assert_allclose(work.pre[1], Z2, rtol=1e-12)
    np.testing.assert_allclose(work.acts[0], A1, rtol=1e-12)
    logits = predict_logits(coefs, intercepts, X, gelu_registered)
    np.testing.assert_allclose(work.acts[-1], logits, rtol=1e-12)


@pytest.mark.parametrize("dropout", [False, True], ids=["no-dropout", "dropout"])
@pytest.mark.parametrize("hidden, out_kind, k", CASES)
def test_gradient_matches_finite_differences(gelu_registered, hidden, out_kind, k, dropout):
    net, params, X, Y, sw, work, masks = make(hidden, out_kind, k, dropout)
    f = objective(net, X, Y, sw, work, masks)
    _, grads = f(params)
    np.testing.assert_allclose(grads, finite_differences(f, params), rtol=1e-6, atol=1e-9)


def test_without_needs_z_the_gradient_is_wrong(monkeypatch):
    """The flag matters: fed the output A instead of Z, GELU's derivative is off."""
    wrong = Activation(NAME, gelu, gelu_backward, needs_z=False)
    monkeypatch.setitem(lrnet.activations.ACTIVATIONS, NAME, wrong)
    net, params, X, Y, sw, work, masks = make((5,), "softmax", 3, False)
    assert work.pre == [None]
    f = objective(net, X, Y, sw, work, masks)
    _, grads = f(params)
    assert not np.allclose(grads, finite_differences(f, params), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("dropout", [False, True], ids=["no-dropout", "dropout"])
@pytest.mark.parametrize("hidden, out_kind, k", CASES)
def test_gradient_matches_torch_autograd(gelu_registered, hidden, out_kind, k, dropout):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    net, params, X, Y, sw, work, masks = make(hidden, out_kind, k, dropout, seed=3)
    alpha = 0.3
    loss, grads = objective(net, X, Y, sw, work, masks, alpha)(params)

    p = torch.tensor(params, dtype=torch.float64, requires_grad=True)
    coefs, intercepts = net.layout.views(p)  # torch views share p's autograd graph
    A = torch.from_numpy(X)
    for layer, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        A = A @ W + b
        if layer < len(coefs) - 1:
            A = F.gelu(A, approximate="none")
            if masks is not None:
                A = A * torch.from_numpy(masks[layer])
    Yt, w = torch.from_numpy(Y), torch.from_numpy(sw)
    if out_kind == "softmax":
        per_row = torch.logsumexp(A, dim=1) - (Yt * A).sum(dim=1)
    else:
        per_row = (F.softplus(A) - Yt * A).sum(dim=1)
    penalty = sum((W * W).sum() for W in coefs)
    total = (w * per_row).sum() / w.sum() + 0.5 * alpha * penalty / w.sum()
    total.backward()

    assert loss == pytest.approx(total.item(), rel=1e-10)
    np.testing.assert_allclose(grads, p.grad.numpy(), rtol=1e-6, atol=1e-12)


def test_layout_views_work_on_torch_tensors():
    """The torch twin above relies on ``Layout.views`` slicing a tensor into views."""
    torch = pytest.importorskip("torch")
    layout = Layout((2, 3, 1))
    coefs, intercepts = layout.views(torch.arange(float(layout.size)))
    assert [tuple(W.shape) for W in coefs] == [(2, 3), (3, 1)]
    assert [tuple(b.shape) for b in intercepts] == [(3,), (1,)]
    assert float(intercepts[-1][0]) == layout.size - 1


def test_registry_is_left_as_it_was():
    assert NAME not in lrnet.activations.ACTIVATIONS
    ws = Workspace(Layout((2, 3, 1)), 4, np.float64)
    assert ws.pre == [None]
