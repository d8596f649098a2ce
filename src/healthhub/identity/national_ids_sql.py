"""National identifier verdicts as SQL, for whole columns on the engine.

The NIR family (fr-nir, fr-nia, fr-nir-test) is what most French records carry: a delivery
of a million patients checks a million NIRs, which SQL does in a fraction of the time a
Python loop takes. The verdicts are ``national_ids.validate``'s and ``consistent_with``'s;
``tests/test_national_ids_sql.py`` checks both agree.
"""

from __future__ import annotations

import fnmatch

from healthhub.identity.national_ids import REPEATED, SEPARATORS, Scheme, interpreter

_NIR_FORMAT_SQL = (
    "[123478][0-9]{2}(?:0[1-9]|1[0-2]|[23][0-9]|4[0-2]|[5-9][0-9])"
    "(?:0[1-9]|[13-9][0-9]|2[0-9AB])[0-9]{8}"
)
_SQL_ALGORITHMS = frozenset({"nir"})


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def has_sql(scheme: Scheme | str) -> bool:
    """Whether ``sql_verdict`` covers this scheme (else use ``validate_column``)."""
    return interpreter(scheme).scheme.algorithm in _SQL_ALGORITHMS


def sql_verdict(scheme: Scheme | str, value: str, n: str, sex: str, birth: str) -> tuple[str, str]:
    """DuckDB SQL for the normalised form of the identifier in column ``value``, and for
    its status given that normalised form in column ``n``: ``validate``'s status, or
    ``inconsistent`` for a valid one that ``consistent_with`` says contradicts ``sex`` /
    ``birth`` (FHIR gender, FHIR date)."""
    found = interpreter(scheme)
    if found.scheme.algorithm not in _SQL_ALGORITHMS:
        raise ValueError(f"no SQL form for scheme {found.scheme.name}")
    drop = "".join(SEPARATORS[word] for word in found.scheme.separators)
    klass = "".join("\\" + c if c in "\\]^-[" else c for c in drop)
    normal = f"upper(regexp_replace({value}, '[{klass}]', '', 'g'))" if drop else f"upper({value})"
    placeholder = ["false"]
    if found._test_only:
        placeholder.append("true")
    if found._repeated:
        placeholder.append(f"{n} = repeat(left({n}, 1), length({n}))")
    for pattern in found.scheme.placeholders:
        if pattern == REPEATED:
            continue
        if set(pattern) & set("*?["):
            regex = fnmatch.translate(pattern).removeprefix("(?s:").removesuffix(")\\Z")
            placeholder.append(f"regexp_full_match({n}, {_sql_string(regex)})")
        else:
            placeholder.append(f"{n} = {_sql_string(pattern)}")
    body = (f"CASE substr({n}, 7, 1) WHEN 'A' THEN substr({n}, 1, 5) || '19' || substr({n}, 8, 6)"
            f" WHEN 'B' THEN substr({n}, 1, 5) || '18' || substr({n}, 8, 6)"
            f" ELSE substr({n}, 1, 13) END")  # fmt: skip
    check = f"TRY_CAST(substr({n}, 14, 2) AS INTEGER) = 97 - TRY_CAST({body} AS BIGINT) % 97"
    encoded_sex = (f"CASE WHEN substr({n}, 1, 1) IN ('1', '3', '7') THEN 'male'"
                   f" WHEN substr({n}, 1, 1) IN ('2', '4', '8') THEN 'female' END")  # fmt: skip
    mm = f"TRY_CAST(substr({n}, 4, 2) AS INTEGER)"
    encoded_month = f"CASE WHEN {mm} <= 12 THEN {mm} WHEN {mm} BETWEEN 31 AND 42 THEN {mm} - 30 END"
    year = f"CASE WHEN regexp_full_match(left({birth}, 4), '[0-9]{{4}}') THEN TRY_CAST(left({birth}, 4) AS INTEGER) END"
    month = (f"CASE WHEN substr({birth}, 5, 1) = '-' AND regexp_full_match(substr({birth}, 6, 2),"
             f" '[0-9]{{2}}') AND TRY_CAST(substr({birth}, 6, 2) AS INTEGER) BETWEEN 1 AND 12"
             f" THEN TRY_CAST(substr({birth}, 6, 2) AS INTEGER) END")  # fmt: skip
    disagrees = (f"(({sex}) IN ('male', 'female') AND ({sex}) <> {encoded_sex})"
                 f" OR (({year}) IS NOT NULL AND ({year}) % 100 <> TRY_CAST(substr({n}, 2, 2) AS INTEGER))"
                 f" OR (({month}) IS NOT NULL AND ({encoded_month}) IS NOT NULL"
                 f" AND ({month}) <> ({encoded_month}))")  # fmt: skip
    status = (f"CASE WHEN NOT regexp_full_match({n}, '{_NIR_FORMAT_SQL}') THEN 'invalid_format'"
              f" WHEN {' OR '.join(placeholder)} THEN 'placeholder'"
              f" WHEN NOT coalesce({check}, false) THEN 'invalid_check'"
              f" WHEN {disagrees} THEN 'inconsistent' ELSE 'valid' END")  # fmt: skip
    return normal, status
