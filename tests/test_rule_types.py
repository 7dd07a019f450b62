"""`Rule` is generic over its options: `class R(Rule[S5Options])` types `self.options` for mypy.

The generic argument and the `Options` dataclass the engine fills from the pack
must name the same class, or mypy would check option access against the wrong
type.
"""

from __future__ import annotations

import typing

from archlint.checks import all_rules
from archlint.checks.base import Rule


def _generic_argument(rule: type) -> object:
    """The ``X`` of the nearest ``Rule[X]`` (or ``_Base[X]``) among the class's bases."""
    for klass in rule.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            if typing.get_origin(base) is Rule:
                return typing.get_args(base)[0]
    return None


def test_every_rule_is_generic_over_the_options_it_declares():
    mismatched = []
    for rule in all_rules():
        argument = _generic_argument(rule)
        if argument is typing.Any:  # a base shared by several standards (the OpenAPI document rules)
            continue
        expected = type(None) if rule.Options is None else rule.Options
        if argument is not expected:
            mismatched.append(f"{rule.id} {rule.__name__}: Rule[{argument}] but Options = {rule.Options}")
    assert mismatched == []


def test_a_rule_without_the_generic_argument_is_caught():
    class Loose(Rule):  # type: ignore[type-arg]
        Options = dict

    assert _generic_argument(Loose) is None
