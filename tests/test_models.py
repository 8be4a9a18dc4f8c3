"""models: every autoencoder gives back exactly its input's shape, for any size it can take.

A property-based test (hypothesis) draws H, W, channels, batch size and depth; sizes below the
smallest the network takes must raise an error that names that smallest size.
"""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aehelpers import blocks, models

KINDS = ["ae-1x1-transpose", "ae-1x1-upsample", "ae-spatial-transpose", "ae-spatial-upsample",
         "vae", "cvae"]
COND_DIM = 3


def build(kind, in_shape, stages):
    """A narrow model of the given kind and depth (4, 8, 16... channels: fast to build)."""
    channels = tuple(4 * 2**i for i in range(stages))
    if kind.startswith("ae"):
        _, bottleneck, decoder = kind.split("-")
        return models.ConvAE(in_shape, latent_dim=2, channels=channels, decoder=decoder,
                             bottleneck=bottleneck)
    if kind == "vae":
        return models.ConvVAE(in_shape, latent_dim=2, channels=channels)
    return models.ConvCVAE(in_shape, cond_dim=COND_DIM, latent_dim=2, channels=channels)


def forward(model, x):
    """x_hat of any of the autoencoders (a VAE returns (x_hat, mu, logvar))."""
    if isinstance(model, models.ConvCVAE):
        return model(x, torch.eye(COND_DIM)[torch.arange(len(x)) % COND_DIM])[0]
    out = model(x)
    return out[0] if isinstance(out, tuple) else out


@st.composite
def fitting_inputs(draw):
    stages = draw(st.integers(1, 3))
    smallest = 2**stages
    return (draw(st.sampled_from(KINDS)), stages, draw(st.integers(1, 3)),
            draw(st.integers(smallest, 40)), draw(st.integers(smallest, 40)),
            draw(st.integers(1, 3)))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(fitting_inputs())
def test_every_autoencoder_returns_exactly_its_input_shape(case):
    kind, stages, c, h, w, batch = case
    model = build(kind, (c, h, w), stages).eval()
    x = torch.rand(batch, c, h, w)
    with torch.no_grad():
        x_hat = forward(model, x)
    assert x_hat.shape == x.shape
    assert 0 <= x_hat.min() and x_hat.max() <= 1


@st.composite
def too_small_inputs(draw):
    stages = draw(st.integers(1, 3))
    smallest = 2**stages
    small = draw(st.integers(1, smallest - 1))
    other = draw(st.integers(1, 20))
    h, w = (small, other) if draw(st.booleans()) else (other, small)
    return draw(st.sampled_from(KINDS)), stages, draw(st.integers(1, 3)), h, w


@settings(max_examples=30, deadline=None, derandomize=True)
@given(too_small_inputs())
def test_too_small_sizes_name_the_smallest_size(case):
    kind, stages, c, h, w = case
    m = 2**stages
    with pytest.raises(ValueError, match=rf"{h}x{w} is smaller .* smallest is {m}x{m}"):
        build(kind, (c, h, w), stages)


@pytest.mark.parametrize("size", [(28, 28), (45, 45), (100, 100), (7, 9), (9, 7), (25, 31)])
@pytest.mark.parametrize("kind", KINDS)
def test_odd_sizes_in_training_mode(kind, size):
    model = build(kind, (1, *size), 2).train()
    x = torch.rand(2, 1, *size)
    assert forward(model, x).shape == x.shape


def test_spatial_bottleneck_takes_other_sizes_but_not_too_small_ones():
    model = models.ConvAE((1, 28, 28), channels=(4, 8), bottleneck="spatial").eval()
    assert model(torch.rand(1, 1, 13, 50)).shape == (1, 1, 13, 50)
    with pytest.raises(ValueError, match="input 3x50 is smaller .*smallest is 4x4"):
        model(torch.rand(1, 1, 3, 50))


def test_1x1_bottleneck_names_the_size_it_was_built_for():
    model = models.ConvAE((1, 28, 28), channels=(4, 8))
    with pytest.raises(ValueError, match=r"built for 28x28 inputs, got 32x32.*'spatial'"):
        model(torch.rand(2, 1, 32, 32))


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_channel_count_names_the_problem_and_the_fix(kind):
    model = build(kind, (1, 12, 12), 2)
    with pytest.raises(ValueError, match=r"expected 1 channel\(s\).*got 3.*grey=True"):
        forward(model, torch.rand(2, 3, 12, 12))


def test_missing_batch_dimension_says_unsqueeze():
    model = models.ConvAE((1, 12, 12), channels=(4, 8))
    with pytest.raises(ValueError, match=r"unsqueeze\(0\)"):
        model(torch.rand(1, 12, 12))


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="bottleneck is '1x1' or 'spatial'"):
        models.ConvAE((1, 12, 12), bottleneck="flat")
    with pytest.raises(ValueError, match="unknown up-sampling mode 'bilinear'"):
        models.ConvAE((1, 12, 12), decoder="bilinear")
    with pytest.raises(ValueError, match="cond_dim >= 1"):
        models.ConvCVAE((1, 12, 12), cond_dim=0)


def test_code_shape_matches_encode():
    for bottleneck, expected in [("1x1", (2, 1, 1)), ("spatial", (2, 4, 3))]:
        model = models.ConvAE((1, 15, 10), channels=(4, 8), bottleneck=bottleneck).eval()
        assert model.code_shape == expected
        z = model.encode(torch.rand(3, 1, 15, 10))
        assert z.shape == (3, expected[0] * expected[1] * expected[2])


def test_classifier_takes_any_size():
    model = models.ConvClassifier((3, 17, 23), num_classes=5, channels=(4, 8)).eval()
    assert model(torch.rand(2, 3, 17, 23)).shape == (2, 5)


# ---------------------------------------------------------------------------------------------
# shape_trace
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["ae-1x1-transpose", "ae-spatial-upsample", "vae"])
def test_shape_trace_rows_match_the_real_module_outputs(kind, capsys):
    model = build(kind, (1, 13, 11), 2)
    x = torch.rand(2, 1, 13, 11)
    seen, hooks = {}, []

    def record(name):
        def hook(module, inputs, out):
            seen.setdefault(name, tuple(out.shape[1:]))  # returns None: the output is kept
        return hook

    for name, module in model.named_modules():
        if name and not list(module.children()):
            hooks.append(module.register_forward_hook(record(name)))
    rows = blocks.shape_trace(model, x, verbose=True)
    for h in hooks:
        h.remove()
    assert [r["layer"] for r in rows] == list(seen)
    assert all(r["shape"] == seen[r["layer"]] for r in rows)
    assert sum(r["params"] for r in rows) == sum(p.numel() for p in model.parameters())
    assert model.training  # the trace runs in eval mode and puts the mode back
    printed = capsys.readouterr().out
    assert "input (1, 13, 11)" in printed and "total parameters" in printed
    if kind.startswith("ae"):
        assert rows[-1]["shape"] == (1, 13, 11)  # the last layer gives back the input's size
