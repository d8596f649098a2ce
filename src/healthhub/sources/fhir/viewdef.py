"""SQL-on-FHIR v2 ViewDefinitions as validated, frozen values (pure, no engine).

``parse_view`` checks a ViewDefinition's structure and FHIRPath syntax and returns a
``ViewDefinition``; every error names the offending location (``select[1].column[0].path``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from healthhub.exceptions import ViewDefinitionError
from healthhub.sources.fhir import fhirpath
from healthhub.sources.fhir.fhir_model import load_model

_COLUMN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Constant value[x] suffix -> FHIR primitive type
CONSTANT_TYPES = {
    "Base64Binary": "base64Binary", "Boolean": "boolean", "Canonical": "canonical",
    "Code": "code", "Date": "date", "DateTime": "dateTime", "Decimal": "decimal", "Id": "id",
    "Instant": "instant", "Integer": "integer", "Integer64": "integer64", "Markdown": "markdown",
    "Oid": "oid", "PositiveInt": "positiveInt", "String": "string", "Time": "time",
    "UnsignedInt": "unsignedInt", "Uri": "uri", "Url": "url", "Uuid": "uuid",
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    name: str
    path: str
    expression: fhirpath.Node
    collection: bool
    type: str | None
    tags: tuple[tuple[str, str], ...]
    location: str


@dataclass(frozen=True)
class Select:
    columns: tuple[Column, ...]
    selects: tuple[Select, ...]
    union_all: tuple[Select, ...]
    for_each: fhirpath.Node | None
    for_each_or_null: bool
    repeat: tuple[fhirpath.Node, ...]
    location: str

    def column_names(self) -> list[str]:
        return [c.name for c in self.all_columns()]

    def all_columns(self) -> list[Column]:
        found = list(self.columns)
        for sub in self.selects:
            found.extend(sub.all_columns())
        if self.union_all:
            found.extend(self.union_all[0].all_columns())
        return found


@dataclass(frozen=True)
class Constant:
    name: str
    value: object
    type: str


@dataclass(frozen=True)
class ViewDefinition:
    name: str
    resource: str
    select: tuple[Select, ...]
    where: tuple[tuple[fhirpath.Node, str], ...]  # (expression, location)
    constants: tuple[Constant, ...]

    def column_names(self) -> list[str]:
        names: list[str] = []
        for sel in self.select:
            names.extend(sel.column_names())
        return names

    def tagged_columns(self, tag: str, value: str) -> list[str]:
        """Names of the columns carrying the tag ``tag`` with ``value``."""
        return [c.name for sel in self.select for c in sel.all_columns() if (tag, value) in c.tags]


def _expr(value: Any, location: str) -> fhirpath.Node:
    if not isinstance(value, str):
        raise ViewDefinitionError(
            f"{location}: expected a FHIRPath string, got {type(value).__name__}"
        )
    try:
        return fhirpath.parse(value)
    except ViewDefinitionError as exc:
        raise ViewDefinitionError(f"{location}: {exc}") from None


def _list(obj: dict[str, Any], key: str, location: str) -> list[Any]:
    value = obj.get(key, [])
    if isinstance(value, dict):  # a single object where a list is expected: accept it
        return [value]
    if not isinstance(value, list):
        raise ViewDefinitionError(f"{location}.{key}: expected a list")
    return value


def _column(obj: Any, location: str) -> Column:
    if not isinstance(obj, dict):
        raise ViewDefinitionError(f"{location}: expected an object")
    name = obj.get("name")
    path = obj.get("path")
    if not isinstance(path, str):
        raise ViewDefinitionError(f"{location}.path: required, a FHIRPath string")
    if not isinstance(name, str) or not _COLUMN_NAME.match(name):
        raise ViewDefinitionError(
            f"{location}.name: required, letters, digits and '_' starting with a letter"
        )
    collection = obj.get("collection", False)
    if not isinstance(collection, bool):
        raise ViewDefinitionError(f"{location}.collection: expected true or false")
    tags = tuple(
        (str(t.get("name")), str(t.get("value")))
        for t in _list(obj, "tag", location) + _list(obj, "tags", location)
        if isinstance(t, dict)
    )
    ctype = obj.get("type")
    if ctype is not None and not isinstance(ctype, str):
        raise ViewDefinitionError(f"{location}.type: expected a type name")
    return Column(name, path, _expr(path, f"{location}.path"), collection, ctype, tags, location)


def _select(obj: Any, location: str) -> Select:
    if not isinstance(obj, dict):
        raise ViewDefinitionError(f"{location}: expected an object")
    for_each = obj.get("forEach")
    for_each_or_null = obj.get("forEachOrNull")
    repeat = obj.get("repeat")
    if sum(x is not None for x in (for_each, for_each_or_null, repeat)) > 1:
        raise ViewDefinitionError(f"{location}: use only one of forEach, forEachOrNull and repeat")
    iterate = None
    if for_each is not None:
        iterate = _expr(for_each, f"{location}.forEach")
    elif for_each_or_null is not None:
        iterate = _expr(for_each_or_null, f"{location}.forEachOrNull")
    repeats: tuple[fhirpath.Node, ...] = ()
    if repeat is not None:
        if not isinstance(repeat, list) or not repeat:
            raise ViewDefinitionError(f"{location}.repeat: expected a list of FHIRPath strings")
        repeats = tuple(_expr(p, f"{location}.repeat[{i}]") for i, p in enumerate(repeat))
    columns = tuple(
        _column(c, f"{location}.column[{i}]") for i, c in enumerate(_list(obj, "column", location))
    )
    selects = tuple(
        _select(s, f"{location}.select[{i}]") for i, s in enumerate(_list(obj, "select", location))
    )
    unions = tuple(
        _select(s, f"{location}.unionAll[{i}]")
        for i, s in enumerate(_list(obj, "unionAll", location))
    )
    return Select(
        columns, selects, unions, iterate, for_each_or_null is not None, repeats, location
    )


def _check_columns(sel: Select, seen: list[str]) -> list[str]:
    """SQL-on-FHIR ValidateColumns: unique names, consistent unionAll branches."""
    out = list(seen)
    for col in sel.columns:
        if col.name in out:
            raise ViewDefinitionError(
                f"{col.location}.name: column '{col.name}' is already defined"
            )
        out.append(col.name)
    for sub in sel.selects:
        for name in _check_columns(sub, out)[len(out) :]:
            if name in out:
                raise ViewDefinitionError(f"{sub.location}: column '{name}' is already defined")
            out.append(name)
    if sel.union_all:
        first = _check_columns(sel.union_all[0], out)[len(out) :]
        for branch in sel.union_all[1:]:
            names = _check_columns(branch, out)[len(out) :]
            if names != first:
                raise ViewDefinitionError(
                    f"{branch.location}: unionAll branches must have the same columns in the same"
                    f" order ({', '.join(first)} vs {', '.join(names)})"
                )
        out.extend(first)
    return out


def _constant(obj: Any, location: str) -> Constant:
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        raise ViewDefinitionError(f"{location}: a constant needs a name and one value[x]")
    values = [
        (k[5:], v) for k, v in obj.items() if k.startswith("value") and k[5:] in CONSTANT_TYPES
    ]
    if len(values) != 1:
        raise ViewDefinitionError(
            f"{location}: constant '{obj['name']}' needs exactly one value[x] (valueString, valueInteger, ...)"
        )
    suffix, value = values[0]
    return Constant(obj["name"], value, CONSTANT_TYPES[suffix])


def parse_view(data: Any, source: str = "ViewDefinition") -> ViewDefinition:
    """Validate a ViewDefinition (already decoded JSON) and return it."""
    if not isinstance(data, dict):
        raise ViewDefinitionError(f"{source}: a ViewDefinition must be a JSON object")
    resource = data.get("resource")
    if not isinstance(resource, str) or not resource:
        raise ViewDefinitionError(f"{source}: 'resource' is required (the FHIR resource type)")
    if not load_model().is_resource(resource):
        raise ViewDefinitionError(f"{source}.resource: '{resource}' is not a FHIR R4 resource type")
    selects = _list(data, "select", source)
    if not selects:
        raise ViewDefinitionError(f"{source}: 'select' needs at least one selection")
    select = tuple(_select(s, f"select[{i}]") for i, s in enumerate(selects))
    where = []
    for i, w in enumerate(_list(data, "where", source)):
        if not isinstance(w, dict) or "path" not in w:
            raise ViewDefinitionError(f"where[{i}]: expected an object with a 'path'")
        where.append((_expr(w["path"], f"where[{i}].path"), f"where[{i}].path"))
    constants = tuple(
        _constant(c, f"constant[{i}]") for i, c in enumerate(_list(data, "constant", source))
    )
    names = [c.name for c in constants]
    if len(set(names)) != len(names):
        raise ViewDefinitionError(f"{source}.constant: constant names must be unique")
    view = ViewDefinition(
        name=str(data.get("name") or resource.lower()),
        resource=resource,
        select=select,
        where=tuple(where),
        constants=constants,
    )
    seen: list[str] = []
    for sel in view.select:
        for name in _check_columns(sel, seen)[len(seen) :]:
            if name in seen:
                raise ViewDefinitionError(f"{sel.location}: column '{name}' is already defined")
            seen.append(name)
    return view


def load_view(path: Path) -> ViewDefinition:
    """Read and validate a ViewDefinition file."""
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise ViewDefinitionError(f"{path}: no such ViewDefinition file") from None
    except OSError as exc:
        raise ViewDefinitionError(f"{path}: cannot read ({exc.strerror})") from None
    except orjson.JSONDecodeError as exc:
        raise ViewDefinitionError(f"{path}: not valid JSON ({exc.args[0].split(':')[0]})") from None
    return parse_view(data, str(path))
