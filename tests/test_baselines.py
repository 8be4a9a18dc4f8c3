import pytest
import torch

from aehelpers import baselines


def _grey(n, level=0.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (level + 0.05 * torch.rand(n, 1, 8, 8, generator=g)).expand(n, 3, 8, 8).clone()


def test_grey_training_images_make_colour_images_stand_out_by_saturation():
    train, grey = _grey(20), _grey(5, seed=1)
    colour = grey.clone()
    colour[:, 0] = 0.9  # a red cast
    s = baselines.statistic_scores(torch.cat([grey, colour]), train)
    assert set(s) == set(baselines.STATISTICS) and all(v.shape == (10,) for v in s.values())
    assert s["saturation"][:5].max() < 1e-6 < s["saturation"][5:].min()
    assert baselines.best_on(s, torch.tensor([0] * 5 + [1] * 5))[1] == 1.0


def test_a_dark_spot_raises_the_darkest_spot_score_but_barely_the_brightness():
    train, x = _grey(20), _grey(2, seed=2)
    x[1, :, 3:6, 3:6] = 0.05  # a 3x3 blemish
    s = baselines.statistic_scores(x, train)
    assert s["darkest"][1] > s["darkest"][0] + 0.3
    assert s["brightness"][1] < 0.1


def test_histogram_distance_is_zero_for_the_training_images_when_all_alike():
    train = torch.full((4, 3, 8, 8), 0.3)
    s = baselines.statistic_scores(torch.cat([train[:1], torch.full((1, 3, 8, 8), 0.8)]), train)
    assert s["histogram"][0] == 0 and s["histogram"][1] == pytest.approx(6.0)  # 3 channels x 2


def test_best_on_names_the_statistic_that_separates():
    y = torch.tensor([0, 0, 1, 1])
    name, auc = baselines.best_on({"a": torch.tensor([1.0, 2, 3, 4]),
                                   "b": torch.tensor([4.0, 3, 2, 1])}, y)
    assert (name, auc) == ("a", 1.0)


def test_mismatched_shapes_raise_a_clear_error():
    with pytest.raises(ValueError, match="same"):
        baselines.statistic_scores(torch.rand(2, 3, 8, 8), torch.rand(2, 1, 8, 8))
