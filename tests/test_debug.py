"""debug: the four checks before a long run find what they claim to find, and pass a working model."""

import subprocess
import sys

import torch
import torch.nn as nn

from aehelpers import config, debug, losses, models, train


def batch(n=16, size=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(n, 1, size, size, generator=g).round()]  # binary images: BCE floor 0


def small_ae():
    torch.manual_seed(0)
    return models.ConvAE((1, 12, 12), latent_dim=8, channels=(8, 16))


STEP = train.reconstruction_step(losses.bce)


def test_a_working_autoencoder_passes_all_four_checks(capsys):
    problems = debug.check(small_ae(), batch(), STEP, floor=0.0, steps=150, lr=1e-2)
    assert problems == [], problems
    assert "all four checks pass" in capsys.readouterr().out


def test_the_checks_leave_the_model_as_they_found_it():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Conv2d(4, 1, 1),
                          nn.Sigmoid())
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    debug.check(model, batch(), STEP, steps=5, verbose=False)
    after = model.state_dict()
    assert not model.training
    assert all(torch.equal(before[k], after[k]) for k in before)  # BatchNorm's running stats too


def test_a_frozen_layer_and_a_zero_learning_rate_are_found():
    model = small_ae()
    first = next(p for p in model.parameters())
    first.register_hook(lambda g: torch.zeros_like(g))  # as if the branch were cut off
    problems = debug.check(model, batch(), STEP, steps=20, lr=0.0, verbose=False)
    assert any("no gradient reaches" in p for p in problems)
    assert any("not overfitted" in p for p in problems)


def test_a_loss_below_its_floor_and_a_wrong_output_shape_are_found():
    class Shrinks(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3)  # no padding: 12x12 -> 10x10

        def forward(self, x):
            return torch.sigmoid(self.conv(x))

    step = lambda model, b: {"loss": ((model(b[0]) - b[0][..., 1:-1, 1:-1]) ** 2).mean()}
    problems = debug.check(Shrinks(), batch(), step, floor=10.0, steps=5, verbose=False)
    assert any("must return its input's shape" in p for p in problems)
    assert any("below its floor" in p for p in problems)


def test_the_readme_import_recipe_works_from_another_folder(tmp_path):
    """A notebook outside the repository: the README's sys.path line finds this repository's package."""
    code = (f"import sys; sys.path.insert(0, {str(config.REPO_ROOT)!r})\n"
            "import aehelpers; from aehelpers import models\n"
            "print(aehelpers.__file__); print(type(models.ConvAE((1, 8, 8), 2)).__name__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    where, name = out.stdout.split()
    assert where.startswith(str(config.REPO_ROOT / "aehelpers")) and name == "ConvAE"
