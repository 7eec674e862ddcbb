"""Learning-rate schedules: every per-step schedule against torch.optim.lr_scheduler."""

import numpy as np
import pytest

from conftest import quiet_fit
from lrnet import LRNClassifier
from lrnet.optim.schedules import cosine_lr, onecycle_lr


# ---------------------------------------------------------------- schedules vs torch
def torch_lrs(make_scheduler, total, lr0):
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr0)
    sched = make_scheduler(torch, opt)
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


@pytest.mark.parametrize("total", [10, 37])
def test_cosine_matches_torch(total):
    lr0 = 0.1
    ref = torch_lrs(lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total), total, lr0)
    ours = [cosine_lr(s, total, lr0) for s in range(total)]
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-12)


def test_cosine_warmup_matches_torch_linear_then_cosine():
    total, lr0, frac = 40, 0.05, 0.25
    warm = round(frac * total)

    def make(t, o):
        lin = t.optim.lr_scheduler.LinearLR(o, start_factor=1 / warm, total_iters=warm - 1)
        cos = t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total - warm)
        return t.optim.lr_scheduler.SequentialLR(o, [lin, cos], milestones=[warm])

    ref = torch_lrs(make, total, lr0)
    ours = [cosine_lr(s, total, lr0, frac) for s in range(total)]
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("frac", [0.0, 0.4])
def test_onecycle_matches_torch(frac):
    total, lr0 = 50, 0.2
    pct = frac or 0.3

    def make(t, o):
        return t.optim.lr_scheduler.OneCycleLR(
            o, max_lr=lr0, total_steps=total, pct_start=pct, cycle_momentum=False
        )

    ref = torch_lrs(make, total, lr0)
    ours = [onecycle_lr(s, total, lr0, frac) for s in range(total)]
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("schedule", ["cosine", "onecycle"])
def test_step_schedules_drive_training(iris, schedule):
    X, y = iris
    est = quiet_fit(
        LRNClassifier(
            (8,),
            learning_rate=schedule,
            max_iter=20,
            batch_size=50,
            random_state=0,
            learning_rate_init=0.05,
            tol=0,
        ),
        X,
        y,
    )
    lrs = [h["learning_rate"] for h in est.history_]
    # the history records the rate of each epoch's first step
    steps_per_epoch = 3
    fn = cosine_lr if schedule == "cosine" else onecycle_lr
    expected = [fn(e * steps_per_epoch, 20 * steps_per_epoch, 0.05) for e in range(20)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)


def test_invscaling_now_applies_to_adam(iris):
    X, y = iris
    est = quiet_fit(
        LRNClassifier((8,), learning_rate="invscaling", max_iter=3, random_state=0, tol=0),
        X,
        y,
    )
    lrs = [h["learning_rate"] for h in est.history_]
    n = X.shape[0]
    assert lrs == pytest.approx([1e-3, 1e-3 / (n + 1) ** 0.5, 1e-3 / (2 * n + 1) ** 0.5])
