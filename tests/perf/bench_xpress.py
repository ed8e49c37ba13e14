"""Benchmark: our XPRESS Huffman encoder against wimlib's, on the same blobs.

    python tests/perf/bench_xpress.py [--repeat 2]

The input is a tree made from this repository: its Python sources, docs and test files, the
files inside the four real sample packages, plus a few generated shapes (provisioning-like
XML, a log, an all-zero file, random bytes). wimlib-imagex captures the same tree with
--compress=XPRESS; `info --blobs` gives each blob's stored size. Prints our MB/s (input bytes
per second of tui.package.wim.resource.compress_resource, best of --repeat) and our total
stored size ÷ wimlib's, overall and per kind. Targets: >= 2 MB/s, <= 1.15x.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tui.package.wim.resource import compress_resource  # noqa: E402


def make_tree(base: Path) -> None:
    for pattern in ("tui/*.py", "docs/*.md", "tests/*.py", "README.md"):
        for src in ROOT.glob(pattern):
            dst = base / "repo" / src.relative_to(ROOT)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    (base / "samples").mkdir(parents=True)
    for sample in sorted((ROOT / "tests/fixtures/ppkg").glob("*.ppkg")):
        subprocess.run(
            ["wimlib-imagex", "apply", str(sample), "1", str(base / "samples" / sample.stem)],
            check=True,
            capture_output=True,
        )
    rng = random.Random(7)
    gen = base / "generated"
    gen.mkdir()
    setting = '<characteristic type="{}"><parm name="{}" value="{}" datatype="string"/>'
    xml = "".join(
        setting.format(rng.choice(["Policy", "Accounts", "Wifi"]), f"Name{i}", rng.random())
        for i in range(3000)
    )
    (gen / "settings.provxml").write_text(f"<wap-provisioningdoc>{xml}</wap-provisioningdoc>")
    log = "".join(
        f"2025-01-{i % 28 + 1:02} INFO step {i} took {rng.randint(1, 999)} ms\n"
        for i in range(8000)
    )
    (gen / "setup.log").write_text(log)
    (gen / "zeros.bin").write_bytes(bytes(200_000))
    (gen / "random.bin").write_bytes(rng.randbytes(300_000))


def wimlib_sizes(tree: Path, wim: Path) -> dict[bytes, int]:
    """SHA-1 of each blob -> the bytes wimlib stores it in."""
    subprocess.run(
        ["wimlib-imagex", "capture", str(tree), str(wim), "x", "--compress=XPRESS"],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        ["wimlib-imagex", "info", "--blobs", str(wim)], check=True, capture_output=True, text=True
    ).stdout
    sizes = {}
    for block in out.split("\n\n"):
        digest = re.search(r"Hash\s*=\s*0x([0-9a-f]{40})", block)
        stored = re.search(r"Compressed size\s*=\s*(\d+)", block)
        if digest and stored and "METADATA" not in block:
            sizes[bytes.fromhex(digest.group(1))] = int(stored.group(1))
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-xpress-"))
    try:
        tree = base / "tree"
        make_tree(tree)
        theirs = wimlib_sizes(tree, base / "w.wim")
        blobs: dict[bytes, tuple[str, bytes]] = {}
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            data = path.read_bytes()
            if data:
                blobs[hashlib.sha1(data).digest()] = (path.relative_to(tree).parts[0], data)
        best = float("inf")
        ours: dict[bytes, int] = {}
        for _ in range(args.repeat):
            start = time.perf_counter()
            for digest, (_, data) in blobs.items():
                packed = compress_resource(data)
                ours[digest] = len(data) if packed is None else len(packed)
            best = min(best, time.perf_counter() - start)
        total_in = sum(len(d) for _, d in blobs.values())
        print(f"{len(blobs)} blobs, {total_in / 1e6:.2f} MB in, best of {args.repeat}")
        print(f"encoder speed: {total_in / 1e6 / best:.2f} MB/s (target >= 2)")
        kinds = sorted({kind for kind, _ in blobs.values()})
        for kind in [*kinds, "generated/ (each)", "all"]:
            if kind == "generated/ (each)":
                for digest, (k, data) in blobs.items():
                    if k == "generated":
                        print(
                            f"  {'':>10} {len(data):>8} B: ours {ours[digest]:>7} / "
                            f"wimlib {theirs[digest]:>7} = {ours[digest] / theirs[digest]:.3f}x"
                        )
                continue
            keys = [d for d, (k, _) in blobs.items() if kind in (k, "all")]
            a, b = sum(ours[d] for d in keys), sum(theirs[d] for d in keys)
            print(f"{kind:>10}: ours {a:>8} B / wimlib {b:>8} B = {a / b:.3f}x")
        ratio = sum(ours.values()) / sum(theirs[d] for d in ours)
        print(f"size ours / wimlib XPRESS: {ratio:.3f}x (target <= 1.15)")
        return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    os.nice(5)
    sys.exit(main())
