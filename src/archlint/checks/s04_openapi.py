"""S4 — OpenAPI 3.1: the project's OpenAPI document reads, validates and is 3.1.x.

The documents come from ``--openapi``, ``[tool.archlint] openapi = [...]``,
discovered ``openapi.json``/``openapi.yaml``/``openapi.yml`` files, or (opt-in)
``--app module:attr``, which generates the document in a subprocess. Every
finding points at the line and column of the offending node in the JSON or
YAML file. The policy rules that hold other standards on the document live in
``s04_openapi_policy.py`` and read the options of the standard they enforce.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from archlint.checks.base import Project, Rule
from archlint.model import Finding, Severity
from archlint.names import APP_TYPES
from archlint.pack import option


def yaml_example(text: str) -> str:
    """An example document written flush left (examples are indented in the class body)."""
    return textwrap.dedent(text).lstrip("\n")


@dataclass(frozen=True)
class S4Options:
    openapi_version: re.Pattern[str] = option("Regular expression the document's `openapi` field must match.")


_DOC = yaml_example(
    """
    openapi: 3.1.0
    info:
      title: Shop
      version: 1.0.0
    paths: {}
    """
)


class InvalidOpenapiDocument(Rule[S4Options]):
    """Reports every error openapi-spec-validator finds in an OpenAPI document, at the node it is about.

    The validator is chosen by the document's `openapi` field (3.0, 3.1 or 3.2,
    never the unversioned alias), and every error is reported, not only the
    first. Keys written twice in one object are reported too: JSON and YAML
    readers keep only one of them.

    ## Why is this bad?
    Code generators, gateways and documentation renderers reject or misread an
    invalid document; the published contract is not the one the API serves.
    """

    id = "AL701"
    name = "InvalidOpenapiDocument"
    standard = "S4"
    severity = Severity.ERROR
    tags = ("openapi",)
    Options = S4Options
    INVALID = [
        {
            "openapi.yaml": yaml_example(
                """
                openapi: 3.1.0
                info:  # expect: AL701
                  title: Shop
                paths: {}
                """
            )
        }
    ]
    VALID = [{"openapi.yaml": _DOC}]

    def check(self, project: Project) -> Iterable[Finding]:

        docs = project.openapi
        for doc in docs.documents:
            for path in doc.duplicates:
                yield self.finding(
                    doc.path, doc.span(path), f"The key `{path[-1]}` is written twice in this object; readers keep only one."
                )
            for problem in docs.problems(doc):
                if problem.kind == "invalid":
                    yield self.finding(doc.path, doc.span(problem.path), problem.message, related=docs.related(doc, problem.path))


class UnreadableOpenapiDocument(Rule[S4Options]):
    """Reports an OpenAPI document that cannot be read: a JSON or YAML syntax error, a missing file, not an object.

    The finding sits at the position the parser stopped at.

    ## Why is this bad?
    Nothing can be checked in a document that does not parse, and nothing that
    consumes it (clients, gateways, docs) can use it.
    """

    id = "AL702"
    name = "UnreadableOpenapiDocument"
    standard = "S4"
    severity = Severity.ERROR
    tags = ("openapi",)
    Options = S4Options
    INVALID = [{"openapi.yaml": "openapi: 3.1.0\ninfo: [title\n"}]
    VALID = [{"openapi.yaml": _DOC}]

    def check(self, project: Project) -> Iterable[Finding]:

        docs = project.openapi
        for failure in docs.failures:
            if failure.kind == "read":
                yield self.finding(failure.path, failure.span, failure.message)
        for doc in docs.documents:
            if not isinstance(doc.data, dict):
                yield self.finding(doc.path, doc.span(()), "The document is not an object, so it is not an OpenAPI document.")


class OpenapiVersionNotAllowed(Rule[S4Options]):
    """Reports a document whose `openapi` version is not the one the pack requires (3.1.x).

    A document with no `openapi` field (a Swagger 2.0 file, or none at all) is
    reported at its first line.

    ## Why is this bad?
    OpenAPI 3.1 aligns schemas with JSON Schema 2020-12 (`type: [string,
    "null"]`, `examples`, `const`); FastAPI generates 3.1, and tools that
    consume the document are configured for it. A 3.0 or 2.0 document is a
    second, older contract to maintain.
    """

    id = "AL703"
    name = "OpenapiVersionNotAllowed"
    standard = "S4"
    severity = Severity.ERROR
    tags = ("openapi",)
    Options = S4Options
    INVALID = [
        {
            "openapi.yaml": yaml_example(
                """
                openapi: 3.0.3  # expect: AL703
                info:
                  title: Shop
                  version: 1.0.0
                paths: {}
                """
            )
        }
    ]
    VALID = [{"openapi.yaml": _DOC}]

    def check(self, project: Project) -> Iterable[Finding]:
        from archlint.openapi.validate import version_of

        pattern = self.options.openapi_version
        for doc in project.openapi.documents:
            if not isinstance(doc.data, dict):
                continue
            key, version = version_of(doc.data)
            if key == "openapi" and isinstance(doc.data.get("openapi"), str) and pattern.match(version or ""):
                continue
            if key is None:
                message = f"The document has no `openapi` field; it must declare a version matching `{pattern.pattern}`."
                yield self.finding(doc.path, doc.span((), value=True), message)
            else:
                message = f"The document declares `{key}: {version}`; the pack requires `openapi` matching `{pattern.pattern}`."
                yield self.finding(doc.path, doc.span((key,)), message)


class DanglingOpenapiReference(Rule[S4Options]):
    """Reports a `$ref` whose target does not exist: a local JSON pointer to nothing or a missing project file.

    The rest of the document is still validated; only the parts that need the
    missing target are skipped.

    ## Why is this bad?
    Every tool that resolves the document fails on it, usually with a less
    helpful message, and the operation or schema it describes is undefined.
    """

    id = "AL704"
    name = "DanglingOpenapiReference"
    standard = "S4"
    severity = Severity.ERROR
    tags = ("openapi",)
    Options = S4Options
    INVALID = [
        {
            "openapi.yaml": yaml_example(
                """
                openapi: 3.1.0
                info:
                  title: Shop
                  version: 1.0.0
                paths: {}
                components:
                  schemas:
                    Item:
                      $ref: '#/components/schemas/Missing'  # expect: AL704
                """
            )
        }
    ]
    VALID = [
        {
            "openapi.yaml": yaml_example(
                """
                openapi: 3.1.0
                info:
                  title: Shop
                  version: 1.0.0
                paths: {}
                components:
                  schemas:
                    Item:
                      $ref: '#/components/schemas/Base'
                    Base:
                      type: object
                """
            )
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:

        docs = project.openapi
        for doc in docs.documents:
            for problem in docs.problems(doc):
                if problem.kind == "dangling-ref":
                    yield self.finding(doc.path, doc.span(problem.path), problem.message, related=docs.related(doc, problem.path))


class RemoteOpenapiReference(Rule[S4Options]):
    """Reports a `$ref` to a remote location (`http:`, `https:`, another scheme, or a file outside the project).

    archlint never fetches it: the validator's resolver refuses every URI but
    project files, and no socket is opened while a document is validated. What
    the reference points to is therefore not validated.

    ## Why is this bad?
    The contract depends on a file that can change or disappear without a
    commit in this repository, and resolving it in CI means network access.
    Vendor the referenced file into the project and point at it relatively.
    """

    id = "AL705"
    name = "RemoteOpenapiReference"
    standard = "S4"
    severity = Severity.WARNING
    security_severity = 3.1
    tags = ("openapi", "security")
    Options = S4Options
    INVALID = [
        {
            "openapi.yaml": yaml_example(
                """
                openapi: 3.1.0
                info:
                  title: Shop
                  version: 1.0.0
                paths: {}
                components:
                  schemas:
                    Money:
                      $ref: 'https://schemas.example.com/money.json'  # expect: AL705
                """
            )
        }
    ]
    VALID = [
        {
            "openapi.yaml": yaml_example(
                """
                openapi: 3.1.0
                info:
                  title: Shop
                  version: 1.0.0
                paths: {}
                components:
                  schemas:
                    Money:
                      $ref: 'schemas/money.yaml'
                """
            ),
            "schemas/money.yaml": "type: object\n",
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:

        docs = project.openapi
        for doc in docs.documents:
            for problem in docs.problems(doc):
                if problem.kind == "remote-ref":
                    yield self.finding(doc.path, doc.span(problem.path), problem.message, related=docs.related(doc, problem.path))


class OpenapiAppNotLoaded(Rule[S4Options]):
    """Reports an application named with `--app` that could not be imported to generate its OpenAPI document.

    The import runs in a subprocess with the project's interpreter and a
    timeout; the error (an exception at import time, a missing environment
    variable, a timeout) becomes this one finding, at the application object
    when archlint knows it, instead of a crash.

    ## Why is this bad?
    The document was not checked. An application that cannot be imported
    without a live database or secret is also hard to test: read settings
    lazily and connect on startup, not at import.
    """

    id = "AL706"
    name = "OpenapiAppNotLoaded"
    standard = "S4"
    severity = Severity.ERROR
    tags = ("openapi",)
    Options = S4Options
    #: Command-line settings the examples run with (test_rule_examples).
    EXAMPLE_OVERRIDES = {"app": "app.main:app"}
    INVALID = [
        """
        import os
        from fastapi import FastAPI

        DATABASE_URL = os.environ["ARCHLINT_EXAMPLE_UNSET_DATABASE_URL"]
        app = FastAPI()  # expect: AL706
        """
    ]
    VALID = [
        """
        from fastapi import FastAPI

        app = FastAPI(title="Shop")
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:

        for failure in project.openapi.failures:
            if failure.kind == "app":
                yield self.finding(failure.path, failure.span, failure.message)


class OpenapiDocumentMissing(Rule[S4Options]):
    """Notes a FastAPI application when the project has no OpenAPI document to check, so S4 is not verified.

    archlint looks for `openapi.json`, `openapi.yaml` and `openapi.yml`, the
    files listed in `[tool.archlint] openapi`, `--openapi FILE`, and, opt-in,
    `--app module:attr`. One note per application, at the application object;
    notes never fail a run.

    ## Why is this bad?
    It is not, necessarily: without a document archlint cannot hold the
    contract to S4. Export it (`python -c "import json; from app.main import
    app; print(json.dumps(app.openapi()))" > openapi.json`) and commit it, or
    run with `--app`.
    """

    id = "AL707"
    name = "OpenapiDocumentMissing"
    standard = "S4"
    severity = Severity.NOTE
    precision = "very-high"
    tags = ("openapi",)
    Options = S4Options
    INVALID = [
        """
        from fastapi import FastAPI

        app = FastAPI(title="Shop")  # expect: AL707
        """
    ]
    VALID = [
        {
            "app/main.py": """
                from fastapi import FastAPI

                app = FastAPI(title="Shop")
                """,
            "openapi.yaml": _DOC,
        }
    ]

    def check(self, project: Project) -> Iterable[Finding]:

        docs = project.openapi
        if docs.documents or docs.failures:
            return
        table = project.routes
        for key in table.roots:
            obj = table.objects[key]
            if obj.kind == "app" and project.index.is_subclass(obj.instance.type, APP_TYPES):
                yield self.finding(
                    obj.file,
                    obj.call.span,
                    "No OpenAPI document was found for this application, so S4 was not verified: commit its "
                    "openapi.json, list it in [tool.archlint] openapi, or run with --openapi or --app.",
                )
