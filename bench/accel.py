"""Speed table 4: the conv AE and VAE on MNIST-sized inputs held on the device, with bf16
autocast, channels_last and torch.compile each on and off; images/s, seconds per 60,000-image
epoch and the speed ratio to the fp32 baseline.

    result = accel.table(quick=True)             # on CUDA if found, else on CPU (and says so)
    python bench/accel.py --model vae --compile  # one measurement as JSON, in this process
    python bench/accel.py --serve --compile ...  # what table() spawns: a child timing on request

The settings of one model are timed interleaved (a, b, c, a, b, c, ...) over several rounds of
`steps` training steps each, after an untimed warm-up round; every ratio is the median of the
per-round ratios to the fp32 baseline of the same round, with its range over the rounds
(common.compare: "median (min-max)").

Settings with torch.compile run in a child process with a time limit: compiling on a CPU can take
minutes or fail (it needs a C++ compiler), and a hung compile must not stall the whole benchmark.
The child compiles once, then waits; in every round the parent asks it for one timed run between
the other settings' runs, so the compiled settings are interleaved like the rest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import common
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


class Stepper:
    """One setting's model, optimiser and batch on the device, warmed up; run() times `steps`."""

    def __init__(self, model_name: str, bf16: bool, channels_last: bool, compile_: bool,
                 steps: int, batch_size: int, device: str):
        self.dev = torch.device(device)
        self.bf16, self.steps, self.batch_size = bf16, steps, batch_size
        model = build(model_name).to(self.dev)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        model = model.to(memory_format=fmt)
        self.x = torch.rand(batch_size, 1, 28, 28, device=self.dev).contiguous(memory_format=fmt)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        self.model = torch.compile(model) if compile_ else model
        start = time.perf_counter()
        for _ in range(2):  # warm-up; with compile the first call compiles forward and backward
            train_step(self.model, self.optimizer, self.x, bf16, self.dev.type)
        _sync(self.dev)
        self.warmup_s = time.perf_counter() - start

    def _steps(self):
        for _ in range(self.steps):
            train_step(self.model, self.optimizer, self.x, self.bf16, self.dev.type)

    def run(self) -> float:
        """Seconds of `steps` training steps, device work included."""
        _sync(self.dev)
        start = time.perf_counter()
        self._steps()
        _sync(self.dev)
        return time.perf_counter() - start

    def close(self):
        pass


def measure(model_name: str, bf16: bool, channels_last: bool, compile_: bool, steps: int,
            batch_size: int, device: str) -> dict:
    """Images/s of one run of `steps` training steps after the warm-up (one setting, untimed
    against anything: the table uses interleaved rounds instead)."""
    stepper = Stepper(model_name, bf16, channels_last, compile_, steps, batch_size, device)
    ips = steps * batch_size / stepper.run()
    return {"images/s": ips, "s/epoch": EPOCH_IMAGES / ips, "warm-up s": stepper.warmup_s}


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


class ChildStepper:
    """A Stepper in a child process (`accel.py --serve`), answering 'run' with its seconds.

    Every answer must come within `timeout` seconds (the first one includes compiling);
    otherwise, or if the child fails, it is ended, `note` says why and run() returns NaN.
    """

    def __init__(self, model_name, bf16, channels_last, steps, batch_size, device, timeout):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", "--model", model_name,
               "--compile", "--steps", str(steps), "--batch-size", str(batch_size),
               "--device", device, "--threads", str(torch.get_num_threads())]
        cmd += ["--bf16"] * bf16 + ["--channels-last"] * channels_last
        self.timeout, self.note, self.warmup_s = timeout, None, None
        self.stderr = tempfile.TemporaryFile(mode="w+")  # a file: a full pipe would hang it
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, bufsize=1)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self._answer(f"compile did not finish within {timeout} s (time-boxed)")
        if first is not None:
            self.warmup_s = first["warm-up s"]

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)  # the child closed its output: it ended

    def _answer(self, timeout_note: str):
        try:
            line = self.lines.get(timeout=self.timeout)
        except queue.Empty:
            return self._fail(timeout_note)
        if line is None:
            self.proc.wait()
            self.stderr.seek(0)
            last = (self.stderr.read().strip().splitlines() or ["no message"])[-1]
            return self._fail(f"failed: {last[:120]}")
        return json.loads(line)

    def _fail(self, note: str):
        self.note = self.note or note
        self.close()
        return None

    def run(self) -> float:
        if self.note:
            return math.nan
        try:
            self.proc.stdin.write("run\n")
            self.proc.stdin.flush()
        except OSError:  # the child has ended: _answer reads why from its stderr
            pass
        answer = self._answer(f"a timed run took over {self.timeout} s")
        return math.nan if answer is None else answer["seconds"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


def serve(args):
    """The child's side of ChildStepper: warm up, say so, then time one run per 'run' line."""
    sys.stdout.flush()  # answers go to the inherited stdout; everything else (prints, logs,
    answers = os.fdopen(os.dup(1), "w")  # a compiler's output) goes to stderr from here on,
    os.dup2(2, 1)                        # so nothing can garble them
    sys.stdout = sys.stderr
    stepper = Stepper(args.model, args.bf16, args.channels_last, args.compile, args.steps,
                      args.batch_size, args.device)
    print(json.dumps({"warm-up s": stepper.warmup_s}), file=answers, flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        print(json.dumps({"seconds": stepper.run()}), file=answers, flush=True)


def table(quick: bool, compile_timeout: int = 150) -> dict:
    """Every SETTINGS row for the AE and the VAE, the settings of a model timed interleaved.

    Rounds: one untimed warm-up round, then `repeats` timed ones; in each, every setting runs
    `steps` training steps in turn. Compile rows run in children, time-boxed (skipped --quick).
    """
    device = "cuda" if torch.cuda.is_available() else "cpu"
    on_gpu = device == "cuda"
    batch_size = 256 if on_gpu else 64
    steps = (20 if quick else 100) if on_gpu else (2 if quick else 4)  # per round; bf16 on a
    repeats = 3 if quick else (7 if on_gpu else 5)                      # CPU is slow
    rows = []
    for model_name in ("ae", "vae"):
        steppers, notes = {}, {}
        for name, bf16, channels_last, compile_ in SETTINGS:
            if compile_ and quick:
                notes[name] = "skipped (--quick)"  # compiling takes minutes on a CPU
            elif compile_:
                steppers[name] = ChildStepper(model_name, bf16, channels_last, steps,
                                              batch_size, device, compile_timeout)
            else:
                steppers[name] = Stepper(model_name, bf16, channels_last, False, steps,
                                         batch_size, device)
        try:
            rounds = common.interleaved_times({n: st.run for n, st in steppers.items()},
                                              repeats=repeats, warmup=1, timer=lambda fn: fn())
        finally:
            for st in steppers.values():
                st.close()
        stats = common.compare(rounds, base=SETTINGS[0][0], work=steps * batch_size)
        for name, *_ in SETTINGS:
            row = {"model": model_name.upper(), "setting": name}
            st = steppers.get(name)
            note = notes.get(name) or getattr(st, "note", None)
            if note:
                row["note"] = note
            if st is not None and st.warmup_s is not None:
                row["warm-up s"] = st.warmup_s
            seconds = stats.get(name, {}).get("seconds")
            if seconds is not None and math.isfinite(seconds):
                ips = steps * batch_size / seconds
                ratio = stats[name]["ratio"]
                row.update({"images/s": ips, "s/epoch": EPOCH_IMAGES / ips, "ratio": ratio,
                            "seconds_rounds": seconds.values, "ratio_range": ratio.as_dict(),
                            "images/s_range": stats[name]["per_s"].as_dict()})
            rows.append(row)
    return {"rows": rows, "device": torch.cuda.get_device_name(0) if on_gpu else "cpu",
            "gpu_found": on_gpu, "batch_size": batch_size, "steps_per_round": steps,
            "repeats": repeats, "warmup_rounds": 1, "compile_timeout_s": compile_timeout}


def main(argv=None):
    parser = argparse.ArgumentParser(description="one row of the accelerator table, as JSON")
    parser.add_argument("--serve", action="store_true",
                        help="warm up, then time one run per 'run' line on stdin (for table())")
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
    if args.serve:
        return serve(args)
    row = measure(args.model, args.bf16, args.channels_last, args.compile, args.steps,
                  args.batch_size, args.device)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
