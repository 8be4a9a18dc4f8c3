"""stats: bootstrap intervals over test images, paired comparisons, t intervals over seeds and
the verdict words they support."""

import numpy as np
import pytest
import torch

from aehelpers import anomaly, stats


def _separable(n_normal=150, n_anomaly=50, shift=1.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.cat([torch.zeros(n_normal), torch.ones(n_anomaly)]).long()
    return torch.randn(len(y), generator=g) + shift * y, y


def test_auroc_ci_brackets_the_auroc_and_narrows_with_more_data():
    s, y = _separable()
    auc, low, high = stats.auroc_ci(s, y, n_boot=500, seed=0)
    assert auc == pytest.approx(anomaly.auroc(s, y))  # ranks and sklearn agree, ties included
    assert low < auc < high
    assert stats.auroc_ci(s, y, n_boot=500, seed=0) == (auc, low, high)  # seeded
    s_big, y_big = _separable(1500, 500)
    _, low_big, high_big = stats.auroc_ci(s_big, y_big, n_boot=500, seed=0)
    assert high_big - low_big < 0.6 * (high - low)  # ten times the data: about 1/sqrt(10) as wide
    tied = stats.auroc_ci(torch.tensor([0.5, 0.5, 0.5, 0.5]), torch.tensor([0, 0, 1, 1]))
    assert tied == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError, match="both classes"):
        stats.auroc_ci(s, torch.zeros(len(s)))


def test_auroc_ci_covers_the_true_value_about_95_percent_of_the_time():
    # the true AUROC of N(0,1) against N(1.5,1) is Phi(1.5 / sqrt(2)) = 0.8556
    true = 0.5 * (1 + float(torch.erf(torch.tensor(1.5 / 2))))
    covered = 0
    for seed in range(40):
        s, y = _separable(150, 50, seed=seed)
        _, low, high = stats.auroc_ci(s, y, n_boot=300, seed=seed)
        covered += low <= true <= high
    assert covered >= 33  # 95% of 40 is 38; a percentile interval may undercover a little


def test_compare_gives_a_verdict_only_outside_the_noise():
    s, y = _separable()
    g = torch.Generator().manual_seed(1)
    nearly_same = s + 0.01 * torch.randn(len(s), generator=g)
    worse = s + 1.5 * torch.randn(len(s), generator=g)
    assert stats.compare(s, nearly_same, y, n_boot=500)["verdict"] == "within the noise"
    out = stats.compare(s, worse, y, n_boot=500)
    assert out["verdict"] == "higher" and out["low"] > 0
    assert out["diff"] == pytest.approx(out["auroc_a"] - out["auroc_b"])
    assert stats.compare(worse, s, y, n_boot=500)["verdict"] == "lower"
    assert stats.verdict(-0.1, 0.2) == "within the noise"
    assert stats.verdict(0.01, 0.2, above="better") == "better"


def test_f1_ci_and_compare_f1():
    s, y = _separable()
    f1, low, high = stats.f1_ci(s, y, 0.8, n_boot=500)
    assert f1 == pytest.approx(anomaly.confusion(s, y, 0.8)["f1"])
    assert low <= f1 <= high
    out = stats.compare_f1(s, y, 10.0, 0.8, n_boot=500)  # flag nothing vs a sensible threshold
    assert out["diff"] == pytest.approx(-f1) and out["verdict"] == "lower"


def test_one_class_auroc_ci_perfect_and_chance():
    classes = np.repeat([0, 1, 2], 20)
    perfect = np.stack([(classes != k).astype(float) for k in range(3)])  # anomalies score 1
    value, low, high = stats.one_class_auroc_ci(perfect, classes)
    assert value == pytest.approx(1.0) and low == pytest.approx(1.0) and high == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(3, 60))
    value, low, high = stats.one_class_auroc_ci(noise, classes)
    assert low < value < high and low < 0.5 + 0.2 and high > 0.5 - 0.2
    # the rows are matched to the classes given: reversed classes reverse the AUROC
    value, _, _ = stats.one_class_auroc_ci(perfect[::-1], classes, normal=[2, 1, 0])
    assert value == pytest.approx(1.0)
    with pytest.raises(ValueError, match="classes, images"):
        stats.one_class_auroc_ci(perfect[:2], classes, normal=[0, 1, 2])


def test_compare_one_class_verdicts():
    classes = np.repeat([0, 1], 50)
    rng = np.random.default_rng(1)
    good = np.stack([(classes != k) + rng.normal(0, 0.3, 100) for k in range(2)])
    bad = np.stack([rng.normal(size=100) for _ in range(2)])
    out = stats.compare_one_class(good, bad, classes)
    assert out["verdict"] == "higher" and out["low"] > 0 and out["mean_a"] > out["mean_b"]
    assert stats.compare_one_class(good, good, classes)["verdict"] == "within the noise"


def test_compare_separation_is_paired_and_its_words_follow_the_interval():
    s, y = _separable()
    g = torch.Generator().manual_seed(2)
    pos = s.exp()  # separation reads log scores: positive scores
    noisier = pos * (1 + 2.0 * torch.rand(len(s), generator=g))
    out = stats.compare_separation(pos, noisier, y)
    assert out["diff"] == pytest.approx(anomaly.separation(pos, y) - anomaly.separation(noisier, y))
    assert out["verdict"] == "larger than" and out["low"] > 0
    same = stats.compare_separation(pos, pos, y)
    assert same["diff"] == 0 and same["verdict"] == "within the noise of"


def test_separation_in_normal_standard_deviations():
    y = np.array([0, 0, 0, 1, 1])
    s = np.exp(np.array([0.0, 1.0, 2.0, 3.0, 5.0]))  # log scores 0, 1, 2 (sd 1) and 3, 5
    assert anomaly.separation(s, y) == pytest.approx((4.0 - 1.0) / 1.0)


def test_paired_t_interval_known_value_and_one_seed():
    low, high = stats.paired_t_interval([1.0, 2.0, 3.0])  # mean 2, sd 1, t(0.975, 2) = 4.303
    assert (low + high) / 2 == pytest.approx(2.0)
    assert high - low == pytest.approx(2 * 4.302653 / 3 ** 0.5, rel=1e-5)
    assert stats.paired_t_interval([0.5]) == (float("-inf"), float("inf"))
    assert stats.seeds_verdict([0.5]) == "within the noise"  # one seed: no verdict


def test_seeds_verdict_needs_the_whole_interval_on_one_side():
    assert stats.seeds_verdict([1.0, 1.1, 0.9, 1.05]) == "higher"
    assert stats.seeds_verdict([-1.0, -1.1, -0.9], "better", "worse") == "worse"
    assert stats.seeds_verdict([1.0, -1.0, 0.5, -0.4]) == "within the noise"


def test_proportion_ci_is_the_wilson_interval():
    low, high = stats.proportion_ci(90, 100)
    assert low == pytest.approx(0.8256, abs=1e-3) and high == pytest.approx(0.9448, abs=1e-3)
    low, high = stats.proportion_ci(100, 100)  # all right: the interval still has a width
    assert high == pytest.approx(1.0) and 0.95 < low < 0.97
    assert stats.proportion_ci(0, 10)[0] == 0.0
    with pytest.raises(ValueError, match="successes <= n"):
        stats.proportion_ci(11, 10)


def test_mean_ci_brackets_the_mean_and_narrows_with_n():
    g = torch.Generator().manual_seed(0)
    small = torch.randn(20, generator=g)
    big = torch.randn(2000, generator=g)
    m, lo, hi = stats.mean_ci(small)
    assert lo < m < hi
    _, lo2, hi2 = stats.mean_ci(big)
    assert hi2 - lo2 < (hi - lo) / 3
    with pytest.raises(ValueError):
        stats.mean_ci([1.0])


def test_seed_range_and_ranges_apart():
    a, b = stats.seed_range([0.5, 0.7, 0.6]), stats.seed_range(iter([0.1, 0.45]))
    assert a == pytest.approx({"mean": 0.6, "low": 0.5, "high": 0.7})
    assert stats.ranges_apart(a, b) and not stats.ranges_apart(b, a)
    assert not stats.ranges_apart(a, stats.seed_range([0.55]))  # inside a's range: no verdict
    with pytest.raises(ValueError, match="at least one"):
        stats.seed_range([])
