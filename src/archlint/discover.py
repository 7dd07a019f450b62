"""Which files a run sees, and what their module names are.

Excludes use gitignore syntax through pathspec (the pack's analysis excludes,
the user's ``exclude`` and every ``.gitignore`` below the project root).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import pathspec

from archlint.config import Config
from archlint.fsio import ReadRefused, read_bytes, read_text, reason_of, resolve

#: Directories never worth descending into (as ruff's default excludes).
SKIP_DIRS = frozenset(
    {
        ".bzr",
        ".direnv",
        ".eggs",
        ".git",
        ".hg",
        ".mypy_cache",
        ".nox",
        ".pants.d",
        ".pytype",
        ".ruff_cache",
        ".svn",
        ".tox",
        ".venv",
        "__pypackages__",
        "__pycache__",
        "_build",
        "buck-out",
        "build",
        "dist",
        "node_modules",
        "site-packages",
        "venv",
        ".archlint_cache",
    }
)
PYTHON_SUFFIXES = (".py", ".pyi")
_GITIGNORE_LIMIT = 1024 * 1024
#: OpenAPI documents found when none is configured (S4).
DOCUMENT_NAMES = frozenset({"openapi.json", "openapi.yaml", "openapi.yml"})


@dataclass(frozen=True, slots=True)
class SourceFile:
    abs: Path
    path: str  # relative to the report root
    rel: str  # relative to the project root
    module: str
    is_package: bool
    #: The project root: a symbolic link is followed only to a file below it.
    root: Path | None = None
    #: Size limit in bytes (``[limits] file-size``); None: unbounded.
    limit: int | None = None
    #: Why the file cannot be read, found while walking (an unreadable directory or .gitignore).
    problem: str | None = None

    def read_bytes(self) -> bytes:
        """The file's bytes: a regular file inside the project, within the size limit; else ReadRefused."""
        if self.problem is not None:
            raise ReadRefused(self.problem, str(self.abs))
        return read_bytes(self.abs, root=self.root, limit=self.limit)


def read_failure(exc: OSError) -> str:
    """The AL001 message for a file that cannot be read."""
    reason = reason_of(exc)
    if getattr(exc, "over_limit", False):
        return f"The file was skipped: {reason}; [limits] file-size sets the limit."
    return reason[:1].upper() + reason[1:] + "." if reason.startswith("the ") else f"The file cannot be read: {reason}."


def _spec(patterns: list[str]) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


class Excluder:
    """Answers "is this project-relative path left out of the analysis?"."""

    def __init__(self, config: Config) -> None:
        self.root = config.root
        # pytest's python_files globs match a file's name wherever it lives, as gitignore patterns without a slash do.
        tests = [p for p in config.test_files if "/" not in p]
        self.spec = _spec(config.pack.exclude + config.exclude + tests)
        self.respect_gitignore = config.respect_gitignore
        self._gitignores: dict[str, pathspec.PathSpec] = {}
        #: .gitignore files that exist but cannot be read: (path, reason).
        self.problems: list[tuple[Path, str]] = []

    def add_gitignore(self, directory: Path) -> None:
        if not self.respect_gitignore:
            return
        ignore = directory / ".gitignore"
        if not os.path.lexists(ignore):
            return
        try:
            lines = read_text(ignore, root=self.root, limit=_GITIGNORE_LIMIT, errors="replace").splitlines()
        except OSError as exc:
            self.problems.append((ignore, f"the .gitignore cannot be read ({reason_of(exc)}), so its patterns were not applied"))
            return
        rel = directory.relative_to(self.root).as_posix()
        self._gitignores["" if rel == "." else rel] = _spec(lines)

    def excluded(self, rel: str, is_dir: bool = False) -> bool:
        probe = rel + "/" if is_dir else rel
        if self.spec.match_file(probe):
            return True
        for base, spec in self._gitignores.items():
            if base == "":
                if spec.match_file(probe):
                    return True
            elif probe.startswith(base + "/") and spec.match_file(probe[len(base) + 1 :]):
                return True
        return False


def discover(config: Config, report_root: Path, suffixes: tuple[str, ...] = PYTHON_SUFFIXES) -> list[SourceFile]:
    """Every Python file (or file ending in one of ``suffixes``) of the project that the analysis includes.

    Directory links are not followed (as git and ruff); a file that cannot be read (a FIFO, a device, a
    link out of the project, a loop, over the size limit) is still listed: reading it fails with a
    reason, which the run reports as one finding. So is a directory that cannot be listed.
    """
    root = config.root
    excluder = Excluder(config)
    src_roots = [resolve(root / s) for s in config.src]
    frameworks = set(config.pack.framework_modules)
    limit = config.limits.file_size
    out: list[SourceFile] = []
    packages: dict[Path, bool] = {}  # directory -> holds an __init__.py(i): asked once per directory

    def entry(path: Path, rel: str, problem: str | None = None, module: str | None = None) -> SourceFile:
        return SourceFile(
            abs=path,
            path=os.path.relpath(path, report_root).replace(os.sep, "/"),
            rel=rel,
            module=module_name(path, root, src_roots, packages) if module is None else module,
            is_package=path.name in ("__init__.py", "__init__.pyi"),
            root=root,
            limit=limit,
            problem=problem,
        )

    def unlistable(error: OSError) -> None:
        where = Path(error.filename) if error.filename else root
        try:
            rel = where.relative_to(root).as_posix()
        except ValueError:
            return
        if rel != "." and not excluder.excluded(rel, is_dir=True):
            out.append(
                entry(where, rel, f"the directory cannot be listed ({reason_of(error)}), so none of its files were checked")
            )

    for directory, dirnames, filenames in os.walk(root, onerror=unlistable):
        here = Path(directory)
        excluder.add_gitignore(here)
        rel_dir = here.relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        kept = []
        for name in sorted(dirnames):
            if name in SKIP_DIRS or name.endswith(".egg-info"):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            # A nested project (its own pyproject.toml or archlint.toml) is analysed on its own.
            sub = here / name
            if _is_file(sub / "pyproject.toml") or _is_file(sub / "archlint.toml"):
                continue
            if not excluder.excluded(rel, is_dir=True):
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if not name.endswith(suffixes):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if excluder.excluded(rel):
                continue
            path = here / name
            module = module_name(path, root, src_roots, packages)
            if module.split(".")[0] in frameworks:
                continue  # the framework's own source (its repository, a vendored copy): not the application
            out.append(entry(path, rel, module=module))
    for ignore, problem in excluder.problems:
        rel = ignore.relative_to(root).as_posix()
        out.append(entry(ignore, rel, problem))
    return out


def discover_tests(config: Config, report_root: Path, patterns: Iterable[str]) -> list[SourceFile]:
    """The project's test files (``patterns``, gitignore syntax), which the pack leaves out of the analysis.

    Read for S24 (and the inventory's ``tested``) only: the pack's excludes do not apply, the user's
    do (except an exclude that is itself one of the test patterns), as do ``.gitignore`` files.
    """
    wanted = list(patterns)
    spec = _spec(wanted)
    analysis = {k: v for k, v in config.pack.data.get("analysis", {}).items() if k != "exclude"}
    data = {**config.pack.data, "analysis": analysis}
    unfiltered = replace(
        config,
        exclude=[e for e in config.exclude if e not in wanted],
        test_files=[],  # pytest's python_files name tests: they are what is wanted here
        pack=replace(config.pack, data=data),
    )
    return [f for f in discover(unfiltered, report_root) if spec.match_file(f.rel)]


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def module_name(path: Path, root: Path, src_roots: list[Path], packages: dict[Path, bool] | None = None) -> str:
    """``backend/app/x.py`` is ``app.x`` when ``backend/`` holds the package ``app``.

    With configured ``src`` roots the name is relative to the root that
    contains the file; otherwise to the topmost directory of the file's
    ``__init__.py`` chain, or to the project root when there is no chain (the
    index also matches imports by dotted suffix). ``packages`` remembers which
    directories are packages across the calls of one discovery.
    """
    resolved = resolve(path)
    for src in src_roots:
        if resolved.is_relative_to(src):
            return _dotted(resolved.relative_to(src))
    # The outermost regular package above the file: folders without
    # ``__init__.py`` in between are PEP 420 namespace portions of it
    # (``pkg/data/source/formats/views.py`` is ``pkg.data.source.formats.views``
    # when ``pkg`` and ``pkg/data`` are packages and ``source`` is not).
    top: Path | None = None
    directory = path.parent
    while True:
        known = packages.get(directory) if packages is not None else None
        is_package = _is_package_dir(directory) if known is None else known
        if packages is not None and known is None:
            packages[directory] = is_package
        if is_package:
            top = directory
        if directory == root or root not in directory.parents:
            break
        directory = directory.parent
    if top is not None:
        return _dotted(path.relative_to(top.parent))
    return _dotted(path.relative_to(root))


def _is_package_dir(directory: Path) -> bool:
    return _is_file(directory / "__init__.py") or _is_file(directory / "__init__.pyi")


def _dotted(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover_documents(config: Config) -> list[Path]:
    """``openapi.json|yaml|yml`` under the project root, with the excludes Python files get."""
    root = config.root
    excluder = Excluder(config)
    out: list[Path] = []
    # Unlistable directories and unreadable .gitignore files are reported by discover(), once.
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        excluder.add_gitignore(here)
        rel_dir = here.relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        kept = []
        for name in sorted(dirnames):
            if name in SKIP_DIRS or name.endswith(".egg-info"):
                continue
            sub = here / name
            if _is_file(sub / "pyproject.toml") or _is_file(sub / "archlint.toml"):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if not excluder.excluded(rel, is_dir=True):
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if name.lower() not in DOCUMENT_NAMES:
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if not excluder.excluded(rel):
                out.append(here / name)
    return out
