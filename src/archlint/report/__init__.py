"""Turn a :class:`~archlint.model.Report` into text in one of several formats.

Reporters are pure functions of the report (plus, for the text format, the
source files it points at): they know nothing about the CLI or the engine.
Each format lives in its own module, imported only when asked for.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

from archlint.model import Report

FORMATS = ("text", "concise", "json", "sarif", "github", "gitlab", "junit")
#: The module of each format (``json_report``: a module named ``json`` would shadow the standard library's).
_MODULES = {
    "text": "text",
    "concise": "concise",
    "json": "json_report",
    "sarif": "sarif",
    "github": "github",
    "gitlab": "gitlab",
    "junit": "junit",
}


def render(report: Report, fmt: str, *, color: bool = False, cwd: Path | None = None) -> str:
    """Render ``report`` in format ``fmt``; ``color`` only affects the text format.

    ``cwd``: concise paths are shown relative to it (None: relative to the report root).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r} (expected one of {', '.join(FORMATS)})")
    module = importlib.import_module(f"{__name__}.{_MODULES[fmt]}")
    if fmt == "text":
        return module.render(report, color=color)
    if fmt == "concise":
        return module.render(report, cwd=cwd)
    return module.render(report)


class OutputError(OSError):
    """An output file that cannot be written (a missing directory, a full disk): one line, exit 2."""


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that readers see the old file or the new one.

    The text goes to a temporary file in the same directory, is flushed to disk
    and then renamed over ``path``. A crash half-way never leaves a truncated
    file behind: an empty SARIF file uploaded to code scanning would close
    every open alert.
    """
    target = Path(path)
    directory = target.parent
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    _fsync_directory(directory)


def _mode_for(target: Path) -> int:
    """Keep an existing file's permissions; new files get the usual 0o666 & ~umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable where the platform allows it (POSIX)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
