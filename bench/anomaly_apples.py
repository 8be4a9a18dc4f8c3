"""Apples vs cats, the original assignment: AUROC of the autoencoder vs the PCA baseline.

    AEH_DATA=/path/to/data python bench/anomaly_apples.py            # ~2 min on 2 idle CPU cores
    AEH_DATA=/path/to/data python bench/anomaly_apples.py --record   # also into metrics.json

The setting of the `full` profile of notebooks/03_anomaly_cats.ipynb (its main comparison only):
Fruits-360 apples resized to 48x48 RGB, trained on the Training folder; the Validation folder is
split in half, one half normal validation (stopping, threshold), the other the normal test set,
against the cat photos of <AEH_DATA>/anomalies/ (a handful: each cat is 1/n_cats of the AUROC).
ConvAE with a 1x1 code of 16 numbers, MSE loss, Adam 3e-3, batch 64, the weights of the lowest
normal validation loss; PCA with 16 components on the same training images. `--record` writes
the numbers as apples_* keys into media/03_anomaly_cats/metrics.json (the report quotes them).
"""

from __future__ import annotations

import argparse
import json
import time

from aehelpers import anomaly, config, data, losses, models, reports, train

SIZE, LATENT_DIM, CHANNELS, LR, BATCH_SIZE, FPR = 48, 16, (16, 32), 3e-3, 64, 0.05


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args(argv)
    cfg = config.setup("03_anomaly_cats", profile="default", seed=args.seed)
    start = time.perf_counter()
    # Fruits-360 images are frames of one rotating fruit, so a random split of Training leaves
    # near-copies on both sides and a threshold set there is too low for new apples. The normal
    # validation set (stopping, threshold) is one half of the Validation folder, the test the other.
    train_set = data.fruits360("Training", size=SIZE)
    test_set, val_set, _ = data.split(data.fruits360("Validation", size=SIZE), val=0.5, test=0.0,
                                      seed=args.seed)
    test_normal = test_set.x
    cats = data.cat_photos(size=SIZE).x
    x_test, y_test = anomaly.labelled(test_normal, cats)

    model = models.ConvAE(train_set.shape, latent_dim=LATENT_DIM, channels=CHANNELS)
    loaders = data.loaders(train_set, val_set, batch_size=BATCH_SIZE, seed=args.seed,
                           device=cfg.device)
    by_loss = train.EarlyStopping("val_loss", patience=args.epochs + 1)  # watches, never stops
    history = train.fit(model, *loaders, loss=losses.mse, num_epochs=args.epochs, lr=LR,
                        callbacks=[by_loss], progress=False)
    by_loss.restore(model)
    pca = anomaly.PCABaseline(LATENT_DIM, seed=args.seed).fit(train_set.x)
    out = {"apples_setting": f"{SIZE}x{SIZE} RGB, {args.epochs} epochs, latent {LATENT_DIM}, "
                             f"PCA {LATENT_DIM} components, seed {args.seed}",
           "apples_n_train": len(train_set), "apples_n_test_normal": len(test_normal),
           "apples_n_cats": len(cats), "apples_best_epoch": by_loss.best_epoch}
    for score in ("mse", "ssim"):
        ae_eval = anomaly.evaluate(
            anomaly.reconstruction_scores(model, val_set.x.to(cfg.device), score),
            anomaly.reconstruction_scores(model, x_test.to(cfg.device), score), y_test, FPR)
        pca_eval = anomaly.evaluate(pca.score(val_set.x, score), pca.score(x_test, score),
                                    y_test, FPR)
        suffix = "" if score == "mse" else "_ssim"
        out.update({f"apples_auroc_ae{suffix}": ae_eval["auroc"],
                    f"apples_auroc_pca{suffix}": pca_eval["auroc"],
                    f"apples_recall_ae{suffix}": ae_eval["recall"],
                    f"apples_recall_pca{suffix}": pca_eval["recall"],
                    f"apples_test_fpr_ae{suffix}": ae_eval["fpr"]})
    out["apples_seconds"] = round(time.perf_counter() - start, 1)
    out["apples_train_seconds"] = round(sum(history["seconds"]), 1)
    print(json.dumps(out, indent=1))
    if args.record:
        reports.record(**out)
    return out


if __name__ == "__main__":
    main()
