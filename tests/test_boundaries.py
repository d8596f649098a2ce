"""lowBoundary() and highBoundary() on dates, dateTimes, times, decimals and Periods."""

from __future__ import annotations

import json
from pathlib import Path

from healthhub.engines.base import Engine
from healthhub.sources.fhir.conformance import run_conformance


def _obs(oid: str, **fields: object) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"text": "c"},
        **fields,
    }


def test_boundaries(engine: Engine, tmp_path: Path) -> None:
    resources = [
        _obs("year", effectiveDateTime="2010", valueQuantity={"value": 1.587}, valuePeriod=None),
        _obs("month", effectiveDateTime="2012-02", valueQuantity={"value": 12}),
        _obs("day", effectiveDateTime="2014-03-15"),
        _obs("full", effectiveDateTime="2015-02-07T13:28:17+02:00", valueTime="13:28"),
        _obs("period", effectivePeriod={"start": "2018-05", "end": "2018-06-10"}),
    ]
    columns = [
        {"name": "id", "path": "id"},
        {"name": "low", "path": "effective.ofType(dateTime).lowBoundary()", "type": "dateTime"},
        {"name": "high", "path": "effective.ofType(dateTime).highBoundary()", "type": "dateTime"},
        {"name": "plow", "path": "effective.ofType(Period).lowBoundary()", "type": "dateTime"},
        {"name": "phigh", "path": "effective.ofType(Period).highBoundary()", "type": "dateTime"},
        {"name": "dlow", "path": "value.ofType(Quantity).value.lowBoundary()", "type": "decimal"},
        {"name": "dhigh", "path": "value.ofType(Quantity).value.highBoundary()", "type": "decimal"},
    ]
    expect = [
        {
            "id": "year",
            "low": "2010-01-01T00:00:00.000+14:00",
            "high": "2010-12-31T23:59:59.999-12:00",
            "plow": None,
            "phigh": None,
            "dlow": 1.5865,
            "dhigh": 1.5875,
        },
        {
            "id": "month",
            "low": "2012-02-01T00:00:00.000+14:00",
            "high": "2012-02-29T23:59:59.999-12:00",
            "plow": None,
            "phigh": None,
            "dlow": 11.5,
            "dhigh": 12.5,
        },
        {
            "id": "day",
            "low": "2014-03-15T00:00:00.000+14:00",
            "high": "2014-03-15T23:59:59.999-12:00",
            "plow": None,
            "phigh": None,
            "dlow": None,
            "dhigh": None,
        },
        {
            "id": "full",
            "low": "2015-02-07T13:28:17.000+02:00",
            "high": "2015-02-07T13:28:17.999+02:00",
            "plow": None,
            "phigh": None,
            "dlow": None,
            "dhigh": None,
        },
        {
            "id": "period",
            "low": None,
            "high": None,
            "plow": "2018-05-01T00:00:00.000+14:00",
            "phigh": "2018-06-10T23:59:59.999-12:00",
            "dlow": None,
            "dhigh": None,
        },
    ]
    suite = {
        "resources": resources,
        "tests": [
            {
                "title": "b",
                "view": {"resource": "Observation", "select": [{"column": columns}]},
                "expect": expect,
            }
        ],
    }
    path = tmp_path / "boundaries.json"
    path.write_text(json.dumps(suite))
    result = run_conformance(engine, [path])
    assert result.failed == 0, result.outcomes[0].reason
