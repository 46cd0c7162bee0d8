"""Fetch Debian packages and stream their files without installing them."""

from __future__ import annotations

import gzip
import io
import lzma
import shutil
import subprocess
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path


class CorpusError(RuntimeError):
    """The corpus could not be built; the message says what to do."""


def download_deb(package: str, dest: Path, mirror: str | None = None, suite: str = "bookworm") -> Path:
    """The .deb of `package` in `dest`, downloaded unless it is there already."""
    dest.mkdir(parents=True, exist_ok=True)
    cached = sorted(dest.glob(f"{package}_*.deb"))
    if cached:
        return cached[-1]
    if shutil.which("apt-get"):
        proc = subprocess.run(["apt-get", "download", package], cwd=dest, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise CorpusError(f"apt-get download {package} failed: {last} (try 'apt-get update' first)")
    elif mirror:
        _download_from_mirror(package, dest, mirror.rstrip("/"), suite)
    else:
        raise CorpusError("apt-get is not available: set AUDIOTAG_DEBIAN_MIRROR to a Debian mirror URL")
    found = sorted(dest.glob(f"{package}_*.deb"))
    if not found:
        raise CorpusError(f"the download of {package} left no .deb in {dest}")
    return found[-1]


def _download_from_mirror(package: str, dest: Path, mirror: str, suite: str) -> None:
    for arch in ("all", "amd64"):
        url = f"{mirror}/dists/{suite}/main/binary-{arch}/Packages.gz"
        with urllib.request.urlopen(url, timeout=60) as resp:
            index = gzip.decompress(resp.read()).decode("utf-8", "replace")
        for stanza in index.split("\n\n"):
            if f"\nPackage: {package}\n" in "\n" + stanza + "\n":
                filename = next(
                    line.split(": ", 1)[1] for line in stanza.splitlines() if line.startswith("Filename:")
                )
                target = dest / Path(filename).name
                with (
                    urllib.request.urlopen(f"{mirror}/{filename}", timeout=600) as resp,
                    open(target, "wb") as f,
                ):
                    shutil.copyfileobj(resp, f)
                return
    raise CorpusError(f"package {package} not found on the mirror {mirror} ({suite})")


def package_version(deb: Path) -> str:
    """The version from a pool file name (`name_1.2-3_all.deb`), with the epoch's %3a decoded."""
    parts = deb.stem.split("_")
    return parts[1].replace("%3a", ":") if len(parts) >= 2 else "unknown"


def iter_deb_files(deb: Path) -> Iterator[tuple[str, tarfile.TarFile, tarfile.TarInfo]]:
    """Stream (path, tar, member) for each regular file of the package's data archive."""
    if shutil.which("dpkg-deb"):
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                yield from _members(tar)
        finally:
            proc.stdout.close()
            proc.wait()
        return
    with open(deb, "rb") as f, tarfile.open(fileobj=_data_tar(f), mode="r|*") as tar:
        yield from _members(tar)


def _members(tar: tarfile.TarFile) -> Iterator[tuple[str, tarfile.TarFile, tarfile.TarInfo]]:
    for m in tar:
        if m.isfile():
            yield m.name.lstrip("./"), tar, m


def _data_tar(f) -> io.BufferedIOBase:
    """The data.tar member of an `ar` archive, read without dpkg (gzip, xz or plain)."""
    if f.read(8) != b"!<arch>\n":
        raise CorpusError("not a Debian package (no ar header)")
    while header := f.read(60):
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        if name.startswith("data.tar"):
            data = f.read(size)
            if name.endswith(".xz"):
                return io.BytesIO(lzma.decompress(data))
            if name.endswith(".gz"):
                return io.BytesIO(gzip.decompress(data))
            if name.endswith(".zst"):
                raise CorpusError("zstd-compressed package and no dpkg-deb: install dpkg")
            return io.BytesIO(data)
        f.seek(size + size % 2, io.SEEK_CUR)
    raise CorpusError("the package has no data.tar member")
