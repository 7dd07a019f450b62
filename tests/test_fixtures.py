"""Every fixture project: findings equal the ``# expect:`` comments, exactly; the full diagnostics equal the snapshot;
and the same findings, in full, with the facts and then the findings taken from the cache."""

from __future__ import annotations

import os
import warnings
from collections import Counter

import pytest
from fixture_harness import (
    FIXTURES,
    UPDATE_SNAPSHOTS,
    actual,
    assert_snapshot,
    describe,
    expectations,
    findings,
    fixture_projects,
    joined_rules,
    run_fixture,
)
from sarif_check import validate_sarif

from archlint.collect.cache import FactsCache, ResultsCache
from archlint.engine import Overrides, run
from archlint.report import render

PROJECTS = fixture_projects()


def _record_cache_answers(monkeypatch) -> tuple[list[bool], list[bool]]:
    """Whether each facts lookup and each findings lookup found an entry, in order."""
    facts: list[bool] = []
    answers: list[bool] = []
    real_facts, real_answer = FactsCache.get, ResultsCache.get

    def get_facts(self, digest):
        found = real_facts(self, digest)
        facts.append(found is not None)
        return found

    def get_answer(self, query, key):
        found = real_answer(self, query, key)
        answers.append(found is not None)
        return found

    monkeypatch.setattr(FactsCache, "get", get_facts)
    monkeypatch.setattr(ResultsCache, "get", get_answer)
    return facts, answers


@pytest.mark.parametrize("project", PROJECTS, ids=[str(p.relative_to(FIXTURES)) for p in PROJECTS])
def test_fixture_project(project, tmp_path, monkeypatch):
    """Three runs (issue 14: the fixture projects both ways): an empty cache of the test's own, every file
    parsed (``--no-cache`` parses the same way and only skips the writes), compared with the expectations
    and the snapshot; every file's facts from the cache, the rules run again; the findings from the cache.
    All three agree, in full."""
    monkeypatch.setenv("ARCHLINT_CACHE_DIR", str(tmp_path / "cache"))
    facts, answers = _record_cache_answers(monkeypatch)
    result = run_fixture(project)
    fresh = findings(result)
    assert not any(facts) and not any(answers)
    files = len(facts)
    name = f"fixtures/{project.relative_to(FIXTURES).as_posix()}"
    if os.environ.get(UPDATE_SNAPSHOTS) == "1":
        assert_snapshot(name, result, project)  # written first: the comparison below then shows what is new
    expected = expectations(project, result.report.root)
    joined = joined_rules(name, result, {rule for (_path, _line, rule) in expected})
    if joined:
        warnings.warn(
            f"{name}: {', '.join(sorted(joined))} joined the fixture's selection after its snapshot; "
            "their findings are not compared until `pytest --update-snapshots` records them",
            stacklevel=1,
        )
    got = Counter({k: n for k, n in actual(result).items() if k[2] not in joined})
    missing, extra = expected - got, got - expected
    messages = {(f.path, f.span.line, f.rule_id): f.message for f in result.report.findings}
    assert not missing and not extra, (
        f"missing findings:\n{describe(missing)}\nunexpected findings:\n{describe(extra)}\n"
        + "\n".join(f"  {k[0]}:{k[1]}: {k[2]} {messages[k]}" for k in extra)
    )
    validate_sarif(render(result.report, "sarif"))
    assert_snapshot(name, result, project, ignore=joined)

    facts.clear()
    answers.clear()
    from_facts = findings(run([project], Overrides(reuse_findings=True)))
    assert len(facts) == files and all(facts) and not any(answers)  # the rules run again, on cached facts
    facts.clear()
    answers.clear()
    from_results = findings(run([project], Overrides(reuse_findings=True)))
    assert answers and all(answers) and not facts  # nothing parsed, no facts loaded
    assert from_facts == fresh
    assert from_results == fresh


def test_fixture_projects_are_found():
    names = {str(p.relative_to(FIXTURES)) for p in PROJECTS}
    assert "s01/settings_chain" in names
