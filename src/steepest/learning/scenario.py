"""``[learning]`` scenarios: a model on a bundled dataset, an optimiser, and its flow beside it.

```toml
title = "edge of stability on digits"
[learning]                 # the loss: data and model
data = "digits"            # digits, iris, wine, breast_cancer
n = 256                    # keep the first n examples (after a seeded shuffle)
scaling = "center"         # standard, center, none
model = "mlp"              # mlp, logistic, least-squares
hidden = [16]
activation = "tanh"
loss = "mse"               # mse or cross-entropy (mlp)
[train]
optimizer = "gd"           # gd, heavy-ball, nesterov, proximal, natural, sgd, adam
step = [0.6, 0.5]          # one run per step size
steps = 4000
every = 40
flow = true                # the exact flow (or, for momentum methods, their ODE) beside it
sharpness = true           # λ_max along both (Lanczos)
[output]
dir = "runs/eos"
plot = true
```

``run_cli`` writes ``summary.json`` (``"kind": "learning"``, the curvature report at the start,
one record per run, and ``"checks"``: invariants computed in the run), one NetCDF file per run
and the figures ``training.png`` and ``slice.png``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from .._core.errors import ScenarioError
from ..scenario.schema import _finite, check_keys, read, set_override

TOP = {
    "title": "str",
    "description": "str",
    "learning": "table",
    "train": "table",
    "output": "table",
}
LEARNING = {
    "data": "str",
    "n": "int",
    "classes": "list[int]",
    "scaling": "str",
    "model": "str",
    "hidden": "list[int]",
    "activation": "str",
    "loss": "str",
    "l2": "float",
    "seed": "int",
}
TRAIN = {
    "optimizer": "str",
    "step": "float",
    "steps": "int",
    "every": "int",
    "momentum": "float",
    "batch_size": "int",
    "damping": "float",
    "flow": "bool",
    "flow_method": "str",
    "rtol": "float",
    "atol": "float",
    "sharpness": "bool",
    "lanczos_iters": "int",
}
OUTPUT = {"dir": "str", "plot": "bool"}
OPTIMIZERS = ("gd", "heavy-ball", "nesterov", "proximal", "natural", "sgd", "adam")
MODELS = ("mlp", "logistic", "least-squares")


def load_scenario(path: str | Path, set_: list[str] | None = None) -> dict[str, Any]:
    """Read, override and validate a ``[learning]`` scenario; return it as plain dicts."""
    data = read(path)
    for s in set_ or []:
        set_override(data, s)
    check_keys("", data, TOP)
    lr = data.get("learning") or {}
    check_keys("learning", lr, LEARNING)
    tr = dict(data.get("train", {}))
    steps_given = tr.get("step", 0.1)
    if isinstance(steps_given, list):  # several step sizes: one run each
        if not steps_given:
            raise ScenarioError("train.step: the list of step sizes is empty.", key="train.step")
        for i, v in enumerate(steps_given):
            check_keys("train", {"step": v}, TRAIN)
            _finite(v, f"train.step[{i}]")
        tr.pop("step")
    check_keys("train", tr, TRAIN)
    check_keys("output", data.get("output", {}), OUTPUT)
    _finite(dict(data), "scenario")
    if "data" not in lr:
        raise ScenarioError(
            'learning.data: the scenario names no dataset; add e.g. learning.data = "digits".',
            key="learning.data",
        )
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    out["train"] = {**tr, "step": steps_given if isinstance(steps_given, list) else [steps_given]}
    opt = out["train"].get("optimizer", "gd")
    if opt not in OPTIMIZERS:
        raise ScenarioError(
            f"train.optimizer: unknown optimiser {opt!r}; choose one of {', '.join(OPTIMIZERS)}.",
            key="train.optimizer",
        )
    return out


def build_loss(lr: dict[str, Any]):
    """The TrainingLoss of a ``[learning]`` table."""
    from . import data as data_mod
    from . import losses

    kw: dict[str, Any] = {k: lr[k] for k in ("n", "classes", "scaling") if k in lr}
    if "seed" in lr:
        kw["seed"] = lr["seed"]
    ds = data_mod.load(lr["data"], **kw)
    model = lr.get("model", "mlp")
    l2 = lr.get("l2", 0.0)
    if model == "mlp":
        return losses.mlp(
            ds,
            tuple(lr.get("hidden", [32])),
            activation=lr.get("activation", "tanh"),
            loss=lr.get("loss", "mse"),
            l2=l2,
            seed=lr.get("seed", 0),
        )
    extra = set(lr) & {"hidden", "activation", "loss"}
    if extra:
        k = sorted(extra)[0]
        raise ScenarioError(
            f"learning.{k}: only model = 'mlp' takes {k}; remove it for model = {model!r}.",
            key=f"learning.{k}",
        )
    if model == "logistic":
        return losses.logistic_regression(ds, l2=l2)
    if model == "least-squares":
        return losses.least_squares(ds, l2=l2)
    raise ScenarioError(
        f"learning.model: unknown model {model!r}; choose one of {', '.join(MODELS)}.",
        key="learning.model",
    )


def _run_one(loss, tr: dict[str, Any], h: float, steps: int) -> tuple[Any, Any]:
    """(the discrete Solution, the Trajectories beside its continuous limit or None)."""
    from . import momentum, natural, optimizers, trajectories
    from .sgd import sgd as run_sgd

    opt = tr.get("optimizer", "gd")
    every = tr.get("every")
    beta = tr.get("momentum", 0.9)
    metric = None
    if opt == "gd":
        sol = trajectories.gradient_descent(loss, h, steps, every=every)
    elif opt == "natural":
        metric = natural.fisher_metric(loss, tr.get("damping", 1e-4))
        sol = trajectories.gradient_descent(loss, h, steps, every=every, metric=metric)
    elif opt == "proximal":
        sol = trajectories.proximal_point(loss, h, steps, every=every)
    elif opt == "heavy-ball":
        sol = momentum.heavy_ball(loss, h, beta, steps, every=every)
    elif opt == "nesterov":
        b = tr.get("momentum")
        sol = momentum.nesterov(loss, h, steps, beta=b, every=every)
    elif opt == "sgd":
        if "batch_size" not in tr:
            raise ScenarioError(
                "train.batch_size: optimizer = 'sgd' needs a batch size, e.g. batch_size = 32.",
                key="train.batch_size",
            )
        sol = run_sgd(loss, h, steps, batch_size=tr["batch_size"], every=every)
    else:
        import optax

        sol = optimizers.run_optax(loss, optax.adam(h), steps, lr=h, every=every, name="adam")
    sol.settings.setdefault("every", trajectories.save_every(steps, every))
    if not tr.get("flow", True):
        return sol, None
    fm = trajectories.check_flow_method(tr.get("flow_method", "auto"))
    kw = dict(rtol=tr.get("rtol", 1e-8), atol=tr.get("atol", 1e-10))
    sharp = tr.get("sharpness", True)
    iters = tr.get("lanczos_iters", 20)
    if opt in ("heavy-ball", "nesterov"):  # beside their own ODE, at t = k√h
        T = float(sol.t[-1])
        if opt == "heavy-ball":
            ode = momentum.heavy_ball_ode(loss, (1 - beta) / math.sqrt(h), T, n_save=sol.t.size)
        else:
            ode = momentum.nesterov_ode(loss, T, n_save=sol.t.size)
        s_gd = s_fl = r_gd = r_fl = None
        if sharp:
            from .sharpness import sharpness_along

            s_gd, r_gd = sharpness_along(loss, sol.x, iters)
            s_fl, r_fl = sharpness_along(loss, ode.x, iters)
        every_k = int(sol.settings["every"])
        return sol, trajectories.Trajectories(h, steps, every_k, sol, ode, s_gd, s_fl, r_gd, r_fl)
    t = trajectories.beside_flow(
        loss, sol, h=h, flow_method=fm, metric=metric, sharpness=sharp, lanczos_iters=iters, **kw
    )
    return sol, t


def run(sc: dict[str, Any], *, t1: float | None = None) -> dict[str, Any]:
    """Run a validated scenario; return the summary (with the results under ``"_runs"``)."""
    from .diagnose import diagnose

    loss = build_loss(sc["learning"])
    tr = sc["train"]
    hs = [float(v) for v in tr["step"]]
    steps = tr.get("steps", 1000)
    if t1 is not None:
        steps = max(1, int(round(float(t1) / hs[0])))
        tr = {**tr}
        tr.pop("every", None)
    diag = diagnose(loss, h=hs[0])
    records, results, checks = [], [], {}
    for h in hs:
        sol, traj = _run_one(loss, tr, h, steps)
        rec: dict[str, Any] = {
            "optimizer": tr.get("optimizer", "gd"),
            "h": h,
            "h_lam_max_at_start": h * diag.curvature.lam_max,
            "steps": int(np.asarray(sol.steps)),
            "status": str(sol.status),
            "loss_initial": float(sol.energy[0]),
            "loss_final": float(sol.energy[-1]),
            "grad_norm_final": float(sol.grad_norm[-1]),
            "accuracy_final": loss.accuracy(sol.x[-1]),
        }
        tag = f"h={h:g}"
        checks[f"finite_{tag}"] = str(sol.status) == "done" and bool(np.isfinite(sol.energy).all())
        if traj is not None:
            rec["distance_final"] = float(traj.distance[-1])
            rec["flow_loss_final"] = float(traj.loss_flow[-1])
            checks[f"starts_on_the_flow_{tag}"] = bool(traj.distance[0] == 0.0)
            if "mechanical_energy" in traj.flow.stats:
                mech = traj.flow.stats["mechanical_energy"]
                scale = 1e-10 * (abs(mech[0]) + 1e-300)
                checks[f"ode_mechanical_energy_non_increasing_{tag}"] = bool(
                    np.all(np.diff(mech) <= scale)
                )
            else:
                checks[f"flow_loss_non_increasing_{tag}"] = bool(
                    traj.flow.dissipation_ok and str(traj.flow.status) == "done"
                )
            if traj.sharpness_gd is not None:
                rel = np.concatenate(
                    [traj.residual_gd / traj.sharpness_gd, traj.residual_flow / traj.sharpness_flow]
                )
                checks[f"sharpness_certified_1e-2_{tag}"] = bool(np.all(np.abs(rel) < 1e-2))
                rec["sharpness_final"] = float(traj.sharpness_gd[-1])
                rec["flow_sharpness_final"] = float(traj.sharpness_flow[-1])
                if rec["optimizer"] == "gd":
                    e = traj.edge_of_stability()
                    rec["edge_of_stability"] = e
                    if e.get("rose"):
                        checks[f"sharpness_plateau_within_5pct_of_2_over_h_{tag}"] = bool(
                            e["plateau_rel_dev"] < 0.05
                        )
        model = loss.model.get("kind")
        if rec["optimizer"] == "gd" and model in ("logistic", "least-squares"):
            # convex with λ_max largest at θ = 0 (logistic: p(1 − p) ≤ 1/4; least squares: a
            # constant Hessian), so h < 2/λ_max(θ₀) lowers the loss at every step
            if h * diag.curvature.lam_max < 2.0:
                checks[f"gd_loss_non_increasing_below_2_over_L_{tag}"] = bool(
                    np.all(np.diff(sol.energy) <= 1e-14 * abs(sol.energy[0]))
                )
        if rec["optimizer"] == "proximal" and diag.curvature.convex:
            checks[f"proximal_loss_non_increasing_{tag}"] = bool(sol.dissipation_ok)
        records.append(rec)
        results.append((h, sol, traj))
    return {
        "kind": "learning",
        "title": sc.get("title", "learning"),
        "loss": loss.describe(),
        "diagnosis": diag.to_dict(),
        "report": str(diag),
        "runs": records,
        "checks": checks,
        "_runs": results,
        "_loss": loss,
    }


def _json(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, float) and not math.isfinite(o):
        return str(o)
    return str(o)


def write(summary: dict[str, Any], out_dir: Path, *, plot: bool = True) -> list[str]:
    """Write the NetCDF files, the figures and ``summary.json``; return the file names."""
    files = []
    results = summary["_runs"]
    loss = summary["_loss"]
    for i, (_h, sol, traj) in enumerate(results):
        name = f"run-{i}.nc"
        ds = traj.to_xarray() if traj is not None else sol.to_xarray()
        ds.to_netcdf(out_dir / name, engine="h5netcdf")
        files.append(name)
    if plot:
        import matplotlib.pyplot as plt

        from ..plot.learning import landscape_slice, training_figure

        trajs = [t for _, _, t in results if t is not None]
        if trajs:
            fig = training_figure(trajs, title=summary["title"])
            fig.savefig(out_dir / "training.png", dpi=100)
            plt.close(fig)
            files.append("training.png")
            fig, ax = plt.subplots(figsize=(5.5, 4.5))
            landscape_slice(loss, [trajs[0].gd, trajs[0].flow], ax=ax, labels=["discrete", "flow"])
            ax.set_title("loss on the plane of both trajectories")
            fig.tight_layout()
            fig.savefig(out_dir / "slice.png", dpi=100)
            plt.close(fig)
            files.append("slice.png")
        else:
            fig, ax = plt.subplots(figsize=(5.5, 4))
            for h, sol, _ in results:
                ax.semilogy(sol.t, sol.energy, label=f"h = {h:g}")
            ax.set_xlabel("t")
            ax.set_ylabel("loss")
            ax.legend()
            fig.tight_layout()
            fig.savefig(out_dir / "training.png", dpi=100)
            plt.close(fig)
            files.append("training.png")
    public = {k: v for k, v in summary.items() if not k.startswith("_")}
    (out_dir / "summary.json").write_text(json.dumps(public, indent=2, default=_json) + "\n")
    files.append("summary.json")
    return files


def run_cli(path, *, out=None, set_=None, t1=None, plot=True, as_json: bool = False) -> int:
    """``steepest run`` / ``steepest learn`` for a ``[learning]`` scenario: the exit code."""
    from rich.console import Console

    from .._core.errors import SteepestError
    from ..cli._console import fail

    t_start = time.perf_counter()
    try:
        sc = load_scenario(path, set_)
        out_dir = Path(out or sc.get("output", {}).get("dir") or Path("runs") / Path(path).stem)
        out_dir.mkdir(parents=True, exist_ok=True)
        summary = run(sc, t1=t1)
    except OSError as err:
        fail(f"--out: cannot create the output directory: {err.strerror}.")
    except SteepestError as err:
        fail(str(err))
    code = 0 if all(summary["checks"].values()) else 1
    summary["exit_code"] = code
    files = write(summary, out_dir, plot=plot and sc.get("output", {}).get("plot", True))
    if as_json:
        public = {k: v for k, v in summary.items() if not k.startswith("_")}
        print(json.dumps(public, default=_json))
        return code
    console = Console()
    console.print(f"[bold]{summary['title']}[/]", highlight=False)
    console.print(summary["report"], highlight=False, soft_wrap=True)
    for r in summary["runs"]:
        extra = ""
        e = r.get("edge_of_stability")
        if e and e.get("reached"):
            extra = (
                f"; sharpness plateau {e['plateau_mean']:.4g} vs 2/h = {e['two_over_h']:.4g} "
                f"(max deviation {100 * e['plateau_rel_dev']:.2g}%), flow at the end "
                f"{e['flow_final']:.4g}"
            )
        console.print(
            f"{r['optimizer']} h = {r['h']:g}: loss {r['loss_initial']:.4g} → {r['loss_final']:.4g}"
            f" in {r['steps']} steps ({r['status']}), accuracy {r['accuracy_final']:.3f}"
            + (f", |θ − θ_flow| = {r['distance_final']:.3g}" if "distance_final" in r else "")
            + extra,
            highlight=False,
        )
    bad = [k for k, v in summary["checks"].items() if not v]
    console.print(
        ("checks: all hold" if not bad else f"[bold red]checks failed:[/] {', '.join(bad)}")
        + f"; wrote {', '.join(files)} to {out_dir}/ in {time.perf_counter() - t_start:.1f} s",
        highlight=False,
    )
    return code
