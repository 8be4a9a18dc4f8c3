"""01's Upsample question: an encoder that shrinks with nn.Upsample(size=...) codes only a corner.

The receptive field of the code is read from gradients: the code of ResizeAE(resize="nearest")
depends on the top-left 4x4 pixels only (two stride-1 3x3 convolutions, every second pixel
kept, then the top-left one), while the strided ConvAE and resize="area" see every pixel.
"""

import pytest
import torch

from aehelpers import models


def input_pixels_seen(model, shape=(1, 28, 28)):
    """Boolean map (H, W): which input pixels change the code (nonzero gradient)."""
    torch.manual_seed(0)
    model.eval()
    x = torch.rand(4, *shape, requires_grad=True)
    model.encode(x).pow(2).sum().backward()
    return x.grad.abs().sum((0, 1)) > 0


def test_nearest_resize_encoder_sees_only_the_top_left_corner():
    torch.manual_seed(0)
    seen = input_pixels_seen(models.ResizeAE((1, 28, 28), latent_dim=3, channels=(4, 8)))
    corner = torch.zeros(28, 28, dtype=torch.bool)
    corner[:4, :4] = True
    assert torch.equal(seen, corner)


@pytest.mark.parametrize("build", [
    lambda: models.ResizeAE((1, 28, 28), latent_dim=3, channels=(4, 8), resize="area"),
    lambda: models.ConvAE((1, 28, 28), latent_dim=3, channels=(4, 8)),
])
def test_area_resize_and_strided_encoder_see_every_pixel(build):
    torch.manual_seed(0)
    assert input_pixels_seen(build()).all()


def test_resize_ae_gives_back_its_input_shape_and_a_vector_code():
    model = models.ResizeAE((1, 13, 11), latent_dim=5, channels=(4, 8)).eval()
    x = torch.rand(3, 1, 13, 11)
    assert model.encode(x).shape == (3, 5)
    assert model(x).shape == x.shape
    assert model.code_shape == (5, 1, 1)
    # same decoder as ConvAE: the parameter counts differ by the encoder only
    plain = models.ConvAE((1, 13, 11), latent_dim=5, channels=(4, 8))
    assert (sum(p.numel() for p in model.decoder.parameters())
            == sum(p.numel() for p in plain.decoder.parameters()))


def test_resize_option_is_named():
    with pytest.raises(ValueError, match="nearest"):
        models.ResizeAE((1, 28, 28), resize="bilinear")


def test_mlp_classifier_logits_and_shape_error():
    model = models.MLPClassifier((1, 6, 5), num_classes=4, hidden=8)
    assert model(torch.rand(2, 1, 6, 5)).shape == (2, 4)
    with pytest.raises(ValueError, match=r"\(1, 6, 5\)"):
        model(torch.rand(2, 1, 5, 6))


def test_input_sensitivity_matches_the_receptive_field_and_keeps_the_mode():
    from aehelpers import blocks

    torch.manual_seed(0)
    model = models.ResizeAE((1, 28, 28), latent_dim=3, channels=(4, 8)).train()
    sens = blocks.input_sensitivity(model, torch.rand(4, 1, 28, 28))
    assert sens.shape == (28, 28) and sens.device.type == "cpu"
    assert model.training and all(p.grad is None for p in model.parameters())
    assert sens[4:].sum() == 0 and sens[:, 4:].sum() == 0  # nothing outside the corner
    assert (sens[:4, :4] > 0).sum() >= 12  # a ReLU may be off for a pixel or two of these inputs
