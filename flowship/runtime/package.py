"""Code packages: the flow's project as a deterministic tarball, named by its SHA-256.

A deployed task does not trust whatever code its image holds: it fetches the
package its run was compiled with from the store, unpacks it into a local
cache once, and runs the flow file from there. The same files always give
the same bytes (sorted entries, zeroed times and owners), so the hash names
the code exactly, and promoting a run can redeploy that very code. Which
files are packaged is ``package_files.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass

from flowship.errors import FlowshipError
from flowship.runtime.datastore import FlowDatastore
from flowship.runtime.package_files import package_files

__all__ = ["CodePackage", "build_package", "upload_package", "fetch_package", "package_key"]


@dataclass(frozen=True)
class CodePackage:
    data: bytes
    sha: str
    flow_path: str  # the flow file, relative to the package root

    @property
    def files(self) -> list[str]:
        with tarfile.open(fileobj=io.BytesIO(self.data), mode="r:gz") as archive:
            return archive.getnames()


def build_package(flow_file: str) -> CodePackage:
    selected = package_files(flow_file)
    flow_path = selected.flow_path(flow_file)
    if flow_path not in selected.files:
        raise FlowshipError(
            f"{flow_file} itself is left out of its code package (an ignore file or its name excludes "
            f"it) — packages are built from {selected.root}"
        )
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=6) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for name in selected.files:
            with open(os.path.join(selected.root, *name.split("/")), "rb") as handle:
                content = handle.read()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            archive.addfile(info, io.BytesIO(content))
    data = buffer.getvalue()
    return CodePackage(data, hashlib.sha256(data).hexdigest(), flow_path)


def package_key(datastore: FlowDatastore, sha: str) -> str:
    return f"{datastore.flow_name}/packages/{sha}.tar.gz"


def upload_package(datastore: FlowDatastore, package: CodePackage) -> str:
    key = package_key(datastore, package.sha)
    if not datastore.storage.exists(key):
        datastore.storage.put(key, package.data)
    return key


def _cache_root() -> str:
    return os.environ.get("FLOWSHIP_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "flowship", "packages")


def fetch_package(datastore: FlowDatastore, sha: str) -> str:
    """The folder holding package ``sha``, downloaded and unpacked on first use."""
    target = os.path.join(_cache_root(), sha)
    if os.path.isdir(target):
        return target
    try:
        data = datastore.storage.get(package_key(datastore, sha))
    except KeyError:
        raise FlowshipError(f"code package {sha} is not in {datastore.storage.url}; deploy the flow again") from None
    if hashlib.sha256(data).hexdigest() != sha:
        raise FlowshipError(f"code package {sha} in {datastore.storage.url} is corrupt (its hash differs)")
    os.makedirs(_cache_root(), exist_ok=True)
    scratch = tempfile.mkdtemp(dir=_cache_root(), prefix=".unpack-")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        archive.extractall(scratch, filter="data")
    try:
        os.rename(scratch, target)  # atomic: concurrent tasks race harmlessly
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
