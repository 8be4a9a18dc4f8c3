"""05's positions module: canvases, the random re-placement loader, conditions, the judges and
GridCVAE."""

import pytest
import torch

from aehelpers import data, losses, positions, train


def _placed(n, cell, seed, part=0):
    """The first n digits of one part of the course's MNIST split, placed on a 3x3 grid."""
    return positions.place_on_grid(data.mnist_splits()[part].subset(range(n)), cell=cell, seed=seed)


def test_place_on_grid_puts_each_digit_in_its_cell_only():
    ds = _placed(50, cell=10, seed=3)
    assert ds.shape == (1, 30, 30) and len(ds) == 50
    label, row, col = positions.position_parts(ds.y)
    assert torch.equal(label, data.mnist_splits()[0].y[:50])  # the course split's training digits
    for i in range(50):
        inside = positions.cell_crop(ds.x[i:i + 1], row[i], col[i])
        assert inside.sum() == pytest.approx(ds.x[i].sum().item())  # nothing outside the cell
        assert inside.sum() > 0


def test_place_on_grid_is_deterministic_given_the_seed_and_names_its_source():
    a, b, c = _placed(40, cell=8, seed=1), _placed(40, cell=8, seed=1), _placed(40, cell=8, seed=2)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.y, c.y)
    test = _placed(20, cell=8, seed=0, part=2)
    assert torch.equal(positions.position_parts(test.y)[0], data.mnist_splits()[2].y[:20])
    assert test.source.startswith("MNIST") and "3x3 grid" in test.source
    assert "split" in data.describe(test=test)  # a report can name the split of the canvases


def test_cell_crop_gathers_each_images_own_cell():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6)
    out = positions.cell_crop(x, torch.tensor([0, 2]), torch.tensor([1, 0]))
    assert out.shape == (2, 1, 2, 2)
    assert torch.equal(out[0, 0], x[0, 0, 0:2, 2:4]) and torch.equal(out[1, 0], x[1, 0, 4:6, 0:2])
    assert torch.equal(positions.cell_crop(x, 1, 1)[:, 0], x[:, 0, 2:4, 2:4])  # one cell for all
    grey = torch.rand(3, 2, 9, 12)  # any channels, cells of 3 x 4
    assert positions.cell_crop(grey, 2, 2).shape == (3, 2, 3, 4)


def test_position_condition_is_one_hot_label_column_row():
    c = positions.position_condition(label=[7], row=[2], col=[0])
    assert c.shape == (1, 16)
    assert c[0, :10].argmax() == 7 and c[0, 10:13].argmax() == 0 and c[0, 13:].argmax() == 2
    assert c.sum() == 3
    y = torch.tensor([(7 * 3 + 2) * 3 + 0])
    assert torch.equal(positions.position_condition(*positions.position_parts(y)), c)


def test_position_condition_rejects_out_of_range_values():
    with pytest.raises(ValueError, match=r"row must lie in \[0, 2\]"):
        positions.position_condition([1], [3], [0])
    with pytest.raises(ValueError, match="same length"):
        positions.position_condition([1, 2], [0], [0])


def test_centre_of_mass_cell_finds_the_asked_cell():
    x = torch.zeros(9, 1, 30, 30)
    for k in range(9):
        r, c = divmod(k, 3)
        x[k, 0, r * 10 + 2:r * 10 + 8, c * 10 + 3:c * 10 + 6] = 1
    rows, cols = positions.center_of_mass_cell(x)
    assert rows.tolist() == [k // 3 for k in range(9)]
    assert cols.tolist() == [k % 3 for k in range(9)]
    assert positions.position_accuracy(x, rows, cols) == 1.0
    top_row = torch.zeros(9, dtype=torch.long)
    assert positions.position_accuracy(x, top_row, cols) == pytest.approx(3 / 9)


def test_centre_of_mass_of_an_empty_image_is_no_cell():
    rows, cols = positions.center_of_mass_cell(torch.zeros(2, 1, 12, 12))
    assert rows.tolist() == [-1, -1] and cols.tolist() == [-1, -1]


def test_cell_crop_shape_and_content():
    x = torch.arange(2 * 36, dtype=torch.float32).view(2, 1, 6, 6)
    crop = positions.cell_crop(x, torch.tensor([0, 2]), torch.tensor([1, 2]))
    assert crop.shape == (2, 1, 2, 2)
    assert torch.equal(crop[0, 0], x[0, 0, 0:2, 2:4]) and torch.equal(crop[1, 0], x[1, 0, 4:6, 4:6])


def test_threshold_ignores_a_faint_haze():
    x = torch.full((1, 1, 30, 30), 0.05)
    x[0, 0, 2:8, 2:8] = 1.0  # a blob in the top-left cell, on a haze over the whole canvas
    assert positions.center_of_mass_cell(x)[0].item() == 1  # the haze drags the centre inwards
    assert positions.position_accuracy(x, 0, 0, threshold=0.1) == 1.0


def test_random_placement_loader_redraws_the_cells_every_epoch():
    digits = data.ImageSet(torch.rand(50, 1, 8, 8) * 0.9 + 0.1, torch.arange(50) % 10)
    loader = positions.RandomPlacementLoader(digits, cell=8, batch_size=16, seed=0)
    assert len(loader) == 4 and loader.shape == (1, 24, 24)
    epochs = [[(x, y) for x, y in loader] for _ in range(2)]
    for batches in epochs:
        x = torch.cat([b[0] for b in batches])
        y = torch.cat([b[1] for b in batches])
        label, row, col = positions.position_parts(y)
        assert x.shape == (50, 1, 24, 24)
        assert sorted(label.tolist()) == sorted(digits.y.tolist())  # every digit once per epoch
        crops = positions.cell_crop(x, row, col)
        assert torch.allclose(crops.flatten(1).sum(1), x.flatten(1).sum(1))  # all ink in its cell
        assert (crops.flatten(1).amin(1) > 0).all()  # and the whole digit is there
    cells = [torch.cat([positions.position_parts(b[1])[1] * 3 + positions.position_parts(b[1])[2]
                        for b in batches]) for batches in epochs]
    assert not torch.equal(cells[0], cells[1])  # a fresh draw in the second epoch
    assert len(cells[0].unique()) > 5  # spread over the grid
    again = positions.RandomPlacementLoader(digits, cell=8, batch_size=16, seed=0)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(epochs[0], again))  # the seed fixes it


def test_position_code_and_parts_are_inverse():
    label, row, col = torch.tensor([0, 9, 4]), torch.tensor([2, 0, 1]), torch.tensor([1, 2, 0])
    y = positions.position_code(label, row, col)
    assert y.tolist() == [(0 * 3 + 2) * 3 + 1, (9 * 3 + 0) * 3 + 2, (4 * 3 + 1) * 3 + 0]
    assert all(torch.equal(a, b) for a, b in zip(positions.position_parts(y), (label, row, col)))


class _ReadsTheBrightestQuadrant(torch.nn.Module):
    """A fake judge: class 0..3 = which quadrant of the crop holds the most ink."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        h, w = x.shape[-2] // 2, x.shape[-1] // 2
        quads = [x[..., :h, :w], x[..., :h, w:], x[..., h:, :w], x[..., h:, w:]]
        return torch.stack([q.sum((1, 2, 3)) for q in quads], 1)


def test_label_accuracy_reads_the_asked_cell_only():
    x = torch.zeros(2, 1, 12, 12)
    x[0, 0, 0, 0] = 0.2  # cell (0, 0), top-left quadrant: "class 0", faint
    x[1, 0, 7, 11] = 1.0  # cell (1, 2), bottom-right quadrant: "class 3"
    judge = _ReadsTheBrightestQuadrant()
    assert positions.judge_digits(judge, positions.cell_crop(x, [0, 1], [0, 2])).tolist() == [0, 3]
    assert positions.label_accuracy(judge, x, torch.tensor([0, 3]), [0, 1], [0, 2]) == 1.0
    assert positions.label_accuracy(judge, x, torch.tensor([0, 0]), [0, 1], [0, 2]) == 0.5
    # asked about an empty cell, the judge sees nothing there and reads class 0 for both
    assert positions.label_accuracy(judge, x, torch.tensor([3, 3]), [2, 2], [2, 2]) == 0.0


# ---------------------------------------------------------------------------------------------
# 05's GridCVAE: the condition reaches every decoder stage, the encoder reads the asked cell.
# ---------------------------------------------------------------------------------------------

def _model(shape=(1, 24, 24), latent_dim=3):
    torch.manual_seed(0)
    return positions.GridCVAE(shape, latent_dim=latent_dim, channels=(4, 8)).eval()


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


def test_cell_mask_and_cell_crop_agree_with_the_canvas_layout():
    row, col = torch.tensor([0, 2]), torch.tensor([1, 0])
    mask = positions.cell_mask(row, col, 3, (6, 6))
    assert mask.shape == (2, 1, 6, 6) and mask.sum().item() == 8
    assert mask[0, 0, 0:2, 2:4].sum() == 4 and mask[1, 0, 4:6, 0:2].sum() == 4
    x = torch.arange(2 * 36, dtype=torch.float32).view(2, 1, 6, 6)
    assert torch.equal(positions.cell_crop(x, row, col) * 0 + 1, mask[mask.bool()].view(2, 1, 2, 2))
    assert torch.equal(positions.cell_crop(x, row, col), x[mask.bool()].view(2, 1, 2, 2))


def test_clear_errors_for_a_wrong_condition_or_canvas():
    model = _model()
    with pytest.raises(ValueError, match=r"c of shape \(2, 16\)"):
        model.encode(torch.rand(2, 1, 24, 24), torch.zeros(2, 10))
    with pytest.raises(ValueError, match="got None"):
        model.decode(torch.zeros(2, 3), None)
    with pytest.raises(ValueError, match="3x3 equal cells"):
        positions.GridCVAE((1, 25, 25))


def test_it_learns_to_draw_in_the_asked_cell():
    torch.manual_seed(0)
    digits = data.ImageSet(torch.rand(64, 1, 8, 8).round(), torch.arange(64) % 10)
    loader = positions.RandomPlacementLoader(digits, cell=8, batch_size=32, seed=0)
    cond = lambda y: positions.position_condition(*positions.position_parts(y))
    model = positions.GridCVAE((1, 24, 24), latent_dim=2, channels=(8, 16))
    train.fit(model, loader, step=losses.vae_step(condition=cond), num_epochs=15, lr=1e-2,
              progress=False, seed=0)
    cells = torch.arange(9)
    c = positions.position_condition(cells % 10, cells // 3, cells % 3)
    x = train.predict(model, c, fn=lambda cb: model.sample(len(cb), cb,
                                                          generator=torch.Generator()))
    assert positions.position_accuracy(x, cells // 3, cells % 3, threshold=0.1) == 1.0
