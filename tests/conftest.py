"""Collection: fixture projects are data, not tests — except the reference backend's own HTTP tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

# The editable install maps ``archlint.packs`` to the checkout it was installed
# from; a second checkout (a git worktree run with PYTHONPATH=src) must test its
# own rules/ folder, not that checkout's pack.
_RULES = Path(__file__).resolve().parents[1] / "rules"
if "archlint.packs" not in sys.modules or Path(sys.modules["archlint.packs"].__file__ or "").parent != _RULES:
    _spec = importlib.util.spec_from_file_location(
        "archlint.packs", _RULES / "__init__.py", submodule_search_locations=[str(_RULES)]
    )
    assert _spec is not None and _spec.loader is not None
    _packs = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_packs)
    sys.modules["archlint.packs"] = _packs

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE_TESTS = FIXTURES / "reference_backend" / "backend" / "tests"


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    path = Path(collection_path)
    if path == FIXTURES or FIXTURES not in path.parents:
        return None
    if path == REFERENCE_TESTS or REFERENCE_TESTS in path.parents or path in REFERENCE_TESTS.parents:
        return None
    return True
