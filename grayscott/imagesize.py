"""How big an image is where it matters: compressed, as a registry stores it and a site
downloads it (``docker push`` gzips each layer at the default level), which is also how the
school's report counted its images (registry sizes). The uncompressed size that
``docker image inspect`` reports is printed next to it.

Layers are shared along an image chain (light -> code-server -> jupyter), so each layer's
compressed size is cached by its content digest in ``build/layer-sizes.json``: a layer is
compressed once, whichever image asks first, and an image whose layers are all known is not
exported again.
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


def layer_ids(image: str, program: str = "docker") -> list[str]:
    """The image's layers by content (diff IDs), bottom first."""
    out = subprocess.run([program, "image", "inspect", "-f", "{{json .RootFS.Layers}}", image],
                         capture_output=True, text=True, check=True).stdout
    return [layer.split(":", 1)[1] for layer in json.loads(out)]


def compressed_size(image: str, program: str = "docker", cache: Path = CACHE) -> int:
    """Sum of the gzip-compressed sizes of the image's layers. Only layers not measured yet
    are read (``docker save`` writes each layer as ``blobs/sha256/<diff ID>``); when every
    layer is known, nothing is saved at all."""
    known: dict[str, int] = json.loads(cache.read_text()) if cache.is_file() else {}
    layers = layer_ids(image, program)
    missing = set(layers) - set(known)
    if missing:
        with subprocess.Popen([program, "save", image], stdout=subprocess.PIPE) as proc:
            assert proc.stdout is not None
            with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
                for member in archive:
                    digest = member.name.removeprefix("blobs/sha256/")
                    if member.isfile() and digest in missing:
                        known[digest] = _compressed_bytes(archive.extractfile(member))
        if proc.returncode != 0:
            raise RuntimeError(f"{program} save {image} failed")
        if not_found := missing - set(known):
            raise RuntimeError(f"{program} save {image}: layers {sorted(not_found)[:2]} not found "
                               "as blobs/sha256/<diff ID> (an older save format?)")
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known, indent=0))
    return sum(known[layer] for layer in layers)


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:]:
        print(f"{name}: {compressed_size(name) / 1e6:.0f} MB compressed")
