"""S6 — bcrypt cost 12: password hashing strength and storage.

bcrypt, passlib and pwdlib all default to cost 12, so a call without a cost is
compliant; only an explicit cost below the pack's is reported, at the value a
user would change (the literal, constant or settings default). A stronger
scheme first (argon2 in passlib's ``schemes`` or pwdlib's hashers) makes the
bcrypt settings behind it irrelevant: they only verify old hashes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archlint.analysis.origins import Origins, identifiers, iter_exprs, labels_of, snake
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Attr, Call, ClassFact, Expr, FunctionFact, Lit, Name, Scope
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity, Span
from archlint.names import (
    COLUMN,
    DECLARATIVE_BASES,
    DECLARATIVE_FUNCTIONS,
    MAPPED,
    MAPPED_COLUMN,
    RELATIONSHIP,
    SQLMODEL,
    SQLMODEL_RELATIONSHIP,
    TABLE,
)
from archlint.pack import option
from archlint.values import ClassRef, Ctx, Instance

if TYPE_CHECKING:
    import libcst as cst

    from archlint.fixes import FixSource, Rewrite


@dataclass(frozen=True)
class S6Options:
    bcrypt_min_cost: int = option("Lowest accepted bcrypt cost (log2 rounds).")
    weak_schemes: tuple[str, ...] = option("passlib schemes that must not hash new passwords (the default, i.e. first, scheme).")
    weak_hash_functions: tuple[str, ...] = option("Fast hash functions (dotted names) that must not hash passwords.")
    password_names: re.Pattern[str] = option("Searched in snake_case names: a password.")
    not_password_names: re.Pattern[str] = option(
        "Searched in the same names: something else (a token, reset code, key, e-mail, file...)."
    )
    hashed_names: re.Pattern[str] = option("Searched in the same names: already a hash, not a plain password.")
    plain_password_columns: re.Pattern[str] = option(
        "Full match on a model column's snake_case name: a column that stores a password, not its hash."
    )
    model_base_classes: tuple[str, ...] = option(
        "Dotted names of ORM base classes whose subclasses are stored models (besides SQLAlchemy's"
        " declarative bases and SQLModel tables)."
    )


class _S6Rule(Rule[S6Options]):
    standard = "S6"
    Options = S6Options
    tags = ("security", "auth")


def _origins(project: Project) -> Origins:
    return project.origins


# --------------------------------------------------------------------------- #
# Cost
# --------------------------------------------------------------------------- #


class BcryptCostTooLow(_S6Rule):
    """Reports a bcrypt cost below the pack's (12), at the value that sets it.

    `bcrypt.gensalt(rounds=N)` (also `from bcrypt import gensalt`), passlib's
    `CryptContext(..., bcrypt__rounds=N)` when bcrypt is its default scheme and
    `bcrypt.using(rounds=N)`, pwdlib's `BcryptHasher(rounds=N)` unless a
    stronger hasher comes first. The cost is followed through constants and
    settings defaults; a cost chosen by a condition (`4 if TESTING else 12`)
    is reported only when every branch is too low. Calls without a cost use
    the libraries' default, 12.

    ## Why is this bad?
    Each step of the cost halves the work an attacker needs per guess against
    a leaked hash table; below 12, commodity GPUs test weak passwords quickly.
    """

    id = "AL430"
    name = "BcryptCostTooLow"
    severity = Severity.ERROR
    security_severity = 5.9
    INVALID = [
        {
            "app/core/config.py": """
                from pydantic_settings import BaseSettings

                class Settings(BaseSettings):
                    BCRYPT_ROUNDS: int = 10  # expect: AL430

                settings = Settings()
            """,
            "app/core/security.py": """
                from passlib.context import CryptContext

                from app.core.config import settings

                pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto", bcrypt__rounds=settings.BCRYPT_ROUNDS)
            """,
        }
    ]
    VALID = [
        """
        import bcrypt
        from passlib.context import CryptContext

        pwd_context = CryptContext(schemes=["argon2", "bcrypt"], deprecated="auto", bcrypt__rounds=10)

        def hash_password(password: str) -> bytes:
            return bcrypt.hashpw(password.encode(), bcrypt.gensalt())
        """
    ]

    fix_message = "Raise the bcrypt cost to the pack's minimum."
    #: Per fix: safe for a literal passed to the hashing call (old hashes still verify, bcrypt stores the cost in
    #: each), unsafe for a constant or settings default that other code may read.
    FIXES = [
        (
            """
            import bcrypt
            from passlib.context import CryptContext

            pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto", bcrypt__rounds=10)  # low for speed

            def hash_password(password: str) -> bytes:
                return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=8))
            """,
            """
            import bcrypt
            from passlib.context import CryptContext

            pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto", bcrypt__rounds=12)  # low for speed

            def hash_password(password: str) -> bytes:
                return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12))
            """,
            "safe",
        ),
        (
            {
                "app/core/config.py": """
                    from pydantic_settings import BaseSettings

                    class Settings(BaseSettings):
                        BCRYPT_ROUNDS: int = 10

                    settings = Settings()
                """,
                "app/core/security.py": """
                    from passlib.context import CryptContext

                    from app.core.config import settings

                    pwd_context = CryptContext(schemes=["bcrypt"], bcrypt__rounds=settings.BCRYPT_ROUNDS)
                """,
            },
            {
                "app/core/config.py": """
                    from pydantic_settings import BaseSettings

                    class Settings(BaseSettings):
                        BCRYPT_ROUNDS: int = 12

                    settings = Settings()
                """,
                "app/core/security.py": """
                    from passlib.context import CryptContext

                    from app.core.config import settings

                    pwd_context = CryptContext(schemes=["bcrypt"], bcrypt__rounds=settings.BCRYPT_ROUNDS)
                """,
            },
            "unsafe",
        ),
    ]

    def fix(self, finding: Finding, source: FixSource) -> cst.Module | Rewrite | None:
        from archlint.fixes import security as security_fixes  # LibCST: only when fixing

        return security_fixes.raise_cost(source, finding.span, self.options.bcrypt_min_cost)

    def check(self, project: Project) -> Iterable[Finding]:
        seen: set[tuple[str, Span]] = set()
        minimum = self.options.bcrypt_min_cost
        for site in project.hashing.costs:
            cost = site.cost
            if not site.explicit or cost is None or cost >= minimum:
                continue  # the default (12), an unresolved cost, or a condition that may choose a strong one
            for value in site.values:
                key = (value.site.path, value.site.span)
                if key in seen:
                    continue
                seen.add(key)
                yield self.finding(
                    value.site.path,
                    value.site.span,
                    f"This bcrypt cost is {value.value:g}, below the pack's {minimum}: it sets the cost of {site.where}.",
                )


# --------------------------------------------------------------------------- #
# Weak hashes
# --------------------------------------------------------------------------- #


class WeakPasswordHash(_S6Rule):
    """Reports passwords hashed with a fast hash (md5, sha1, sha256... from `hashlib`) or a weak passlib scheme.

    A `hashlib` call hashes a password when the data it hashes names one
    (`hashlib.sha256(user.password.encode())`, also through a local variable
    or `h.update(...)`), when its result is stored under a password name
    (`hashed_password = ...`), or when it is the body of a password function
    (`def hash_password(raw)`). Tokens, reset codes, e-mails and files hashed
    with sha256 are fine, and so is a pre-hash whose result goes into bcrypt
    (the 72-byte limit, as passlib's `bcrypt_sha256` does). A passlib
    `CryptContext` whose default scheme is in
    the pack's weak list (`md5_crypt`, `sha256_crypt`, `plaintext`...) is
    reported too.

    ## Why is this bad?
    Fast hashes are built to be computed billions of times a second: a leaked
    table of sha256 password hashes falls to a GPU in hours. Password hashes
    must be slow and salted (bcrypt cost 12, or argon2).
    """

    id = "AL431"
    name = "WeakPasswordHash"
    severity = Severity.ERROR
    security_severity = 7.5
    INVALID = [
        """
        import hashlib

        def get_password_hash(password: str) -> str:
            return hashlib.sha256(password.encode()).hexdigest()  # expect: AL431
        """
    ]
    VALID = [
        """
        import hashlib
        import secrets

        def new_refresh_token() -> tuple[str, str]:
            token = secrets.token_urlsafe(48)
            return token, hashlib.sha256(token.encode()).hexdigest()
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        origins = _origins(project)
        weak = set(self.options.weak_hash_functions)
        for facts, site, ctx in index.calls_to(*weak):
            call = site.call
            fqn = index.fqn(call.func, ctx) or ""
            data = call.arg(1, "data") if fqn.endswith(".new") else call.arg(0, "data") or call.kw("string")
            if data is None:
                continue  # an empty hash object: its update() calls are checked below
            if self._for_password(project, origins, call, data, ctx):
                yield self.finding(facts.path, call.span, self._message(fqn))
        for facts, scope, ctx in index.iter_scopes():
            for site in scope.calls:
                func = site.call.func
                if not (isinstance(func, Attr) and func.attr == "update" and site.call.args):
                    continue
                base = index.evaluate(func.base, ctx)
                if isinstance(base, Instance) and base.type_fqn in weak:
                    if self._for_password(project, origins, site.call, site.call.args[0], ctx, labels_from=base):
                        yield self.finding(facts.path, site.call.span, self._message(base.type_fqn))
        for context in project.hashing.schemes:
            scheme = context.scheme
            if scheme in self.options.weak_schemes:
                yield self.finding(
                    context.path,
                    context.span,
                    f"This CryptContext hashes new passwords with `{scheme}`, a weak scheme: put bcrypt or argon2 first.",
                )
        weak_handlers = {f"passlib.hash.{s}.{m}" for s in self.options.weak_schemes for m in ("hash", "encrypt", "using")}
        for facts, site, ctx in index.calls_to(*weak_handlers):
            fqn = index.fqn(site.call.func, ctx) or ""
            scheme = fqn.split(".")[2]
            yield self.finding(
                facts.path, site.call.span, f"Passwords hashed with passlib's `{scheme}`, a weak scheme: use bcrypt or argon2."
            )

    @staticmethod
    def _message(fqn: str) -> str:
        return f"A password is hashed with `{fqn}`, a fast hash: use bcrypt (cost 12) or argon2."

    def _for_password(
        self,
        project: Project,
        origins: Origins,
        call: Call,
        data: Expr | None,
        ctx: Ctx,
        labels_from: Instance | None = None,
    ) -> bool:
        opts = self.options
        scope = project.index.scope(ctx)
        if scope is not None and _feeds_slow_hash(project.index, scope, call, ctx):
            return False  # pre-hashing for bcrypt's 72-byte limit, like passlib's bcrypt_sha256
        names = self._data_names(origins, data, ctx)
        if any(self._plain(n) for n in names):
            return True
        if any(opts.not_password_names.search(snake(n)) for n in names):
            return False
        if scope is None:
            return False
        target = labels_from.call if labels_from is not None else call
        labels = labels_of(scope, target.span)
        if any(self._passwordish(n) for n in labels):
            return True
        if any(opts.not_password_names.search(snake(n)) for n in labels):
            return False
        return isinstance(scope, FunctionFact) and self._passwordish(scope.name)

    def _data_names(self, origins: Origins, data: Expr | None, ctx: Ctx) -> list[str]:
        """Identifiers in the hashed data, local variables followed one step."""
        names = identifiers(data)
        for node in list(_names(data)):
            for binding in origins.name_bindings(node.id, ctx, node.span) or []:
                if binding.kind == "value" and binding.ctx == ctx:
                    names.extend(identifiers(binding.expr))
        return names

    def _plain(self, name: str) -> bool:
        text = snake(name)
        opts = self.options
        return (
            bool(opts.password_names.search(text))
            and not opts.not_password_names.search(text)
            and not opts.hashed_names.search(text)
        )

    def _passwordish(self, name: str) -> bool:
        text = snake(name)
        return bool(self.options.password_names.search(text)) and not self.options.not_password_names.search(text)


#: Slow password hashes and KDFs: a fast hash whose result goes into one is a pre-hash.
_SLOW_HASHES = {"bcrypt.hashpw", "bcrypt.checkpw", "bcrypt.kdf", "hashlib.pbkdf2_hmac", "hashlib.scrypt"}
_SLOW_METHODS = {"hash", "verify", "verify_and_update", "hashpw", "checkpw"}


def _feeds_slow_hash(index: ProjectIndex, scope: Scope, call: Call, ctx: Ctx) -> bool:
    """Whether a hash's result is passed (directly or through local variables) to bcrypt/passlib/pwdlib."""
    carriers: set[str] = set()
    spans = [call.span]
    for _ in range(3):
        for assign in scope.assigns:
            if assign.value is not None and any(assign.value.span.contains(s) for s in spans):
                for target in assign.targets:
                    if isinstance(target, Name) and target.id not in carriers:
                        carriers.add(target.id)
                        spans.append(assign.value.span)
    for site in scope.calls:
        other = site.call
        if other.span == call.span:
            continue
        func = other.func
        slow = (isinstance(func, Attr) and func.attr in _SLOW_METHODS) or index.fqn(func, ctx) in _SLOW_HASHES
        if not slow:
            continue
        arguments = [*other.args, *(v for _, v in other.kwargs)]
        if any(a.span.contains(call.span) for a in arguments):
            return True
        if carriers & {n for a in arguments for n in identifiers(a)}:
            return True
    return False


def _names(expr: Expr | None) -> Iterator[Name]:
    for node in iter_exprs(expr):
        if isinstance(node, Name):
            yield node


# --------------------------------------------------------------------------- #
# Columns
# --------------------------------------------------------------------------- #


class PlaintextPasswordColumn(_S6Rule):
    """Reports a stored model column named like a password (`password`) rather than a hash (`hashed_password`).

    Stored models are SQLAlchemy declarative classes (a `DeclarativeBase`,
    `declarative_base()` or a `__tablename__`), SQLModel classes with
    `table=True`, `Table(...)` columns and the pack's other ORM bases
    (Tortoise, Beanie, ...), with the fields they inherit from mixins and
    SQLModel bases. Request and response schemas (plain pydantic models)
    may carry a `password` field: they are not checked. An explicit
    column name (`mapped_column("password_hash", ...)`) is the one that counts.

    ## Why is this bad?
    A column called `password` invites storing the password itself, and makes
    every reader (and every leak) unsure whether it holds plain text; the
    seed's own model has `password_hash`.
    """

    id = "AL432"
    name = "PlaintextPasswordColumn"
    severity = Severity.ERROR
    security_severity = 7.5
    INVALID = [
        """
        from sqlalchemy import String
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class User(Base):
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(primary_key=True)
            password: Mapped[str] = mapped_column(String(128))  # expect: AL432
        """
    ]
    VALID = [
        """
        from pydantic import BaseModel
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class User(Base):
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(primary_key=True)
            hashed_password: Mapped[str]

        class UserCreate(BaseModel):
            password: str
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        pattern = self.options.plain_password_columns
        seen: set[tuple[str, Span]] = set()
        for facts, scope, _ctx in index.iter_scopes():
            ref = ClassRef(facts.module, scope.qualname)
            if not isinstance(scope, ClassFact) or not self._is_model(project, ref, scope):
                continue
            # The model's own columns and those it inherits from mixins and SQLModel bases.
            for klass in index.mro(ref):
                if not isinstance(klass, ClassRef):
                    continue
                fact = index.class_fact(klass)
                if fact is None:
                    continue
                owner = index.modules[klass.module]
                kctx = Ctx(klass.module, fact.qualname)
                for assign in fact.assigns:
                    for target in assign.targets:
                        if not isinstance(target, Name) or (owner.path, assign.span) in seen:
                            continue
                        column = self._column_name(project, target.id, assign.value, kctx)
                        if column is None or not pattern.fullmatch(snake(column)):
                            continue
                        seen.add((owner.path, assign.span))
                        yield self.finding(owner.path, assign.span, self._message(column))
        for facts, site, ctx in index.calls_to(*TABLE):
            for arg in site.call.args[2:]:
                if isinstance(arg, Call) and index.fqn(arg.func, ctx) in COLUMN | MAPPED_COLUMN | MAPPED and arg.args:
                    name = index.const(arg.args[0], ctx)
                    if isinstance(name, str) and pattern.fullmatch(snake(name)):
                        yield self.finding(facts.path, arg.span, self._message(name))

    @staticmethod
    def _message(column: str) -> str:
        return f"The stored column `{column}` is named like a password: store only a hash, in a column named for one (`hashed_password`)."

    def _column_name(self, project: Project, attr: str, value: Expr | None, ctx: Ctx) -> str | None:
        index = project.index
        if attr.startswith("__"):
            return None
        if isinstance(value, Call):
            fqn = index.fqn(value.func, ctx)
            if fqn in RELATIONSHIP | SQLMODEL_RELATIONSHIP:
                return None
            if (
                fqn in COLUMN | MAPPED_COLUMN | MAPPED
                and value.args
                and isinstance(value.args[0], Lit)
                and isinstance(value.args[0].value, str)
            ):
                return value.args[0].value
        return attr

    def _is_model(self, project: Project, ref: ClassRef, fact: ClassFact) -> bool:
        index = project.index
        mro = index.mro(ref)
        bases = {getattr(k, "fqn", None) for k in mro}
        if bases & SQLMODEL:
            table = fact.keyword("table")
            return table is not None and index.const(table, Ctx(ref.module, fact.parent or "")) is True
        if bases & (DECLARATIVE_BASES | set(self.options.model_base_classes)):
            return True
        for klass in mro:
            if not isinstance(klass, ClassRef):
                continue
            kfact = index.class_fact(klass)
            if kfact is None:
                continue
            if any(isinstance(t, Name) and t.id in ("__tablename__", "__table__") for a in kfact.assigns for t in a.targets):
                return True
            kctx = Ctx(klass.module, kfact.parent or "")
            for base in kfact.bases:
                value = index.evaluate(base, kctx)
                if isinstance(value, Instance) and value.type_fqn in DECLARATIVE_FUNCTIONS:
                    return True
        return False
