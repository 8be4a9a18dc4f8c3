"""aehelpers.models, section by section: every autoencoder gives back its input's shape for any
size it can take (a property-based test draws H, W, channels, batch size and depth; sizes below
the smallest the network takes raise an error that names it); shape_trace; the VAEs and CVAEs;
04's peer MLPVAE (and bench/peer_vae.py's measurement); 01's Upsample question,
where the code of ResizeAE(resize="nearest") depends on the top-left 4x4 pixels only (read from
gradients), while the strided ConvAE and resize="area" see every pixel."""

import importlib.util
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from aehelpers import blocks, data, losses, models, positions, train

# ---------------------------------------------------------------------------------------------
# models: every autoencoder gives back exactly its input's shape, for any size it can take.
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# VAE and CVAE models: free heads, shapes on odd sizes, clear condition errors, reproducibility.
# ---------------------------------------------------------------------------------------------

def test_encoder_heads_have_no_activation():
    torch.manual_seed(0)
    model = models.ConvVAE((1, 16, 16), latent_dim=4, channels=(8, 16)).eval()
    with torch.no_grad():  # scale the heads up: without an activation the outputs follow
        for head in (model.to_mu, model.to_logvar):
            head.weight.mul_(100)
    mu, logvar = model.encode(torch.rand(32, 1, 16, 16))
    for t in (mu, logvar):
        assert t.min() < -1 and t.max() > 1  # neither clipped to (0, 1) nor (-1, 1) nor >= 0
    assert isinstance(model.to_mu, torch.nn.Linear) and isinstance(model.to_logvar, torch.nn.Linear)


@pytest.mark.parametrize("shape", [(1, 27, 19), (3, 13, 29), (1, 28, 28)])
def test_vae_shapes_on_odd_sizes(shape):
    model = models.ConvVAE(shape, latent_dim=5, channels=(8, 16))
    x = torch.rand(3, *shape)
    x_hat, mu, logvar = model(x)
    assert x_hat.shape == x.shape and mu.shape == logvar.shape == (3, 5)
    assert 0 < x_hat.min() and x_hat.max() < 1
    assert model.sample(4).shape == (4, *shape)


def test_cvae_shapes_and_condition_changes_the_output():
    model = models.ConvCVAE((1, 21, 21), cond_dim=16, latent_dim=3, channels=(8, 16)).eval()
    z = torch.zeros(2, 3)
    c = positions.position_condition([1, 1], [0, 2], [0, 2])
    x_hat = model.decode(z, c)
    assert x_hat.shape == (2, 1, 21, 21)
    assert not torch.allclose(x_hat[0], x_hat[1])  # same z, different position


def test_cvae_raises_clear_error_for_missing_or_wrong_condition():
    model = models.ConvCVAE((1, 16, 16), cond_dim=16, latent_dim=2, channels=(8,))
    x = torch.rand(4, 1, 16, 16)
    with pytest.raises(ValueError, match=r"conditional: pass c of shape \(4, 16\), got None"):
        model.encode(x)
    with pytest.raises(ValueError, match=r"got \(4, 10\)"):
        model.encode(x, torch.zeros(4, 10))
    with pytest.raises(ValueError, match="conditional"):
        model.decode(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="cond_dim >= 1"):
        models.ConvCVAE((1, 16, 16), cond_dim=0)


def test_unconditional_vae_refuses_a_condition_instead_of_ignoring_it():
    model = models.ConvVAE((1, 16, 16), latent_dim=2, channels=(8,))
    with pytest.raises(ValueError, match="not conditional"):
        model.encode(torch.rand(2, 1, 16, 16), torch.zeros(2, 16))


def test_vae_step_with_condition_trains_a_cvae():
    ds = positions.place_on_grid(data.mnist_splits()[0].subset(range(64)), cell=8)
    cond = lambda y: positions.position_condition(*positions.position_parts(y))
    model = models.ConvCVAE(ds.shape, cond_dim=16, latent_dim=2, channels=(8,))
    loader = data.TensorLoader(ds, 32)
    h = train.fit(model, loader, loader, step=losses.vae_step(condition=cond), num_epochs=3,
                  lr=3e-3, progress=False, seed=0)
    assert {"train_neg_elbo", "val_kl", "val_recon"} <= set(h)
    for e in range(3):  # the logged parts add up, and the bound is a positive number of nats
        assert h["val_neg_elbo"][e] == pytest.approx(h["val_recon"][e] + h["val_kl"][e], rel=1e-4)
        assert h["val_kl"][e] >= 0 and h["val_recon"][e] > 0
    assert h["train_neg_elbo"][-1] < h["train_neg_elbo"][0]  # it learns


def _run(seed):
    small = data.mnist_splits("smoke")[0].subset(range(96))
    ds = data.ImageSet(data.resize(small.x, 12), small.y)
    loader = data.TensorLoader(ds, 32, shuffle=True, seed=seed)
    torch.manual_seed(seed)
    model = models.ConvVAE(ds.shape, latent_dim=2, channels=(8,))
    h = train.fit(model, loader, loader, step=losses.vae_step(kl="mc"), num_epochs=2, seed=seed,
                  progress=False)
    return h["train_neg_elbo"] + h["val_neg_elbo"]


def test_same_seed_gives_same_metrics_twice():
    first, second = _run(0), _run(0)
    assert first == second
    assert _run(1) != first  # and the seed matters


# ---------------------------------------------------------------------------------------------
# models.MLPVAE, pytorch/examples' VAE as 04's peer: its network, its contract, its training,
# ---------------------------------------------------------------------------------------------

BENCH = Path(__file__).resolve().parents[1] / "bench" / "peer_vae.py"


def test_mlp_vae_is_the_pytorch_examples_network():
    model = models.MLPVAE((1, 28, 28))
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes == {"fc1.weight": (400, 784), "fc1.bias": (400,),
                      "fc21.weight": (20, 400), "fc21.bias": (20,),
                      "fc22.weight": (20, 400), "fc22.bias": (20,),
                      "fc3.weight": (400, 20), "fc3.bias": (400,),
                      "fc4.weight": (784, 400), "fc4.bias": (784,)}
    assert models.count_parameters(model) == 652_824  # as vae/main.py's VAE


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 13, 9)])
def test_mlp_vae_has_the_conv_vae_contract(shape):
    model = models.MLPVAE(shape, hidden=32, latent_dim=5)
    x = torch.rand(4, *shape)
    x_hat, mu, logvar = model(x)
    assert x_hat.shape == x.shape and mu.shape == logvar.shape == (4, 5)
    assert 0 < x_hat.min() and x_hat.max() < 1
    assert model.decode(model.reparameterize(mu, logvar)).shape == x.shape
    assert model.sample(3).shape == (3, *shape)


def test_mlp_vae_heads_are_free_and_eval_decodes_mu():
    torch.manual_seed(0)
    model = models.MLPVAE((1, 8, 8), hidden=16, latent_dim=3).eval()
    with torch.no_grad():
        for head in (model.fc21, model.fc22):
            head.weight.mul_(100)
    x = torch.rand(16, 1, 8, 8)
    mu, logvar = model.encode(x)
    assert mu.min() < -1 < 1 < mu.max() and logvar.min() < -1 < 1 < logvar.max()
    x_hat, mu2, _ = model(x)
    assert torch.equal(mu, mu2) and torch.equal(x_hat, model.decode(mu))  # no draw in eval


def test_mlp_vae_says_what_shape_it_takes():
    model = models.MLPVAE((1, 28, 28))
    with pytest.raises(ValueError, match=r"expected a batch \(B, 1, 28, 28\).*got \(2, 1, 32, 32\)"):
        model(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="got \\(1, 28, 28\\)"):
        model.encode(torch.rand(1, 28, 28))  # no batch dimension


def test_sampling_is_reproducible_with_a_generator():
    model = models.MLPVAE((1, 8, 8), hidden=16, latent_dim=3)
    a = model.sample(4, generator=torch.Generator().manual_seed(1))
    b = model.sample(4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_vae_step_and_fit_train_the_peer_on_shipped_digits():
    train_set, val_set, test_set = data.mnist_splits("smoke")
    torch.manual_seed(0)
    model = models.MLPVAE(train_set.shape)
    loaders = data.loaders(train_set, val_set, batch_size=64, seed=0)
    history = train.fit(model, *loaders, step=losses.vae_step(), num_epochs=3, lr=1e-3,
                        seed=0, progress=False)
    val = history["val_neg_elbo"]
    assert val[-1] < val[0]
    for key in ("train_recon", "train_kl", "val_recon", "val_kl"):
        assert len(history[key]) == 3
    # the ELBO adds up, and no model beats the floor of grey pixels
    logs = train.evaluate(model, data.TensorLoader(test_set, 128), step=losses.vae_step())
    assert logs["neg_elbo"] == pytest.approx(logs["recon"] + logs["kl"], rel=1e-5)
    floor = losses.bernoulli_entropy(test_set.x).mean().item()
    assert logs["recon"] > floor
    nll = losses.importance_nll(model, test_set.x[:32], num_samples=5)
    assert nll.shape == (32,) and torch.isfinite(nll).all() and (nll > 0).all()


def test_bench_measures_both_contenders_with_the_same_recipe():
    spec = importlib.util.spec_from_file_location("peer_vae_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    train_set, val_set, test_set = data.mnist_splits("smoke")
    train_set = train_set.subset(range(256))
    rows = {name: bench.fit_and_score(arch, train_set, val_set, test_set, num_epochs=1, lr=1e-3)
            for name, arch in bench.CONTENDERS.items()}
    assert {r["steps"] for r in rows.values()} == {2}  # 256 images in batches of 128
    for r in rows.values():
        assert r["neg_elbo"] == pytest.approx(r["recon"] + r["kl"], rel=1e-5)
        assert r["train_s"] > 0 and r["ms_per_step"] > 0
    assert rows["MLPVAE (pytorch/examples)"]["params"] == 652_824


# ---------------------------------------------------------------------------------------------
# 01's Upsample question: an encoder that shrinks with nn.Upsample(size=...) codes only a corner.
# ---------------------------------------------------------------------------------------------

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


def test_position_bias_makes_z0_decode_to_a_pattern():
    from aehelpers import models
    torch.manual_seed(0)
    plain = models.ConvVAE((1, 28, 28), latent_dim=4).eval()
    biased = models.ConvVAE((1, 28, 28), latent_dim=4, position_bias=True).eval()
    for p in biased.decoder.from_code[0][1].parameters():
        torch.nn.init.normal_(p)
    z0 = torch.zeros(1, 4)
    stem = lambda m: m.decoder.from_code[0](z0[..., None, None])
    assert stem(plain).std(dim=(2, 3)).max() == 0  # one value per channel: a flat map
    assert stem(biased).std(dim=(2, 3)).min() > 0
    # the default keeps its parameter count (01 and 05 print them)
    assert sum(p.numel() for p in plain.parameters()) + 64 * 7 * 7 == \
        sum(p.numel() for p in biased.parameters())


def test_relu_heads_forbid_negative_mu_and_logvar():
    from aehelpers import models
    torch.manual_seed(0)
    m = models.ConvVAE((1, 28, 28), latent_dim=8, head_activation="relu")
    mu, logvar = m.encode(torch.rand(16, 1, 28, 28))
    assert (mu >= 0).all() and (logvar >= 0).all()  # sigma >= 1: never narrower than the prior
    mu0, _ = models.ConvVAE((1, 28, 28), latent_dim=8).encode(torch.rand(16, 1, 28, 28))
    assert (mu0 < 0).any()
    with pytest.raises(ValueError):
        models.ConvVAE((1, 28, 28), head_activation="tanh")


def test_skip_ae_output_depends_little_on_the_code_when_the_skip_carries_the_image():
    from aehelpers import models
    torch.manual_seed(0)
    m = models.SkipAE((1, 25, 25), latent_dim=3, channels=(8, 16)).eval()
    x = torch.rand(2, 1, 25, 25)
    assert m(x).shape == x.shape
    assert m(x, torch.zeros(2, 3)).shape == x.shape
    # zero the decoder's path from the code: the output still depends on x through the skip
    for p in m.decoder.from_code.parameters():
        torch.nn.init.zeros_(p)
    out = m(x)
    assert not torch.allclose(out[0], out[1])  # two inputs, two outputs, with no code at all
