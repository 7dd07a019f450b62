"""Shared test helper: is this SARIF log valid for the OASIS schema, the multitool and GitHub?

``validate_sarif(doc_or_text)`` checks a log two ways and raises AssertionError
listing every problem found:

1. against the OASIS SARIF 2.1.0 JSON schema (``tests/schemas``), with jsonschema-rs (jsonschema
   words the errors);
2. with Microsoft's SARIF multitool, ``validate --rule-kind "Sarif;Ghas"`` (the
   SARIF spec rules plus GitHub Advanced Security's ingestion rules), when the
   tool is installed. It is looked for at ``$ARCHLINT_SARIF_MULTITOOL``, then
   ``<repo>/.ci/.tools/node_modules/.bin/sarif-multitool``, then
   ``/work/tools/node_modules/.bin/sarif-multitool``
   (``npm install @microsoft/sarif-multitool``). Without it this part is skipped,
   except on CI (``CI`` set to a true value), where a missing tool is a failure.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
from jsonschema.validators import validator_for

REPO = Path(__file__).resolve().parent.parent
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "sarif-schema-2.1.0.json"
MULTITOOL_ENV = "ARCHLINT_SARIF_MULTITOOL"
MULTITOOL_CANDIDATES = (
    REPO / ".ci" / ".tools" / "node_modules" / ".bin" / "sarif-multitool",
    Path("/work/tools/node_modules/.bin/sarif-multitool"),
)
RULE_KINDS = "Sarif;Ghas"


def validate_sarif(doc_or_text, *, strict: bool = False) -> None:
    """Fail with every schema error and every multitool error (and warning, if ``strict``)."""
    text = doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text, indent=2)
    doc = json.loads(text)
    problems = schema_errors(doc)
    if problems:
        raise AssertionError("SARIF log does not match the 2.1.0 schema:\n" + "\n".join(problems))
    levels = ("error", "warning") if strict else ("error",)
    problems = [p for level, p in multitool_results(text) if level in levels]
    if problems:
        raise AssertionError("SARIF multitool rejects the log:\n" + "\n".join(problems))


# -- JSON schema -------------------------------------------------------------


@functools.cache
def _schema_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = validator_for(schema)  # draft-04, from the schema's own "$schema"
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@functools.cache
def _fast_validator():
    """jsonschema-rs on the same schema, formats checked (a test dependency; None if too old to have
    ``validator_for``). About a hundred times faster than jsonschema on a log with every rule's help,
    which every fixture project's test validates; it checks the schema's formats (``uri``,
    ``date-time``) whatever is installed, where jsonschema checks only those it has a library for."""
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a test dependency
        return None
    if not hasattr(jsonschema_rs, "validator_for"):  # pragma: no cover - versions before 0.20's API
        return None
    return jsonschema_rs.validator_for(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")), validate_formats=True)


def schema_errors(doc) -> list[str]:
    fast = _fast_validator()
    if fast is not None and fast.is_valid(doc):
        return []
    errors = sorted(_schema_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    found = [f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    if not found and fast is not None:  # a format only jsonschema-rs checks
        found = [f"  at /{'/'.join(map(str, e.instance_path))}: {e.message}" for e in fast.iter_errors(doc)]
    return found


# -- SARIF multitool ---------------------------------------------------------


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def find_multitool() -> list[str] | None:
    """The command that runs the multitool, or None when it is not installed."""
    configured = os.environ.get(MULTITOOL_ENV)
    if configured:
        if not Path(configured).exists():
            raise AssertionError(f"{MULTITOOL_ENV}={configured} does not exist")
        return _command(Path(configured))
    for candidate in MULTITOOL_CANDIDATES:
        if candidate.exists():
            return _command(candidate)
    return None


def _command(tool: Path) -> list[str]:
    """Prefer the native binary behind npm's node wrapper.

    The wrapper (``bin.js``) re-runs the binary with ``shell: true``, so the
    shell would split ``Sarif;Ghas`` at the semicolon.
    """
    resolved = tool.resolve()
    if resolved.name != "bin.js":
        _ensure_executable(resolved)
        return [str(resolved)]
    package = resolved.parent
    exe = "Sarif.Multitool.exe" if sys.platform == "win32" else "Sarif.Multitool"
    for directory in (package, package.parent / f"{package.name}-{sys.platform}"):
        if (directory / exe).is_file():
            _ensure_executable(directory / exe)
            return [str(directory / exe)]
    return [str(tool)]  # the shell-quoted fallback, see _quote_for_wrapper


def _ensure_executable(binary: Path) -> None:
    # npm unpacks the linux binary without its execute bit on some systems.
    if os.name == "posix" and not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o100)


def multitool_results(text: str) -> list[tuple[str, str]]:
    """(level, description) for every result and failure notification of the multitool."""
    command = find_multitool()
    if command is None:
        if _truthy(os.environ.get("CI")):
            raise AssertionError(
                "SARIF multitool not found, and CI is set so it may not be skipped: run "
                "`npm install --prefix .ci/.tools @microsoft/sarif-multitool` or set "
                f"{MULTITOOL_ENV} to its path"
            )
        return []
    with tempfile.TemporaryDirectory(prefix="sarif-check-") as tmp:
        log = Path(tmp) / "input.sarif"
        out = Path(tmp) / "validation.sarif"
        log.write_text(text, encoding="utf-8")
        args = ["validate", "--rule-kind", RULE_KINDS, "--output", str(out), str(log)]
        if Path(command[0]).resolve().name == "bin.js":  # node wrapper: arguments pass through a shell
            args = [shlex.quote(a) for a in args]
        proc = subprocess.run(command + args, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not out.is_file():
            raise AssertionError(
                f"SARIF multitool failed (exit {proc.returncode}): {' '.join(command + args)}\n{proc.stdout}\n{proc.stderr}"
            )
        return _describe(json.loads(out.read_text(encoding="utf-8-sig")))


def _describe(validation: dict) -> list[tuple[str, str]]:
    found = []
    for run in validation.get("runs", []):
        rules = run.get("tool", {}).get("driver", {}).get("rules", [])
        for result in run.get("results", []):
            rule = rules[result["ruleIndex"]] if 0 <= result.get("ruleIndex", -1) < len(rules) else {}
            level = result.get("level") or rule.get("defaultConfiguration", {}).get("level", "warning")
            found.append((level, f"  {level} {result.get('ruleId')}: {_message(result, rule)}"))
        for invocation in run.get("invocations", []):
            for key in ("toolExecutionNotifications", "toolConfigurationNotifications"):
                for note in invocation.get(key, []):
                    level = note.get("level", "warning")
                    found.append((level, f"  {level} ({key}): {note.get('message', {}).get('text')}"))
    return found


def _message(result: dict, rule: dict) -> str:
    message = result.get("message", {})
    template = rule.get("messageStrings", {}).get(message.get("id"), {}).get("text")
    if message.get("text") or not template:
        return message.get("text") or json.dumps(message)
    for i, argument in enumerate(message.get("arguments", [])):
        template = template.replace(f"{{{i}}}", str(argument))
    return template
