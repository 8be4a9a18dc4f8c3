"""Noise transforms: aehelpers.noise (vectorised, a whole batch at once) vs the per-pixel Python
triple loop that students wrote, on a batch of 3 x 100 x 100 images.

    python bench/noise.py            # table on stdout, numbers in bench/results/noise.json
    python bench/noise.py --quick    # fewer pixels in the loops, fewer repeats (CI, bench/run.py)
    from noise import main; main(quick=True) -> dict      # what bench/run.py calls

The loop is timed on the first `rows` rows of one image only (it takes seconds per image) and
its time is scaled linearly to a whole 3 x 100 x 100 image: a Python loop's cost per pixel does
not depend on where the pixel is, so the scaling is honest; the table says how many pixels were
timed. Two loops are timed: over a torch tensor (what the students wrote: every `img[c, i, j]`
goes through torch's indexing) and over a numpy array (the fastest a plain loop gets). The
vectorised transforms run on a batch of `batch` images and are reported per image; throughput is
float32 input megabytes (1e6 bytes) per second.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/common.py
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo's aehelpers

import common  # noqa: E402

from aehelpers import noise  # noqa: E402

SHAPE = (3, 100, 100)  # one image: C, H, W
LEVELS = {"gaussian": {"sigma": 0.3}, "masking": {"p": 0.3}, "salt_pepper": {"p": 0.1},
          "poisson": {"photons": 20.0}, "speckle": {"sigma": 0.3}, "randn_mask": {"threshold": 0.5},
          "gamma_mask": {}, "beta_mask": {}, "laplace_mask": {}}


# ---------------------------------------------------------------------------------------------
# the students' loops (one image (C, H, W), a new image returned)
# ---------------------------------------------------------------------------------------------

def loop_gaussian(img, rows, sigma=0.3):
    out = img.clone() if torch.is_tensor(img) else img.copy()
    for c in range(out.shape[0]):
        for i in range(rows):
            for j in range(out.shape[2]):
                out[c, i, j] = min(max(float(out[c, i, j]) + random.gauss(0, sigma), 0.0), 1.0)
    return out


def loop_masking(img, rows, p=0.3):
    return noise.per_pixel_masking(img, p, rows, seed=random.randrange(2**31))  # the package's loop


def loop_salt_pepper(img, rows, p=0.1):
    out = img.clone() if torch.is_tensor(img) else img.copy()
    for c in range(out.shape[0]):
        for i in range(rows):
            for j in range(out.shape[2]):
                r = random.random()
                if r < p / 2:
                    out[c, i, j] = 1.0
                elif r < p:
                    out[c, i, j] = 0.0
    return out


def loop_randn_mask(img, rows, threshold=0.5):
    out = img.clone() if torch.is_tensor(img) else img.copy()
    for c in range(out.shape[0]):
        for i in range(rows):
            for j in range(out.shape[2]):
                if random.gauss(0, 1) < threshold:
                    out[c, i, j] = 0.0
    return out


LOOPS = {"gaussian": loop_gaussian, "masking": loop_masking, "salt_pepper": loop_salt_pepper,
         "randn_mask": loop_randn_mask}


# ---------------------------------------------------------------------------------------------
# the measurement
# ---------------------------------------------------------------------------------------------

def measure(quick: bool = False, device: str = "cpu") -> dict:
    """Time every noise vectorised on a batch, and the loops on a few rows; return the rows."""
    batch, repeats, rows = (16, 3, 4) if quick else (64, 7, 20)
    c, h, w = SHAPE
    x = torch.rand(batch, *SHAPE, generator=torch.Generator().manual_seed(0)).to(device)
    image_bytes = c * h * w * 4  # float32
    gen = torch.Generator(device=device).manual_seed(0)
    transforms = {name: noise.make(name, generator=gen, **LEVELS[name]) for name in noise.NOISES}
    vec = common.median_times({n: (lambda f=f: f(x)) for n, f in transforms.items()},
                              repeats=repeats)
    img_t = x[0].cpu().clone()
    img_np = img_t.numpy().copy()
    random.seed(0)
    loop_t = common.median_times({n: (lambda f=f: f(img_t, rows)) for n, f in LOOPS.items()},
                                 repeats=max(1, repeats // 3), warmup=0)
    loop_np = common.median_times({n: (lambda f=f: f(img_np, rows)) for n, f in LOOPS.items()},
                                  repeats=max(1, repeats // 3), warmup=0)
    scale = h / rows  # seconds on `rows` rows -> seconds on a whole image
    out = []
    for name, t in vec.items():
        per_image = t / batch
        row = {"noise": transforms[name].label, "name": name,
               "vectorised_ms_per_image": 1e3 * per_image,
               "vectorised_MB_s": image_bytes / per_image / 1e6}
        if name in LOOPS:
            for kind, times in (("torch", loop_t), ("numpy", loop_np)):
                loop_image = times[name] * scale
                row[f"loop_{kind}_ms_per_image"] = 1e3 * loop_image
                row[f"loop_{kind}_MB_s"] = image_bytes / loop_image / 1e6
                row[f"speedup_vs_{kind}_loop"] = loop_image / per_image
        out.append(row)
    return {"rows": out, "batch": batch, "image_shape": list(SHAPE), "loop_rows_timed": rows,
            "loop_pixels_timed": c * rows * w, "repeats": repeats, "device": device}


def main(quick: bool = False) -> dict:
    """Run the benchmark, print the table, write bench/results/noise.json; return the payload."""
    torch.manual_seed(0)
    payload = {"env": common.environment(), "quick": quick, **measure(quick)}
    if torch.cuda.is_available():  # the same transforms on the GPU, beside the CPU numbers
        payload["cuda"] = measure(quick, device="cuda")
    looped = [r for r in payload["rows"] if "speedup_vs_torch_loop" in r]
    payload["headline"] = {
        "min_speedup_vs_torch_loop": min(r["speedup_vs_torch_loop"] for r in looped),
        "max_speedup_vs_torch_loop": max(r["speedup_vs_torch_loop"] for r in looped),
        "min_speedup_vs_numpy_loop": min(r["speedup_vs_numpy_loop"] for r in looped),
        "max_speedup_vs_numpy_loop": max(r["speedup_vs_numpy_loop"] for r in looped),
        "min_vectorised_MB_s": min(r["vectorised_MB_s"] for r in payload["rows"]),
        "max_vectorised_MB_s": max(r["vectorised_MB_s"] for r in payload["rows"]),
    }
    cols = ["name", "vectorised_ms_per_image", "vectorised_MB_s", "loop_torch_ms_per_image",
            "loop_numpy_ms_per_image", "speedup_vs_torch_loop", "speedup_vs_numpy_loop",
            "loop_torch_MB_s"]
    threads = payload["env"]["torch_threads"]
    title = (f"noise on {payload['batch']} images of {SHAPE} (cpu, {threads} threads); loops timed"
             f" on {payload['loop_pixels_timed']} pixels, scaled to an image")
    print(common.table(payload["rows"], cols, title))
    if "cuda" in payload:
        print(common.table(payload["cuda"]["rows"], cols[:3], "the same on cuda"))
    path = common.save("noise", payload)
    print(f"wrote {path}")
    return payload


if __name__ == "__main__":
    main(common.quick_args(__doc__, "fewer pixels and repeats").quick)
