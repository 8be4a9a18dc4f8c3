"""05's position dataset and the judges of generated samples (cell crop, centre-of-mass cell)."""

import pytest
import torch

from aehelpers import data, metrics


def test_place_on_grid_puts_each_digit_in_its_cell_only():
    ds = data.digit_positions(cell=10, limit=50, seed=3)
    assert ds.shape == (1, 30, 30) and len(ds) == 50
    label, row, col = data.position_parts(ds.y)
    assert torch.equal(label, data.mnist_splits()[0].y[:50])  # the course split's training digits
    for i in range(50):
        inside = metrics.cell_crop(ds.x[i:i + 1], row[i], col[i])
        assert inside.sum() == pytest.approx(ds.x[i].sum().item())  # nothing outside the cell
        assert inside.sum() > 0


def test_digit_positions_is_deterministic_given_the_seed():
    a, b = data.digit_positions(cell=8, limit=40, seed=1), data.digit_positions(cell=8, limit=40,
                                                                                 seed=1)
    c = data.digit_positions(cell=8, limit=40, seed=2)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.y, c.y)


def test_digit_positions_reads_each_part_of_the_mnist_split():
    test = data.digit_positions(cell=8, part="test", limit=20)
    assert torch.equal(data.position_parts(test.y)[0], data.mnist_splits()[2].y[:20])
    assert test.source.startswith("MNIST") and "3x3 grid" in test.source
    assert "split" in data.describe(test=test)  # a report can name the split of the canvases
    with pytest.raises(ValueError, match="part is one of"):
        data.digit_positions(part="validation")


def test_position_condition_is_one_hot_label_column_row():
    c = data.position_condition(label=[7], row=[2], col=[0])
    assert c.shape == (1, 16)
    assert c[0, :10].argmax() == 7 and c[0, 10:13].argmax() == 0 and c[0, 13:].argmax() == 2
    assert c.sum() == 3
    y = torch.tensor([(7 * 3 + 2) * 3 + 0])
    assert torch.equal(data.position_condition(*data.position_parts(y)), c)


def test_position_condition_rejects_out_of_range_values():
    with pytest.raises(ValueError, match=r"row must lie in \[0, 2\]"):
        data.position_condition([1], [3], [0])
    with pytest.raises(ValueError, match="same length"):
        data.position_condition([1, 2], [0], [0])


def test_centre_of_mass_cell_finds_the_asked_cell():
    x = torch.zeros(9, 1, 30, 30)
    for k in range(9):
        r, c = divmod(k, 3)
        x[k, 0, r * 10 + 2:r * 10 + 8, c * 10 + 3:c * 10 + 6] = 1
    rows, cols = metrics.center_of_mass_cell(x)
    assert rows.tolist() == [k // 3 for k in range(9)]
    assert cols.tolist() == [k % 3 for k in range(9)]
    assert metrics.position_accuracy(x, rows, cols) == 1.0
    top_row = torch.zeros(9, dtype=torch.long)
    assert metrics.position_accuracy(x, top_row, cols) == pytest.approx(3 / 9)


def test_centre_of_mass_of_an_empty_image_is_no_cell():
    rows, cols = metrics.center_of_mass_cell(torch.zeros(2, 1, 12, 12))
    assert rows.tolist() == [-1, -1] and cols.tolist() == [-1, -1]


def test_cell_crop_shape_and_content():
    x = torch.arange(2 * 36, dtype=torch.float32).view(2, 1, 6, 6)
    crop = metrics.cell_crop(x, torch.tensor([0, 2]), torch.tensor([1, 2]))
    assert crop.shape == (2, 1, 2, 2)
    assert torch.equal(crop[0, 0], x[0, 0, 0:2, 2:4]) and torch.equal(crop[1, 0], x[1, 0, 4:6, 4:6])


def test_threshold_ignores_a_faint_haze():
    x = torch.full((1, 1, 30, 30), 0.05)
    x[0, 0, 2:8, 2:8] = 1.0  # a blob in the top-left cell, on a haze over the whole canvas
    assert metrics.center_of_mass_cell(x)[0].item() == 1  # the haze drags the centre inwards
    assert metrics.position_accuracy(x, 0, 0, threshold=0.1) == 1.0
