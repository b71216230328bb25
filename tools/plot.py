#!/usr/bin/env python3
"""Plots of an rlae run file (docs/runlog.md), written as PNGs; works headless (MPLBACKEND=Agg).

    tools/plot.py RUN.h5 [RUN.h5 ...] [--out DIR] [--episodes N] [--seed S]

For each run file (named after the file's stem when several are given) it writes into DIR
(default: beside the first run file):
  <name>reward_accuracy.png     mean reward and accuracy per iteration
  <name>weights_by_span.png     mean weight of each member by span index
  <name>weight_trajectories.png each member's weight over the spans of N sampled episodes
  <name>weights_by_task.png     mean weight of each member per task, or task/subject where the
                                episodes have one (synthetic skill, MMLU subject): which member the
                                agent trusted for which kind of question
  <name>eval_accuracy.png       evaluation accuracy per task and method with confidence intervals
                                (the latest evaluation of each; only when /eval has rows)
Only committed rows are read (the last /iterations row), so a live run or one left by a killed run
plots consistently. Needs h5py and matplotlib (Debian: python3-h5py python3-matplotlib, installed by
tools/install-deps.sh --python). Exit codes: 0 ok, 1 missing packages or write failure, 2 a file
that is not an rlae run file.
"""
import argparse
import os
import sys

TABLES = ("episodes", "spans", "tokens", "text", "updates", "eval")


class NotARunFile(Exception):
    pass


def _s(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def open_run(h5py, path):
    if not os.path.isfile(path):
        raise NotARunFile(f"{path}: no such file")
    try:
        try:
            f = h5py.File(path, "r", swmr=True, libver="latest")
        except (OSError, ValueError):
            f = h5py.File(path, "r")
    except OSError as e:
        raise NotARunFile(f"{path}: not an HDF5 file HDF5 can open ({e})")
    meta = f.get("meta")
    if meta is None or _s(meta.attrs.get("format", b"")) != "rlae-runlog":
        f.close()
        raise NotARunFile(f"{path}: an HDF5 file, but not an rlae run file (no /meta format 'rlae-runlog')")
    if int(meta.attrs.get("schema_version", 0)) > 2:
        f.close()
        raise NotARunFile(f"{path}: run file schema {int(meta.attrs['schema_version'])}; this script reads 1 and 2")
    for t in TABLES + ("iterations",):
        if t not in f:
            f.close()
            raise NotARunFile(f"{path}: rlae run file without /{t}: the file is damaged")
    return f


def committed(f):
    """Rows of every table as of the last commit (the /iterations row with iteration >= 0)."""
    its = f["iterations"][:]
    valid = its[its["iteration"] >= 0] if len(its) else its
    if len(valid) == 0:
        return {t: 0 for t in TABLES}
    last = valid[-1]
    return {t: int(last["n_" + t]) for t in TABLES}


def plot_run(np, plt, f, out_prefix, n_sample, seed):
    written = []
    rows = committed(f)
    members = [_s(m) for m in f["meta"].attrs["member_names"]]
    K = len(members)
    ep = f["episodes"][: rows["episodes"]]
    sp = f["spans"][: rows["spans"]]

    # reward and accuracy per iteration
    fig, ax = plt.subplots(figsize=(7, 4))
    if len(ep):
        its = np.unique(ep["iteration"])
        rew = [ep["reward"][ep["iteration"] == i].mean() for i in its]
        acc = [ep["correct"][ep["iteration"] == i].mean() for i in its]
        ax.plot(its, rew, marker=".", label="mean reward")
        ax.plot(its, acc, marker=".", label="accuracy")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no committed episodes yet", ha="center", transform=ax.transAxes)
    ax.set_xlabel("iteration")
    ax.set_title("reward and accuracy over training")
    ax.grid(alpha=0.3)
    written.append(save(fig, plt, out_prefix + "reward_accuracy.png"))

    # mean weight per member by span index
    fig, ax = plt.subplots(figsize=(7, 4))
    if len(sp):
        ts = np.unique(sp["t"])
        w = sp["weights"].reshape(len(sp), K)
        for k in range(K):
            ax.plot(ts, [w[sp["t"] == t, k].mean() for t in ts], marker=".", label=members[k])
        ax.legend()
    ax.set_xlabel("span index")
    ax.set_ylabel("mean weight")
    ax.set_title("mean weight per member by span index")
    ax.grid(alpha=0.3)
    written.append(save(fig, plt, out_prefix + "weights_by_span.png"))

    # weight trajectories of sampled episodes
    fig, ax = plt.subplots(figsize=(7, 4))
    if len(ep):
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(ep), size=min(n_sample, len(ep)), replace=False))
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        styles = ["-", "--", ":", "-."]
        for j, e in enumerate(pick):
            off, n = int(ep["span_offset"][e]), int(ep["n_spans"][e])
            w = sp["weights"][off:off + n].reshape(n, K)
            for k in range(K):
                ax.plot(np.arange(n), w[:, k], styles[k % len(styles)], color=colors[j % len(colors)],
                        label=f"ep {e}: {members[k]}" if j < 4 else None)
        ax.legend(fontsize="small", ncol=2)
    ax.set_xlabel("span index")
    ax.set_ylabel("weight")
    ax.set_title(f"weight trajectories of {min(n_sample, len(ep))} sampled episodes")
    ax.grid(alpha=0.3)
    written.append(save(fig, plt, out_prefix + "weight_trajectories.png"))

    # mean weight per member per task (task/subject when the episodes carry a subject)
    fig, ax = plt.subplots(figsize=(7, 4))
    if len(sp) and len(ep):
        has_subject = "subject" in ep.dtype.names
        group = np.array([_s(ep["task"][i]) + ("/" + _s(ep["subject"][i]) if has_subject and
                                               _s(ep["subject"][i]) else "") for i in range(len(ep))])
        ok = (sp["episode"] >= 0) & (sp["episode"] < len(ep))
        sp_group = group[sp["episode"][ok]]
        w = sp["weights"][ok].reshape(int(ok.sum()), K)
        names = sorted(set(sp_group))
        width = 0.8 / K
        for k in range(K):
            ax.bar([g + (k - (K - 1) / 2) * width for g in range(len(names))],
                   [w[sp_group == n, k].mean() for n in names], width, label=members[k])
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30 if len(names) > 4 else 0, ha="right" if len(names) > 4 else "center")
        ax.legend()
    ax.set_ylabel("mean weight")
    ax.set_title("mean weight per member per task (and subject)")
    ax.grid(alpha=0.3, axis="y")
    written.append(save(fig, plt, out_prefix + "weights_by_task.png"))

    # evaluation accuracy per method with CIs (latest evaluation of each task x method)
    ev = f["eval"][: rows["eval"]]
    if len(ev):
        latest = {}
        for r in ev:
            latest[(_s(r["task"]), _s(r["method"]))] = r
        tasks = sorted({k[0] for k in latest})
        methods = sorted({k[1] for k in latest})
        fig, ax = plt.subplots(figsize=(max(6, 1.5 * len(tasks) * max(1, len(methods)) / 2), 4))
        width = 0.8 / len(methods)
        for m_i, m in enumerate(methods):
            xs, ys, lo, hi = [], [], [], []
            for t_i, t in enumerate(tasks):
                r = latest.get((t, m))
                if r is None:
                    continue
                xs.append(t_i + (m_i - (len(methods) - 1) / 2) * width)
                ys.append(r["accuracy"])
                lo.append(max(0.0, r["accuracy"] - r["ci_low"]))
                hi.append(max(0.0, r["ci_high"] - r["accuracy"]))
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=3, label=m)
        ax.set_xticks(range(len(tasks)))
        ax.set_xticklabels(tasks)
        ax.set_ylabel("accuracy")
        ax.set_title("evaluation accuracy per method (95% CI)")
        ax.legend(fontsize="small")
        written.append(save(fig, plt, out_prefix + "eval_accuracy.png"))
    return written


def save(fig, plt, path):
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv):
    ap = argparse.ArgumentParser(description="PNG plots of rlae run files")
    ap.add_argument("runs", nargs="+", help="run files (run.h5)")
    ap.add_argument("--out", help="output directory (default: beside the first run file)")
    ap.add_argument("--episodes", type=int, default=6, help="episodes to sample for weight trajectories")
    ap.add_argument("--seed", type=int, default=0, help="seed of the episode sample")
    a = ap.parse_args(argv)
    try:
        import h5py
        import matplotlib
        if not os.environ.get("MPLBACKEND"):
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError as e:
        print(f"plot.py: {e.name or e} is not installed; install python3-h5py and python3-matplotlib "
              "(tools/install-deps.sh --python)", file=sys.stderr)
        return 1
    out = a.out or os.path.dirname(os.path.abspath(a.runs[0]))
    os.makedirs(out, exist_ok=True)
    for path in a.runs:
        try:
            f = open_run(h5py, path)
        except NotARunFile as e:
            print(f"plot.py: {e}", file=sys.stderr)
            return 2
        prefix = os.path.join(out, (os.path.splitext(os.path.basename(path))[0] + "_") if len(a.runs) > 1 else "")
        try:
            for p in plot_run(np, plt, f, prefix, a.episodes, a.seed):
                print(p)
        except (KeyError, ValueError) as e:
            print(f"plot.py: {path}: unexpected table layout ({e}); the file is damaged or from another rlae",
                  file=sys.stderr)
            return 2
        finally:
            f.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
