"""The same network, objective and optimizers in PyTorch autograd, in float64.

Forward probabilities and gradients of :func:`lrnet.network.value_and_grad`, and 20
steps of :mod:`lrnet.optim.sgd` / :mod:`lrnet.optim.adam` against ``torch.optim``.
"""

import numpy as np
import pytest

from lrnet.activations import ACTIVATIONS, LEAKY_SLOPE
from lrnet.losses import probabilities_
from lrnet.network import predict_logits
from lrnet.optim import adam, sgd

torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH_ACTIVATIONS = {
    "identity": lambda z: z,
    "logistic": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, LEAKY_SLOPE),
}
N_STEPS = 20


@pytest.fixture(autouse=True, params=["numpy", "numba"])
def kernel_set(request, monkeypatch):
    """Every check runs under both kernel sets (``LRNET_KERNELS``; see lrnet.kernels)."""
    if request.param == "numba":
        pytest.importorskip("numba")
    monkeypatch.setenv("LRNET_KERNELS", request.param)
    return request.param


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_every_activation_has_a_torch_twin():
    assert set(TORCH_ACTIVATIONS) == set(ACTIVATIONS)


class TorchNet:
    """The problem's network and objective in torch, over one flat float64 tensor."""

    def __init__(self, problem):
        self.problem = problem
        self.X = torch.from_numpy(problem.X)
        self.Y = torch.from_numpy(problem.Y)
        sw = problem.sample_weight
        self.sw = (
            torch.ones(problem.X.shape[0], dtype=torch.float64)
            if sw is None
            else (torch.from_numpy(sw))
        )
        self.params = torch.tensor(problem.params, dtype=torch.float64, requires_grad=True)

    def logits(self):
        layout = self.problem.net.layout
        f = TORCH_ACTIVATIONS[self.problem.net.activation]
        coefs, intercepts = layout.views(self.params)  # slicing works on tensors too
        A = self.X
        for i, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
            A = A @ W + b
            if i < len(coefs) - 1:
                A = f(A)
        return A

    def probabilities(self):
        Z = self.logits()
        return (
            torch.softmax(Z, dim=1)
            if self.problem.net.out_kind == "softmax"
            else (torch.sigmoid(Z))
        )

    def objective(self):
        Z = self.logits()
        if self.problem.net.out_kind == "softmax":
            per_row = -(self.Y * torch.log_softmax(Z, dim=1)).sum(dim=1)
        else:
            per_row = F.binary_cross_entropy_with_logits(Z, self.Y, reduction="none").sum(dim=1)
        W = self.params[: self.problem.net.layout.n_coef]
        total = self.sw.sum()
        return (self.sw * per_row).sum() / total + 0.5 * self.problem.alpha * (W @ W) / total


@pytest.mark.parametrize("hidden", [(), (6,), (5, 4)], ids=["h0", "h1", "h2"])
@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_probabilities_match_torch(problem_factory, activation, output, hidden):
    problem = problem_factory(activation, output, hidden)
    coefs, intercepts = problem.net.layout.views(problem.params)
    P = probabilities_(
        predict_logits(coefs, intercepts, problem.X, activation), problem.net.out_kind
    )
    expected = TorchNet(problem).probabilities().detach().numpy()
    np.testing.assert_allclose(P, expected, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 0.5])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("hidden", [(), (6,), (5, 4)], ids=["h0", "h1", "h2"])
@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_value_and_grad_match_autograd(
    problem_factory, activation, output, hidden, weighted, alpha
):
    problem = problem_factory(activation, output, hidden, weighted, alpha)
    loss, grads = problem.value_and_grad()
    tnet = TorchNet(problem)
    objective = tnet.objective()
    objective.backward()
    assert loss == pytest.approx(objective.item(), rel=1e-6)
    np.testing.assert_allclose(grads, tnet.params.grad.numpy(), rtol=1e-6, atol=1e-12)


def run_lrnet(problem, opt, **kwargs):
    params = problem.params.copy()
    state = opt.init(params)
    # the kernel set's update body for this optimizer module (its own, or the module's)
    update = problem.net.kernels.update(opt.__name__.rsplit(".", 1)[-1], opt.update)
    for _ in range(N_STEPS):
        _, grads = problem.value_and_grad(params)
        state = update(params, grads, state, **kwargs)
    return params


def run_torch(problem, make_optimizer):
    tnet = TorchNet(problem)
    optimizer = make_optimizer([tnet.params])
    for _ in range(N_STEPS):
        optimizer.zero_grad()
        tnet.objective().backward()
        optimizer.step()
    return tnet.params.detach().numpy()


@pytest.mark.parametrize(
    ("momentum", "nesterov"),
    [(0.0, False), (0.9, False), (0.9, True), (0.5, True)],
    ids=["plain", "momentum", "nesterov", "nesterov-0.5"],
)
@pytest.mark.parametrize("output", ["binary", "multiclass"])
def test_sgd_matches_torch_sgd(problem_factory, output, momentum, nesterov):
    problem = problem_factory("tanh", output, (6,), weighted=True, alpha=0.1)
    lr = 0.2
    ours = run_lrnet(problem, sgd, lr=lr, momentum=momentum, nesterov=nesterov)
    theirs = run_torch(
        problem, lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum, nesterov=nesterov)
    )
    assert not np.allclose(ours, problem.params)  # it moved
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize(
    ("beta_1", "beta_2", "epsilon"),
    [(0.9, 0.999, 1e-8), (0.8, 0.99, 1e-3)],
    ids=["defaults", "large-eps"],
)
@pytest.mark.parametrize("output", ["binary", "multiclass", "multilabel"])
def test_adam_matches_torch_adam(problem_factory, output, beta_1, beta_2, epsilon):
    problem = problem_factory("relu", output, (6,), alpha=0.1)
    lr = 0.05
    ours = run_lrnet(problem, adam, lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    theirs = run_torch(
        problem,
        lambda p: torch.optim.Adam(p, lr=lr, betas=(beta_1, beta_2), eps=epsilon),
    )
    assert not np.allclose(ours, problem.params)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("weight_decay", [0.01, 0.5])
def test_adamw_matches_torch_adamw(problem_factory, weight_decay):
    problem = problem_factory("logistic", "multiclass", (6,), alpha=0.0)
    lr = 0.05
    ours = run_lrnet(problem, adam, lr=lr, weight_decay=weight_decay)
    theirs = run_torch(problem, lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=weight_decay))
    plain = run_lrnet(problem, adam, lr=lr)
    assert not np.allclose(ours, plain)  # the decay did something
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-10)
