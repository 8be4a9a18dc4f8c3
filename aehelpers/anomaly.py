"""Anomaly detection by reconstruction error: scores, AUROC, a normal-data threshold, PCA baseline.

    scores = anomaly.reconstruction_scores(model, x, score="mse")  # (N,), higher = more anomalous
    auc = anomaly.auroc(scores, labels)  # labels: 1 = anomaly, 0 = normal
    t = anomaly.threshold_at_fpr(anomaly.reconstruction_scores(model, x_val_normal), fpr=0.05)
    anomaly.confusion(scores, labels, t)  # tn, fp, fn, tp, f1 at t
    pca = anomaly.PCABaseline(n_components=16).fit(x_train)  # the honest baseline
    train.fit(..., callbacks=[anomaly.AurocCallback(x_val, y_val)])  # logs val_auroc per epoch
    anomaly.reconstruction_scores(model, x, score="max_log")  # where the error is (07)
    anomaly.threshold_report(val_normal_scores, scores, labels, fpr=0.05)  # all of it at once
    anomaly.separation(scores, labels)  # log-score gap in normal standard deviations (03)

An autoencoder trained on normal images only reconstructs what it has learned; an image unlike the
training set reconstructs badly, so its reconstruction error is its anomaly score. The threshold is
chosen on held-out *normal* images alone (a target false-positive rate), because in practice
labelled anomalies are rare; AUROC needs both classes and measures separation over every threshold.

Introduced in 03_anomaly_cats; the error-map scores and the prevalence-aware F1 threshold in
07_well_leaks. How sure a number is (bootstrap intervals of AUROC, F1 and separation, paired
comparisons, their verdict words) is `stats`, which builds on the scores checked here. 03's
synthetic anomalies (`noise.blemish`) and the students' masks (`noise.student_mask`) are
corruptions, so they live in `noise`. This module imports nothing else from the package (a model
is any callable x -> x_hat), except `metrics` for SSIM.
"""

from __future__ import annotations

import numpy as np
import torch

from .metrics import gaussian_blur, mse_per_image, ssim

# ---------------------------------------------------------------------------------------------
# scores: one number per image, higher = more anomalous
# ---------------------------------------------------------------------------------------------


def mse_score(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reconstruction MSE per image (mean over C, H, W; pixel units squared): shape (N,)."""
    return mse_per_image(x_hat, x)


def ssim_score(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """1 - SSIM per image (0 = structurally identical, up to 2): shape (N,)."""
    return 1 - ssim(x_hat, x)


def error_map(x_hat: torch.Tensor, x: torch.Tensor, relative: bool = True, sigma: float = 1.0,
              eps: float = 0.02) -> torch.Tensor:
    """Where the reconstruction is wrong: a smoothed squared error per pixel, (N, 1, H, W).

    relative=True compares log(x_hat + eps) with log(x + eps) (pixels clamped to [0, 1]): a
    shadow or a spill that removes 60% of the light gives the same error on a dark crop as on a
    bright one, where plain differences shrink with the exposure. The signed difference is
    blurred (Gaussian, sigma px) *before* squaring, so a coherent blob survives while the +/-
    fringe of an edge drawn a pixel off cancels; then the square is averaged over channels.
    """
    if relative:  # clamped: a linear model (PCA) can overshoot [0, 1], and log needs > 0
        d = torch.log(x_hat.clamp(0, 1) + eps) - torch.log(x.clamp(0, 1) + eps)
    else:
        d = x_hat - x
    return (gaussian_blur(d, sigma) if sigma > 0 else d).pow(2).mean(1, keepdim=True)


def max_error_score(x_hat: torch.Tensor, x: torch.Tensor, relative: bool = True,
                    sigma: float = 1.0, eps: float = 0.02, mask=None) -> torch.Tensor:
    """The largest value of `error_map` per image, (N,): finds one bad spot, not a mean over all.

    mask (N, 1, H, W) bool, optional: look only where it is True (e.g. inside a padded crop,
    wells.content_mask); an image with an empty mask scores 0.
    """
    e = error_map(x_hat, x, relative, sigma, eps)
    if mask is not None:
        e = torch.where(mask.to(e.device).expand_as(e), e, torch.zeros_like(e))
    return e.flatten(1).amax(1)


def max_log_score(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Max of the blurred (sigma 1 px) relative error map per image: shape (N,)."""
    return max_error_score(x_hat, x, relative=True)


def max_sq_score(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Max of the blurred (sigma 1 px) squared error map per image: shape (N,)."""
    return max_error_score(x_hat, x, relative=False)


def l1_score(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean absolute reconstruction error per image (pixel units): shape (N,)."""
    return (x_hat - x).abs().flatten(1).mean(1)


SCORES = {"mse": mse_score, "ssim": ssim_score, "max_sq": max_sq_score, "max_log": max_log_score,
          "l1": l1_score}


def score_loss(score: str = "l1"):
    """A training loss from a score (03's "change the loss?"): loss(x_hat, x) = the score summed
    over images / N, times C*H*W for the pixel means ("mse", "l1") so its scale is that of
    losses.mse (per image); "ssim" trains on 1 - SSIM per image."""
    if score not in SCORES:
        raise ValueError(f"unknown score {score!r}: use one of {list(SCORES)}")

    def loss(x_hat, x):
        per_image = SCORES[score](x_hat, x)
        scale = x[0].numel() if score in ("mse", "l1") else 1
        return per_image.sum() * scale / len(x)
    return loss


def _check_images(x, what="x"):
    if not torch.is_tensor(x) or x.ndim != 4:
        got = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"{what}: expected a batch of images (N, C, H, W) as a tensor, got {got}")
    if len(x) == 0:
        raise ValueError(f"{what}: no images (N = 0)")


@torch.no_grad()
def reconstruction_scores(model, x: torch.Tensor, score: str = "mse", batch_size: int = 256,
                          device=None) -> torch.Tensor:
    """Anomaly score per image of x (N, C, H, W) under model (callable x -> x_hat): (N,) CPU."""
    if score not in SCORES:
        raise ValueError(f"unknown score {score!r}: use one of {list(SCORES)}")
    _check_images(x)
    if device is None and isinstance(model, torch.nn.Module):
        device = next(model.parameters()).device
    if isinstance(model, torch.nn.Module):
        was_training = model.training
        model.eval()  # BatchNorm uses its running statistics, dropout is off
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(device) if device is not None else x[i:i + batch_size]
        x_hat = model(xb)
        x_hat = x_hat[0] if isinstance(x_hat, tuple) else x_hat  # a VAE returns (x_hat, mu, logvar)
        out.append(SCORES[score](x_hat, xb).float().cpu())
    if isinstance(model, torch.nn.Module):
        model.train(was_training)
    return torch.cat(out)


# ---------------------------------------------------------------------------------------------
# separation over all thresholds: ROC curve and AUROC
# ---------------------------------------------------------------------------------------------


def as_scores(scores, labels=None):
    """Scores as a float64 numpy array (and labels as 0/1 ints), checked: 1-D, finite, matched."""
    s = np.asarray(scores.detach().cpu() if torch.is_tensor(scores) else scores, dtype=np.float64)
    if s.ndim != 1 or len(s) == 0:
        raise ValueError(f"scores: expected a non-empty 1-D array, got shape {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError(f"scores contain {np.sum(~np.isfinite(s))} NaN/inf value(s)")
    if labels is None:
        return s
    y = np.asarray(labels.detach().cpu() if torch.is_tensor(labels) else labels)
    if y.shape != s.shape:
        raise ValueError(f"scores {s.shape} and labels {y.shape} must have the same length")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"labels must be 0 (normal) or 1 (anomaly), got values {np.unique(y)[:5]}")
    return s, y.astype(int)


def need_both_classes(y):
    """Raise a ValueError that names the missing class when labels y hold only one class."""
    if y.min() == y.max():
        which = "anomalies" if y.max() == 0 else "normal images"
        raise ValueError(f"AUROC and the ROC curve need both classes; the labels hold no {which}")


def auroc(scores, labels) -> float:
    """Area under the ROC curve: P(a random anomaly outscores a random normal image)."""
    from sklearn.metrics import roc_auc_score

    s, y = as_scores(scores, labels)
    need_both_classes(y)
    return float(roc_auc_score(y, s))


def roc_curve(scores, labels):
    """(fpr, tpr, thresholds) over all thresholds, as numpy arrays (sklearn.metrics.roc_curve)."""
    from sklearn.metrics import roc_curve as sk_roc_curve

    s, y = as_scores(scores, labels)
    need_both_classes(y)
    fpr, tpr, thresholds = sk_roc_curve(y, s)
    return fpr, tpr, thresholds


def separation_rows(y, s):
    """Separation of each row of scores s (B, n) against labels y (n,): numpy, (B,)."""
    log_s = np.log(np.maximum(s, 1e-12))
    normal, anomalous = log_s[:, y == 0], log_s[:, y == 1]
    return (anomalous.mean(1) - normal.mean(1)) / normal.std(1, ddof=1)


def separation(scores, labels) -> float:
    """(mean log score of anomalies - mean log score of normal images) / sd of normal log scores."""
    return float(separation_rows(np.asarray(labels), np.asarray(scores, dtype=np.float64)[None])[0])


def labelled(normal: torch.Tensor, *anomalies: torch.Tensor):
    """Join normal images and anomaly batches into (x, labels); label 0 = normal, 1 = anomaly."""
    parts = [normal, *anomalies]
    for i, p in enumerate(parts):
        _check_images(p, "normal" if i == 0 else f"anomalies[{i - 1}]")
    y = torch.cat([torch.zeros(len(normal), dtype=torch.long)]
                  + [torch.ones(len(a), dtype=torch.long) for a in anomalies])
    return torch.cat(parts), y


# ---------------------------------------------------------------------------------------------
# one threshold, chosen on normal data only, and what it gives
# ---------------------------------------------------------------------------------------------


def threshold_at_fpr(normal_scores, fpr: float = 0.05) -> float:
    """Threshold from held-out NORMAL scores: at most a fraction `fpr` of them lie above it.

    An image is flagged anomalous when its score > threshold. With n normal scores, the threshold
    is the (k+1)-th largest, k = floor(fpr * n), so exactly k are flagged when there are no ties.
    No anomaly is needed, which is how it can be set before any anomaly has been seen.
    """
    if not 0 <= fpr < 1:
        raise ValueError(f"fpr is a fraction in [0, 1), got {fpr}")
    s = np.sort(as_scores(normal_scores))
    k = int(np.floor(fpr * len(s) + 1e-9))  # the 1e-9 keeps 0.05 * 100 from becoming 4.999...
    return float(s[len(s) - 1 - k])


def confusion(scores, labels, threshold: float) -> dict:
    """Counts and rates at `threshold` (flag = score > threshold): tn, fp, fn, tp, precision,
    recall (= true-positive rate), fpr, f1 and accuracy."""
    s, y = as_scores(scores, labels)
    flag = s > threshold
    tp = int(np.sum(flag & (y == 1)))
    fp = int(np.sum(flag & (y == 0)))
    fn = int(np.sum(~flag & (y == 1)))
    tn = int(np.sum(~flag & (y == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0  # nothing flagged: no precision to speak of
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp, "precision": precision, "recall": recall,
            "fpr": fp / (fp + tn) if fp + tn else 0.0, "f1": f1, "accuracy": (tp + tn) / len(y),
            "threshold": float(threshold)}


def threshold_max_f1(scores, labels, prevalence: float | None = None) -> float:
    """Threshold (flag = score > t) with the highest F1 on labelled scores; ties: the lowest t.

    Needs labelled anomalies, so choose it on a validation split, never on the test set (07).
    prevalence: the share of anomalies where the threshold will be used. A validation split
    richer in anomalies than that (07: 40% against 25%) pulls max-F1 towards "flag everything";
    given the prevalence, F1 is computed from the split's true- and false-positive rates as if
    anomalies made up that share: F1 = 2 p TPR / (p + p TPR + (1 - p) FPR).
    """
    s = torch.as_tensor(scores, dtype=torch.float64).flatten()
    y = torch.as_tensor(labels).flatten().bool()
    if len(s) != len(y) or not y.any():
        raise ValueError("threshold_max_f1 needs one label per score and at least one anomaly")
    candidates = torch.cat([s.unique(), s.min().view(1) - 1])  # each score, and 'flag everything'
    flags = s[None, :] > candidates[:, None]
    tp = (flags & y).sum(1).double()
    if prevalence is None:
        f1 = 2 * tp / (flags.sum(1) + y.sum())  # 2 TP / (2 TP + FP + FN)
    else:
        if not 0 < prevalence < 1:
            raise ValueError(f"prevalence is a fraction in (0, 1), got {prevalence}")
        if y.all():
            raise ValueError("threshold_max_f1 with a prevalence needs normal scores too")
        tpr, fpr = tp / y.sum(), (flags & ~y).sum(1).double() / (~y).sum()
        p = prevalence
        f1 = 2 * p * tpr / (p + p * tpr + (1 - p) * fpr)
    return float(candidates[int(torch.argmax(f1))])


def f1_flag_all(labels_or_prevalence) -> float:
    """F1 of flagging every image, 2p / (1 + p) at a share p of anomalies: the floor beside an F1."""
    p = labels_or_prevalence
    if not isinstance(p, float):
        p = float(torch.as_tensor(p).float().mean())
    return 2 * p / (1 + p)


def precision_recall(scores, labels):
    """(precision, recall, average precision) over all thresholds, as numpy arrays and a float."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    s, y = torch.as_tensor(scores).numpy(), torch.as_tensor(labels).numpy()
    precision, recall, _ = precision_recall_curve(y, s)
    return precision, recall, float(average_precision_score(y, s))


def threshold_report(val_normal_scores, test_scores, test_labels, fpr: float = 0.05) -> dict:
    """AUROC on the test set plus the confusion at the threshold set on normal validation scores."""
    threshold = threshold_at_fpr(val_normal_scores, fpr)
    out = confusion(test_scores, test_labels, threshold)
    out["auroc"] = auroc(test_scores, test_labels)
    out["target_fpr"] = fpr
    return out


# ---------------------------------------------------------------------------------------------
# baseline: PCA reconstruction error
# ---------------------------------------------------------------------------------------------


class PCABaseline:
    """Linear autoencoder by PCA: fit on normal training images; score = reconstruction error."""

    def __init__(self, n_components: int = 16, seed: int = 0):
        if n_components < 1:
            raise ValueError(f"n_components must be >= 1, got {n_components}")
        self.n_components, self.seed, self.pca, self.shape = n_components, seed, None, None

    def fit(self, x: torch.Tensor) -> PCABaseline:
        """Fit the principal components on normal images x (N, C, H, W); return self."""
        from sklearn.decomposition import PCA

        _check_images(x)
        k = min(self.n_components, len(x), x[0].numel())  # PCA cannot have more components
        self.shape = tuple(x.shape[1:])
        self.pca = PCA(n_components=k, random_state=self.seed).fit(x.flatten(1).cpu().numpy())
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Project x onto the components and back: x_hat with x's shape (a model-like callable)."""
        if self.pca is None:
            raise RuntimeError("PCABaseline is not fitted: call .fit(x_train) first")
        _check_images(x)
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"PCA was fitted on images of shape {self.shape}, "
                             f"got {tuple(x.shape[1:])}")
        flat = x.flatten(1).cpu().numpy()
        back = self.pca.inverse_transform(self.pca.transform(flat))
        return torch.from_numpy(back).float().view_as(x.cpu()).to(x.device)

    def score(self, x: torch.Tensor, score: str = "mse") -> torch.Tensor:
        """Anomaly score per image (reconstruction MSE, or 1 - SSIM): shape (N,)."""
        return reconstruction_scores(self, x, score=score)


# ---------------------------------------------------------------------------------------------
# a train.fit callback: separation per epoch
# ---------------------------------------------------------------------------------------------


class AurocCallback:
    """Callback for train.fit: logs the AUROC of `score` on (x, labels) after every epoch.

    Keeps the weights of the epoch with the highest AUROC (`restore(model)` loads them). Choosing
    the epoch this way needs labelled anomalies in the validation set; without them, stop on the
    normal validation loss instead (train.EarlyStopping).
    """

    def __init__(self, x: torch.Tensor, labels, score: str = "mse", key: str = "val_auroc",
                 keep_best: bool = True):
        _check_images(x)
        need_both_classes(as_scores(np.zeros(len(x)), labels)[1])
        self.x, self.labels, self.score, self.key, self.keep_best = x, labels, score, key, keep_best
        self.best, self.best_epoch, self.best_state = -np.inf, 0, None

    def __call__(self, epoch, model, history):
        value = auroc(reconstruction_scores(model, self.x, self.score), self.labels)
        history.log(self.key, value)
        if value > self.best:
            self.best, self.best_epoch = value, epoch
            if self.keep_best:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return False  # never stops training: it only watches

    def restore(self, model):
        """Load the weights of the best-AUROC epoch into model."""
        if self.best_state is None:
            raise RuntimeError("no epoch seen yet (or keep_best=False)")
        model.load_state_dict(self.best_state)
