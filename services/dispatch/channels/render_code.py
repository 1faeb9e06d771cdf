"""What a stored e-mail render was made with (part of its key, ``channels/mail.py``): a
deploy that changes anything the render reads makes the renders stored before it stale,
so they are made again, not sent with the old content.

The render reads the channel's code, the formats, the renderers and their texts, the
document model and the shared formatting helpers (money, references), any file kept
beside the renderers, and the libraries that draw and write (ReportLab, pypdf,
pycountry) on this Python. The digest covers all of them, computed once per process.
Whole packages are taken where a part of them is read: a change elsewhere in them
costs one more render of the waiting documents, never a stale one sent."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path

LIBRARIES = ("reportlab", "pypdf", "pycountry")
"""The distributions whose version the render depends on."""

MODULES = (
    "services.dispatch.channels.mail",
    "services.dispatch.channels.base",
    "services.dispatch.formats",
    "shared.money",
    "shared.references",
)
"""Modules the render reads (their source file)."""

PACKAGES = ("services.dispatch.render", "services.dispatch.domain", "shared.events")
"""Packages the render reads: every file in them (code, texts, fonts, images)."""


def source_files() -> list[Path]:
    """Every file whose content the render depends on, in a stable order."""
    files: set[Path] = set()
    for name in MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name}: not found")  # a renamed module must be listed again
        files.add(Path(spec.origin).resolve())
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"{name}: not a package")
        for location in spec.submodule_search_locations:
            folder = Path(location).resolve()
            files.update(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return sorted(files)


def library_versions() -> dict[str, str]:
    versions = {name: importlib.metadata.version(name) for name in LIBRARIES}
    versions["python"] = platform.python_version()
    return versions


def digest(versions: Mapping[str, str], files: Iterable[Path], root: Path | None = None) -> str:
    """The digest of ``versions`` and the files' names (relative to ``root``) and bytes."""
    h = hashlib.sha256()
    for name, version in sorted(versions.items()):
        h.update(f"{name}={version}\0".encode())
    for path in files:
        name = str(path.relative_to(root)) if root is not None and path.is_relative_to(root) else path.name
        content = path.read_bytes()
        h.update(f"{name}\0{len(content)}\0".encode() + content)
    return h.hexdigest()[:16]


@functools.cache
def renderer_code() -> str:
    """This process's digest (see the module)."""
    root = Path(__file__).resolve().parents[3]
    return digest(library_versions(), source_files(), root)
