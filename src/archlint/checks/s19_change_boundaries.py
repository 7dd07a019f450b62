"""S19 — boundaries of a change: every changed path is held against the profile's allowed and forbidden globs.

S19 runs only on a change set: the files pre-commit passes to the hook
(archlint knows it runs under pre-commit because pre-commit sets
``PRE_COMMIT=1`` for its hooks, and then treats file arguments as the files
of the commit), ``--changed-since REF`` or ``--changed-files FILE``. A plain
``archlint check DIR`` never reports S19. Globs are relative to the
repository root, and every path counts, Python or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from archlint import globs
from archlint.changes import ChangedPath
from archlint.checks.base import Project, Rule
from archlint.model import Finding, Severity, Span
from archlint.pack import ConfigError, option

_WHOLE_FILE = Span.point(1, 1)


@dataclass(frozen=True)
class S19Options:
    allowed_paths: tuple[str, ...] = option(
        "Globs, relative to the repository root, of the paths the profile may change (`backend/app/api/**`)."
    )
    forbidden_paths: dict[str, tuple[str, ...]] = option(
        "Owner -> globs (relative to the repository root) the profile must not change: they belong to that owner. "
        "Forbidden wins over allowed."
    )
    owner_areas: dict[str, str] = option("Owner -> how a message names the area (`frontend code`).")

    def __post_init__(self) -> None:
        for owner in self.forbidden_paths:
            if owner not in self.owner_areas:
                raise ConfigError(f"[standards.S19]: owner '{owner}' of forbidden-paths has no entry in owner-areas")


def _changes(project: Project) -> Iterable[tuple[str, ChangedPath]]:
    if project.change_set is None:
        return
    details: dict[str, ChangedPath] = project.changes
    for path in project.change_set:
        yield path, details.get(path) or ChangedPath(path, "listed")


def _how(change: ChangedPath) -> str:
    how = change.describe()
    return f" ({how})" if how else ""


def _forbidden(options: S19Options, path: str) -> tuple[str, str] | None:
    for owner, patterns in options.forbidden_paths.items():
        pattern = globs.match_any(patterns, path)
        if pattern is not None:
            return owner, pattern
    return None


class ForbiddenPathChanged(Rule[S19Options]):
    """Reports a change to a path the profile must not touch: the frontend, Alembic migrations, workflow definitions.

    Each changed path — Python or not: `.ts`, `.css`, `.json` count — is
    matched against `forbidden-paths` (owner -> globs, relative to the
    repository root); the finding names the owner. Deleted and renamed
    paths count on both sides. Runs only on a change set: the files
    pre-commit passes (it sets `PRE_COMMIT=1`), `--changed-since REF` or
    `--changed-files FILE`; never on a plain directory run.

    ## Why is this bad?
    The backend architect's profile has boundaries: the frontend belongs to
    the frontend developer, migrations to the database engineer, workflow
    definitions to the workflow architect. A change that crosses them skips
    the owner's review and conventions, and collides with their work.
    """

    id = "AL620"
    name = "ForbiddenPathChanged"
    standard = "S19"
    severity = Severity.ERROR
    precision = "very-high"
    tags = ("boundaries",)
    Options = S19Options
    change_set_only = True
    INVALID = [
        {
            "frontend/src/App.tsx": "export const App = () => null;\n",
            "backend/alembic/versions/0002_add_items.py": "revision = '0002'\n",
            "backend/app/services/items.py": "def list_items(): return []\n",
        }
    ]
    VALID = [
        {
            "backend/app/api/v1/routes/items.py": "ITEMS: list[str] = []\n",
            "backend/app/schemas/item.py": "class ItemRead: pass\n",
            "backend/tests/test_items.py": "def test_items(): assert True\n",
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        for path, change in _changes(project):
            hit = _forbidden(self.options, path)
            if hit is None:
                continue
            owner, pattern = hit
            area = self.options.owner_areas[owner]
            yield self.finding(
                path,
                _WHOLE_FILE,
                f"The change touches `{path}`{_how(change)}, {area} outside the backend's boundaries: it belongs "
                f"to {owner} (`{pattern}` is forbidden).",
            )


class UnlistedPathChanged(Rule[S19Options]):
    """Notes a changed path that is on neither the allowed nor the forbidden list of the profile's boundaries.

    The allowed list (`allowed-paths`) is the backend's api, services,
    models, core and schemas packages and its tests; anything else a change
    touches (a Dockerfile, the README, a CI file, `backend/app/main.py`) is
    worth a look, not an error. Runs only on a change set.

    ## Why is this bad?
    It may be fine. The note makes a change outside the profile's usual area
    visible in review instead of passing unseen.
    """

    id = "AL621"
    name = "UnlistedPathChanged"
    standard = "S19"
    severity = Severity.NOTE
    precision = "medium"
    tags = ("boundaries",)
    Options = S19Options
    change_set_only = True
    INVALID = [
        {
            "docker-compose.yml": "services: {}  # expect: AL621\n",
            "backend/app/services/items.py": "def list_items(): return []\n",
        }
    ]
    VALID = [
        {
            "backend/app/services/items.py": "def list_items(): return []\n",
            "frontend/src/App.tsx": "export const App = () => null;\n",
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        for path, change in _changes(project):
            if _forbidden(self.options, path) is not None or globs.match_any(self.options.allowed_paths, path):
                continue
            yield self.finding(
                path,
                _WHOLE_FILE,
                f"The change touches `{path}`{_how(change)}, which is on neither the allowed nor the forbidden list "
                f"of the backend's boundaries: make sure it belongs to this change.",
            )
