"""Apples vs cats, the assignment: AUROC of the autoencoder vs the PCA baseline, MSE and 1 - SSIM.

    python bench/anomaly_apples.py                      # shipped apples vs cat crops, ~1 min on 2 idle cores
    AEH_DATA=/path/to/data python bench/anomaly_apples.py --cats photos --epochs 30 --batch-size 64
                                                        # whole Fruits-360 vs your cat photos

The main comparison of notebooks/03_anomaly_cats.ipynb alone, in its setting: Fruits-360 apples
(data.fruits360 reads the apples shipped in data/, or the whole dataset in $AEH_DATA) resized to
48x48 RGB, trained on the Training folder; the Validation folder is split in half (seeded), one
half normal validation (stopping, threshold), the other the normal test set. Test anomalies:
crops of scikit-image's cat photo (`--cats crops`, seed 0, as the notebook's default) or the
photos in <AEH_DATA>/anomalies/ (`--cats photos`, as its `full` profile; a handful of photos:
each cat is 1/n_cats of the AUROC). ConvAE with a 1x1 code of 16 numbers, MSE loss, Adam 3e-3,
the weights of the lowest normal validation loss; PCA with 16 components on the same apples.
The numbers go to bench/results/anomaly_apples.json (never into the notebook's metrics.json,
which only the notebook writes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo's aehelpers

import common  # noqa: E402

from aehelpers import anomaly, config, data, losses, models, train  # noqa: E402

SIZE, LATENT_DIM, CHANNELS, LR, FPR = 48, 16, (16, 32), 3e-3, 0.05


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cats", choices=("crops", "photos"), default="crops",
                        help="test anomalies: crops of scikit-image's cat (default) or "
                             "<AEH_DATA>/anomalies/")
    args = parser.parse_args(argv)
    config.seed_everything(args.seed)  # not config.setup: that would start 03's metrics afresh
    device = config.pick_device()
    start = time.perf_counter()
    # Fruits-360 images are frames of one rotating fruit, so a random split of Training leaves
    # near-copies on both sides and a threshold set there is too low for new apples. The normal
    # validation set (stopping, threshold) is one half of the Validation folder, the test the other.
    train_set = data.fruits360("Training", size=SIZE)
    val_set, test_set, _ = data.split(data.fruits360("Validation", size=SIZE), val=0.5, test=0.0,
                                      seed=args.seed)
    if args.cats == "photos":
        cats = data.cat_photos(size=SIZE)
    else:
        cats = data.cat_crops(n=100, size=SIZE, seed=0, grey=False)
    x_test, y_test = anomaly.labelled(test_set.x, cats.x)

    model = models.ConvAE(train_set.shape, latent_dim=LATENT_DIM, channels=CHANNELS)
    loaders = data.loaders(train_set, val_set, batch_size=args.batch_size, seed=args.seed,
                           device=device)
    by_loss = train.EarlyStopping("val_loss", patience=args.epochs + 1)  # watches, never stops
    history = train.fit(model, *loaders, loss=losses.mse, num_epochs=args.epochs, lr=LR,
                        callbacks=[by_loss], progress=False)
    by_loss.restore(model)
    pca = anomaly.PCABaseline(LATENT_DIM, seed=args.seed).fit(train_set.x)
    out = {"setting": f"{SIZE}x{SIZE} RGB, {args.epochs} epochs, batch {args.batch_size}, "
                      f"latent {LATENT_DIM}, PCA {LATENT_DIM} components, seed {args.seed}",
           "normal": train_set.source, "anomalies": cats.source, "n_train": len(train_set),
           "n_val_normal": len(val_set), "n_test_normal": len(test_set), "n_cats": len(cats),
           "best_epoch": by_loss.best_epoch}
    for score in ("mse", "ssim"):
        ae_eval = anomaly.threshold_report(anomaly.reconstruction_scores(model, val_set.x, score),
                                   anomaly.reconstruction_scores(model, x_test, score), y_test, FPR)
        pca_eval = anomaly.threshold_report(pca.score(val_set.x, score), pca.score(x_test, score),
                                    y_test, FPR)
        out[score] = {"auroc_ae": ae_eval["auroc"], "auroc_pca": pca_eval["auroc"],
                      "recall_ae": ae_eval["recall"], "recall_pca": pca_eval["recall"],
                      "false_alarms_ae": ae_eval["fpr"], "false_alarms_pca": pca_eval["fpr"]}
    out["seconds"] = round(time.perf_counter() - start, 1)
    out["train_seconds"] = round(sum(history["seconds"]), 1)
    print(json.dumps(out, indent=1))
    path = common.save("anomaly_apples", {"environment": common.environment(), **out})
    print(f"wrote {path.relative_to(common.REPO_ROOT)}")
    return out


if __name__ == "__main__":
    main()
