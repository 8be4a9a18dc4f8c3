"""Four checks to run before a long training run, each answered in words.

    step = train.reconstruction_step(losses.bce)          # the step train.fit would use
    problems = debug.check(model, next(iter(train_loader)), step, floor=bce_floor)
    # [] when the shapes, the gradients, the loss against its floor and one-batch overfitting are fine

1. the shapes: `blocks.shape_trace` prints every layer's output; an autoencoder must return its
   input's shape;
2. gradients flow: every trainable parameter gets a gradient that is not all zero;
3. the loss against its floor: a loss below what even a perfect model pays means wrong units or
   a wrong target;
4. overfitting one batch: a model that cannot drive the loss on a single batch far down will not
   learn a data set (a detached graph, a frozen layer, a learning rate of 0, a wrong target).

Karpathy's "recipe for training neural networks" lists these checks first; so does this course.
"""

from __future__ import annotations

import copy

import torch

from .blocks import shape_trace


def gradient_flow(model, batch, step) -> dict[str, float]:
    """The gradient norm of every trainable parameter after one backward pass of step's loss."""
    model.train()
    model.zero_grad(set_to_none=True)
    step(model, batch)["loss"].backward()
    norms = {name: (p.grad.norm().item() if p.grad is not None else 0.0)
             for name, p in model.named_parameters() if p.requires_grad}
    model.zero_grad(set_to_none=True)
    return norms


def overfit_one_batch(model, batch, step, steps: int = 200, lr: float = 1e-3) -> tuple[float, float]:
    """(first, last) loss of a copy of the model trained `steps` Adam steps on this one batch."""
    model = copy.deepcopy(model).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = step(model, batch)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return losses[0].item(), losses[-1].item()  # one host sync, at the end


def check(model, batch, step, floor: float | None = None, steps: int = 200, lr: float = 1e-3,
          reconstructs: bool = True, verbose: bool = True) -> list[str]:
    """Run the four checks on one batch (x, ...); return the problems found, in words.

    The model's weights, buffers (BatchNorm's running statistics) and mode are left as they were."""
    saved, was_training = copy.deepcopy(model.state_dict()), model.training
    try:
        return _check(model, batch, step, floor, steps, lr, reconstructs, verbose)
    finally:
        model.load_state_dict(saved)
        model.train(was_training)


def _check(model, batch, step, floor, steps, lr, reconstructs, verbose) -> list[str]:
    """check's work, on the model itself."""
    problems = []
    x = batch[0]
    shape_trace(model, x[:1], verbose=verbose)
    if reconstructs:
        with torch.no_grad():
            out = model.eval()(x[:2])
        out = out[0] if isinstance(out, tuple) else out
        if out.shape != x[:2].shape:
            problems.append(f"the output has shape {tuple(out.shape[1:])}, the input "
                            f"{tuple(x.shape[1:])}: an autoencoder must return its input's shape")
    dead = [name for name, norm in gradient_flow(model, batch, step).items() if norm == 0.0]
    if dead:
        problems.append(f"no gradient reaches {', '.join(dead[:4])}" + (" ..." if len(dead) > 4 else "")
                        + ": a detached tensor, a frozen layer or a branch the loss never uses")
    first, last = overfit_one_batch(model, batch, step, steps=steps, lr=lr)
    if floor is not None and first < floor - 1e-6:
        problems.append(f"the first loss {first:.4g} lies below its floor {floor:.4g}: the loss "
                        f"is in other units than the floor, or compares with the wrong target")
    target = floor if floor is not None else 0.0
    if last > target + 0.5 * (first - target):  # not even half way to the floor on one batch
        problems.append(f"one batch is not overfitted: the loss went from {first:.4g} to "
                        f"{last:.4g} in {steps} steps (floor {target:.4g}); check the learning "
                        f"rate, the target and whether the optimiser sees the parameters")
    if verbose:
        print("\n".join(problems) if problems else
              f"all four checks pass: loss {first:.4g} -> {last:.4g} on one batch in {steps} steps")
    return problems
