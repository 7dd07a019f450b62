"""Reading files the repository names, safely: regular files inside the project, bounded in size.

A linter runs on pull requests from strangers, so every file a run reads
because the repository names it (a Python file, an OpenAPI document, a
``.gitignore``, a ``$ref``) goes through :func:`read_bytes`:

- only regular files are read: a FIFO never blocks the run (it is opened
  non-blocking, and only after ``stat`` says it is a regular file), a device
  (``/dev/zero``) is never opened;
- a symbolic link is followed only when its target is inside ``root`` (the
  project); a loop, a dangling link or a path too long for the system is one
  clear reason, never an exception of another kind;
- at most ``limit`` bytes are read: a larger file is refused before it is read.

Paths the operator passes on the command line (``--config``, ``--openapi``) are
theirs: callers pass ``root=None`` for those.

Every refusal is a :class:`ReadRefused` (an ``OSError``) whose ``strerror`` is a
short reason ("it is a FIFO, not a regular file").
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class ReadRefused(OSError):
    """A file archlint will not (or cannot) read; ``strerror`` says why, in a few words."""

    def __init__(self, reason: str, filename: str | None = None, *, over_limit: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.strerror = reason
        self.filename = filename
        #: Refused for its size alone: the file is fine, just past the configured limit.
        self.over_limit = over_limit

    def __str__(self) -> str:
        return self.reason


def reason_of(exc: OSError) -> str:
    """A short, lower-case reason for an ``OSError`` ("permission denied", "it is a symbolic link loop")."""
    if isinstance(exc, ReadRefused):
        return exc.reason
    code = exc.errno
    if code == errno.ELOOP:
        return "it is a symbolic link loop"
    if code == errno.ENAMETOOLONG:
        return "its path is longer than the system allows"
    if code == errno.ENOENT:
        return "it does not exist (or is a dangling symbolic link)"
    text = exc.strerror or type(exc).__name__
    return text[:1].lower() + text[1:]


def within(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """Whether the already-resolved ``path`` is ``root`` or below it."""
    path, root = os.fspath(path), os.fspath(root)
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives
        return False


def resolve(path: str | os.PathLike[str]) -> Path:
    """The real path, following links; never raises for a loop (unlike ``Path.resolve`` before 3.13)."""
    return Path(os.path.realpath(path))


def check_regular(path: str | os.PathLike[str], root: str | os.PathLike[str] | None) -> os.stat_result:
    """``stat`` of the regular file ``path`` names (links followed only inside ``root``), or ReadRefused."""
    name = os.fspath(path)
    try:
        real = os.path.realpath(name, strict=True)
    except OSError as exc:
        raise ReadRefused(reason_of(exc), name) from None
    except (ValueError, RuntimeError) as exc:  # NUL in a name; a loop on older Pythons
        raise ReadRefused(f"it cannot be resolved ({exc})", name) from None
    if root is not None:
        real_root = os.path.realpath(root)
        if not within(real, real_root):
            linked = real != os.path.abspath(name)
            raise ReadRefused(
                "it is a symbolic link to a file outside the project" if linked else "it is outside the project", name
            )
    try:
        info = os.stat(real)
    except OSError as exc:
        raise ReadRefused(reason_of(exc), name) from None
    if not stat.S_ISREG(info.st_mode):
        kind = next((label for test, label in _KINDS if test(info.st_mode)), "not a regular file")
        raise ReadRefused(
            f"it is {kind}, not a regular file" if kind != "not a regular file" else "it is not a regular file", name
        )
    return info


def read_bytes(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None, limit: int | None) -> bytes:
    """The content of a regular file inside ``root`` (None: anywhere), at most ``limit`` bytes, or ReadRefused."""
    name = os.fspath(path)
    info = check_regular(name, root)
    if limit is not None and info.st_size > limit:
        raise ReadRefused(f"it is larger than the size limit ({info.st_size:,} bytes > {limit:,})", name, over_limit=True)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(os.path.realpath(name), flags)
    except OSError as exc:
        raise ReadRefused(reason_of(exc), name) from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise ReadRefused("it changed while it was read", name)
        chunks: list[bytes] = []
        total = 0
        cap = limit + 1 if limit is not None else None
        while True:
            want = 1 << 20 if cap is None else min(1 << 20, cap - total)
            if want <= 0:
                break
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if limit is not None and total > limit:
            raise ReadRefused(f"it is larger than the size limit (more than {limit:,} bytes)", name, over_limit=True)
        return b"".join(chunks)
    except ReadRefused:
        raise
    except OSError as exc:
        raise ReadRefused(reason_of(exc), name) from None
    finally:
        os.close(fd)


def read_text(
    path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None, limit: int | None, errors: str = "strict"
) -> str:
    """:func:`read_bytes` decoded as UTF-8 (a leading BOM kept); a decoding error is ReadRefused with ``strict``."""
    data = read_bytes(path, root=root, limit=limit)
    try:
        return data.decode("utf-8", errors)
    except UnicodeDecodeError as exc:
        raise ReadRefused(f"it is not UTF-8 text (byte {exc.start + 1})", os.fspath(path)) from None


def looks_binary(data: bytes) -> bool:
    """A NUL byte in the first 8 KiB: what git and grep call a binary file."""
    return b"\0" in data[:8192]
