"""plots: the figure helpers every notebook uses, drawn on small inputs."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from aehelpers import plots, train  # noqa: E402


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


def test_savefig_writes_under_the_notebook_media(smoke_config):
    path = plots.savefig(plots.bar_table({"a": 1}, ylabel="y"), "fig")
    assert path == smoke_config.media_dir / "fig.png" and path.stat().st_size > 0


def test_interval_plot_draws_one_row_per_interval_top_down():
    import matplotlib.pyplot as plt

    fig = plots.interval_plot({"first": (0.9, 0.8, 0.95), "second": (0.6, 0.5, 0.7)}, "AUROC")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["second", "first"]
    assert ax.get_xlabel() == "AUROC" and ax.get_legend().get_texts()[0].get_text() == "chance"
    plt.close(fig)
    # into a panel of a larger figure; a reference line with no name gets no legend
    fig, axes = plt.subplots(1, 2)
    assert plots.interval_plot({"a": (0.1, 0.0, 0.2)}, "diff", reference=(0, None), ax=axes[1],
                               color="tab:orange") is fig
    assert axes[1].get_legend() is None and axes[0].get_xlabel() == ""
    assert [t.get_text() for t in axes[1].get_yticklabels()] == ["a"]
    plt.close(fig)


def test_step_curve_puts_each_epoch_mean_at_its_last_step_and_counts_epochs_on_top():
    history = train.History()
    for epoch, steps in ((1, [4.0, 2.0, 3.0]), (2, [2.0, 1.0, 1.5])):
        history.log("epoch", epoch)
        history.log("train_loss", sum(steps) / 3)
        history.log_steps("train_loss", steps)
    fig = plots.step_curve(history)
    ax = fig.axes[0]
    each, means = ax.lines[0], ax.lines[1]
    assert list(each.get_xdata()) == [1, 2, 3, 4, 5, 6] and list(each.get_ydata())[0] == 4.0
    assert list(means.get_xdata()) == [3.0, 6.0] and list(means.get_ydata()) == [3.0, 1.5]
    assert ax.child_axes[0].get_xlabel() == "epoch"
    plots.plt.close(fig)
    with pytest.raises(ValueError, match="no per-step 'val_loss'"):
        plots.step_curve(history, key="val_loss")
