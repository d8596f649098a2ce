"""getReferenceKey() on every reference form the hub meets, on every engine."""

from __future__ import annotations

import json
from pathlib import Path

from healthhub.engines.base import Engine
from healthhub.sources.fhir.conformance import run_conformance

REFS = {
    "rel": {"reference": "Patient/p1"},
    "abs": {"reference": "https://fhir.example.org/r4/Patient/p2"},
    "hist": {"reference": "Patient/p3/_history/7"},
    "urn": {"reference": "urn:uuid:0b1e6a3c-8b0e-4c4e-9d7b-2a1c5f0e9d11"},
    "urn_typed": {"reference": "urn:uuid:1111", "type": "Group"},
    "other": {"reference": "Group/g1"},
    "search": {"reference": "Patient?identifier=x|1"},
    "bare": {"reference": "p9"},
    "none": {"display": "no reference"},
}


def _suite() -> dict:
    resources = [
        {
            "resourceType": "Observation",
            "id": k,
            "status": "final",
            "code": {"text": "c"},
            "subject": ref,
        }
        for k, ref in REFS.items()
    ]
    columns = [
        {"name": "id", "path": "id"},
        {"name": "any_key", "path": "subject.getReferenceKey()"},
        {"name": "patient_key", "path": "subject.getReferenceKey(Patient)"},
    ]
    expect = [
        {"id": "rel", "any_key": "p1", "patient_key": "p1"},
        {"id": "abs", "any_key": "p2", "patient_key": "p2"},
        {"id": "hist", "any_key": "p3", "patient_key": "p3"},
        {
            "id": "urn",
            "any_key": "0b1e6a3c-8b0e-4c4e-9d7b-2a1c5f0e9d11",
            "patient_key": "0b1e6a3c-8b0e-4c4e-9d7b-2a1c5f0e9d11",
        },
        {"id": "urn_typed", "any_key": "1111", "patient_key": None},
        {"id": "other", "any_key": "g1", "patient_key": None},
        {"id": "search", "any_key": None, "patient_key": None},
        {"id": "bare", "any_key": None, "patient_key": None},
        {"id": "none", "any_key": None, "patient_key": None},
    ]
    view = {"resource": "Observation", "select": [{"column": columns}]}
    return {
        "resources": resources,
        "tests": [{"title": "reference forms", "view": view, "expect": expect}],
    }


def test_reference_keys(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(_suite()))
    result = run_conformance(engine, [path])
    assert result.failed == 0, result.outcomes[0].reason
