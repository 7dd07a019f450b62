"""The README stays true: generated rules table, the CI test command, the hook manifest."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from archlint.cli import rules_markdown

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_rules_table_is_generated_from_the_rule_classes():
    match = re.search(r"<!-- rules-table:start -->\n(.*?)\n<!-- rules-table:end -->", README, re.S)
    assert match, "README has the rules-table markers"
    assert match.group(1) == rules_markdown(), "README rules table is stale: regenerate with `python scripts/update_readme.py`"


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert blocks[0].startswith("pip install . && archlint check examples/")
    test_command = blocks[1]
    assert test_command in ci.splitlines()


def test_pre_commit_manifest():
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "archlint" and hook["entry"] == "archlint check"
    assert hook["language"] == "python" and hook["require_serial"] is True and hook["pass_filenames"] is True
    assert "types" not in hook and "types_or" not in hook and "files" not in hook
    exe = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    if Path(exe).exists():
        proc = subprocess.run([exe, "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_bundled_example_has_findings():
    from archlint.engine import run

    result = run([REPO / "examples" / "shop"])
    assert {f.rule_id for f in result.report.findings} >= {"AL101"}
