"""Make ``archlint.packs`` the ``rules/`` folder of this checkout.

The editable install maps ``archlint.packs`` to the checkout it was installed
from; with ``PYTHONPATH=src`` a second checkout (a git worktree) would run its
own code against the other checkout's pack. Tests always use this checkout's.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_RULES = Path(__file__).resolve().parents[1] / "rules"

if "archlint.packs" not in sys.modules or Path(sys.modules["archlint.packs"].__file__ or "").parent != _RULES:
    _spec = importlib.util.spec_from_file_location(
        "archlint.packs", _RULES / "__init__.py", submodule_search_locations=[str(_RULES)]
    )
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    sys.modules["archlint.packs"] = _module
