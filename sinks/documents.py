"""Rendered documents on disk: ``<data>/documents/<sha256>.html``, named by the hash of their content,
written atomically (temporary file, then rename), so equal content is stored once and a path never
points at a half-written file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def store_document(directory: Path, content: bytes, suffix: str = ".html") -> tuple[str, Path]:
    digest = hashlib.sha256(content).hexdigest()
    path = directory / f"{digest}{suffix}"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{digest}.{os.getpid()}.tmp"
        temporary.write_bytes(content)
        os.replace(temporary, path)
    return digest, path
