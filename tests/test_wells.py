"""Tests for aehelpers.wells: seeded well generator, folder loader, augmentation, F1 threshold."""

import pytest
import torch
from PIL import Image

from aehelpers import anomaly, data, wells


def test_same_seed_gives_identical_tensors_and_another_seed_does_not():
    a = wells.render(10, leak=True, seed=3)
    b = wells.render(10, leak=True, seed=3)
    c = wells.render(10, leak=True, seed=4)
    assert torch.equal(a.x, b.x)
    assert not torch.equal(a.x, c.x)


def test_shapes_range_labels_and_classes():
    leak = torch.tensor([False, True] * 4)
    s = wells.render(8, leak=leak, seed=0, size=48, crop_range=(20, 40))
    assert isinstance(s, data.ImageSet)
    assert s.x.shape == (8, 3, 48, 48) and s.x.dtype == torch.float32
    assert s.x.min() >= 0 and s.x.max() <= 1
    assert s.y.tolist() == leak.long().tolist()
    assert s.classes == ["normal", "leak"]


def test_padding_is_black_outside_the_crop_and_crop_framing_has_none():
    padded = wells.render(6, seed=1, crop_range=(30, 40), framing="pad")
    # a crop of at most 40 px centred on 64: rows/cols 0..11 and 52..63 are always outside it
    assert padded.x[..., :12, :].max() == 0 and padded.x[..., 52:, :].max() == 0
    assert padded.x[..., :, :12].max() == 0 and padded.x[..., :, 52:].max() == 0
    assert padded.x[..., 24:40, 24:40].min(dim=1).values.mean() > 0.05  # the well itself is lit
    cropped = wells.render(6, seed=1, crop_range=(30, 40), framing="crop")
    assert (cropped.x.amax(dim=1) > 0).float().mean() > 0.99  # (almost) no black pixel left


def test_leaks_darken_pixels_near_the_rim_and_nowhere_else():
    normal = wells.render(12, leak=False, seed=7, noise=0.0)
    leak = wells.render(12, leak=True, seed=7, noise=0.0)  # same scenes, leak added
    diff = normal.x - leak.x
    assert diff.min() >= -1e-6  # a spill only darkens
    darkened = diff.amax(dim=1) > 0.05  # (N, H, W) pixels made visibly darker
    assert darkened.flatten(1).sum(1).min() > 10  # every leak shows
    # the darkened pixels touch the centre region and end well inside the canvas
    assert darkened[:, :4, :].sum() == 0 and darkened[:, -4:, :].sum() == 0


def test_framing_does_not_change_the_scene():
    pad = wells.render(4, leak=True, seed=2, framing="pad", noise=0.0)
    crop = wells.render(4, leak=True, seed=2, framing="crop", noise=0.0)
    # the mean colour of the lit crop area matches between framings (same scene, other scale)
    lit = pad.x.amax(dim=1, keepdim=True) > 0
    mean_pad = (pad.x * lit).sum((2, 3)) / lit.sum((2, 3))
    assert torch.allclose(mean_pad, crop.x.mean((2, 3)), atol=0.03)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="framing"):
        wells.render(2, framing="zoom")
    with pytest.raises(ValueError, match="crop_range"):
        wells.render(2, crop_range=(40, 80))


def test_synthetic_sets_have_the_folder_layout_and_independent_seeds():
    sets = wells.synthetic(n_train=6, n_leak=3, n_test_normal=4, n_test_leak=2, seed=0)
    assert set(sets) == {"train", "leak", "test"}
    assert sets["train"].y.sum() == 0 and sets["leak"].y.tolist() == [1, 1, 1]
    assert sets["test"].y.tolist() == [0, 0, 0, 0, 1, 1]
    more = wells.synthetic(n_train=10, n_leak=3, n_test_normal=4, n_test_leak=2, seed=0)
    assert torch.equal(more["test"].x, sets["test"].x)  # more training data, same test set


def _write_folder(root, parts):
    for i, part in enumerate(parts):
        folder = root / part
        folder.mkdir(parents=True)
        for j in range(2):
            grey = 40 * (i + 1) + j
            Image.new("RGB", (30 + 4 * j, 30), (grey, grey, grey)).save(folder / f"{j}.png")


def test_load_folder_reads_the_layout(tmp_path):
    _write_folder(tmp_path, ["train", "leak", "test/normal", "test/leak"])
    sets = wells.load_folder(tmp_path, size=32)
    assert sets["train"].x.shape == (2, 3, 32, 32)
    assert sets["train"].y.tolist() == [0, 0] and sets["leak"].y.tolist() == [1, 1]
    test = sets["test"]
    assert test.classes == ["normal", "leak"] and sorted(test.y.tolist()) == [0, 0, 1, 1]
    # test/leak was written with grey 160-161, test/normal with 120-121: labels follow folders
    brightness = test.x.mean((1, 2, 3))
    assert (brightness[test.y == 1] > brightness[test.y == 0].max()).all()


@pytest.mark.parametrize("missing", ["train", "leak", "test/leak"])
def test_load_folder_names_the_missing_part(tmp_path, missing):
    parts = [p for p in ["train", "leak", "test/normal", "test/leak"] if p != missing]
    _write_folder(tmp_path, parts)
    with pytest.raises(data.DatasetNotFoundError, match=f"lacks {missing}"):
        wells.load_folder(tmp_path)


def test_load_folder_without_the_folder_says_where_it_looked(tmp_path):
    with pytest.raises(data.DatasetNotFoundError, match="does not exist.*train/"):
        wells.load_folder(tmp_path / "nowhere")


def test_augment_keeps_shape_and_range_and_is_seeded():
    x = wells.render(5, seed=0).x
    a = wells.augment(x, torch.Generator().manual_seed(1))
    b = wells.augment(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and a.min() >= 0 and a.max() <= 1
    same = wells.augment(x, torch.Generator(), flip=False, shift=0, brightness=0)
    assert torch.equal(same, x)


def test_augmented_step_changes_training_batches_only():
    seen = []
    step = wells.augmented_step(lambda model, batch, epoch: seen.append(batch[0]), seed=0)
    model = torch.nn.Identity()
    x = wells.render(4, seed=0).x
    model.train()
    step(model, (x, None))
    model.eval()
    step(model, (x, None))
    assert not torch.equal(seen[0], x) and torch.equal(seen[1], x)


def test_threshold_max_f1_finds_the_separating_threshold():
    scores = torch.tensor([0.1, 0.2, 0.3, 0.8, 0.9])
    labels = torch.tensor([0, 0, 0, 1, 1])
    t = anomaly.threshold_max_f1(scores, labels)
    assert 0.3 <= t < 0.8  # flags exactly the two anomalies
    # overlapping classes: the best F1 (0.8 here) is reached by flagging scores > 0.2
    t = anomaly.threshold_max_f1(torch.tensor([0.1, 0.2, 0.3, 0.4]), torch.tensor([0, 0, 1, 1]))
    assert t == pytest.approx(0.2)
    with pytest.raises(ValueError, match="at least one anomaly"):
        anomaly.threshold_max_f1(scores, torch.zeros(5))


def test_crop_to_content_removes_the_black_border():
    padded = wells.render(3, seed=5, framing="pad", noise=0.0)
    cropped = wells.crop_to_content(padded.x)
    assert cropped.shape == padded.x.shape
    assert (cropped.amax(dim=1) > 0).float().mean() > 0.97  # black border gone
    # and it is (nearly) the same picture as rendering the crop framing directly
    direct = wells.render(3, seed=5, framing="crop", noise=0.0).x
    assert (cropped - direct).abs().mean() < 0.03
    black = torch.zeros(1, 3, 16, 16)
    assert torch.equal(wells.crop_to_content(black), black)


def test_precision_recall_matches_a_perfect_ranking():
    precision, recall, ap = anomaly.precision_recall(torch.tensor([0.1, 0.2, 0.8, 0.9]),
                                                   torch.tensor([0, 0, 1, 1]))
    assert ap == pytest.approx(1.0) and precision.max() == 1 and recall.max() == 1


def test_difficulty_changes_darkness_only_and_hard_overlaps_leaks_with_shadows():
    easy, hard = (wells.DIFFICULTIES[k] for k in ("easy", "hard"))
    assert easy["leak_dark"][0] > easy["shadow_dark"][1]  # easy: darkness alone separates
    assert hard["leak_dark"][0] < hard["shadow_dark"][1]  # hard: the ranges overlap
    a = wells.render(8, False, seed=3, difficulty="easy", noise=0.0).x
    b = wells.render(8, False, seed=3, difficulty="hard", noise=0.0).x
    assert torch.equal(a > 0, b > 0)  # the same crops and wells: only shadows and leaks differ
    assert not torch.equal(a, b)
    with pytest.raises(ValueError, match="difficulty"):
        wells.render(2, difficulty="medium")


def test_content_mask_marks_the_crop_shrunk_by_the_erosion():
    x = torch.zeros(2, 3, 10, 10)
    x[0, :, 2:8, 3:9] = 0.5  # a 6x6 crop in a padded canvas
    x[1] = 0.5  # a crop that fills the canvas: nothing to remove at the canvas edge
    mask = wells.content_mask(x, erode=1)
    assert mask.shape == (2, 1, 10, 10) and mask.dtype == torch.bool
    assert mask[0].sum() == 4 * 4 and mask[0, 0, 3:7, 4:8].all()
    assert mask[1].all()
    assert wells.content_mask(x, erode=0)[0].sum() == 36


def test_augment_shift_is_a_window_of_the_padded_image():
    x = torch.rand(6, 3, 9, 7, generator=torch.Generator().manual_seed(0))
    out = wells.augment(x, torch.Generator().manual_seed(2), flip=False, shift=2, brightness=0)
    padded = torch.nn.functional.pad(x, (2,) * 4)
    offsets = set()
    for i in range(len(x)):
        hits = [(a, b) for a in range(5) for b in range(5)
                if torch.equal(out[i], padded[i, :, a:a + 9, b:b + 7])]
        assert hits, f"image {i} is not a shifted window"
        offsets.add(hits[0])
    assert len(offsets) > 1  # the shift is drawn per image
