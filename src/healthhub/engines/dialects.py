"""SQL dialects: every difference between the engines' SQL, declared in one place.

Compilers write SQL through a ``Dialect``; nothing outside this module spells an
engine-specific function name, lambda syntax, type name or quoting rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class ListOf:
    element: SqlType


@dataclass(frozen=True)
class StructOf:
    fields: tuple[tuple[str, SqlType], ...]


# A portable type: a scalar kind ("string", "boolean", "integer", "decimal", "json"),
# a list or a struct.
SqlType = str | ListOf | StructOf

# FHIR primitive type -> portable scalar kind
PRIMITIVE_KIND: dict[str, str] = {
    "boolean": "boolean",
    "integer": "integer",
    "positiveInt": "integer",
    "unsignedInt": "integer",
    "integer64": "integer",
    "decimal": "decimal",
}


@dataclass(frozen=True)
class Dialect:
    """How one engine spells the constructs the view compiler needs."""

    name: str
    transform_fn: str
    filter_fn: str
    error_fn: str
    join_fn: str
    sort_fn: str
    unnest_fn: str
    index_base: int  # base of the index a two-parameter lambda receives
    type_names: dict[str, str]
    struct_template: str  # {fields}; field template below
    struct_field_template: str  # {name} {type}
    list_type_template: str  # {type}
    json_type: str
    ident_quote: str
    # SQL functions every stage may call, defined on each connection (same results)
    functions: tuple[str, ...] = ()
    sqlglot_name: str = "duckdb"

    def salt_function(self, salt: str) -> str:
        """Define ``hh_salt()``, the secret mixed into surrogate keys, on a connection."""
        if not all(c in "0123456789abcdef" for c in salt):
            raise ValueError("a salt is hex digits")
        if self.name == "spark":
            return f"CREATE OR REPLACE TEMPORARY FUNCTION hh_salt() RETURNS STRING RETURN '{salt}'"
        return f"CREATE OR REPLACE MACRO hh_salt() AS '{salt}'"

    def from_reference(self, sql: str) -> str:
        """Stage SQL is written once in DuckDB's dialect; other engines get it transpiled."""
        if self.name == "duckdb":
            return sql
        import sqlglot

        return sqlglot.transpile(sql, read="duckdb", write=self.sqlglot_name)[0]

    # --- names and literals ----------------------------------------------------------
    def quote(self, name: str) -> str:
        q = self.ident_quote
        return f"{q}{name.replace(q, q + q)}{q}"

    def string(self, value: str) -> str:
        escaped = value.replace("\\", "\\\\") if self.name == "spark" else value
        return "'" + escaped.replace("'", "''") + "'"

    # --- types -----------------------------------------------------------------------
    def render_type(self, t: SqlType) -> str:
        if isinstance(t, str):
            return self.json_type if t == "json" else self.type_names[t]
        if isinstance(t, ListOf):
            return self.list_type_template.format(type=self.render_type(t.element))
        inner = ", ".join(
            self.struct_field_template.format(name=self.quote(n), type=self.render_type(ft))
            for n, ft in t.fields
        )
        return self.struct_template.format(fields=inner)

    def _json_structure(self, t: SqlType) -> object:
        if isinstance(t, str):
            return "JSON" if t == "json" else self.type_names[t]
        if isinstance(t, ListOf):
            return [self._json_structure(t.element)]
        return {n: self._json_structure(ft) for n, ft in t.fields}

    def json_type_literal(self, t: SqlType) -> str:
        """The type argument of parse_json, as a SQL string literal."""
        if self.name == "duckdb":
            return self.string(json.dumps(self._json_structure(t), separators=(",", ":")))
        return self.string(self.render_type(t))

    # --- expressions -----------------------------------------------------------------
    def lam(self, params: list[str], body: str) -> str:
        if self.name == "duckdb":
            return f"lambda {', '.join(params)}: {body}"
        joined = params[0] if len(params) == 1 else "(" + ", ".join(params) + ")"
        return f"{joined} -> {body}"

    def transform(self, lst: str, params: list[str], body: str) -> str:
        return f"{self.transform_fn}({lst}, {self.lam(params, body)})"

    def filter(self, lst: str, param: str, body: str) -> str:
        return f"{self.filter_fn}({lst}, {self.lam([param], body)})"

    def flatten(self, lst: str) -> str:
        """Concatenate a list of lists; NULL inner lists count as empty."""
        if self.name == "duckdb":
            return f"flatten({lst})"
        return f"flatten(filter({lst}, _f -> _f IS NOT NULL))"

    def whole_row(self, alias: str) -> str:
        """A table alias as one struct value."""
        return alias if self.name == "duckdb" else f"struct({alias}.*)"

    def size(self, lst: str) -> str:
        """Number of items (a 64-bit integer); 0 for a NULL list."""
        if self.name == "duckdb":
            return f"coalesce(len({lst}), 0)"
        return f"CAST(coalesce(size({lst}), 0) AS BIGINT)"

    def row_index(self, lambda_index: str) -> str:
        """The 0-based position (64-bit) from a two-parameter lambda's index."""
        if self.index_base:
            return f"({lambda_index} - {self.index_base})"
        return f"CAST({lambda_index} AS BIGINT)"

    def element(self, lst: str, one_based: str) -> str:
        if self.name == "duckdb":
            return f"({lst})[{one_based}]"
        return f"try_element_at({lst}, {one_based})"

    def slice(self, lst: str, start_one_based: str, length: str) -> str:
        if self.name == "duckdb":
            return f"list_slice({lst}, {start_one_based}, {start_one_based} + {length} - 1)"
        return f"slice({lst}, {start_one_based}, {length})"

    def concat_lists(self, lists: list[str]) -> str:
        if len(lists) == 1:
            return lists[0]
        if self.name == "duckdb":
            out = lists[0]
            for item in lists[1:]:
                out = f"list_concat({out}, {item})"
            return out
        parts = ", ".join(f"coalesce({x}, array())" for x in lists)
        return f"concat({parts})"

    def empty_if_null(self, lst: str) -> str:
        return f"coalesce({lst}, {'[]' if self.name == 'duckdb' else 'array()'})"

    def list_of(self, items: list[str]) -> str:
        if self.name == "duckdb":
            return "[" + ", ".join(items) + "]"
        return "array(" + ", ".join(items) + ")"

    def struct(self, fields: list[tuple[str, str]]) -> str:
        if self.name == "duckdb":
            return "struct_pack(" + ", ".join(f"{self.quote(n)} := {v}" for n, v in fields) + ")"
        return "named_struct(" + ", ".join(f"{self.string(n)}, {v}" for n, v in fields) + ")"

    def field(self, struct_sql: str, name: str) -> str:
        return f"{struct_sql}.{self.quote(name)}"

    def error(self, message: str) -> str:
        return f"{self.error_fn}({self.string(message)})"

    def join(self, lst: str, sep: str) -> str:
        return f"{self.join_fn}({lst}, {sep})"

    def sort(self, lst: str) -> str:
        return f"{self.sort_fn}({lst})"

    def cast(self, sql: str, type_name: str) -> str:
        return f"CAST({sql} AS {type_name})"

    def null_of(self, type_name: str) -> str:
        return f"CAST(NULL AS {type_name})"

    def parse_json(self, sql: str, type_literal: str) -> str:
        """Parse JSON text into a typed value; unknown keys are ignored."""
        fn = "json_transform" if self.name == "duckdb" else "from_json"
        return f"{fn}({sql}, {type_literal})"

    def distinct(self, lst: str) -> str:
        return f"list_distinct({lst})" if self.name == "duckdb" else f"array_distinct({lst})"

    def list_contains(self, lst: str, item: str) -> str:
        return (
            f"list_contains({lst}, {item})"
            if self.name == "duckdb"
            else f"array_contains({lst}, {item})"
        )

    def regexp_extract(self, s: str, pattern: str, group: int) -> str:
        return f"nullif(regexp_extract({s}, {self.string(pattern)}, {group}), '')"

    def json_list(self, sql: str) -> str:
        """Split JSON array text into a list of JSON texts."""
        if self.name == "duckdb":
            return f"CAST(({sql}) AS JSON[])"
        return f"from_json({sql}, 'array<string>')"

    def int_div(self, a: str, b: str) -> str:
        return f"({a} // {b})" if self.name == "duckdb" else f"({a} div {b})"

    def starts_with(self, s: str, prefix: str) -> str:
        return (
            f"starts_with({s}, {prefix})" if self.name == "duckdb" else f"startswith({s}, {prefix})"
        )

    def ends_with(self, s: str, suffix: str) -> str:
        return f"ends_with({s}, {suffix})" if self.name == "duckdb" else f"endswith({s}, {suffix})"

    def str_contains(self, s: str, part: str) -> str:
        return f"contains({s}, {part})"

    def position(self, s: str, part: str) -> str:
        """1-based position of ``part`` in ``s``; 0 when absent."""
        return f"strpos({s}, {part})" if self.name == "duckdb" else f"instr({s}, {part})"

    def str_length(self, s: str) -> str:
        return f"length({s})"

    def regex_match(self, s: str, pattern: str) -> str:
        if self.name == "duckdb":
            return f"regexp_full_match({s}, {pattern})"
        return f"({s} RLIKE concat('^(?:', {pattern}, ')$'))"

    def to_string(self, sql: str) -> str:
        return f"CAST({sql} AS {self.type_names['string']})"

    def try_cast(self, sql: str, kind: str) -> str:
        return f"TRY_CAST({sql} AS {self.type_names[kind]})"

    def unnest(self, lst: str) -> str:
        return f"{self.unnest_fn}({lst})"


def _duckdb() -> Dialect:
    return Dialect(
        name="duckdb",
        transform_fn="list_transform",
        filter_fn="list_filter",
        error_fn="error",
        join_fn="array_to_string",
        sort_fn="list_sort",
        unnest_fn="unnest",
        index_base=1,
        type_names={
            "string": "VARCHAR",
            "boolean": "BOOLEAN",
            "integer": "BIGINT",
            "decimal": "DOUBLE",
        },
        struct_template="STRUCT({fields})",
        struct_field_template="{name} {type}",
        list_type_template="{type}[]",
        json_type="JSON",
        ident_quote='"',
        functions=(
            # a stable 60-bit surrogate key from text: the first 15 hex digits of its MD5
            "CREATE OR REPLACE MACRO hh_key(x) AS CAST('0x' || substr(md5(x), 1, 15) AS BIGINT)",
            # FHIR date/dateTime text -> DATE (partial dates: first day) / wall-clock TIMESTAMP
            "CREATE OR REPLACE MACRO hh_date(x) AS TRY_CAST(CASE length(x) WHEN 4 THEN x || '-01-01'"
            " WHEN 7 THEN x || '-01' ELSE substr(x, 1, 10) END AS DATE)",
            "CREATE OR REPLACE MACRO hh_datetime(x) AS CASE WHEN length(x) >= 10 THEN"
            " TRY_CAST(replace(substr(x, 1, 19), 'T', ' ') AS TIMESTAMP) END",
            "CREATE OR REPLACE MACRO hh_add_days(d, n) AS CAST(d + to_days(CAST(n AS INTEGER)) AS DATE)",
        ),
    )


def _spark() -> Dialect:
    return Dialect(
        name="spark",
        transform_fn="transform",
        filter_fn="filter",
        error_fn="raise_error",
        join_fn="array_join",
        sort_fn="array_sort",
        unnest_fn="explode",
        index_base=0,
        type_names={
            "string": "STRING",
            "boolean": "BOOLEAN",
            "integer": "BIGINT",
            "decimal": "DOUBLE",
        },
        struct_template="STRUCT<{fields}>",
        struct_field_template="{name}: {type}",
        list_type_template="ARRAY<{type}>",
        json_type="STRING",
        ident_quote="`",
        functions=(
            "CREATE OR REPLACE TEMPORARY FUNCTION hh_key(x STRING) RETURNS BIGINT"
            " RETURN CAST(conv(substr(md5(x), 1, 15), 16, 10) AS BIGINT)",
            "CREATE OR REPLACE TEMPORARY FUNCTION hh_date(x STRING) RETURNS DATE RETURN"
            " TRY_CAST(CASE length(x) WHEN 4 THEN concat(x, '-01-01') WHEN 7 THEN concat(x, '-01')"
            " ELSE substr(x, 1, 10) END AS DATE)",
            "CREATE OR REPLACE TEMPORARY FUNCTION hh_datetime(x STRING) RETURNS TIMESTAMP_NTZ"
            " RETURN CASE WHEN length(x) >= 10 THEN"
            " TRY_CAST(replace(substr(x, 1, 19), 'T', ' ') AS TIMESTAMP_NTZ) END",
            "CREATE OR REPLACE TEMPORARY FUNCTION hh_add_days(d DATE, n INT) RETURNS DATE"
            " RETURN date_add(d, n)",
        ),
        sqlglot_name="spark",
    )


DUCKDB = _duckdb()
SPARK = _spark()
DIALECTS = {"duckdb": DUCKDB, "spark": SPARK}
