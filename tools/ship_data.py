"""Copy the data that ships in data/ from a full copy (developers only; the result is committed).

    python tools/ship_data.py /path/to/shared/data      # writes data/MNIST/raw, data/fruits360

MNIST: the two test-set IDX files, unchanged. Fruits-360: for each of the four apple varieties,
150 Training and 50 Validation images, spread evenly over the sorted file list (the files are
frames of a rotating apple, so even spacing keeps every side of the fruit). Then writes
data/SHA256SUMS, which `aehelpers.data.verify_shipped` and the tests check.
"""

import hashlib
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIETIES = ("Apple Braeburn", "Apple Golden 1", "Apple Granny Smith", "Apple Red 1")
PER_SPLIT = {"Training": 150, "Validation": 50}


def frame_key(name: str):
    """Sort 'r_12_100.jpg' after '12_100.jpg', numbers numerically."""
    m = re.match(r"(r_)?(\d+)_100\.jpg$", name)
    return (bool(m.group(1)), int(m.group(2))) if m else (True, 10**9, name)


def main(src: Path) -> None:
    dst = ROOT / "data"
    raw = dst / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for stem in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(src / "MNIST" / "raw" / stem, raw / stem)
    for split, n in PER_SPLIT.items():
        for variety in VARIETIES:
            files = sorted((p.name for p in (src / "fruits360" / split / variety).iterdir()),
                           key=frame_key)
            keep = [files[round(i * (len(files) - 1) / (n - 1))] for i in range(n)]
            out = dst / "fruits360" / split / variety
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            for name in keep:
                shutil.copyfile(src / "fruits360" / split / variety / name, out / name)
    lines = []
    for p in sorted(dst.rglob("*")):
        if p.is_file() and p.name not in ("README.md", "SHA256SUMS"):
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            lines.append(f"{digest}  {p.relative_to(dst).as_posix()}")
    (dst / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    total = sum(p.stat().st_size for p in dst.rglob("*") if p.is_file())
    print(f"{len(lines)} files, {total / 1e6:.2f} MB in {dst}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"))
