"""FHIRPath parsing, ViewDefinition validation and compile-time type checks."""

from __future__ import annotations

import pytest

from healthhub.engines.dialects import ListOf, StructOf
from healthhub.exceptions import ViewDefinitionError
from healthhub.sources.fhir import fhirpath as fp
from healthhub.sources.fhir.compiler import compile_view
from healthhub.sources.fhir.viewdef import parse_view


def _view(select: list[dict], **extra: object) -> dict:
    return {"resource": "Patient", "select": select, **extra}


@pytest.mark.parametrize(
    ("expression", "tree"),
    [
        ("name.family", fp.Member(fp.Identifier("name"), "family")),
        (
            "1 + 2 * 3",
            fp.Binary(
                "+",
                fp.Literal(1, "integer"),
                fp.Binary("*", fp.Literal(2, "integer"), fp.Literal(3, "integer")),
            ),
        ),
        (
            "a - b - c",
            fp.Binary(
                "-", fp.Binary("-", fp.Identifier("a"), fp.Identifier("b")), fp.Identifier("c")
            ),
        ),
        (
            "a or b and c",
            fp.Binary(
                "or", fp.Identifier("a"), fp.Binary("and", fp.Identifier("b"), fp.Identifier("c"))
            ),
        ),
        ("name[0]", fp.Indexer(fp.Identifier("name"), fp.Literal(0, "integer"))),
        ("%`my const`", fp.Constant("my const")),
        ("'it\\'s'", fp.Literal("it's", "string")),
        ("@2020-01-02T10:00:00Z", fp.Literal("2020-01-02T10:00:00Z", "dateTime")),
        ("@2020-01", fp.Literal("2020-01", "date")),
        ("x is Quantity", fp.TypeOp("is", fp.Identifier("x"), "Quantity")),
        ("where(a)", fp.Call(None, "where", (fp.Identifier("a"),))),
        ("{}", fp.Literal(None, "empty")),
    ],
)
def test_parse(expression: str, tree: fp.Node) -> None:
    assert fp.parse(expression) == tree


@pytest.mark.parametrize(
    ("expression", "position"), [("@@", 1), ("name.", 6), ("a +", 4), ("f(1,", 5), ("(a", 3)]
)
def test_syntax_errors_name_the_position(expression: str, position: int) -> None:
    with pytest.raises(ViewDefinitionError, match=f"at character {position}"):
        fp.parse(expression)


@pytest.mark.parametrize(
    ("view", "message"),
    [
        ({}, "'resource' is required"),
        (
            {"resource": "Patientt", "select": [{"column": [{"name": "id", "path": "id"}]}]},
            "not a FHIR R4 resource",
        ),
        (_view([{"forEach": 1}]), r"select\[0\].forEach: expected a FHIRPath string"),
        (
            _view([{"column": [{"name": "id", "path": "id"}, {"name": "id", "path": "gender"}]}]),
            "already defined",
        ),
        (
            _view([{"column": [{"name": "bad name", "path": "id"}]}]),
            r"select\[0\].column\[0\].name",
        ),
        (
            _view(
                [
                    {
                        "unionAll": [
                            {"column": [{"name": "a", "path": "id"}]},
                            {"column": [{"name": "b", "path": "id"}]},
                        ]
                    }
                ]
            ),
            "unionAll branches",
        ),
        (
            _view([{"column": [{"name": "id", "path": "id"}]}], constant=[{"name": "c"}]),
            "exactly one value",
        ),
        (
            _view([{"column": [{"name": "x", "path": "name.@"}]}]),
            r"select\[0\].column\[0\].path: invalid FHIRPath",
        ),
    ],
)
def test_invalid_views_are_rejected_with_the_offending_path(view: dict, message: str) -> None:
    with pytest.raises(ViewDefinitionError, match=message):
        parse_view(view)


@pytest.mark.parametrize(
    ("select", "where", "message"),
    [
        (
            [{"column": [{"name": "x", "path": "name.famly"}]}],
            [],
            r"select\[0\].column\[0\].path: 'famly' is not an element of HumanName",
        ),
        ([{"column": [{"name": "x", "path": "deceased.value"}]}], [], "use ofType"),
        (
            [{"column": [{"name": "x", "path": "id"}]}],
            [{"path": "name.family"}],
            r"where\[0\].path: a where path must be boolean",
        ),
        (
            [{"column": [{"name": "x", "path": "name.nosuch()"}]}],
            [],
            "function 'nosuch\\(\\)' is not supported",
        ),
        (
            [{"column": [{"name": "x", "path": "%missing"}]}],
            [],
            "constant '%missing' is not defined",
        ),
        (
            [{"column": [{"name": "x", "path": "gender.getReferenceKey()"}]}],
            [],
            "must be called on a Reference",
        ),
    ],
)
def test_type_errors_are_found_at_compile_time(select: list, where: list, message: str) -> None:
    view = parse_view(_view(select, where=where))
    for dialect in ("duckdb", "spark"):
        with pytest.raises(ViewDefinitionError, match=message):
            compile_view(view, dialect)


def test_read_schema_holds_only_what_the_view_uses() -> None:
    view = parse_view(
        {
            "resource": "Observation",
            "select": [
                {
                    "column": [
                        {"name": "id", "path": "getResourceKey()"},
                        {"name": "code", "path": "code.coding.first().code"},
                        {"name": "value", "path": "value.ofType(Quantity).value"},
                        {"name": "patient", "path": "subject.getReferenceKey(Patient)"},
                    ]
                }
            ],
        }
    )
    schema = dict(compile_view(view).read_schema)
    assert set(schema) == {"resourceType", "id", "code", "valueQuantity", "subject"}
    assert schema["valueQuantity"] == StructOf((("value", "decimal"),))
    assert schema["code"] == StructOf((("coding", ListOf(StructOf((("code", "string"),)))),))


def test_both_dialects_compile_the_same_view_differently() -> None:
    view = parse_view(
        _view(
            [
                {
                    "forEach": "name",
                    "column": [{"name": "i", "path": "%rowIndex"}, {"name": "f", "path": "family"}],
                }
            ]
        )
    )
    duck, spark = compile_view(view, "duckdb"), compile_view(view, "spark")
    assert "list_transform" in duck.query and "lambda" in duck.query and "unnest" in duck.query
    assert "transform(" in spark.query and "->" in spark.query and "explode" in spark.query
    assert duck.read_schema == spark.read_schema
