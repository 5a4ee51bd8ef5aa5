"""How big an image is where it matters: compressed, as a registry stores it and a site
downloads it (``docker push`` gzips each layer at the default level), which is also how the
school's report counted its images (registry sizes). The uncompressed size that
``docker image inspect`` reports is printed next to it.

Layers are shared along an image chain (light -> code-server -> jupyter), so each layer's
compressed size is cached by its digest in ``build/layer-sizes.json``: a layer is compressed
once, whichever image asks first.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
import zlib
from pathlib import Path
from typing import IO

CACHE = Path("build/layer-sizes.json")
#: What ``docker push`` uses (Go's gzip.DefaultCompression).
LEVEL = 6


def _compressed_bytes(stream: IO[bytes] | None) -> int:
    if stream is None:
        return 0
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)  # 31: gzip framing
    total = 0
    while chunk := stream.read(4 << 20):
        total += len(compressor.compress(chunk))
    return total + len(compressor.flush())


def compressed_size(image: str, program: str = "docker", cache: Path = CACHE) -> int:
    """Sum of the gzip-compressed sizes of the image's layers (and its small JSON files)."""
    known: dict[str, int] = json.loads(cache.read_text()) if cache.is_file() else {}
    total = 0
    with subprocess.Popen([program, "save", image], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                key = member.name if member.name.startswith("blobs/sha256/") else None
                if key is not None and key in known:
                    total += known[key]
                    continue
                size = _compressed_bytes(archive.extractfile(member))
                total += size
                if key is not None and member.size > 1 << 20:
                    known[key] = size
    if proc.returncode != 0:
        raise RuntimeError(f"{program} save {image} failed")
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(known, indent=0))
    return total


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:]:
        print(f"{name}: {compressed_size(name) / 1e6:.0f} MB compressed")
