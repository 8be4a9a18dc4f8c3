"""A `train.fit` step under PyTorch Lightning: the same training, with a Trainer running the loop.

    from aehelpers import lit                      # needs Lightning: pip install lightning
    module = lit.StepModule(model, train.reconstruction_step(losses.bce), lr=2e-3)
    lit.quiet_trainer(max_epochs=2).fit(module, train_loader)

Lightning is optional: the package imports without it, and only `from aehelpers import lit`
needs it (an ImportError that says how to install it). Notebook 01, section 7, trains the same
model both ways and compares the weights; bench/speed.py times the two loops.
"""

from __future__ import annotations

import logging
import warnings

import torch

try:
    import lightning
except ImportError as err:  # an optional dependency: say how to get it
    raise ImportError("aehelpers.lit needs PyTorch Lightning: pip install lightning "
                      "(make setup installs it)") from err


class StepModule(lightning.LightningModule):
    """model as a LightningModule: training_step is step(model, batch, epoch)["loss"], the step
    train.fit would take, and the optimiser is Adam(lr), train.fit's default."""

    def __init__(self, model: torch.nn.Module, step, lr: float = 1e-3):
        super().__init__()
        self.model, self.step, self.lr = model, step, lr

    def training_step(self, batch, batch_idx):
        return self.step(self.model, batch, self.current_epoch)["loss"]

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def quiet_trainer(max_epochs: int, accelerator: str = "cpu") -> lightning.Trainer:
    """A Trainer on one device with logging, checkpoints, progress bar and model summary off (what
    train.fit does without callbacks), and Lightning's start-up banners and advice silenced."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    return lightning.Trainer(max_epochs=max_epochs, accelerator=accelerator, devices=1,
                             logger=False, enable_checkpointing=False, enable_progress_bar=False,
                             enable_model_summary=False, num_sanity_val_steps=0)
