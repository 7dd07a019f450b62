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

#: Directories never worth descending into (as ruff's default excludes).
SKIP_DIRS = frozenset(
    {
        ".bzr", ".direnv", ".eggs", ".git", ".hg", ".mypy_cache", ".nox", ".pants.d", ".pytype",
        ".ruff_cache", ".svn", ".tox", ".venv", "__pypackages__", "__pycache__", "_build", "buck-out",
        "build", "dist", "node_modules", "site-packages", "venv", ".archlint_cache",
    }
)
PYTHON_SUFFIXES = (".py", ".pyi")
#: OpenAPI documents found when none is configured (S4).
DOCUMENT_NAMES = frozenset({"openapi.json", "openapi.yaml", "openapi.yml"})


@dataclass(frozen=True, slots=True)
class SourceFile:
    abs: Path
    path: str  # relative to the report root
    rel: str  # relative to the project root
    module: str
    is_package: bool


def _spec(patterns: list[str]) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


class Excluder:
    """Answers "is this project-relative path left out of the analysis?"."""

    def __init__(self, config: Config) -> None:
        self.root = config.root
        self.spec = _spec(config.pack.exclude + config.exclude)
        self.respect_gitignore = config.respect_gitignore
        self._gitignores: dict[str, pathspec.PathSpec] = {}

    def add_gitignore(self, directory: Path) -> None:
        if not self.respect_gitignore:
            return
        ignore = directory / ".gitignore"
        if ignore.is_file():
            rel = directory.relative_to(self.root).as_posix()
            lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
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
    """Every Python file (or file ending in one of ``suffixes``) of the project that the analysis includes."""
    root = config.root
    excluder = Excluder(config)
    src_roots = [(root / s).resolve() for s in config.src]
    out: list[SourceFile] = []
    for directory, dirnames, filenames in os.walk(root):
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
            if (sub / "pyproject.toml").is_file() or (sub / "archlint.toml").is_file():
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
            out.append(
                SourceFile(
                    abs=path,
                    path=os.path.relpath(path, report_root).replace(os.sep, "/"),
                    rel=rel,
                    module=module_name(path, root, src_roots),
                    is_package=name in ("__init__.py", "__init__.pyi"),
                )
            )
    return out


def discover_tests(config: Config, report_root: Path, patterns: Iterable[str]) -> list[SourceFile]:
    """The project's test files (``patterns``, gitignore syntax), which the pack leaves out of the analysis.

    Read for S24 (and the inventory's ``tested``) only: the pack's excludes do not apply, the user's
    do (except an exclude that is itself one of the test patterns), as do ``.gitignore`` files.
    """
    wanted = list(patterns)
    spec = _spec(wanted)
    data = {k: v for k, v in config.pack.data.items() if k != "analysis"}
    unfiltered = replace(config, exclude=[e for e in config.exclude if e not in wanted], pack=replace(config.pack, data=data))
    return [f for f in discover(unfiltered, report_root) if spec.match_file(f.rel)]


def module_name(path: Path, root: Path, src_roots: list[Path]) -> str:
    """``backend/app/x.py`` is ``app.x`` when ``backend/`` holds the package ``app``.

    With configured ``src`` roots the name is relative to the root that
    contains the file; otherwise to the topmost directory of the file's
    ``__init__.py`` chain, or to the project root when there is no chain (the
    index also matches imports by dotted suffix).
    """
    resolved = path.resolve()
    for src in src_roots:
        if resolved.is_relative_to(src):
            return _dotted(resolved.relative_to(src))
    directory = path.parent
    if (directory / "__init__.py").is_file() or (directory / "__init__.pyi").is_file():
        top = directory
        while top != root and ((top.parent / "__init__.py").is_file() or (top.parent / "__init__.pyi").is_file()):
            top = top.parent
        return _dotted(path.relative_to(top.parent))
    return _dotted(path.relative_to(root))


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
            if (sub / "pyproject.toml").is_file() or (sub / "archlint.toml").is_file():
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
