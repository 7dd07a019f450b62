"""OpenAPI documents: positions, validation offline, --app, sources and the benchmark's generator.

The fixture projects under tests/fixtures/s04/ hold the rules' exact findings;
these tests cover what a fixture cannot: columns, the network, subprocesses,
command-line options.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from fixture_harness import FIXTURES

from archlint.cli import cli
from archlint.engine import Overrides, run
from archlint.model import Span
from archlint.openapi.loader import LoadError, load_text
from archlint.openapi.validate import no_network, validate, validator_name

ROOT = Path(__file__).resolve().parent.parent


def write(root: Path, files: dict[str, str], config: str = '[tool.archlint]\nselect = ["AL7"]\n') -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(config, encoding="utf-8")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def findings(result) -> list[tuple[str, int, str]]:
    return sorted((f.path, f.span.line, f.rule_id) for f in result.report.findings)


# ------------------------------------------------------------------ positions
def test_json_positions_are_lines_and_utf16_columns():
    text = '{"a": "😀😀", "b": {"c": [1, {"d": true}]}}\n'
    doc = load_text(text, "x.json")
    # '{"a": "😀😀", ' is 12 code points but 14 UTF-16 units: "b" starts at column 15.
    assert doc.span(("b",)) == Span(1, 15, 1, 18)
    assert doc.span(("b", "c", 1, "d")) == Span(1, 31, 1, 34)
    assert doc.span(("b", "c", 0)) == Span(1, 27, 1, 28)  # a list item: its value


def test_yaml_positions_and_keys_kept_as_written():
    text = "paths:\n  /a:\n    get:\n      responses:\n        200: {description: ok}\n        on: {description: x}\n"
    doc = load_text(text, "x.yaml")
    responses = doc.data["paths"]["/a"]["get"]["responses"]
    assert list(responses) == ["200", "on"]  # not the int 200, not the bool True
    assert doc.span(("paths", "/a", "get", "responses", "200")) == Span(5, 9, 5, 12)
    assert doc.span(("paths", "/a", "get", "responses", "on")) == Span(6, 9, 6, 11)
    values = load_text("maxLength: 200\nnullable: true\nversion: 2024-01-01\n", "y.yaml").data
    assert values == {"maxLength": 200, "nullable": True, "version": "2024-01-01"}


def test_yaml_columns_count_utf16_units():
    doc = load_text('"😀": {a: 1}\n', "z.yaml")
    assert doc.span(("😀", "a")) == Span(1, 8, 1, 9)  # the emoji is two UTF-16 units


def test_a_path_through_a_local_ref_lands_in_the_target():
    text = "a:\n  $ref: '#/defs/x'\ndefs:\n  x:\n    description: here\n"
    doc = load_text(text, "r.yaml")
    assert doc.span(("a", "description")) == Span(5, 5, 5, 16)


def test_load_errors_carry_the_parser_position():
    with pytest.raises(LoadError) as json_error:
        load_text('{\n  "a": 1,\n}\n', "x.json")
    assert (json_error.value.line, json_error.value.column) == (3, 1)
    with pytest.raises(LoadError) as yaml_error:
        load_text("a: b: c\n", "x.yaml")
    assert yaml_error.value.line == 1


# ------------------------------------------------------------------ validation
def test_validator_class_follows_the_openapi_field():
    import openapi_spec_validator

    assert validator_name("3.0.3") == "OpenAPIV30SpecValidator"
    assert validator_name("3.1.0") == "OpenAPIV31SpecValidator"
    assert validator_name("2.0") == "OpenAPIV2SpecValidator"
    assert validator_name("4.0.0") is None
    # Why the unversioned alias is never used: it is not the 3.0 validator.
    assert openapi_spec_validator.OpenAPIV3SpecValidator is not openapi_spec_validator.OpenAPIV30SpecValidator


def test_a_30_construct_is_valid_in_30_and_reported_in_31():
    body = (
        "info: {{title: t, version: '1'}}\npaths:\n  /a:\n    get:\n      parameters:\n"
        "        - name: n\n          in: query\n          schema: {{type: number, minimum: 0, exclusiveMinimum: true}}\n"
        "      responses:\n        '200': {{description: ok}}\n"
    )
    as_30 = load_text("openapi: 3.0.3\n" + body.format(), "a.yaml")
    as_31 = load_text("openapi: 3.1.0\n" + body.format(), "b.yaml")
    assert validate(as_30) == []
    problems = validate(as_31)
    assert problems and all(p.kind == "invalid" for p in problems)
    assert {as_31.span(p.path).line for p in problems} == {9}


def test_every_error_is_reported_and_duplicates_of_operation_ids_are_left_to_al712():
    doc = load_text((FIXTURES / "s04" / "invalid_31" / "openapi.yaml").read_text(), "openapi.yaml")
    kinds = [p.kind for p in validate(doc)]
    assert kinds.count("invalid") == 5 and kinds.count("dangling-ref") == 2


@pytest.mark.parametrize("backend", ["jsonschema", "jsonschema-rs"])
def test_both_validator_backends_report_the_same_positions(backend, tmp_path):
    if backend == "jsonschema-rs" and importlib.util.find_spec("jsonschema_rs") is None:
        pytest.skip("jsonschema-rs is not installed (pip install 'archlint[openapi-fast]')")
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from archlint.openapi.loader import load_text
        from archlint.openapi.validate import validate
        path = Path(sys.argv[1])
        doc = load_text(path.read_text(encoding="utf-8"), path.name)
        print(json.dumps(sorted((doc.span(p.path).line, p.kind) for p in validate(doc, path, path.parent))))
        """
    )
    env = {
        **os.environ,
        "OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND": backend,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
    }
    fixture = FIXTURES / "s04" / "invalid_31" / "openapi.yaml"
    out = subprocess.run([sys.executable, "-c", script, str(fixture)], capture_output=True, text=True, env=env, check=True)
    lines = json.loads(out.stdout)
    assert lines == [
        [4, "invalid"],
        [8, "invalid"],
        [12, "invalid"],
        [15, "invalid"],
        [19, "dangling-ref"],
        [38, "invalid"],
        [39, "dangling-ref"],
    ]


# ------------------------------------------------------------------ no network
class CountingListener:
    """A local TCP listener that counts connection attempts and answers each with an empty JSON object."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.count += 1
            with conn:
                conn.settimeout(1)
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    server = CountingListener()
    yield server
    server.close()


def _remote_document(port: int) -> str:
    base = f"http://127.0.0.1:{port}"
    return textwrap.dedent(
        f"""
        openapi: 3.1.0
        jsonSchemaDialect: {base}/dialect
        info: {{title: Remote, version: 1.0.0}}
        paths:
          /api/v1/things:
            get:
              parameters:
                - $ref: '{base}/parameters.yaml#/Limit'
              responses:
                '200':
                  description: Things.
                  content:
                    application/json:
                      schema: {{$ref: '{base}/thing.json'}}
                '404': {{$ref: '{base}/responses.yaml#/NotFound'}}
        components:
          schemas:
            Dialect:
              $schema: {base}/schema
              type: object
            Thing:
              $id: {base}/things/
              type: object
              properties:
                other: {{$ref: '{base.replace("http", "https")}/other.json'}}
                named: {{$ref: 'ftp://127.0.0.1:{port}/x.json'}}
        """
    ).lstrip("\n")


def test_the_listener_sees_the_stock_validator_fetch_a_remote_ref(listener):
    """The test below could fail: the stock validator does connect for a remote $ref."""
    from openapi_spec_validator import OpenAPIV31SpecValidator

    data = load_text(_remote_document(listener.port), "remote.yaml").data
    try:
        list(OpenAPIV31SpecValidator(data).iter_errors())
    except Exception:  # noqa: BLE001 - whatever it makes of the answer, it connected
        pass
    assert listener.count >= 1


def test_a_remote_ref_is_reported_and_never_fetched(listener, tmp_path):
    write(tmp_path, {"openapi.yaml": _remote_document(listener.port)}, '[tool.archlint]\nselect = ["S4"]\n')
    result = run([tmp_path], Overrides())
    assert listener.count == 0
    remote = [f for f in result.report.findings if f.rule_id == "AL705"]
    assert sorted(f.span.line for f in remote) == [8, 14, 15, 25, 26]
    # The listener works and sockets work again once validation is over.
    with socket.create_connection(("127.0.0.1", listener.port), timeout=2) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        conn.recv(100)
    assert listener.count == 1


def test_no_network_refuses_and_restores():
    original = socket.socket.connect
    with no_network():
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        with socket.socket() as s, pytest.raises(OSError):
            s.connect(("127.0.0.1", 9))
    assert socket.socket.connect is original


# ------------------------------------------------------------------ --app
APP_FILES = {
    "backend/app/__init__.py": "",
    "backend/app/core/__init__.py": "",
    "backend/app/core/config.py": """
        class Settings:
            API_V1_STR: str = "/api/v1"


        settings = Settings()
        """,
    "backend/app/api/__init__.py": "",
    "backend/app/api/things.py": """
        from fastapi import APIRouter

        router = APIRouter(prefix="/things")


        @router.get("/")
        async def list_things() -> list[str]:
            return []
        """,
    "backend/app/main.py": """
        from fastapi import FastAPI

        from app.api import things
        from app.core.config import settings

        app = FastAPI(title="Things")
        app.include_router(things.router, prefix=settings.API_V1_STR)
        """,
}


def test_app_document_findings_point_at_the_route_decorator(tmp_path):
    root = write(tmp_path / "proj", APP_FILES)
    result = run([root], Overrides(app="app.main:app", select=["AL714"]))
    [finding] = result.report.findings
    generated = root / ".archlint_cache" / "openapi" / "app.main-app.json"
    assert finding.path == os.path.relpath(generated, result.report.root).replace(os.sep, "/")
    assert '"get": {' in generated.read_text().splitlines()[finding.span.line - 1]
    assert "GET /api/v1/things/" in finding.message
    [related] = finding.related
    assert related.path.endswith("backend/app/api/things.py") and related.span.line == 6
    assert (root / ".archlint_cache" / ".gitignore").read_text().strip().endswith("*")


def test_app_document_path_findings_point_at_every_route_of_the_path(tmp_path):
    files = dict(APP_FILES)
    files["backend/app/main.py"] = textwrap.dedent(files["backend/app/main.py"]) + textwrap.dedent(
        """

        @app.get("/status")
        async def status() -> dict[str, str]:
            return {"status": "ok"}


        @app.delete("/status")
        async def reset_status() -> None:
            return None
        """
    )
    root = write(tmp_path / "proj", files)
    result = run([root], Overrides(app="app.main:app", select=["AL710"]))
    [finding] = result.report.findings
    assert "`/status` is not versioned" in finding.message
    assert sorted((r.path.rsplit("/", 1)[-1], r.span.line) for r in finding.related) == [("main.py", 10), ("main.py", 15)]


def test_app_import_error_is_one_finding_at_the_app(tmp_path):
    files = dict(APP_FILES)
    files["backend/app/main.py"] = textwrap.dedent(files["backend/app/main.py"]).replace(
        "app = FastAPI", 'import os\nDATABASE_URL = os.environ["ARCHLINT_TEST_UNSET_DATABASE_URL"]\napp = FastAPI'
    )
    root = write(tmp_path / "proj", files)
    result = run([root], Overrides(app="app.main:app"))
    assert [(f.rule_id, f.span.line) for f in result.report.findings] == [("AL706", 8)]
    assert "KeyError: 'ARCHLINT_TEST_UNSET_DATABASE_URL'" in result.report.findings[0].message


def test_app_timeout_is_a_finding(tmp_path):
    files = dict(APP_FILES)
    files["backend/app/main.py"] = "import time\ntime.sleep(30)\n" + textwrap.dedent(files["backend/app/main.py"])
    root = write(tmp_path / "proj", files)
    result = run([root], Overrides(app="app.main:app", app_timeout=1))
    [finding] = result.report.findings
    assert finding.rule_id == "AL706" and "did not finish within 1 seconds" in finding.message


def test_without_app_no_project_code_runs(tmp_path):
    marker = tmp_path / "imported"
    files = dict(APP_FILES)
    files["backend/app/main.py"] = f"open({str(marker)!r}, 'w').close()\n" + textwrap.dedent(files["backend/app/main.py"])
    root = write(tmp_path / "proj", files, '[tool.archlint]\nselect = ["S4"]\n')
    result = run([root], Overrides())
    assert [f.rule_id for f in result.report.findings] == ["AL707"]
    assert not marker.exists()


# ------------------------------------------------------------------ sources and CLI
def test_openapi_option_checks_that_file_even_outside_the_paths(tmp_path, monkeypatch):
    project = write(tmp_path / "proj", {"app/main.py": "x = 1\n"}, '[tool.archlint]\nselect = ["S4"]\n')
    monkeypatch.chdir(project)
    spec = tmp_path / "elsewhere" / "spec.json"
    spec.parent.mkdir()
    spec.write_text('{"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {}}\n')
    output = CliRunner().invoke(cli, ["check", str(project / "app"), "--openapi", str(spec), "-f", "concise"]).output
    assert output.splitlines() == [  # outside the current directory: an absolute path, as Ruff prints it
        f"{spec.as_posix()}:1:2: AL703 [error] The document declares `openapi: 3.0.0`; "
        "the pack requires `openapi` matching `^3\\.1\\.[0-9]+$`."
    ]
    missing = CliRunner().invoke(cli, ["check", str(project), "--openapi", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2


def test_config_key_must_be_a_list_of_paths(tmp_path):
    project = write(tmp_path, {}, '[tool.archlint]\nopenapi = "openapi.json"\n')
    result = CliRunner().invoke(cli, ["check", str(project)])
    assert result.exit_code == 2 and "'openapi' must be a list of strings" in result.output


def test_a_configured_document_that_does_not_exist_is_a_finding(tmp_path):
    project = write(tmp_path, {}, '[tool.archlint]\nselect = ["S4"]\nopenapi = ["docs/openapi.yaml"]\n')
    result = run([project], Overrides())
    assert [(f.rule_id, f.path.endswith("docs/openapi.yaml")) for f in result.report.findings] == [("AL702", True)]


# ------------------------------------------------------------------ benchmark
def _bench_module():
    spec = importlib.util.spec_from_file_location("openapi_bench", ROOT / "benchmarks" / "openapi_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_document_is_valid_and_passes_every_rule(tmp_path):
    bench = _bench_module()
    document = bench.generate(300)
    assert sum(1 for item in document["paths"].values() for _ in item) == 300
    smaller = bench.generate(40)  # the same shapes, checked faster
    (tmp_path / "openapi.json").write_text(bench.dump(smaller, "json"))
    (tmp_path / "pyproject.toml").write_text('[tool.archlint]\nselect = ["AL7"]\n')
    assert run([tmp_path], Overrides()).report.findings == []
