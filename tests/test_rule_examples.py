"""Each rule's VALID/INVALID examples, run as real one-project checks; and rule metadata."""

from __future__ import annotations

import inspect
import re

import pytest
from fixture_harness import assert_snapshot, expectations

from archlint.changes import ChangedPath, ChangeSet
from archlint.checks import all_rules
from archlint.engine import Overrides, run

#: Many small projects of their own (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("own_facts_cache")

CASES = [
    pytest.param(rule, kind, i, id=f"{rule.id}-{kind}-{i}")
    for rule in all_rules()
    for kind in ("VALID", "INVALID")
    for i in range(len(getattr(rule, kind)))
]

#: Rule-id families (issue 2): which standards each hundred may enforce.
FAMILIES = {
    "0": {None},
    "1": {"S1", "S2", "S3"},
    "2": {"S8", "S9"},
    "3": {"S10", "S11", "S12", "S22"},
    "4": {"S5", "S6", "S7", "S18"},
    "5": {"S13", "S14", "S15", "S16"},
    "6": {"S17", "S19", "S20", "S23", "S24"},
    "7": {f"S{n}" for n in range(1, 25)},
}


def write_example(example, root):
    files = {"app/main.py": example} if isinstance(example, str) else example
    (root / "pyproject.toml").write_text("[tool.archlint]\n", encoding="utf-8")
    for rel, code in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = inspect.cleandoc(code) + "\n" if path.suffix in (".py", ".pyi") else code
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("rule", "kind", "index"), CASES)
def test_example(rule, kind, index, tmp_path):
    example = getattr(rule, kind)[index]
    write_example(example, tmp_path)
    overrides = Overrides(select=[rule.id], **getattr(rule, "EXAMPLE_OVERRIDES", {}))
    if rule.change_set_only:  # S19: the example's files are the change
        files = ["app/main.py"] if isinstance(example, str) else list(example)
        overrides.change_set = ChangeSet(tmp_path, [ChangedPath(f, "added") for f in files], "example")
    result = run([tmp_path], overrides)
    got = [(f.path, f.span.line, f.rule_id) for f in result.report.findings if f.rule_id == rule.id]
    if kind == "VALID":
        assert got == [], f"{rule.id} flags its own VALID example: {got}"
        return
    assert got, f"{rule.id} misses its own INVALID example"
    assert_snapshot(f"examples/{rule.id}-INVALID-{index}", result, tmp_path)  # message, line and column of every finding
    expected = [k for k in expectations(tmp_path, result.report.root).elements() if k[2] == rule.id]
    if expected:
        assert sorted(got) == sorted(expected)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_rule_metadata(rule):
    assert re.fullmatch(r"AL\d{3}", rule.id)
    assert re.fullmatch(r"(?:[A-Z][a-z0-9]+)+", rule.name), "names are PascalCase"
    assert rule.standard in FAMILIES[rule.id[2]], f"{rule.id} enforces {rule.standard}, outside its family"
    sections = rule.doc_sections()
    assert sections.get("What it does"), "the docstring's first paragraph says what the rule does"
    assert sections.get("Why is this bad?"), "the docstring has a '## Why is this bad?' section"
    assert rule.summary().endswith(".")
    assert rule.VALID and rule.INVALID, "every rule carries VALID and INVALID examples"
    if rule.security_severity is not None:
        assert 0.0 < rule.security_severity <= 10.0


def test_rule_ids_and_names_are_unique():
    rules = all_rules()
    assert len({r.id for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)
