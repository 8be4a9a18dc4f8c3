"""05's GridCVAE: the condition reaches every decoder stage, the encoder reads the asked cell."""

import pytest
import torch

from aehelpers import data, losses, models, positions, train


def _model(shape=(1, 24, 24), latent_dim=3):
    torch.manual_seed(0)
    return models.GridCVAE(shape, latent_dim=latent_dim, channels=(4, 8)).eval()


def test_shapes_on_a_canvas_that_needs_padding():
    model = _model((1, 36, 36))  # cells of 12: the decoder pads to 36 and crops back
    x = torch.rand(2, 1, 36, 36)
    c = positions.position_condition([3, 7], [0, 2], [1, 2])
    x_hat, mu, logvar = model(x, c)
    assert x_hat.shape == x.shape and mu.shape == logvar.shape == (2, 3)
    assert 0 < x_hat.min() and x_hat.max() < 1
    assert model.sample(2, c).shape == x.shape


def test_the_encoder_reads_the_asked_cell_only():
    model = _model()
    x = torch.rand(1, 1, 24, 24)
    c = positions.position_condition([5], [1], [2])
    mu = model.encode(x, c)[0]
    elsewhere = x.clone()
    elsewhere[..., :8, :] = torch.rand(1, 1, 8, 24)  # row 0 changes, cell (1, 2) does not
    assert torch.equal(model.encode(elsewhere, c)[0], mu)
    inside = x.clone()
    inside[..., 8:16, 16:24] = 0
    assert not torch.allclose(model.encode(inside, c)[0], mu)


def test_label_and_cell_each_change_the_decoded_canvas():
    model = _model()
    z = torch.zeros(3, 3)
    c = positions.position_condition([1, 8, 1], [0, 0, 2], [0, 0, 2])
    x_hat = model.decode(z, c)
    assert not torch.allclose(x_hat[0], x_hat[1])  # same z and cell, another digit
    assert not torch.allclose(x_hat[0], x_hat[2])  # same z and digit, another cell


def test_cell_mask_and_take_cell_agree_with_the_canvas_layout():
    row, col = torch.tensor([0, 2]), torch.tensor([1, 0])
    mask = models.cell_mask(row, col, 3, (6, 6))
    assert mask.shape == (2, 1, 6, 6) and mask.sum().item() == 8
    assert mask[0, 0, 0:2, 2:4].sum() == 4 and mask[1, 0, 4:6, 0:2].sum() == 4
    x = torch.arange(2 * 36, dtype=torch.float32).view(2, 1, 6, 6)
    assert torch.equal(models.take_cell(x, row, col, 3), positions.cell_crop(x, row, col))


def test_clear_errors_for_a_wrong_condition_or_canvas():
    model = _model()
    with pytest.raises(ValueError, match=r"c of shape \(2, 16\)"):
        model.encode(torch.rand(2, 1, 24, 24), torch.zeros(2, 10))
    with pytest.raises(ValueError, match="got None"):
        model.decode(torch.zeros(2, 3), None)
    with pytest.raises(ValueError, match="3x3 equal cells"):
        models.GridCVAE((1, 25, 25))


def test_it_learns_to_draw_in_the_asked_cell():
    torch.manual_seed(0)
    digits = data.ImageSet(torch.rand(64, 1, 8, 8).round(), torch.arange(64) % 10)
    loader = positions.RandomPlacementLoader(digits, cell=8, batch_size=32, seed=0)
    cond = lambda y: positions.position_condition(*positions.position_parts(y))
    model = models.GridCVAE((1, 24, 24), latent_dim=2, channels=(8, 16))
    train.fit(model, loader, step=losses.vae_step(condition=cond), num_epochs=15, lr=1e-2,
              progress=False, seed=0)
    cells = torch.arange(9)
    c = positions.position_condition(cells % 10, cells // 3, cells % 3)
    x = train.predict(model, c, fn=lambda cb: model.sample(len(cb), cb,
                                                          generator=torch.Generator()))
    assert positions.position_accuracy(x, cells // 3, cells % 3, threshold=0.1) == 1.0
