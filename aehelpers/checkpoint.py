"""Safe checkpoints for train.fit: save every N epochs and at the best score, resume exactly.

    ckpt = train.Checkpoint("build/ckpt/ae.pt", every=1, monitor="val_loss")
    history = train.fit(model, train_loader, val_loader, loss=losses.bce, num_epochs=10,
                        callbacks=[ckpt])
    # ... the kernel died after epoch 6? Run the same cell with resume_from: epochs 7-10 run and
    # the result is the same, bit for bit, as an uninterrupted run (same seed, same loaders)
    history = train.fit(..., num_epochs=10, callbacks=[ckpt], resume_from=ckpt.path)
    train.load_checkpoint(ckpt.best_path, model)       # the weights of the best epoch

A checkpoint holds the model, the optimiser, the epoch, the history and every random state the
next epoch draws from (torch CPU and CUDA, NumPy, Python, and the own generator of each loader
and of the noise).
Files are written to a temporary file and renamed, so a crash mid-write leaves the old one
intact, and weights that became NaN or infinite are never written. Loading uses
torch.load(weights_only=True): a file that asks to run code is refused, and a truncated or
corrupt one gives a CheckpointError naming the file.

Used through train.fit (01 onwards); this module imports nothing else from the package.
"""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path

import numpy as np
import torch

FORMAT = "aehelpers-checkpoint-1"


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, corrupt, unsafe or does not fit the model."""


class NonFiniteWeightsError(FloatingPointError):
    """The weights became NaN or infinite; the last good checkpoint is kept."""


# ---------------------------------------------------------------------------------------------
# random states (everything the next epoch draws from)
# ---------------------------------------------------------------------------------------------

def _loader_generators(loaders):
    # data.TensorLoader and torch's DataLoader keep their shuffling generator in .generator,
    # and so does a noise.Noise its draws; anything else (None, a plain function) has none
    return [getattr(loader, "generator", None) for loader in loaders]


def rng_state(loaders=()) -> dict:
    """Snapshot of the torch (CPU, CUDA), NumPy, Python and loader random states."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "python": random.getstate(),
        "loaders": [g.get_state() if isinstance(g, torch.Generator) else None
                    for g in _loader_generators(loaders)],
    }


def set_rng_state(state: dict, loaders=()):
    """Restore a snapshot taken by rng_state (loaders in the same order)."""
    # states are CPU byte tensors, whatever map_location moved the rest of the file to
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.cpu().numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(_as_tuples(state["python"]))
    for g, saved in zip(_loader_generators(loaders), state["loaders"]):
        if isinstance(g, torch.Generator) and saved is not None:
            g.set_state(saved.cpu())


def _as_tuples(x):
    return tuple(_as_tuples(v) for v in x) if isinstance(x, (list, tuple)) else x


# ---------------------------------------------------------------------------------------------
# writing and reading files
# ---------------------------------------------------------------------------------------------

def save_checkpoint(path, model, optimizer=None, epoch: int = 0, history=None, loaders=(),
                    **extra) -> Path:
    """Write model, optimiser, epoch, history and random states to path, atomically."""
    path = Path(path)
    weights = model.state_dict()
    bad = [k for k, v in weights.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise NonFiniteWeightsError(
            f"weights {bad[:3]} are NaN or infinite after epoch {epoch}; not saved, so {path} "
            f"keeps the last good checkpoint. Lower the learning rate or check the inputs.")
    state = {"format": FORMAT, "epoch": int(epoch), "model": weights,
             "optimizer": optimizer.state_dict() if optimizer is not None else None,
             "history": {k: list(v) for k, v in (history or {}).items()},
             "stopped_at": getattr(history, "stopped_at", None),
             "steps": {k: list(v) for k, v in getattr(history, "steps", {}).items()},
             "rng": rng_state(loaders), **extra}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # same folder: rename is atomic
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename, so a power cut cannot half-write
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path, model=None, map_location="cpu") -> dict:
    """Read a checkpoint safely (weights_only); load its weights into model if given; return it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; train with "
                              f"callbacks=[train.Checkpoint({str(path)!r})] to write it")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        what = ("asks to run code or import " + str(err).split("GLOBAL", 1)[1].split()[0]
                if "GLOBAL" in str(err) else "is corrupt or is a pickle that is not plain data")
        raise CheckpointError(f"refused to load {path}: it {what}. Only tensors, numbers and "
                              f"lists are loaded (weights_only=True); do not load files you "
                              f"do not trust with weights_only=False.") from None
    except (RuntimeError, EOFError, OSError, ValueError, IndexError, KeyError, TypeError,
            AttributeError) as err:  # garbage bytes fail inside the unpickler in many ways
        raise CheckpointError(f"checkpoint {path} is truncated or corrupt "
                              f"({type(err).__name__}: {str(err)[:120]}); use an earlier "
                              f"checkpoint or train again") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        keys = list(state)[:5] if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path} is not an aehelpers checkpoint (found {keys}); for a bare "
                              f"state_dict use model.load_state_dict(torch.load(path))")
    if model is not None:
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as err:
            raise CheckpointError(f"checkpoint {path} does not fit this model (built with other "
                                  f"sizes?): {str(err)[:300]}") from None
    return state


def resume(path, model, optimizer=None, loaders=(), history=None, map_location="cpu") -> int:
    """Load model, optimiser, history and random states from path; return the epoch it ended."""
    state = load_checkpoint(path, model, map_location)
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(state["optimizer"])
    if history is not None:
        history.clear()
        history.update({k: list(v) for k, v in state["history"].items()})
        history.stopped_at = state["stopped_at"]
        history.steps = {k: list(v) for k, v in state.get("steps", {}).items()}
    set_rng_state(state["rng"], loaders)
    return state["epoch"]


# ---------------------------------------------------------------------------------------------
# the callback
# ---------------------------------------------------------------------------------------------

class Checkpoint:
    """fit callback: save to path every `every` epochs, and to best_path when `monitor` improves.

    fit() hands it the optimiser and loaders (bind). Put it last in callbacks, after any callback
    that draws random numbers, so a resumed run draws the same ones. monitor=None: no best file.
    """

    def __init__(self, path, every: int = 1, monitor: str | None = "val_loss", mode: str = "min",
                 best_path=None):
        if every < 1:
            raise ValueError(f"every is a number of epochs >= 1, got {every}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode is 'min' or 'max', got {mode!r}")
        self.path, self.every, self.monitor, self.mode = Path(path), every, monitor, mode
        self.best_path = Path(best_path) if best_path else self.path.with_name(
            f"{self.path.stem}-best{self.path.suffix}")
        self.optimizer, self.loaders = None, ()

    def bind(self, optimizer=None, loaders=()):
        """Called by fit before the first epoch: what to save besides the model."""
        self.optimizer, self.loaders = optimizer, tuple(loaders)

    def improved(self, history) -> bool:
        """True when the latest `monitor` value beats every earlier one (NaN never does)."""
        if not self.monitor or self.monitor not in history:
            return False
        *before, last = history[self.monitor]
        sign = 1 if self.mode == "min" else -1
        # read from the history, so a resumed run knows the best score without extra state
        return last == last and all(sign * last < sign * b for b in before if b == b)

    def __call__(self, epoch, model, history):
        save = dict(model=model, optimizer=self.optimizer, epoch=epoch, history=history,
                    loaders=self.loaders)
        if self.improved(history):
            save_checkpoint(self.best_path, **save)
        if epoch % self.every == 0:
            save_checkpoint(self.path, **save)
        return False  # never stops training
