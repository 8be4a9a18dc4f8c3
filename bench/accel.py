"""Speed table 4: the conv AE and VAE on MNIST-sized inputs held on the device, with bf16
autocast, channels_last and torch.compile each on and off; images/s and seconds per
60,000-image epoch.

    result = accel.table(quick=True)             # on CUDA if found, else on CPU (and says so)
    python bench/accel.py --model vae --compile  # one row as JSON (what table() spawns)

Rows with torch.compile run in a child process with a time limit: compiling on a CPU can take
minutes or fail (it needs a C++ compiler), and a hung compile must not stall the whole benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

from aehelpers import losses, models

EPOCH_IMAGES = 60_000  # one MNIST-sized training epoch
SETTINGS = [  # (name, bf16, channels_last, compile): the baseline, each switch alone, all three
    ("fp32 baseline", False, False, False),
    ("bf16 autocast", True, False, False),
    ("channels_last", False, True, False),
    ("torch.compile", False, False, True),
    ("all three", True, True, True),
]


def build(model_name: str) -> torch.nn.Module:
    """'ae': models.ConvAE (latent 2, trained with BCE); 'vae': models.ConvVAE (latent 20, ELBO)."""
    torch.manual_seed(0)
    if model_name == "ae":
        return models.ConvAE(in_shape=(1, 28, 28), latent_dim=2)
    return models.ConvVAE(in_shape=(1, 28, 28), latent_dim=20)


def train_step(model, optimizer, x, bf16: bool, device_type: str):
    """One optimiser step; the forward pass under bf16 autocast when asked, the loss in float32."""
    cast = (torch.autocast(device_type, dtype=torch.bfloat16) if bf16
            else contextlib.nullcontext())
    with cast:
        out = model(x)
    if isinstance(out, tuple):  # the VAE: (x_hat, mu, logvar); BCE is unsafe under autocast
        x_hat, mu, logvar = (t.float() for t in out)
        loss = losses.neg_elbo(x_hat, x, mu, logvar)[0]
    else:
        loss = losses.bce(out.float(), x)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


def measure(model_name: str, bf16: bool, channels_last: bool, compile_: bool, steps: int,
            batch_size: int, device: str) -> dict:
    """Images/s of `steps` training steps on data resident on `device`, after warm-up steps."""
    dev = torch.device(device)
    model = build(model_name)
    model.to(dev)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    x = torch.rand(batch_size, 1, 28, 28, device=dev).contiguous(memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    step_model = torch.compile(model) if compile_ else model
    start = time.perf_counter()
    for _ in range(2):  # warm-up; with compile the first call compiles forward and backward
        train_step(step_model, optimizer, x, bf16, dev.type)
    _sync(dev)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        train_step(step_model, optimizer, x, bf16, dev.type)
    _sync(dev)
    ips = steps * batch_size / (time.perf_counter() - start)
    return {"images/s": ips, "s/epoch": EPOCH_IMAGES / ips, "warm-up s": warmup}


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def measure_in_child(model_name, bf16, channels_last, steps, batch_size, device, timeout) -> dict:
    """measure(... compile=True) in a child process, killed after `timeout` seconds."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--model", model_name, "--compile",
           "--steps", str(steps), "--batch-size", str(batch_size), "--device", device,
           "--threads", str(torch.get_num_threads())]
    cmd += ["--bf16"] * bf16 + ["--channels-last"] * channels_last
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"note": f"compile did not finish within {timeout} s (time-boxed)"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return {"note": f"failed: {last[:120]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(quick: bool, compile_timeout: int = 150) -> dict:
    """Every SETTINGS row for the AE and the VAE; compile rows time-boxed (skipped with --quick)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    on_gpu = device == "cuda"
    batch_size = 256 if on_gpu else 64
    steps = (50 if quick else 200) if on_gpu else (3 if quick else 8)  # bf16 on a CPU is slow
    rows = []
    for model_name in ("ae", "vae"):
        base = None
        for name, bf16, channels_last, compile_ in SETTINGS:
            row = {"model": model_name.upper(), "setting": name}
            if compile_ and quick:
                row["note"] = "skipped (--quick)"  # compiling takes minutes on a CPU
            elif compile_:
                row.update(measure_in_child(model_name, bf16, channels_last, steps, batch_size,
                                            device, compile_timeout))
            else:
                row.update(measure(model_name, bf16, channels_last, False, steps, batch_size,
                                   device))
            if "images/s" in row:
                base = base or row["images/s"]
                row["ratio"] = row["images/s"] / base
            rows.append(row)
    return {"rows": rows, "device": torch.cuda.get_device_name(0) if on_gpu else "cpu",
            "gpu_found": on_gpu, "batch_size": batch_size, "steps": steps,
            "compile_timeout_s": compile_timeout}


def main(argv=None):
    parser = argparse.ArgumentParser(description="one row of the accelerator table, as JSON")
    parser.add_argument("--model", choices=("ae", "vae"), default="ae")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    row = measure(args.model, args.bf16, args.channels_last, args.compile, args.steps,
                  args.batch_size, args.device)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
