"""Suppression comments: which findings they silence, which of them silenced nothing.

``# archlint: ignore[AL101] -- reason`` and ``# noqa: AL101`` silence the
named rules on the line they are on, or on any line of a decorated
definition's header (decorators through the ``def`` line) for findings in that
header. ``# archlint: ignore`` without codes silences every rule. A bare
``# noqa`` is Ruff's and flake8's: it silences archlint only when the
configuration says ``respect-bare-noqa = true``.

The filter records every directive (and code) that silenced a finding, so the
engine can audit the rest afterwards (AL002: unused or unknown suppressions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from archlint.collect.facts import FileFacts, Suppression
from archlint.model import Finding

#: Codes other tools own in a noqa list are theirs: only archlint-shaped codes (AL and digits) are audited.
OWN_CODE = re.compile(r"AL\d+")


@dataclass(slots=True)
class Suppressions:
    """Matches findings against suppression comments and remembers which directives were used."""

    respect_bare_noqa: bool = False
    #: (path, index of the directive in ``facts.suppression_comments``, code or None for a blanket directive).
    used: set[tuple[str, int, str | None]] = field(default_factory=set)
    _headers: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def honoured(self, directive: Suppression) -> bool:
        """Whether archlint obeys this directive at all (a bare ``# noqa`` only when configured)."""
        if directive.kind == "noqa" and directive.codes is None:
            return self.respect_bare_noqa
        return True

    def suppresses(self, finding: Finding, facts: FileFacts, *, explicit: bool = False) -> bool:
        """Whether a directive silences the finding (``explicit``: only directives that name its rule)."""
        if not facts.suppression_comments:
            return False
        lines = {finding.span.line, finding.span.end_line}
        for start, end in self._header_ranges(facts):
            if start <= finding.span.line <= end:
                lines.update(range(start, end + 1))
        silenced = False
        for i, directive in enumerate(facts.suppression_comments):
            if directive.line not in lines or not self.honoured(directive):
                continue
            if directive.codes is None:
                if explicit:
                    continue
                self.used.add((facts.path, i, None))
                silenced = True
            elif finding.rule_id in directive.codes:
                self.used.add((facts.path, i, finding.rule_id))
                silenced = True
        return silenced

    def _header_ranges(self, facts: FileFacts) -> list[tuple[int, int]]:
        ranges = self._headers.get(facts.path)
        if ranges is None:
            ranges = [f.header for f in facts.functions.values()] + [c.header for c in facts.classes.values()]
            self._headers[facts.path] = ranges
        return ranges


@dataclass(slots=True)
class Audit:
    """What AL002 needs after filtering: the directives used, the rules that ran, the rules that exist."""

    suppressions: Suppressions
    ran: frozenset[str]
    known: frozenset[str]
    #: Whether the run used the configured selection (no --select/--ignore on the command line): only then
    #: can a directive without codes be known to silence nothing.
    complete: bool = True

    def problems(self, facts: FileFacts, index: int) -> tuple[list[str], list[str]] | None:
        """(unused codes, unknown codes) of one directive; [] codes for an unused blanket one; None: fine."""
        directive = facts.suppression_comments[index]
        if not self.suppressions.honoured(directive) or directive.kind == "noqa" and directive.codes is None:
            return None
        if directive.codes is None:
            if not self.complete or (facts.path, index, None) in self.suppressions.used:
                return None
            return ([], [])
        unused: list[str] = []
        unknown: list[str] = []
        for code in directive.codes:
            if directive.kind == "noqa" and not OWN_CODE.fullmatch(code):
                continue  # another tool's code
            if code not in self.known:
                unknown.append(code)
            elif code in self.ran and (facts.path, index, code) not in self.suppressions.used:
                unused.append(code)
        return (unused, unknown) if unused or unknown else None
