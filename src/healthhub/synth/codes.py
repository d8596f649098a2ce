"""Every code the synthetic data generator emits, as data.

The tables (``tables/*.psv`` beside this module, pipe-separated) and constants here are
the generator's whole clinical vocabulary: code systems, vital signs
and laboratory tests (with UCUM units, population values and reference ranges), chronic
and acute conditions with their prevalence, medications with their dosage, vaccines with
their schedule, procedures, allergies, devices, imaging exams and the administrative
codes of encounters and providers. Code and display pairs are real
SNOMED CT, LOINC, RxNorm, CVX and UCUM codes, displayed as the OMOP vocabularies name them.
`emitted_codes()` lists them all, so later stages can check their mappings.
"""

from __future__ import annotations

from importlib import resources
from typing import NamedTuple


class Code(NamedTuple):
    system: str
    code: str
    display: str


SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
MARITAL = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
PRACTITIONER_ROLE = "http://terminology.hl7.org/CodeSystem/practitioner-role"
DOCUMENT_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
FINESS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"

# -- administrative -------------------------------------------------------------------
AMBULATORY = Code(ACT_CODE, "AMB", "ambulatory")
EMERGENCY = Code(ACT_CODE, "EMER", "emergency")
INPATIENT = Code(ACT_CODE, "IMP", "inpatient encounter")
PRIMARY_PERFORMER = Code(PARTICIPATION, "PPRF", "primary performer")
MEDICAL_RECORD_NUMBER = Code(V2_0203, "MR", "Medical record number")
NATIONAL_ID = Code(V2_0203, "NI", "National unique individual identifier")
MARITAL_STATUS = {
    "S": Code(MARITAL, "S", "Never Married"),
    "M": Code(MARITAL, "M", "Married"),
    "D": Code(MARITAL, "D", "Divorced"),
    "W": Code(MARITAL, "W", "Widowed"),
}
HEALTHCARE_PROVIDER = Code(ORGANIZATION_TYPE, "prov", "Healthcare Provider")
DOCTOR = Code(PRACTITIONER_ROLE, "doctor", "Doctor")
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ENCOUNTER_DIAGNOSIS = Code(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")
PROBLEM_LIST_ITEM = Code(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")
ACTIVE = Code(CONDITION_CLINICAL, "active", "Active")
RESOLVED = Code(CONDITION_CLINICAL, "resolved", "Resolved")
CONFIRMED = Code(CONDITION_VERIFICATION, "confirmed", "Confirmed")
ALLERGY_ACTIVE = Code(ALLERGY_CLINICAL, "active", "Active")
ALLERGY_CONFIRMED = Code(ALLERGY_VERIFICATION, "confirmed", "Confirmed")
VITAL_SIGNS = Code(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")
LABORATORY = Code(OBSERVATION_CATEGORY, "laboratory", "Laboratory")
SOCIAL_HISTORY = Code(OBSERVATION_CATEGORY, "social-history", "Social History")
SURVEY = Code(OBSERVATION_CATEGORY, "survey", "Survey")
LAB_REPORT = Code(V2_0074, "LAB", "Laboratory")
RADIOLOGY_REPORT = Code(V2_0074, "RAD", "Radiology")
HIGH = Code(INTERPRETATION, "H", "High")
LOW = Code(INTERPRETATION, "L", "Low")
NORMAL = Code(INTERPRETATION, "N", "Normal")
CLINICAL_NOTE = Code(DOCUMENT_CATEGORY, "clinical-note", "Clinical Note")
PROGRESS_NOTE = Code(LOINC, "11506-3", "Progress note")
DISCHARGE_SUMMARY = Code(LOINC, "18842-5", "Discharge summary")
EMERGENCY_NOTE = Code(LOINC, "34111-5", "Emergency department note")
IMAGING_REPORT = Code(LOINC, "18748-4", "Diagnostic imaging study")

#: Location kinds: (key, type, name).
LOCATIONS = (
    ("outpatient", Code(ROLE_CODE, "OF", "Outpatient facility"), "Consultations"),
    ("emergency", Code(ROLE_CODE, "ER", "Emergency room"), "Urgences"),
    ("ward", Code(ROLE_CODE, "HU", "Hospital unit"), "Hospitalisation"),
    ("laboratory", Code(ROLE_CODE, "MBL", "medical laboratory"), "Laboratoire"),
    (
        "radiology",
        Code(ROLE_CODE, "RADDX", "radiology diagnostics or therapeutics unit"),
        "Imagerie",
    ),
)
SPECIALTIES = {
    "hospital": (
        Code(SNOMED, "394802001", "General medicine"),
        Code(SNOMED, "394579002", "Cardiology"),
        Code(SNOMED, "394591006", "Neurology"),
        Code(SNOMED, "394609007", "General surgery"),
        Code(SNOMED, "394801008", "Trauma and orthopedics"),
        Code(SNOMED, "394537008", "Pediatric specialty"),
        Code(SNOMED, "773568002", "Emergency medicine"),
        Code(SNOMED, "394583002", "Endocrinology"),
    ),
    "clinic": (Code(SNOMED, "419772000", "Family practice"),),
    "lab": (Code(SNOMED, "394596001", "Chemical pathology"),),
    "radiology": (Code(SNOMED, "394914008", "Radiology"),),
}

# -- encounter types --------------------------------------------------------------------
WELL_CHILD = Code(SNOMED, "410620009", "Well child visit")
GENERAL_EXAMINATION = Code(SNOMED, "162673000", "General examination of patient")
CHECK_UP = Code(SNOMED, "185349003", "Encounter for check up")
SYMPTOM_VISIT = Code(SNOMED, "185345009", "Encounter for symptom")
FOLLOW_UP = Code(SNOMED, "390906007", "Follow-up encounter")
PROBLEM_VISIT = Code(SNOMED, "185347001", "Encounter for problem")
EMERGENCY_ROOM = Code(SNOMED, "50849002", "Emergency room admission")
EMERGENCY_ADMISSION = Code(SNOMED, "183452005", "Emergency hospital admission")
HOSPITAL_ADMISSION = Code(SNOMED, "32485007", "Hospital admission")
SAMPLING_VISIT = Code(SNOMED, "308335008", "Patient encounter procedure")
OUTPATIENT_PROCEDURE = Code(SNOMED, "371883000", "Outpatient procedure")


class Vital(NamedTuple):
    code: Code
    unit: str


HEIGHT = Vital(Code(LOINC, "8302-2", "Body height"), "cm")
WEIGHT = Vital(Code(LOINC, "29463-7", "Body weight"), "kg")
BMI = Vital(Code(LOINC, "39156-5", "Body mass index (BMI) [Ratio]"), "kg/m2")
HEART_RATE = Vital(Code(LOINC, "8867-4", "Heart rate"), "/min")
RESPIRATORY_RATE = Vital(Code(LOINC, "9279-1", "Respiratory rate"), "/min")
TEMPERATURE = Vital(Code(LOINC, "8310-5", "Body temperature"), "Cel")
HEAD_CIRCUMFERENCE = Vital(Code(LOINC, "9843-4", "Head Occipital-frontal circumference"), "cm")
BLOOD_PRESSURE = Code(LOINC, "85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = Vital(Code(LOINC, "8480-6", "Systolic blood pressure"), "mm[Hg]")
DIASTOLIC = Vital(Code(LOINC, "8462-4", "Diastolic blood pressure"), "mm[Hg]")
PAIN_SEVERITY = Vital(
    Code(LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported"),
    "{score}",
)
SMOKING_STATUS = Code(LOINC, "72166-2", "Tobacco smoking status")
#: Smoking habits: key -> answer.
SMOKING_ANSWERS = {
    "never": Code(SNOMED, "266919005", "Never smoked tobacco"),
    "former": Code(SNOMED, "8517006", "Ex-smoker"),
    "daily": Code(SNOMED, "449868002", "Smokes tobacco daily"),
    "occasional": Code(SNOMED, "428041000124106", "Occasional tobacco smoker"),
}


def _table(name: str) -> str:
    """A code table shipped beside this module (``tables/NAME.psv``)."""
    return resources.files("healthhub.synth").joinpath(f"tables/{name}.psv").read_text("utf-8")


def _rows(table: str) -> list[list[str]]:
    """The rows of a pipe-separated text table, cells stripped; `#` starts a comment line."""
    lines = (line.strip() for line in table.strip().splitlines())
    return [
        [cell.strip() for cell in line.split("|")] for line in lines if not line.startswith("#")
    ]


def _keys(cell: str) -> tuple[str, ...]:
    return tuple(key for key in cell.split(",") if key)


class Lab(NamedTuple):
    code: Code
    unit: str
    mean: float
    sd: float
    low: float  # reference range: low 0 means no lower bound, high 0 no range at all
    high: float
    decimals: int


LABS = {
    row[0]: Lab(Code(LOINC, row[1], row[2]), row[3], float(row[4]), float(row[5]),
                float(row[6]), float(row[7]), int(row[8]))
    for row in _rows(_table("labs"))
}  # fmt: skip

#: How conditions shift laboratory values: condition key -> lab key -> (mean, sd).
LAB_EFFECTS: dict[str, dict[str, tuple[float, float]]] = {
    "diabetes": {"glucose": (155, 35), "hba1c": (7.8, 1.0), "microalbumin": (45, 25)},
    "prediabetes": {"glucose": (110, 7), "hba1c": (6.0, 0.2)},
    "hyperlipidemia": {"cholesterol": (245, 25), "ldl": (160, 20), "triglycerides": (195, 45)},
    "kidney": {"creatinine": (1.7, 0.3), "egfr": (45, 8), "urea": (28, 5)},
    "anemia": {"hemoglobin": (10.4, 0.8), "hematocrit": (32, 2.5), "mcv": (76, 4)},
    "hypothyroidism": {"tsh": (6.5, 2.0)},
    "heart_failure": {"nt_probnp": (1400, 500)},
    "prostate": {"psa": (9, 3)},
    "infection": {"crp": (95, 40), "leukocytes": (14.5, 2.5)},
    "infarction": {"troponin": (900, 400)},
}

#: Laboratory panels: key -> (report code, or None for tests reported alone; lab keys).
PANELS = {
    row[0]: (Code(LOINC, row[1], row[2]) if row[1] else None, _keys(row[3]))
    for row in _rows(_table("panels"))
}  # fmt: skip


class Medication(NamedTuple):
    code: Code
    dose: float
    unit: str  # UCUM unit of one dose
    per_day: int  # 0: when needed
    supply_days: int


MEDICATIONS = {
    row[0]: Medication(Code(RXNORM, row[1], row[2]), float(row[3]), row[4], int(row[5]),
                       int(row[6]))
    for row in _rows(_table("medications"))
}  # fmt: skip


class Chronic(NamedTuple):
    key: str
    code: Code
    sex: str  # "male", "female" or "" for both
    onset_min: int  # ages
    onset_max: int
    prevalence: float  # probability of onset by onset_max
    medications: tuple[str, ...]  # MEDICATIONS keys, first line first
    panels: tuple[str, ...]  # PANELS keys monitored at follow-ups
    follow_up_months: int
    resolves: float  # probability of an abatement


CHRONIC = tuple(
    Chronic(row[0], Code(SNOMED, row[1], row[2]), row[3], int(row[4]), int(row[5]),
            float(row[6]), _keys(row[7]), _keys(row[8]), int(row[9]), float(row[10]))
    for row in _rows(_table("chronic"))
)  # fmt: skip
OBESITY = Code(SNOMED, "162864005", "Body mass index 30+ - obesity")

CHRONIC_FOLLOW_UP_PROCEDURE = Code(SNOMED, "430193006", "Medication Reconciliation")
#: Procedures of acute episodes and hospital stays, by key.
PROCEDURES = {
    row[0]: Code(SNOMED, row[1], row[2])
    for row in _rows(_table("procedures"))
}  # fmt: skip


class Acute(NamedTuple):
    code: Code
    age_min: int
    age_max: int
    weight: float  # relative frequency
    setting: str  # "AMB" or "EMER"
    days: int  # typical duration before abatement
    medications: tuple[str, ...]  # one is prescribed
    procedure: Code | None
    imaging: str  # IMAGING key or ""


ACUTE = tuple(
    Acute(Code(SNOMED, row[0], row[1]), int(row[2]), int(row[3]), float(row[4]), row[5],
          int(row[6]), _keys(row[7]), PROCEDURES.get(row[8]), row[9])
    for row in _rows(_table("acute"))
)  # fmt: skip
#: Conditions that come with fever (SNOMED codes).
FEVERISH = frozenset({"444814009", "195662009", "10509002", "43878008", "65363002",
                      "75498004", "840539006", "233604007"})  # fmt: skip
#: Conditions of a hospital stay that resolve (the others stay active).
RESOLVING = frozenset({"233604007", "74400008", "72892002", "359817006"})
#: Acute conditions that exist only from a given year on.
ACUTE_FROM_YEAR = {"840539006": 2020}


class Admission(NamedTuple):
    code: Code
    requires: str  # CHRONIC key the person must have, or ""
    sex: str
    age_min: int
    age_max: int
    yearly_rate: float
    days: int  # typical length of stay
    procedure: Code | None
    device: Code | None
    administrations: tuple[str, ...]  # MEDICATIONS keys given during the stay
    panels: tuple[str, ...]
    imaging: str


IMPLANTS = {
    "stent": Code(SNOMED, "705643001", "Coronary artery stent"),
    "pacemaker": Code(SNOMED, "706004007", "Implantable cardiac pacemaker"),
}
ADMISSIONS = tuple(
    Admission(Code(SNOMED, row[0], row[1]), row[2], row[3], int(row[4]), int(row[5]),
              float(row[6]), int(row[7]), PROCEDURES.get(row[8]), IMPLANTS.get(row[9]),
              _keys(row[10]), _keys(row[11]), row[12])
    for row in _rows(_table("admissions"))
)  # fmt: skip


class Vaccine(NamedTuple):
    code: Code
    months: tuple[int, ...]  # ages at the doses, in months
    sex: str  # "female" when only girls are offered it


VACCINES = tuple(
    Vaccine(Code(CVX, row[0], row[1]), tuple(int(m) for m in _keys(row[2])), row[3])
    for row in _rows(_table("vaccines"))
)  # fmt: skip
INFLUENZA_VACCINE = Code(CVX, "140", "Influenza, seasonal, injectable, preservative free")
COVID_VACCINE = Code(CVX, "208", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, "
                     "preservative free, 30 mcg/0.3mL dose")  # fmt: skip

# -- screening and wellness procedures ---------------------------------------------------
DEPRESSION_SCREENING = Code(SNOMED, "171207006", "Depression screening")
COLONOSCOPY = Code(SNOMED, "73761001", "Colonoscopy")
CERVICAL_SMEAR = Code(
    SNOMED, "90226004", "Cytopathology procedure, preparation of smear, genital source"
)


class Allergy(NamedTuple):
    code: Code
    category: str  # food, environment, medication
    reactions: tuple[Code, ...]


REACTIONS = {
    row[0]: Code(SNOMED, row[1], row[2])
    for row in _rows(_table("reactions"))
}  # fmt: skip
ALLERGIES = tuple(
    Allergy(Code(SNOMED, row[0], row[1]), row[2], tuple(REACTIONS[k] for k in _keys(row[3])))
    for row in _rows(_table("allergies"))
)  # fmt: skip

BLOOD_GLUCOSE_METER = Code(SNOMED, "337414009", "Blood glucose meter")
HOME_NEBULIZER = Code(SNOMED, "170615005", "Home nebulizer")


class Imaging(NamedTuple):
    procedure: Code
    modality: Code
    body_site: Code
    sop_class: Code  # DICOM SOP class of the instances
    instances: int  # typical number of instances


MODALITIES = {
    "DX": Code(DICOM, "DX", "Digital Radiography"),
    "CT": Code(DICOM, "CT", "Computed Tomography"),
    "MR": Code(DICOM, "MR", "Magnetic Resonance"),
    "MG": Code(DICOM, "MG", "Mammography"),
    "US": Code(DICOM, "US", "Ultrasound"),
    "BMD": Code(DICOM, "BMD", "Bone Mineral Densitometry"),
}
#: DICOM storage SOP classes, as Codings: URI system, "urn:oid:" code.
SOP_CLASSES = {
    row[0]: Code("urn:ietf:rfc:3986", f"urn:oid:{row[1]}", row[2])
    for row in _rows(_table("sop_classes"))
}  # fmt: skip
IMAGING = {
    row[0]: Imaging(Code(SNOMED, row[1], row[2]), MODALITIES[row[3]],
                    Code(SNOMED, row[4], row[5]), SOP_CLASSES[row[3]], int(row[6]))
    for row in _rows(_table("imaging"))
}  # fmt: skip
#: Imaging a chronic condition is followed up with, once in a while.
CHRONIC_IMAGING = {
    "breast_cancer": "mammography",
    "copd": "chest_xray",
    "epilepsy": "brain_mri",
    "alzheimer": "brain_mri",
    "osteoporosis": "bone_density",
    "osteoarthritis": "spine_mri",
    "kidney": "abdomen_ultrasound",
}


def _walk(value: object, found: dict[tuple[str, str], Code]) -> None:
    if isinstance(value, Code):
        found.setdefault((value.system, value.code), value)
    elif isinstance(value, tuple | list):
        for item in value:
            _walk(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, found)


def emitted_codes() -> list[tuple[str, str, str]]:
    """Every (system, code, display) the generator can emit, sorted."""
    found: dict[tuple[str, str], Code] = {}
    for name, value in globals().items():
        if not name.startswith("__"):
            _walk(value, found)
    return sorted((c.system, c.code, c.display) for c in found.values())
