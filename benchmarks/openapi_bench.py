"""Time archlint's OpenAPI validation on a generated document, side by side with other tools.

    python benchmarks/openapi_bench.py                      # 300 operations, JSON
    python benchmarks/openapi_bench.py --operations 600 --format yaml
    python benchmarks/openapi_bench.py --spectral node_modules/.bin/spectral --redocly node_modules/.bin/redocly

Each measurement runs in a fresh interpreter (imports included, as a user
pays them), best of ``--repeat`` runs:

- ``validator (jsonschema)``: openapi-spec-validator's ``validate()`` shortcut
  on the parsed document, pure-Python backend;
- ``archlint validate (jsonschema)`` / ``(jsonschema-rs)``: archlint's
  reader with positions plus its offline validation, with each backend of
  openapi-spec-validator (the Rust one when ``jsonschema-rs`` is installed:
  ``pip install 'archlint[openapi-fast]'``);
- ``archlint check``: the whole command line with every AL7xx rule;
- Spectral (``spectral:oas``) and Redocly (``recommended``) when their
  executables are given or on PATH.

No timing is asserted anywhere: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESOURCES = ("items", "orders", "users", "invoices", "shipments", "products", "carts", "reviews", "coupons", "stores")


def generate(operations: int = 300) -> dict:
    """A valid OpenAPI 3.1 document with ``operations`` operations, shaped like FastAPI's output."""
    paths: dict = {}
    schemas: dict = {
        "ProblemDetails": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "maxLength": 2048},
                "title": {"type": "string", "maxLength": 200},
                "status": {"type": "integer", "minimum": 100, "maximum": 599},
                "detail": {"type": "string", "maxLength": 2000},
                "instance": {"type": "string", "maxLength": 2048},
            },
            "required": ["title", "status"],
        }
    }
    problem = {"$ref": "#/components/responses/Problem"}
    made = 0
    group = 0
    while made < operations:
        name = f"{RESOURCES[group % len(RESOURCES)]}{group // len(RESOURCES) or ''}"
        model = name.capitalize()
        schemas[f"{model}Create"] = {
            "type": "object",
            "required": ["title"],
            "properties": {
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "description": {"anyOf": [{"type": "string", "maxLength": 2000}, {"type": "null"}]},
                "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                "tags": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 30}},
            },
        }
        schemas[f"{model}Read"] = {
            "type": "object",
            "required": ["id", "title", "created_at"],
            "properties": {
                "id": {"type": "integer"},
                "title": {"type": "string"},
                "description": {"type": ["string", "null"]},
                "created_at": {"type": "string", "format": "date-time"},
            },
        }
        read = {"$ref": f"#/components/schemas/{model}Read"}
        body = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}Create"}}}}
        item_param = [{"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}]

        def op(method: str, summary: str, code: str, schema: dict | None, **extra: object) -> dict:
            response: dict = {"description": summary}
            if schema is not None:
                response["content"] = {"application/json": {"schema": schema}}
            return {
                "tags": [name],
                "summary": summary,
                "operationId": summary.lower().replace(" ", "_"),
                "security": [{"HTTPBearer": []}],
                **extra,
                "responses": {code: response, "4XX": problem},
            }

        collection = f"/api/v1/{name}"
        member = f"{collection}/{{item_id}}"
        ops = [
            (
                collection,
                "get",
                op(
                    "get",
                    f"List {name}",
                    "200",
                    {"type": "array", "items": read},
                    parameters=[
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    ],
                ),
            ),
            (collection, "post", op("post", f"Create {name}", "201", read, requestBody=body)),
            (member, "get", op("get", f"Read {name}", "200", read, parameters=item_param)),
            (member, "patch", op("patch", f"Update {name}", "200", read, parameters=item_param, requestBody=body)),
            (member, "delete", op("delete", f"Delete {name}", "204", None, parameters=item_param)),
        ]
        for path, method, operation in ops:
            if made >= operations:
                break
            paths.setdefault(path, {})[method] = operation
            made += 1
        group += 1
    return {
        "openapi": "3.1.0",
        "info": {"title": "Benchmark", "version": "1.0.0"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {
                "Problem": {
                    "description": "RFC 9457 problem details.",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
                }
            },
            "securitySchemes": {"HTTPBearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def dump(doc: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2) + "\n"
    import yaml

    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


_STOCK = """
import json, sys, time
t = time.perf_counter()
import yaml
from openapi_spec_validator import validate
text = open(sys.argv[1], encoding="utf-8").read()
data = json.loads(text) if sys.argv[1].endswith(".json") else yaml.safe_load(text)
validate(data)
print(time.perf_counter() - t)
"""

_ARCHLINT = """
import sys, time
from pathlib import Path
t = time.perf_counter()
from archlint.openapi.loader import load_text
from archlint.openapi.validate import validate
path = Path(sys.argv[1])
doc = load_text(path.read_text(encoding="utf-8"), path.name)
problems = validate(doc, path, path.parent)
assert not problems, problems[:3]
print(time.perf_counter() - t)
"""


def _time(cmd: list[str], env: dict | None = None, repeat: int = 3, inner: bool = True) -> float | None:
    """Best of ``repeat`` runs: the time the child prints (``inner``) or the wall time.

    Linters exit 1 on findings; any other failure (2 and up) means the number would be meaningless.
    """
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - start
        if proc.returncode not in ((0,) if inner else (0, 1)):
            print(f"  failed: {' '.join(cmd[:3])}...: {proc.stderr.strip().splitlines()[-1:]} ", file=sys.stderr)
            return None
        value = wall
        if inner:
            try:
                value = float(proc.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                value = wall
        best = value if best is None else min(best, value)
    return best


def _has_rust() -> bool:
    try:
        import jsonschema_rs  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operations", type=int, default=300)
    parser.add_argument("--format", choices=("json", "yaml"), default="json")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spectral", help="spectral executable (default: on PATH)")
    parser.add_argument("--redocly", help="redocly executable (default: on PATH)")
    parser.add_argument("--keep", type=Path, help="write the generated project here instead of a temporary folder")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="archlint-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    doc_path = work / f"openapi.{args.format}"
    doc_path.write_text(dump(generate(args.operations), args.format), encoding="utf-8")
    (work / "pyproject.toml").write_text('[tool.archlint]\nselect = ["AL7"]\n', encoding="utf-8")
    (work / ".spectral.yaml").write_text('extends: ["spectral:oas"]\n', encoding="utf-8")
    size = doc_path.stat().st_size
    print(f"{args.operations} operations, {doc_path.name}, {size / 1024:.0f} KiB, best of {args.repeat}, seconds")

    python = sys.executable
    base_env = dict(os.environ)
    src = Path(__file__).resolve().parent.parent / "src"
    if (src / "archlint").is_dir():
        base_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), base_env.get("PYTHONPATH")]))
    backend = "OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND"
    rows: list[tuple[str, float | None]] = []
    env = {**base_env, backend: "jsonschema"}
    rows.append(
        ("openapi-spec-validator validate() (jsonschema)", _time([python, "-c", _STOCK, str(doc_path)], env, args.repeat))
    )
    rows.append(
        ("archlint validate, positions kept (jsonschema)", _time([python, "-c", _ARCHLINT, str(doc_path)], env, args.repeat))
    )
    if _has_rust():
        env_rs = {**base_env, backend: "jsonschema-rs"}
        rows.append(
            (
                "archlint validate, positions kept (jsonschema-rs)",
                _time([python, "-c", _ARCHLINT, str(doc_path)], env_rs, args.repeat),
            )
        )
    else:
        rows.append(("archlint validate (jsonschema-rs): not installed", None))
    check = [python, "-m", "archlint.cli", "check", str(work), "--format", "concise"]
    pack = src.parent / "rules" / "backend-architect.toml"
    if pack.is_file():  # this checkout's pack, whichever archlint installation provides the default one
        check += ["--pack", str(pack)]
    rows.append(("archlint check, every AL7xx rule (wall)", _time(check, env, args.repeat, inner=False)))
    if _has_rust():
        rows.append(
            (
                "archlint check, every AL7xx rule, jsonschema-rs (wall)",
                _time(check, {**base_env, backend: "jsonschema-rs"}, args.repeat, inner=False),
            )
        )
    spectral = args.spectral or shutil.which("spectral")
    if spectral:
        cmd = [spectral, "lint", str(doc_path), "--ruleset", str(work / ".spectral.yaml"), "--quiet"]
        rows.append(("spectral lint, spectral:oas (wall)", _time(cmd, base_env, args.repeat, inner=False)))
    redocly = args.redocly or shutil.which("redocly")
    if redocly:
        cmd = [redocly, "lint", str(doc_path), "--format", "stylish"]
        rows.append(
            ("redocly lint, recommended (wall)", _time(cmd, {**base_env, "REDOCLY_TELEMETRY": "off"}, args.repeat, inner=False))
        )
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {'-' if value is None else f'{value:6.2f}'}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
