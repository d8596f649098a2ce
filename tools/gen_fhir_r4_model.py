"""Regenerate ``src/healthhub/sources/fhir/r4_model.json.gz`` from the FHIR R4 JSON schema.

The model is the small set of facts the ViewDefinition compiler needs about FHIR R4:
for every resource and data type, its elements with their type and whether they repeat,
and which elements are choice types (``value[x]``) with their allowed types.

    python tools/gen_fhir_r4_model.py ../shared/data/fhir-r4/fhir.schema.json
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/healthhub/sources/fhir/r4_model.json.gz"

PRIMITIVES = {
    "base64Binary", "boolean", "canonical", "code", "date", "dateTime", "decimal", "id",
    "instant", "integer", "markdown", "oid", "positiveInt", "string", "time", "unsignedInt",
    "uri", "url", "uuid", "xhtml",
}  # fmt: skip


def element_type(prop: dict) -> str | None:
    ref = prop.get("$ref")
    if ref:
        return str(ref.rsplit("/", 1)[-1])
    if "enum" in prop:
        return "code"
    if prop.get("const") is not None:
        return "code"
    return None


def _suffix_type(pname: str, upper_types: dict[str, str]) -> str | None:
    best = None
    for upper, tname in upper_types.items():
        if (
            pname.endswith(upper)
            and len(pname) > len(upper)
            and pname[0].islower()
            and (best is None or len(upper) > len(best[0]))
        ):
            best = (upper, tname)
    return best[1] if best else None


def main(schema_path: str) -> None:
    schema = json.loads(Path(schema_path).read_text())
    defs = schema["definitions"]
    resources = sorted(ref["$ref"].rsplit("/", 1)[-1] for ref in defs["ResourceList"]["oneOf"])
    types: dict[str, dict[str, list[object]]] = {}
    choices: dict[str, dict[str, list[str]]] = {}
    upper_types = {name[0].upper() + name[1:]: name for name in defs if "_" not in name}
    for name, definition in defs.items():
        props = definition.get("properties")
        if not props:
            continue
        elements: dict[str, list[object]] = {}
        for pname, prop in props.items():
            if pname.startswith("_") or pname == "resourceType":
                continue
            repeats = prop.get("type") == "array"
            target = prop.get("items", {}) if repeats else prop
            etype = element_type(target)
            if etype is None:
                # Choice-type primitives carry only a pattern: the longest type-name suffix
                # names the type (multipleBirthBoolean -> boolean).
                etype = _suffix_type(pname, upper_types) or "string"
            elements[pname] = [etype, repeats]
        # Choice groups: base + TypeName, two or more variants sharing the base.
        groups: dict[str, list[str]] = {}
        for pname, (etype, _) in elements.items():
            for upper, tname in upper_types.items():
                if pname.endswith(upper) and len(pname) > len(upper) and tname == etype:
                    base = pname[: -len(upper)]
                    if base and base[0].islower():
                        groups.setdefault(base, []).append(tname)
        groups = {b: v for b, v in groups.items() if len(v) >= 2 and b not in elements}
        if groups:
            choices[name] = groups
        types[name] = elements
    model = {
        "fhirVersion": "4.0.1",
        "resources": resources,
        "primitives": sorted(PRIMITIVES),
        "types": types,
        "choices": choices,
    }
    data = json.dumps(model, separators=(",", ":"), sort_keys=True).encode()
    with gzip.GzipFile(OUT, "wb", mtime=0) as fh:
        fh.write(data)
    print(f"wrote {OUT} ({len(types)} types, {len(resources)} resources, {len(data)} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/fhir-r4/fhir.schema.json")
