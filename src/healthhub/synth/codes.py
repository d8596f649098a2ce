"""Every code the synthetic data generator emits, as data.

The tables below are the generator's whole clinical vocabulary: code systems, vital signs
and laboratory tests (with UCUM units, population values and reference ranges), chronic
and acute conditions with their prevalence, medications with their dosage, vaccines with
their schedule, procedures, allergies, devices, imaging exams and the administrative
codes of encounters and providers. Code and display pairs were chosen from codes used by
Synthea and, where present, named as in the OMOP vocabulary shipped with the project.
`emitted_codes()` lists them all, so later stages can check their mappings.
"""

from __future__ import annotations

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
    for row in _rows("""
# key          | LOINC   | display                                                                        | UCUM unit        | mean | sd   | low  | high | decimals
glucose        | 2339-0  | Glucose [Mass/volume] in Blood                                                 | mg/dL            | 92   | 9    | 70   | 100  | 0
urea           | 6299-2  | Urea nitrogen [Mass/volume] in Blood                                           | mg/dL            | 14   | 3.5  | 7    | 20   | 1
creatinine     | 2160-0  | Creatinine [Mass/volume] in Serum or Plasma                                    | mg/dL            | 0.9  | 0.15 | 0.6  | 1.2  | 2
calcium        | 49765-1 | Calcium [Mass/volume] in Blood                                                 | mg/dL            | 9.5  | 0.35 | 8.6  | 10.3 | 1
sodium         | 2947-0  | Sodium [Moles/volume] in Blood                                                 | mmol/L           | 140  | 2    | 136  | 145  | 0
potassium      | 6298-4  | Potassium [Moles/volume] in Blood                                              | mmol/L           | 4.2  | 0.3  | 3.5  | 5.1  | 1
chloride       | 2069-3  | Chloride [Moles/volume] in Blood                                               | mmol/L           | 103  | 2.5  | 98   | 107  | 0
carbon_dioxide | 20565-8 | Carbon dioxide, total [Moles/volume] in Blood                                  | mmol/L           | 25   | 2    | 22   | 29   | 0
cholesterol    | 2093-3  | Cholesterol [Mass/volume] in Serum or Plasma                                   | mg/dL            | 185  | 25   | 0    | 200  | 0
triglycerides  | 2571-8  | Triglyceride [Mass/volume] in Serum or Plasma                                  | mg/dL            | 120  | 35   | 0    | 150  | 0
ldl            | 18262-6 | Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay            | mg/dL            | 110  | 22   | 0    | 130  | 0
hdl            | 2085-9  | Cholesterol in HDL [Mass/volume] in Serum or Plasma                            | mg/dL            | 55   | 12   | 40   | 90   | 0
hba1c          | 4548-4  | Hemoglobin A1c/Hemoglobin.total in Blood                                       | %                | 5.3  | 0.3  | 4    | 5.6  | 1
leukocytes     | 6690-2  | Leukocytes [#/volume] in Blood by Automated count                              | 10*3/uL          | 7    | 1.6  | 4    | 10.5 | 1
erythrocytes   | 789-8   | Erythrocytes [#/volume] in Blood by Automated count                            | 10*6/uL          | 4.7  | 0.4  | 4.2  | 5.8  | 2
hemoglobin     | 718-7   | Hemoglobin [Mass/volume] in Blood                                              | g/dL             | 14   | 1.1  | 12   | 17.5 | 1
hematocrit     | 4544-3  | Hematocrit [Volume Fraction] of Blood by Automated count                       | %                | 42   | 3    | 36   | 50   | 1
mcv            | 787-2   | MCV [Entitic volume] by Automated count                                        | fL               | 90   | 4    | 80   | 100  | 1
mch            | 785-6   | MCH [Entitic mass] by Automated count                                          | pg               | 30   | 1.5  | 27   | 33   | 1
mchc           | 786-4   | MCHC [Mass/volume] by Automated count                                          | g/dL             | 34   | 1    | 32   | 36   | 1
platelets      | 777-3   | Platelets [#/volume] in Blood by Automated count                               | 10*3/uL          | 260  | 50   | 150  | 400  | 0
egfr           | 33914-3 | Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum     | mL/min/{1.73_m2} | 95   | 12   | 60   | 120  | 0
tsh            | 3016-3  | Thyrotropin [Units/volume] in Serum or Plasma                                  | m[IU]/L          | 2    | 0.8  | 0.4  | 4.5  | 2
psa            | 2857-1  | Prostate specific Ag [Mass/volume] in Serum or Plasma                          | ng/mL            | 1.5  | 0.8  | 0    | 4    | 2
microalbumin   | 14959-1 | Microalbumin/Creatinine [Mass Ratio] in Urine                                  | mg/g             | 12   | 6    | 0    | 30   | 1
nt_probnp      | 33762-6 | Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma   | pg/mL            | 80   | 40   | 0    | 125  | 0
crp            | 1988-5  | C reactive protein [Mass/volume] in Serum or Plasma                            | mg/L             | 3    | 2    | 0    | 5    | 1
troponin       | 89579-7 | Troponin I.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method | ng/L             | 6    | 3    | 0    | 34   | 0
alt            | 1742-6  | Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma        | U/L              | 25   | 9    | 7    | 56   | 0
ast            | 1920-8  | Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma      | U/L              | 24   | 7    | 10   | 40   | 0
albumin        | 1751-7  | Albumin [Mass/volume] in Serum or Plasma                                       | g/dL             | 4.3  | 0.3  | 3.5  | 5.2  | 1
""")
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
    for row in _rows("""
# key          | LOINC   | report display                                        | lab keys
lipid          | 57698-3 | Lipid panel with direct LDL - Serum or Plasma         | cholesterol,triglycerides,ldl,hdl
metabolic      | 51990-0 | Basic metabolic panel - Blood                         | glucose,urea,creatinine,calcium,sodium,potassium,chloride,carbon_dioxide
blood_count    | 58410-2 | CBC panel - Blood by Automated count                  | leukocytes,erythrocytes,hemoglobin,hematocrit,mcv,mch,mchc,platelets
liver          | 24323-8 | Comprehensive metabolic 2000 panel - Serum or Plasma  | alt,ast,albumin,creatinine,glucose
hba1c          |         |                                                       | hba1c
kidney         |         |                                                       | creatinine,egfr
thyroid        |         |                                                       | tsh
psa            |         |                                                       | psa
microalbumin   |         |                                                       | microalbumin
heart_failure  |         |                                                       | nt_probnp
inflammation   |         |                                                       | crp
troponin       |         |                                                       | troponin
""")
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
    for row in _rows("""
# key                     | RxNorm  | display                                                                                                 | dose | unit          | per day | supply days
lisinopril                | 314076  | lisinopril 10 MG Oral Tablet                                                                            | 1    | {tbl}         | 1 | 90
amlodipine                | 197361  | amlodipine 5 MG Oral Tablet                                                                             | 1    | {tbl}         | 1 | 90
hydrochlorothiazide       | 310798  | hydrochlorothiazide 25 MG Oral Tablet                                                                   | 1    | {tbl}         | 1 | 90
simvastatin               | 314231  | simvastatin 10 MG Oral Tablet                                                                           | 1    | {tbl}         | 1 | 90
atorvastatin              | 259255  | atorvastatin 80 MG Oral Tablet                                                                          | 1    | {tbl}         | 1 | 90
metformin                 | 860975  | 24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet                                       | 1    | {tbl}         | 2 | 90
insulin                   | 865098  | insulin lispro 100 UNT/ML Injectable Solution [Humalog]                                                 | 8    | [IU]          | 3 | 30
albuterol                 | 2123111 | NDA020503 200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler                                      | 2    | {puff}        | 0 | 30
fluticasone               | 895994  | 120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler                                  | 2    | {puff}        | 2 | 30
fluticasone_salmeterol    | 896209  | 60 ACTUAT fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler          | 1    | {puff}        | 2 | 30
clopidogrel               | 309362  | clopidogrel 75 MG Oral Tablet                                                                           | 1    | {tbl}         | 1 | 30
nitroglycerin             | 705129  | nitroglycerin 0.4 MG/ACTUAT Mucosal Spray                                                               | 1    | {puff}        | 0 | 30
warfarin                  | 855332  | warfarin sodium 5 MG Oral Tablet                                                                        | 1    | {tbl}         | 1 | 30
digoxin                   | 197604  | digoxin 0.125 MG Oral Tablet                                                                            | 1    | {tbl}         | 1 | 30
furosemide                | 313988  | furosemide 40 MG Oral Tablet                                                                            | 1    | {tbl}         | 1 | 30
carvedilol                | 200033  | carvedilol 25 MG Oral Tablet                                                                            | 1    | {tbl}         | 2 | 30
levothyroxine             | 966222  | levothyroxine sodium 0.075 MG Oral Tablet                                                               | 1    | {tbl}         | 1 | 90
sertraline                | 312938  | sertraline 100 MG Oral Tablet                                                                           | 1    | {tbl}         | 1 | 30
fluoxetine                | 310385  | fluoxetine 20 MG Oral Capsule                                                                           | 1    | {cap}         | 1 | 30
acetaminophen_500         | 198440  | acetaminophen 500 MG Oral Tablet                                                                        | 2    | {tbl}         | 3 | 30
naproxen                  | 198014  | naproxen 500 MG Oral Tablet                                                                             | 1    | {tbl}         | 2 | 14
alendronic_acid           | 904419  | alendronic acid 10 MG Oral Tablet                                                                       | 1    | {tbl}         | 1 | 90
ferrous_sulfate           | 310325  | ferrous sulfate 325 MG Oral Tablet                                                                      | 1    | {tbl}         | 1 | 90
loratadine                | 311372  | loratadine 10 MG Oral Tablet                                                                            | 1    | {tbl}         | 1 | 30
carbamazepine             | 308971  | carbamazepine 20 MG/ML Oral Suspension [Tegretol]                                                       | 10   | mL            | 2 | 30
donepezil                 | 997223  | donepezil hydrochloride 10 MG Oral Tablet                                                               | 1    | {tbl}         | 1 | 30
memantine                 | 996740  | memantine hydrochloride 2 MG/ML Oral Solution                                                           | 5    | mL            | 2 | 30
allopurinol               | 197319  | allopurinol 100 MG Oral Tablet                                                                          | 1    | {tbl}         | 1 | 30
colchicine                | 197541  | colchicine 0.6 MG Oral Tablet                                                                           | 1    | {tbl}         | 0 | 10
tamoxifen                 | 198240  | tamoxifen 10 MG Oral Tablet                                                                             | 1    | {tbl}         | 2 | 90
anastrozole               | 199224  | anastrozole 1 MG Oral Tablet                                                                            | 1    | {tbl}         | 1 | 90
leuprolide                | 752899  | 0.25 ML leuprolide acetate 30 MG/ML Prefilled Syringe                                                   | 0.25 | mL            | 0 | 90
hydrocortisone            | 106258  | hydrocortisone 10 MG/ML Topical Cream                                                                   | 1    | {application} | 2 | 30
methylphenidate           | 1091392 | methylphenidate hydrochloride 20 MG Oral Tablet                                                         | 1    | {tbl}         | 1 | 30
ibuprofen_100             | 198405  | ibuprofen 100 MG Oral Tablet                                                                            | 1    | {tbl}         | 3 | 5
acetaminophen             | 313782  | acetaminophen 325 MG Oral Tablet                                                                        | 2    | {tbl}         | 0 | 5
ibuprofen                 | 310965  | ibuprofen 200 MG Oral Tablet                                                                            | 2    | {tbl}         | 0 | 5
penicillin                | 834102  | penicillin V potassium 500 MG Oral Tablet                                                               | 1    | {tbl}         | 2 | 10
amoxicillin_500           | 308192  | amoxicillin 500 MG Oral Tablet                                                                          | 1    | {tbl}         | 3 | 7
amoxicillin_250           | 308182  | amoxicillin 250 MG Oral Capsule                                                                         | 1    | {cap}         | 3 | 7
amoxicillin_clavulanate   | 562251  | amoxicillin 250 MG / clavulanate 125 MG Oral Tablet                                                     | 1    | {tbl}         | 3 | 10
nitrofurantoin            | 311995  | nitrofurantoin, macrocrystals 50 MG Oral Capsule                                                        | 1    | {cap}         | 4 | 5
naproxen_sodium           | 849574  | naproxen sodium 220 MG Oral Tablet                                                                      | 1    | {tbl}         | 0 | 7
oxycodone_acetaminophen   | 1049221 | acetaminophen 325 MG / oxycodone hydrochloride 5 MG Oral Tablet                                         | 1    | {tbl}         | 0 | 5
epinephrine               | 1870230 | NDA020800 0.3 ML epinephrine 1 MG/ML Auto-Injector                                                      | 0.3  | mL            | 0 | 365
# given in hospital (MedicationAdministration)
piperacillin_tazobactam   | 1659131 | piperacillin 2000 MG / tazobactam 250 MG Injection                                                      | 1    | {vial}        | 3 | 1
heparin                   | 1659263 | 1 ML heparin sodium, porcine 5000 UNT/ML Injection                                                      | 1    | mL            | 2 | 1
alteplase                 | 1804799 | alteplase 100 MG Injection                                                                              | 90   | mg            | 1 | 1
morphine                  | 1732136 | 1 ML morphine sulfate 5 MG/ML Injection                                                                 | 1    | mL            | 4 | 1
furosemide_injection      | 1719286 | 10 ML furosemide 10 MG/ML Injection                                                                     | 4    | mL            | 2 | 1
sodium_chloride           | 313002  | sodium chloride 9 MG/ML Injectable Solution                                                             | 500  | mL            | 2 | 1
ondansetron               | 1740467 | 2 ML ondansetron 2 MG/ML Injection                                                                      | 2    | mL            | 3 | 1
enoxaparin                | 854235  | 0.4 ML enoxaparin sodium 100 MG/ML Prefilled Syringe                                                    | 0.4  | mL            | 1 | 1
""")
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
    for row in _rows("""
# key               | SNOMED          | display                                   | sex    | onset ages | prevalence | medications                          | panels             | follow-up months | resolves
hypertension        | 59621000        | Essential hypertension                    |        | 30 | 85 | 0.32 | lisinopril,amlodipine,hydrochlorothiazide | metabolic           | 12 | 0
hyperlipidemia      | 55822004        | Hyperlipidemia                            |        | 35 | 80 | 0.25 | simvastatin,atorvastatin              | lipid              | 12 | 0
prediabetes         | 15777000        | Prediabetes                               |        | 30 | 75 | 0.12 |                                      | hba1c              | 12 | 0.3
diabetes            | 44054006        | Type 2 diabetes mellitus                  |        | 35 | 85 | 0.10 | metformin,insulin                    | hba1c,microalbumin | 6  | 0
asthma              | 233678006       | Childhood asthma                          |        | 2  | 12 | 0.08 | albuterol,fluticasone                |                    | 12 | 0.5
copd                | 185086009       | Chronic obstructive bronchitis            |        | 45 | 85 | 0.05 | fluticasone_salmeterol,albuterol     |                    | 12 | 0
coronary            | 53741008        | Coronary arteriosclerosis                 |        | 50 | 90 | 0.08 | clopidogrel,nitroglycerin            | lipid              | 12 | 0
atrial_fibrillation | 49436004        | Atrial fibrillation                       |        | 60 | 95 | 0.07 | warfarin,digoxin                     |                    | 6  | 0
heart_failure       | 88805009        | Chronic congestive heart failure          |        | 65 | 95 | 0.05 | furosemide,carvedilol                | heart_failure      | 6  | 0
kidney              | 433144002       | Chronic kidney disease stage 3            |        | 55 | 95 | 0.06 |                                      | kidney             | 12 | 0
hypothyroidism      | 83664006        | Idiopathic atrophic hypothyroidism        | female | 25 | 80 | 0.07 | levothyroxine                        | thyroid            | 12 | 0
depression          | 370143000       | Major depressive disorder                 |        | 15 | 75 | 0.10 | sertraline,fluoxetine                |                    | 6  | 0.6
osteoarthritis      | 239873007       | Osteoarthritis of knee                    |        | 50 | 90 | 0.12 | acetaminophen_500,naproxen           |                    | 12 | 0
osteoporosis        | 64859006        | Osteoporosis                              | female | 55 | 90 | 0.10 | alendronic_acid                      |                    | 12 | 0
anemia              | 271737000       | Anemia                                    |        | 15 | 90 | 0.06 | ferrous_sulfate                      | blood_count        | 12 | 0.6
migraine            | 124171000119105 | Chronic intractable migraine without aura |        | 15 | 50 | 0.05 | ibuprofen_100                        |                    | 12 | 0.4
rhinitis            | 446096008       | Perennial allergic rhinitis               |        | 5  | 40 | 0.10 | loratadine                           |                    | 12 | 0.3
epilepsy            | 84757009        | Epilepsy                                  |        | 1  | 60 | 0.01 | carbamazepine                        |                    | 6  | 0
alzheimer           | 26929004        | Alzheimer's disease                       |        | 70 | 95 | 0.06 | donepezil,memantine                  |                    | 6  | 0
gout                | 90560007        | Gout                                      | male   | 40 | 85 | 0.05 | allopurinol,colchicine               | metabolic          | 12 | 0
breast_cancer       | 254837009       | Malignant tumor of breast                 | female | 45 | 90 | 0.04 | tamoxifen,anastrozole                | blood_count        | 6  | 0.5
prostate            | 126906006       | Neoplasm of prostate                      | male   | 55 | 90 | 0.05 | leuprolide                           | psa                | 6  | 0
dermatitis          | 24079001        | Atopic dermatitis                         |        | 0  | 5  | 0.06 | hydrocortisone                       |                    | 12 | 0.8
attention_deficit   | 192127007       | Child attention deficit disorder          |        | 6  | 12 | 0.04 | methylphenidate                      |                    | 6  | 0.5
""")
)  # fmt: skip
OBESITY = Code(SNOMED, "162864005", "Body mass index 30+ - obesity")

CHRONIC_FOLLOW_UP_PROCEDURE = Code(SNOMED, "430193006", "Medication Reconciliation")
#: Procedures of acute episodes and hospital stays, by key.
PROCEDURES = {
    row[0]: Code(SNOMED, row[1], row[2])
    for row in _rows("""
throat_culture | 117015009 | Throat culture
urine_culture  | 117010004 | Urine culture
immobilization | 274474001 | Bone immobilization
suture         | 288086009 | Suture open wound
epinephrine    | 313191000 | Injection of epinephrine
coronary       | 415070008 | Percutaneous coronary intervention
hip            | 52734007  | Total replacement of hip
appendectomy   | 80146002  | Appendectomy
delivery       | 66348005  | Parturition
""")
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
    for row in _rows("""
# SNOMED  | display                                  | ages   | weight | setting | days | medications                       | procedure      | imaging
444814009 | Viral sinusitis                          | 0 | 95 | 10  | AMB  | 14 |                                   |                |
195662009 | Acute viral pharyngitis                  | 0 | 95 | 7   | AMB  | 10 | acetaminophen,ibuprofen           |                |
10509002  | Acute bronchitis                         | 0 | 95 | 5   | AMB  | 21 | acetaminophen                     |                |
43878008  | Streptococcal sore throat                | 3 | 40 | 3   | AMB  | 10 | penicillin,amoxicillin_500        | throat_culture |
65363002  | Otitis media                             | 0 | 10 | 6   | AMB  | 10 | amoxicillin_250,ibuprofen         |                |
75498004  | Acute bacterial sinusitis                | 5 | 95 | 2   | AMB  | 14 | amoxicillin_clavulanate           |                |
38822007  | Cystitis                                 | 15 | 95 | 3  | AMB  | 7  | nitrofurantoin                    | urine_culture  |
44465007  | Sprain of ankle                          | 8 | 70 | 2   | EMER | 30 | naproxen_sodium                   |                | ankle_xray
65966004  | Fracture of forearm                      | 4 | 95 | 1   | EMER | 60 | oxycodone_acetaminophen           | immobilization | wrist_xray
62106007  | Concussion with no loss of consciousness | 4 | 80 | 1   | EMER | 21 | acetaminophen                     |                | head_ct
284549007 | Laceration of hand                       | 4 | 80 | 1   | EMER | 14 | ibuprofen                         | suture         |
58150001  | Fracture of clavicle                     | 4 | 80 | 0.5 | EMER | 45 | oxycodone_acetaminophen           | immobilization | chest_xray
241929008 | Acute allergic reaction                  | 1 | 80 | 0.5 | EMER | 3  | epinephrine                       | epinephrine    |
840539006 | COVID-19                                 | 0 | 95 | 3   | AMB  | 14 | acetaminophen                     |                |
""")
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
    for row in _rows("""
# SNOMED  | display                          | requires      | sex    | ages    | rate/year | days | procedure    | device    | given in hospital                   | panels                 | imaging
233604007 | Pneumonia                        |               |        | 60 | 95 | 0.008  | 6 |              |           | piperacillin_tazobactam,sodium_chloride | blood_count,inflammation | chest_xray
22298006  | Myocardial infarction            | coronary      |        | 45 | 95 | 0.03   | 5 | coronary     | stent     | heparin,morphine                    | troponin,metabolic     |
230690007 | Cerebrovascular accident         | hypertension  |        | 55 | 95 | 0.006  | 8 |              |           | alteplase,sodium_chloride           | blood_count,metabolic  | head_ct
359817006 | Closed fracture of hip           | osteoporosis  |        | 65 | 95 | 0.02   | 9 | hip          |           | morphine,enoxaparin                 | blood_count            | hip_xray
74400008  | Appendicitis                     |               |        | 5  | 60 | 0.0015 | 3 | appendectomy |           | piperacillin_tazobactam,ondansetron | blood_count,inflammation | abdomen_ct
88805009  | Chronic congestive heart failure | heart_failure |        | 65 | 95 | 0.15   | 6 |              | pacemaker | furosemide_injection                | heart_failure,metabolic | chest_xray
72892002  | Normal pregnancy                 |               | female | 20 | 42 | 0.05   | 3 | delivery     |           | sodium_chloride                     | blood_count            |
""")
)  # fmt: skip


class Vaccine(NamedTuple):
    code: Code
    months: tuple[int, ...]  # ages at the doses, in months
    sex: str  # "female" when only girls are offered it


VACCINES = tuple(
    Vaccine(Code(CVX, row[0], row[1]), tuple(int(m) for m in _keys(row[2])), row[3])
    for row in _rows("""
# CVX | display                                          | ages at the doses, in months | sex
08    | Hep B, adolescent or pediatric                   | 2,4,11             |
20    | DTaP                                             | 2,4,11,72          |
10    | IPV                                              | 2,4,11,72          |
49    | Hib (PRP-OMP)                                    | 2,4,11             |
133   | Pneumococcal conjugate PCV 13                    | 2,4,11             |
119   | rotavirus, monovalent                            | 2,3                |
114   | meningococcal MCV4P                              | 5,12               |
03    | MMR                                              | 12,16              |
115   | Tdap                                             | 132                |
62    | HPV, quadrivalent                                | 132,138            | female
113   | Td (adult) preservative free                     | 300,540,780,900,1020 |
33    | pneumococcal polysaccharide vaccine, 23 valent   | 780                |
121   | zoster                                           | 792                |
""")
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
    for row in _rows("""
wheal       | 247472004 | Wheal
eruption    | 271807003 | Eruption of skin
sneezing    | 76067001  | Sneezing
dyspnea     | 267036007 | Dyspnea
anaphylaxis | 39579001  | Anaphylaxis
itching     | 418290006 | Itching
""")
}  # fmt: skip
ALLERGIES = tuple(
    Allergy(Code(SNOMED, row[0], row[1]), row[2], tuple(REACTIONS[k] for k in _keys(row[3])))
    for row in _rows("""
# SNOMED  | display                 | category    | reactions
419474003 | Allergy to mould        | environment | sneezing,dyspnea
232347008 | Dander (animal) allergy | environment | sneezing,wheal
419263009 | Allergy to tree pollen  | environment | sneezing,itching
418689008 | Allergy to grass pollen | environment | sneezing
232350006 | House dust mite allergy | environment | sneezing,dyspnea
300916003 | Latex allergy           | environment | wheal,eruption
91935009  | Allergy to peanuts      | food        | anaphylaxis,wheal
91930004  | Allergy to eggs         | food        | eruption,wheal
420174000 | Allergy to wheat        | food        | eruption
425525006 | Allergy to dairy product | food       | eruption,itching
300913006 | Shellfish allergy       | food        | anaphylaxis,eruption
91936005  | Allergy to penicillin   | medication  | eruption,wheal
""")
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
    for row in _rows("""
DX  | 1.2.840.10008.5.1.4.1.1.1.1 | Digital X-Ray Image Storage - For Presentation
CT  | 1.2.840.10008.5.1.4.1.1.2   | CT Image Storage
MR  | 1.2.840.10008.5.1.4.1.1.4   | MR Image Storage
MG  | 1.2.840.10008.5.1.4.1.1.1.2 | Digital Mammography X-Ray Image Storage - For Presentation
US  | 1.2.840.10008.5.1.4.1.1.6.1 | Ultrasound Image Storage
BMD | 1.2.840.10008.5.1.4.1.1.7   | Secondary Capture Image Storage
""")
}  # fmt: skip
IMAGING = {
    row[0]: Imaging(Code(SNOMED, row[1], row[2]), MODALITIES[row[3]],
                    Code(SNOMED, row[4], row[5]), SOP_CLASSES[row[3]], int(row[6]))
    for row in _rows("""
# key              | SNOMED    | procedure                                                  | modality | body site | body site display   | instances
chest_xray         | 399208008 | Plain chest X-ray                                          | DX  | 51185008  | Thoracic structure     | 2
wrist_xray         | 60027007  | Radiography of wrist                                       | DX  | 8205005   | Wrist region structure | 2
ankle_xray         | 19490002  | Radiography of ankle                                       | DX  | 344001    | Ankle region structure | 3
hip_xray           | 22263004  | Radiography of hip                                         | DX  | 24136001  | Hip joint structure    | 2
head_ct            | 303653007 | CT of head                                                 | CT  | 69536005  | Head structure         | 40
abdomen_ct         | 418891003 | CT of chest and abdomen                                    | CT  | 113345001 | Abdominal structure    | 60
brain_mri          | 698354004 | Magnetic resonance imaging for measurement of brain volume | MR  | 12738006  | Brain structure        | 60
spine_mri          | 241645008 | MRI of spine                                               | MR  | 421060004 | Spinal structure       | 50
mammography        | 24623002  | Screening mammography                                      | MG  | 76752008  | Breast structure       | 4
abdomen_ultrasound | 45036003  | Ultrasonography of abdomen                                 | US  | 113345001 | Abdominal structure    | 12
bone_density       | 312681000 | Bone density scan                                          | BMD | 24136001  | Hip joint structure    | 2
""")
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
