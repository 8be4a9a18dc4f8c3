"""Figures for the notebooks; `savefig` writes each one to media/<notebook>/<name>.png.

    fig = plots.image_grid([x[:8], x_hat[:8]], row_titles=["input", "reconstruction"])
    plots.savefig(fig, "reconstructions")

Every function returns the matplotlib Figure and draws nothing else; a notebook shows it inline.
`use_style()` sets the course's look once per notebook (nothing changes at import).
Introduced in 01_conv_ae; later notebooks add their figures at the end of this module.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from . import config
from .printing import enlarge_text_for_print, smallest_text_pt

STYLE = {"figure.dpi": 100, "savefig.dpi": 120, "axes.spines.top": False,
         "axes.spines.right": False, "font.size": 9}  # text in pt, resolution in dots per inch


def use_style() -> None:
    """Set the course's figure style (STYLE: 9 pt text, no top and right spines, 120 dpi files).

    Each notebook calls it once, after setup: importing the package changes no matplotlib setting.
    """
    plt.rcParams.update(STYLE)


def savefig(fig, name: str, notebook_dir: Path | None = None,
            print_width: float | None = None) -> Path:
    """Save fig as <media>/<notebook>/<name>.png (the folder setup chose); return the path.

    print_width: the share of the report's text width the figure is printed at (the report's
    `{width=NN%}`); text that would print under 8 pt there is enlarged first. The PNG carries its
    smallest text size (pt) and dpi as metadata, so that `reports.check_pdf` can check it.
    """
    folder = Path(notebook_dir) if notebook_dir else config.current().media_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    if print_width is not None:
        enlarge_text_for_print(fig, print_width)
    dpi = STYLE["savefig.dpi"]  # every course figure at one resolution, styled or not
    fig.savefig(path, bbox_inches="tight", dpi=dpi,
                metadata={"aehelpers-min-text-pt": f"{smallest_text_pt(fig):.2f}",
                          "aehelpers-dpi": f"{dpi}"})
    return path


def _latent_axes(fig, ax, title):
    """Label the axes of a latent-plane figure z[0] / z[1] and give it a title."""
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    if title:
        ax.set_title(title)
    return fig


def _to_hwc(img: torch.Tensor) -> np.ndarray:
    img = img.detach().float().cpu().clamp(0, 1)
    return img[0].numpy() if img.shape[0] == 1 else img.permute(1, 2, 0).numpy()


def image_grid(rows, row_titles=None, col_titles=None, scale: float = 1.1,
               title: str | None = None):
    """Show a list of image batches, one batch (N, C, H, W) per row."""
    rows = [r for r in rows]
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(scale * n_cols + 0.8, scale * n_rows),
                             squeeze=False)
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.set_xticks([]), ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if j < len(row):
                ax.imshow(_to_hwc(row[j]), cmap="gray", vmin=0, vmax=1)
            if j == 0 and row_titles:
                ax.set_ylabel(row_titles[i], rotation=0, ha="right", va="center")
            if i == 0 and col_titles and j < len(col_titles):
                ax.set_title(col_titles[j])
    if title:
        fig.suptitle(title)
    return fig


def loss_curves(histories, keys=("train_loss", "val_loss"), title: str | None = None,
                ylabel: str = "loss", logy: bool = False):
    """Plot history[key] against the epoch for one History or a dict {label: History}."""
    if not isinstance(histories, dict) or "epoch" in histories:
        histories = {"": histories}
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for label, h in histories.items():
        for key in keys:
            if key in h:
                style = "--" if key.startswith("train") else "-"
                ax.plot(h["epoch"], h[key], style, marker="o", ms=3,
                        label=f"{label} {key}".strip())
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return fig


def step_curve(history, key: str = "train_loss", ylabel: str = "loss", logy: bool = False,
               ax=None):
    """Plot history.steps[key] (one value per optimiser step) and, over it, history[key] (the
    mean of each epoch, at the epoch's last step); the top axis counts epochs."""
    steps, epochs = history.steps.get(key), history.get("epoch")
    if not steps or not epochs:
        raise ValueError(f"history has no per-step {key!r} (history.steps: {list(history.steps)}); "
                         f"train.fit records history.steps['train_loss'] for every run")
    per_epoch = len(steps) / len(epochs)  # optimiser steps per epoch (fit: batches per epoch)
    fig, ax = plt.subplots(figsize=(5, 3.2)) if ax is None else (ax.figure, ax)
    ax.plot(np.arange(1, len(steps) + 1), steps, lw=0.6, color="0.6", label="each step")
    ax.plot(np.asarray(epochs) * per_epoch, history[key], "o-", ms=3, color="C0",
            label="mean of each epoch")
    ax.set(xlabel="optimiser step", ylabel=ylabel, yscale="log" if logy else "linear")
    top = ax.secondary_xaxis("top", functions=(lambda s: s / per_epoch, lambda e: e * per_epoch))
    top.set_xlabel("epoch")
    ax.legend(fontsize=7)
    return fig


def latent_scatter(z: torch.Tensor, y: torch.Tensor, classes=None, title: str | None = None,
                   ax=None):
    """Scatter the first two latent dimensions, coloured by class."""
    z, y = z.detach().cpu().numpy(), y.detach().cpu().numpy()
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(4.6, 4))
    points = ax.scatter(z[:, 0], z[:, 1], c=y, cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
    cbar = fig.colorbar(points, ax=ax, ticks=range(10))
    if classes is not None:
        cbar.ax.set_yticklabels(list(classes)[:10])
    return _latent_axes(fig, ax, title)


@torch.no_grad()
def latent_grid(decode, low=-4.0, high=4.0, n: int = 15, title: str | None = None, device=None):
    """Decode an n x n grid of 2-D latent points over [low, high]^2 and tile the images.

    low and high are numbers, or pairs (for z[0], z[1]) to span a rectangle such as the range
    of the real codes.
    """
    (low0, low1), (high0, high1) = [(v, v) if isinstance(v, (int, float)) else tuple(map(float, v))
                                    for v in (low, high)]
    cols = torch.linspace(low0, high0, n)  # z[0], left to right
    rows = torch.linspace(high1, low1, n)  # z[1], top row = highest
    z = torch.stack(torch.meshgrid(rows, cols, indexing="ij"), -1).reshape(-1, 2)[:, [1, 0]]
    imgs = decode(z.to(device) if device else z).cpu()
    c, h, w = imgs.shape[1:]
    tiled = imgs.view(n, n, c, h, w).permute(2, 0, 3, 1, 4).reshape(c, n * h, n * w)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(_to_hwc(tiled), cmap="gray", extent=(low0, high0, low1, high1), aspect="auto")
    return _latent_axes(fig, ax, title)


@torch.no_grad()
def interpolation_strip(decode, z_pairs, labels=None, steps: int = 3, title: str | None = None):
    """For each (z_a, z_b), decode z_a, `steps` evenly spaced points between them, and z_b."""
    rows = []
    t = torch.linspace(0, 1, steps + 2)[:, None]
    for z_a, z_b in z_pairs:
        rows.append(decode((1 - t) * z_a[None] + t * z_b[None]).cpu())
    return image_grid(rows, row_titles=labels, title=title)


def bar_table(values: dict, ylabel: str, title: str | None = None, fmt: str = "{:.3g}"):
    """A bar chart of {label: value} with each value written on its bar."""
    fig, ax = plt.subplots(figsize=(1.2 * len(values) + 1.5, 3))
    bars = ax.bar(list(values), list(values.values()), color="tab:blue")
    for bar, v in zip(bars, values.values()):
        ax.annotate(fmt.format(v), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return fig


# ---------------------------------------------------------------------------------------------
# 02_denoising_noise_zoo
# ---------------------------------------------------------------------------------------------

def grouped_bars(groups: dict, ylabel: str, title: str | None = None, fmt: str = "{:.1f}",
                 ylim=None):
    """Bars per group and series: groups = {group label: {series label: value}}; values on bars.

    Up to 30 bars carry their value; with more, the figure is 10 inches wide and unlabelled.
    """
    series = list(dict.fromkeys(s for g in groups.values() for s in g))
    width = 0.8 / len(series)
    n_bars = len(groups) * len(series)
    fig, ax = plt.subplots(figsize=(min(0.55 * n_bars + 1.8, 10), 3.2))
    for k, s in enumerate(series):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(groups))]
        vals = [g.get(s, np.nan) for g in groups.values()]
        bars = ax.bar(xs, vals, width, label=s)
        for bar, v in zip(bars, vals):
            if np.isfinite(v) and n_bars <= 30:  # more values than that do not fit: see a table
                ax.annotate(fmt.format(v), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=6)
    ax.set_xticks(range(len(groups)), list(groups), rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return fig


# ---------------------------------------------------------------------------------------------
# anomaly detection (03_anomaly_cats): score histograms, ROC curves, confusion matrix
# ---------------------------------------------------------------------------------------------

def score_histograms(scores: dict, threshold: float | None = None, threshold_note: str = "",
                     xlabel: str = "anomaly score", title: str | None = None, bins: int = 30,
                     logx: bool = False):
    """Overlaid histograms of {group: scores}, each bar the share of its group in that bin (so
    groups of different sizes compare, and on a log axis a wide bin is not drawn flat, as a
    density per unit score would be); a dashed line at threshold, labelled with where the
    threshold came from (e.g. "threshold from normal validation data, FPR 5%")."""
    fig, ax = plt.subplots(figsize=(5.4, 3.2))
    arrays = {k: np.asarray(torch.as_tensor(v).detach().cpu(), dtype=float)
              for k, v in scores.items()}
    everything = np.concatenate(list(arrays.values()))
    if logx:
        everything = everything[everything > 0]
        edges = np.geomspace(everything.min(), everything.max(), bins + 1)
        ax.set_xscale("log")
    else:
        edges = np.linspace(everything.min(), everything.max(), bins + 1)
    for label, s in arrays.items():
        ax.hist(s, bins=edges, weights=np.full(len(s), 1 / max(len(s), 1)), alpha=0.5,
                label=f"{label} (n={len(s)})")
    if threshold is not None:
        note = f"threshold {threshold:.3g}" + (f"\n({threshold_note})" if threshold_note else "")
        ax.axvline(threshold, color="black", ls="--", lw=1.2, label=note)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of the group")
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return fig


def interval_plot(intervals: dict, xlabel: str, reference: tuple | None = (0.5, "chance"),
                  xlim: tuple | None = None, title: str | None = None, ax=None,
                  color: str = "tab:blue"):
    """Point estimates with their intervals, one row each: {label: (estimate, low, high)},
    drawn top to bottom in the dict's order, with an optional (value, name) reference line
    (name None: the line without a legend). ax: draw into one panel of a larger figure."""
    names = list(intervals)[::-1]
    est, low, high = (np.array([intervals[k][i] for k in names], dtype=float) for i in range(3))
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7.5, 0.4 * len(names) + 1.0))
    ax.errorbar(est, range(len(names)), xerr=[est - low, high - est], fmt="o", capsize=3, color=color)
    if reference is not None:
        ax.axvline(reference[0], color="grey", ls=":", lw=1, label=reference[1])
        if reference[1]:
            ax.legend(loc="lower left")
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel=xlabel, xlim=xlim)
    if title:
        ax.set_title(title)
    return fig


def roc_curves(curves: dict, title: str | None = None, ax=None):
    """ROC curves {label: (fpr, tpr, auroc)}: true-positive rate against false-positive rate."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(4, 3.8))
    for label, (fpr, tpr, auc) in curves.items():
        ax.plot(fpr, tpr, drawstyle="steps-post", label=f"{label} (AUROC {auc:.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey", lw=1, label="chance (0.5)")
    ax.set_xlabel("false-positive rate (normal flagged)")
    ax.set_ylabel("true-positive rate (anomalies found)")
    ax.set_xlim(-0.01, 1.01), ax.set_ylim(-0.01, 1.01)
    ax.legend(fontsize=7, loc="lower right")
    if title:
        ax.set_title(title)
    return fig


def confusion_matrix(counts: dict, title: str | None = None, ax=None):
    """The 2x2 matrix of anomaly.confusion(...) (keys tn, fp, fn, tp): rows truth, columns flag."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(3.2, 2.8))
    m = np.array([[counts["tn"], counts["fp"]], [counts["fn"], counts["tp"]]])
    ax.imshow(m, cmap="Blues", vmin=0)
    for i in range(2):
        for j in range(2):
            ax.text(j, i, str(m[i, j]), ha="center", va="center",
                    color="white" if m[i, j] > m.max() / 2 else "black", fontsize=11)
    ax.set_xticks([0, 1], ["flagged normal", "flagged anomaly"])
    ax.set_yticks([0, 1], ["normal", "anomaly"])
    ax.set_ylabel("truth")
    if title:
        ax.set_title(title)
    return fig


# ---------------------------------------------------------------------------------------------
# several seeds and point groups (02_denoising_noise_zoo)
# ---------------------------------------------------------------------------------------------

def seed_curves(curves: dict, xlabel: str = "epoch", ylabel: str = "loss", styles: dict | None = None,
                logy: bool = False, title: str | None = None):
    """Mean curve over seeds with a min-max band: curves = {label: [per-seed lists of y]};
    styles maps a label to matplotlib line options (color=, ls=); x is 1, 2, ... (epochs)."""
    styles = styles or {}
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    for label, runs in curves.items():
        y = np.asarray(runs, dtype=float)  # (seeds, epochs)
        x = np.arange(1, y.shape[1] + 1)
        line, = ax.plot(x, y.mean(0), label=label, **styles.get(label, {}))
        ax.fill_between(x, y.min(0), y.max(0), color=line.get_color(), alpha=0.2, lw=0)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def grouped_points(groups: dict, xlabel: str, ylabel: str, line: tuple | None = None,
                   title: str | None = None):
    """Scatter groups of points with a legend instead of per-point labels: groups = {legend label:
    [(x, y), ...]}; line = (slope, intercept, legend label) draws a dotted straight line."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    markers = "osD^vP*X"
    for k, (label, pts) in enumerate(groups.items()):
        xs, ys = zip(*pts)
        ax.scatter(xs, ys, s=30, marker=markers[k % len(markers)], label=label, zorder=3)
    if line is not None:
        xs = np.array([p[0] for pts in groups.values() for p in pts])
        grid = np.linspace(xs.min(), xs.max(), 2)
        ax.plot(grid, line[0] * grid + line[1], ":", color="grey", label=line[2])
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=7, loc="best")
    if title:
        ax.set_title(title)
    return fig


def seed_points(values: dict, xlabel: str, title: str | None = None):
    """One row per label: a dot per seed and a bar for their mean, values = {label: [floats]}:
    points, not bars from 0, so that differences of a few tenths stay honest beside the spread."""
    names = list(values)[::-1]
    fig, ax = plt.subplots(figsize=(5.6, 0.45 * len(names) + 1.1))
    for i, name in enumerate(names):
        v = np.asarray(values[name], dtype=float)
        ax.scatter(v, np.full(len(v), i), s=22, color="tab:blue", alpha=0.7,
                   label="one seed" if i == 0 else None, zorder=3)
        ax.plot([v.mean()] * 2, [i - 0.25, i + 0.25], color="black", lw=2,
                label="mean over seeds" if i == 0 else None)
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.set_xlabel(xlabel)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=2, frameon=False)
    if title:
        ax.set_title(title)
    return fig


def image_mosaic(rows, row_titles=None, col_titles=None, scale: float = 0.6, gap: int = 2):
    """Like image_grid (one batch (N, C, H, W) per row) but drawn as one image, so a grid of a
    hundred digits takes one imshow; titles are tick labels on the left and on top."""
    rows = [torch.as_tensor(r).detach().cpu().float() for r in rows]
    n_cols = max(len(r) for r in rows)
    c, h, w = rows[0].shape[1:]
    canvas = torch.ones(c, len(rows) * (h + gap) - gap, n_cols * (w + gap) - gap)
    for i, r in enumerate(rows):
        for j, img in enumerate(r):
            canvas[:, i * (h + gap):i * (h + gap) + h, j * (w + gap):j * (w + gap) + w] = img
    fig, ax = plt.subplots(figsize=(scale * n_cols + 0.8, scale * len(rows)))
    ax.imshow(_to_hwc(canvas), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0)
    ax.set_yticks([i * (h + gap) + h / 2 for i in range(len(rows))], row_titles or [])
    ax.xaxis.tick_top()
    ax.set_xticks([j * (w + gap) + w / 2 for j in range(len(col_titles or []))], col_titles or [])
    return fig
