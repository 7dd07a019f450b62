"""`archlint inventory` and `archlint check` read the same analyses, so they cannot disagree.

On every fixture project that issues tokens, the token lifetimes the
inventory reports over the pack's limits are exactly the lifetimes S5
reports (AL401 access, AL402 refresh): no lifetime the rules ignore (a
recovery or reset token) shows up in the inventory, and none the inventory
lists over the limit goes unreported.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from archlint.checks import rule_by_id
from archlint.checks.s05_jwt import AccessTokenLifetimeTooLong
from archlint.config import rule_settings
from archlint.engine import Overrides, load_project, run
from archlint.inventory import build_inventory
from archlint.model import Finding

#: Many small projects of their own (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("own_facts_cache")

FIXTURES = Path(__file__).parent / "fixtures"
_TOKEN_LIBRARIES = re.compile(r"\bjwt\b|JWTStrategy|AuthJWT|authx|fastapi_jwt|generate_jwt")


def _token_projects() -> list[Path]:
    """Fixture project roots whose code issues or decodes tokens (the others trivially agree: nothing on either side)."""
    roots = sorted(p.parent for p in FIXTURES.rglob("pyproject.toml"))
    return [r for r in roots if any(_TOKEN_LIBRARIES.search(f.read_text(encoding="utf-8")) for f in r.rglob("*.py"))]


#: The rules the inventory must agree with (S5's lifetimes, S6's cost and schemes, S13's auth limits, S14's wildcard).
_AGREEMENT_RULES = ["AL401", "AL402", "AL430", "AL431", "AL506", "AL507", "AL520"]


@cache
def _inventory_and_findings(root: Path) -> tuple[dict, object, tuple[Finding, ...]]:
    """The inventory and the agreement rules' findings, from one indexed project: both read its analyses."""
    project, config = load_project(root)
    report = build_inventory(project, config=config)
    findings: list[Finding] = []
    for rule_id in _AGREEMENT_RULES:
        rule = rule_by_id(rule_id)
        assert rule is not None
        enabled, severity, options = rule_settings(config, rule)
        if enabled:
            findings += rule(options, severity).check(project)
    return report, config, tuple(findings)


_UNITS = {"d": 86400, "h": 3600, "min": 60, "s": 1}
_JWT_LINE = re.compile(
    r"^JWT(?: \([^)]*\))? with (?P<access>.*?) access(?: tokens \(no refresh token issued\)| / (?P<refresh>.*) refresh)$"
)
_FINDING = re.compile(r"lifetime is (?P<count>[0-9.]+) (?P<unit>day|hour|minute|second)s?,")


def _seconds(text: str) -> set[float]:
    """``15min or 2d or unverifiable`` -> {900, 172800} (the inventory's durations)."""
    out: set[float] = set()
    for part in text.split(" or "):
        match = re.fullmatch(r"([0-9.]+)(d|h|min|s)", part.strip())
        if match:
            out.add(float(match.group(1)) * _UNITS[match.group(2)])
    return out


def _inventory_lifetimes(root: Path) -> tuple[set[float], set[float]]:
    report = _inventory_and_findings(root)[0]
    lines = [m for m in report["security_measures"] if m.startswith("JWT")]
    assert len(lines) <= 1, lines
    if not lines:
        return set(), set()
    match = _JWT_LINE.match(lines[0])
    assert match is not None, lines[0]
    return _seconds(match.group("access")), _seconds(match.group("refresh") or "")


def _finding_seconds(message: str) -> float:
    match = _FINDING.search(message)
    assert match is not None, message
    unit = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}[match.group("unit")]
    return float(match.group("count")) * unit


@pytest.mark.parametrize("root", _token_projects(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_inventory_lifetimes_over_the_limit_are_exactly_the_s5_findings(root: Path):
    access, refresh = _inventory_lifetimes(root)
    _report, config, findings = _inventory_and_findings(root)
    _enabled, _severity, options = rule_settings(config, AccessTokenLifetimeTooLong)
    found: dict[str, set[float]] = {"AL401": set(), "AL402": set()}
    for finding in findings:
        if finding.rule_id in found:
            found[finding.rule_id].add(_finding_seconds(finding.message))
    assert {s for s in access if s > options.access_token_max_minutes * 60} == found["AL401"]
    assert {s for s in refresh if s > options.refresh_token_max_days * 86400} == found["AL402"]


def test_there_are_token_fixtures_on_both_sides_of_the_limits():
    """The agreement above is not vacuous: some fixture has an access lifetime over the limit, one a refresh lifetime."""
    over = {"access": False, "refresh": False}
    for root in _token_projects():
        access, refresh = _inventory_lifetimes(root)
        over["access"] |= any(s > 15 * 60 for s in access)
        over["refresh"] |= any(s > 7 * 86400 for s in refresh)
    assert over == {"access": True, "refresh": True}


def test_a_recovery_token_is_neither_checked_nor_inventoried(tmp_path):
    """The issue's example: a 48-hour recovery token, which S5 rightly ignores, is not a "2d access" token."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "probe"\n', encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "security.py").write_text(
        "from datetime import datetime, timedelta, timezone\n"
        "import jwt\n"
        "\n"
        "def create_access_token(sub: str) -> str:\n"
        "    exp = datetime.now(timezone.utc) + timedelta(minutes=10)\n"
        '    return jwt.encode({"sub": sub, "exp": exp}, KEY, algorithm="HS256")\n'
        "\n"
        "def create_recovery_token(email: str) -> str:\n"
        "    exp = datetime.now(timezone.utc) + timedelta(hours=48)\n"
        '    return jwt.encode({"sub": email, "exp": exp}, KEY, algorithm="HS256")\n',
        encoding="utf-8",
    )
    access, refresh = _inventory_lifetimes(tmp_path)
    assert (access, refresh) == ({600.0}, set())
    assert [f.rule_id for f in run([tmp_path], Overrides(select=["AL401", "AL402"])).report.findings] == []


def test_a_lifetime_passed_to_an_optional_delta_parameter_is_judged(tmp_path):
    """Each branch's lifetime is read, and the 15-minute fallback no caller reaches is left out (issue 23 item 17)."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "probe"\n', encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "security.py").write_text(
        "from datetime import datetime, timedelta, timezone\n"
        "import jwt\n"
        "\n"
        "def create_access_token(sub: str, expires_delta: timedelta | None = None) -> str:\n"
        "    if expires_delta:\n"
        "        expire = datetime.now(timezone.utc) + expires_delta\n"
        "    else:\n"
        "        expire = datetime.now(timezone.utc) + timedelta(minutes=15)\n"
        '    return jwt.encode({"sub": sub, "exp": expire}, KEY, algorithm="HS256")\n'
        "\n"
        "def login() -> str:\n"
        '    return create_access_token("u", expires_delta=timedelta(days=8))\n',
        encoding="utf-8",
    )
    assert _inventory_lifetimes(tmp_path)[0] == {8 * 86400.0}
    assert [f.rule_id for f in run([tmp_path], Overrides(select=["AL401"])).report.findings] == ["AL401"]


# --------------------------------------------------------------------------- #
# Hashing, CORS and rate limits: every fixture project, one check run and one inventory each
# --------------------------------------------------------------------------- #

_SECURITY_LIBRARIES = re.compile(r"\bbcrypt\b|passlib|pwdlib|CORSMiddleware|slowapi|\bjwt\b")
_SECURITY_RULES = ["AL430", "AL431", "AL506", "AL507", "AL520"]
_COST_LINE = re.compile(r"^bcrypt password hashing \(cost=(?P<costs>[0-9., ]+)\)$")
_SCHEME_LINE = re.compile(r"^passlib password hashing with (?P<scheme>\S+)$")
_COST_FINDING = re.compile(r"^This bcrypt cost is (?P<cost>[0-9.]+),")
_SCHEME_FINDING = re.compile(r"^This CryptContext hashes new passwords with `(?P<scheme>[^`]+)`")
_AUTH_FINDING = re.compile(r"^The (?P<kind>\w+) endpoint `(?P<fn>[^`]+)` (?P<what>has no rate limit|is limited by|is limited to)")


def _security_projects() -> list[Path]:
    roots = sorted(p.parent for p in FIXTURES.rglob("pyproject.toml"))
    return [
        r
        for r in roots
        if any(_SECURITY_LIBRARIES.search(f.read_text(encoding="utf-8", errors="replace")) for f in r.rglob("*.py"))
    ]


def _inventory_violations(root: Path) -> dict[str, set]:
    """What the inventory shows beyond the pack's limits, read from its output as a user reads it."""
    from archlint.analysis.rate_limits import looser, parse_limit, rate
    from archlint.checks.s06_password_hashing import BcryptCostTooLow
    from archlint.checks.s13_rate_limiting import LooseAuthEndpointRateLimit

    report, config, _findings = _inventory_and_findings(root)
    s6 = rule_settings(config, BcryptCostTooLow)[2]
    s13 = rule_settings(config, LooseAuthEndpointRateLimit)[2]
    out: dict[str, set] = {rule: set() for rule in _SECURITY_RULES}
    for i, line in enumerate(report["security_measures"]):
        if (m := _COST_LINE.match(line)) is not None:
            out["AL430"] |= {float(c) for c in m.group("costs").split(", ") if float(c) < s6.bcrypt_min_cost}
        elif (m := _SCHEME_LINE.match(line)) is not None and m.group("scheme") in s6.weak_schemes:
            out["AL431"].add(m.group("scheme"))
        elif (
            line.startswith("CORS")
            and ("every origin" in line or "accepts any origin" in line)
            and line.endswith("(credentials allowed)")
        ):
            out["AL520"].add((i, line))  # one line per CORS configuration
    for e in report["endpoints_created"]:
        auth = e.get("auth_endpoint")
        if auth is None:
            continue
        name = e["handler"].rsplit(".", 1)[-1]
        if auth["rate_limit"] is None:
            out["AL506"].add((auth["kind"], name))
            continue
        parsed = parse_limit(auth["rate_limit"])
        required = parse_limit(s13.auth_limits[auth["kind"]])
        if not isinstance(parsed, str) and not isinstance(required, str) and looser(rate(parsed), rate(required)):
            out["AL507"].add((auth["kind"], name))
    return out


def _check_violations(root: Path) -> tuple[dict[str, set], int]:
    found: dict[str, set] = {rule: set() for rule in _SECURITY_RULES}
    cors = 0
    for f in _inventory_and_findings(root)[2]:
        if f.rule_id == "AL430":
            found["AL430"].add(float(_COST_FINDING.match(f.message).group("cost")))
        elif f.rule_id == "AL431" and (m := _SCHEME_FINDING.match(f.message)) is not None:
            found["AL431"].add(m.group("scheme"))
        elif f.rule_id in ("AL506", "AL507"):
            m = _AUTH_FINDING.match(f.message)
            assert m is not None, f.message
            found[f.rule_id].add((m.group("kind"), m.group("fn")))
        elif f.rule_id == "AL520":
            cors += 1
    return found, cors


@pytest.mark.parametrize("root", _security_projects(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_inventory_hashing_cors_and_rate_limits_are_exactly_the_findings(root: Path):
    """A bcrypt cost under the pack's, a weak passlib scheme, any origin with credentials, an auth endpoint
    without its own SlowAPI limit or with a looser one: the inventory shows it iff `check` reports it."""
    shown = _inventory_violations(root)
    found, cors = _check_violations(root)
    assert len(shown.pop("AL520")) == cors
    found.pop("AL520")
    assert shown == found


def test_there_are_hashing_cors_and_rate_limit_fixtures_on_both_sides():
    """The agreement above is not vacuous: fixtures show each kind of violation, and compliant ones."""
    seen = {rule: False for rule in _SECURITY_RULES}
    for root in _security_projects():
        for rule, values in _inventory_violations(root).items():
            seen[rule] |= bool(values)
    assert seen == {rule: True for rule in _SECURITY_RULES}
