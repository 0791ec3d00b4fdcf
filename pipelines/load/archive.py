"""The raw-file archive: every input file kept once, by SHA-256, readable only by its owner."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def archive_file(path: Path, file_hash: str, archive_dir: Path) -> Path:
    folder = archive_dir / file_hash[:2]
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(archive_dir, 0o700)
    os.chmod(folder, 0o700)
    target = folder / f"{file_hash}{path.suffix.lower()}"
    if not target.exists():
        tmp = target.with_suffix(target.suffix + ".part")
        shutil.copyfile(path, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    return target
