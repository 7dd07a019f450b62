"""Collection: fixture projects are data, not tests — except the reference backend's own HTTP tests.

Also: test against this checkout's policy pack. An editable install maps
``archlint.packs`` to the checkout it was installed from; a second worktree
run with ``PYTHONPATH=src`` would otherwise test its code against another
checkout's ``rules/``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE_TESTS = FIXTURES / "reference_backend" / "backend" / "tests"
_RULES = Path(__file__).resolve().parents[1] / "rules"


def _use_checkout_pack() -> None:
    import archlint

    current = sys.modules.get("archlint.packs")
    if current is not None and Path(next(iter(current.__path__), "")).resolve() == _RULES:
        return
    spec = importlib.util.spec_from_file_location(
        "archlint.packs", _RULES / "__init__.py", submodule_search_locations=[str(_RULES)]
    )
    if spec is None or spec.loader is None:  # pragma: no cover
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["archlint.packs"] = module
    archlint.packs = module  # type: ignore[attr-defined]


_use_checkout_pack()


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    path = Path(collection_path)
    if path == FIXTURES or FIXTURES not in path.parents:
        return None
    if path == REFERENCE_TESTS or REFERENCE_TESTS in path.parents or path in REFERENCE_TESTS.parents:
        return None
    return True
