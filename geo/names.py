"""Municipality names as sources write them, matched to CBS codes.

CBS disambiguates a few names with a province suffix ("Rijswijk (ZH.)", "Hengelo (O.)", "Bergen (NH.)" and
"Bergen (L.)"); news reports and COA pages write the bare name. The rule, decided here only:

1. a row's own ``municipality_code`` wins when it is a loaded code;
2. else its name equal to a CBS name (ignoring case, accents and spacing);
3. else its name equal to the bare form of exactly one suffixed CBS name (:func:`aliases`); a bare name that two
   municipalities share ("Bergen") is ambiguous and is reported, never guessed;
4. else not matched (reported with the reason).

The alias table is derived from the loaded CBS names, so it follows the municipality year loaded;
``data/cbs/gemeentenaam_aliassen.csv`` is the same table for the shipped 2024 names (written by
``scripts/derive_municipality_aliases.py``; a test keeps them equal).
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

SUFFIX = re.compile(r"^(?P<bare>.+?)\s*\((?P<province>[A-Za-z]+\.)\)$")
ALIAS_COLUMNS = ["alias", "gemeentecode", "gemeentenaam_cbs", "rule"]


def normalise(name) -> str:
    """Comparable form of a name: accents dropped, case folded, inner spacing collapsed."""
    text = unicodedata.normalize("NFKD", str(name or ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split())


def aliases(names: dict[str, str]) -> pd.DataFrame:
    """The alias table of CBS names ``{code: name}``: one row per bare name of a suffixed name, with the code when
    exactly one municipality carries it (and no municipality has the bare name itself), else empty and the rule
    ``ambiguous: ...``."""
    holders: dict[str, list[tuple[str, str]]] = {}
    for code, name in sorted(names.items()):
        match = SUFFIX.match(str(name))
        if match:
            holders.setdefault(match["bare"], []).append((code, name))
    plain = {normalise(n) for n in names.values()}
    rows = []
    for bare, held in sorted(holders.items()):
        if len(held) == 1 and normalise(bare) not in plain:
            code, name = held[0]
            rows.append((bare, code, name, "unique bare name of a CBS name with a province suffix"))
        else:
            rows.append((bare, "", "", "ambiguous: " + "; ".join(f"{name} {code}" for code, name in held)))
    return pd.DataFrame(rows, columns=ALIAS_COLUMNS)


def match_municipalities(rows: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Codes for ``rows`` (columns ``municipality_name`` and optional ``municipality_code``) against the CBS names
    ``{code: name}``. Returns ``code`` (None when not matched), ``matched_by`` (code, name, alias or None) and
    ``match_note`` (the alias used, or why nothing matched), on the index of ``rows``."""
    exact = {normalise(n): c for c, n in names.items()}
    table = aliases(names)
    alias = {normalise(r.alias): r for r in table.itertuples()}
    given = rows["municipality_code"] if "municipality_code" in rows else pd.Series(None, index=rows.index)
    out = []
    for code, name in zip(given, rows["municipality_name"], strict=True):
        key = normalise(name)
        if isinstance(code, str) and code in names:
            out.append((code, "code", None))
        elif isinstance(code, str) and code.strip():
            out.append((None, None, f"code {code!r} is not a loaded municipality"))
        elif key in exact:
            out.append((exact[key], "name", None))
        elif key in alias and alias[key].gemeentecode:
            a = alias[key]
            out.append((a.gemeentecode, "alias", f"'{name}' read as CBS name '{a.gemeentenaam_cbs}'"))
        elif key in alias:
            out.append((None, None, f"municipality '{name}' is {alias[key].rule}"))
        else:
            out.append((None, None, f"municipality '{name}' not matched"))
    frame = pd.DataFrame(out, columns=["code", "matched_by", "match_note"], index=rows.index, dtype=object)
    return frame.where(frame.notna(), None)


PROVINCE_CODES = {
    "groningen": "PV20",
    "fryslan": "PV21",
    "friesland": "PV21",
    "drenthe": "PV22",
    "overijssel": "PV23",
    "flevoland": "PV24",
    "gelderland": "PV25",
    "utrecht": "PV26",
    "noord-holland": "PV27",
    "zuid-holland": "PV28",
    "zeeland": "PV29",
    "noord-brabant": "PV30",
    "limburg": "PV31",
}
"""CBS province codes by normalised name (CBS's 'Fryslân' and the Dutch 'Friesland' alike); 'Nederland' is NL."""


def region_code_of(name: str) -> str | None:
    """``NL`` for the country, ``PVxx`` for a province name, None otherwise."""
    key = normalise(name)
    return "NL" if key == "nederland" else PROVINCE_CODES.get(key)
