"""AL114's hint names the regular English plural, not the word with an `s` glued on."""

from __future__ import annotations

from pathlib import Path

from fixture_harness import run_fixture

PATHS = Path(__file__).parent / "fixtures" / "s02" / "paths"


def test_al114_hint_spells_the_plural() -> None:
    result = run_fixture(PATHS)
    messages = [f.message for f in result.report.findings if f.rule_id == "AL114"]
    category = [m for m in messages if "`category`" in m]
    assert len(category) == 1, messages
    assert "(`categories`)" in category[0]
    account = [m for m in messages if "`account`" in m]
    assert account and "(`accounts`)" in account[0]
