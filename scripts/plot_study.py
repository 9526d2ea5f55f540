#!/usr/bin/env python3
"""Draws the warmup study's figures from `gpt2cl sweep` folders (matplotlib).

  python3 scripts/plot_study.py DIR [--out PLOTS]

DIR is a sweep folder (it holds results.jsonl) or a folder of sweep folders (one per optimizer variant, as
configs/study/ makes them). Writes PNGs and an index.html showing them to PLOTS (default DIR/plots):

  fig1_lr_warmup.png     final validation loss vs peak learning rate, one curve per warmup length (the paper's
                         Figure 1), one panel per sweep; diverged runs marked x at the top of the panel
  loss_curves.png        training loss over the steps at each peak lr, one line per warmup length (first sweep)
  angle_per_layer.png    the per-layer angular update (RMS of the row angles) over the first steps, without and
                         with warmup, against the equilibrium angle of the current learning rate
  l2_update.png          the l2 norm of the whole update (all matrix tensors) with and without warmup
  snr.png                the critical batch size B_noise = 1/phi and cos(g, m) over training (median over tensors)
  optimizers.png         final validation loss vs peak lr of every sweep without warmup (and with its best warmup)
  summary.md             the figures' numbers as tables: final validation loss per peak lr x warmup of every sweep
                         with the benefit of warmup (no warmup minus the best warmup), and the measurements of the
                         pair the measurement figures show (angle over its equilibrium, l2, B_noise, cos(g, m))

The measurement figures need runs with metrics_every > 0 (and grad_accum >= 2 for the SNR); otherwise the
figure says what is missing. Standard library + matplotlib.
"""
import argparse
import html
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FIGURES = ["fig1_lr_warmup", "loss_curves", "angle_per_layer", "l2_update", "snr", "optimizers"]


def read_jsonl(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        rows.append(json.loads(line))
                    except ValueError:
                        pass  # a line a killed run cut short
    except OSError:
        pass
    return rows


def find_sweeps(root):
    """(label, folder, rows) of each sweep: root itself, or its sub-folders holding results.jsonl."""
    if os.path.isfile(os.path.join(root, "results.jsonl")):
        return [(os.path.basename(os.path.normpath(root)), root, read_jsonl(os.path.join(root, "results.jsonl")))]
    out = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if os.path.isfile(os.path.join(d, "results.jsonl")):
            out.append((name, d, read_jsonl(os.path.join(d, "results.jsonl"))))
    return out


class Log:
    """One run's log: the training loss per step and the measurement records."""

    def __init__(self, path):
        self.steps, self.loss, self.measures, self.lr = [], [], [], {}
        for r in read_jsonl(path):
            if "tensors" in r:
                self.measures.append(r)
            elif "loss" in r:
                self.steps.append(r["step"])
                self.loss.append(r["loss"])
                self.lr[r["step"]] = r["lr"]


def log_of(sweep_dir, row):
    return Log(os.path.join(sweep_dir, row["name"], "log.jsonl"))


def warmup_label(frac):
    return "no warmup" if frac == 0 else "warmup %g%%" % (100 * frac)


def by_warmup(rows):
    groups = {}
    for r in rows:
        groups.setdefault(r["warmup_frac"], []).append(r)
    return [(w, sorted(groups[w], key=lambda r: r["lr"])) for w in sorted(groups)]


def fig_lr_warmup(sweeps, path):
    n = max(len(sweeps), 1)
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 4.2), squeeze=False, sharex=True, sharey=True)
    handles = {}
    for ax, (label, _, rows) in zip(axes[0], sweeps):
        finite = [r["final_val_loss"] for r in rows if r["final_val_loss"] is not None]
        top = max(finite) + 0.1 if finite else 1
        for w, group in by_warmup(rows):
            ok = [r for r in group if r["final_val_loss"] is not None]
            (h,) = ax.plot([r["lr"] for r in ok], [r["final_val_loss"] for r in ok], "o-", label=warmup_label(w))
            handles[warmup_label(w)] = h
            bad = [r["lr"] for r in group if r["final_val_loss"] is None]
            if bad:
                ax.plot(bad, [top] * len(bad), "x", color=h.get_color(), markersize=9)
        ax.set_xscale("log")
        ax.set_title(label)
        ax.set_xlabel("peak learning rate")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("final validation loss (nats/token)")
    if handles:
        fig.legend(list(handles.values()), list(handles.keys()), loc="upper center", ncol=min(len(handles), 6),
                   title="x at the top: diverged")
    fig.tight_layout(rect=(0, 0, 1, 0.82))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def smooth(y, k=9):
    out, acc = [], []
    for v in y:
        acc.append(v)
        if len(acc) > k:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def fig_loss_curves(sweeps, path):
    label, sweep_dir, rows = sweeps[0] if sweeps else ("", "", [])
    lrs = sorted({r["lr"] for r in rows})
    n = max(len(lrs), 1)
    cols = min(n, 4)
    nrows = (n + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.4 * nrows), squeeze=False, sharey=True)
    handles = {}
    for k, lr in enumerate(lrs):
        ax = axes[k // cols][k % cols]
        for r in sorted((r for r in rows if r["lr"] == lr), key=lambda r: r["warmup_frac"]):
            log = log_of(sweep_dir, r)
            finite = [(s, v) for s, v in zip(log.steps, log.loss) if v == v and abs(v) < 1e9]
            if not finite:
                continue
            (h,) = ax.plot([s for s, _ in finite], smooth([v for _, v in finite]), lw=1.2)
            h.set_label(warmup_label(r["warmup_frac"]))
            handles.setdefault(warmup_label(r["warmup_frac"]), h)
        gone = ["%s at step %d" % (warmup_label(r["warmup_frac"]), r["diverged_step"])
                for r in rows if r["lr"] == lr and r["diverged"]]
        if gone:
            ax.text(0.5, 0.95, "diverged: " + "; ".join(gone), ha="center", va="top", fontsize=7,
                    transform=ax.transAxes)
        ax.set_title("%s, peak lr %g" % (label, lr), fontsize=9)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
    for k in range(len(lrs), nrows * cols):
        axes[k // cols][k % cols].axis("off")
    for row in axes:
        row[0].set_ylabel("training loss (nats/token,\nmean of 9 steps)")
    if handles:
        fig.legend(list(handles.values()), list(handles.keys()), loc="upper center", ncol=min(len(handles), 6))
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def measured_pair(sweeps):
    """(label, sweep_dir, run without warmup, run with the longest warmup) at the highest lr where both have
    measurements and neither diverged; None if there is none."""
    for label, sweep_dir, rows in sweeps:
        for lr in sorted({r["lr"] for r in rows}, reverse=True):
            at = [r for r in rows if r["lr"] == lr and not r["diverged"]]
            no = [r for r in at if r["warmup_frac"] == 0]
            yes = sorted((r for r in at if r["warmup_frac"] > 0), key=lambda r: r["warmup_frac"])
            if no and yes:
                a, b = log_of(sweep_dir, no[0]), log_of(sweep_dir, yes[-1])
                if a.measures and b.measures:
                    return label, (no[0], a), (yes[-1], b)
    return None


def no_data(path, text):
    fig, ax = plt.subplots(figsize=(6, 2.5))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


NO_MEASURES = "No runs with measurements: set metrics_every (e.g. 10) in the sweep's config."
LAYERED = ["qkvw", "attprojw", "fcw", "fcprojw"]
STYLE = {"qkvw": "-", "attprojw": "--", "fcw": "-.", "fcprojw": ":"}


def fig_angle_per_layer(sweeps, path, first_frac=0.3):
    pair = measured_pair(sweeps)
    if not pair:
        return no_data(path, NO_MEASURES)
    label, *runs = pair
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    handles = {}
    for ax, (row, log) in zip(axes, runs):
        last = max(1, int(first_frac * row["steps"]))
        ms = [m for m in log.measures if m["step"] <= last and m["angle_configured"] > 0] or log.measures
        steps = [m["step"] for m in ms]
        for name in LAYERED:
            nl = len(ms[0]["layers"].get(name, []))
            for l in range(nl):
                ax.plot(steps, [max(m["layers"][name][l]["angle_rows"], 1e-12) for m in ms], lw=1,
                        color=plt.cm.viridis(l / max(nl - 1, 1)), ls=STYLE[name])
            # one legend entry per tensor (line style); the colour goes from layer 0 (dark) to the last (yellow)
            handles.setdefault(name, plt.Line2D([], [], color="0.3", ls=STYLE[name]))
        (h,) = ax.plot(steps, [m["angle_configured"] for m in ms], "k-", lw=2.5, alpha=0.6)
        handles["equilibrium angle at the current lr"] = h
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title("%s, lr %g, %s" % (label, row["lr"], warmup_label(row["warmup_frac"])), fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("angular update per step (rad, RMS over rows)")
    fig.legend(list(handles.values()), list(handles.keys()), loc="center right", fontsize=8,
               title="colour: layer 0 (dark)\nto last (yellow)", title_fontsize=8)
    fig.tight_layout(rect=(0, 0, 0.82, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def total_l2(m):
    return math.sqrt(sum(t["l2"] ** 2 for t in m["tensors"].values()))


def fig_l2_update(sweeps, path):
    pair = measured_pair(sweeps)
    if not pair:
        return no_data(path, NO_MEASURES)
    label, *runs = pair
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for row, log in runs:
        pts = [(m["step"], total_l2(m)) for m in log.measures if total_l2(m) > 0]  # lr 0 at the end: no update
        ax.plot([s for s, _ in pts], [v for _, v in pts], "o-", ms=3, label=warmup_label(row["warmup_frac"]))
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("l2 norm of the update ||w' - w|| (all matrices)")
    ax.set_title("%s, peak lr %g" % (label, runs[0][0]["lr"]), fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def median_over_tensors(m, field):
    v = sorted(t[field] for t in m["tensors"].values() if t.get(field) is not None)
    return (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2 if v else None


def fig_snr(sweeps, path):
    pair = measured_pair(sweeps)
    if not pair:
        return no_data(path, NO_MEASURES)
    label, *runs = pair
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    have_snr = False
    for row, log in runs:
        steps = [m["step"] for m in log.measures]
        b = [median_over_tensors(m, "b_noise") for m in log.measures]
        pts = [(s, v) for s, v in zip(steps, b) if v is not None and v > 0]
        if pts:
            have_snr = True
            axes[0].plot([s for s, _ in pts], [v for _, v in pts], "o-", ms=3, label=warmup_label(row["warmup_frac"]))
        axes[1].plot(steps, [median_over_tensors(m, "cos_gm") for m in log.measures], "o-", ms=3,
                     label=warmup_label(row["warmup_frac"]))
    axes[0].set_yscale("log")
    axes[0].set_ylabel("critical batch size B_noise = 1/phi\n(sequences, median over matrix tensors)")
    if not have_snr:
        axes[0].text(0.5, 0.5, "no SNR: needs grad_accum >= 2", ha="center", transform=axes[0].transAxes)
    axes[1].set_ylabel("cos(g, m), median over matrix tensors")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(True, which="both", alpha=0.3)
    axes[1].legend(title="%s, lr %g" % (label, runs[0][0]["lr"]))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fig_optimizers(sweeps, path):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, _, rows in sweeps:
        groups = dict(by_warmup(rows))
        if 0 in groups:
            ok = [r for r in groups[0] if r["final_val_loss"] is not None]
            (h,) = ax.plot([r["lr"] for r in ok], [r["final_val_loss"] for r in ok], "o-", label=label + ", no warmup")
        else:
            h = None
        warm = [w for w in groups if w > 0]
        if warm:
            best = min(warm, key=lambda w: min([r["final_val_loss"] for r in groups[w]
                                                if r["final_val_loss"] is not None] or [1e9]))
            ok = [r for r in groups[best] if r["final_val_loss"] is not None]
            ax.plot([r["lr"] for r in ok], [r["final_val_loss"] for r in ok], "s--", ms=4,
                    color=h.get_color() if h else None, alpha=0.6, label="%s, %s" % (label, warmup_label(best)))
    ax.set_xscale("log")
    ax.set_xlabel("peak learning rate")
    ax.set_ylabel("final validation loss (nats/token)")
    ax.set_title("optimizers without warmup (solid) and with their best warmup (dashed)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def outcome(r):
    if r["diverged"]:
        return "diverged at %d" % r["diverged_step"]
    return "%.3f" % r["final_val_loss"] if r["final_val_loss"] is not None else r["outcome"]


def summary_lines(sweeps):
    """The numbers behind fig1_lr_warmup/optimizers and the measurement figures, as markdown tables."""
    lines = ["# Final validation loss (nats/token)", "",
             "benefit of warmup: no warmup minus the best warmup that finished (positive: warmup helps)", ""]
    for label, _, rows in sweeps:
        warmups = sorted({r["warmup_frac"] for r in rows})
        lines += ["## " + label, "", "| peak lr | %s | benefit of warmup |" % " | ".join(map(warmup_label, warmups)),
                  "|---" * (len(warmups) + 2) + "|"]
        for lr in sorted({r["lr"] for r in rows}):
            at = {r["warmup_frac"]: r for r in rows if r["lr"] == lr}
            none = at.get(0)
            warm = [r["final_val_loss"] for w, r in at.items() if w > 0 and r["final_val_loss"] is not None]
            benefit = "%+.3f" % (none["final_val_loss"] - min(warm)) if (
                none and none["final_val_loss"] is not None and warm) else "-"
            lines.append("| %g | %s | %s |" % (lr, " | ".join(outcome(at[w]) if w in at else "-" for w in warmups),
                                               benefit))
        lines.append("")
    pair = measured_pair(sweeps)
    if pair:
        label, *runs = pair
        lines += ["# Measurements of %s at peak lr %g" % (label, runs[0][0]["lr"]), "",
                  "angle / equilibrium: mean row angle of the matrix tensors over the equilibrium angle at the "
                  "current lr; l2: of the whole update (matrices); B_noise (sequences) and cos(g, m): medians over "
                  "the matrix tensors", "",
                  "| run | step | lr | angle / equilibrium | l2 | B_noise | cos(g, m) |", "|---" * 7 + "|"]
        for row, log in runs:
            for m in log.measures:
                if m["step"] not in (10, 20, 50, 100) and m["step"] % 100:
                    continue
                ratio = m["mean_angle_rows"] / m["angle_configured"] if m["angle_configured"] > 0 else None
                cells = [warmup_label(row["warmup_frac"]), m["step"], "%.3g" % log.lr.get(m["step"], float("nan")),
                         "%.2f" % ratio if ratio else "-", "%.3g" % total_l2(m)]
                for field in ("b_noise", "cos_gm"):
                    v = median_over_tensors(m, field)
                    cells.append("%.3g" % v if v is not None else "-")
                lines.append("| %s |" % " | ".join(map(str, cells)))
        lines.append("")
    return lines


def write_index(out, sweeps):
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>gpt2cl warmup study</title></head><body>",
             "<h1>gpt2cl warmup study</h1><p>sweeps: %s</p>" % html.escape(", ".join(s[0] for s in sweeps))]
    for name in FIGURES:
        parts.append("<h2>%s</h2><img src='%s.png' alt='%s' style='max-width:100%%'>" % (name, name, name))
    parts.append("<h2>runs</h2><table border='1' cellpadding='3'><tr><th>sweep</th><th>run</th><th>outcome</th>"
                 "<th>final val loss</th><th>best val loss</th><th>wall s</th></tr>")
    for label, _, rows in sweeps:
        for r in rows:
            cells = [label, r["name"], r["outcome"] + (" at %d" % r["diverged_step"] if r["diverged"] else ""),
                     r["final_val_loss"], r["best_val_loss"], r["wall_s"]]
            parts.append("<tr>%s</tr>" % "".join(
                "<td>%s</td>" % html.escape("%.4f" % c if isinstance(c, float) else str(c)) for c in cells))
    parts.append("</table></body></html>\n")
    with open(os.path.join(out, "index.html"), "w") as f:
        f.write("\n".join(parts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="a sweep folder or a folder of sweep folders")
    ap.add_argument("--out", help="where the PNGs and index.html go (default DIR/plots)")
    args = ap.parse_args()
    sweeps = [s for s in find_sweeps(args.dir) if s[2]] if os.path.isdir(args.dir) else []
    if not sweeps:
        sys.exit("plot_study.py: error: no sweep results (results.jsonl) in '%s'" % args.dir)
    out = args.out or os.path.join(args.dir, "plots")
    os.makedirs(out, exist_ok=True)
    draw = {"fig1_lr_warmup": fig_lr_warmup, "loss_curves": fig_loss_curves, "angle_per_layer": fig_angle_per_layer,
            "l2_update": fig_l2_update, "snr": fig_snr, "optimizers": fig_optimizers}
    for name in FIGURES:
        draw[name](sweeps, os.path.join(out, name + ".png"))
    write_index(out, sweeps)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(summary_lines(sweeps)))
    print("plots: %s/index.html (%s, summary.md)" % (out, ", ".join(n + ".png" for n in FIGURES)))


if __name__ == "__main__":
    main()
