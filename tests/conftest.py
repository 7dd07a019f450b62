"""Collection: fixture projects are data, not tests — except the reference backend's own HTTP tests.

Also make ``archlint.packs`` the ``rules/`` folder of this checkout: the
editable install maps it to the checkout it was installed from, so with
``PYTHONPATH=src`` a second checkout (a git worktree) would run its own code
against the other checkout's pack. Tests always use this checkout's.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE_TESTS = FIXTURES / "reference_backend" / "backend" / "tests"
_RULES = Path(__file__).resolve().parents[1] / "rules"

if "archlint.packs" not in sys.modules or Path(sys.modules["archlint.packs"].__file__ or "").parent != _RULES:
    _spec = importlib.util.spec_from_file_location(
        "archlint.packs", _RULES / "__init__.py", submodule_search_locations=[str(_RULES)]
    )
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    sys.modules["archlint.packs"] = _module


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    path = Path(collection_path)
    if path == FIXTURES or FIXTURES not in path.parents:
        return None
    if path == REFERENCE_TESTS or REFERENCE_TESTS in path.parents or path in REFERENCE_TESTS.parents:
        return None
    return True
