"""Quality table 5: our models on the real MNIST test set, beside the published figures.

    result = quality.run(root, quick=False)     # None-free dict of rows; a note when data is absent

The real data is the 10,000-image MNIST test set that ships in data/ (or $AEH_DATA, or --data),
cut as every notebook cuts it (`data.mnist_splits`): 8,000 images to train on and 1,000 held-out
test images. Published figures are those the project's anchor list gives (pytorch/examples,
the Keras blog, Deep-MSVDD); each row says how its setup differs from ours.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import common
import torch

from aehelpers import anomaly, data, losses, models, train

# published figures, each with its source and setup
PUBLISHED = {
    "vae_neg_elbo": ("106.66 at epoch 7, about 105.6 at epoch 10",
                     "pytorch/examples vae/main.py: MLP 784-400-20, 60,000 training images, Adam "
                     "1e-3, batch 128, BCE on grey pixels, one sample (106.66: the script's log; "
                     "105.6: third-party runs of the same script)"),
    "ae_bce_per_pixel": ("0.09 dense, 0.094 conv",
                         "Keras blog, 60,000 images, 50 epochs: a dense 784-32-784 AE (0.09, the "
                         "anchor notebook 01 quotes) and a conv AE with a 128-d code (0.094)"),
    "auroc_digit0_ae": (0.986, "Deep-MSVDD-PyTorch README: deep conv AE, digit 0, 5 seeds, "
                               "balanced test"),
    "auroc_digit0_pca": (0.972, "Deep-MSVDD-PyTorch README: OC-SVM on PCA features, digit 0"),
    "auroc_mean_dsvdd": (0.95, "Ruff et al. 2018 (Deep SVDD), mean over digits"),
}


def find_data(root=None) -> Path | None:
    """The folder holding MNIST/raw/: --data, else $AEH_DATA, else the repository's shipped data/."""
    candidates = [root, os.environ.get("AEH_DATA"), common.REPO_ROOT / "data"]
    for c in candidates:
        if c and (Path(c) / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz").exists():
            return Path(c)
    return None


def split_mnist(root: Path, quick: bool):
    """(train, test) of the course's one MNIST split, 8,000 / 1,000 (1,000 / 500 quick)."""
    train_set, _, test_set = data.mnist_splits("default", root=root)
    if quick:
        return train_set.subset(range(1_000)), test_set.subset(range(500))
    return train_set, test_set


def _fit(model, train_set, num_epochs, batch_size=128, lr=1e-3, **kw):
    loader = data.TensorLoader(train_set, batch_size=batch_size, shuffle=True, seed=0)
    return train.fit(model, loader, num_epochs=num_epochs, lr=lr, device="cpu",
                     progress=False, **kw)


# ---------------------------------------------------------------------------------------------
# reconstruction and likelihood
# ---------------------------------------------------------------------------------------------


def autoencoder(train_set, test_set, num_epochs: int) -> dict:
    """Test MSE and BCE per pixel of models.ConvAE with a 2-D latent, trained with BCE."""
    torch.manual_seed(0)
    model = models.ConvAE(in_shape=(1, 28, 28), latent_dim=2)
    _fit(model, train_set, num_epochs, loss=losses.bce)
    test_loader = data.TensorLoader(test_set, batch_size=500)
    pixels = test_set.x[0].numel()
    mse = train.evaluate(model, test_loader, loss=losses.mse)["loss"] / pixels
    bce = train.evaluate(model, test_loader, loss=losses.bce)["loss"] / pixels
    return {"mse_per_pixel": mse, "bce_per_pixel": bce, "bce_per_image": bce * pixels,
            "num_epochs": num_epochs}


def vae(train_set, test_set, latent_dim: int, num_epochs: int) -> dict:
    """One-sample test negative ELBO (nats/image, BCE on grey pixels) of models.ConvVAE."""
    torch.manual_seed(0)
    model = models.ConvVAE(in_shape=(1, 28, 28), latent_dim=latent_dim)
    step = losses.vae_step()
    _fit(model, train_set, num_epochs, step=step)
    torch.manual_seed(0)  # the one z drawn per test image
    logs = train.evaluate(model, data.TensorLoader(test_set, batch_size=500), step=step)
    return {"neg_elbo": logs["neg_elbo"], "recon": logs["recon"], "kl": logs["kl"],
            "latent_dim": latent_dim, "num_epochs": num_epochs}


# ---------------------------------------------------------------------------------------------
# one-class MNIST: one digit is normal, the other nine are anomalies
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def _mse_scores(fn, x):
    return torch.cat([((fn(xb) - xb) ** 2).flatten(1).mean(1) for xb in x.split(500)])


def _pca_scores(x_normal, x_test, n_components):
    return anomaly.PCABaseline(n_components=n_components).fit(x_normal).score(x_test)


def one_class(train_set, test_set, num_epochs: int, code: int = 16) -> dict:
    """AUROC per digit: ConvAE (code numbers) and PCA (as many components), MSE score."""
    rows = {}
    for digit in range(10):
        normal = train_set.subset(train_set.y == digit)
        labels = (test_set.y != digit).long()  # 1 = anomaly
        torch.manual_seed(digit)
        model = models.ConvAE(in_shape=(1, 28, 28), latent_dim=code)
        _fit(model, normal, num_epochs, batch_size=32, loss=losses.mse)  # ~800 images: more steps
        model.eval()
        rows[str(digit)] = {
            "ae": anomaly.auroc(_mse_scores(model, test_set.x), labels),
            "pca": anomaly.auroc(_pca_scores(normal.x, test_set.x, code), labels),
            "n_normal": len(normal),
        }
    mean = {k: sum(r[k] for r in rows.values()) / 10 for k in ("ae", "pca")}
    return {"digits": rows, "mean": mean, "code": code, "num_epochs": num_epochs, "batch_size": 32,
            "n_test": len(test_set),
            "uses": "aehelpers.anomaly" if anomaly is not None else "sklearn directly"}


# ---------------------------------------------------------------------------------------------
# the whole table (the generative notebooks' sample quality is in their reports and seeds.pdf)
# ---------------------------------------------------------------------------------------------

def run(root=None, quick: bool = False) -> dict:
    """Every quality measurement; {'skipped': reason} when the real MNIST files are not found."""
    root = find_data(root)
    if root is None:
        return {"skipped": "no MNIST test set found (pass --data DIR or set AEH_DATA to a folder "
                           "holding MNIST/raw/t10k-*-ubyte.gz): section 5 not run"}
    epochs = ({"ae": 1, "vae": 1, "one_class": 1} if quick
              else {"ae": 6, "vae": 6, "one_class": 5})  # ~7 min on 2 idle cores
    train_set, test_set = split_mnist(root, quick)
    out = {"data": str(root), "n_train": len(train_set), "n_test": len(test_set),
           "epochs": epochs, "published": {k: v[0] for k, v in PUBLISHED.items()},
           "published_setup": {k: v[1] for k, v in PUBLISHED.items()}}
    start = time.perf_counter()
    out["ae"] = autoencoder(train_set, test_set, epochs["ae"])
    out["vae2"] = vae(train_set, test_set, 2, epochs["vae"])
    out["vae20"] = vae(train_set, test_set, 20, epochs["vae"])
    out["one_class"] = one_class(train_set, test_set, epochs["one_class"])
    out["seconds"] = time.perf_counter() - start
    return out


def rows(r: dict):
    """(table rows, one settings line per row, per-digit rows) of a run() result, for the report."""
    # the published figures are this module's constants, so a --reformat quotes today's wording
    pub, setup, e = ({k: v[0] for k, v in PUBLISHED.items()}, {k: v[1] for k, v in PUBLISHED.items()},
                     r["epochs"])
    n = f"{r['n_train']:,} training / {r['n_test']:,} held-out test images"
    oc = r["one_class"]
    table = [
        {"measure": "(a) AE test MSE per pixel, 2-D latent",
         "ours": f"{r['ae']['mse_per_pixel']:.4f}", "published": "-"},
        {"measure": "(b) AE test BCE per pixel, 2-D latent",
         "ours": f"{r['ae']['bce_per_pixel']:.3f}", "published": f"{pub['ae_bce_per_pixel']}"},
        {"measure": "(c) VAE test negative ELBO, latent 2 (nats/image)",
         "ours": f"{r['vae2']['neg_elbo']:.1f}", "published": "-"},
        {"measure": "(d) VAE test negative ELBO, latent 20 (nats/image)",
         "ours": f"{r['vae20']['neg_elbo']:.1f}", "published": f"{pub['vae_neg_elbo']}"},
        {"measure": "(e) one-class AUROC, mean of 10 digits: AE / PCA",
         "ours": f"{oc['mean']['ae']:.3f} / {oc['mean']['pca']:.3f}",
         "published": f"{pub['auroc_mean_dsvdd']} (Deep SVDD)"},
    ]
    settings = [
        f"(a), (b) ours: models.ConvAE, 2-D latent, trained with BCE for {e['ae']} epochs on {n}."
        f" Published (b): {setup['ae_bce_per_pixel']}; no published figure for a 2-D latent.",
        f"(c), (d) ours: models.ConvVAE, one-sample negative ELBO with BCE on grey pixels, Adam "
        f"1e-3, batch 128, {e['vae']} epochs on {n}. Published (d): {setup['vae_neg_elbo']}.",
        f"(e) ours: per digit, models.ConvAE with a {oc['code']}-number code and PCA with "
        f"{oc['code']} components, fitted on that digit's training images (about a tenth of "
        f"{r['n_train']:,}), {e['one_class']} epochs, MSE score, on all {oc['n_test']:,} held-out"
        f" images ({oc['uses']}). Published: {setup['auroc_mean_dsvdd']}, a different method; "
        f"per digit, only digit 0 is quoted (table below).",
    ]
    digits = [{"digit": d, "normal train images": v["n_normal"], "AE AUROC": f"{v['ae']:.3f}",
               "PCA AUROC": f"{v['pca']:.3f}",
               "published (digit 0)": (f"deep conv AE {pub['auroc_digit0_ae']}, OC-SVM on PCA "
                                       f"{pub['auroc_digit0_pca']}") if d == "0" else ""}
              for d, v in oc["digits"].items()]
    return table, settings, digits
