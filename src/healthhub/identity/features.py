"""Linkage features: each record's identifiers in the forms comparisons and blocking use.

From a table of records with the vault's identity columns, ``build_features`` makes the
temporary table ``features`` (one row per record):

- names: squashed given name (``given_sq``), its first word and variant group, the words
  of all given names; every family name (official, usual, maiden) squashed (``fam``) and
  their words (``fam_tokens``); sound keys of the first given name and of family names;
- birth date (``dob`` only when a whole valid date), year, month, day, and a key with day
  and month in increasing order (``dob_sorted``, the same for swapped day and month);
- sex, postal code, city, the street line (normalised), phone numbers (the last nine
  digits: the national number whatever the prefix), e-mail;
- the validated national identifier (scheme and value), used for deterministic links;
- term frequencies: the share of records with the same value, for frequency weights.

Names are normalised in Python once per distinct spelling (``names.py``); everything
else is set-based SQL.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from healthhub.identity import names
from healthhub.identity.linkage.model import DEFAULT_U, TF_PSEUDO_RECORDS


def _name_forms(con: duckdb.DuckDBPyConnection, source: str) -> pa.Table:
    rows = con.execute(f"""
        SELECT DISTINCT v FROM (
            SELECT given AS v FROM {source}
            UNION ALL SELECT unnest(all_given) FROM {source}
            UNION ALL SELECT unnest(all_family) FROM {source}
            UNION ALL SELECT family FROM {source}
            UNION ALL SELECT city FROM {source}) WHERE v IS NOT NULL""").fetchall()
    groups = names.variant_groups()
    raw, sq, first, toks, sound, token_sounds, group = [], [], [], [], [], [], []
    for (value,) in rows:
        normal = names.normal_form(value)
        words = names.tokens(normal)
        squashed = names.squashed(normal)
        head = normal.split(" ")[0] if normal else ""
        raw.append(value)
        sq.append(squashed or None)
        first.append(head or None)
        toks.append(words)
        whole = names.sound_key(squashed)
        sound.append(whole or None)
        token_sounds.append(sorted({names.sound_key(w) for w in words} | ({whole} - {""})))
        group.append(groups.get(squashed) or groups.get(head) or head or None)
    return pa.table({
        "raw": pa.array(raw, pa.string()), "sq": pa.array(sq, pa.string()),
        "first": pa.array(first, pa.string()), "tokens": pa.array(toks, pa.list_(pa.string())),
        "sound": pa.array(sound, pa.string()),
        "token_sounds": pa.array(token_sounds, pa.list_(pa.string())),
        "grp": pa.array(group, pa.string()),
    })  # fmt: skip


def _digits(x: str) -> str:
    return f"regexp_replace({x}, '[^0-9]', '', 'g')"


FEATURES_SQL = """
CREATE OR REPLACE TEMP TABLE features AS
WITH fam_multi AS (  -- records with several family names (most have one: joined directly)
    SELECT s.record_id, list_distinct(list(f.sq) FILTER (WHERE f.sq IS NOT NULL)) AS fam,
        list_distinct(flatten(list(f.tokens))) AS fam_tokens,
        list_distinct(flatten(list(f.token_sounds))) AS fam_sounds
    FROM (SELECT record_id, unnest(all_family) AS name FROM {source}
          WHERE len(all_family) > 1) s
    JOIN forms f ON f.raw = s.name
    GROUP BY s.record_id),
base AS (
    SELECT s.record_id, s.person_seq, s.provider, s.source_key, s.is_new,
        g.sq AS given_sq, g.first AS given1, g.grp AS given_group, g.sound AS given_sound,
        coalesce(g.tokens, []) AS given_tokens,
        CASE WHEN fm.record_id IS NOT NULL THEN fm.fam
             WHEN f1.sq IS NOT NULL THEN [f1.sq] ELSE [] END AS fam,
        coalesce(fm.fam_tokens, f1.tokens, []) AS fam_tokens,
        coalesce(fm.fam_sounds, f1.token_sounds, []) AS fam_sounds,
        CAST(s.d AS VARCHAR) AS dob,
        coalesce(year(s.d), TRY_CAST(left(s.birth_date, 4) AS INTEGER)) AS birth_year,
        month(s.d) AS birth_month, day(s.d) AS birth_day,
        CASE WHEN s.d IS NOT NULL THEN concat_ws('-', year(s.d),
            lpad(CAST(least(month(s.d), day(s.d)) AS VARCHAR), 2, '0'),
            lpad(CAST(greatest(month(s.d), day(s.d)) AS VARCHAR), 2, '0')) END AS dob_sorted,
        CASE lower(s.gender) WHEN 'male' THEN 'm' WHEN 'female' THEN 'f' END AS sex,
        nullif(upper(regexp_replace(coalesce(s.postal_code, ''), '\\s', '', 'g')), '') AS postcode,
        c.sq AS city_sq,
        nullif(trim(regexp_replace(lower(strip_accents(coalesce(s.address_line, ''))),
                                   '[^a-z0-9]+', ' ', 'g')), '') AS address,
        list_distinct(list_filter(list_transform(coalesce(s.all_telecom, []),
            lambda t: CASE WHEN NOT contains(t, '@') AND length({digits_t}) >= 9
                           THEN right({digits_t}, 9) END),
            lambda p: p IS NOT NULL)) AS phones,
        nullif(lower(trim(coalesce(s.email, list_filter(coalesce(s.all_telecom, []),
            lambda t: contains(t, '@'))[1]))), '') AS email,
        CASE WHEN s.national_id_status = 'valid' THEN s.national_id_scheme END AS nid_scheme,
        CASE WHEN s.national_id_status = 'valid' THEN s.national_id END AS nid,
        coalesce(s.multiple_birth, false) AS multiple_birth
    FROM (SELECT *, CASE WHEN length(birth_date) >= 10
                         THEN TRY_CAST(left(birth_date, 10) AS DATE) END AS d FROM {source}) s
    LEFT JOIN forms g ON g.raw = s.given
    LEFT JOIN forms c ON c.raw = s.city
    LEFT JOIN forms f1 ON f1.raw = coalesce(s.all_family[1], s.family)
    LEFT JOIN fam_multi fm ON fm.record_id = s.record_id
)
SELECT *,
    -- name sounds for blocking, given and family alike (names are often written swapped)
    list_distinct(list_filter(list_append(fam_sounds, given_sound), lambda x: x IS NOT NULL))
        AS name_sounds,
    list_transform(fam_sounds, lambda x: least(given_sound, x) || '|' || greatest(given_sound, x))
        AS name_pairs
FROM base
"""

# share of records with the value, smoothed towards the usual frequency of an agreement
# (DEFAULT_U) so that a small hub's counts do not make every shared value look common
TF_SQL = """
CREATE OR REPLACE TEMP TABLE tf_{name} AS
SELECT v, (count(*) + {pseudo} * {usual}) / ((SELECT count(*) FROM features WHERE {present})
                                             + {pseudo}) AS tf
FROM (SELECT {value} AS v FROM features WHERE {present}) GROUP BY v
"""
# value -> how it is read from a feature row (lists are unnested), and which comparison
# level's usual frequency it is smoothed towards
TERM_FREQUENCIES = {
    "given": ("given_sq", "given_sq IS NOT NULL", ("given", 0)),
    "dob": ("dob", "dob IS NOT NULL", ("birth_date", 0)),
    "postcode": ("postcode", "postcode IS NOT NULL", ("place", 0)),
    "city": ("city_sq", "city_sq IS NOT NULL", ("place", 1)),
    "family": ("unnest(fam)", "len(fam) > 0", ("family", 0)),
    "phone": ("unnest(phones)", "len(phones) > 0", ("phone", 0)),
}


# per record, the frequency of each of its family names and phone numbers (same order)
ALIGNED_TF_SQL = """
CREATE OR REPLACE TEMP TABLE features AS
WITH fam_tf AS (  -- records with several names or phones (most have one: joined directly)
    SELECT u.record_id, list(coalesce(t.tf, 1.0) ORDER BY u.i) AS fam_tf
    FROM (SELECT record_id, unnest(fam) AS v, generate_subscripts(fam, 1) AS i FROM features
          WHERE len(fam) > 1) u
    LEFT JOIN tf_family t ON t.v = u.v GROUP BY u.record_id),
phone_tf AS (
    SELECT u.record_id, list(coalesce(t.tf, 1.0) ORDER BY u.i) AS phone_tf
    FROM (SELECT record_id, unnest(phones) AS v, generate_subscripts(phones, 1) AS i
          FROM features WHERE len(phones) > 1) u
    LEFT JOIN tf_phone t ON t.v = u.v GROUP BY u.record_id)
SELECT f.*, tg.tf AS given_tf,
    td.tf AS dob_tf, tp.tf AS postcode_tf, tc.tf AS city_tf,
    CASE WHEN len(f.fam) = 0 THEN [] WHEN len(f.fam) = 1 THEN [coalesce(t1.tf, 1.0)]
         ELSE ft.fam_tf END AS fam_tf,
    CASE WHEN len(f.phones) = 0 THEN [] WHEN len(f.phones) = 1 THEN [coalesce(p1.tf, 1.0)]
         ELSE pt.phone_tf END AS phone_tf
FROM features f
LEFT JOIN tf_given tg ON tg.v = f.given_sq
LEFT JOIN tf_dob td ON td.v = f.dob
LEFT JOIN tf_postcode tp ON tp.v = f.postcode
LEFT JOIN tf_city tc ON tc.v = f.city_sq
LEFT JOIN tf_family t1 ON t1.v = f.fam[1]
LEFT JOIN tf_phone p1 ON p1.v = f.phones[1]
LEFT JOIN fam_tf ft ON ft.record_id = f.record_id
LEFT JOIN phone_tf pt ON pt.record_id = f.record_id
"""


# the version of what ``record_features`` computes: stored features of another version are
# computed again from the identifiers
FEATURES_VERSION = 2
# what the vault stores of a record's features (the rest comes from its record row)
STORED = ("record_id", "given_sq", "given1", "given_group", "given_sound", "given_tokens", "fam",
          "fam_tokens", "fam_sounds", "dob", "birth_year", "birth_month", "birth_day",
          "dob_sorted", "sex", "postcode", "city_sq", "address", "phones", "email", "nid_scheme",
          "nid", "multiple_birth", "name_sounds", "name_pairs")  # fmt: skip


def record_features(con: duckdb.DuckDBPyConnection, source: str, name: str) -> int:
    """The temporary table ``name``: each record's own features, from relation ``source``
    (record_id, person_seq, provider, source_key, is_new and the identity columns)."""
    con.register("forms_arrow", _name_forms(con, source))
    con.execute("CREATE OR REPLACE TEMP TABLE forms AS SELECT * FROM forms_arrow")
    con.unregister("forms_arrow")
    sql = FEATURES_SQL.format(source=source, digits_t=_digits("t"))
    con.execute(sql.replace("TEMP TABLE features AS", f"TEMP TABLE {name} AS", 1))
    return int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])


def finish_features(con: duckdb.DuckDBPyConnection, sources: list[str]) -> int:
    """``features``: the records of relations ``sources`` (each with the columns of
    ``record_features``) with the term frequencies of their values among all of them."""
    union = " UNION ALL BY NAME ".join(f"SELECT * FROM {s}" for s in sources)
    con.execute(f"CREATE OR REPLACE TEMP TABLE features AS {union}")
    for name, (value, present, (comparison, level)) in TERM_FREQUENCIES.items():
        usual = DEFAULT_U[comparison][level]
        con.execute(TF_SQL.format(name=name, value=value, present=present, usual=usual,
                                  pseudo=TF_PSEUDO_RECORDS))  # fmt: skip
    con.execute(ALIGNED_TF_SQL)
    return int(con.execute("SELECT count(*) FROM features").fetchall()[0][0])


def build_features(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """Make ``features`` (with term frequencies) from the records in relation ``source``."""
    record_features(con, source, "features_own")
    return finish_features(con, ["features_own"])
