"""Escaping shared by every output format: what a repository writes never reaches the reader raw.

File names and messages carry text from the repository (a path, a route, a
string from an OpenAPI document). Three things must not pass through:

- lone surrogates: a file name that is not UTF-8 (``caf\\xe9.py``, decoded by
  Python with ``surrogateescape``) or a ``"\\ud800"`` in a JSON document cannot
  be encoded as UTF-8 and would crash the output. They are written as the
  text ``\\xe9`` (an undecodable byte) or ``\\ud800`` (any other surrogate);
- control characters in line-based formats: a newline in a file name would
  start a new line (``::error file=README.md::`` on a line of its own is a
  GitHub workflow command), an ESC would drive the terminal. They are written
  as ``\\n``, ``\\x1b``...; so are DEL, the C1 controls, the Unicode line and
  paragraph separators and the bidirectional overrides ("Trojan source");
- a backslash is left alone: ``a\\b`` stays readable (paths use ``/``).

:func:`text` is for structured formats (JSON, SARIF: their encoder escapes
control characters itself); :func:`line` for one-line fields; :func:`lines`
for messages that may hold line breaks of their own.
"""

from __future__ import annotations

import re

#: C0 controls (tab and newline included), DEL, C1, U+2028/2029 and the bidi embedding/override/isolate controls.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    # surrogateescape maps an undecodable byte 0xNN to U+DCNN (0x80 <= NN <= 0xFF).
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def _control(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def text(value: str) -> str:
    """``value`` as valid Unicode: lone surrogates written as ``\\xNN`` / ``\\uXXXX``."""
    return _SURROGATE.sub(_surrogate, value) if _SURROGATE.search(value) else value


def line(value: str) -> str:
    """:func:`text`, and every control character escaped: safe on one line of output."""
    value = text(value)
    return _CONTROL.sub(_control, value) if _CONTROL.search(value) else value


def lines(value: str) -> str:
    """:func:`line` except that line breaks (``\\n``) are kept, for a format that lays them out itself."""
    value = text(value).replace("\r\n", "\n")
    return _CONTROL_BUT_NEWLINE.sub(_control, value) if _CONTROL_BUT_NEWLINE.search(value) else value


def controls(value: str, keep: str = "") -> str:
    """:func:`text`, and the control characters escaped except those in ``keep`` (a format encodes them)."""
    value = text(value)
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else _control(m), value)


def is_control(char: str) -> bool:
    """Whether a code-frame character must be shown escaped (tabs are expanded instead)."""
    return char != "\t" and bool(_CONTROL.match(char) or _SURROGATE.match(char))


def escaped_char(char: str) -> str:
    """How :func:`line` writes one character."""
    return line(char)
