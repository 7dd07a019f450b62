"""Password hashing: where a bcrypt cost is set, and which hashers come first.

S6's cost rule and the inventory's security measures both read this analysis
(``project.hashing``), so the cost the inventory shows is the cost the rule
judges. A *cost site* is one hashing configuration that hashes new passwords
with bcrypt: ``bcrypt.gensalt(...)``, passlib's bcrypt handler
(``bcrypt.using(rounds=...)``), a ``CryptContext`` whose default scheme is
bcrypt, a pwdlib ``BcryptHasher`` that is not a secondary hasher. Its cost
expressions are followed through constants and settings with the data-flow
analysis (``project.origins``); a site without a cost uses the libraries'
default, 12.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from archlint.analysis.origins import Origins, Traced, known
from archlint.collect.facts import Call, Expr, Seq
from archlint.model import Span
from archlint.names import PASSLIB_CONTEXT, PWDLIB_BCRYPT, PWDLIB_HASH
from archlint.values import Ctx, Instance, SeqValue, Unknown

if TYPE_CHECKING:
    from archlint.index import ProjectIndex

#: bcrypt's, passlib's and pwdlib's default cost.
BCRYPT_DEFAULT_COST = 12
BCRYPT_FAMILY = ("bcrypt", "bcrypt_sha256")
GENSALT = frozenset({"bcrypt.gensalt"})
PASSLIB_BCRYPT = frozenset(
    f"passlib.hash.{scheme}.{method}" for scheme in BCRYPT_FAMILY for method in ("using", "hash", "encrypt")
)
PWDLIB_ARGON2 = frozenset({"pwdlib.hashers.argon2.Argon2Hasher"})
PWDLIB_RECOMMENDED = frozenset({"pwdlib.PasswordHash.recommended", "pwdlib.password_hash.PasswordHash.recommended"})
ARGON2_SCHEMES = frozenset({"argon2"})


@dataclass(slots=True)
class CostSite:
    """One configuration that hashes new passwords with bcrypt."""

    path: str
    span: Span
    ctx: Ctx
    #: What the finding names: "bcrypt.gensalt", "this CryptContext"...
    where: str
    #: The expressions that set its cost (empty: the library's default).
    exprs: tuple[Expr, ...]
    #: Every number the cost expressions may hold, each with the site that defines it.
    values: tuple[Traced[float], ...] = ()
    #: Why no number is known, when a cost expression exists and none resolves.
    unknown: str = ""

    @property
    def explicit(self) -> bool:
        return bool(self.exprs)

    @property
    def cost(self) -> float | None:
        """The cost that counts: the strongest a condition may choose (``4 if TESTING else 12`` is 12)."""
        if not self.exprs:
            return BCRYPT_DEFAULT_COST
        numbers = [v.value for v in self.values if isinstance(v.value, (int, float))]
        return max(numbers) if numbers else None


@dataclass(slots=True)
class SchemeSite:
    """A passlib ``CryptContext`` and the scheme it hashes new passwords with (None: unresolved)."""

    path: str
    span: Span
    ctx: Ctx
    scheme: str | None


class PasswordHashing:
    """Every bcrypt cost site, passlib default scheme and argon2 hasher of the project (built once)."""

    def __init__(self, index: ProjectIndex, origins: Origins) -> None:
        self.index = index
        self.costs: list[CostSite] = []
        self.schemes: list[SchemeSite] = []
        #: Where argon2 hashes new passwords (a CryptContext's default scheme, a first pwdlib hasher).
        self.argon2: list[tuple[str, Span]] = []
        secondary = self._secondary_hashers()
        for facts, site, ctx in index.calls_to(*GENSALT):
            self._cost(facts.path, site.call, ctx, "bcrypt.gensalt", [site.call.arg(0, "rounds")], origins)
        for facts, site, ctx in index.calls_to(*PASSLIB_BCRYPT):
            self._cost(facts.path, site.call, ctx, "passlib's bcrypt handler", [site.call.kw("rounds")], origins)
        for facts, site, ctx in index.calls_to(*PASSLIB_CONTEXT):
            scheme = default_scheme(index, site.call, ctx)
            self.schemes.append(SchemeSite(facts.path, site.call.span, ctx, scheme))
            if scheme in BCRYPT_FAMILY:
                keys = (f"{scheme}__rounds", f"{scheme}__default_rounds", "all__rounds")
                self._cost(facts.path, site.call, ctx, "this CryptContext", [site.call.kw(k) for k in keys], origins)
            elif scheme in ARGON2_SCHEMES:
                self.argon2.append((facts.path, site.call.span))
        for facts, site, ctx in index.calls_to(*PWDLIB_BCRYPT):
            if (ctx.module, site.call.span) not in secondary:
                self._cost(facts.path, site.call, ctx, "pwdlib's BcryptHasher", [site.call.arg(0, "rounds")], origins)
        for facts, site, ctx in index.calls_to(*PWDLIB_ARGON2):
            if (ctx.module, site.call.span) not in secondary:
                self.argon2.append((facts.path, site.call.span))
        for facts, site, _ctx in index.calls_to(*PWDLIB_RECOMMENDED):
            self.argon2.append((facts.path, site.call.span))

    def _cost(self, path: str, call: Call, ctx: Ctx, where: str, exprs: list[Expr | None], origins: Origins) -> None:
        given = tuple(e for e in exprs if e is not None)
        values: list[Traced[float]] = []
        reasons: list[str] = []
        for expr in given:
            results = origins.number(expr, ctx)
            values += known(results)
            reasons += [r.reason for r in results if isinstance(r, Unknown)]
        unknown = "" if values or not given else (reasons[0] if reasons else "the cost is not a number")
        self.costs.append(CostSite(path, call.span, ctx, where, given, tuple(values), unknown))

    def _secondary_hashers(self) -> set[tuple[str, Span]]:
        """pwdlib hashers after the first in a PasswordHash: they only verify existing hashes."""
        index = self.index
        out: set[tuple[str, Span]] = set()
        for _facts, site, ctx in index.calls_to(*PWDLIB_HASH):
            hashers = site.call.arg(0, "hashers")
            if not isinstance(hashers, Seq):
                value = index.evaluate(hashers, ctx) if hashers is not None else None
                items = value.items if isinstance(value, SeqValue) else ()
                for item in items[1:]:
                    if isinstance(item, Instance):
                        out.add(item.key)
                continue
            for expr in hashers.items[1:]:
                value = index.evaluate(expr, ctx)
                if isinstance(value, Instance):
                    out.add(value.key)
        return out


def default_scheme(index: ProjectIndex, call: Call, ctx: Ctx) -> str | None:
    """The scheme a passlib CryptContext hashes new passwords with: ``default=`` or the first scheme."""
    default = call.kw("default")
    if default is not None:
        value = index.const(default, ctx)
        return value if isinstance(value, str) else None
    schemes = call.arg(0, "schemes")
    if schemes is None:
        return None
    value = index.const(schemes, ctx)
    if isinstance(value, str):
        value = [s.strip() for s in value.split(",")]
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return None
