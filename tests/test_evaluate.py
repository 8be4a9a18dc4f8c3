"""evaluate: the independent judge of generated digits and the field's sample metrics."""

from types import SimpleNamespace

import pytest
import torch

from aehelpers import data, evaluate


def clusters(n_per_class=60, classes=10, dim=8, spread=0.3, seed=0):
    """Features in well-separated Gaussian clusters, one per class, and their labels."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=g) * 5
    y = torch.arange(classes).repeat_interleave(n_per_class)
    return centres[y] + spread * torch.randn(len(y), dim, generator=g), y


def test_precision_recall_real_against_real_is_high_and_collapse_has_no_recall():
    real, _ = clusters(n_per_class=100, seed=0)
    both = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(1))]
    precision, recall = evaluate.precision_recall(both[:500], both[500:])  # two halves of one set
    assert precision > 0.85 and recall > 0.85
    # one repeated sample per class: every sample lies on the real manifold, it covers none of it
    real_x, real_y = clusters(seed=0)
    prototypes = torch.stack([real_x[real_y == c][0] for c in range(10)])
    collapsed = prototypes.repeat_interleave(60, 0)
    precision, recall = evaluate.precision_recall(real_x, collapsed)
    assert precision == 1.0 and recall < 0.05


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(400, 16, generator=g), torch.randn(400, 16, generator=g)
    same, shifted = evaluate.kid(a, b, subset=200, subsets=5), evaluate.kid(a, b + 1.0, subset=200, subsets=5)
    assert abs(same) < 0.05 and shifted > 10 * max(abs(same), 0.01)


def test_diversity_is_within_class_spread():
    x, y = clusters(spread=0.3)
    wide, _ = clusters(spread=0.6)
    assert evaluate.diversity(wide, y) == pytest.approx(2 * evaluate.diversity(x, y), rel=0.1)
    assert evaluate.diversity(torch.zeros(20, 4), torch.arange(2).repeat(10)) == 0.0


def test_augment_keeps_shape_and_range_and_moves_pixels():
    x = torch.zeros(16, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1.0
    out = evaluate.augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert (out - x).abs().amax((1, 2, 3)).min() > 0.05  # every image changed


def test_to_evaluator_size_resizes_and_greys():
    out = evaluate.to_evaluator_size(torch.rand(2, 3, 16, 16))
    assert out.shape == (2, 1, 28, 28)


@pytest.fixture(scope="module")
def digits():
    train, val, test = data.mnist_splits("smoke")
    return train, val, test


@pytest.fixture(scope="module")
def small_evaluator(digits, tmp_path_factory):
    """One evaluator of 60 steps on the smoke digits, shared by the tests that only read."""
    train, _, test = digits
    return evaluate.evaluator(train, test, steps=60, batch_size=32,
                              cache=tmp_path_factory.mktemp("evaluator"))


def test_evaluator_reads_digits_is_cached_and_judges_the_ceiling(digits, tmp_path, monkeypatch):
    train, val, test = digits
    ev = evaluate.evaluator(train, test, steps=60, batch_size=32, cache=tmp_path)
    assert ev.test_accuracy > 0.5  # 60 steps of 32 smoke digits: well above chance (0.1)
    calls = []
    monkeypatch.setattr(evaluate, "train_classifier", lambda *a, **k: calls.append(1))
    again = evaluate.evaluator(train, test, steps=60, batch_size=32, cache=tmp_path)  # cached
    assert calls == [] and again.test_accuracy == ev.test_accuracy
    real = evaluate.judge(ev, val.x, val.y, reference=test)  # held-out real digits: the ceiling
    assert real["precision"] > 0.8 and real["recall"] > 0.8 and abs(real["kid"]) < 0.05
    assert real["diversity"] == pytest.approx(1.0, abs=0.15)
    assert real["worst"] <= real["accuracy"] <= 1.0 and set(real["per_class"]) == set(range(10))
    one_each = torch.cat([val.x[val.y == c][:1].repeat(20, 1, 1, 1) for c in range(10)])
    labels = torch.arange(10).repeat_interleave(20)
    collapsed = evaluate.judge(ev, one_each, labels, reference=test)
    assert collapsed["precision"] > 0.8 and collapsed["recall"] < 0.2 and collapsed["kid"] > real["kid"]
    assert collapsed["diversity"] == pytest.approx(0.0, abs=1e-6)


def test_save_and_load_samples_round_trip(tmp_path):
    x, y = torch.rand(5, 1, 28, 28), torch.arange(5)
    back_x, back_y = evaluate.load_samples(evaluate.save_samples(tmp_path / "s.npz", x, y))
    assert back_x.shape == x.shape and (back_x - x).abs().max() <= 0.5 / 255 + 1e-6
    assert torch.equal(back_y, y)


def test_unconditional_judge_reports_coverage_and_class_balance(digits, small_evaluator):
    _, val, test = digits
    ev = small_evaluator
    real = evaluate.judge(ev, val.x, None, reference=test)
    assert set(real) == {"precision", "recall", "kid", "diversity", "class_balance"}
    assert 0.0 < real["class_balance"] <= 10 * (val.y == val.y.mode().values).float().mean()
    ones = val.x[val.y == 1][:1].repeat(100, 1, 1, 1)  # one image, a hundred times
    one_digit = evaluate.judge(ev, ones, None, reference=test)
    assert one_digit["class_balance"] == 0.0 and one_digit["recall"] < 0.2
    assert one_digit["diversity"] == pytest.approx(0.0, abs=1e-6)


def test_ceiling_judges_real_digits_once_then_reads_its_cache(digits, small_evaluator, tmp_path,
                                                              monkeypatch):
    _, val, test = digits
    ev = small_evaluator
    first = evaluate.ceiling(ev, val, test, test, cas_steps=20, cache=tmp_path)
    assert set(first["per_class"]) == set(range(10)) and 0 < first["cas"] <= 1
    monkeypatch.setattr(evaluate, "judge", lambda *a, **k: pytest.fail("not cached"))
    assert evaluate.ceiling(ev, val, test, test, cas_steps=20, cache=tmp_path) == first


def test_read_and_read_grid_caption_every_image(digits, small_evaluator):
    _, val, test = digits
    ev = small_evaluator
    texts = evaluate.read(ev, val.x[:4])
    assert len(texts) == 4 and all(t.split()[0].isdigit() and 0 < float(t.split()[1]) <= 1
                                   for t in texts)
    fig = evaluate.read_grid(ev, [val.x[:3], val.x[3:5]], row_titles=["a", "b"])
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert labels[:3] == evaluate.read(ev, val.x[:3]) and labels[3:5] == evaluate.read(ev, val.x[3:5])
    assert labels[5] == ""  # the empty third cell of the short row


def test_kid_is_not_swamped_by_a_feature_dead_on_real_data():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(400, 8, generator=g)
    real[:, :4] = 0  # four features never fire on real data (dead ReLUs)
    fake = torch.randn(400, 8, generator=g)
    fake[:, :4] = 1e-3 * torch.randn(400, 4, generator=g)  # a negligible activation there
    assert abs(evaluate.kid(real, fake)) < 0.05  # same distribution where real data lives


def test_kid_is_unitless_and_sees_a_shift():
    g = torch.Generator().manual_seed(1)
    real, same = torch.randn(400, 16, generator=g), torch.randn(400, 16, generator=g)
    shifted = torch.randn(400, 16, generator=g) + 1.0
    assert abs(evaluate.kid(real, same)) < 0.05
    assert evaluate.kid(real, shifted) > 10 * abs(evaluate.kid(real, same))
    assert evaluate.kid(100 * real, 100 * shifted) == pytest.approx(evaluate.kid(real, shifted))


def test_judge_each_epoch_records_the_curve_with_the_worst_label():
    class Echo(torch.nn.Module):  # reads mean brightness as the class (3 classes)
        def forward(self, x):
            k = (x.mean((1, 2, 3)) * 3).floor().clamp(0, 2).long()
            return torch.nn.functional.one_hot(k, 3).float()

    class Drifting(torch.nn.Module):  # draws every label right but label 2, which it gets
        num_classes, latent_dim = 3, 2  # right only when `good` is set

        def __init__(self):
            super().__init__()
            self.good = torch.nn.Parameter(torch.zeros(1), requires_grad=False)

        def sample(self, n, y, generator=None):
            wrong = (y == 2) & (self.good == 0)
            level = torch.where(wrong, torch.zeros_like(y, dtype=torch.float), (y + 0.5) / 3)
            return level[:, None, None, None].expand(n, 1, 4, 4).clone()

    g, curve = Drifting(), []
    watcher = evaluate.judge_each_epoch(g, Echo(), curve, n_per_class=4, steps_per_epoch=10)
    for epoch, good in ((1, 0.0), (2, 1.0), (3, 0.0)):
        g.good.fill_(good)
        watcher.on_epoch(SimpleNamespace(epoch=epoch))
    assert [c["step"] for c in curve] == [10, 20, 30]
    assert [c["min"] for c in curve] == [0.0, 1.0, 0.0]
    assert curve[0]["accuracy"] == pytest.approx(2 / 3) and curve[1]["accuracy"] == 1.0


def test_judged_accuracy_counts_agreement_with_the_label_asked():
    class Echo(torch.nn.Module):  # a judge that reads the mean brightness as the class
        def forward(self, x):
            k = (x.mean((1, 2, 3)) * 3).floor().clamp(0, 2).long()
            return torch.nn.functional.one_hot(k, 3).float()

    class Painter(torch.nn.Module):  # draws label k as brightness (k + 0.5) / 3, label 2 as 0
        num_classes, latent_dim = 3, 2

        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def sample(self, n, y, generator=None):
            level = torch.where(y == 2, torch.zeros_like(y, dtype=torch.float), (y + 0.5) / 3)
            return level[:, None, None, None].expand(n, 1, 4, 4).clone()

    overall, per = evaluate.judged_accuracy(Painter(), Echo(), n_per_class=5)
    assert per == {"0": 1.0, "1": 1.0, "2": 0.0} and overall == pytest.approx(2 / 3)
