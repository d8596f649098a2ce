"""Compile a ViewDefinition into one SQL query for an engine dialect.

Each selection becomes either a single row per resource (plain columns) or a SQL list of
row structs (``forEach``, ``forEachOrNull``, ``repeat``, ``unionAll``); selections combine
by cross product as the specification's processing algorithm describes, and the final
query unnests the list. The compiled view also carries the explicit read schema: only the
elements the view uses, typed from the FHIR R4 model.

``repeat`` walks a recursive structure level by level on JSON text (so that each level has
the same SQL type), keeps a path key per item to restore depth-first order, and stops with
a clear error past ``repeat_depth`` levels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from healthhub.engines.dialects import DIALECTS, Dialect, SqlType
from healthhub.exceptions import ViewDefinitionError
from healthhub.sources.fhir import fhirpath as fp
from healthhub.sources.fhir.expressions import ANY, ExpressionCompiler, Scope, Value
from healthhub.sources.fhir.fhir_model import FhirModel, SchemaNode, load_model, scalar_kind
from healthhub.sources.fhir.viewdef import Column, Select, ViewDefinition

DEFAULT_REPEAT_DEPTH = 10
ROOT_ALIAS = "r"
ROW_ALIAS = "_row"
_PLACEHOLDER = re.compile("\x00T(\\d+)\x00")
_ANSI_TYPES = {
    "DATE": "DATE", "TIMESTAMP": "TIMESTAMP", "INTEGER": "INTEGER", "INT": "INTEGER",
    "BIGINT": "BIGINT", "BOOLEAN": "BOOLEAN", "DOUBLE": "DOUBLE", "VARCHAR": None,
    "CHARACTER VARYING": None, "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
}  # fmt: skip


@dataclass(frozen=True)
class OutputColumn:
    name: str
    fhir_type: str
    collection: bool


@dataclass(frozen=True)
class CompiledView:
    view: ViewDefinition
    dialect: str
    columns: tuple[OutputColumn, ...]
    query: str  # contains {source}: a relation with the read schema's columns
    read_schema: tuple[tuple[str, SqlType], ...]

    @property
    def resource(self) -> str:
        return self.view.resource

    def sql(self, source: str) -> str:
        return self.query.replace("{source}", source)


@dataclass
class _Rows:
    names: list[str]
    single: list[str] | None = None  # one row: SQL of each column
    rows: str | None = None  # SQL list of row structs


class _ViewCompiler:
    def __init__(self, view: ViewDefinition, dialect: Dialect, model: FhirModel,
                 raw_paths: frozenset[tuple[str, ...]], repeat_depth: int) -> None:  # fmt: skip
        self.view = view
        self.d = dialect
        self.model = model
        self.repeat_depth = repeat_depth
        self.wanted_raw: set[tuple[str, ...]] = set()
        constants = {c.name: self._constant(c.value, c.type) for c in view.constants}
        self.x = ExpressionCompiler(dialect, model, constants)
        self.root = SchemaNode(view.resource, path=(view.resource,), raw_paths=raw_paths)
        self.root_value = Value(ROOT_ALIAS, view.resource, False, self.root)
        self.columns: dict[str, OutputColumn] = {}

    def _constant(self, value: object, fhir_type: str) -> Value:
        kind = scalar_kind(fhir_type)
        if kind == "boolean":
            return Value("TRUE" if value else "FALSE", fhir_type, False)
        if kind == "integer":
            return Value(str(int(str(value))), fhir_type, False)
        if kind == "decimal":
            number = repr(float(str(value)))
            return Value(self.d.cast(number, self.d.type_names["decimal"]), fhir_type, False)
        return Value(self.d.string(str(value)), fhir_type, False)

    # --- expressions -----------------------------------------------------------------
    def expr(self, node: fp.Node, scope: Scope, location: str) -> Value:
        self.x.location = location
        return self.x.resolved(self.x.compile(node, scope))

    def column(self, col: Column, scope: Scope) -> str:
        v = self.expr(col.expression, scope, f"{col.location}.path")
        if col.collection:
            sql = self.d.empty_if_null(self.x.as_list(v))
        else:
            sql = self.x.single(v, f"column '{col.name}'").sql
        sql = self._cast(col, v, sql)
        if col.name not in self.columns:
            self.columns[col.name] = OutputColumn(col.name, col.type or v.type, col.collection)
        return sql

    def _cast(self, col: Column, v: Value, sql: str) -> str:
        for name, value in col.tags:
            if name == "ansi/type" and not col.collection:
                target = _ANSI_TYPES.get(value.upper())
                if target:
                    return f"TRY_CAST({sql} AS {target})"
        if col.collection or col.type is None or v.type == ANY:
            return sql
        if not (self.model.is_primitive(col.type) and self.model.is_primitive(v.type)):
            return sql
        want, have = scalar_kind(col.type), scalar_kind(v.type)
        if want != have:
            return self.d.try_cast(sql, want) if want != "string" else self.d.to_string(sql)
        return sql

    # --- selections ------------------------------------------------------------------
    def select(self, sel: Select, scope: Scope) -> _Rows:
        if sel.repeat:
            return self.repeat(sel, scope)
        if sel.for_each is None:
            return self.body(sel, scope)
        where = f"{sel.location}.{'forEachOrNull' if sel.for_each_or_null else 'forEach'}"
        foci = self.expr(sel.for_each, scope, where)
        if foci.type == ANY and foci.node is None and foci.sql == "NULL":
            raise ViewDefinitionError(f"{where}: nothing to iterate over")
        d = self.d
        items = self.x.as_list(foci)
        if sel.for_each_or_null:
            items = f"(CASE WHEN {d.size(items)} = 0 THEN {d.list_of([d.element(items, '1')])} ELSE {items} END)"
        item, i = self.x.var(), self.x.var()
        index = d.row_index(i)
        inner = self.body(
            sel, replace(scope, this=replace(foci, sql=item, many=False), row_index=index)
        )
        return self._iterate(items, [item, i], inner)

    def _iterate(self, items: str, params: list[str], inner: _Rows) -> _Rows:
        d = self.d
        if inner.rows is None:
            assert inner.single is not None
            struct = d.struct(list(zip(inner.names, inner.single, strict=True)))
            return _Rows(inner.names, rows=d.transform(items, params, struct))
        return _Rows(inner.names, rows=d.flatten(d.transform(items, params, inner.rows)))

    def body(self, sel: Select, scope: Scope) -> _Rows:
        parts = [
            _Rows(
                [c.name for c in sel.columns], single=[self.column(c, scope) for c in sel.columns]
            )
        ]
        parts.extend(self.select(sub, scope) for sub in sel.selects)
        if sel.union_all:
            branches = [self.select(u, scope) for u in sel.union_all]
            lists = [self.as_rows(b) for b in branches]
            parts.append(_Rows(branches[0].names, rows=self.d.concat_lists(lists)))
        return self.product(parts)

    def as_rows(self, rows: _Rows) -> str:
        if rows.rows is not None:
            return rows.rows
        assert rows.single is not None
        return self.d.list_of([self.d.struct(list(zip(rows.names, rows.single, strict=True)))])

    def product(self, parts: list[_Rows]) -> _Rows:
        out = parts[0]
        for part in parts[1:]:
            out = self._pair(out, part)
        return out

    def _pair(self, a: _Rows, b: _Rows) -> _Rows:
        d = self.d
        names = a.names + b.names
        if a.rows is None and b.rows is None:
            assert a.single is not None and b.single is not None
            return _Rows(names, single=a.single + b.single)
        if a.rows is None or b.rows is None:
            single, multi = (a, b) if a.rows is None else (b, a)
            assert single.single is not None and multi.rows is not None
            r = self.x.var()
            values = dict(zip(single.names, single.single, strict=True))
            values.update({n: d.field(r, n) for n in multi.names})
            struct = d.struct([(n, values[n]) for n in names])
            return _Rows(names, rows=d.transform(multi.rows, [r], struct))
        ra, rb = self.x.var(), self.x.var()
        fields = [(n, d.field(ra, n)) for n in a.names] + [(n, d.field(rb, n)) for n in b.names]
        inner = d.transform(b.rows, [rb], d.struct(fields))
        return _Rows(names, rows=d.flatten(d.transform(a.rows, [ra], inner)))

    # --- repeat ----------------------------------------------------------------------
    def _children(
        self, item: Value, paths: tuple[fp.Node, ...], scope: Scope, location: str
    ) -> Value | None:
        """JSON texts of the items the repeat paths reach from ``item``, in order (None: none)."""
        lists: list[str] = []
        found: Value | None = None
        for k, path in enumerate(paths):
            self.x.location = f"{location}.repeat[{k}]"
            self.x.lenient = True  # the paths apply at every level: absent elements give nothing
            try:
                if isinstance(path, fp.Identifier):
                    target, name = item, path.name
                elif isinstance(path, fp.Member):
                    target, name = self.x.compile(path.target, replace(scope, this=item)), path.name
                else:
                    raise ViewDefinitionError(
                        f"{location}.repeat[{k}]: a repeat path must end in an element name"
                    )
                target = self.x.typed(target)
                if target.node is None:
                    continue
                children = self.x.member(target, name)
            finally:
                self.x.lenient = False
            if children.node is None:
                continue
            if name not in target.node.raw:
                self.wanted_raw.add((*target.node.path, name))
            if found is not None and children.type != found.type:
                raise ViewDefinitionError(f"{location}.repeat: all paths must reach the same type")
            found = children
            lists.append(self.x.as_list(children))
        if found is None:
            return None
        return replace(found, sql=self.d.concat_lists(lists), many=True)

    def repeat(self, sel: Select, scope: Scope) -> _Rows:
        d = self.d
        first = self._children(scope.this, sel.repeat, scope, sel.location)
        if first is None:  # nothing to walk: no rows
            names = sel.column_names()
            typed_nulls = d.struct([(n, d.null_of(d.type_names["string"])) for n in names])
            return _Rows(names, rows=d.filter(d.list_of([typed_nulls]), "_none", "FALSE"))
        parent_path = first.node.path if first.node is not None else (first.type,)
        level_node = SchemaNode(first.type, path=(*parent_path, "*"), raw_paths=self.root.raw_paths)

        def keyed(items: str, prefix: str | None) -> str:
            x, i = self.x.var(), self.x.var()
            key = d.list_of([i]) if prefix is None else d.concat_lists([prefix, d.list_of([i])])
            return d.transform(items, [x, i], d.struct([("k", key), ("n", x)]))

        levels = [keyed(first.sql, None)]
        for _ in range(self.repeat_depth):
            e = self.x.var()
            item = Value(d.field(e, "n"), first.type, False, level_node, json=True)
            kids = self._children(item, sel.repeat, replace(scope, this=item), sel.location)
            if kids is None:
                break
            levels.append(d.flatten(d.transform(levels[-1], [e], keyed(kids.sql, d.field(e, "k")))))
        ordered = d.sort(d.concat_lists(levels[: self.repeat_depth]))
        guarded = ordered
        if len(levels) > self.repeat_depth:
            message = f"{sel.location}.repeat: structure deeper than {self.repeat_depth} levels"
            overflow = d.size(levels[self.repeat_depth])
            guarded = f"(CASE WHEN {overflow} > 0 THEN {self.x.fail(message)} ELSE {ordered} END)"
        e, i = self.x.var(), self.x.var()
        index = d.row_index(i)
        item = Value(d.field(e, "n"), first.type, False, level_node, json=True)
        inner = self.body(sel, replace(scope, this=item, row_index=index))
        return self._iterate(guarded, [e, i], inner)

    # --- the query -------------------------------------------------------------------
    def compile(self) -> tuple[str, list[str]]:
        scope = Scope(this=self.root_value, resource=self.root_value, row_index="0")
        rows = self.product([self.select(sel, scope) for sel in self.view.select])
        conditions = [
            f"{ROOT_ALIAS}.{self.d.quote('resourceType')} = {self.d.string(self.view.resource)}"
        ]
        for node, location in self.view.where:
            v = self.expr(node, scope, location)
            if v.type not in ("boolean", ANY):
                raise ViewDefinitionError(
                    f"{location}: a where path must be boolean, found {v.type}"
                )
            conditions.append(f"coalesce({self.x.single(v, 'where path').sql}, FALSE)")
        where = " AND ".join(conditions)
        q = self.d.quote
        if rows.rows is None:
            assert rows.single is not None
            cols = ", ".join(
                f"{sql} AS {q(n)}" for n, sql in zip(rows.names, rows.single, strict=True)
            )
            query = f"SELECT {cols} FROM {{source}} AS {ROOT_ALIAS} WHERE {where}"
        else:
            cols = ", ".join(f"{ROW_ALIAS}.{q(n)} AS {q(n)}" for n in rows.names)
            inner = f"SELECT {self.d.unnest(rows.rows)} AS {ROW_ALIAS} FROM {{source}} AS {ROOT_ALIAS} WHERE {where}"
            query = f"SELECT {cols} FROM ({inner}) AS _rows"
        return query, rows.names


def _resolve_placeholders(query: str, compiler: _ViewCompiler) -> str:
    nodes = compiler.x.json_nodes

    def render(match: re.Match[str]) -> str:
        node = nodes[int(match.group(1))]
        return compiler.d.json_type_literal(node.sql_type(compiler.model))

    return _PLACEHOLDER.sub(render, query)


def compile_view(view: ViewDefinition, dialect: str = "duckdb",
                 repeat_depth: int = DEFAULT_REPEAT_DEPTH) -> CompiledView:  # fmt: skip
    """Compile a validated ViewDefinition to SQL for ``dialect`` (duckdb or spark)."""
    model = load_model()
    d = DIALECTS[dialect]
    raw: frozenset[tuple[str, ...]] = frozenset()
    for _ in range(4):  # elements walked by repeat are read as JSON: recompile once known
        compiler = _ViewCompiler(view, d, model, raw, repeat_depth)
        query, names = compiler.compile()
        if compiler.wanted_raw <= raw:
            break
        raw = raw | compiler.wanted_raw
    query = _resolve_placeholders(query, compiler)
    fields = dict(compiler.root.sql_type(model).fields)
    fields.pop("resourceType", None)
    read_schema: tuple[tuple[str, SqlType], ...] = (
        ("resourceType", "string"),
        *sorted(fields.items()),
    )
    columns = tuple(compiler.columns.get(n, OutputColumn(n, ANY, False)) for n in names)
    return CompiledView(view, dialect, columns, query, read_schema)
