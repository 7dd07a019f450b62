"""archlint really analyzes the reference backend: clean as it is, a planted violation is reported."""

from __future__ import annotations

import shutil

from fixture_harness import FIXTURES

from archlint.engine import run
from archlint.model import Severity

REFERENCE = FIXTURES / "reference_backend"


def copy_backend(tmp_path):
    dest = tmp_path / "reference_backend"
    shutil.copytree(REFERENCE, dest, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    return dest


def test_reference_backend_has_no_warning_or_error(tmp_path):
    result = run([copy_backend(tmp_path)])
    serious = [f for f in result.report.findings if f.severity >= Severity.WARNING]
    assert serious == [], "\n".join(f"{f.path}:{f.span.line}: {f.rule_id} {f.message}" for f in serious)
    assert result.report.files_checked >= 20, "the backend's modules are analysed, not excluded as tests"


def test_a_violation_planted_in_a_copy_is_reported(tmp_path):
    backend = copy_backend(tmp_path)
    main = backend / "backend" / "app" / "main.py"
    main.write_text(
        main.read_text()
        + '\n\n@app.get("/internal/stats")\nasync def internal_stats() -> dict[str, int]:\n    """Stats."""\n    return {}\n'
    )
    result = run([backend])
    planted = [f for f in result.report.findings if f.path.endswith("app/main.py") and f.rule_id == "AL101"]
    assert len(planted) == 1 and "/internal/stats" in planted[0].message
