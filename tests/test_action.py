"""The composite GitHub Action (action.yml): parsed, and its shell steps run here as a runner would.

Each `run:` step is executed with `bash --noprofile --norc -eo pipefail` (the
runner's bash), its `${{ }}` expressions substituted from the inputs' defaults,
GITHUB_OUTPUT and GITHUB_STEP_SUMMARY pointing at files, and the `if:`
conditions evaluated from the outputs the steps wrote. The `uses:` steps
(setup-python, upload-sarif) are GitHub's own and only checked for their
wiring. Installing from the repository into a fresh venv is slow (minutes),
so that step runs under CI=true or ARCHLINT_SLOW_TESTS=1 (.ci/run sets it);
the other steps always run, with this environment's archlint.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml
from fixture_harness import FIXTURES
from sarif_check import validate_sarif
from source_copy import source_copy

REPO = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SLOW = os.environ.get("CI") == "true" or bool(os.environ.get("ARCHLINT_SLOW_TESTS"))


class Runner:
    """Just enough of a GitHub runner for this action's steps."""

    def __init__(
        self, workspace: Path, tmp: Path, inputs: dict[str, str] | None = None, path: str | None = None, action_path: Path = REPO
    ):
        self.workspace = workspace
        self.action_path = action_path
        self.inputs = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()} | (inputs or {})
        self.output_file = tmp / "github_output"
        self.summary_file = tmp / "step_summary.md"
        self.output_file.write_text("")
        self.summary_file.write_text("")
        self.path = path or os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        self.outputs: dict[str, dict[str, str]] = {}

    def value(self, expr: str) -> str:
        if expr == "github.action_path":
            return str(self.action_path)
        if expr.startswith("inputs."):
            return self.inputs[expr.split(".", 1)[1]]
        match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
        if match:
            return self.outputs.get(match.group(1), {}).get(match.group(2), "")
        raise AssertionError(f"expression this test does not know: {expr}")

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, text: str | None) -> bool:
        """`if:` with always(), ==, !=, && and || over inputs and step outputs."""
        if text is None:
            return True
        python = re.sub(
            r"(inputs\.[\w-]+|steps\.[\w-]+\.outputs\.[\w-]+|github\.[\w_]+)", lambda m: repr(self.value(m.group(1))), text
        )
        python = python.replace("always()", "True").replace("&&", " and ").replace("||", " or ")
        return bool(eval(python, {"__builtins__": {}}, {}))  # noqa: S307 - the action's own conditions

    def run(self, step: dict) -> subprocess.CompletedProcess:
        assert step.get("shell") == "bash", step.get("name")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ARCHLINT_"))}
        env.update({k: self.substitute(str(v)) for k, v in (step.get("env") or {}).items()})
        env.update(
            GITHUB_OUTPUT=str(self.output_file), GITHUB_STEP_SUMMARY=str(self.summary_file), GITHUB_ACTIONS="true", PATH=self.path
        )
        self.output_file.write_text("")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", self.substitute(step["run"])],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if "id" in step:
            self.outputs[step["id"]] = dict(
                line.split("=", 1) for line in self.output_file.read_text().splitlines() if "=" in line
            )
        return proc


def steps() -> dict[str, dict]:
    return {step["name"]: step for step in ACTION["runs"]["steps"]}


@pytest.fixture
def workspace(tmp_path):
    dest = tmp_path / "workspace"
    shutil.copytree(FIXTURES / "s01" / "settings_chain", dest)
    return dest


def test_the_action_is_composite_and_installs_from_its_own_checkout():
    assert ACTION["runs"]["using"] == "composite"
    by_name = steps()
    install = by_name["Install archlint"]
    assert install["env"]["ARCHLINT_SOURCE"] == "${{ github.action_path }}"
    assert '"$ARCHLINT_SOURCE"' in install["run"] and "pip install" in install["run"]
    # No expression inside a script: values reach the shell as environment variables (no injection).
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]
    upload = by_name["Upload SARIF to code scanning"]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    assert by_name["Set up Python"]["uses"].startswith("actions/setup-python@")
    assert ACTION["outputs"]["exit-code"]["value"] == "${{ steps.check.outputs.exit-code }}"


def test_findings_give_annotations_summary_sarif_and_a_failed_job(workspace, tmp_path):
    runner = Runner(workspace, tmp_path)
    by_name = steps()
    proc = runner.run(by_name["Run archlint"])
    assert proc.returncode == 0, proc.stderr
    assert runner.outputs["check"]["exit-code"] == "1"
    annotations = [line for line in proc.stdout.splitlines() if line.startswith("::")]
    assert annotations and all(re.match(r"::(error|warning|notice) file=backend/app/", a) for a in annotations)
    summary = runner.summary_file.read_text(encoding="utf-8")
    assert summary.startswith("## archlint\n") and "| `AL101` |" in summary
    sarif = json.loads((workspace / "archlint.sarif").read_text(encoding="utf-8"))
    validate_sarif(sarif)
    assert len(sarif["runs"][0]["results"]) == len(annotations)
    assert runner.condition(by_name["Upload SARIF to code scanning"]["if"])
    fail = by_name["Fail on findings"]
    assert runner.condition(fail["if"])
    assert runner.run(fail).returncode == 1


def test_a_clean_project_passes_and_an_error_stops_before_the_upload(workspace, tmp_path):
    by_name = steps()
    clean = Runner(workspace, tmp_path, {"args": "--fail-on error --ignore AL101"})
    proc = clean.run(by_name["Run archlint"])
    assert proc.returncode == 0 and clean.outputs["check"]["exit-code"] == "0"  # AL102 notes do not fail
    assert clean.condition(by_name["Upload SARIF to code scanning"]["if"])
    assert not clean.condition(by_name["Fail on findings"]["if"])
    broken = Runner(workspace, tmp_path, {"args": "--select NOPE"})
    proc = broken.run(by_name["Run archlint"])
    assert proc.returncode == 2 and broken.outputs["check"]["exit-code"] == "2"
    assert "::error title=archlint::" in proc.stdout
    assert not broken.condition(by_name["Upload SARIF to code scanning"]["if"])


def test_inputs_paths_and_sarif_file(workspace, tmp_path):
    runner = Runner(workspace, tmp_path, {"paths": "backend/app/api", "sarif-file": "out/report.sarif"})
    (workspace / "out").mkdir()
    proc = runner.run(steps()["Run archlint"])
    assert proc.returncode == 0, proc.stderr
    validate_sarif(json.loads((workspace / "out" / "report.sarif").read_text(encoding="utf-8")))
    assert all("file=backend/app/api/" in line for line in proc.stdout.splitlines() if line.startswith("::"))


@pytest.mark.skipif(
    not SLOW,
    reason="installs archlint from the repository into a fresh venv (minutes): runs under CI=true or ARCHLINT_SLOW_TESTS=1",
)
def test_install_step_installs_from_the_repository_into_a_fresh_python(workspace, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    path = os.pathsep.join([str(env_dir / "bin"), "/usr/bin", "/bin"])
    runner = Runner(workspace, tmp_path, path=path, action_path=source_copy(tmp_path / "action"))
    proc = runner.run(steps()["Install archlint"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("archlint, version")
    proc = runner.run(steps()["Run archlint"])
    assert proc.returncode == 0 and runner.outputs["check"]["exit-code"] == "1", proc.stderr
    assert (env_dir / "bin" / "archlint").exists()
