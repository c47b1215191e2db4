"""Writing generated files into a user's directory without destroying anything.

What
----
``tinytorch deploy --out DIR`` writes C into a directory the user names, and
that directory may already hold work of theirs: ``DIR/main.c``,
``DIR/model.h``.  Overwriting such a file silently would lose it.  So an
output directory is either

* empty (or not there yet), or
* one that TinyTorch wrote before, which it knows by its manifest,
  ``tinytorch-manifest.json``: every file written, with the SHA-256 of the
  bytes written.

Writing a file is allowed when no such file exists yet, or the manifest
lists it and its bytes are still the ones TinyTorch wrote (the user has not
edited it since), or it already holds exactly the new bytes.  Anything else
is refused before a single byte is written, naming the files at stake.

Why a manifest
--------------
It makes "a previously generated directory" a checkable fact rather than a
guess from file names, and it lets several models share one directory (and
one copy of the kernels): each deploy adds its files to the manifest.

Order of writing
----------------
A directory new to TinyTorch gets its manifest (listing nothing yet) first,
which claims it; then each file is replaced atomically
(``write_atomically``); then the manifest is rewritten listing them.  A
crash in between leaves files that the manifest does not list yet; running
the same deploy again finds them holding exactly the bytes it would write
and carries on.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tinytorch.serialization import write_atomically

MANIFEST_NAME = "tinytorch-manifest.json"
MANIFEST_FORMAT = "tinytorch-generated-files"


class OutputDirectoryError(ValueError):
    """The output directory holds files TinyTorch must not overwrite (the message says which)."""


def _digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def read_manifest(directory: Path) -> dict[str, str] | None:
    """The manifest's {relative path: sha256}, or None when the directory has none."""
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        files = document["files"]
        if document.get("format") != MANIFEST_FORMAT or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            raise ValueError("not a TinyTorch manifest")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise OutputDirectoryError(f"{path}: unreadable manifest ({error}); move the directory "
                                   f"away or choose another --out") from None
    return dict(files)


def check_writable(directory: Path, files: dict[str, bytes]) -> None:
    """Raise OutputDirectoryError unless every one of ``files`` may be written (module essay)."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise OutputDirectoryError(f"output {directory} exists and is not a directory")
    manifest = read_manifest(directory) if directory.exists() else None
    if manifest is None:
        if directory.exists() and any(directory.iterdir()):
            raise OutputDirectoryError(
                f"output directory {directory} is not empty and was not written by TinyTorch "
                f"(it has no {MANIFEST_NAME}); choose an empty or new directory")
        manifest = {}
    refused = []
    for relative, payload in files.items():
        path = directory / relative
        folders = [folder for folder in path.parents if directory in folder.parents]
        if any(folder.is_symlink() or (folder.exists() and not folder.is_dir())
               for folder in folders):
            refused.append(f"{relative} (a folder on its path is not a plain directory)")
            continue
        if not os.path.lexists(path):
            continue
        if path.is_symlink() or not path.is_file():
            refused.append(f"{relative} (not a regular file)")
            continue
        current = _digest(path.read_bytes())
        if current != _digest(payload) and manifest.get(relative) != current:
            refused.append(relative + (" (changed since TinyTorch wrote it)"
                                       if relative in manifest else " (not written by TinyTorch)"))
    if refused:
        raise OutputDirectoryError(f"output directory {directory}: refusing to overwrite "
                                   f"{', '.join(refused)}; move them away or choose another --out")


def write_files(directory: Path, files: dict[str, bytes]) -> list[Path]:
    """Check, then write ``files`` (relative path -> bytes) and update the manifest."""
    directory = Path(directory)
    check_writable(directory, files)
    manifest = read_manifest(directory) if directory.exists() else None
    if manifest is None:
        directory.mkdir(parents=True, exist_ok=True)
        manifest = {}
        _write_manifest(directory, manifest)
    written = []
    for relative, payload in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(str(path), payload, op="deploy")
        manifest[relative] = _digest(payload)
        written.append(path)
    _write_manifest(directory, manifest)
    return written


def _write_manifest(directory: Path, files: dict[str, str]) -> None:
    document = {"format": MANIFEST_FORMAT, "files": dict(sorted(files.items()))}
    write_atomically(str(directory / MANIFEST_NAME),
                     (json.dumps(document, indent=1) + "\n").encode("utf-8"), op="deploy")
