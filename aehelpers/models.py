"""Convolutional autoencoders for any H x W: AE (01), VAE (04) and conditional VAE (05);
MLPVAE, pytorch/examples' fully connected VAE, is 04's peer; SkipAE (a U-Net-like skip) is 04's
skip-connection puzzle; ConvClassifier judges samples.
(The GAN's networks live with their loop in `gan`, 05's GridCVAE with its grid in `positions`.)

    model = models.ConvAE(in_shape=(1, 28, 28), latent_dim=2, decoder="transpose")
    x_hat = model(x)                          # exactly x.shape, values in [0, 1]

Any size works: the encoder pads the input (replicating its edge) up to a multiple of
2**len(channels), and the decoder crops its output back, so no "input must be divisible by 4".
The bottleneck is either squeezed to a 1x1 code (`bottleneck="1x1"`, a vector of latent_dim
numbers, what a scatter plot or a sampler needs) or kept as a spatial map (`"spatial"`,
latent_dim channels at h x w, which keeps where things are).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .blocks import CropTo, PadToMultiple, conv_block, norm_layer, padded_size, up_block


class ConvEncoder(nn.Module):
    """x (B, C, H, W) -> code (B, code_channels, 1, 1) or (B, code_channels, h, w)."""

    def __init__(self, in_shape, channels=(32, 64), code_channels=2, bottleneck="1x1",
                 norm="batch"):
        super().__init__()
        if bottleneck not in ("1x1", "spatial"):
            raise ValueError(f"bottleneck is '1x1' or 'spatial', got {bottleneck!r}")
        self.in_shape = tuple(in_shape)
        c, h, w = self.in_shape
        self.multiple = 2 ** len(channels)  # each stage halves H and W
        if min(h, w) < self.multiple:
            raise ValueError(
                f"input {h}x{w} is smaller than this network takes: with {len(channels)} "
                f"down-sampling stages the smallest is {self.multiple}x{self.multiple}. "
                f"Resize the images or use fewer stages (channels=...).")
        self.bottleneck = bottleneck
        self.feature_hw = (padded_size(h, self.multiple) // self.multiple,
                           padded_size(w, self.multiple) // self.multiple)
        self.pad = PadToMultiple(self.multiple)  # e.g. 45x45 => 48x48 for 4 = 2**2
        stages, c_in = [], c
        for c_out in channels:  # H x W => H/2 x W/2 at each stage
            stages.append(conv_block(c_in, c_out, stride=2, norm=norm))
            c_in = c_out
        self.features = nn.Sequential(*stages)
        # "1x1": one kernel covering the whole h x w map squeezes it to a 1x1 code
        kernel = self.feature_hw if bottleneck == "1x1" else 1
        self.to_code = nn.Conv2d(c_in, code_channels, kernel)

    def check(self, x: torch.Tensor):
        """Raise a clear error when x does not fit the network."""
        c, h, w = self.in_shape
        if x.ndim != 4:
            raise ValueError(f"expected a batch (B, C, H, W), got shape {tuple(x.shape)}; "
                             f"add a batch dimension with x.unsqueeze(0)")
        if x.shape[1] != c:
            raise ValueError(
                f"expected {c} channel(s) (model built with in_shape={self.in_shape}), got "
                f"{x.shape[1]}; convert the images (grey=True/False in data loaders) or build "
                f"the model with in_shape=({x.shape[1]}, H, W)")
        if min(x.shape[-2:]) < self.multiple:
            raise ValueError(f"input {x.shape[-2]}x{x.shape[-1]} is smaller than this network "
                             f"takes; the smallest is {self.multiple}x{self.multiple}")
        if self.bottleneck == "1x1" and tuple(x.shape[-2:]) != (h, w):
            raise ValueError(f"model was built for {h}x{w} inputs, got {x.shape[-2]}x{x.shape[-1]};"
                             f" build it with in_shape=({c}, {x.shape[-2]}, {x.shape[-1]}) or use"
                             f" bottleneck='spatial', which takes any size")

    def forward(self, x):
        self.check(x)
        return self.to_code(self.features(self.pad(x)))


class PositionBias(nn.Module):
    """Adds a learnt bias per channel and position to a (B, C, h, w) map (zeros at the start)."""

    def __init__(self, channels, h, w):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels, h, w))

    def forward(self, x):
        return x + self.bias


class ConvDecoder(nn.Module):
    """code -> x_hat (B, C, H, W), mirroring ConvEncoder; cropped to out_shape."""

    def __init__(self, out_shape, feature_hw, channels=(32, 64), code_channels=2,
                 bottleneck="1x1", decoder="transpose", norm="batch", out_activation="sigmoid",
                 position_bias=False):
        super().__init__()
        self.out_shape = tuple(out_shape)
        c_out, _, _ = self.out_shape
        c = channels[-1]
        kernel = feature_hw if bottleneck == "1x1" else 1  # 1x1 => h x w
        # position_bias=True: a learnt bias per channel AND position of the first h x w map (a
        # linear layer to the map), so z = 0 decodes to a pattern, not a flat tile (04)
        stem = nn.ConvTranspose2d(code_channels, c, kernel)
        if position_bias:
            stem = nn.Sequential(stem, PositionBias(c, *feature_hw))
        self.from_code = nn.Sequential(stem, norm_layer(norm, c), nn.ReLU())
        targets = list(channels[::-1][1:]) + [channels[0]]
        ups = []
        for c_next in targets:  # h x w => 2h x 2w at each stage
            ups.append(up_block(c, c_next, mode=decoder, norm=norm))
            c = c_next
        self.ups = nn.Sequential(*ups)
        self.to_image = nn.Conv2d(c, c_out, 3, padding=1)
        self.crop = CropTo()  # removes the padding the encoder added
        if out_activation not in ("sigmoid", None):
            raise ValueError(f"out_activation is 'sigmoid' or None, got {out_activation!r}")
        # sigmoid keeps outputs in (0, 1) like the pixels, and BCE needs probabilities
        self.out = nn.Sigmoid() if out_activation == "sigmoid" else nn.Identity()

    def forward(self, code, size=None):
        h, w = size or self.out_shape[1:]
        x = self.to_image(self.ups(self.from_code(code)))
        return self.out(self.crop(x, (h, w)))


class ConvAE(nn.Module):
    """Convolutional autoencoder: encode(x) -> z (B, latent_dim * code area), decode(z) -> x_hat."""

    def __init__(self, in_shape, latent_dim=2, channels=(32, 64), decoder="transpose",
                 bottleneck="1x1", norm="batch", out_activation="sigmoid"):
        super().__init__()
        self.in_shape, self.latent_dim = tuple(in_shape), latent_dim
        self.encoder = ConvEncoder(in_shape, channels, latent_dim, bottleneck, norm)
        self.decoder = ConvDecoder(in_shape, self.encoder.feature_hw, channels, latent_dim,
                                   bottleneck, decoder, norm, out_activation)

    @property
    def code_shape(self) -> tuple[int, int, int]:
        """Shape of one latent code: (latent_dim, 1, 1) or (latent_dim, h, w)."""
        if self.encoder.bottleneck == "1x1":
            return (self.latent_dim, 1, 1)
        return (self.latent_dim, *self.encoder.feature_hw)

    def encode(self, x):
        """x (B, C, H, W) -> z (B, numbers in the code), flattened."""
        return self.encoder(x).flatten(1)

    def decode(self, z, size=None):
        """z (B, numbers in the code) -> x_hat (B, C, H, W) of `size` (default: in_shape's H, W)."""
        h, w = size or self.in_shape[1:]
        m = self.encoder.multiple
        hw = (1, 1) if self.encoder.bottleneck == "1x1" else (padded_size(h, m) // m,
                                                               padded_size(w, m) // m)
        return self.decoder(z.view(len(z), self.latent_dim, *hw), (h, w))

    def forward(self, x):
        return self.decode(self.encode(x), size=tuple(x.shape[-2:]))


class SkipAE(ConvAE):
    """ConvAE plus one U-Net-like skip: the first encoder stage's map is added to the decoder's
    map of the same size, bypassing the code. forward(x, z) decodes code z in place of x's (04).
    """

    def forward(self, x, z=None):
        enc, dec = self.encoder, self.decoder
        enc.check(x)
        first = enc.features[0](enc.pad(x))  # (B, channels[0], H/2, W/2): the skip
        code = enc.to_code(enc.features[1:](first))
        code = code if z is None else z.reshape(code.shape)
        h = dec.from_code(code)
        for i, up in enumerate(dec.ups):
            h = up(h)
            if i == len(dec.ups) - 2:  # the decoder is back at H/2 x W/2: add the skip
                h = h + first
        return dec.out(dec.crop(dec.to_image(h), tuple(x.shape[-2:])))


class ConvVAE(nn.Module):
    """Variational AE: forward(x) -> (x_hat, mu, logvar); z = mu + sigma * eps (reparameterised)."""

    def __init__(self, in_shape, latent_dim=2, channels=(32, 64), decoder="transpose",
                 norm="batch", cond_dim=0, position_bias=False, head_activation=None):
        super().__init__()
        self.in_shape, self.latent_dim, self.cond_dim = tuple(in_shape), latent_dim, cond_dim
        hidden = max(64, 2 * latent_dim)
        self.encoder = ConvEncoder(in_shape, channels, hidden, "1x1", norm)
        # mu and logvar are unconstrained real numbers: no activation on either head
        # (head_activation="relu" puts one on both, the experiment of 04 that shows why not)
        if head_activation not in (None, "relu"):
            raise ValueError(f"head_activation is None or 'relu', got {head_activation!r}")
        self.head_activation = head_activation
        self.to_mu = nn.Linear(hidden + cond_dim, latent_dim)
        self.to_logvar = nn.Linear(hidden + cond_dim, latent_dim)
        self.decoder = ConvDecoder(in_shape, self.encoder.feature_hw, channels,
                                   latent_dim + cond_dim, "1x1", decoder, norm, "sigmoid",
                                   position_bias)

    def encode(self, x, c=None):
        """x -> (mu, logvar), each (B, latent_dim)."""
        h = torch.relu(self.encoder(x).flatten(1))
        if self.cond_dim or c is not None:
            h = torch.cat([h, self._check_cond(c, len(x))], dim=1)
        mu, logvar = self.to_mu(h), self.to_logvar(h)
        if self.head_activation == "relu":
            mu, logvar = torch.relu(mu), torch.relu(logvar)
        return mu, logvar

    @staticmethod
    def reparameterize(mu, logvar):
        """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I): sampling that gradients pass through."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z, c=None):
        """z (B, latent_dim) [+ condition] -> x_hat (B, C, H, W) in (0, 1)."""
        if self.cond_dim or c is not None:
            z = torch.cat([z, self._check_cond(c, len(z))], dim=1)
        return self.decoder(z[..., None, None])

    def forward(self, x, c=None):
        mu, logvar = self.encode(x, c)
        z = self.reparameterize(mu, logvar) if self.training else mu
        return self.decode(z, c), mu, logvar

    @torch.no_grad()
    def sample(self, n, c=None, generator=None):
        """Decode n draws of z ~ N(0, I) (with condition c, if conditional)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        return self.decode(z, c)

    def _check_cond(self, c, n):
        if not self.cond_dim:  # called with c by an unconditional model: say so, never ignore c
            raise ValueError("this VAE is not conditional (cond_dim=0) but got a condition c; "
                             "build models.ConvCVAE(in_shape, cond_dim=...) to use one")
        if c is None or c.shape != (n, self.cond_dim):
            got = None if c is None else tuple(c.shape)
            raise ValueError(f"this model is conditional: pass c of shape ({n}, {self.cond_dim}),"
                             f" got {got}")
        return c.float()


class ConvCVAE(ConvVAE):
    """Conditional VAE: the condition vector c joins the encoder's features and the decoder's z."""

    def __init__(self, in_shape, cond_dim, latent_dim=2, channels=(32, 64), decoder="transpose",
                 norm="batch"):
        if cond_dim < 1:
            raise ValueError(f"a conditional VAE needs cond_dim >= 1, got {cond_dim}")
        super().__init__(in_shape, latent_dim, channels, decoder, norm, cond_dim=cond_dim)


class MLPVAE(nn.Module):
    """The fully connected VAE of pytorch/examples, the peer 04 measures ConvVAE against.

    Source: https://github.com/pytorch/examples/blob/main/vae/main.py (class VAE), with its layer
    names: fc1 (784 => 400, ReLU), fc21 => mu and fc22 => logvar (400 => 20, no activation),
    fc3 (20 => 400, ReLU), fc4 (400 => 784, sigmoid). Its loss is BCE summed over pixels plus the
    closed-form KL per image, trained with Adam lr 1e-3, batch 128: here `losses.vae_step()` and
    `train.fit`, since forward(x) -> (x_hat, mu, logvar) as for ConvVAE. in_shape generalises
    784 to C*H*W; x_hat comes back as (B, C, H, W). Two differences from the source, both shared
    with ConvVAE: forward decodes mu in eval mode (vae_step samples z in evaluation too, as the
    source does), and sample() draws z ~ N(0, I) itself.
    """

    def __init__(self, in_shape, hidden=400, latent_dim=20):
        super().__init__()
        self.in_shape, self.latent_dim = tuple(in_shape), latent_dim
        pixels = math.prod(self.in_shape)
        self.fc1 = nn.Linear(pixels, hidden)
        self.fc21 = nn.Linear(hidden, latent_dim)  # mu: any real number, no activation
        self.fc22 = nn.Linear(hidden, latent_dim)  # logvar: likewise
        self.fc3 = nn.Linear(latent_dim, hidden)
        self.fc4 = nn.Linear(hidden, pixels)

    def encode(self, x):
        """x (B, C, H, W) -> (mu, logvar), each (B, latent_dim)."""
        if x.ndim != 4 or tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"expected a batch (B, {', '.join(map(str, self.in_shape))}) "
                             f"(model built with in_shape={self.in_shape}), got "
                             f"{tuple(x.shape)}; a fully connected VAE takes one image size only")
        h = F.relu(self.fc1(x.flatten(1)))
        return self.fc21(h), self.fc22(h)

    reparameterize = staticmethod(ConvVAE.reparameterize)  # z = mu + sigma * eps

    def decode(self, z):
        """z (B, latent_dim) -> x_hat (B, C, H, W) in (0, 1)."""
        h = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h)).view(len(z), *self.in_shape)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar) if self.training else mu
        return self.decode(z), mu, logvar

    @torch.no_grad()
    def sample(self, n, generator=None):
        """Decode n draws of z ~ N(0, I)."""
        device = next(self.parameters()).device
        return self.decode(torch.randn(n, self.latent_dim, generator=generator).to(device))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class ConvClassifier(nn.Module):
    """A small CNN judge: x (B, C, H, W) -> logits (B, num_classes); used to score generated images."""

    def __init__(self, in_shape, num_classes=10, channels=(32, 64), norm="batch"):
        super().__init__()
        c = in_shape[0]
        self.in_shape = tuple(in_shape)
        stages = []
        for c_out in channels:  # H x W => H/2 x W/2
            stages += [conv_block(c, c_out, 1, norm), conv_block(c_out, c_out, 2, norm)]
            c = c_out
        self.features = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)  # any H x W => 1 x 1
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(c, num_classes))

    def forward(self, x):
        return self.head(self.pool(self.features(x)))


class ResizeEncoder(ConvEncoder):
    """000's resize encoder (01): stride-1 conv blocks, each followed by a resize to half size,
    then a resize to 1x1 and a 1x1 convolution to the code; x (B, C, H, W) -> (B, code, 1, 1).

    resize="nearest" is the student's `nn.Upsample(size=...)` used to shrink: nearest-neighbour
    keeps every second row and column, and its last step to 1x1 keeps the top-left value only.
    resize="area" averages instead (`nn.AdaptiveAvgPool2d`), so the 1x1 code sees the whole map.
    """

    def __init__(self, in_shape, channels=(32, 64), code_channels=2, norm="batch",
                 resize="nearest"):
        super().__init__(in_shape, channels, code_channels, "1x1", norm)
        if resize not in ("nearest", "area"):
            raise ValueError(f"resize is 'nearest' (nn.Upsample) or 'area' (average), got {resize!r}")
        self.resize = resize
        shrink = ((lambda size: nn.Upsample(size=size, mode="nearest")) if resize == "nearest"
                  else nn.AdaptiveAvgPool2d)
        _, h, w = self.in_shape
        h, w = padded_size(h, self.multiple), padded_size(w, self.multiple)
        stages, c_in = [], self.in_shape[0]
        for c_out in channels:  # H x W => H/2 x W/2 by a resize, not by a stride
            h, w = h // 2, w // 2
            stages.append(nn.Sequential(conv_block(c_in, c_out, stride=1, norm=norm),
                                        shrink((h, w))))
            c_in = c_out
        self.features = nn.Sequential(*stages)
        self.to_code = nn.Sequential(shrink((1, 1)), nn.Conv2d(c_in, code_channels, 1))  # h x w => 1x1


class ResizeAE(ConvAE):
    """ConvAE whose encoder shrinks by resizing (ResizeEncoder, 01's Upsample question); same decoder."""

    def __init__(self, in_shape, latent_dim=2, channels=(32, 64), resize="nearest",
                 norm="batch"):
        super().__init__(in_shape, latent_dim, channels, "transpose", "1x1", norm)
        self.encoder = ResizeEncoder(in_shape, channels, latent_dim, norm, resize)


class MLPClassifier(nn.Module):
    """A fast judge (01): x (B, C, H, W) -> logits (B, num_classes) through one hidden ReLU layer."""

    def __init__(self, in_shape, num_classes=10, hidden=256):
        super().__init__()
        self.in_shape = tuple(in_shape)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(self.in_shape), hidden),
                                 nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x):
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"expected images of shape {self.in_shape} (model built with "
                             f"in_shape={self.in_shape}), got {tuple(x.shape[1:])}")
        return self.net(x)
