"""The one device rule: helpers move inputs to the model's device and hand back CPU tensors.

Without a GPU the rule is still tested: the model lives on PyTorch's "meta" device (shapes only,
no data), and its forward refuses any input that was not moved there. A helper that forgot the
move fails here exactly as it would fail on a Colab GPU. With CUDA present the same checks run
on the real device too.
"""

import pytest
import torch

from aehelpers import anomaly, data, train


class DeviceStrict(torch.nn.Module):
    """Identity-like model that asserts its input sits on the device of its weights."""

    def __init__(self, out_device="same"):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.out_device = out_device
        self.seen = []

    def forward(self, x):
        assert x.device == self.scale.device, f"input on {x.device}, weights on {self.scale.device}"
        self.seen.append(x.device.type)
        if self.scale.device.type == "meta":  # meta tensors hold no numbers: answer with zeros
            return torch.zeros(x.shape)
        return x * self.scale


DEVICES = ["meta"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_predict_moves_inputs_and_returns_cpu(device):
    model = DeviceStrict().to(device)
    x = torch.rand(10, 1, 4, 4)
    out = train.predict(model, x, batch_size=4)
    assert out.device.type == "cpu" and out.shape == x.shape
    assert model.seen == [device] * 3  # three batches, each moved first
    loader = data.TensorLoader(data.ImageSet(x), batch_size=5)
    assert train.predict(model, loader).shape == x.shape


def test_predict_leaves_training_mode_and_returns_tuples():
    class Pair(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Linear(3, 2)

        def forward(self, x):
            return self.w(x), x.sum(1)

    model = Pair().train()
    out, total = train.predict(model, torch.ones(7, 3), batch_size=3)
    assert out.shape == (7, 2) and total.shape == (7,) and model.training


@pytest.mark.parametrize("device", ["meta"])
def test_reconstruction_scores_follow_the_model(device, monkeypatch):
    def score_on_device(x_hat, x):  # the score is computed where the model ran
        assert x.device.type == device
        return torch.zeros(len(x), device="cpu" if device == "meta" else device)

    monkeypatch.setitem(anomaly.SCORES, "mse", score_on_device)
    model = DeviceStrict().to(device)
    scores = anomaly.reconstruction_scores(model, torch.rand(6, 1, 8, 8), "mse", batch_size=4)
    assert scores.device.type == "cpu" and scores.shape == (6,)
    assert model.seen == ["meta", "meta"]


def test_run_epoch_reads_the_device_once_per_epoch(monkeypatch):
    """No `.item()` per batch: count host reads of the loss over an epoch of 5 batches."""
    reads = []
    real_item = torch.Tensor.item

    def counting_item(self):
        reads.append(1)
        return real_item(self)

    model = torch.nn.Linear(4, 4)
    loader = data.TensorLoader(data.ImageSet(torch.rand(20, 1, 2, 2)), batch_size=4)
    step = lambda m, batch, epoch: {"loss": ((m(batch[0].flatten(1)) - batch[0].flatten(1)) ** 2)
                                    .mean()}
    monkeypatch.setattr(torch.Tensor, "item", counting_item)
    logs = train.run_epoch(model, loader, step, 1, torch.optim.SGD(model.parameters(), lr=0.1),
                           torch.device("cpu"))
    assert reads == [] and set(logs) == {"loss"} and logs["loss"] > 0
