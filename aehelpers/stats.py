"""How sure a number is: bootstrap intervals over test images, t intervals over seeds, verdicts.

    auc, low, high = stats.auroc_ci(scores, labels)  # AUROC with its 95% bootstrap interval
    stats.compare(scores_a, scores_b, labels)["verdict"]  # "higher" / "lower" / "within the noise"
    stats.compare_f1(scores, labels, t_a, t_b)  # F1 at two thresholds, on the same images
    stats.compare_separation(scores_a, scores_b, labels)  # 03's log-score separation, paired
    stats.one_class_auroc_ci(scores, classes)  # mean AUROC of one model per normal class (03)
    low, high = stats.paired_t_interval(diffs)  # per-seed paired differences (02)
    stats.seeds_verdict(diffs)  # the word those differences support
    mean, low, high = stats.mean_ci(per_image_diffs)  # a mean over items, bootstrap interval
    low, high = stats.proportion_ci(90, 100)  # a share: its Wilson interval

A number from one test set would move on another test set of the same size: the bootstrap
resamples the test images to show how far. A number from one seed would move with the seed: the t
interval over per-seed paired differences shows how far. A verdict word ("higher", "lower") is
given only when its whole interval lies on one side of 0; otherwise it is "within the noise".
The mean of per-item numbers gets a bootstrap interval (`mean_ci`), a share of n a Wilson
interval (`proportion_ci`), a number from a few seeds its range (`seed_range`, `ranges_apart`).
Introduced in 07_well_leaks (bootstrap) and 03_anomaly_cats (one class per model); builds on
`anomaly`'s checked scores and AUROC.
"""

from __future__ import annotations

import numpy as np
import torch

from .anomaly import as_scores, auroc, need_both_classes, separation_rows

# ---------------------------------------------------------------------------------------------
# the words: a verdict only where the interval leaves no doubt about the sign
# ---------------------------------------------------------------------------------------------


def verdict(low: float, high: float, above: str = "higher", below: str = "lower",
            inside: str = "within the noise") -> str:
    """A word for a difference from its interval: `above` if all of it lies above 0, `below` if
    all of it lies below, else `inside`: no verdict from a difference the noise can make."""
    return above if low > 0 else below if high < 0 else inside


# ---------------------------------------------------------------------------------------------
# over test images: stratified bootstrap intervals, paired comparisons (07)
# ---------------------------------------------------------------------------------------------


def auroc_rows(y, s):
    """AUROC of each row of s (B, n) against labels y (n,) by the rank-sum (Mann-Whitney) form."""
    from scipy.stats import rankdata

    ranks = rankdata(s, axis=1)  # ties share their mean rank: a tie counts one half
    n1, n0 = y.sum(), len(y) - y.sum()
    return (ranks[:, y == 1].sum(1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def f1_rows(y, s, threshold):
    """F1 of each row of s (B, n) against labels y (n,) at threshold (flag = score > threshold)."""
    flags = s > threshold
    tp = (flags & (y == 1)).sum(1)
    return 2 * tp / np.maximum(flags.sum(1) + y.sum(), 1)


def bootstrap_ci(stat, labels, *scores, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95):
    """(value, low, high): stat on the data and its percentile bootstrap interval.

    stat(y, *rows) -> (B,) values, one per row, where y is (n,) labels and each of rows is (B, n)
    scores. Each resample draws normal and anomalous images separately, with replacement, so
    both classes keep their counts; several score arrays are resampled with the same images
    (a paired comparison). The interval is how far the number would move on another test set
    of the same size from the same source.
    """
    arrays = [as_scores(s, labels) for s in scores]
    y = arrays[0][1]
    need_both_classes(y)
    if not 0 < level < 1 or n_boot < 1:
        raise ValueError(f"level is in (0, 1) and n_boot >= 1, got {level} and {n_boot}")
    rng = np.random.default_rng(seed)
    normal, anomalous = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    idx = np.concatenate([rng.choice(normal, (n_boot, len(normal))),
                          rng.choice(anomalous, (n_boot, len(anomalous)))], axis=1)
    y_boot = y[idx[0]]  # the same label order in every row: normals first
    value = float(stat(y, *[s[None, :] for s, _ in arrays])[0])
    boot = stat(y_boot, *[s[idx] for s, _ in arrays])
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return value, float(low), float(high)


def auroc_ci(scores, labels, n_boot: int = 1000, seed: int = 0, level: float = 0.95):
    """(auroc, low, high): AUROC with its stratified bootstrap interval (95% by default)."""
    return bootstrap_ci(auroc_rows, labels, scores, n_boot=n_boot, seed=seed, level=level)


def f1_ci(scores, labels, threshold: float, n_boot: int = 1000, seed: int = 0,
          level: float = 0.95):
    """(f1, low, high): F1 at a fixed threshold (flag = score > threshold) with its interval."""
    stat = lambda y, s: f1_rows(y, s, threshold)
    return bootstrap_ci(stat, labels, scores, n_boot=n_boot, seed=seed, level=level)


def compare(scores_a, scores_b, labels, n_boot: int = 1000, seed: int = 0,
            level: float = 0.95) -> dict:
    """AUROC of a minus AUROC of b on the same images, with a paired bootstrap interval.

    Returns {"auroc_a", "auroc_b", "diff", "low", "high", "verdict"}; verdict says whether a
    separates "higher", "lower" or "within the noise" of b.
    """
    stat = lambda y, a, b: auroc_rows(y, a) - auroc_rows(y, b)
    diff, low, high = bootstrap_ci(stat, labels, scores_a, scores_b, n_boot=n_boot, seed=seed,
                                   level=level)
    return {"auroc_a": auroc(scores_a, labels), "auroc_b": auroc(scores_b, labels), "diff": diff,
            "low": low, "high": high, "verdict": verdict(low, high)}


def compare_f1(scores, labels, threshold_a: float, threshold_b: float, n_boot: int = 1000,
               seed: int = 0, level: float = 0.95) -> dict:
    """F1 at threshold a minus F1 at threshold b on the same scores, with a paired interval."""
    stat = lambda y, s: f1_rows(y, s, threshold_a) - f1_rows(y, s, threshold_b)
    diff, low, high = bootstrap_ci(stat, labels, scores, n_boot=n_boot, seed=seed, level=level)
    return {"diff": diff, "low": low, "high": high, "verdict": verdict(low, high)}


def compare_separation(scores_a, scores_b, labels, words=("larger than", "smaller than")) -> dict:
    """Separation of a minus that of b on the same images (`anomaly.separation`), with a paired
    interval; its verdict is words[0], words[1] or "within the noise of"."""
    diff, low, high = bootstrap_ci(lambda y, a, b: separation_rows(y, a) - separation_rows(y, b),
                                   labels, scores_a, scores_b)
    return {"diff": diff, "low": low, "high": high,
            "verdict": verdict(low, high, *words, inside="within the noise of")}


# ---------------------------------------------------------------------------------------------
# one-class benchmarks: one model per class, the mean AUROC over classes and its interval (03)
# ---------------------------------------------------------------------------------------------


def _one_class_rows(s: np.ndarray, classes: np.ndarray, normal, idx: np.ndarray) -> np.ndarray:
    """(B, K) AUROCs: row k of s (K, n) scores the images idx (B, n), class normal[k] normal."""
    from scipy.stats import rankdata

    out = np.empty((len(idx), len(s)))
    for k, c in enumerate(normal):
        y = classes[idx] != c  # (B, n): True = anomaly
        ranks = rankdata(s[k][idx], axis=1)
        n1 = y.sum(1)
        n0 = y.shape[1] - n1
        out[:, k] = ((ranks * y).sum(1) - n1 * (n1 + 1) / 2) / np.maximum(n1 * n0, 1)
    return out


def _one_class_means(score_sets, classes, normal, n_boot: int, seed: int) -> list:
    """For each (K, n) score array: (its mean one-class AUROC on all n images, the same mean on
    each of n_boot resamples of the images), the resamples the same for every array."""
    c = np.asarray(classes)
    sets = [np.asarray(s, dtype=np.float64) for s in score_sets]
    normal = list(range(len(sets[0]))) if normal is None else list(normal)
    for s in sets:
        if s.ndim != 2 or s.shape != (len(normal), len(c)):
            raise ValueError(f"scores must be (classes, images) = ({len(normal)}, {len(c)}), "
                             f"got {s.shape}")
    idx = np.random.default_rng(seed).integers(0, len(c), (n_boot, len(c)))
    full = np.arange(len(c))[None]
    return [(float(_one_class_rows(s, c, normal, full).mean()),
             _one_class_rows(s, c, normal, idx).mean(1)) for s in sets]


def one_class_auroc_ci(scores, classes, normal=None, n_boot: int = 1000, seed: int = 0,
                       level: float = 0.95):
    """(mean, low, high): mean over rows of the one-class AUROC with a bootstrap interval.

    scores (K, n): row k holds the scores, on the same n test images, of the model trained on
    class normal[k] (default: 0..K-1), whose images are normal there and all others anomalies.
    The interval resamples the test images (the same draw for every row).
    """
    [(value, boot)] = _one_class_means([scores], classes, normal, n_boot, seed)
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return value, float(low), float(high)


def compare_one_class(scores_a, scores_b, classes, normal=None, n_boot: int = 1000,
                      seed: int = 0, level: float = 0.95) -> dict:
    """Mean one-class AUROC of a minus that of b (both (K, n), same images), paired interval.

    Returns {"mean_a", "mean_b", "diff", "low", "high", "verdict"} ("higher", "lower" or
    "within the noise").
    """
    (mean_a, boot_a), (mean_b, boot_b) = _one_class_means([scores_a, scores_b], classes, normal,
                                                          n_boot, seed)
    low, high = np.quantile(boot_a - boot_b, [(1 - level) / 2, (1 + level) / 2])
    return {"mean_a": mean_a, "mean_b": mean_b, "diff": mean_a - mean_b, "low": float(low),
            "high": float(high), "verdict": verdict(float(low), float(high))}


# ---------------------------------------------------------------------------------------------
# over seeds: the t interval of per-seed paired differences (02)
# ---------------------------------------------------------------------------------------------


def paired_t_interval(diffs, level: float = 0.95) -> tuple[float, float]:
    """(low, high): the t confidence interval of the mean of per-seed paired differences
    (same units as diffs); (-inf, inf) from one seed, which supports no verdict."""
    from scipy.stats import t

    n = len(diffs)
    if n < 2:
        return float("-inf"), float("inf")
    m = sum(diffs) / n
    sd = (sum((d - m) ** 2 for d in diffs) / (n - 1)) ** 0.5
    half = t.ppf(0.5 + level / 2, n - 1) * sd / n ** 0.5
    return m - half, m + half


def seeds_verdict(diffs, above: str = "higher", below: str = "lower") -> str:
    """`above`/`below` where the t interval of per-seed paired differences excludes 0, else
    "within the noise"."""
    return verdict(*paired_t_interval(diffs), above, below)


# ---------------------------------------------------------------------------------------------
# a mean over items, a share of n, a number from a few seeds
# ---------------------------------------------------------------------------------------------

def seed_range(values) -> dict:
    """One number measured from several seeds: {"mean", "low", "high"} (mean, smallest, largest)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("seed_range needs at least one value")
    return {"mean": sum(values) / len(values), "low": min(values), "high": max(values)}


def ranges_apart(a: dict, b: dict) -> bool:
    """True when every seed's value of a lies above every seed's value of b (a["low"] > b["high"]):
    the seed-level verdict of 01 and 06 ("higher in every seed")."""
    return a["low"] > b["high"]


def mean_ci(values, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple:
    """(mean, low, high): the mean of values (n,) and its percentile bootstrap interval over items;
    pass a paired difference (a - b on the same items) to compare two models (04)."""
    v = torch.as_tensor(values, dtype=torch.float64).flatten()
    if len(v) < 2 or n_boot < 1 or not 0 < level < 1:
        raise ValueError(f"need >= 2 values, n_boot >= 1 and level in (0, 1); got {len(v)}, "
                         f"{n_boot}, {level}")
    g = torch.Generator().manual_seed(seed)
    boot = v[torch.randint(len(v), (n_boot, len(v)), generator=g)].mean(1)
    low, high = torch.quantile(boot, torch.tensor([(1 - level) / 2, (1 + level) / 2],
                                                  dtype=torch.float64)).tolist()
    return v.mean().item(), low, high


def proportion_ci(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95% for z = 1.96) of a proportion successes / n: (low, high).

    How far an accuracy measured on n samples would move on another n from the same source (05).
    """
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got {successes} of {n}")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5 / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
