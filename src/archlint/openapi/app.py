"""``--app module:attr``: the application's own OpenAPI document, generated in a subprocess.

Opt-in only. The project's interpreter (``--python``, default the running one)
imports the module in a child process with a timeout, calls ``app.openapi()``
and writes the document to a file; archlint itself never imports project code.
A failure (an import error, a missing environment variable, a database the
module connects to at import time, a timeout) comes back as one message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: Runs in the child: import, take the document, write it (or the error) as JSON.
_CHILD = r"""
import importlib, json, sys, traceback
spec, out = sys.argv[1], sys.argv[2]
module_name, _, attr = spec.partition(":")
result = {}
try:
    obj = importlib.import_module(module_name)
    for part in (attr or "app").split("."):
        obj = getattr(obj, part)
    if not hasattr(obj, "openapi") and callable(obj):
        obj = obj()
    result["document"] = obj.openapi()
except BaseException as exc:
    lines = traceback.format_exception_only(type(exc), exc)
    result["error"] = (lines[-1] if lines else repr(exc)).strip()
with open(out, "w", encoding="utf-8") as fh:
    json.dump(result, fh, ensure_ascii=False, default=str)
sys.exit(0 if "document" in result else 3)
"""


@dataclass(slots=True)
class AppResult:
    document: dict | None
    error: str = ""


def parse_spec(spec: str) -> tuple[str, str]:
    module, _, attr = spec.partition(":")
    return module.strip(), (attr.strip() or "app")


def import_root(module: str, module_file: Path | None) -> Path | None:
    """The sys.path entry that makes ``module`` importable from ``module_file``."""
    if module_file is None:
        return None
    depth = len(module.split("."))
    if module_file.name in ("__init__.py", "__init__.pyi"):
        depth += 1
    parents = module_file.parents
    return parents[depth - 1] if depth - 1 < len(parents) else None


def generate(spec: str, *, cwd: Path, python: str | None, timeout: float, sys_path: list[Path]) -> AppResult:
    """Run the child and return the document or the reason it could not be produced."""
    interpreter = python or sys.executable
    env = dict(os.environ)
    extra = [str(p) for p in sys_path]
    if env.get("PYTHONPATH"):
        extra.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(extra)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    with tempfile.TemporaryDirectory(prefix="archlint-app-") as tmp:
        out = Path(tmp) / "openapi.json"
        try:
            proc = subprocess.run(
                [interpreter, "-c", _CHILD, spec, str(out)],
                cwd=str(cwd),
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return AppResult(None, f"importing it did not finish within {timeout:g} seconds")
        except OSError as exc:
            return AppResult(None, f"the interpreter {interpreter!r} could not be started ({exc.strerror or exc})")
        try:
            result = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stderr = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            reason = stderr[-1] if stderr else f"the interpreter exited with code {proc.returncode}"
            return AppResult(None, reason)
    if "error" in result:
        return AppResult(None, str(result["error"]))
    document = result.get("document")
    if not isinstance(document, dict):
        return AppResult(None, "app.openapi() did not return an object")
    return AppResult(document)
