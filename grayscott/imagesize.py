"""How big an image is where it matters: compressed, as a registry stores it and a site
downloads it (``docker push`` gzips each layer at the default level), which is also how the
school's report counted its images (registry sizes). The uncompressed size that
``docker image inspect`` reports is printed next to it.

Layers are shared along an image chain (light -> code-server -> jupyter), so each layer's
compressed size is cached by its content digest in ``build/layer-sizes.json``: a layer is
compressed once, whichever image asks first.

Where a layer's bytes come from: Docker's overlay2 store keeps each layer as a folder of
files; where this process can read those folders (root, as in CI), each layer is packed and
gzipped straight from them, in one stream. Otherwise (an ordinary user, Podman, another
storage driver) the layers come from ``docker save``, which first writes the whole image to a
temporary folder in the engine's own storage: for a multi-GB CUDA image that is as many GB of
free disk again, which a CI machine full of images did not have. The two ways agree within a
fraction of a percent (an image test compares them on layers that delete, replace and link
files): the folder holds the very files of the layer; only a deleted file is written the
overlay way (a device) instead of a ``.wh.`` file, one tar header either way, and a folder
replaced whole lacks its ``.wh..wh..opq`` entry (overlay keeps that in an attribute).
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import zlib
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Literal

CACHE = Path("build/layer-sizes.json")
#: What ``docker push`` uses (Go's gzip.DefaultCompression).
LEVEL = 6
Via = Literal["auto", "files", "save"]


#: Pieces compressed side by side (as pigz does): each is a deflate stream of its own, which
#: costs a few bytes per piece, a few in a million of a layer; zlib at level 6 runs at about
#: 20 MB/s on one core of the 2-core CI machine, so a CUDA image's layers take minutes.
PIECE = 16 << 20
#: gzip's header and trailer around the deflate data.
GZIP_FRAME = 18


def _deflated_length(piece: bytes) -> int:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)  # raw deflate (zlib frees the GIL)
    return len(compressor.compress(piece)) + len(compressor.flush())


class _GzipCounter:
    """A write-only file that gzips what it is given on every core and keeps only the
    compressed length."""

    def __init__(self, pool: ThreadPoolExecutor, ahead: int) -> None:
        self._pool, self._ahead = pool, ahead
        self._buffer = bytearray()
        self._pending: deque[Future[int]] = deque()
        self.total = GZIP_FRAME

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= PIECE:
            self._submit()
        return len(data)

    def _submit(self) -> None:
        self._pending.append(self._pool.submit(_deflated_length, bytes(self._buffer)))
        self._buffer.clear()
        while len(self._pending) > self._ahead:  # bounded memory: a few pieces in flight
            self.total += self._pending.popleft().result()

    def close(self) -> int:
        if self._buffer:
            self._submit()
        while self._pending:
            self.total += self._pending.popleft().result()
        return self.total


def _compressed_bytes(stream: IO[bytes] | None, pool: ThreadPoolExecutor, ahead: int) -> int:
    counter = _GzipCounter(pool, ahead)
    while stream is not None and (chunk := stream.read(4 << 20)):
        counter.write(chunk)
    return counter.close()


def _compressed_folder(folder: Path, pool: ThreadPoolExecutor, ahead: int) -> int:
    """A layer folder packed as a tar (names relative to the layer's root, like a layer tar)
    and gzipped, without writing anything to disk."""
    counter = _GzipCounter(pool, ahead)
    with tarfile.open(fileobj=counter, mode="w|", format=tarfile.PAX_FORMAT) as archive:  # type: ignore[call-overload]
        for entry in sorted(folder.iterdir()):
            archive.add(entry, arcname=entry.name, recursive=True)
    return counter.close()


def layer_ids(image: str, program: str = "docker") -> list[str]:
    """The image's layers by content (diff IDs), bottom first."""
    out = subprocess.run([program, "image", "inspect", "-f", "{{json .RootFS.Layers}}", image],
                         capture_output=True, text=True, check=True).stdout
    return [layer.split(":", 1)[1] for layer in json.loads(out)]


def layer_folders(image: str, program: str = "docker") -> list[Path] | None:
    """The image's layer folders, bottom first, where the engine keeps them as overlay2 diff
    folders this process can read; None where it does not (then ``save`` it is)."""
    if program != "docker":
        return None
    out = subprocess.run([program, "image", "inspect", "-f", "{{json .GraphDriver}}", image],
                         capture_output=True, text=True, check=True).stdout
    driver = json.loads(out) or {}
    data = driver.get("Data") or {}
    if driver.get("Name") != "overlay2" or "UpperDir" not in data:
        return None
    lower = [Path(p) for p in (data.get("LowerDir") or "").split(":") if p]
    folders = [*reversed(lower), Path(data["UpperDir"])]
    if not all(f.is_dir() and os.access(f, os.R_OK | os.X_OK) for f in folders):
        return None
    return folders


def _from_save(image: str, program: str, missing: Iterable[str], pool: ThreadPoolExecutor,
               ahead: int) -> dict[str, int]:
    """Compressed sizes of the ``missing`` layers read from ``<program> save`` (each layer is
    ``blobs/sha256/<diff ID>`` there)."""
    wanted, found = set(missing), {}
    with subprocess.Popen([program, "save", image], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
            for member in archive:
                digest = member.name.removeprefix("blobs/sha256/")
                if member.isfile() and digest in wanted:
                    found[digest] = _compressed_bytes(archive.extractfile(member), pool, ahead)
    if proc.returncode != 0:
        raise RuntimeError(f"{program} save {image} failed")
    if not_found := wanted - set(found):
        raise RuntimeError(f"{program} save {image}: layers {sorted(not_found)[:2]} not found "
                           "as blobs/sha256/<diff ID> (an older save format?)")
    return found


def layer_sizes(image: str, program: str = "docker", via: Via = "auto",
                only: Iterable[str] | None = None) -> dict[str, int]:
    """Compressed size of each of the image's layers (or of those in ``only``), by diff ID,
    read from the layer folders (``files``), from ``save``, or the first that works here."""
    layers = layer_ids(image, program)
    wanted = set(layers if only is None else only)
    folders = layer_folders(image, program) if via != "save" else None
    if via == "files" and folders is None:
        raise RuntimeError(f"{image}: its layer folders cannot be read here (not root, or not "
                           "Docker's overlay2 store)")
    if folders is not None and len(folders) != len(layers):
        raise RuntimeError(f"{image}: {len(layers)} layers but {len(folders)} layer folders")
    workers = os.cpu_count() or 1
    with ThreadPoolExecutor(workers) as pool:
        if folders is None:
            return _from_save(image, program, wanted, pool, 2 * workers)
        return {layer: _compressed_folder(folder, pool, 2 * workers)
                for layer, folder in zip(layers, folders, strict=True) if layer in wanted}


def compressed_size(image: str, program: str = "docker", cache: Path = CACHE) -> int:
    """Sum of the gzip-compressed sizes of the image's layers; only layers not measured yet
    are read."""
    known: dict[str, int] = json.loads(cache.read_text()) if cache.is_file() else {}
    layers = layer_ids(image, program)
    if missing := set(layers) - set(known):
        known.update(layer_sizes(image, program, only=missing))
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known, indent=0))
    return sum(known[layer] for layer in layers)


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:]:
        print(f"{name}: {compressed_size(name) / 1e6:.0f} MB compressed")
