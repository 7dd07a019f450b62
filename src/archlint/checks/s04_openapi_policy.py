"""The standards held on the OpenAPI document: S1, S2, S3, S7, S8, S13 and S15, as the document states them.

Each rule names the standard it enforces and reports at the node of the JSON
or YAML document a user would change: an operation's key, a response's status
code, a property of a component schema (once, however many operations use
it). When the document was generated with ``--app``, a finding about an
operation also points at the route's decorator (a related location) when
archlint's static route table serves the same method and path.

Options: each rule reads the table of the standard it enforces
(``[standards.S1]``, ``S2``, ``S7``, ``S8``, ``S13``, ``S15``), so the rules on
the source and the rules on the document agree.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from archlint.checks.base import Project, Rule, probe_match
from archlint.checks.s01_versioned_routes import S1Options
from archlint.checks.s02_methods_status import S2Options
from archlint.checks.s04_openapi import yaml_example
from archlint.checks.s07_authentication import S7Options
from archlint.checks.s13_rate_limiting import S13Options
from archlint.model import Finding, Related, Severity
from archlint.openapi.loader import Document
from archlint.openapi.loader import Path as JsonPath
from archlint.openapi.walk import (
    Operation,
    collect_properties,
    component_name,
    is_client_error,
    is_success,
    operations,
    schema_types,
    server_prefixes,
)
from archlint.pack import option

_MAX_RELATED = 10


@dataclass(frozen=True)
class S15DocumentOptions:
    """S15's options, as the document rules read them from [standards.S15]."""

    problem_media_type: str = option("The media type problem details are answered with.")
    problem_members: tuple[str, ...] = option("Members an error response schema of the OpenAPI document must declare.")


@dataclass(frozen=True)
class S8DocumentOptions:
    """S8's options, as the document rules read them from [standards.S8]."""

    upper_bound_field_pattern: re.Pattern[str] = option("Integer fields that size a result and need an upper bound (searched).")
    lower_bound_field_pattern: re.Pattern[str] = option("Integer fields that are offsets and need a lower bound (searched).")
    document_bounded_string_formats: tuple[str, ...] = option(
        "String formats that bound a request-body string of the OpenAPI document without `maxLength`."
    )
    document_exempt_schemas: tuple[str, ...] = option(
        "Component schemas of the OpenAPI document not held to S8 (FastAPI's built-in validation error schemas)."
    )


_HEAD = """
openapi: 3.1.0
info:
  title: Shop
  version: 1.0.0
"""


def _doc(body: str) -> dict[str, str]:
    return {"openapi.yaml": _HEAD.lstrip("\n") + yaml_example(body)}


def _words(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class _DocumentRule(Rule[Any]):
    """Shared helpers of the document rules (not a rule: no id)."""

    tags: ClassVar[tuple[str, ...]] = ("openapi",)

    def operations(self, project: Project) -> Iterator[Operation]:

        for doc in project.openapi.documents:
            if isinstance(doc.data, dict):
                yield from operations(doc)

    def documents(self, project: Project) -> list[Document]:

        return [d for d in project.openapi.documents if isinstance(d.data, dict)]

    def related(self, project: Project, op: Operation) -> list[Related]:
        """The route's decorator, for documents generated with --app."""

        return project.openapi.related(op.doc, op.path)

    def route(self, project: Project, op: Operation) -> Any:
        """The static route serving the operation (method and path, with the servers' path in front)."""

        return project.openapi.route_of(op.doc, op.method, op.template)

    def report(self, project: Project, op: Operation, path: JsonPath, message: str, *, value: bool = False) -> Finding:
        return self.finding(op.doc.path, op.doc.span(path, value=value), message, related=self.related(project, op))

    def is_public(self, op: Operation) -> bool:
        """Public by S7's `public-paths` (full paths: the servers' path in front, trailing slash removed)."""
        for prefix in server_prefixes(op.doc.data):
            path = (prefix + op.template).rstrip("/") or "/"
            if any(fnmatch.fnmatchcase(path, glob) for glob in self.options.public_paths):
                return True
            if probe_match(getattr(self, "_probes", ()), path):
                return True
        return False


# --------------------------------------------------------------------------- #
# S1
# --------------------------------------------------------------------------- #


class UnversionedOpenapiPath(_DocumentRule):
    """Reports a path of the OpenAPI document that does not start with an API version (`/api/v1/...`).

    The path is taken with the path part of the document's `servers` URLs in
    front (server variables at their defaults), so `servers: [{url: /api/v1}]`
    with `/users` is versioned. S1's pack options apply: the same pattern and
    the same allow-list (health, docs, metrics) as for routes in the code.

    ## Why is this bad?
    The published contract is what clients and gateways route by: an
    unversioned path there cannot evolve without breaking them.
    """

    id = "AL710"
    name = "UnversionedOpenapiPath"
    standard = "S1"
    severity = Severity.ERROR
    Options = S1Options
    INVALID = [
        _doc(
            """
            paths:
              /users:  # expect: AL710
                get:
                  responses:
                    '200': {description: The users.}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:
                  responses:
                    '200': {description: The users.}
              /health:
                get:
                  responses:
                    '200': {description: Alive.}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes

        pattern = self.options.route_pattern
        for doc in self.documents(project):
            paths = doc.data.get("paths")
            if not isinstance(paths, dict):
                continue
            prefixes = server_prefixes(doc.data)
            for template in paths:
                template = str(template)
                bad = [p + template for p in prefixes if not self._ok(pattern, p + template)]
                if bad:
                    yield self.finding(
                        doc.path,
                        doc.span(("paths", template)),
                        f"The path `{bad[0]}` is not versioned: paths must match `{pattern.pattern}`.",
                        related=project.openapi.related(doc, ("paths", template)),
                    )

    def _ok(self, pattern: re.Pattern[str], path: str) -> bool:
        return (
            bool(pattern.match(path))
            or any(fnmatch.fnmatchcase(path, g) for g in self.options.unversioned_allow)
            or probe_match(getattr(self, "_probes", ()), path)
        )


# --------------------------------------------------------------------------- #
# S3
# --------------------------------------------------------------------------- #


class OperationWithoutOperationId(_DocumentRule):
    """Reports an operation of the OpenAPI document that has no `operationId`.

    ## Why is this bad?
    Client generators name methods after it; without one they invent names
    that change when the path changes, and links between operations cannot
    refer to it.
    """

    id = "AL711"
    name = "OperationWithoutOperationId"
    standard = "S3"
    severity = Severity.WARNING
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:  # expect: AL711
                  summary: List users
                  responses:
                    '200': {description: The users.}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:
                  operationId: list_users
                  responses:
                    '200': {description: The users.}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        for op in self.operations(project):
            value = op.node.get("operationId")
            if not isinstance(value, str) or not value.strip():
                yield self.report(project, op, op.path, f"The operation {op.label} has no operationId.")


class DuplicateOperationId(_DocumentRule):
    """Reports an `operationId` already used by another operation of the same document.

    The finding sits at the second (and any later) use; the first is a related location.

    ## Why is this bad?
    OpenAPI requires operationIds to be unique: generated clients get two
    methods with one name, and links resolve to the wrong operation.
    """

    id = "AL712"
    name = "DuplicateOperationId"
    standard = "S3"
    severity = Severity.ERROR
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:
                  operationId: users
                  responses:
                    '200': {description: The users.}
                post:
                  operationId: users  # expect: AL712
                  responses:
                    '201': {description: Created.}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:
                  operationId: list_users
                  responses:
                    '200': {description: The users.}
                post:
                  operationId: create_user
                  responses:
                    '201': {description: Created.}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        first: dict[tuple[str, str], Operation] = {}
        for op in self.operations(project):
            value = op.node.get("operationId")
            if not isinstance(value, str) or not value:
                continue
            key = (op.doc.path, value)
            if key not in first:
                first[key] = op
                continue
            original = first[key]
            related = [Related(op.doc.path, op.doc.span(original.path + ("operationId",)), f"{original.label} uses it first.")]
            yield self.finding(
                op.doc.path,
                op.doc.span(op.path + ("operationId",)),
                f"The operationId `{value}` of {op.label} is already used by {original.label}; operationIds must be unique.",
                related=related + self.related(project, op),
            )


class OperationWithoutDescription(_DocumentRule):
    """Reports an operation of the OpenAPI document with neither a `summary` nor a `description`.

    ## Why is this bad?
    The rendered documentation shows a bare method and path: readers have to
    guess what the endpoint does (S3: every endpoint is documented).
    """

    id = "AL713"
    name = "OperationWithoutDescription"
    standard = "S3"
    severity = Severity.WARNING
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:  # expect: AL713
                  operationId: list_users
                  responses:
                    '200': {description: The users.}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:
                  operationId: list_users
                  description: Every user, newest first.
                  responses:
                    '200': {description: The users.}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        for op in self.operations(project):
            if not any(isinstance(op.node.get(k), str) and op.node[k].strip() for k in ("summary", "description")):
                yield self.report(project, op, op.path, f"The operation {op.label} has neither a summary nor a description.")


class OperationWithoutTags(_DocumentRule):
    """Reports an operation of the OpenAPI document without `tags`.

    ## Why is this bad?
    Documentation renderers group operations by tag and client generators
    split code by it; an untagged operation lands in a catch-all "default"
    group.
    """

    id = "AL714"
    name = "OperationWithoutTags"
    standard = "S3"
    severity = Severity.WARNING
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:  # expect: AL714
                  summary: List users
                  responses:
                    '200': {description: The users.}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:
                  summary: List users
                  tags: [users]
                  responses:
                    '200': {description: The users.}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        for op in self.operations(project):
            tags = op.node.get("tags")
            if not (isinstance(tags, list) and any(isinstance(t, str) and t.strip() for t in tags)):
                yield self.report(project, op, op.path, f"The operation {op.label} has no tags.")


# --------------------------------------------------------------------------- #
# S2
# --------------------------------------------------------------------------- #


class OperationWithoutSuccessResponse(_DocumentRule):
    """Reports an operation of the OpenAPI document that documents no 2xx response.

    A `2XX` range counts.

    ## Why is this bad?
    Clients do not know what a successful call returns; generated clients type
    the result as unknown.
    """

    id = "AL715"
    name = "OperationWithoutSuccessResponse"
    standard = "S2"
    severity = Severity.WARNING
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:
                  responses:  # expect: AL715
                    '404': {description: Not found.}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:
                  responses:
                    2XX: {description: The users.}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        for op in self.operations(project):
            if any(is_success(code) for code in op.responses):
                continue
            where = op.path + ("responses",) if "responses" in op.node else op.path
            yield self.report(project, op, where, f"The operation {op.label} documents no 2xx response.")


class CreateOperationWithout201(_DocumentRule):
    """Reports a POST that creates a resource but documents 200 instead of 201 Created.

    S2's options decide, as for routes in the source: the operationId or the
    summary (in snake_case: `createItem` and "Create item" read `create_item`)
    matching `action-handler-names` (login, token, refresh, search, ...) or a
    last path segment matching `action-segments` is not a create; one matching
    `create-handler-names` (`create_*`, `add_*`, `register*`) is, and so is a
    POST to a plural collection (`POST /api/v1/items`, not in
    `plural-exempt`). Only a POST whose sole success response is 200 is
    reported (201, 202, 204 or a `2XX` range are fine).

    ## Why is this bad?
    201 tells clients and caches that a resource now exists (and where, with
    `Location`); 200 says nothing was created (S2).
    """

    id = "AL716"
    name = "CreateOperationWithout201"
    standard = "S2"
    severity = Severity.WARNING
    Options = S2Options
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/items:
                post:
                  operationId: create_item
                  responses:
                    '200': {description: The new item.}  # expect: AL716
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/items:
                post:
                  operationId: create_item
                  responses:
                    '201': {description: The new item.}
              /api/v1/auth/login:
                post:
                  operationId: login
                  responses:
                    '200': {description: A token pair.}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        for op in self.operations(project):
            if op.method != "post":
                continue
            codes = [str(c) for c in op.responses]
            success = [c for c in codes if is_success(c)]
            if success != ["200"] or not self._creates(op):
                continue
            yield self.report(
                project,
                op,
                op.path + ("responses", "200"),
                f"The operation {op.label} creates a resource but documents 200; a create answers 201 Created.",
            )

    def _creates(self, op: Operation) -> bool:
        opts = self.options
        names = [_snake(op.node[k]) for k in ("operationId", "summary") if isinstance(op.node.get(k), str)]
        segments = [s for s in op.template.split("/") if s]
        last = segments[-1].lower() if segments else ""
        if any(_matches(n, opts.action_handler_names) for n in names) or (last and _matches(last, opts.action_segments)):
            return False
        if any(_matches(n, opts.create_handler_names) for n in names):
            return True
        return bool(last) and not last.startswith("{") and last.endswith("s") and not _matches(last, opts.plural_exempt)


def _snake(text: str) -> str:
    """``createItem``, "Create item" and ``create-item`` -> ``create_item``."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text.strip())
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def _matches(name: str, globs: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, glob) for glob in globs)


# --------------------------------------------------------------------------- #
# S15
# --------------------------------------------------------------------------- #


class OperationWithoutErrorResponse(_DocumentRule):
    """Reports an operation of the OpenAPI document that documents no 4xx response.

    A `4XX` range counts, and so does a `default` response that answers the
    problem-details media type.

    ## Why is this bad?
    Clients learn the error contract by trial: S15 wants every error answered
    as RFC 9457 problem details, and the document is where that is promised.
    """

    id = "AL717"
    name = "OperationWithoutErrorResponse"
    standard = "S15"
    severity = Severity.WARNING
    Options = S15DocumentOptions
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:
                  responses:  # expect: AL717
                    '200': {description: The users.}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/users:
                get:
                  responses:
                    '200': {description: The users.}
                    4XX:
                      $ref: '#/components/responses/Problem'
            components:
              responses:
                Problem:
                  description: A problem.
                  content:
                    application/problem+json:
                      schema:
                        type: object
                        properties:
                          type: {type: string}
                          title: {type: string}
                          status: {type: integer}
                          detail: {type: string}
                          instance: {type: string}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        media = self.options.problem_media_type
        for op in self.operations(project):
            responses = op.responses
            if any(is_client_error(code) for code in responses):
                continue
            default, _ = op.doc.deref(responses.get("default"))
            if isinstance(default, dict) and isinstance(default.get("content"), dict) and media in default["content"]:
                continue
            where = op.path + ("responses",) if "responses" in op.node else op.path
            yield self.report(project, op, where, f"The operation {op.label} documents no 4xx error response.")


class ErrorResponseNotProblemDetails(_DocumentRule):
    """Reports a documented 4xx response that is not RFC 9457 problem details.

    The response must offer the pack's `problem-media-type`
    (`application/problem+json`) with a schema that declares the
    `problem-members` (type, title, status, detail, instance), through `$ref`
    and `allOf` as written. A response shared through `#/components/responses`
    is reported once, at the component. FastAPI's generated 422 response
    (`application/json`, `HTTPValidationError`) is reported like any other.

    ## Why is this bad?
    Clients need one error format to handle every failure; S15 holds the API to
    RFC 9457, and a document that promises another body misleads them.
    """

    id = "AL718"
    name = "ErrorResponseNotProblemDetails"
    standard = "S15"
    severity = Severity.WARNING
    Options = S15DocumentOptions
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/items/{item_id}:
                get:
                  parameters:
                    - {name: item_id, in: path, required: true, schema: {type: integer}}
                  responses:
                    '200': {description: The item.}
                    '404':  # expect: AL718
                      description: Not found.
                      content:
                        application/json:
                          schema:
                            type: object
                            properties:
                              error: {type: string}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/items/{item_id}:
                get:
                  parameters:
                    - {name: item_id, in: path, required: true, schema: {type: integer}}
                  responses:
                    '200': {description: The item.}
                    '404':
                      description: Not found.
                      content:
                        application/problem+json:
                          schema:
                            allOf:
                              - $ref: '#/components/schemas/Problem'
            components:
              schemas:
                Problem:
                  type: object
                  properties:
                    type: {type: string}
                    title: {type: string}
                    status: {type: integer}
                    detail: {type: string}
                    instance: {type: string}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        media = self.options.problem_media_type
        reported: set[tuple[str, JsonPath]] = set()
        for op in self.operations(project):
            for code, response in op.responses.items():
                if not is_client_error(str(code)):
                    continue
                resolved, target = op.doc.deref(response)
                where = target if target is not None else op.path + ("responses", code)
                if (op.doc.path, where) in reported or not isinstance(resolved, dict):
                    continue
                problem = self._problem(op, resolved, media)
                if problem is None:
                    continue
                reported.add((op.doc.path, where))
                subject = (
                    f"The {code} response of {op.label}"
                    if target is None
                    else f"The response `{where[-1]}` ({code} of {op.label})"
                )
                yield self.report(project, op, where, f"{subject} {problem}.")

    def _problem(self, op: Operation, response: dict[str, Any], media: str) -> str | None:
        content = response.get("content")
        if not isinstance(content, dict) or not content:
            return f"documents no body; errors answer `{media}` problem details"
        if media not in content:
            offered = ", ".join(f"`{m}`" for m in content)
            return f"is documented as {offered}, not `{media}` problem details"
        entry = content[media]
        schema = entry.get("schema") if isinstance(entry, dict) else None
        members = collect_properties(op.doc, schema)
        missing = [m for m in self.options.problem_members if m not in members]
        if missing:
            return f"has a `{media}` schema without the RFC 9457 member{'s' if len(missing) > 1 else ''} " + ", ".join(
                f"`{m}`" for m in missing
            )
        return None


# --------------------------------------------------------------------------- #
# S7
# --------------------------------------------------------------------------- #


def _schemes(data: dict[str, Any]) -> dict[str, Any]:
    components = data.get("components")
    schemes = components.get("securitySchemes") if isinstance(components, dict) else None
    return schemes if isinstance(schemes, dict) else {}


def _effective_security(op: Operation) -> tuple[Any, JsonPath]:
    if "security" in op.node:
        return op.node["security"], op.path + ("security",)
    return op.doc.data.get("security"), ("security",)


class MissingSecuritySchemes(_DocumentRule):
    """Reports a document with operations that are not public but no `components.securitySchemes`.

    Public operations are S7's `public-paths` (login, register, password
    recovery, health, docs), matched on the full path. One finding per document; when no
    operation declares security either, the operations are listed as related
    locations instead of being reported one by one.

    ## Why is this bad?
    The document does not say how to authenticate: clients, gateways and
    security scanners read the API as open (S7).
    """

    id = "AL719"
    name = "MissingSecuritySchemes"
    standard = "S7"
    severity = Severity.ERROR
    security_severity = 7.5
    tags = ("openapi", "security")
    Options = S7Options
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/items:
                get:
                  responses:
                    '200': {description: The items.}
            components:  # expect: AL719
              schemas: {}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/items:
                get:
                  security: [{bearer: []}]
                  responses:
                    '200': {description: The items.}
            components:
              securitySchemes:
                bearer: {type: http, scheme: bearer}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        for doc in self.documents(project):
            if _schemes(doc.data):
                continue
            private = [op for op in operations(doc) if not self.is_public(op)]
            if not private:
                continue
            where = ("components",) if "components" in doc.data else ("openapi",) if "openapi" in doc.data else ()
            yield self.finding(
                doc.path,
                doc.span(where),
                f"The document declares no securitySchemes, yet {_words(len(private), 'operation')} "
                f"({', '.join(op.label for op in private[:3])}{' ...' if len(private) > 3 else ''}) are not public.",
                related=[Related(doc.path, doc.span(op.path), f"{op.label} is not public.") for op in private[:_MAX_RELATED]],
            )


class OperationWithoutSecurity(_DocumentRule):
    """Reports an operation that is not public but has no security requirement (or allows anonymous access).

    The requirement is the operation's `security`, else the document's.
    Public operations are S7's `public-paths`. An empty requirement
    object (`{}`) in the list makes authentication optional and is reported
    too. When the document declares no security scheme and no security at
    all, `MissingSecuritySchemes` reports it once instead.

    ## Why is this bad?
    The contract says the endpoint is open: generated clients send no
    credentials and gateways enforce none (S7).
    """

    id = "AL720"
    name = "OperationWithoutSecurity"
    standard = "S7"
    severity = Severity.ERROR
    security_severity = 8.2
    tags = ("openapi", "security")
    Options = S7Options
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/items:
                get:
                  security: [{bearer: []}]
                  responses:
                    '200': {description: The items.}
                delete:  # expect: AL720
                  responses:
                    '204': {description: Deleted.}
            components:
              securitySchemes:
                bearer: {type: http, scheme: bearer}
            """
        )
    ]
    VALID = [
        _doc(
            """
            security: [{bearer: []}]
            paths:
              /api/v1/items:
                get:
                  responses:
                    '200': {description: The items.}
              /api/v1/auth/login:
                post:
                  security: []
                  responses:
                    '200': {description: A token pair.}
            components:
              securitySchemes:
                bearer: {type: http, scheme: bearer}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        for doc in self.documents(project):
            ops = operations(doc)
            if not _schemes(doc.data) and not doc.data.get("security") and not any(op.node.get("security") for op in ops):
                continue  # MissingSecuritySchemes reports the document once
            for op in ops:
                if self.is_public(op):
                    continue
                security, where = _effective_security(op)
                if not isinstance(security, list) or not security:
                    yield self.report(
                        project, op, op.path, f"The operation {op.label} is not public but has no security requirement."
                    )
                elif any(isinstance(req, dict) and not req for req in security):
                    yield self.report(
                        project,
                        op,
                        where if where[0] == "paths" else op.path,
                        f"The operation {op.label} is not public but its security allows anonymous access (`{{}}`).",
                    )


class UndeclaredSecurityScheme(_DocumentRule):
    """Reports a security requirement that names a scheme `components.securitySchemes` does not declare.

    ## Why is this bad?
    A requirement on an undeclared scheme is invalid and tools drop it: the
    operation is effectively unprotected in the contract (S7).
    """

    id = "AL721"
    name = "UndeclaredSecurityScheme"
    standard = "S7"
    severity = Severity.ERROR
    security_severity = 7.5
    tags = ("openapi", "security")
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/items:
                get:
                  security:
                    - OAuth2PasswordBearer: []  # expect: AL721
                  responses:
                    '200': {description: The items.}
            components:
              securitySchemes:
                HTTPBearer: {type: http, scheme: bearer}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/items:
                get:
                  security:
                    - HTTPBearer: []
                  responses:
                    '200': {description: The items.}
            components:
              securitySchemes:
                HTTPBearer: {type: http, scheme: bearer}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        for doc in self.documents(project):
            schemes = _schemes(doc.data)
            places: list[tuple[JsonPath, Any, Operation | None]] = [(("security",), doc.data.get("security"), None)]
            places += [(op.path + ("security",), op.node.get("security"), op) for op in operations(doc)]
            for where, security, op in places:
                if not isinstance(security, list):
                    continue
                for i, requirement in enumerate(security):
                    if not isinstance(requirement, dict):
                        continue
                    for name in requirement:
                        if name in schemes:
                            continue
                        subject = f"The security requirement of {op.label}" if op else "The document's security requirement"
                        message = f"{subject} names `{name}`, which components.securitySchemes does not declare."
                        related = self.related(project, op) if op else []
                        yield self.finding(doc.path, doc.span(where + (i, name)), message, related=related)


# --------------------------------------------------------------------------- #
# S13
# --------------------------------------------------------------------------- #


class RateLimitedOperationWithout429(_DocumentRule):
    """Reports a rate-limited operation that does not document 429 Too Many Requests.

    An operation is rate-limited when it is an auth endpoint by S13's options
    (`auth-methods` and `auth-path-patterns`: login, register, refresh,
    unless `auth-exclude-path-pattern` matches) or when the route serving it
    in the Python source carries a `.limit(...)` decorator of one of S13's
    `limiter-types` (matched by method and path). A `4XX` range counts as
    documenting 429. Application-wide default limits are not taken as making
    every operation rate-limited.

    ## Why is this bad?
    Clients that do not know about 429 treat it as a failure instead of
    backing off (`Retry-After`), and retry storms follow (S13).
    """

    id = "AL722"
    name = "RateLimitedOperationWithout429"
    standard = "S13"
    severity = Severity.WARNING
    Options = S13Options
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/auth/login:
                post:
                  responses:  # expect: AL722
                    '200': {description: A token pair.}
                    '401': {description: Wrong credentials.}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/auth/login:
                post:
                  responses:
                    '200': {description: A token pair.}
                    '429': {description: Too many attempts.}
              /api/v1/items:
                get:
                  responses:
                    '200': {description: The items.}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        for op in self.operations(project):
            codes = {str(c).upper() for c in op.responses}
            if "429" in codes or "4XX" in codes or not self._limited(project, op):
                continue
            where = op.path + ("responses",) if "responses" in op.node else op.path
            yield self.report(
                project, op, where, f"The operation {op.label} is rate-limited but does not document 429 Too Many Requests."
            )

    def _limited(self, project: Project, op: Operation) -> bool:
        opts = self.options
        paths = {(prefix + op.template).rstrip("/") or "/" for prefix in server_prefixes(op.doc.data)}
        if op.method.upper() in opts.auth_methods and not any(opts.auth_exclude_path_pattern.search(p) for p in paths):
            for kind, pattern in opts.auth_path_patterns.items():
                if kind in opts.auth_limits and any(pattern.search(p) for p in paths):
                    return True
        from archlint.collect.facts import Attr, Call

        route = self.route(project, op)
        if route is None or route.handler is None:
            return False
        handler = project.index.function(route.handler)
        if handler is None:
            return False
        limiters = set(self.options.limiter_types)
        for deco in handler.decorators:
            if isinstance(deco, Call) and isinstance(deco.func, Attr) and deco.func.attr in ("limit", "shared_limit"):
                base = project.index.evaluate(deco.func.base, route.ctx)
                if project.index.instance_of(base, limiters):
                    return True
        return False


# --------------------------------------------------------------------------- #
# S8
# --------------------------------------------------------------------------- #

_CARRIED = (
    "maxLength",
    "enum",
    "const",
    "format",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "contentMediaType",
    "contentEncoding",
)


class _BodyWalker:
    """Visits the schemas of request bodies (and query parameters) once per place they are written."""

    def __init__(self, rule: _DocumentRule, op: Operation, seen: set[tuple[JsonPath, str | None]]) -> None:
        self.rule = rule
        self.op = op
        self.doc = op.doc
        self.seen = seen
        self.found: list[tuple[JsonPath, str | None, dict[str, Any]]] = []  # (where, name, merged schema)

    def bodies(self) -> None:
        body, target = self.doc.deref(self.op.node.get("requestBody"))
        where = target if target is not None else self.op.path + ("requestBody",)
        if not isinstance(body, dict) or not isinstance(body.get("content"), dict):
            return
        for media, entry in body["content"].items():
            if isinstance(entry, dict) and "schema" in entry:
                schema_path = where + ("content", media, "schema")
                self.walk(entry["schema"], schema_path, None, schema_path, {}, 0)

    def walk(
        self, schema: Any, path: JsonPath, name: str | None, anchor: JsonPath, inherited: dict[str, Any], depth: int
    ) -> None:
        if depth > 24:
            return
        resolved, target = self.doc.deref(schema)
        if target is not None:
            if component_name(target) in self.rule.options.document_exempt_schemas:
                return
            path = anchor = target
        if not isinstance(resolved, dict) or resolved.get("readOnly") is True:
            return
        key = (path, name)
        if key in self.seen:
            return
        self.seen.add(key)
        merged = dict(inherited)
        merged.update({k: resolved[k] for k in _CARRIED if k in resolved})
        merged["type"] = resolved.get("type", inherited.get("type"))
        for branch in resolved.get("allOf") or []:
            branch_resolved, _ = self.doc.deref(branch)
            if isinstance(branch_resolved, dict):
                merged.update({k: branch_resolved[k] for k in _CARRIED if k in branch_resolved})
                if merged.get("type") is None and "type" in branch_resolved:
                    merged["type"] = branch_resolved["type"]
        branches = [(k, i, b) for k in ("anyOf", "oneOf") for i, b in enumerate(resolved.get(k) or [])]
        if not branches:
            self.found.append((anchor, name, merged))
        carried = {k: v for k, v in merged.items() if k in _CARRIED}
        for k, i, branch in branches:
            self.walk(branch, path + (k, i), name, anchor, carried, depth + 1)
        for i, branch in enumerate(resolved.get("allOf") or []):
            if self._has_structure(branch):
                self.walk(branch, path + ("allOf", i), name, anchor, {}, depth + 1)
        properties = resolved.get("properties")
        if isinstance(properties, dict):
            for prop, sub in properties.items():
                self.walk(sub, path + ("properties", prop), str(prop), path + ("properties", prop), {}, depth + 1)
        items = resolved.get("items")
        if isinstance(items, dict):
            self.walk(items, path + ("items",), name, anchor, {}, depth + 1)
        extra = resolved.get("additionalProperties")
        if isinstance(extra, dict):
            self.walk(extra, path + ("additionalProperties",), None, path + ("additionalProperties",), {}, depth + 1)

    def _has_structure(self, branch: Any) -> bool:
        resolved, _ = self.doc.deref(branch)
        return isinstance(resolved, dict) and any(k in resolved for k in ("properties", "items", "anyOf", "oneOf", "allOf"))


_UNBOUNDED_QUANTIFIER = re.compile(r"(?<!\\)[*+]|(?<!\\)\{\d*,\}")


def _bounded_pattern(pattern: Any) -> bool:
    """``^password$`` or ``^[a-z]{1,8}$``: anchored at both ends, no unbounded repetition."""
    if not isinstance(pattern, str) or not pattern.startswith("^") or not pattern.endswith("$") or pattern.endswith("\\$"):
        return False
    return _UNBOUNDED_QUANTIFIER.search(pattern) is None


def _types(schema: dict[str, Any]) -> set[str]:
    return schema_types({"type": schema.get("type")})


class UnboundedRequestString(_DocumentRule):
    """Reports a string in a request body of the OpenAPI document without `maxLength`.

    Strings bounded otherwise pass: `enum`, `const`, a format of S8's
    `document-bounded-string-formats` (date-time, email, uuid, binary, ...),
    `contentMediaType` (an uploaded file), or a `pattern` anchored at both
    ends without unbounded repetition (`^password$`). Read-only properties and S8's
    `document-exempt-schemas` (FastAPI's `HTTPValidationError` and
    `ValidationError`) are not held to it. A component schema used by several
    bodies is reported once, at its property.

    ## Why is this bad?
    An unbounded string is an unbounded allocation: a megabyte "name" reaches
    the database and the logs (S8, OWASP API4 unrestricted resource
    consumption).
    """

    id = "AL723"
    name = "UnboundedRequestString"
    standard = "S8"
    severity = Severity.WARNING
    security_severity = 5.3
    tags = ("openapi", "security")
    Options = S8DocumentOptions
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/items:
                post:
                  requestBody:
                    content:
                      application/json:
                        schema: {$ref: '#/components/schemas/ItemCreate'}
                  responses:
                    '201': {description: Created.}
            components:
              schemas:
                ItemCreate:
                  type: object
                  properties:
                    title:  # expect: AL723
                      type: string
                    created: {type: string, format: date-time}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/items:
                post:
                  requestBody:
                    content:
                      application/json:
                        schema: {$ref: '#/components/schemas/ItemCreate'}
                  responses:
                    '201': {description: Created.}
            components:
              schemas:
                ItemCreate:
                  type: object
                  properties:
                    title: {type: string, maxLength: 200}
                    note:
                      anyOf:
                        - {type: string, maxLength: 2000}
                        - {type: 'null'}
                    email: {type: string, format: email}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        seen: set[tuple[JsonPath, str | None]] = set()
        reported: set[tuple[str, JsonPath]] = set()
        formats = set(self.options.document_bounded_string_formats)
        for op in self.operations(project):
            walker = _BodyWalker(self, op, seen)
            walker.bodies()
            for where, name, schema in walker.found:
                if "string" not in _types(schema) or (op.doc.path, where) in reported:
                    continue
                if any(k in schema for k in ("maxLength", "enum", "const", "contentMediaType", "contentEncoding")):
                    continue
                if schema.get("format") in formats or _bounded_pattern(schema.get("pattern")):
                    continue
                reported.add((op.doc.path, where))
                what = f"The request-body string `{name}`" if name else "A request-body string"
                yield self.report(project, op, where, f"{what} of {op.label} has no maxLength.")


class UnboundedRequestInteger(_DocumentRule):
    """Reports a sizing integer without a maximum, or an offset without a minimum, in a request of the OpenAPI document.

    Request-body properties and query parameters are checked with S8's
    patterns, as for Pydantic fields: names matching
    `upper-bound-field-pattern` (limit, page_size, per_page, size, top, ...)
    need a `maximum` (or `exclusiveMaximum`), names matching
    `lower-bound-field-pattern` (skip, offset) a `minimum` (or
    `exclusiveMinimum`); an `enum` or `const` bounds them too. The finding sits
    at the schema that lacks the bound: the property, or the parameter's
    `schema`.

    ## Why is this bad?
    `?limit=1000000` turns one request into a full table scan and a huge
    response (S8, S22, OWASP API4).
    """

    id = "AL724"
    name = "UnboundedRequestInteger"
    standard = "S8"
    severity = Severity.WARNING
    security_severity = 5.3
    tags = ("openapi", "security")
    Options = S8DocumentOptions
    INVALID = [
        _doc(
            """
            paths:
              /api/v1/items:
                get:
                  parameters:
                    - name: limit
                      in: query
                      schema: {type: integer, minimum: 1}  # expect: AL724
                    - name: offset
                      in: query
                      schema: {type: integer, maximum: 10000}  # expect: AL724
                  responses:
                    '200': {description: The items.}
            """
        )
    ]
    VALID = [
        _doc(
            """
            paths:
              /api/v1/items:
                get:
                  parameters:
                    - name: limit
                      in: query
                      schema: {type: integer, minimum: 1, maximum: 100}
                    - name: offset
                      in: query
                      schema: {type: integer, minimum: 0}
                    - name: owner_id
                      in: query
                      schema: {type: integer}
                  responses:
                    '200': {description: The items.}
            """
        )
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        self._probes = project.health_probes
        seen: set[tuple[JsonPath, str | None]] = set()
        reported: set[tuple[str, JsonPath]] = set()
        upper, lower = self.options.upper_bound_field_pattern, self.options.lower_bound_field_pattern
        for op in self.operations(project):
            walker = _BodyWalker(self, op, seen)
            walker.bodies()
            candidates = [(where, name, schema, False) for where, name, schema in walker.found]
            for where, param in op.parameters():
                if param.get("in") == "query" and isinstance(param.get("name"), str):
                    schema_walker = _BodyWalker(self, op, set())
                    schema_path = where + ("schema",)
                    schema_walker.walk(param.get("schema"), schema_path, param["name"], schema_path, {}, 0)
                    candidates += [(w, param["name"], schema, True) for w, _n, schema in schema_walker.found]
            for where, name, schema, is_param in candidates:
                if not name or "integer" not in _types(schema) or "enum" in schema or "const" in schema:
                    continue
                if (op.doc.path, where) in reported:
                    continue
                what = "query parameter" if is_param else "request-body integer"
                if upper.search(name) and "maximum" not in schema and "exclusiveMaximum" not in schema:
                    message = f"The {what} `{name}` of {op.label} sizes a result but has no maximum."
                elif lower.search(name) and "minimum" not in schema and "exclusiveMinimum" not in schema:
                    message = f"The {what} `{name}` of {op.label} is an offset without a minimum."
                else:
                    continue
                reported.add((op.doc.path, where))
                yield self.report(project, op, where, message)
