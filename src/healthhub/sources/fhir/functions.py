"""FHIRPath functions and operators, compiled to SQL.

Each function is a small compiler from (target value, arguments) to a ``Value``. The set
covers the SQL-on-FHIR v2 required and shareable subset (where, exists, empty, first,
extension, ofType, join, getResourceKey, getReferenceKey, lowBoundary, highBoundary,
boolean logic, comparison, arithmetic, indexers) plus common string and collection
functions. Anything else is rejected with a message naming the function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from healthhub.sources.fhir import fhirpath as fp
from healthhub.sources.fhir.boundaries import boundary
from healthhub.sources.fhir.expressions import ANY, CHOICE, NUMERIC, Scope, Value

if TYPE_CHECKING:
    from healthhub.sources.fhir.expressions import ExpressionCompiler

Handler = Callable[["ExpressionCompiler", Value, tuple[fp.Node, ...], Scope], Value]
_FUNCTIONS: dict[str, tuple[Handler, int, int]] = {}

# Reference forms getReferenceKey understands: relative or absolute 'Type/id' (optionally
# versioned) and 'urn:uuid:' (bundle-local; the type cannot be checked from the string).
_REFERENCE = r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]{1,64})(?:/_history/[A-Za-z0-9\-\.]{1,64})?$"


def function(name: str, min_args: int = 0, max_args: int = 0) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _FUNCTIONS[name] = (handler, min_args, max_args)
        return handler

    return register


def call_function(c: ExpressionCompiler, node: fp.Call, scope: Scope) -> Value:
    entry = _FUNCTIONS.get(node.name)
    if entry is None:
        raise c.error(f"function '{node.name}()' is not supported")
    handler, lo, hi = entry
    if not lo <= len(node.args) <= hi:
        expected = str(lo) if lo == hi else f"{lo} to {hi}"
        raise c.error(f"{node.name}() takes {expected} argument(s), got {len(node.args)}")
    target = scope.this if node.target is None else c.compile(node.target, scope)
    return handler(c, target, node.args, scope)


def _bool(sql: str) -> Value:
    return Value(sql, "boolean", False)


def _item_scope(scope: Scope, item: Value, index: str | None) -> Scope:
    return replace(scope, this=item, index_var=index)


def _criteria(
    c: ExpressionCompiler, item: Value, arg: fp.Node, scope: Scope, index: str | None
) -> str:
    value = c.single(c.compile(arg, _item_scope(scope, item, index)), "criteria")
    if value.type not in ("boolean", ANY):
        raise c.error(f"criteria must be boolean, found {value.type}")
    return value.sql


def _where(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    v = c.resolved(v)
    if not v.many:
        crit = _criteria(c, v, args[0], scope, "0")
        whole = c.d.whole_row(v.sql) if v is scope.resource else v.sql
        return replace(v, sql=f"(CASE WHEN {crit} THEN {whole} END)")
    x, i = c.var(), c.var()
    index = c.d.row_index(i)
    crit = _criteria(c, replace(v, sql=x, many=False), args[0], scope, index)
    d = c.d
    # filter with an index: transform to (item, keep) then filter, to stay portable
    if not fp.mentions(args[0], fp.IndexVar):
        return replace(v, sql=d.filter(v.sql, x, f"coalesce({crit}, FALSE)"))
    pairs = d.transform(v.sql, [x, i], d.struct([("v", x), ("k", f"coalesce({crit}, FALSE)")]))
    p = c.var()
    kept = d.filter(pairs, p, d.field(p, "k"))
    return replace(v, sql=d.transform(kept, [p], d.field(p, "v")))


function("where", 1, 1)(_where)


@function("exists", 0, 1)
def _exists(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    if args:
        v = _where(c, v, args, scope)
    if v.type == CHOICE:
        assert v.node is not None and v.choice_base is not None
        variants = c.model.choice(v.node.fhir_type, v.choice_base) or ()
        parts = [_exists(c, c.of_type(v, t), (), scope).sql for t in variants]
        return _bool("(" + " OR ".join(parts) + ")")
    if v.many:
        return _bool(f"({c.d.size(v.sql)} > 0)")
    return _bool(f"({v.sql} IS NOT NULL)")


@function("empty")
def _empty(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    return _bool(f"(NOT {_exists(c, v, (), scope).sql})")


@function("hasValue")
def _has_value(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    v = c.single(c.resolved(v))
    return _bool(f"({v.sql} IS NOT NULL)")


@function("all", 1, 1)
def _all(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    v = c.resolved(v)
    x = c.var()
    crit = _criteria(c, replace(v, sql=x, many=False), args[0], scope, None)
    lst = c.as_list(v)
    failing = c.d.filter(lst, x, f"NOT coalesce({crit}, FALSE)")
    return _bool(f"({c.d.size(failing)} = 0)")


@function("first")
def _first(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    v = c.resolved(v)
    return replace(v, sql=c.d.element(v.sql, "1"), many=False) if v.many else v


@function("last")
def _last(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    v = c.resolved(v)
    if not v.many:
        return v
    return replace(v, sql=c.d.element(v.sql, c.d.size(v.sql)), many=False)


def _slice(c: ExpressionCompiler, v: Value, start: str, length: str) -> Value:
    lst = c.as_list(c.resolved(v))
    return replace(v, sql=c.d.slice(lst, start, length), many=True)


@function("tail")
def _tail(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    return _slice(c, v, "2", f"greatest({c.d.size(c.as_list(v))} - 1, 0)")


@function("skip", 1, 1)
def _skip(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    n = c.single(c.compile(args[0], scope)).sql
    size = c.d.size(c.as_list(v))
    return _slice(c, v, f"greatest({n}, 0) + 1", f"greatest({size} - greatest({n}, 0), 0)")


@function("take", 1, 1)
def _take(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    n = c.single(c.compile(args[0], scope)).sql
    return _slice(c, v, "1", f"greatest({n}, 0)")


@function("single")
def _single(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    return c.single(c.resolved(v), "single()")


@function("count")
def _count(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    v = c.resolved(v)
    if v.many:
        return Value(c.d.size(v.sql), "integer", False)
    return Value(f"(CASE WHEN {v.sql} IS NULL THEN 0 ELSE 1 END)", "integer", False)


@function("distinct")
def _distinct(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    v = c.resolved(v)
    return replace(v, sql=c.d.distinct(v.sql)) if v.many else v


@function("not")
def _not(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    v = c.single(c.resolved(v))
    return _bool(f"(NOT {v.sql})")


@function("select", 1, 1)
def _select(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    return c.each(c.resolved(v), lambda item: c.compile(args[0], _item_scope(scope, item, None)))


@function("iif", 2, 3)
def _iif(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    cond = c.single(c.compile(args[0], scope))
    yes = c.single(c.resolved(c.compile(args[1], scope)))
    no = (
        c.single(c.resolved(c.compile(args[2], scope)))
        if len(args) > 2
        else Value("NULL", yes.type, False)
    )
    return replace(yes, sql=f"(CASE WHEN {cond.sql} THEN {yes.sql} ELSE {no.sql} END)")


@function("ofType", 1, 1)
def _of_type(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    return c.of_type(v, _type_name(c, args[0]))


@function("as", 1, 1)
def _as(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    return c.of_type(v, _type_name(c, args[0]))


@function("is", 1, 1)
def _is(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    return _exists(c, c.of_type(v, _type_name(c, args[0])), (), scope)


def _type_name(c: ExpressionCompiler, node: fp.Node) -> str:
    if isinstance(node, fp.Identifier):
        return node.name
    if isinstance(node, fp.Member) and isinstance(node.target, fp.Identifier):
        return f"{node.target.name}.{node.name}"
    raise c.error("expected a type name")


@function("extension", 1, 1)
def _extension(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    url = c.single(c.compile(args[0], scope))
    extensions = c.member(v, "extension")
    x = c.var()
    item_url = c.member(replace(extensions, sql=x, many=False), "url").sql
    return replace(extensions, sql=c.d.filter(extensions.sql, x, f"{item_url} = {url.sql}"))


@function("join", 0, 1)
def _join(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    sep = c.single(c.compile(args[0], scope)).sql if args else c.d.string("")
    lst = c.as_list(c.resolved(v))
    joined = c.d.join(lst, sep)
    return Value(f"(CASE WHEN {c.d.size(lst)} = 0 THEN NULL ELSE {joined} END)", "string", False)


@function("getResourceKey")
def _resource_key(
    c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope
) -> Value:
    if v.node is None or not c.model.is_resource(v.node.fhir_type):
        raise c.error("getResourceKey() must be called on a resource")
    return replace(c.member(v, "id"), type="string")


@function("getReferenceKey", 0, 1)
def _reference_key(
    c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope
) -> Value:
    if v.node is None or v.node.fhir_type != "Reference":
        raise c.error("getReferenceKey() must be called on a Reference")
    wanted = _type_name(c, args[0]) if args else None
    if wanted is not None and not c.model.is_resource(wanted):
        raise c.error(f"getReferenceKey(): '{wanted}' is not a resource type")
    d = c.d

    def key(item: Value) -> Value:
        ref = c.member(item, "reference").sql
        rel_key = d.regexp_extract(ref, _REFERENCE, 2)
        urn_key = f"substring({ref}, 10)"
        # the common forms first, with plain string functions; the general pattern last
        if wanted is None:
            slash = d.position(ref, "'/'")
            rest = f"substring({ref}, {slash} + 1)"
            fast = f"WHEN {slash} > 1 AND NOT {d.str_contains(rest, chr(39) + '/' + chr(39))} THEN nullif({rest}, '')"
        else:
            prefix = d.string(wanted + "/")
            rest = f"substring({ref}, {len(wanted) + 2})"
            fast = f"WHEN {d.starts_with(ref, prefix)} AND NOT {d.str_contains(rest, chr(39) + '/' + chr(39))} THEN nullif({rest}, '')"
            rel_type = d.regexp_extract(ref, _REFERENCE, 1)
            rel_key = f"(CASE WHEN {rel_type} = {d.string(wanted)} THEN {rel_key} END)"
            # a urn:uuid reference names no type: use Reference.type when the sender gave it
            declared = c.member(item, "type").sql
            urn_key = f"(CASE WHEN {declared} IS NULL OR {declared} = {d.string(wanted)} THEN {urn_key} END)"
        sql = (
            f"(CASE WHEN {ref} IS NULL THEN NULL"
            f" WHEN {d.starts_with(ref, chr(39) + 'urn:uuid:' + chr(39))} THEN {urn_key}"
            f" {fast} ELSE {rel_key} END)"
        )
        return Value(sql, "string", False)

    return c.each(v, key)


def _boundary_fn(high: bool) -> Handler:
    def handler(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
        precision = c.single(c.compile(args[0], scope)).sql if args else None
        return c.each(c.resolved(v), lambda item: boundary(c, item, high, precision))

    return handler


function("lowBoundary", 0, 1)(_boundary_fn(False))
function("highBoundary", 0, 1)(_boundary_fn(True))


# --- strings ---------------------------------------------------------------------------
def _string_fn(name: str, nargs: int, build: Callable[..., str], result: str = "string") -> None:
    def handler(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
        s = c.single(c.resolved(v)).sql
        extra = [c.single(c.compile(a, scope)).sql for a in args]
        return Value(build(c.d, s, *extra), result, False)

    function(name, nargs if nargs >= 0 else 1, abs(nargs))(handler)


_string_fn("startsWith", 1, lambda d, s, p: d.starts_with(s, p), "boolean")
_string_fn("endsWith", 1, lambda d, s, p: d.ends_with(s, p), "boolean")
_string_fn("contains", 1, lambda d, s, p: d.str_contains(s, p), "boolean")
_string_fn("matches", 1, lambda d, s, p: d.regex_match(s, p), "boolean")
_string_fn("length", 0, lambda d, s: d.str_length(s), "integer")
_string_fn("upper", 0, lambda d, s: f"upper({s})")
_string_fn("lower", 0, lambda d, s: f"lower({s})")
_string_fn("trim", 0, lambda d, s: f"trim({s})")
_string_fn("toString", 0, lambda d, s: d.to_string(s))
_string_fn("replace", 2, lambda d, s, a, b: f"replace({s}, {a}, {b})")
_string_fn("indexOf", 1, lambda d, s, p: f"({d.position(s, p)} - 1)", "integer")
_string_fn("toInteger", 0, lambda d, s: d.try_cast(s, "integer"), "integer")
_string_fn("toDecimal", 0, lambda d, s: d.try_cast(s, "decimal"), "decimal")


@function("substring", 1, 2)
def _substring(c: ExpressionCompiler, v: Value, args: tuple[fp.Node, ...], scope: Scope) -> Value:
    s = c.single(c.resolved(v)).sql
    start = c.single(c.compile(args[0], scope)).sql
    if len(args) > 1:
        length = c.single(c.compile(args[1], scope)).sql
        return Value(f"substring({s}, ({start}) + 1, {length})", "string", False)
    return Value(f"substring({s}, ({start}) + 1)", "string", False)


# --- operators -------------------------------------------------------------------------
_COMPARE = {"<": "<", ">": ">", "<=": "<=", ">=": ">="}
_ARITHMETIC = {"+", "-", "*", "/", "div", "mod"}


def _equality(c: ExpressionCompiler, left: Value, right: Value, negate: bool) -> Value:
    d = c.d
    if not left.many and not right.many:
        op = "<>" if negate else "="
        return _bool(f"({left.sql} {op} {right.sql})")
    lst_l, lst_r = c.as_list(left), c.as_list(right)
    empty = f"{d.size(lst_l)} = 0 OR {d.size(lst_r)} = 0"
    equal = f"coalesce({lst_l} = {lst_r}, FALSE)"
    result = f"(NOT {equal})" if negate else equal
    return _bool(f"(CASE WHEN {empty} THEN NULL ELSE {result} END)")


def binary_operator(c: ExpressionCompiler, node: fp.Binary, scope: Scope) -> Value:
    op = node.op
    left = c.resolved(c.compile(node.left, scope))
    right = c.resolved(c.compile(node.right, scope))
    d = c.d
    if op == "|":
        lists = [c.as_list(left), c.as_list(right)]
        return replace(left, sql=d.distinct(d.concat_lists(lists)), many=True)
    if op in ("=", "!=", "~", "!~"):
        return _equality(c, left, right, op in ("!=", "!~"))
    if op in ("in", "contains"):
        item, coll = (left, right) if op == "in" else (right, left)
        item = c.single(item)
        return _bool(
            f"(CASE WHEN {item.sql} IS NULL THEN NULL ELSE coalesce({d.list_contains(c.as_list(coll), item.sql)}, FALSE) END)"
        )
    left, right = c.single(left), c.single(right)
    if op in ("and", "or"):
        return _bool(f"({left.sql} {op.upper()} {right.sql})")
    if op == "xor":
        return _bool(f"({left.sql} <> {right.sql})")
    if op == "implies":
        return _bool(f"((NOT {left.sql}) OR {right.sql})")
    if op in _COMPARE:
        return _bool(f"({left.sql} {_COMPARE[op]} {right.sql})")
    if op == "&":
        return Value(
            f"(coalesce({d.to_string(left.sql)}, '') || coalesce({d.to_string(right.sql)}, ''))",
            "string",
            False,
        )
    if op in _ARITHMETIC:
        return _arithmetic(c, op, left, right)
    raise c.error(f"operator '{op}' is not supported")


def _arithmetic(c: ExpressionCompiler, op: str, left: Value, right: Value) -> Value:
    numeric = left.type in NUMERIC | {ANY} and right.type in NUMERIC | {ANY}
    if op == "+" and not numeric:
        return Value(f"({left.sql} || {right.sql})", "string", False)
    if not numeric:
        raise c.error(f"operator '{op}' needs numbers, found {left.type} and {right.type}")
    both_int = left.type not in ("decimal",) and right.type not in ("decimal",)
    decimal = c.d.type_names["decimal"]
    if op == "/":
        sql = f"(CAST({left.sql} AS {decimal}) / NULLIF({right.sql}, 0))"
        return Value(sql, "decimal", False)
    if op == "div":
        return Value(c.d.int_div(left.sql, f"NULLIF({right.sql}, 0)"), "integer", False)
    if op == "mod":
        sql = f"({left.sql} % NULLIF({right.sql}, 0))"
        return Value(sql, "integer" if both_int else "decimal", False)
    return Value(f"({left.sql} {op} {right.sql})", "integer" if both_int else "decimal", False)
