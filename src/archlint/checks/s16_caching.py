"""S16 — Redis cache-aside with a TTL, and invalidation on writes."""

from __future__ import annotations

import dataclasses
import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archlint import globs
from archlint.checks.base import Project, Rule
from archlint.collect.facts import Assign, Attr, BinOp, Call, CallSite, Expr, FString, Lit, Name, Scope, Starred, Subscript
from archlint.index import ProjectIndex
from archlint.model import Finding, Severity
from archlint.names import DEPENDS
from archlint.pack import option
from archlint.values import ClassRef, Const, Ctx, FuncRef, Instance, ParamValue, Symbol, TypeForm, Value, fqn_of

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_MAX_DEPTH = 4
#: redis-py's ``set(name, value, ex, px, nx, xx, keepttl, get, exat, pxat)``: positions that carry a TTL.
_SET_TTL_POSITIONS = (2, 3, 6, 8, 9)
_TYPING_WRAPPERS = ("typing.", "collections.abc.", "builtins.")


@dataclass(frozen=True)
class S16Options:
    redis_client_types: tuple[str, ...] = option("Dotted names of Redis client classes (redis-py, redis.asyncio).")
    redis_client_factories: tuple[str, ...] = option("Dotted names of functions and class methods that return a Redis client.")
    ttl_required_methods: tuple[str, ...] = option("Client methods that store a key and need a TTL.")
    ttl_keywords: tuple[str, ...] = option("Keyword arguments that give a stored key a TTL (or keep its TTL).")
    expire_methods: tuple[str, ...] = option("Client methods that set a key's TTL afterwards.")
    cache_read_methods: tuple[str, ...] = option("Client methods a cache-aside read path reads with.")
    cache_write_methods: tuple[str, ...] = option("Client methods a cache-aside read path fills the cache with.")
    invalidation_methods: tuple[str, ...] = option("Client methods that delete, expire or overwrite keys (invalidation).")
    flush_methods: tuple[str, ...] = option("Client methods that drop every key.")
    key_pattern_methods: tuple[str, ...] = option("Client methods that select keys by a glob pattern (`scan_iter(match=...)`).")
    primary_store_classes: tuple[str, ...] = option(
        "Class names (fnmatch globs) of repositories that keep entities in Redis as their primary store "
        "(`*Repository`): an entity they save there is not a cache write (AL540)."
    )
    primary_store_modules: tuple[str, ...] = option(
        "Globs over the project-relative path of modules that do the same (`**/repositories/**`)."
    )
    entity_serializers: tuple[str, ...] = option(
        "Method or function names that serialize an entity (`model_dump_json`, `dumps`): a stored value built by "
        "one of them in a primary store is the entity itself."
    )


# --------------------------------------------------------------------------- #
# Redis clients
# --------------------------------------------------------------------------- #


class Clients:
    """Whether an expression is a redis-py / redis.asyncio client (or a pipeline of one)."""

    def __init__(self, project: Project, opts: S16Options) -> None:
        self.project = project
        self.index = project.index
        self.types = frozenset(opts.redis_client_types)
        self.factories = frozenset(opts.redis_client_factories)
        self._state_names: set[str] | None = None

    def is_client(self, expr: Expr | None, ctx: Ctx, depth: int = 0) -> bool:
        if expr is None or depth > _MAX_DEPTH:
            return False
        if isinstance(expr, Call) and isinstance(expr.func, Attr) and expr.func.attr == "pipeline":
            return self.is_client(expr.func.base, ctx, depth + 1)
        value = self.index.evaluate(expr, ctx)
        if self.value(value, depth):
            return True
        if isinstance(expr, Name):
            scope = self.index.scope(ctx)
            for item in scope.withs if scope is not None else ():
                if isinstance(item.target, Name) and item.target.id == expr.id:
                    return self.is_client(item.context, ctx, depth + 1)
            bound = _binding(self.index, expr, ctx)
            if bound is not None and bound.value is not None and isinstance(bound.value, Call):
                if self.is_client(bound.value, ctx, depth + 1):
                    return True
            if bound is not None and bound.annotation is not None:
                return self.annotation(bound.annotation, ctx)
            return False
        if isinstance(expr, Attr):
            if isinstance(expr.base, Attr) and expr.base.attr == "state":
                return expr.attr in self.state_names()
            return self._class_annotation(expr, ctx)
        if isinstance(expr, Call):
            callee = self.index.evaluate(expr.func, ctx)
            if isinstance(callee, FuncRef):
                fn = self.index.function(callee)
                if fn is not None and fn.returns_annotation is not None:
                    return self.annotation(fn.returns_annotation, Ctx(callee.module, fn.parent or ""))
        return False

    def value(self, value: Value, depth: int = 0) -> bool:
        if isinstance(value, Instance):
            fqn = fqn_of(value.type)
            return fqn in self.factories or fqn in self.types or self.index.is_subclass(value.type, self.types)
        if isinstance(value, ParamValue):
            if value.annotation is not None:
                return self.annotation(value.annotation, Ctx(value.module, self._param_scope(value)))
            return self._depends_default(value, depth)
        return False

    def _param_scope(self, param: ParamValue) -> str:
        fn = self.index.function(FuncRef(param.module, param.function))
        return (fn.parent or "") if fn is not None else ""

    def _depends_default(self, param: ParamValue, depth: int) -> bool:
        fn = self.index.function(FuncRef(param.module, param.function))
        p = fn.param(param.name) if fn is not None else None
        if p is None or not isinstance(p.default, Call) or fn is None:
            return False
        ctx = Ctx(param.module, fn.parent or "")
        if self.index.fqn(p.default.func, ctx) not in DEPENDS or not p.default.args:
            return False
        dep = self.index.evaluate(p.default.args[0], ctx)
        if isinstance(dep, FuncRef):
            dep_fn = self.index.function(dep)
            if dep_fn is not None and dep_fn.returns_annotation is not None:
                return self.annotation(dep_fn.returns_annotation, Ctx(dep.module, dep_fn.parent or ""))
        return False

    def annotation(self, expr: Expr, ctx: Ctx, depth: int = 0) -> bool:
        if depth > _MAX_DEPTH:
            return False
        if isinstance(expr, BinOp) and expr.op == "BitOr":
            return self.annotation(expr.left, ctx, depth + 1) or self.annotation(expr.right, ctx, depth + 1)
        if isinstance(expr, Subscript):
            origin = self.index.fqn(expr.base, ctx) or ""
            if origin.startswith(_TYPING_WRAPPERS):
                return any(self.annotation(item, ctx, depth + 1) for item in expr.items)
            return False
        return self._type_value(self.index.evaluate(expr, ctx), depth)

    def _type_value(self, value: Value, depth: int) -> bool:
        if isinstance(value, (Symbol, ClassRef)):
            return fqn_of(value) in self.types or self.index.is_subclass(value, self.types)
        if isinstance(value, TypeForm) and depth <= _MAX_DEPTH:
            origin = fqn_of(value.origin) or ""
            if origin.startswith(_TYPING_WRAPPERS):
                return any(self._type_value(arg, depth + 1) for arg in value.args)
        return False

    def _class_annotation(self, expr: Attr, ctx: Ctx) -> bool:
        """``self.redis`` declared on the class as ``redis: Redis`` (dataclasses, pydantic models)."""
        base = self.index.evaluate(expr.base, ctx)
        if not isinstance(base, ParamValue):
            return False
        fn = self.index.function(FuncRef(base.module, base.function))
        if fn is None or fn.class_qualname is None or not fn.params or fn.params[0].name != base.name:
            return False
        for klass in self.index.mro(ClassRef(base.module, fn.class_qualname)):
            if not isinstance(klass, ClassRef):
                continue
            fact = self.index.class_fact(klass)
            if fact is None:
                continue
            for assign in fact.assigns:
                if assign.annotation is not None and any(isinstance(t, Name) and t.id == expr.attr for t in assign.targets):
                    return self.annotation(assign.annotation, Ctx(klass.module, fact.parent or ""))
        return False

    def state_names(self) -> set[str]:
        """``app.state.<name>`` attributes that are assigned a Redis client somewhere."""
        if self._state_names is None:
            self._state_names = set()
            for reg in self.project.apps.registrations:
                if reg.kind == "state" and reg.target is not None and self.is_client(reg.target, reg.ctx, _MAX_DEPTH - 1):
                    self._state_names.add(reg.name)
        return self._state_names


def _binding(index: ProjectIndex, name: Name, ctx: Ctx) -> Assign | None:
    """The single assignment of a name in its scope or the module, else None."""
    facts = index.file_of(ctx)
    if facts is None:
        return None
    for qualname in (ctx.scope, ""):
        scope = facts.scope(qualname)
        if scope is None:
            continue
        bound = [a for a in scope.assigns if any(isinstance(t, Name) and t.id == name.id for t in a.targets)]
        if len(bound) == 1 and bound[0].op is None:
            return bound[0]
        if bound:
            return None
    return None


# --------------------------------------------------------------------------- #
# Keys
# --------------------------------------------------------------------------- #


def shape(expr: Expr | None) -> object:
    """An expression without its spans, to compare two key expressions."""
    if expr is None:
        return None
    if isinstance(expr, tuple):
        return tuple(shape(e) for e in expr)
    return _fields_shape(expr)


def _fields_shape(node: DataclassInstance) -> tuple[object, ...]:
    out: list[object] = [type(node).__name__]
    for f in dataclasses.fields(node):
        if f.name == "span":
            continue
        value = getattr(node, f.name)
        if isinstance(value, tuple):
            out.append(tuple(_shape_item(v) for v in value))
        else:
            out.append(_shape_item(value))
    return tuple(out)


def _shape_item(value: object) -> object:
    if isinstance(value, tuple):
        return tuple(_shape_item(v) for v in value)
    if hasattr(value, "span") and dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields_shape(value)
    return value


def same_key(index: ProjectIndex, a: Expr | None, b: Expr | None, ctx: Ctx) -> bool:
    if a is None or b is None:
        return False
    if shape(a) == shape(b):
        return True
    va, vb = index.evaluate(a, ctx), index.evaluate(b, ctx)
    return isinstance(va, Const) and va == vb


def key_prefix(index: ProjectIndex, expr: Expr | None, ctx: Ctx, depth: int = 0) -> str | None:
    """The constant leading text of a key expression (``f"items:{id}"`` -> ``items:``), or None."""
    if expr is None or depth > _MAX_DEPTH:
        return None
    value = index.evaluate(expr, ctx)
    if isinstance(value, Const):
        return value.value if isinstance(value.value, str) and value.value else None
    text: str | None = None
    if isinstance(expr, FString):
        parts = []
        for part in expr.parts:
            part_value = index.evaluate(part, ctx)
            if not isinstance(part_value, Const):
                break
            parts.append(str(part_value.value))
        text = "".join(parts)
    elif isinstance(expr, BinOp) and expr.op == "Add":
        text = key_prefix(index, expr.left, ctx, depth + 1)
    elif isinstance(expr, Call):
        func = expr.func
        if isinstance(func, Attr) and func.attr == "format" and isinstance(func.base, Lit) and isinstance(func.base.value, str):
            text = func.base.value.split("{", 1)[0]
        else:
            callee = index.evaluate(func, ctx)
            if isinstance(callee, FuncRef):
                fn = index.function(callee)
                if fn is not None:
                    prefixes = [key_prefix(index, r, Ctx(callee.module, fn.qualname), depth + 1) for r in fn.returns]
                    given = [p for p in prefixes if p]
                    if prefixes and len(given) == len(prefixes):
                        text = os.path.commonprefix(given)
    elif isinstance(expr, Name):
        bound = _binding(index, expr, ctx)
        if bound is not None and bound.value is not None:
            text = key_prefix(index, bound.value, ctx, depth + 1)
    return text or None


def glob_prefix(pattern: str) -> str | None:
    for i, char in enumerate(pattern):
        if char in "*?[":
            return pattern[:i] or None
    return pattern or None


# --------------------------------------------------------------------------- #
# Redis calls
# --------------------------------------------------------------------------- #


@dataclass(slots=True)
class RedisCall:
    file: str
    site: CallSite
    ctx: Ctx
    scope: Scope
    method: str

    @property
    def call(self) -> Call:
        return self.site.call

    @property
    def key(self) -> Expr | None:
        return self.call.arg(0, "name")


def redis_calls(index: ProjectIndex, clients: Clients, methods: Iterable[str]) -> Iterator[RedisCall]:
    wanted = frozenset(methods)
    for facts, scope, ctx in index.iter_scopes():
        for site in scope.calls:
            func = site.call.func
            if isinstance(func, Attr) and func.attr in wanted and clients.is_client(func.base, ctx):
                yield RedisCall(facts.path, site, ctx, scope, func.attr)


# --------------------------------------------------------------------------- #
# Rules
# --------------------------------------------------------------------------- #


class RedisWriteWithoutTtl(Rule[S16Options]):
    """Reports a Redis `set`/`hset`/`mset` that stores a key without a TTL.

    A repository that keeps entities in Redis as their primary store (the
    pack's `primary-store-classes` and `primary-store-modules`, no "cache" in
    its name) saving an entity (`cart.model_dump_json()`, `json.dumps(...)`:
    `entity-serializers`) is not writing a cache and is left alone; its
    markers, locks and flags still need a TTL.

    A write is fine with `ex`/`px`/`exat`/`pxat`/`keepttl` (or aioredis's
    `expire=`), or when the same function calls `expire` on the same key (a
    pipeline counts); `setex` is fine. Clients are recognised by what they
    resolve to — `redis.Redis(...)`, `redis.asyncio.Redis.from_url(...)`, a
    parameter or attribute annotated `Redis`, `app.state.redis` assigned a
    client, a pipeline of one — never by the receiver's name.

    ## Why is this bad?
    A cache entry without a TTL lives until something deletes it: stale data
    is served forever after a missed invalidation, and Redis fills up until
    it evicts (or refuses) writes.
    """

    id = "AL540"
    name = "RedisWriteWithoutTtl"
    standard = "S16"
    severity = Severity.ERROR
    tags = ("caching",)
    Options = S16Options
    INVALID = [
        """
        import redis.asyncio as redis

        client = redis.from_url("redis://localhost:6379/0")


        async def cache_user(user_id: int, payload: str) -> None:
            await client.set(f"user:{user_id}", payload)  # expect: AL540
        """
    ]
    VALID = [
        """
        import redis.asyncio as redis

        client = redis.from_url("redis://localhost:6379/0")


        async def cache_user(user_id: int, payload: str) -> None:
            key = f"user:{user_id}"
            await client.set(key, payload)
            await client.expire(key, 300)


        async def cache_profile(user_id: int, payload: str) -> None:
            await client.set(f"profile:{user_id}", payload, ex=300)
            await client.setex(f"avatar:{user_id}", 300, payload)
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        opts = self.options
        clients = Clients(project, opts)
        for rc in redis_calls(index, clients, opts.ttl_required_methods):
            call = rc.call
            if any(k is None for k, _ in call.kwargs) or any(isinstance(a, Starred) for a in call.args):
                continue  # **options / *args: cannot tell
            if self._has_ttl(index, rc):
                continue
            if self._expired_later(index, clients, rc):
                continue
            if self._primary_store(index, rc):
                continue
            how = (
                "pass `ex=` (seconds) or call `expire` on the key"
                if rc.method == "set"
                else "call `expire` on the key in the same function"
            )
            yield self.finding(
                rc.file,
                call.span,
                f"This Redis `{rc.method}` stores a key without a TTL: {how}, so stale entries expire.",
            )

    def _primary_store(self, index: ProjectIndex, rc: RedisCall) -> bool:
        """A repository saving an entity where Redis is the entity's home, not a cache of it."""
        opts = self.options
        scope = rc.ctx.scope
        owner = scope.split(".<locals>", 1)[0].rsplit(".", 1)[0] if "." in scope else ""
        names = [n for n in (owner, scope) if n]
        if any("cache" in n.lower() for n in names) or "cache" in rc.file.lower():
            return False
        in_store = any(fnmatch.fnmatchcase(owner, g) for g in opts.primary_store_classes) or globs.match_any(
            opts.primary_store_modules, getattr(index.file_of(rc.ctx), "rel", rc.file)
        )
        if not in_store:
            return False
        call = rc.call
        values = [v for k, v in call.kwargs if k in ("value", "mapping")] + list(call.args[1:3])
        for value in values:
            if isinstance(value, Call):
                func = value.func
                name = func.attr if isinstance(func, Attr) else func.id if isinstance(func, Name) else ""
                if name in opts.entity_serializers:
                    return True
        return False

    def _has_ttl(self, index: ProjectIndex, rc: RedisCall) -> bool:
        call = rc.call
        for key, value in call.kwargs:
            if key in self.options.ttl_keywords and not _falsy(index, value, rc.ctx):
                return True
        if rc.method == "set":
            return any(i < len(call.args) and not _falsy(index, call.args[i], rc.ctx) for i in _SET_TTL_POSITIONS)
        return False

    def _expired_later(self, index: ProjectIndex, clients: Clients, rc: RedisCall) -> bool:
        # mset stores many keys: any expire in the same function is taken as covering them.
        keys = None if rc.method in ("mset", "msetnx") else [rc.key]
        for site in rc.scope.calls:
            func = site.call.func
            if not (isinstance(func, Attr) and func.attr in self.options.expire_methods):
                continue
            if not clients.is_client(func.base, rc.ctx):
                continue
            if keys is None or any(same_key(index, k, site.call.arg(0, "name"), rc.ctx) for k in keys):
                return True
        return False


def _falsy(index: ProjectIndex, expr: Expr, ctx: Ctx) -> bool:
    value = index.evaluate(expr, ctx)
    return isinstance(value, Const) and value.value in (None, False, 0)


class CacheNeverInvalidated(Rule[S16Options]):
    """Notes a cache-aside read path whose key prefix is never deleted or overwritten anywhere in the project.

    A read path is a function that reads a Redis key and fills the same key
    on a miss. Its key prefix (`items:` of `f"items:{item_id}"`, through
    helpers such as `cache_key(item_id)`) must be deleted, expired or written
    by some other code path; a deletion whose key cannot be resolved, or a
    flush, counts for every prefix.

    ## Why is this bad?
    Without invalidation on writes, every update is served stale until the
    TTL runs out; users see their own changes disappear.
    """

    id = "AL541"
    name = "CacheNeverInvalidated"
    standard = "S16"
    severity = Severity.NOTE
    precision = "medium"
    tags = ("caching",)
    Options = S16Options
    INVALID = [
        """
        import json

        from redis import Redis

        cache = Redis(host="localhost")


        def get_item(item_id: int, db) -> dict:
            cached = cache.get(f"items:{item_id}")  # expect: AL541
            if cached is not None:
                return json.loads(cached)
            item = db.load(item_id)
            cache.set(f"items:{item_id}", json.dumps(item), ex=60)
            return item
        """
    ]
    VALID = [
        """
        import json

        from redis import Redis

        cache = Redis(host="localhost")


        def get_item(item_id: int, db) -> dict:
            cached = cache.get(f"items:{item_id}")
            if cached is not None:
                return json.loads(cached)
            item = db.load(item_id)
            cache.set(f"items:{item_id}", json.dumps(item), ex=60)
            return item


        def update_item(item_id: int, data: dict, db) -> None:
            db.save(item_id, data)
            cache.delete(f"items:{item_id}")
        """
    ]

    def check(self, project: Project) -> Iterable[Finding]:
        index = project.index
        opts = self.options
        clients = Clients(project, opts)
        reads = list(self._read_paths(index, clients))
        if not reads:
            return
        fills = {(r.file, w.call.span) for r, w, _ in reads}
        invalidated: list[str] = []
        if next(redis_calls(index, clients, opts.flush_methods), None) is not None:
            return
        methods = frozenset((*opts.invalidation_methods, *opts.key_pattern_methods))
        for facts, scope, ctx in index.iter_scopes():
            for site in scope.calls:
                func = site.call.func
                if not isinstance(func, Attr) or func.attr not in methods or (facts.path, site.call.span) in fills:
                    continue
                rc = RedisCall(facts.path, site, ctx, scope, func.attr)
                prefixes = self._prefixes(index, rc)
                if prefixes is None:
                    if clients.is_client(func.base, ctx):
                        return  # a deletion of keys archlint cannot resolve: it may invalidate anything
                    continue
                # A wrapper (``self.cache.delete(f"items:{id}")``) counts when its key is known.
                invalidated.extend(prefixes)
        for read, _fill, prefix in reads:
            if any(p.startswith(prefix) or prefix.startswith(p) for p in invalidated):
                continue
            yield self.finding(
                read.file,
                read.call.span,
                f"This cache-aside read of `{prefix}…` keys is never invalidated: nothing in the project deletes "
                "or overwrites that prefix, so updates are served stale until the TTL expires.",
            )

    def _read_paths(self, index: ProjectIndex, clients: Clients) -> Iterator[tuple[RedisCall, RedisCall, str]]:
        opts = self.options
        reads = list(redis_calls(index, clients, opts.cache_read_methods))
        by_scope: dict[tuple[str, str], list[RedisCall]] = {}
        for rc in redis_calls(index, clients, opts.cache_write_methods):
            by_scope.setdefault((rc.ctx.module, rc.ctx.scope), []).append(rc)
        for read in reads:
            for fill in by_scope.get((read.ctx.module, read.ctx.scope), ()):
                if same_key(index, read.key, fill.key, read.ctx):
                    prefix = key_prefix(index, read.key, read.ctx)
                    if prefix:
                        yield read, fill, prefix
                    break

    def _prefixes(self, index: ProjectIndex, rc: RedisCall) -> list[str] | None:
        call = rc.call
        if rc.method in self.options.key_pattern_methods:
            pattern = call.kw("match") if rc.method != "keys" else call.arg(0, "pattern")
            if pattern is None:
                return None
            value = index.evaluate(pattern, rc.ctx)
            if isinstance(value, Const) and isinstance(value.value, str):
                prefix = glob_prefix(value.value)
                return [prefix] if prefix else None
            found = key_prefix(index, pattern, rc.ctx)
            return [found] if found else None
        keys = list(call.args) if rc.method in ("delete", "unlink") else [rc.key]
        out: list[str] = []
        for key in keys:
            prefixes = _arg_prefixes(index, key, rc.ctx)
            if prefixes is None:
                return None
            out.extend(prefixes)
        return out


def _arg_prefixes(index: ProjectIndex, key: Expr | None, ctx: Ctx, depth: int = 0) -> list[str] | None:
    """The prefixes a key argument can have; a parameter is followed to the callers' arguments.

    None: some key cannot be resolved. A helper nobody calls contributes nothing.
    """
    if key is None or isinstance(key, Starred) or depth > 2:
        return None
    prefix = key_prefix(index, key, ctx)
    if prefix is not None:
        return [prefix]
    value = index.evaluate(key, ctx) if isinstance(key, Name) else None
    if not isinstance(value, ParamValue):
        return None
    fn = index.function(FuncRef(value.module, value.function))
    if fn is None:
        return None
    position = next((i for i, p in enumerate(fn.params) if p.name == value.name), None)
    if position is None:
        return None
    if fn.class_qualname is not None:
        position -= 1
    out: list[str] = []
    for _facts, site, caller in index.calls_to(f"{value.module}.{value.function}"):
        arg = site.call.arg(position, value.name) if position >= 0 else site.call.kw(value.name)
        found = _arg_prefixes(index, arg, caller, depth + 1)
        if found is None:
            return None
        out.extend(found)
    return out
