"""``archlint lsp``: a language server over standard input and output (pygls).

Diagnostics come from the engine a run uses, through an
:class:`archlint.engine.Session` per project (the directory of the
configuration that applies, as for ``check``): the project is indexed once
when its first document opens; every open, change or save re-checks the
project's open documents (their unsaved texts stand in for the files on disk)
against that index, collecting only those texts. Checks run one at a time on
a worker thread; edits that arrive during a check are checked together after
it, so a fast typist gets the latest text checked, not every keystroke.

Code actions: a rule's fix (``--fix``) for a finding in the range, and a
suppression comment (``# archlint: ignore[CODE] -- TODO: reason``, as
``--add-noqa`` writes it). Hover: the rule's ``explain`` text on a finding, or
on a rule code in a comment.

Only ``archlint lsp`` imports this module (and pygls).
"""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument

from archlint import __version__
from archlint.checks import rule_by_id
from archlint.config import find_config, rule_settings
from archlint.discover import PYTHON_SUFFIXES
from archlint.engine import Overrides, RunResult, Session, UsageError
from archlint.model import Finding, RuleInfo, Severity, Span, utf16_to_index
from archlint.pack import ConfigError

logger = logging.getLogger("archlint.lsp")

SOURCE = "archlint"
#: Files whose change can change any finding: the session is built again.
CONFIG_FILES = ("pyproject.toml", "archlint.toml")
#: What the client is asked to watch: Python files, configurations, baselines (JSON).
WATCHED = ("**/*.py", "**/*.pyi", "**/pyproject.toml", "**/archlint.toml", "**/*.json")
_CODE = re.compile(r"\bAL\d{3}\b")
_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.NOTE: types.DiagnosticSeverity.Information,
}


@dataclass(slots=True)
class Checked:
    """The last check of one open document: what its diagnostics were computed from."""

    version: int | None
    text: str
    path: Path
    findings: list[Finding]
    result: RunResult
    session: Session


class ArchlintServer(LanguageServer):
    """The language server: open documents, sessions by project root, the last check of each document."""

    def __init__(self, overrides: Overrides) -> None:
        super().__init__(SOURCE, __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.overrides = overrides
        self.sessions: dict[Path, Session] = {}
        #: Projects whose session could not be built (configuration errors), with the message shown once.
        self.failed: dict[Path, str] = {}
        self.checked: dict[str, Checked] = {}
        self._dirty: set[str] = set()
        self._refresh: set[Path] = set()
        self._reset = False
        self._task: asyncio.Future[None] | None = None
        # One worker: sessions are only ever touched by one check at a time.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archlint-check")

    # ------------------------------------------------------------ scheduling
    def schedule(self, uris: set[str]) -> None:
        """Check these documents (and the other open documents of their projects) soon."""
        self._dirty |= uris
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._dirty or self._refresh or self._reset:
            dirty, self._dirty = self._dirty, set()
            refresh, self._refresh = self._refresh, set()
            reset, self._reset = self._reset, False
            snapshot = {uri: (doc.version, doc.source) for uri, doc in self.workspace.text_documents.items()}
            try:
                published, messages = await loop.run_in_executor(self._worker, self._check, dirty, refresh, reset, snapshot)
            except Exception as exc:  # a bug: say so, keep serving
                logger.exception("check failed")
                self._show(f"archlint: internal error: {type(exc).__name__}: {exc}")
                continue
            for message in messages:
                self._show(message)
            for uri, checked in published.items():
                if uri not in self.workspace.text_documents:
                    continue  # closed during the check
                self.checked[uri] = checked
                self.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(
                        uri=uri,
                        version=checked.version,
                        diagnostics=self._diagnostics(uri, checked),
                    )
                )

    def _show(self, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=message))

    # ------------------------------------------------------ the worker thread
    def _key(self, path: Path) -> Path:
        if self.overrides.config is not None:
            return self.overrides.config.resolve().parent
        return find_config(path)[1]

    def _session(self, key: Path, path: Path, messages: list[str]) -> Session | None:
        session = self.sessions.get(key)
        if session is not None or key in self.failed:
            return session
        try:
            session = Session(path, self.overrides)
        except (ConfigError, UsageError) as exc:
            self.failed[key] = f"archlint: error: {exc}"
            messages.append(self.failed[key])
            return None
        self.sessions[key] = session
        return session

    def _check(
        self, dirty: set[str], refresh: set[Path], reset: bool, snapshot: dict[str, tuple[int | None, str]]
    ) -> tuple[dict[str, Checked], list[str]]:
        messages: list[str] = []
        if reset:
            self.sessions.clear()
            self.failed.clear()
        for changed in refresh:
            for key, held in list(self.sessions.items()):
                if held.depends_on(changed):
                    del self.sessions[key]  # its configuration or baseline changed: built again
                elif held.owns(changed):
                    held.refresh(changed)
        paths = {uri: path for uri in snapshot if (path := _python_file(uri)) is not None}
        keys = {uri: self._key(path) for uri, path in paths.items()}
        wanted = {keys[uri] for uri in dirty if uri in keys}
        published: dict[str, Checked] = {}
        for key in wanted:
            members = [uri for uri in paths if keys[uri] == key]
            session = self._session(key, paths[members[0]], messages)
            if session is None:
                continue
            texts = {paths[uri]: snapshot[uri][1] for uri in members}
            result = session.check(texts)
            for uri in members:
                rel = session.path_of(paths[uri])
                findings = [f for f in result.report.findings if f.path == rel]
                published[uri] = Checked(snapshot[uri][0], snapshot[uri][1], paths[uri], findings, result, session)
            for crash in result.crashes:
                messages.append(f"archlint: internal error: rule {crash.rule_id} ({crash.name}) crashed: {crash.error}")
        return published, messages

    # ----------------------------------------------------------- conversions
    def _diagnostics(self, uri: str, checked: Checked) -> list[types.Diagnostic]:
        lines = checked.text.splitlines(keepends=True)
        infos = {info.id: info for info in checked.result.report.rules}
        out = []
        for finding in checked.findings:
            info = infos.get(finding.rule_id)
            related = [
                types.DiagnosticRelatedInformation(
                    location=types.Location(
                        uri=from_fs_path(str(checked.result.report.root / r.path)) or uri,
                        range=self._range(lines if r.path == finding.path else [], r.span),
                    ),
                    message=r.message,
                )
                for r in finding.related
            ]
            out.append(
                types.Diagnostic(
                    range=self._range(lines, finding.span),
                    message=finding.message,
                    severity=_SEVERITY[finding.severity],
                    code=finding.rule_id,
                    code_description=types.CodeDescription(href=info.help_uri) if info and info.help_uri else None,
                    source=SOURCE,
                    related_information=related or None,
                )
            )
        return out

    def _position(self, lines: list[str], line: int, column: int) -> types.Position:
        """A 1-based line and UTF-16 column (archlint's spans) in the client's position encoding."""
        if not lines:  # another file's span: UTF-16, the protocol's default
            return types.Position(line=max(line - 1, 0), character=max(column - 1, 0))
        if line > len(lines):
            return types.Position(line=len(lines), character=0)
        index = utf16_to_index(lines, line, column)
        return self.workspace.position_codec.position_to_client_units(lines, types.Position(line - 1, index))

    def _range(self, lines: list[str], span: Span) -> types.Range:
        return types.Range(
            start=self._position(lines, span.line, span.column), end=self._position(lines, span.end_line, span.end_column)
        )

    def _span_point(self, lines: list[str], position: types.Position) -> tuple[int, int]:
        """A client position as archlint's (1-based line, 1-based UTF-16 column)."""
        if position.line >= len(lines):
            return len(lines) + 1, 1
        server = self.workspace.position_codec.position_from_client_units(lines, position)
        before = lines[server.line][: server.character]
        return server.line + 1, len(before.encode("utf-16-le")) // 2 + 1

    def current(self, uri: str) -> Checked | None:
        """The last check of a document, if it is of the document's current text."""
        checked = self.checked.get(uri)
        doc: TextDocument | None = self.workspace.text_documents.get(uri)
        if checked is None or doc is None or doc.version != checked.version or doc.source != checked.text:
            return None
        return checked


def _touches(span: Span, start: tuple[int, int], end: tuple[int, int]) -> bool:
    """Whether the finding's span and the (start, end) range meet (a point range inside or at an end counts)."""
    return (span.line, span.column) <= end and start <= (span.end_line, span.end_column)


def _explain(info: RuleInfo) -> str:
    standard = f" ({info.standard})" if info.standard else ""
    return f"### {info.id} {info.name}{standard}\n\nSeverity: {info.severity.label}\n\n{info.help_markdown()}"


def _rule_info(checked: Checked, code: str) -> RuleInfo | None:
    """The rule's explain text with the project's options (also for a rule that did not run)."""
    found = next((info for info in checked.result.report.rules if info.id == code), None)
    if found is not None:
        return found
    cls = rule_by_id(code)
    if cls is None:
        return None
    _enabled, severity, options = rule_settings(checked.session.config, cls)
    return cls.info(options, severity)


def build_server(overrides: Overrides) -> ArchlintServer:
    """The server with its features registered."""
    server = ArchlintServer(overrides)

    @server.feature(types.INITIALIZED)
    def initialized(ls: ArchlintServer, params: types.InitializedParams) -> None:
        # Files changed outside the editor (a checkout, a formatter, a new module): watched where the client can.
        capabilities = ls.client_capabilities.workspace
        watched = capabilities.did_change_watched_files if capabilities is not None else None
        if watched is not None and watched.dynamic_registration:
            ls.client_register_capability(
                types.RegistrationParams(
                    registrations=[
                        types.Registration(
                            id="archlint-watched-files",
                            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                                watchers=[types.FileSystemWatcher(glob_pattern=pattern) for pattern in WATCHED]
                            ),
                        )
                    ]
                )
            )

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ArchlintServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule({params.text_document.uri})

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ArchlintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule({params.text_document.uri})

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: ArchlintServer, params: types.DidSaveTextDocumentParams) -> None:
        path = to_fs_path(params.text_document.uri)
        if path is not None:
            _changed_on_disk(ls, Path(path))
        ls.schedule({params.text_document.uri})

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ArchlintServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.checked.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        path = to_fs_path(uri)
        if path is not None:
            ls._refresh.add(Path(path))  # unsaved edits are gone: the file on disk is the project's again
        ls.schedule(set(ls.workspace.text_documents))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched(ls: ArchlintServer, params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            path = to_fs_path(change.uri)
            if path is not None:
                _changed_on_disk(ls, Path(path))
        ls.schedule(set(ls.workspace.text_documents))

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    def code_action(ls: ArchlintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        # The fixes load LibCST's codemods (half a second): only when an editor asks for an action.
        from archlint.autofix import attach_fixes, suppression_edit

        uri = params.text_document.uri
        checked = ls.current(uri)
        if checked is None:
            return []
        lines = checked.text.splitlines(keepends=True)
        start, end = ls._span_point(lines, params.range.start), ls._span_point(lines, params.range.end)
        findings = [f for f in checked.findings if _touches(f.span, start, end)]
        attach_fixes(checked.result, {checked.path.resolve(): checked.text}, findings)
        diagnostics = dict(zip(map(id, checked.findings), ls._diagnostics(uri, checked)))
        document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=checked.version)
        actions: list[types.CodeAction] = []
        suppressed: set[tuple[str, int]] = set()
        for finding in findings:
            diagnostic = diagnostics[id(finding)]
            if finding.fix is not None:
                actions.append(
                    types.CodeAction(
                        title=f"{finding.fix.message.rstrip('.')} ({finding.rule_id})"
                        + ("" if finding.fix.safe else " (unsafe)"),
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        is_preferred=finding.fix.safe,
                        edit=_workspace_edit(ls, document, lines, [(e.span, e.content) for e in finding.fix.edits]),
                    )
                )
            edit = suppression_edit(checked.text, finding)
            if edit is not None and (finding.rule_id, edit.span.line) not in suppressed:
                suppressed.add((finding.rule_id, edit.span.line))
                actions.append(
                    types.CodeAction(
                        title=f"Suppress {finding.rule_id} on this line",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        edit=_workspace_edit(ls, document, lines, [(edit.span, edit.content)]),
                    )
                )
        return actions

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: ArchlintServer, params: types.HoverParams) -> types.Hover | None:
        checked = ls.current(params.text_document.uri)
        if checked is None:
            return None
        lines = checked.text.splitlines(keepends=True)
        point = ls._span_point(lines, params.position)
        parts: list[str] = []
        shown: set[str] = set()
        for finding in checked.findings:
            if _touches(finding.span, point, point):
                info = _rule_info(checked, finding.rule_id)
                parts.append(f"**{finding.rule_id}**: {finding.message}")
                if info is not None and info.id not in shown:
                    shown.add(info.id)
                    parts.append(_explain(info))
        if not parts and point[0] <= len(lines):
            # A rule code under the cursor (a suppression comment): its explain text.
            line = lines[point[0] - 1]
            index = utf16_to_index(lines, point[0], point[1])
            for match in _CODE.finditer(line):
                if match.start() <= index <= match.end():
                    info = _rule_info(checked, match.group())
                    if info is not None:
                        parts.append(_explain(info))
        if not parts:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: ArchlintServer, params: None) -> None:
        ls._worker.shutdown(wait=False, cancel_futures=True)

    return server


def _python_file(uri: str) -> Path | None:
    """The path of a ``file:`` URI of Python source (the documents archlint checks)."""
    if not uri.startswith("file:"):
        return None
    path = to_fs_path(uri)
    return Path(path) if path is not None and path.endswith(PYTHON_SUFFIXES) else None


def _changed_on_disk(ls: ArchlintServer, path: Path) -> None:
    if path.name in CONFIG_FILES:
        ls._reset = True  # a configuration appeared, changed or went: every project is found and built again
    else:
        ls._refresh.add(path)  # a Python file is read again; a session's baseline rebuilds that session


def _workspace_edit(
    ls: ArchlintServer, document: types.OptionalVersionedTextDocumentIdentifier, lines: list[str], edits: list[tuple[Span, str]]
) -> types.WorkspaceEdit:
    """Edits of one document at the version they were computed for (a client refuses them on a newer text)."""
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=document,
                edits=[types.TextEdit(range=ls._range(lines, span), new_text=content) for span, content in edits],
            )
        ]
    )


def serve(overrides: Overrides) -> None:
    """Serve over standard input and output until the client says exit."""
    logging.basicConfig(level=logging.WARNING, format="archlint lsp: %(levelname)s: %(message)s")
    build_server(overrides).start_io()
