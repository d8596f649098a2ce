"""Compile FHIRPath syntax trees to SQL expressions over typed FHIR structs.

Values are typed statically from the FHIR R4 model: every compiled ``Value`` knows its
FHIR type and whether it is a collection (``many``: a SQL list) or at most one item (a
SQL scalar, NULL meaning empty). Which elements are read is recorded in ``SchemaNode``s,
from which the engine's read schema is derived after compilation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import count

from healthhub.engines.dialects import Dialect
from healthhub.engines.duckdb_engine import VIEW_ERROR_MARKER
from healthhub.exceptions import ViewDefinitionError
from healthhub.sources.fhir import fhirpath as fp
from healthhub.sources.fhir.fhir_model import FhirModel, SchemaNode, scalar_kind

NUMERIC = {"integer", "decimal", "positiveInt", "unsignedInt", "integer64"}
ANY = "Any"
CHOICE = "choice"
_ENV_URLS = {
    "ucum": "http://unitsofmeasure.org",
    "sct": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
}


@dataclass(frozen=True)
class Value:
    sql: str
    type: str  # FHIR type name; "Any" when unknown; "choice" for a value[x] not yet resolved
    many: bool
    node: SchemaNode | None = None  # for complex types: what of it is read
    json: bool = False  # sql is JSON text of a complex value
    choice_base: str | None = None  # for "choice": element base name on the owner node

    @property
    def is_complex(self) -> bool:
        return self.node is not None


@dataclass(frozen=True)
class Scope:
    this: Value
    resource: Value
    row_index: str
    index_var: str | None = None


class ExpressionCompiler:
    """Compiles FHIRPath for one dialect; shared by all expressions of one view."""

    def __init__(self, dialect: Dialect, model: FhirModel, constants: dict[str, Value]) -> None:
        self.d = dialect
        self.model = model
        self.constants = constants
        self._vars = count(1)
        self.json_nodes: dict[int, SchemaNode] = {}
        self.location = ""
        self.lenient = False  # unknown elements give empty instead of an error

    # --- helpers ---------------------------------------------------------------------
    def var(self) -> str:
        return f"_v{next(self._vars)}"

    def error(self, message: str) -> ViewDefinitionError:
        return ViewDefinitionError(f"{self.location}: {message}" if self.location else message)

    def fail(self, message: str) -> str:
        """SQL raising ``message`` at run time; the engines pass such messages through.

        The message names a place in the view and what went wrong, never a value: it is
        marked so that the engines tell it from their own errors, which may quote data.
        """
        return self.d.error(VIEW_ERROR_MARKER + message)

    def as_list(self, v: Value) -> str:
        """The SQL list of a value's items (NULL items dropped)."""
        if v.many:
            return v.sql
        return f"CASE WHEN {v.sql} IS NULL THEN NULL ELSE {self.d.list_of([v.sql])} END"

    def single(self, v: Value, what: str = "expression") -> Value:
        """At most one item, raising at run time when a collection has several."""
        if not v.many:
            return v
        x = self.d.size(v.sql)
        message = f"{self.location}: {what} returned several values where one was expected"
        sql = f"(CASE WHEN {x} > 1 THEN {self.fail(message)} ELSE {self.d.element(v.sql, '1')} END)"
        return replace(v, sql=sql, many=False)

    def each(self, v: Value, build: Callable[[Value], Value]) -> Value:
        """Apply ``build(item_value) -> Value`` to each item of a collection."""
        if not v.many:
            return build(v)
        x = self.var()
        inner = build(replace(v, sql=x, many=False))
        if inner.many:
            body = inner.sql
            mapped = self.d.transform(v.sql, [x], body)
            sql = self.d.flatten(self.d.filter(mapped, (y := self.var()), f"{y} IS NOT NULL"))
        else:
            mapped = self.d.transform(v.sql, [x], inner.sql)
            sql = self.d.filter(mapped, (y := self.var()), f"{y} IS NOT NULL")
        return replace(inner, sql=sql, many=True)

    def typed(self, v: Value) -> Value:
        """Turn JSON text into a typed struct (the schema is filled in after compilation)."""
        if not v.json:
            return v
        assert v.node is not None
        self.json_nodes[v.node.id] = v.node
        placeholder = f"\x00T{v.node.id}\x00"
        return self.each(
            v,
            lambda item: replace(item, sql=self.d.parse_json(item.sql, placeholder), json=False),
        )

    # --- navigation ------------------------------------------------------------------
    def member(self, v: Value, name: str) -> Value:
        if self.lenient and v.type == ANY and v.sql == "NULL":
            return v
        if v.type == CHOICE:
            raise self.error(
                f"'{v.choice_base}[x]' has several types: use ofType() before '.{name}'"
            )
        if v.type == ANY or v.node is None:
            raise self.error(f"cannot navigate to '{name}' on a value of type {v.type}")
        v = self.typed(v)
        assert v.node is not None
        spec = self.model.element(v.node.fhir_type, name)
        if spec is None:
            variants = self.model.choice(v.node.fhir_type, name)
            if variants is not None:
                return Value(v.sql, CHOICE, v.many, v.node, choice_base=name)
            if self.lenient:
                return Value("NULL", ANY, False)
            raise self.error(f"'{name}' is not an element of {v.node.fhir_type}")
        etype, repeats = spec
        child = v.node.child(name, etype, repeats)
        complex_ = not self.model.is_primitive(etype)
        raw = name in v.node.raw
        d = self.d

        def get(item: Value) -> Value:
            return Value(
                d.field(item.sql, name),
                etype,
                repeats,
                child if complex_ else None,
                json=raw,
            )

        return self.each(v, get)

    def of_type(self, v: Value, type_name: str) -> Value:
        resolved = self.model.resolve_type_name(type_name)
        if resolved is None:
            raise self.error(f"unknown type '{type_name}'")
        if v.type == CHOICE:
            assert v.node is not None and v.choice_base is not None
            variants = self.model.choice(v.node.fhir_type, v.choice_base) or ()
            match = next((t for t in variants if t.lower() == resolved.lower()), None)
            if match is None:
                return Value("NULL", resolved, False)
            element = v.choice_base + match[0].upper() + match[1:]
            return self.member(replace(v, type=v.node.fhir_type, choice_base=None), element)
        if v.type == resolved or v.type == ANY:
            return v
        # FHIR primitives specialise string (code, id, uri ...): compatible kinds match
        primitive = self.model.is_primitive(v.type) and self.model.is_primitive(resolved)
        if primitive and resolved == "string" and scalar_kind(v.type) == "string":
            return v
        return Value("NULL", resolved, False)

    def choice_value(self, v: Value) -> Value:
        """A value[x] used without ofType(): the primitive variants, as text."""
        assert v.node is not None and v.choice_base is not None
        variants = self.model.choice(v.node.fhir_type, v.choice_base) or ()
        parts = []
        for t in variants:
            if not self.model.is_primitive(t):
                continue
            item = self.of_type(v, t)
            parts.append(
                item if item.type == "string" else replace(item, sql=self.d.to_string(item.sql))
            )
        if not parts:
            raise self.error(f"'{v.choice_base}[x]' has several types: use ofType()")
        if v.many:
            return Value(self.d.concat_lists([p.sql for p in parts]), "string", True)
        return Value("coalesce(" + ", ".join(p.sql for p in parts) + ")", "string", False)

    def resolved(self, v: Value) -> Value:
        return self.choice_value(v) if v.type == CHOICE else v

    # --- compile ---------------------------------------------------------------------
    def compile(self, node: fp.Node, scope: Scope) -> Value:
        method = getattr(self, "_" + type(node).__name__.lower())
        result: Value = method(node, scope)
        return result

    def _literal(self, node: fp.Literal, scope: Scope) -> Value:
        d = self.d
        if node.kind == "empty":
            return Value("NULL", ANY, False)
        if node.kind == "boolean":
            return Value("TRUE" if node.value else "FALSE", "boolean", False)
        if node.kind == "integer":
            return Value(str(node.value), "integer", False)
        if node.kind == "decimal":
            return Value(d.cast(repr(node.value), d.type_names["decimal"]), "decimal", False)
        if node.kind == "quantity":
            raise self.error("quantity literals are not supported")
        return Value(d.string(str(node.value)), node.kind, False)

    def _identifier(self, node: fp.Identifier, scope: Scope) -> Value:
        this = scope.this
        if (
            this.node is not None
            and node.name == this.node.fhir_type
            and self.model.is_resource(node.name)
        ):
            return this
        return self.member(this, node.name)

    def _member(self, node: fp.Member, scope: Scope) -> Value:
        return self.member(self.compile(node.target, scope), node.name)

    def _this(self, node: fp.This, scope: Scope) -> Value:
        return scope.this

    def _indexvar(self, node: fp.IndexVar, scope: Scope) -> Value:
        if scope.index_var is None:
            raise self.error("$index is only defined inside where(), select() and exists()")
        return Value(scope.index_var, "integer", False)

    def _constant(self, node: fp.Constant, scope: Scope) -> Value:
        if node.name == "rowIndex":
            return Value(scope.row_index, "integer", False)
        if node.name in ("resource", "rootResource", "context"):
            return scope.resource
        if node.name in self.constants:
            return self.constants[node.name]
        if node.name in _ENV_URLS:
            return Value(self.d.string(_ENV_URLS[node.name]), "string", False)
        raise self.error(f"constant '%{node.name}' is not defined")

    def _indexer(self, node: fp.Indexer, scope: Scope) -> Value:
        target = self.resolved(self.compile(node.target, scope))
        index = self.single(self.compile(node.index, scope))
        if not target.many:
            return replace(target, sql=f"(CASE WHEN {index.sql} = 0 THEN {target.sql} END)")
        return replace(target, sql=self.d.element(target.sql, f"({index.sql}) + 1"), many=False)

    def _unary(self, node: fp.Unary, scope: Scope) -> Value:
        v = self.single(self.compile(node.operand, scope))
        return v if node.op == "+" else replace(v, sql=f"(-{v.sql})")

    def _typeop(self, node: fp.TypeOp, scope: Scope) -> Value:
        v = self.compile(node.operand, scope)
        typed = self.of_type(v, node.type_name)
        if node.op == "as":
            return typed
        if typed.many:
            return Value(f"({self.d.size(typed.sql)} > 0)", "boolean", False)
        return Value(f"({typed.sql} IS NOT NULL)", "boolean", False)

    def _call(self, node: fp.Call, scope: Scope) -> Value:
        from healthhub.sources.fhir.functions import call_function

        return call_function(self, node, scope)

    def _binary(self, node: fp.Binary, scope: Scope) -> Value:
        from healthhub.sources.fhir.functions import binary_operator

        return binary_operator(self, node, scope)
