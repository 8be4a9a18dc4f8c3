"""A plain PyTorch training loop with a per-epoch history.

    history = train.fit(model, train_loader, val_loader, loss=losses.bce, num_epochs=10)
    history["train_loss"], history["val_loss"]         # one number per epoch
    history.steps["train_loss"]                        # one number per optimiser step

Each epoch: model.train(), for every batch a step (forward, loss, backward, optimiser step), then
model.eval() and the same step without gradients over the validation batches. A history entry is
the mean over *samples*, not batches, so a small last batch cannot tilt the curve.

A step is any function `step(model, batch, epoch) -> {"loss": tensor, ...}` whose "loss" is the
mean over the batch; other entries are logged too. `loss=` builds the usual reconstruction step,
`noise=` corrupts the input (never the target) while training. fit() knows no model and draws
no figure. Introduced in 01_conv_ae.

Checkpoints (aehelpers/checkpoint.py, re-exported here): `callbacks=[train.Checkpoint(path,
every=1, monitor="val_loss")]` saves to path every epoch and to path's "-best" sibling when
val_loss improves; `fit(..., num_epochs=10, resume_from=path)` continues an interrupted run
after the saved epoch up to epoch num_epochs, with the same result as an uninterrupted run.
A NaN/inf loss raises NonFiniteLossError naming the epoch and batch, before any weights change,
so the last checkpoint stays good. `train.load_checkpoint(path, model)` loads weights safely.
"""

from __future__ import annotations

import copy
import itertools
import math
import time

import torch
from tqdm import tqdm

from . import config
from .checkpoint import (  # noqa: F401  (re-exported: train.Checkpoint, train.load_checkpoint)
    Checkpoint,
    CheckpointError,
    NonFiniteWeightsError,
    load_checkpoint,
    resume,
    save_checkpoint,
)


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the message gives the epoch and batch."""


class History(dict):
    """Per-epoch logs: history[key] is a list with one value per epoch; history.steps[key] one
    value per optimiser step (fit keeps each training batch's loss there)."""

    stopped_at: int | None = None  # the epoch a callback stopped training at, if one did

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = {}  # an attribute: every key of the dict itself is a per-epoch list

    def log_steps(self, key: str, values) -> None:
        """Append values (a sequence or tensor, one per step) to history.steps[key]."""
        values = values.tolist() if hasattr(values, "tolist") else values
        self.steps.setdefault(key, []).extend(float(v) for v in values)

    def log(self, key: str, value):
        """Append value to history[key]."""
        value = value.item() if hasattr(value, "item") else value
        self.setdefault(key, []).append(value if isinstance(value, int) else float(value))

    def last(self, key: str):
        """The latest value of key."""
        return self[key][-1]

    def best_epoch(self, key: str = "val_loss", mode: str = "min") -> int:
        """1-based epoch where key was lowest (mode='min') or highest (mode='max')."""
        values = self[key]
        pick = min if mode == "min" else max
        return values.index(pick(values)) + 1


def reconstruction_step(loss, noise=None):
    """Step for autoencoders: loss(model(noisy x), clean x); the noise only while training."""
    def step(model, batch, epoch=0):
        x = batch[0]
        x_in = noise(x) if (noise is not None and model.training) else x
        return {"loss": loss(model(x_in), x)}  # the target is always the clean image
    return step


def classifier_step():
    """Step for classifiers: cross-entropy of model(x) against the labels; logs accuracy too."""
    def step(model, batch, epoch=0):
        x, y = batch[0], batch[1]
        logits = model(x)
        accuracy = (logits.argmax(1) == y).float().mean()
        return {"loss": torch.nn.functional.cross_entropy(logits, y), "acc": accuracy.detach()}
    return step


def _to(batch, device):
    return [t.to(device, non_blocking=True) if torch.is_tensor(t) else t for t in batch]


def run_epoch(model, loader, step, epoch, optimizer=None, device=None, step_losses=None):
    """One pass over loader; trains when an optimizer is given. Returns {key: mean over samples}.
    step_losses: a list that receives every batch's loss (a device tensor, read by the caller).

    The sums stay on the device and are read once, at the end of the epoch: a `.item()` per batch
    would make a GPU wait for every step. For the same reason the NaN/inf check is per batch
    only on the CPU (where reading a number costs nothing), so there it stops before the bad
    batch changes any weight; on an accelerator the first bad batch is recorded on the device
    and reported, with its index, when the epoch ends.
    """
    device = torch.device(device) if device is not None else None
    eager = device is None or device.type == "cpu"
    sums, n_seen, bad = {}, 0, None  # bad: (B,) device tensor, first bad batch index (0 = none)
    for b, batch in enumerate(loader, start=1):
        batch = _to(batch, device)
        x = batch[0]
        if torch.is_tensor(x) and x.is_floating_point():
            finite = torch.isfinite(x).all()
            if eager and not finite:  # before the forward pass: not even BatchNorm sees it
                raise NonFiniteLossError(_bad_input(epoch, b, int((~torch.isfinite(x)).sum())))
            if not eager:
                bad = _first_bad(bad, finite, -b)  # negative: the input was bad
        with torch.set_grad_enabled(optimizer is not None):
            logs = step(model, batch, epoch)
            loss = logs["loss"]
            if eager and not torch.isfinite(loss):
                raise NonFiniteLossError(_bad_loss(epoch, b, loss.item(), optimizer, eager))
            if not eager:
                bad = _first_bad(bad, torch.isfinite(loss), b)
            if step_losses is not None:
                step_losses.append(loss.detach())
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        n = len(batch[0])
        n_seen += n
        for key, value in logs.items():
            value = value.detach() if torch.is_tensor(value) else value
            sums[key] = sums.get(key, 0.0) + value * n
    if bad is not None and int(bad) != 0:  # the epoch's one host sync on an accelerator
        b = int(bad)
        raise NonFiniteLossError(_bad_input(epoch, -b) if b < 0 else
                                 _bad_loss(epoch, b, float("nan"), optimizer, eager))
    keys = list(sums)
    values = [float(v) for v in torch.stack([torch.as_tensor(sums[k], dtype=torch.float64,
                                                             device=device) for k in keys]).cpu()] \
        if keys else []
    return {key: total / max(n_seen, 1) for key, total in zip(keys, values)}


def _first_bad(bad, finite, index: int):
    """Keep the index of the first batch whose check failed, without reading it on the host."""
    here = torch.where(finite, 0, index).to(torch.int64)
    return here if bad is None else torch.where(bad != 0, bad, here)


def _bad_input(epoch, b, count=None):
    what = f"{count} NaN/inf values" if count is not None else "NaN/inf values"
    return (f"the inputs of epoch {epoch}, batch {b} hold {what}; clean the data "
            f"(torch.nan_to_num, or drop those images)")


def _bad_loss(epoch, b, value, optimizer, eager):
    where = "training" if optimizer else "validation"
    state = ("The weights are those before this batch (BatchNorm statistics may not be)" if eager
             else "Later batches of the epoch have changed the weights")
    return (f"loss became {value} at epoch {epoch}, batch {b} ({where}): lower the learning "
            f"rate. {state}: reload the last checkpoint to go on")


def fit(model, train_loader, val_loader=None, *, loss=None, step=None, noise=None,
        num_epochs: int = 10, lr: float = 1e-3, optimizer=None, device=None, seed: int | None = None,
        callbacks=(), progress: bool = True, resume_from=None) -> History:
    """Train for num_epochs; return the History (train_*, val_* per epoch, seconds per epoch;
    history.steps["train_loss"]: each training batch's mean loss, one per optimiser step).

    callbacks: functions cb(epoch, model, history) called after each epoch; they may log into
    history (history.log(key, value)) and return True to stop training.
    resume_from: a file written by train.Checkpoint; training goes on after its epoch up to
    epoch num_epochs (so the same call both starts and resumes a run).
    seed: None leaves the random state as the notebook's `config.setup` seeded it; a number
    reseeds torch first (dropout, noise and reparameterisation draws).
    """
    if (loss is None) == (step is None):
        raise ValueError("pass exactly one of loss= (a reconstruction loss) or step=")
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
    for name, loader in (("train_loader", train_loader), ("val_loader", val_loader)):
        if loader is not None and hasattr(loader, "__len__") and len(loader) == 0:
            raise ValueError(f"{name} yields no batches: its dataset is empty (or smaller than "
                             f"batch_size with drop_last=True); check the split fractions")
    step = step or reconstruction_step(loss, noise)
    device = torch.device(device) if device else config.current().device
    model.to(device)
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    if seed is not None:
        torch.manual_seed(seed)  # dropout, noise and reparameterisation draws
    history, start_epoch = History(), 1
    sources = (train_loader, val_loader, noise)  # their .generator is saved with the RNGs
    if resume_from is not None:  # num_epochs counts from epoch 1: run only the epochs not done
        done = resume(resume_from, model, optimizer, sources, history, device)
        start_epoch, num_epochs = done + 1, num_epochs - done
    for cb in callbacks:  # e.g. Checkpoint saves the optimiser and the loaders' random states
        if hasattr(cb, "bind"):
            cb.bind(optimizer=optimizer, loaders=sources)
    epochs = range(start_epoch, start_epoch + max(num_epochs, 0))
    bar = tqdm(epochs, desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        start = time.perf_counter()
        model.train()
        step_losses = []
        logs = {f"train_{k}": v for k, v in
                run_epoch(model, train_loader, step, epoch, optimizer, device, step_losses).items()}
        history.log_steps("train_loss", torch.stack(step_losses).cpu())  # one read per epoch
        if val_loader is not None:
            model.eval()
            logs.update({f"val_{k}": v for k, v in
                         run_epoch(model, val_loader, step, epoch, None, device).items()})
        history.log("epoch", epoch)
        for key, value in logs.items():
            history.log(key, value)
        history.log("seconds", time.perf_counter() - start)
        bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k.endswith("loss")})
        stop = [cb(epoch, model, history) for cb in callbacks]
        if any(stop):
            history.stopped_at = epoch  # an attribute: every key of the dict is a per-epoch list
            break
    model.eval()
    return history


class LossCheck:
    """A loop's check(loss, name) for loops other than fit (gan.fit_gan): stop before a
    non-finite loss reaches its optimiser (CPU, where reading it is free), or remember the first
    bad batch and raise in raise_if_bad() when the epoch ends (accelerator: no host sync)."""

    def __init__(self, device, epoch: int):
        self.eager, self.epoch, self.batch, self.bad = device.type == "cpu", epoch, 0, None

    def __call__(self, loss, name):
        if self.eager:
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"GAN {name} became {loss.item()} at epoch {self.epoch}, batch {self.batch}, "
                    f"before its optimiser step: lower lr or try spectral_norm")
            return
        here = torch.where(torch.isfinite(loss), 0, self.batch)
        self.bad = here if self.bad is None else torch.where(self.bad != 0, self.bad, here)

    def raise_if_bad(self):
        if self.bad is not None and int(self.bad) != 0:
            raise NonFiniteLossError(f"GAN loss became non-finite at epoch {self.epoch}, batch "
                                     f"{int(self.bad)}: lower lr or try spectral_norm")


class BestWeights:
    """Callback: remember the weights of the epoch where `monitor` was best; never stops training.

        best = train.BestWeights("val_loss")       # or ("val_auroc", mode="max")
        train.fit(..., callbacks=[best]); best.restore(model); best.best_epoch
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "min"):
        if mode not in ("min", "max"):
            raise ValueError(f"mode is 'min' or 'max', got {mode!r}")
        self.monitor, self.mode = monitor, mode
        self.best, self.best_epoch, self.best_state = None, 0, None

    def improved(self, value: float) -> bool:
        """True when value beats the best so far (lower for 'min', higher for 'max')."""
        return self.best is None or (value < self.best if self.mode == "min" else value > self.best)

    def __call__(self, epoch, model, history):
        self.offer(epoch, model, history.last(self.monitor))
        return False

    def offer(self, epoch, model, value) -> None:
        """Keep model's weights if value beats the best so far; for loops other than fit (06
        offers fit_gan's moving-average G after each epoch). value may be a tuple, compared in order."""
        if self.improved(value):
            self.best, self.best_epoch = value, epoch
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def restore(self, model):
        """Load the best weights seen so far into model."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


class KeepAt:
    """Callback: a copy of the model as it was after one epoch (a budget another run shares);
    it only records, never stops training.

        early = train.KeepAt(5)
        train.fit(..., num_epochs=20, callbacks=[early]); early.model   # as after epoch 5
        early.restore(other)   # or load those weights into another model of the same shape
    """

    def __init__(self, epoch: int):
        if epoch < 1:
            raise ValueError(f"epoch counts from 1 (the first epoch's end), got {epoch}")
        self.epoch, self.model = epoch, None

    def __call__(self, epoch, model, history):
        if epoch == self.epoch:
            self.model = copy.deepcopy(model)
        return False

    def restore(self, model):
        """Load the kept weights into model; an error if fit never reached that epoch."""
        if self.model is None:
            raise RuntimeError(f"no copy kept: training never finished epoch {self.epoch}")
        model.load_state_dict(self.model.state_dict())


class EarlyStopping:
    """Callback: stop when `monitor` has not improved for `patience` epochs; restore the best."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, mode: str = "min",
                 restore_best: bool = True):
        self.monitor, self.patience, self.mode = monitor, patience, mode
        self.restore_best = restore_best
        self.best, self.best_epoch, self.best_state = math.inf, 0, None

    def __call__(self, epoch, model, history):
        value = history.last(self.monitor) * (1 if self.mode == "min" else -1)
        if value < self.best:
            self.best, self.best_epoch = value, epoch
            if self.restore_best:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        if epoch - self.best_epoch >= self.patience:
            self.restore(model)
            return True
        return False

    def restore(self, model):
        """Load the best weights seen so far into model (call after the last epoch too)."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


def evaluate(model, loader, *, loss=None, step=None, device=None) -> dict:
    """Mean over samples of the step's logs on loader, in eval mode without gradients."""
    step = step or reconstruction_step(loss)
    device = torch.device(device) if device else next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        return run_epoch(model, loader, step, 0, None, device)


@torch.no_grad()
def predict(model, x, batch_size: int = 512, fn=None, extra=()) -> torch.Tensor:
    """Run model (or fn, e.g. model.encode) on x in eval mode, batch by batch; return CPU tensors.

    The one way notebooks run a model on data: x may live anywhere (it is moved to the model's
    device batch by batch), the result always comes back on the CPU. x may also be a loader
    yielding (x, ...) batches. Tuple outputs (a VAE's (x_hat, mu, logvar)) come back as tuples.
    `extra` holds further inputs of fn(x, *extra), one row per row of x and split with it, e.g.
    the condition c of 05's CVAE: predict(model, z, fn=model.decode, extra=(c,)).
    """
    fn = fn or model
    device = _device_of(model)
    was_training = model.training
    model.eval()
    batches = (b[0] for b in x) if not torch.is_tensor(x) else x.split(batch_size)
    extras = zip(*(t.split(batch_size) for t in extra)) if extra else itertools.repeat(())
    outs = [_cpu(fn(xb.to(device, non_blocking=True),
                    *(t.to(device, non_blocking=True) for t in eb)))
            for xb, eb in zip(batches, extras)]
    model.train(was_training)
    if isinstance(outs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outs))
    return torch.cat(outs)


def _device_of(model) -> torch.device:
    """The device of a model's first parameter (or buffer); CPU for a model without either."""
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return torch.device("cpu")


def _cpu(out):
    return tuple(o.cpu() for o in out) if isinstance(out, (tuple, list)) else out.cpu()
