"""`Rule` is generic over its options: `class R(Rule[S5Options])` types `self.options` for mypy.

The generic argument and the `Options` dataclass the engine fills from the pack
must name the same class, or mypy would check option access against the wrong
type.
"""

from __future__ import annotations

import typing

from archlint.checks import all_rules
from archlint.checks.base import Rule
from archlint.config import find_config, load_config
from archlint.engine import Overrides, run, select_rules


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


def test_options_follow_the_configuration_between_runs_in_one_process(tmp_path):
    """Options are built once per distinct values (pack.build_options): a changed value is new options."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "security.py").write_text(
        "import bcrypt\n\n\ndef hash_password(password: str) -> bytes:\n"
        "    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=11))\n",
        encoding="utf-8",
    )
    config = tmp_path / "pyproject.toml"

    def costs(minimum: int) -> tuple[list[str], object]:
        config.write_text(f'[tool.archlint]\nselect = ["S6"]\n[tool.archlint.standards.S6]\nbcrypt-min-cost = {minimum}\n')
        rules = select_rules(load_config(*find_config(tmp_path)), Overrides())
        [al430] = [rule for rule in rules if rule.id == "AL430"]
        return [f.rule_id for f in run([tmp_path], Overrides(no_cache=True)).report.findings], al430.options

    found_12, options_12 = costs(12)
    found_11, options_11 = costs(11)
    again_12, options_again = costs(12)
    assert found_12 == again_12 == ["AL430"] and found_11 == []
    assert options_11.bcrypt_min_cost == 11 and options_12.bcrypt_min_cost == 12
    assert options_again is options_12  # the same values: built once
