"""Regenerate the starter vocabulary, ``src/healthhub/standardize/starter/*.csv``.

The starter vocabulary is the small OMOP vocabulary healthhub ships so that the pipeline
runs on the synthetic generator's data without an Athena download. It covers every
SNOMED, LOINC, RxNorm and CVX code the generator emits (`healthhub.synth.emitted_codes`),
every UCUM unit it writes, the OHDSI concepts the ETL uses as constants, and an
ingredient for every drug (for drug eras). Files are in the Athena layout: tab-separated,
unquoted, dates YYYYMMDD.

Rules (deterministic; rerun after the generator's codes change):

- A code found in the shared vocabulary shard (``omop-vocab/CONCEPT.csv``) keeps its real
  row. A standard concept maps to itself; a non-standard one keeps its real 'Maps to'
  rows (``omop-vocab/CONCEPT_RELATIONSHIP.csv``) to standard targets found in the shard,
  target rows included.
- A non-standard code whose target is not in the shard, or that has no 'Maps to' at all
  (deprecated), maps to a local standard concept that takes the source's name, domain,
  vocabulary and class, with concept_code ``healthhub:<code>``.
- A UCUM unit absent from CONCEPT.csv that the shard's SOURCE_TO_CONCEPT_MAP maps (as
  Synthea's units, whose source code is the UCUM code) takes that map's target concept.
- A code absent from the shard gets a local standard concept with its real vocabulary
  and code, the generator's display as name and a domain chosen by what the code is in
  the generator (`local_roles`): vaccines Drug/CVX, LOINC note types Note, body
  structures Spec Anatomic Site, specialties Provider, devices Device, reactions
  Condition, allergies and smoking statuses Observation, procedures Procedure, units Unit.
- Local concept ids run from 2,000,000,001 (the OMOP range for local concepts) in
  (vocabulary_id, concept_code) order.
- Every standard concept maps to itself and is its own ancestor (levels 0). Each RxNorm
  drug descends from its ingredients: those the shard's CONCEPT_ANCESTOR links it to,
  else the shard's Ingredient concepts whose name matches a component of the drug's name
  (salts dropped: "metformin hydrochloride" -> metformin), else a local Ingredient in
  the RxNorm Extension vocabulary (code ``healthhub:<name>``), so that the OHDSI drug-era
  query, which keeps RxNorm and RxNorm Extension ingredients, finds it.
- VOCABULARY, DOMAIN, CONCEPT_CLASS and RELATIONSHIP hold the rows referenced.

    python tools/gen_starter_vocabulary.py [../shared/data/omop-vocab]
"""

from __future__ import annotations

import csv
import json
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from healthhub.standardize.cdm import CDM_TABLES
from healthhub.standardize.vocabulary import code_systems
from healthhub.synth import codes, generate
from healthhub.synth.codes import Code, emitted_codes

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src/healthhub/standardize/starter"
FIRST_LOCAL_ID = 2_000_000_001
LOCAL_CODE = "healthhub:"
START, END = "19700101", "20991231"
VOCABULARIES = ("SNOMED", "LOINC", "RxNorm", "CVX")
UCUM_SYSTEM = "http://unitsofmeasure.org"
#: The code of a hand-entered constant whose Athena concept_code the shared shard lacks.
UNKNOWN_CODE = "healthhub:unknown-code"

#: OHDSI concepts the ETL uses as constants, absent from the shard: id, name, domain,
#: vocabulary, class, standard, code, invalid_reason. Gender UNKNOWN and OTHER are
#: deprecated in Athena (OHDSI: use concept 0 for an unknown gender).
CONSTANTS = (
    (0, "No matching concept", "Metadata", "None", "Undefined", "", "No matching concept", ""),
    (8507, "MALE", "Gender", "Gender", "Gender", "S", "M", ""),
    (8532, "FEMALE", "Gender", "Gender", "Gender", "S", "F", ""),
    (8551, "UNKNOWN", "Gender", "Gender", "Gender", "", "U", "D"),
    (8521, "OTHER", "Gender", "Gender", "Gender", "", "O", "D"),
    (8657, "American Indian or Alaska Native", "Race", "Race", "Race", "S", "1", ""),
    (8515, "Asian", "Race", "Race", "Race", "S", "2", ""),
    (8516, "Black or African American", "Race", "Race", "Race", "S", "3", ""),
    (8557, "Native Hawaiian or Other Pacific Islander", "Race", "Race", "Race", "S", "4", ""),
    (8527, "White", "Race", "Race", "Race", "S", "5", ""),
    (38003563, "Hispanic or Latino", "Ethnicity", "Ethnicity", "Ethnicity", "S", "Hispanic", ""),
    (38003564, "Not Hispanic or Latino", "Ethnicity", "Ethnicity", "Ethnicity", "S",
     "Not Hispanic", ""),
    (9201, "Inpatient Visit", "Visit", "Visit", "Visit", "S", "IP", ""),
    (9202, "Outpatient Visit", "Visit", "Visit", "Visit", "S", "OP", ""),
    (9203, "Emergency Room Visit", "Visit", "Visit", "Visit", "S", "ER", ""),
    (262, "Emergency Room and Inpatient Visit", "Visit", "Visit", "Visit", "S", "ERIP", ""),
    (581476, "Home Visit", "Visit", "Visit", "Visit", "S", UNKNOWN_CODE, ""),
    (5083, "Telehealth", "Visit", "CMS Place of Service", "Visit", "S", "02", ""),
    (32036, "Laboratory Visit", "Visit", "Visit", "Visit", "S", UNKNOWN_CODE, ""),
    (32817, "EHR", "Type Concept", "Type Concept", "Type Concept", "S", UNKNOWN_CODE, ""),
    (32818, "EHR administration record", "Type Concept", "Type Concept", "Type Concept", "S",
     UNKNOWN_CODE, ""),
    (32838, "EHR prescription", "Type Concept", "Type Concept", "Type Concept", "S",
     UNKNOWN_CODE, ""),
    (32865, "Patient self-report", "Type Concept", "Type Concept", "Type Concept", "S",
     UNKNOWN_CODE, ""),
    (32880, "Standard algorithm", "Type Concept", "Type Concept", "Type Concept", "S",
     UNKNOWN_CODE, ""),
    (32678, "UTF-8", "Metadata", "Metadata", "Metadata", "S", UNKNOWN_CODE, ""),
    (4180186, "English language", "Language", "SNOMED", "Qualifier Value", "S", UNKNOWN_CODE,
     ""),
    (4171756, "<", "Meas Value Operator", "SNOMED", "Qualifier Value", "S", UNKNOWN_CODE, ""),
    (4171754, "<=", "Meas Value Operator", "SNOMED", "Qualifier Value", "S", UNKNOWN_CODE, ""),
    (4172703, "=", "Meas Value Operator", "SNOMED", "Qualifier Value", "S", UNKNOWN_CODE, ""),
    (4172704, ">", "Meas Value Operator", "SNOMED", "Qualifier Value", "S", UNKNOWN_CODE, ""),
    (4171755, ">=", "Meas Value Operator", "SNOMED", "Qualifier Value", "S", UNKNOWN_CODE, ""),
)  # fmt: skip
#: Vocabularies the shard's VOCABULARY.csv lacks: id -> (name, reference, version, concept).
EXTRA_VOCABULARIES = {
    "CVX": (
        "CDC Vaccine Administered CVX (NCIRD)",
        "https://www2a.cdc.gov/vaccines/iis/iisstandards/vaccines.asp?rpt=cvx",
        "CVX 20221019",
        "581400",
    ),
}
#: Salt and form words dropped from a drug component's name to get its ingredient.
SALTS = frozenset({"hydrochloride", "sodium", "potassium", "sulfate", "acetate", "propionate"})
#: Ingredients whose name ends with a salt word.
SALT_INGREDIENTS = frozenset({"ferrous sulfate", "sodium chloride"})

Row = dict[str, str]


def read_rows(path: Path) -> list[Row]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def athena_date(value: str) -> str:
    return value.replace("-", "")


def concept_row(
    concept_id: int | str,
    name: str,
    domain: str,
    vocabulary: str,
    concept_class: str,
    standard: str,
    code: str,
    invalid: str = "",
    start: str = START,
    end: str = END,
) -> Row:
    return {
        "concept_id": str(concept_id),
        "concept_name": name,
        "domain_id": domain,
        "vocabulary_id": vocabulary,
        "concept_class_id": concept_class,
        "standard_concept": standard,
        "concept_code": code,
        "valid_start_date": start,
        "valid_end_date": end,
        "invalid_reason": invalid,
    }


def shard_concept(row: Row) -> Row:
    """A concept row of the shard, dates in the Athena layout."""
    return {**row, "valid_start_date": athena_date(row["valid_start_date"]),
            "valid_end_date": athena_date(row["valid_end_date"])}  # fmt: skip


def local_roles(note_domain: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(system, code) -> (domain_id, concept_class_id) for codes the shard may lack."""
    roles: dict[tuple[str, str], tuple[str, str]] = {}

    def put(found: Iterable[Code | None], domain: str, concept_class: str) -> None:
        for code in found:
            if code is not None:
                roles.setdefault((code.system, code.code), (domain, concept_class))

    put([v.code for v in codes.VACCINES], "Drug", "CVX")
    put([codes.INFLUENZA_VACCINE, codes.COVID_VACCINE], "Drug", "CVX")
    notes = [codes.PROGRESS_NOTE, codes.DISCHARGE_SUMMARY, codes.EMERGENCY_NOTE,
             codes.IMAGING_REPORT]  # fmt: skip
    put(notes, note_domain, "Clinical Observation")
    put([i.body_site for i in codes.IMAGING.values()], "Spec Anatomic Site", "Body Structure")
    put([c for group in codes.SPECIALTIES.values() for c in group], "Provider", "Qualifier Value")
    devices = [*codes.IMPLANTS.values(), codes.BLOOD_GLUCOSE_METER, codes.HOME_NEBULIZER]
    put(devices, "Device", "Physical Object")
    put(codes.REACTIONS.values(), "Condition", "Clinical Finding")
    put([a.code for a in codes.ALLERGIES], "Observation", "Clinical Finding")
    put(codes.SMOKING_ANSWERS.values(), "Observation", "Clinical Finding")
    procedures = [i.procedure for i in codes.IMAGING.values()] + list(codes.PROCEDURES.values())
    procedures += [codes.DEPRESSION_SCREENING, codes.COLONOSCOPY, codes.CERVICAL_SMEAR,
                   codes.CHRONIC_FOLLOW_UP_PROCEDURE]  # fmt: skip
    put(procedures, "Procedure", "Procedure")
    conditions = [c.code for c in codes.CHRONIC] + [a.code for a in codes.ACUTE]
    put([*conditions, *(a.code for a in codes.ADMISSIONS), codes.OBESITY], "Condition",
        "Clinical Finding")  # fmt: skip
    return roles


def generator_units() -> list[str]:
    """Every UCUM code in the generator's tables and in 50 generated people's resources."""
    units = {lab.unit for lab in codes.LABS.values()}
    units |= {med.unit for med in codes.MEDICATIONS.values()}
    units |= {v.unit for v in vars(codes).values() if isinstance(v, codes.Vital)}
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), patients=50, providers=3, seed=1)
        for path in sorted(Path(tmp).rglob("*.ndjson")):
            for line in path.read_text("utf-8").splitlines():
                units |= _quantity_codes(json.loads(line))
    return sorted(unit for unit in units if unit)


def _quantity_codes(value: object) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        if value.get("system") == UCUM_SYSTEM and isinstance(value.get("code"), str):
            found.add(value["code"])
        for item in value.values():
            found |= _quantity_codes(item)
    elif isinstance(value, list):
        for item in value:
            found |= _quantity_codes(item)
    return found


def ingredient_name(component: str) -> str | None:
    """The ingredient of one component of an RxNorm drug name, salts dropped."""
    words = re.sub(r"\[.*?\]", "", component).split()
    while words and not words[0][:1].islower():  # quantities, "24 HR", "NDA020503 200 ACTUAT"
        words.pop(0)
    name: list[str] = []
    for word in words:
        if word[:1].isdigit():
            break
        name.append(word)
    text = " ".join(name).split(",")[0].strip()
    if not text:
        return None
    parts = text.split()
    while len(parts) > 1 and parts[-1] in SALTS and " ".join(parts) not in SALT_INGREDIENTS:
        parts.pop()
    return " ".join(parts)


def local_key(vocabulary: str, code: str) -> str:
    """What stands for a local concept's id until the ids are given."""
    return f"local:{vocabulary}|{code}"


class Starter:
    """The rows being collected, keyed so that each row is written once."""

    def __init__(self, shard: Path) -> None:
        self.shard = shard
        concepts = read_rows(shard / "CONCEPT.csv")
        self.by_id = {row["concept_id"]: row for row in concepts}
        self.by_code = {(row["vocabulary_id"], row["concept_code"]): row for row in concepts}
        for row in read_rows(shard / "dbt-synthea-shard" / "SOURCE_TO_CONCEPT_MAP.csv"):
            if row["target_vocabulary_id"] == "UCUM" and row["target_domain_id"] == "Unit":
                unit = concept_row(row["target_concept_id"], row["target_concept_name"], "Unit",
                                   "UCUM", "Unit", "S", row["source_code"])  # fmt: skip
                self.by_code.setdefault(("UCUM", row["source_code"]), unit)
                self.by_id.setdefault(unit["concept_id"], unit)
        self.maps_to: dict[str, list[Row]] = {}
        for row in read_rows(shard / "CONCEPT_RELATIONSHIP.csv"):
            if row["relationship_id"] == "Maps to" and not row["invalid_reason"]:
                self.maps_to.setdefault(row["concept_id_1"], []).append(row)
        self.ingredients = {
            row["concept_id"]: row
            for row in concepts
            if row["concept_class_id"] == "Ingredient" and row["standard_concept"] == "S"
        }
        self.ancestors: dict[str, list[Row]] = {}
        for row in read_rows(shard / "dbt-synthea-shard" / "CONCEPT_ANCESTOR.csv"):
            if row["ancestor_concept_id"] in self.ingredients:
                self.ancestors.setdefault(row["descendant_concept_id"], []).append(row)
        self.domains = {row["domain_id"] for row in read_rows(shard / "DOMAIN.csv")}
        self.concepts: dict[str, Row] = {}  # concept_id -> row; local ones keyed by code
        self.maps: dict[tuple[str, str], Row] = {}
        self.ancestry: dict[tuple[str, str], Row] = {}
        self.local: dict[tuple[str, str], Row] = {}  # (vocabulary, code) -> row, id unset
        self.targets: dict[tuple[str, str], list[str]] = {}  # code -> standard concept keys

    def add_local(self, row: Row) -> str:
        """Add a local concept; its id is given at the end, its key stands in until then."""
        self.local.setdefault((row["vocabulary_id"], row["concept_code"]), row)
        return local_key(row["vocabulary_id"], row["concept_code"])

    def add_code(
        self, vocabulary: str, code: str, display: str, role: tuple[str, str] | None
    ) -> None:
        real = self.by_code.get((vocabulary, code))
        if real is None:
            if role is None:
                raise SystemExit(f"no domain rule for {vocabulary} {code}: extend local_roles()")
            domain, concept_class = role
            key = self.add_local(
                concept_row(0, display, domain, vocabulary, concept_class, "S", code)
            )
            self.targets[(vocabulary, code)] = [key]
            return
        source = real["concept_id"]
        self.concepts[source] = shard_concept(real)
        if real["standard_concept"] == "S" and not real["invalid_reason"]:
            self.targets[(vocabulary, code)] = [source]
            return
        targets = []
        for relationship in self.maps_to.get(source, []):
            target = self.by_id.get(relationship["concept_id_2"])
            if target is None or target["standard_concept"] != "S" or target["invalid_reason"]:
                continue
            self.concepts[target["concept_id"]] = shard_concept(target)
            self.add_map(source, target["concept_id"], relationship)
            targets.append(target["concept_id"])
        if not targets:
            local = concept_row(0, real["concept_name"], real["domain_id"], vocabulary,
                                real["concept_class_id"], "S", LOCAL_CODE + code)  # fmt: skip
            targets = [self.add_local(local)]
            self.add_map(source, targets[0])
        self.targets[(vocabulary, code)] = targets

    def add_map(self, source: str, target: str, real: Row | None = None) -> None:
        start = athena_date(real["valid_start_date"]) if real else START
        end = athena_date(real["valid_end_date"]) if real else END
        self.maps[(source, target)] = {
            "concept_id_1": source, "concept_id_2": target, "relationship_id": "Maps to",
            "valid_start_date": start, "valid_end_date": end, "invalid_reason": "",
        }  # fmt: skip

    def add_ingredients(self, drug: str) -> None:
        """Link a standard RxNorm drug to its ingredients (see the module's rules)."""
        row = self.concepts[drug]
        found: dict[str, tuple[str, str]] = {}  # ingredient key -> levels
        for ancestor in self.ancestors.get(drug, []):
            ingredient = ancestor["ancestor_concept_id"]
            self.concepts[ingredient] = shard_concept(self.ingredients[ingredient])
            levels = (ancestor["min_levels_of_separation"], ancestor["max_levels_of_separation"])
            found[ingredient] = levels
        named = {self.concepts[key]["concept_name"].lower() for key in found}
        by_name = {r["concept_name"].lower(): r for r in self.ingredients.values()}
        for component in row["concept_name"].split(" / "):
            name = ingredient_name(component)
            if name is None or name.lower() in named:
                continue
            named.add(name.lower())
            shared = by_name.get(name.lower())
            if shared is not None:
                self.concepts[shared["concept_id"]] = shard_concept(shared)
                found[shared["concept_id"]] = ("1", "1")
            else:
                local = concept_row(0, name, "Drug", "RxNorm Extension", "Ingredient", "S",
                                    LOCAL_CODE + name)  # fmt: skip
                found[self.add_local(local)] = ("1", "1")
        if not found:
            raise SystemExit(f"no ingredient found for RxNorm drug {row['concept_code']}")
        for ingredient, (low, high) in found.items():
            self.ancestry[(ingredient, drug)] = {
                "ancestor_concept_id": ingredient, "descendant_concept_id": drug,
                "min_levels_of_separation": low, "max_levels_of_separation": high,
            }  # fmt: skip

    def assign_local_ids(self) -> None:
        """Number the local concepts and put their ids in the rows that refer to them."""
        ids: dict[str, str] = {}
        for number, (vocabulary, code) in enumerate(sorted(self.local)):
            concept_id = str(FIRST_LOCAL_ID + number)
            ids[local_key(vocabulary, code)] = concept_id
            self.concepts[concept_id] = {**self.local[(vocabulary, code)], "concept_id": concept_id}

        def renumber(row: Row) -> Row:
            return {column: ids.get(value, value) for column, value in row.items()}

        maps = [renumber(row) for row in self.maps.values()]
        self.maps = {(r["concept_id_1"], r["concept_id_2"]): r for r in maps}
        ancestry = [renumber(row) for row in self.ancestry.values()]
        self.ancestry = {
            (r["ancestor_concept_id"], r["descendant_concept_id"]): r for r in ancestry
        }
        self.targets = {code: [ids.get(k, k) for k in keys] for code, keys in self.targets.items()}

    def add_self_rows(self) -> None:
        for concept_id, row in self.concepts.items():
            if row["standard_concept"] == "S":
                self.maps.setdefault((concept_id, concept_id), {
                    "concept_id_1": concept_id, "concept_id_2": concept_id,
                    "relationship_id": "Maps to", "valid_start_date": row["valid_start_date"],
                    "valid_end_date": END, "invalid_reason": "",
                })  # fmt: skip
                self.ancestry[(concept_id, concept_id)] = {
                    "ancestor_concept_id": concept_id, "descendant_concept_id": concept_id,
                    "min_levels_of_separation": "0", "max_levels_of_separation": "0",
                }  # fmt: skip


def build(shard: Path) -> dict[str, list[Row]]:
    starter = Starter(shard)
    for constant in CONSTANTS:
        concept_id = str(constant[0])
        real = starter.by_id.get(concept_id)
        starter.concepts[concept_id] = shard_concept(real) if real else concept_row(*constant)
    note_domain = "Note" if "Note" in starter.domains else "Observation"
    roles = local_roles(note_domain)
    systems = code_systems()
    for system, code, display in emitted_codes():
        vocabulary = systems.get(system)
        if vocabulary in VOCABULARIES:
            starter.add_code(vocabulary, code, display, roles.get((system, code)))
    for unit in generator_units():
        starter.add_code("UCUM", unit, unit, ("Unit", "Unit"))
    for system, code, _ in emitted_codes():
        if systems.get(system) == "RxNorm":
            for drug in starter.targets[("RxNorm", code)]:
                if not drug.startswith("local:"):  # RxNorm drugs are all in the shard
                    starter.add_ingredients(drug)
    starter.assign_local_ids()
    starter.add_self_rows()
    return reference_tables(starter, shard)


def reference_tables(starter: Starter, shard: Path) -> dict[str, list[Row]]:
    concepts = sorted(starter.concepts.values(), key=lambda r: int(r["concept_id"]))
    used = {
        "vocabulary": {r["vocabulary_id"] for r in concepts},
        "domain": {r["domain_id"] for r in concepts},
        "concept_class": {r["concept_class_id"] for r in concepts},
        "relationship": {"Maps to", "Mapped from"},
    }
    tables: dict[str, list[Row]] = {
        "concept": concepts,
        "concept_relationship": sorted(
            starter.maps.values(), key=lambda r: (int(r["concept_id_1"]), int(r["concept_id_2"]))
        ),
        "concept_ancestor": sorted(
            starter.ancestry.values(),
            key=lambda r: (int(r["ancestor_concept_id"]), int(r["descendant_concept_id"])),
        ),
    }
    for table, ids in used.items():
        rows = [r for r in read_rows(shard / f"{table.upper()}.csv") if r[f"{table}_id"] in ids]
        if table == "vocabulary":
            for vocabulary_id, extra in EXTRA_VOCABULARIES.items():
                if vocabulary_id in ids and all(r["vocabulary_id"] != vocabulary_id for r in rows):
                    columns = CDM_TABLES["vocabulary"].column_names
                    rows.append(dict(zip(columns, (vocabulary_id, *extra), strict=True)))
        missing = ids - {r[f"{table}_id"] for r in rows}
        if missing:
            raise SystemExit(f"{table.upper()} rows missing for {sorted(missing)}")
        tables[table] = sorted(rows, key=lambda r: r[f"{table}_id"])
    return tables


def render(tables: dict[str, list[Row]]) -> dict[str, str]:
    """File name -> text of each table, in the Athena layout."""
    files = {}
    for table, rows in tables.items():
        columns = CDM_TABLES[table].column_names
        lines = ["\t".join(columns)]
        for row in rows:
            lines.append("\t".join(re.sub(r"\s+", " ", row.get(c) or "").strip() for c in columns))
        files[f"{table.upper()}.csv"] = "\n".join(lines) + "\n"
    return files


def write(tables: dict[str, list[Row]]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.csv"):
        old.unlink()
    for name, text in render(tables).items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"{name}: {text.count(chr(10)) - 1} rows")


if __name__ == "__main__":
    write(build(Path(sys.argv[1] if len(sys.argv) > 1 else REPO.parent / "shared/data/omop-vocab")))
