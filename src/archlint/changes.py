"""Change sets: the paths one change touches, relative to the repository root.

Three sources: git (``--changed-since REF``: what is committed since the
merge base of REF and HEAD, plus staged, unstaged and untracked files, with
renames and deletions), a list of paths (``--changed-files FILE``, ``-`` for
standard input) and pre-commit (what is staged, or the pushed range
``PRE_COMMIT_FROM_REF...PRE_COMMIT_TO_REF``, intersected with the file names
pre-commit passes to the hook). Paths are POSIX and relative to the
repository root whether or not they still exist.
"""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_STATUS = {"A": "added", "M": "modified", "D": "deleted", "T": "modified", "U": "modified", "X": "modified"}


class ChangeSetError(Exception):
    """The change set cannot be determined (not a repository, unknown revision, unreadable list)."""


@dataclass(frozen=True, slots=True)
class ChangedPath:
    path: str  # POSIX, relative to the repository root
    #: added, modified, deleted, renamed (path is the new name), renamed-away (path is the
    #: old name), copied, untracked, or listed (from pre-commit or a list: status unknown)
    status: str
    other: str | None = None  # the other side of a rename or copy

    def describe(self) -> str:
        """How the path changed, for a message ("deleted", "renamed to `b`"); "" when unknown."""
        return {
            "added": "added",
            "modified": "modified",
            "deleted": "deleted",
            "renamed": f"renamed from `{self.other}`",
            "renamed-away": f"renamed to `{self.other}`",
            "copied": f"copied from `{self.other}`",
            "untracked": "new, untracked",
        }.get(self.status, "")


@dataclass(slots=True)
class ChangeSet:
    root: Path  # the repository root (or the directory the paths are relative to)
    paths: list[ChangedPath] = field(default_factory=list)
    source: str = ""  # for messages: "pre-commit", "--changed-since main", ...

    def absolute(self, change: ChangedPath) -> Path:
        return self.root / change.path


#: Configuration that would make git run a command the repository chose: off for every call.
#: (``core.fsmonitor`` runs a hook on every index refresh; hooks; an external diff.)
_SAFE_CONFIG = (
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "diff.external=",
    "core.untrackedCache=false",
    "protocol.allow=never",
)


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_EXTERNAL_DIFF", "GIT_DIFF_OPTS", "GIT_PAGER")}
    env.update({"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat"})
    return env


def _git(args: list[str], cwd: Path, *, filters: tuple[str, ...] = ()) -> bytes:
    """Run git with every repository-chosen command disabled (``filters``: drivers to neutralise)."""
    safety: list[str] = []
    for item in _SAFE_CONFIG:
        safety += ["-c", item]
    for driver in filters:
        # A clean/process filter would run on any worktree file git re-reads; an empty command is none.
        for key in ("clean", "smudge", "process"):
            safety += ["-c", f"filter.{driver}.{key}="]
    try:
        proc = subprocess.run(["git", *safety, *args], cwd=cwd, capture_output=True, check=False, env=_environment())
    except FileNotFoundError:
        raise ChangeSetError("git is not installed (needed for --changed-since)") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ChangeSetError(f"git {args[0]} failed: {message[-1] if message else f'exit {proc.returncode}'}")
    return proc.stdout


def _filter_drivers(root: Path) -> tuple[str, ...]:
    """Names of the filter drivers the repository's configuration defines (``filter.NAME.*``)."""
    try:
        out = _git(["config", "--null", "--get-regexp", r"^filter\."], root)
    except ChangeSetError:  # none defined: git config exits 1
        return ()
    names = []
    for entry in out.split(b"\0"):
        key = entry.split(b"\n", 1)[0].decode("utf-8", "surrogateescape")
        if key.count(".") >= 2:
            names.append(key[len("filter.") : key.rindex(".")])
    return tuple(dict.fromkeys(names))


def repository_root(start: Path) -> Path | None:
    """The git top level containing ``start``, or None outside a repository."""
    directory = start if start.is_dir() else start.parent
    while not directory.exists():
        directory = directory.parent
    try:
        out = _git(["rev-parse", "--show-toplevel"], directory)
    except ChangeSetError:
        return None
    return Path(out.decode("utf-8").strip()).resolve()


def from_git(ref: str, start: Path) -> ChangeSet:
    """What changed since ``ref``: committed since the merge base, staged, unstaged and untracked."""
    root = repository_root(start)
    if root is None:
        raise ChangeSetError(f"--changed-since needs a git repository, and {start} is not in one")
    try:
        _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], root)
    except ChangeSetError:
        raise ChangeSetError(f"--changed-since: '{ref}' is not a commit in {root}") from None
    try:
        base = _git(["merge-base", ref, "HEAD"], root).decode().strip() or ref
    except ChangeSetError:  # no common history, or an unborn HEAD: compare with REF itself
        base = ref
    filters = _filter_drivers(root)
    diff = _git(
        ["diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv", "--no-color", base, "--"], root, filters=filters
    )
    changes = parse_name_status(diff)
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], root, filters=filters)
    known = {c.path for c in changes}
    for raw in untracked.split(b"\0"):
        path = raw.decode("utf-8", "surrogateescape")
        if path and path not in known:
            changes.append(ChangedPath(path, "untracked"))
    return ChangeSet(root, sorted(changes, key=lambda c: c.path), f"--changed-since {ref}")


def parse_name_status(output: bytes) -> list[ChangedPath]:
    """``git diff --name-status -z`` output -> changed paths (a rename gives both of its sides)."""
    tokens = [t.decode("utf-8", "surrogateescape") for t in output.split(b"\0")]
    out: list[ChangedPath] = []
    i = 0
    while i < len(tokens) and tokens[i]:
        status = tokens[i]
        kind = status[:1]
        if kind in ("R", "C"):
            old, new = tokens[i + 1], tokens[i + 2]
            i += 3
            if kind == "R":
                out.append(ChangedPath(new, "renamed", old))
                out.append(ChangedPath(old, "renamed-away", new))
            else:
                out.append(ChangedPath(new, "copied", old))
            continue
        out.append(ChangedPath(tokens[i + 1], _STATUS.get(kind, "modified")))
        i += 2
    return out


def from_list(file: str, start: Path) -> ChangeSet:
    """Paths listed one per line in ``file`` (``-``: standard input), relative to the repository root."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ChangeSetError(f"--changed-files: cannot read {file}: {exc.strerror}") from None
    root = repository_root(start) or start.resolve()
    paths = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            paths.append(_relative(_unquote(line), root, root))
    source = "--changed-files " + ("(standard input)" if file == "-" else file)
    return ChangeSet(root, [ChangedPath(p, "listed") for p in dict.fromkeys(paths)], source)


def from_pre_commit(paths: Iterable[str | Path], cwd: Path, environ: Mapping[str, str]) -> ChangeSet | None:
    """The change a pre-commit hook run is about, or None when it is about no change.

    pre-commit passes file names but does not say why: the staged files of a
    commit, every file (``run --all-files``), the files named with ``--files``
    or the files of a pushed range. The change is what git says changed (the
    staged diff, or ``FROM...TO`` when pre-commit exposes a range), intersected
    with the files passed (the hook's ``files``/``exclude``/``types`` filters
    stay in force). Deletions are kept: pre-commit never passes a deleted
    file's name, and deleting a migration is a change too. ``--all-files`` on a
    clean index is therefore a full check, not a change of every file.
    """
    root = repository_root(cwd)
    if root is None:
        return None
    start, end = environ.get("PRE_COMMIT_FROM_REF"), environ.get("PRE_COMMIT_TO_REF")
    if start and end:
        try:
            diff = _git(["diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-color", f"{start}...{end}", "--"], root)
        except ChangeSetError:  # no merge base: what pre-commit itself falls back to
            diff = _git(["diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-color", f"{start}..{end}", "--"], root)
        source = f"pre-commit ({start[:12]}...{end[:12]})"
    else:
        diff = _git(["diff", "--cached", "--name-status", "-z", "-M", "--no-ext-diff", "--no-color", "--"], root)
        source = "pre-commit (staged)"
    passed = {_relative(str(p), cwd.resolve(), root) for p in paths}
    changes = [c for c in parse_name_status(diff) if c.path in passed or c.status in ("deleted", "renamed-away")]
    if not changes:
        return None
    return ChangeSet(root, sorted(changes, key=lambda c: c.path), source)


def _relative(path: str, base: Path, root: Path) -> str:
    candidate = Path(path)
    absolute = candidate if candidate.is_absolute() else base / candidate
    absolute = Path(os.path.normpath(absolute))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        raise ChangeSetError(f"changed path {path} is outside the repository {root}") from None


def _unquote(line: str) -> str:
    """git's C-style quoting of unusual file names (``"caf\\303\\251.py"``)."""
    if len(line) >= 2 and line[0] == line[-1] == '"':
        try:
            return codecs.escape_decode(line[1:-1].encode("utf-8"))[0].decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return line
    return line
