"""What a file is, from its own facts: a database migration, generated code.

Every rule and the inventory ask these questions through the engine, which
leaves such files out of the analysis; the answers live here, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from archlint.collect.facts import FileFacts, Name

#: Module-level names every Alembic revision defines.
_REVISION_NAMES = frozenset({"revision", "down_revision"})


def is_migration(facts: FileFacts) -> bool:
    """An Alembic revision, wherever it is kept.

    A revision is known by what it is, not by its folder: module-level
    ``revision`` and ``down_revision`` assignments in a module that imports
    Alembic (``from alembic import op``) or that defines ``upgrade()``.
    """
    scope = facts.module_scope
    if scope is None:
        return False
    names = {t.id for a in scope.assigns for t in a.targets if isinstance(t, Name)}
    if not _REVISION_NAMES <= names:
        return False
    if any(imp.module == "alembic" or imp.module.startswith("alembic.") for imp in scope.imports):
        return True
    return "upgrade" in facts.functions


def generated_marker(facts: FileFacts, markers: Iterable[re.Pattern[str]]) -> str | None:
    """The line of the file's header that declares it generated (`auto-generated`, `@generated`,
    `Code generated ... DO NOT EDIT`), or None."""
    if not facts.header:
        return None
    for line in facts.header.splitlines():
        if any(m.search(line) for m in markers):
            return line.lstrip("#\"' ").strip()
    return None
