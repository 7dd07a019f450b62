"""Every rule, discovered from the modules of this package.

One module per standard (``s01_versioned_routes.py`` holds S1), one class per
rule; adding a module is all it takes to register its rules.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import Any

from archlint.checks.base import Project, Rule

__all__ = ["Project", "Rule", "all_rules", "rule_by_id"]


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule[Any]], ...]:
    found: dict[str, type[Rule[Any]]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Rule) and obj.id and obj.__module__ == module.__name__:
                if obj.id in found:
                    raise RuntimeError(f"rule id {obj.id} is defined twice")
                found[obj.id] = obj
    return tuple(found[k] for k in sorted(found))


def rule_by_id(rule_id: str) -> type[Rule[Any]] | None:
    wanted = rule_id.strip().upper()
    for rule in all_rules():
        if rule.id == wanted or rule.name.lower() == rule_id.strip().lower():
            return rule
    return None
