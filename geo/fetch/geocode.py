"""Geocode an address list (postcode + house number) with the PDOK Locatieserver, exact matches only.

Each address becomes one request to ``/bzk/locatieserver/search/v3_1/free`` with ``fq=type:adres``
and ``fq=postcode:<pc> AND huisnummer:<n>``; of the documents returned (``response.docs``) only the
one whose ``postcode``, ``huisnummer``, ``huisletter`` and ``huisnummertoevoeging`` equal the
address is accepted, and its ``centroide_rd`` is the point. Anything else (no match, several,
an address that cannot be parsed) stays unplaced and is listed in a report: nothing is guessed.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from geo.errors import DataError
from geo.fetch.area import Area
from geo.fetch.config import FetchConfig
from geo.fetch.http import FetchError, HttpClient
from geo.fetch.store import Download, write_geojson
from geo.io._read import read_table

LOCATIESERVER_PATH = "bzk/locatieserver/search/v3_1/free"
FIELDS = (
    "id weergavenaam type postcode huisnummer huisletter huisnummertoevoeging "
    "centroide_ll centroide_rd gemeentecode gemeentenaam nummeraanduiding_id adresseerbaarobject_id"
)
POSTCODE = re.compile(r"^\s*([1-9]\d{3})\s*([A-Za-z]{2})\s*$")
# <street> <number>[ ]<letter>  |  <street> <number> <toevoeging>  |  <street> <number> -<number>... (a range)
ADDRESS = re.compile(
    r"^(?P<street>.*?\S)\s+(?P<number>\d{1,5})"
    r"(?:"
    r"\s*(?P<letter>[A-Za-z])"
    r"|\s+(?P<toevoeging>[A-Za-z0-9]{2,4})"
    r"|\s*-\s*\d{1,5}[A-Za-z]?(?:\s*-\s*\d{1,5}[A-Za-z]?)*"
    r")?\s*$"
)
# "Meenthoek 3 Unit 1", "Hanzeplein 1 Ingang 53": a number followed by words before the last number
NUMBER_THEN_WORDS = re.compile(r"\s\d+[A-Za-z]?\s+\D+$")
ROWS = 100  # the Locatieserver's maximum ``rows`` (OpenAPI spec of v3_1)
MAX_PAGES = 50
POINT = re.compile(r"^POINT\s*\(\s*([-\d.eE+]+)\s+([-\d.eE+]+)\s*\)$")


@dataclass(frozen=True)
class Address:
    """One row of the list: where it came from and the parts the BAG uses."""

    line: int
    name: str
    text: str
    postcode: str | None
    number: int | None
    letter: str = ""
    toevoeging: str = ""
    ident: str = ""
    problem: str = ""

    @property
    def label(self) -> str:
        rest = self.letter + (f"-{self.toevoeging}" if self.toevoeging else "")
        return f"{self.postcode} {self.number}{rest}"


def parse_house_number(text: str) -> tuple[int, str, str] | None:
    """(huisnummer, huisletter, toevoeging) from a street address, or ``None`` if not one of the
    plain forms; a range such as ``16 -18`` gives its first number."""
    match = ADDRESS.match(text or "")
    if not match or NUMBER_THEN_WORDS.search(match["street"]):
        return None
    return int(match["number"]), (match["letter"] or "").upper(), (match["toevoeging"] or "").upper()


def normalise_postcode(text: str) -> str | None:
    match = POSTCODE.match(text or "")
    return f"{match[1]}{match[2].upper()}" if match else None


def read_addresses(path: Path) -> list[Address]:
    """The IGJ register layout (``Officiëlenaam;Adresbezoek;Postcode;Plaats``) or plain columns
    ``postcode;huisnummer[;huisletter;huisnummertoevoeging;name]``."""
    table = read_table(path)
    columns = {c.strip().lower(): c for c in table.columns}
    if "postcode" not in columns:
        raise DataError(path, f"missing column 'postcode'; the file has: {', '.join(table.columns)}", field="postcode")
    street_col = columns.get("adresbezoek") or columns.get("adres") or columns.get("address")
    number_col = columns.get("huisnummer")
    if not street_col and not number_col:
        raise DataError(path, "missing column 'Adresbezoek' (street and number) or 'huisnummer'", field="huisnummer")
    name_col = columns.get("officiëlenaam") or columns.get("naam") or columns.get("name")
    id_col = columns.get("kvknr") or columns.get("id")
    out = []
    for i, row in enumerate(table.to_dict("records"), start=2):
        name = (row.get(name_col) or "").strip() if name_col else ""
        postcode = normalise_postcode(row[columns["postcode"]])
        text = (row[street_col] if street_col else row[number_col]).strip()
        common = {"line": i, "name": name, "text": text, "ident": (row.get(id_col) or "").strip() if id_col else ""}
        parts = _plain_parts(row, columns) if number_col else parse_house_number(text)
        if postcode is None:
            out.append(
                Address(
                    **common, postcode=None, number=None, problem=f"no valid postcode ({row[columns['postcode']]!r})"
                )
            )
        elif parts is None:
            out.append(Address(**common, postcode=postcode, number=None, problem="house number not understood"))
        else:
            out.append(Address(**common, postcode=postcode, number=parts[0], letter=parts[1], toevoeging=parts[2]))
    if not out:
        raise DataError(path, "the list holds no addresses")
    return out


def _plain_parts(row: dict, columns: dict) -> tuple[int, str, str] | None:
    number = (row[columns["huisnummer"]] or "").strip()
    if not number.isdigit():
        return None
    letter = (row.get(columns.get("huisletter", ""), "") or "").strip().upper()
    toev = (row.get(columns.get("huisnummertoevoeging", ""), "") or "").strip().upper()
    return int(number), letter, toev


def lookup(client: HttpClient, url: str, address: Address) -> tuple[dict | None, str]:
    """The one Locatieserver document that matches ``address`` exactly, or ``None`` and why not.

    The query is narrowed by house letter and addition where the address has them; the answer is read
    page by page (``rows`` <= 100, the service's maximum) so a large complex is never cut off."""
    narrow = [f"huisletter:{address.letter}"] if address.letter else []
    narrow += [f"huisnummertoevoeging:{address.toevoeging}"] if address.toevoeging else []
    docs = _all_docs(client, url, address, narrow)
    if not docs and narrow:
        docs = _all_docs(client, url, address, [])  # only to name the numbers BAG does have
    exact = [
        d
        for d in docs
        if d.get("type") == "adres"
        and str(d.get("postcode", "")).replace(" ", "").upper() == address.postcode
        and str(d.get("huisnummer", "")) == str(address.number)
        and str(d.get("huisletter") or "").upper() == address.letter
        and str(d.get("huisnummertoevoeging") or "").upper() == address.toevoeging
    ]
    if len(exact) == 1:
        return exact[0], ""
    if exact:
        return None, f"{len(exact)} BAG addresses match exactly (ambiguous)"
    if not docs:
        return None, f"no BAG address {address.postcode} {address.number}"
    variants = sorted(
        {
            f"{d.get('huisnummer')}{d.get('huisletter') or ''}"
            + (f"-{d['huisnummertoevoeging']}" if d.get("huisnummertoevoeging") else "")
            for d in docs
        }
    )
    return None, f"no exact match for {address.label}; BAG has {', '.join(variants[:8])}" + (
        " ..." if len(variants) > 8 else ""
    )


def _all_docs(client: HttpClient, url: str, address: Address, narrow: list[str]) -> list[dict]:
    """Every document of one filtered query, ``ROWS`` at a time (``start`` paging)."""
    docs: list[dict] = []
    for page in range(MAX_PAGES):
        params = {
            "q": f"{address.postcode} {address.number}",
            "fq": ["type:adres", f"postcode:{address.postcode} AND huisnummer:{address.number}", *narrow],
            "fl": FIELDS,
            "rows": ROWS,
            "start": page * ROWS,
        }
        what = f"Locatieserver, line {address.line} ({address.label})" + (f", page {page + 1}" if page else "")
        body = client.get_json(url, params, what=what, check=_answer_check(url, address))
        response = body["response"]
        docs += [d for d in response["docs"] if isinstance(d, dict)]
        if not response["docs"] or (page + 1) * ROWS >= int(response["numFound"]):
            return docs
    raise FetchError(
        f"Locatieserver, line {address.line} ({address.label}): more than {MAX_PAGES * ROWS:,} addresses match"
    )


def _answer_check(url: str, address: Address):
    def check(body) -> None:
        response = body.get("response") if isinstance(body, dict) else None
        if not isinstance(response, dict) or not isinstance(response.get("docs"), list) or "numFound" not in response:
            raise FetchError(
                f"Locatieserver, line {address.line} ({address.label}, {url}): not a Locatieserver answer "
                "(no response.numFound / response.docs)"
            )

    return check


def rd_point(doc: dict) -> tuple[float, float]:
    match = POINT.match(str(doc.get("centroide_rd", "")).strip())
    if not match:
        raise FetchError(
            f"Locatieserver document {doc.get('id')}: centroide_rd is not a POINT: {doc.get('centroide_rd')!r}"
        )
    return float(match[1]), float(match[2])


def fetch_geocode(
    client: HttpClient,
    config: FetchConfig,
    path: Path,
    *,
    category: str,
    area: Area | None = None,
    progress=lambda _m: None,
) -> tuple[list[Download], Path, Counter]:
    """Geocode every address in ``path``; returns the points file to load, the report and counts."""
    from geo.io.services import check_category

    check_category(category)
    url = f"{config.pdok_url}/{LOCATIESERVER_PATH}"
    addresses = read_addresses(path)
    features, unplaced, counts, ids = [], [], Counter(), Counter()
    for n, address in enumerate(addresses, 1):
        if address.problem:
            unplaced.append((address, address.problem))
            counts["not parsed"] += 1
            continue
        doc, why = lookup(client, url, address)
        if doc is None:
            unplaced.append((address, why))
            counts["no exact match"] += 1
        else:
            x, y = rd_point(doc)
            key = f"{address.ident}@{address.label.replace(' ', '')}"
            ids[key] += 1
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [x, y]},
                    "properties": {
                        "id": key if ids[key] == 1 else f"{key}#{ids[key]}",
                        "name": address.name or doc.get("weergavenaam"),
                        "address": address.text,
                        "weergavenaam": doc.get("weergavenaam"),
                        "nummeraanduiding_id": doc.get("nummeraanduiding_id"),
                        "gemeentecode": doc.get("gemeentecode"),
                        "line": address.line,
                    },
                }
            )
            counts["placed"] += 1
        if n % 100 == 0 or n == len(addresses):
            progress(f"  geocoded {n:,} / {len(addresses):,}: {counts['placed']:,} placed")
    downloads_dir = config.cache_dir / "downloads"
    downloads_dir.mkdir(parents=True, exist_ok=True)
    report = downloads_dir / f"geocode_unplaced_{path.stem}.csv"
    with open(report, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["line", "name", "address", "postcode", "reason"])
        for address, why in unplaced:
            writer.writerow([address.line, address.name, address.text, address.postcode or "", why])
    if area is not None and features:
        import shapely

        keep = area.keep(shapely.points([f["geometry"]["coordinates"] for f in features]))
        counts["outside the area"] = int((~keep).sum())
        features = [f for f, k in zip(features, keep, strict=True) if k]
    if not features:
        raise FetchError(
            f"geocoding {path}: no address could be placed exactly ({sum(counts.values()):,} rows); see {report}"
        )
    label = f"_{area.label}" if area is not None else ""
    out = write_geojson(downloads_dir / f"geocoded_{path.stem}{label}.geojson", features, epsg=28992)
    source = f"geocode:{path.stem}{label}"[:80]
    return [Download("points", out, source, {"category": category})], report, counts
