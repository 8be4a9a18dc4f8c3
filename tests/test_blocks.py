"""blocks: the CSPUp block of 06, and PlainUp, the plain up-sampling block it is compared with at
equal parameters."""

import pytest
import torch

from aehelpers import blocks


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("c_in,c_out,norm", [(32, 16, "batch"), (16, 8, "batch"),
                                             (42, 16, "batch"), (64, 32, None)])
def test_plainup_matches_cspup_parameters_within_5_percent(c_in, c_out, norm):
    plain, csp = blocks.PlainUp(c_in, c_out, norm), blocks.CSPUp(c_in, c_out, norm)
    assert abs(n_params(plain) - n_params(csp)) <= 0.05 * n_params(csp)


@pytest.mark.parametrize("hw", [(7, 7), (3, 5)])
def test_plainup_doubles_height_and_width(hw):
    x = torch.randn(2, 6, *hw)
    assert blocks.PlainUp(6, 4)(x).shape == (2, 4, 2 * hw[0], 2 * hw[1])


def test_plainup_width_can_be_set():
    block = blocks.PlainUp(8, 4, width=3)
    assert block.width == 3 and block.body[0].out_channels == 3


# ---------------------------------------------------------------------------------------------
# CSPUp
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("c_in,c_out,hw", [(2, 1, (1, 1)), (4, 8, (7, 7)), (6, 3, (5, 9)),
                                           (64, 32, (7, 7)), (10, 10, (3, 4))])
def test_cspup_doubles_height_and_width(c_in, c_out, hw):
    block = blocks.CSPUp(c_in, c_out)
    x = torch.randn(3, c_in, *hw)
    assert block(x).shape == (3, c_out, 2 * hw[0], 2 * hw[1])


def test_cspup_output_is_the_sum_of_both_paths():
    block = blocks.CSPUp(4, 6, norm=None).eval()
    x = torch.randn(2, 4, 5, 5)
    assert torch.allclose(block(x), block.path_a(x[:, :2]) + block.path_b(x[:, 2:]))


@pytest.mark.parametrize("c_in", [1, 3, 7])
def test_cspup_odd_channels_raise_a_clear_error(c_in):
    with pytest.raises(ValueError, match="even"):
        blocks.CSPUp(c_in, 4)
