"""A clean copy of what installs archlint (pyproject.toml, README.md, src/, rules/, hook and action files).

pip builds a local project in its own tree, and setuptools reuses a stale
``build/`` directory there: a module renamed since the last build would be
installed twice. Tests that install archlint install a copy instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "action.yml")
FOLDERS = ("src", "rules")


def source_copy(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        if (REPO / name).exists():
            shutil.copy(REPO / name, dest / name)
    for folder in FOLDERS:
        shutil.copytree(REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    return dest
