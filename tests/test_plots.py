"""plots: the figure helpers every notebook uses, drawn on small inputs."""

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from aehelpers import plots  # noqa: E402


def test_image_grid_one_axis_per_cell_titles_and_shared_scale():
    rows = [torch.rand(3, 1, 8, 8), torch.rand(2, 1, 8, 8)]
    fig = plots.image_grid(rows, row_titles=["a", "b"], col_titles=["x", "y", "z"])
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == ["x", "y", "z"]
    assert fig.axes[0].get_ylabel() == "a" and fig.axes[3].get_ylabel() == "b"
    shown = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(shown) == 5 and all(im.get_clim() == (0, 1) for im in shown)  # one scale
    plots.plt.close(fig)


def test_latent_grid_decodes_n_by_n_points_over_the_range():
    asked = []

    def decode(z):
        asked.append(z.clone())
        return torch.zeros(len(z), 1, 4, 4) + z[:, :1, None, None].clamp(0, 1)

    fig = plots.latent_grid(decode, low=-1.0, high=1.0, n=3)
    z = torch.cat(asked)
    assert z.shape == (9, 2) and z.min() == -1.0 and z.max() == 1.0
    assert len(fig.axes) >= 1
    plots.plt.close(fig)
