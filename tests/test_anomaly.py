"""anomaly: scores, AUROC, the normal-data threshold, confusion/F1, the PCA baseline, the callback;
and the image folders that 03_anomaly_cats loads (mixed sizes and modes, corrupt files)."""

import numpy as np
import pytest
import torch
from PIL import Image

from aehelpers import anomaly, data, models, noise, train

# ---------------------------------------------------------------------------------------------
# AUROC and ROC
# ---------------------------------------------------------------------------------------------

def test_auroc_known_values():
    labels = torch.tensor([0, 0, 0, 1, 1])
    assert anomaly.auroc(torch.tensor([0.1, 0.2, 0.3, 0.8, 0.9]), labels) == 1.0  # separated
    assert anomaly.auroc(torch.tensor([0.8, 0.9, 0.7, 0.1, 0.2]), labels) == 0.0  # reversed
    assert anomaly.auroc(torch.ones(5), labels) == 0.5  # all tied: a coin flip
    # one anomaly (0.25) below one of three normals (0.3): 5 of 6 pairs ordered right
    assert anomaly.auroc([0.1, 0.2, 0.3, 0.25, 0.9], labels) == pytest.approx(5 / 6)


def test_roc_curve_runs_from_0_to_1():
    fpr, tpr, _ = anomaly.roc_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    assert fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)


@pytest.mark.parametrize("scores, labels, match", [
    ([0.1, 0.2], [0, 0], "no anomalies"),
    ([0.1, 0.2], [1, 1], "no normal"),
    ([0.1, 0.2], [0, 2], "0 \\(normal\\) or 1"),
    ([0.1, 0.2, 0.3], [0, 1], "same length"),
    ([0.1, float("nan")], [0, 1], "NaN"),
    ([], [], "non-empty"),
])
def test_auroc_bad_input(scores, labels, match):
    with pytest.raises(ValueError, match=match):
        anomaly.auroc(scores, labels)


def test_labelled_joins_with_labels():
    x, y = anomaly.labelled(torch.zeros(3, 1, 4, 4), torch.ones(2, 1, 4, 4), torch.ones(1, 1, 4, 4))
    assert x.shape == (6, 1, 4, 4)
    assert y.tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="anomalies\\[0\\]: no images"):
        anomaly.labelled(torch.zeros(3, 1, 4, 4), torch.zeros(0, 1, 4, 4))


# ---------------------------------------------------------------------------------------------
# threshold from normal data, confusion and F1
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fpr", [0.0, 0.01, 0.05, 0.1, 0.5])
def test_threshold_flags_the_target_fraction_of_normal_scores(fpr):
    normal = torch.randperm(200, generator=torch.Generator().manual_seed(1)).float()
    t = anomaly.threshold_at_fpr(normal, fpr)
    assert (normal > t).float().mean().item() == pytest.approx(fpr)


def test_threshold_known_value_and_bad_fpr():
    assert anomaly.threshold_at_fpr(np.arange(100), 0.05) == 94  # 95..99 lie above: 5 %
    with pytest.raises(ValueError, match="fraction"):
        anomaly.threshold_at_fpr(np.arange(10), 1.5)
    with pytest.raises(ValueError, match="fraction"):
        anomaly.threshold_at_fpr(np.arange(10), -0.1)


@pytest.mark.parametrize("fpr", [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.9])
def test_threshold_with_tied_scores_never_flags_more_than_the_fraction(fpr):
    # ties sit on the threshold and are not flagged (flag = score > t): at most fpr, never more
    normal = np.array([0.0] * 3 + [1.0] * 7)
    t = anomaly.threshold_at_fpr(normal, fpr)
    assert (normal > t).mean() <= fpr
    many_ties = np.random.default_rng(0).integers(0, 5, size=200).astype(float)
    assert np.mean(many_ties > anomaly.threshold_at_fpr(many_ties, fpr)) <= fpr + 1e-12
    assert anomaly.threshold_at_fpr(np.ones(10), fpr) == 1.0  # all tied: nothing flagged
    assert anomaly.threshold_at_fpr(normal, 0.5) == 1.0  # 7 tied at the top: none flagged
    assert anomaly.threshold_at_fpr(np.array([2.0, 1.0, 1.0, 0.0]), 0.25) == 1.0  # 1 of 4 above


def test_confusion_and_f1_by_hand():
    # normal: 0.1 0.2 0.6 ; anomalies: 0.7 0.3 0.9 0.4 ; threshold 0.5 flags 0.6 0.7 0.9
    c = anomaly.confusion([0.1, 0.2, 0.6, 0.7, 0.3, 0.9, 0.4], [0, 0, 0, 1, 1, 1, 1], 0.5)
    assert (c["tn"], c["fp"], c["fn"], c["tp"]) == (2, 1, 2, 2)
    assert c["precision"] == pytest.approx(2 / 3)
    assert c["recall"] == pytest.approx(2 / 4)
    assert c["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert c["fpr"] == pytest.approx(1 / 3)
    assert c["accuracy"] == pytest.approx(4 / 7)
    nothing = anomaly.confusion([0.1, 0.9], [0, 1], 1.0)  # nothing flagged: F1 0, no division error
    assert nothing["f1"] == 0 and nothing["tp"] == 0


def test_evaluate_uses_the_normal_validation_threshold():
    val_normal = np.arange(100) / 100
    out = anomaly.threshold_report(val_normal, [0.5, 0.99, 0.995], [0, 1, 1], fpr=0.05)
    assert out["threshold"] == pytest.approx(0.94)
    assert (out["tp"], out["fp"]) == (2, 0) and out["auroc"] == 1.0


# ---------------------------------------------------------------------------------------------
# scores and the PCA baseline
# ---------------------------------------------------------------------------------------------

def _stripes(n, seed, vertical=True):
    """Images made of random vertical (or horizontal) stripes: a family PCA can learn."""
    g = torch.Generator().manual_seed(seed)
    row = torch.rand(n, 1, 1, 12, generator=g).expand(n, 1, 12, 12)
    return row if vertical else row.transpose(-1, -2)


def test_pca_scores_off_distribution_images_higher():
    pca = anomaly.PCABaseline(n_components=12).fit(_stripes(200, 0))
    normal, odd = pca.score(_stripes(50, 1)), pca.score(_stripes(50, 2, vertical=False))
    assert normal.max() < 1e-8  # 12 components span every vertical-stripe image exactly
    assert odd.min() > 1e-3
    x, y = anomaly.labelled(_stripes(50, 1), _stripes(50, 2, vertical=False))
    assert anomaly.auroc(pca.score(x), y) == 1.0
    assert anomaly.auroc(pca.score(x, "ssim"), y) == 1.0


def test_pca_bad_use():
    with pytest.raises(RuntimeError, match="not fitted"):
        anomaly.PCABaseline().score(_stripes(2, 0))
    pca = anomaly.PCABaseline(50).fit(_stripes(5, 0))  # more components than images: clipped
    assert pca.pca.n_components_ == 5
    with pytest.raises(ValueError, match="fitted on images of shape"):
        pca.score(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="n_components"):
        anomaly.PCABaseline(0)


def test_reconstruction_scores_known_values_and_errors():
    x = torch.full((3, 1, 8, 8), 0.5)
    assert torch.allclose(anomaly.reconstruction_scores(lambda t: t, x), torch.zeros(3))
    shifted = anomaly.reconstruction_scores(lambda t: t + 0.1, x)
    assert torch.allclose(shifted, torch.full((3,), 0.01))
    assert torch.allclose(anomaly.reconstruction_scores(lambda t: t, x, "ssim"), torch.zeros(3),
                          atol=1e-5)
    assert anomaly.reconstruction_scores(lambda t: t, x, batch_size=2).shape == (3,)
    with pytest.raises(ValueError, match="unknown score"):
        anomaly.reconstruction_scores(lambda t: t, x, "mae")
    with pytest.raises(ValueError, match="\\(N, C, H, W\\)"):
        anomaly.reconstruction_scores(lambda t: t, x[0])


def test_auroc_callback_logs_each_epoch_and_restores_best():
    x, y = anomaly.labelled(_stripes(16, 1), _stripes(16, 2, vertical=False))
    model = models.ConvAE((1, 12, 12), latent_dim=4, channels=(8,))
    loaders = data.loaders(data.ImageSet(_stripes(32, 0)), batch_size=16)
    cb = anomaly.AurocCallback(x, y)
    history = train.fit(model, *loaders, loss=torch.nn.functional.mse_loss, num_epochs=2,
                        callbacks=[cb], progress=False)
    assert len(history["val_auroc"]) == 2
    assert all(0 <= a <= 1 for a in history["val_auroc"])
    assert cb.best == max(history["val_auroc"])
    cb.restore(model)
    auc = anomaly.auroc(anomaly.reconstruction_scores(model, x), y)
    assert auc == pytest.approx(cb.best)
    with pytest.raises(ValueError, match="both classes"):
        anomaly.AurocCallback(x, torch.zeros(len(x)))


# ---------------------------------------------------------------------------------------------
# error maps and the scores built on them (07)
# ---------------------------------------------------------------------------------------------

def test_relative_error_map_is_the_same_on_a_dark_and_a_bright_image():
    bright = torch.full((1, 3, 16, 16), 0.8)
    dark = torch.full((1, 3, 16, 16), 0.2)
    spill = torch.ones(1, 1, 16, 16)
    spill[..., 6:10, 6:10] = 0.25  # a spill that takes 75% of the light
    for relative, same in ((True, True), (False, False)):
        e_bright = anomaly.max_error_score(bright, bright * spill, relative, eps=0.0)
        e_dark = anomaly.max_error_score(dark, dark * spill, relative, eps=0.0)
        assert torch.isclose(e_bright, e_dark, rtol=1e-4).item() is same
    assert anomaly.max_error_score(bright, bright).item() == 0  # a perfect copy scores 0


def test_error_map_blurs_before_squaring_and_keeps_the_shape():
    x = torch.full((2, 3, 12, 12), 0.5)
    fringe = x.clone()
    fringe[:, :, :, 5], fringe[:, :, :, 6] = 0.6, 0.4  # an edge drawn a pixel off: +/- pair
    blob = x.clone()
    blob[:, :, :, 5:7] = 0.4  # a coherent error of the same size per pixel
    e_fringe = anomaly.error_map(fringe, x, relative=False, sigma=1.0)
    e_blob = anomaly.error_map(blob, x, relative=False, sigma=1.0)
    assert e_fringe.shape == (2, 1, 12, 12)
    assert e_fringe.max() < 0.2 * e_blob.max()  # the fringe cancels, the blob survives
    unblurred = anomaly.error_map(fringe, x, relative=False, sigma=0)
    assert torch.allclose(unblurred.amax(), torch.tensor(0.01))


def test_max_error_score_looks_only_inside_the_mask_and_takes_overshoot():
    x = torch.full((2, 1, 8, 8), 0.5)
    x_hat = x.clone()
    x_hat[:, :, 0, 0] = 0.0  # an error in the corner
    mask = torch.ones(2, 1, 8, 8, dtype=torch.bool)
    mask[1, :, :4, :4] = False  # the second image does not look near the corner (blur radius 2)
    s = anomaly.max_error_score(x_hat, x, mask=mask)
    assert s[0] > 0 and s[1] == 0
    overshoot = anomaly.reconstruction_scores(lambda t: t * 3 - 1, x, "max_log")  # PCA can do this
    assert torch.isfinite(overshoot).all()
    for name in ("max_log", "max_sq"):
        assert torch.allclose(anomaly.reconstruction_scores(lambda t: t, x, name), torch.zeros(2))


def test_threshold_max_f1_at_a_stated_prevalence():
    # validation: 6 normal, 4 anomalies (40%); two normals score among the anomalies
    scores = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.75, 0.85, 0.7, 0.8, 0.9, 0.95])
    labels = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    assert anomaly.threshold_max_f1(scores, labels) == pytest.approx(0.4)  # flags all 4 + 2 normal
    # at 5% anomalies each false alarm weighs 19 times a miss's share: flag only above 0.85
    assert anomaly.threshold_max_f1(scores, labels, prevalence=0.05) == pytest.approx(0.85)
    # at the split's own prevalence the two F1 formulas agree
    assert anomaly.threshold_max_f1(scores, labels, prevalence=0.4) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="prevalence"):
        anomaly.threshold_max_f1(scores, labels, prevalence=1.0)


def test_f1_flag_all():
    assert anomaly.f1_flag_all(0.25) == pytest.approx(0.4)
    assert anomaly.f1_flag_all(torch.tensor([0, 0, 0, 1])) == pytest.approx(0.4)
    s = torch.rand(8)
    y = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1])
    assert anomaly.confusion(s, y, -1.0)["f1"] == pytest.approx(anomaly.f1_flag_all(y))


# ---------------------------------------------------------------------------------------------
# image folders: mixed sizes and modes, corrupt files (issue 3, "bad input")
# ---------------------------------------------------------------------------------------------

def _write_mixed_folder(root):
    root = root / "images"  # tmp_path also holds the fixture's media/ folder
    (root / "normal").mkdir(parents=True)
    (root / "odd").mkdir()
    rgb = Image.new("RGB", (40, 30), (200, 30, 30))
    rgb.save(root / "normal" / "rgb.png")
    Image.new("L", (17, 50), 128).save(root / "normal" / "grey.png")
    Image.new("RGBA", (25, 25), (0, 0, 255, 0)).save(root / "odd" / "rgba_transparent.png")
    Image.new("CMYK", (64, 48), (0, 255, 255, 0)).save(root / "odd" / "cmyk.jpg")
    rgb.convert("P").save(root / "odd" / "palette.gif")
    return root


def test_image_folder_mixed_sizes_and_modes(tmp_path):
    folder = _write_mixed_folder(tmp_path)
    ds = data.image_folder(folder, size=20)
    assert ds.x.shape == (5, 3, 20, 20) and ds.classes == ["normal", "odd"]
    assert ds.y.tolist() == [0, 0, 1, 1, 1]
    assert 0 <= ds.x.min() and ds.x.max() <= 1
    # sorted by class, then name: grey, rgb | cmyk, palette, rgba_transparent
    assert ds.x[4].mean() > 0.99  # fully transparent RGBA composites onto white
    # the palette (dithered) copy of the RGB image has its colour on average
    assert torch.allclose(ds.x[3].mean((1, 2)), ds.x[1].mean((1, 2)), atol=0.03)
    cmyk = ds.x[2].mean((1, 2))  # CMYK (0, 255, 255, 0) is pure red
    assert cmyk[0] > 0.9 and cmyk[1] < 0.1 and cmyk[2] < 0.1
    grey = data.image_folder(folder, size=(12, 16), grey=True)
    assert grey.x.shape == (5, 1, 12, 16)
    assert grey.x[0].mean() == pytest.approx(128 / 255, abs=0.01)
    with pytest.raises(ValueError, match="pass size="):
        data.image_folder(folder)  # different sizes and no size=: a clear request


def test_image_folder_reports_corrupt_file_by_name(tmp_path):
    folder = _write_mixed_folder(tmp_path)
    (folder / "odd" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(ValueError, match="broken.png"):
        data.image_folder(folder, size=20)
    with pytest.warns(UserWarning, match="broken.png"):
        ds = data.image_folder(folder, size=20, on_error="skip")
    assert len(ds) == 5 and ds.skipped[0][0].endswith("broken.png")


# ---------------------------------------------------------------------------------------------
# the real apples and cats of the original assignment (skipped without ../shared/data)
# ---------------------------------------------------------------------------------------------

def test_apples_and_cat_photos_load(shared_data):
    apples = data.fruits360("Validation", size=32, root=shared_data)
    cats = data.cat_photos(size=32, root=shared_data)
    assert apples.x.shape[1:] == (3, 32, 32) and len(apples) > 100
    assert len(apples.classes) >= 2 and cats.x.shape[1:] == (3, 32, 32) and len(cats) >= 1
    assert 0 <= cats.x.min() and cats.x.max() <= 1
    # apples sit on a white background; the cat photos fill the frame
    assert apples.x.mean() > cats.x.mean()


# ---------------------------------------------------------------------------------------------
# 03's additions: score as a loss, one-class mean AUROC with its interval, students' masks,
# the blemish
# ---------------------------------------------------------------------------------------------

def test_l1_score_and_score_loss_scale():
    x = torch.zeros(2, 3, 4, 4)
    x_hat = torch.full_like(x, 0.5)
    assert anomaly.reconstruction_scores(lambda t: t + 0.5, x, "l1").tolist() == [0.5, 0.5]
    # per image: mean abs error 0.5 times 48 values = 24, averaged over the 2 images
    assert anomaly.score_loss("l1")(x_hat, x).item() == pytest.approx(24.0)
    assert anomaly.score_loss("mse")(x_hat, x).item() == pytest.approx(12.0)  # = losses.mse
    assert anomaly.score_loss("ssim")(x, x).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="unknown score"):
        anomaly.score_loss("psnr")


@pytest.mark.parametrize("kind", list(noise.STUDENT_MASK_SHARE))
def test_student_masks_zero_the_share_their_formula_says(kind):
    mask = noise.student_mask(kind, (32, 3, 24, 24), torch.Generator().manual_seed(0))
    assert mask.dtype == torch.bool
    assert mask.float().mean().item() == pytest.approx(noise.STUDENT_MASK_SHARE[kind], abs=0.01)


def test_student_gamma_mask_is_a_uniform_mask_and_noise_keeps_the_input():
    shape = (4, 3, 8, 8)
    gamma = noise.student_mask("Gamma(U, 1).mean < 0.5", shape, torch.Generator().manual_seed(3))
    assert torch.equal(gamma, torch.rand(shape, generator=torch.Generator().manual_seed(3)) < 0.5)
    x = torch.ones(shape)
    noisy = noise.student_noise("Beta(2, 2) < 0.5", torch.Generator().manual_seed(0))(x)
    assert torch.equal(x, torch.ones(shape))  # a copy: the clean target is untouched
    assert set(noisy.unique().tolist()) == {0.0, 1.0}
    with pytest.raises(ValueError, match="unknown student mask"):
        noise.student_mask("Cauchy < 0", shape)


def test_blemish_darkens_one_spot_and_is_seeded():
    x = torch.ones(3, 3, 48, 48)
    y = noise.blemish(x, darkness=0.7, seed=1)
    assert y.shape == x.shape and torch.equal(y, noise.blemish(x, darkness=0.7, seed=1))
    assert y.amin().item() == pytest.approx(0.3, abs=0.05)  # 70% of the light taken at the middle
    assert (y < 0.8).float().mean().item() < 0.05  # a small spot, not the whole image
    assert torch.equal(noise.blemish(x, darkness=0.0), x)
    with pytest.raises(ValueError, match="darkness"):
        noise.blemish(x, darkness=1.5)


def test_cut_and_shift_moves_pixels_without_changing_their_values():
    x = torch.rand(6, 3, 20, 24)
    y = noise.cut_and_shift(x, shift=(0.1, 0.2), seed=3)
    assert y.shape == x.shape and torch.equal(y, noise.cut_and_shift(x, shift=(0.1, 0.2), seed=3))
    assert not torch.equal(y, x)
    # each row is a permutation of the same row: values, and so any statistic of them, kept
    assert torch.equal(y.sort(-1).values, x.sort(-1).values)
    assert torch.equal(y[:, :, -1], x[:, :, -1])  # below the cut (at most 65% down) nothing moves
    # a known roll: 20% of 10 px is 2 px, left or right, on the top row of every image
    z = torch.rand(4, 1, 10, 10)
    top = noise.cut_and_shift(z, shift=(0.2, 0.2), seed=0)[:, 0, 0]
    for image, row in zip(z[:, 0, 0], top):
        assert torch.equal(row, image.roll(2)) or torch.equal(row, image.roll(-2))


def test_cut_and_shift_rejects_bad_input():
    with pytest.raises(ValueError, match="batch of images"):
        noise.cut_and_shift(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="fractions"):
        noise.cut_and_shift(torch.rand(2, 1, 8, 8), shift=(0.2, 1.5))
