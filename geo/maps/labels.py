"""Words on the maps: Dutch for the people who use them, English with ``lang='en'``.

Only fixed texts live here; everything from data is escaped where it is put on the map.
"""

from __future__ import annotations

from geo.errors import InputError

LANGUAGES = ("nl", "en")

CATEGORIES = {
    "nl": {
        "gp": "huisarts",
        "pharmacy": "apotheek",
        "supermarket": "supermarkt",
        "primary_school": "basisschool",
        "secondary_school": "middelbare school",
        "hospital": "ziekenhuis",
        "library": "bibliotheek",
        "train_station": "treinstation",
        "bus_stop": "bushalte",
        "tram_metro_stop": "tram-/metrohalte",
        "ferry_stop": "veerhalte",
        "childcare": "kinderopvang",
    },
    "en": {
        "gp": "GP",
        "pharmacy": "pharmacy",
        "supermarket": "supermarket",
        "primary_school": "primary school",
        "secondary_school": "secondary school",
        "hospital": "hospital",
        "library": "library",
        "train_station": "train station",
        "bus_stop": "bus stop",
        "tram_metro_stop": "tram/metro stop",
        "ferry_stop": "ferry stop",
        "childcare": "childcare",
    },
}

TEXT = {
    "nl": {
        "provinces": "Provincies",
        "municipalities": "Gemeenten",
        "districts": "Wijken (inwoners)",
        "neighbourhoods": "Buurten (inwoners)",
        "reception": "Opvanglocaties (bestaand)",
        "undated": "ongedateerd (niet meegeteld)",
        "site_undated": "ongedateerd: niet meegeteld",
        "site_expired": "verlopen: niet meegeteld",
        "site_not_yet_open": "nog niet open: niet meegeteld",
        "site_not_open": "gesloten/voorgenomen: niet meegeteld",
        "site_no_capacity": "geen capaciteit: niet meegeteld",
        "candidates": "Kandidaatpanden (score)",
        "services": "Voorzieningen",
        "proposal": "Voorstel",
        "nearest": "Dichtstbijzijnde voorziening per categorie",
        "circles": "Cirkels 500 m en 1 km",
        "area_outline": "Buurt en wijk van het voorstel",
        "population": "inwoners",
        "province": "provincie",
        "required": "opgave",
        "realised": "gerealiseerd",
        "pipeline": "in voorbereiding",
        "gap": "tekort",
        "gap_per_1000": "tekort per 1.000 inwoners",
        "share_realised": "aandeel gerealiseerd",
        "official": "officieel",
        "computed": "berekend naar inwoners",
        "source": "bron",
        "score": "score",
        "excluded": "uitgesloten",
        "proportional_fit": "proportionaliteit",
        "proximity": "nabijheid voorzieningen",
        "task_contribution": "bijdrage aan opgave",
        "weight": "gewicht",
        "share_of": "{level}: aandeel {share} van {allowed} toegestaan",
        "buurt": "buurt",
        "wijk": "wijk",
        "municipality": "gemeente",
        "closes": "dicht {closes} van {gap} plaatsen tekort",
        "estimate": "~{m} m (CBS-schatting)",
        "missing": "geen gegevens",
        "capacity": "capaciteit",
        "places": "plaatsen",
        "flags": "signalen",
        "profile": "profiel",
        "vintage": "gegevensversie",
        "building": "pand",
        "rank": "rang",
        "kind": "soort",
        "period": "periode",
        "no_capacity": "capaciteit onbekend",
        "unlocated": "Opvanglocaties zonder coördinaten (niet op de kaart, vermeld bij hun gemeente):",
        "unlocated_short": "opvang zonder coördinaten",
        "located_none": "Geen opvanglocatie heeft coördinaten; ze staan in de tooltip van hun gemeente.",
        "legend_score": "Score kandidaat (0-1); grijs = uitgesloten",
        "search": "Zoek op naam of pand-id",
        "distance_note": "afstanden in rechte lijn (RD-meters), geen routeafstand",
        "tiles_none": "geen achtergrondkaart",
        "no_data": "geen gegevens",
        "within": "{n500} binnen 500 m, {n1000} binnen 1 km",
        "per_1000": "per 1.000 inwoners",
        "click_pin": "klik voor het opgavepaneel",
        "unlocated_note": "{n} opvanglocaties zonder coördinaten staan in het paneel van hun gemeente.",
        "panel_close": "sluiten",
        "province_totals": "provincie {name} totaal",
        "region_map": "regiokaart van {name}",
        "show_province": "toon provincie {name}",
        "undated_places": "{n} plaatsen ongedateerd (niet meegeteld)",
        "no_candidates": "Geen kandidaatpanden in {names}: voor deze gemeente(n) zijn geen BAG-panden geladen.",
        "all_excluded": "Alle {n} panden zijn uitgesloten; zet de laag 'uitgesloten' aan om ze te zien.",
        "excluded_layer": "Uitgesloten panden",
        "candidates_layer": "Kandidaatpanden",
        "cluster_best": "clusterkleur = beste score in het cluster; getal = aantal panden",
        "stops_cluster": "grijze vierkanten = clusters van haltes/voorzieningen (geen kandidaten)",
        "deciding": "uitgesloten omdat",
        "good_within": "goed \u2264 {good} m, te ver \u2265 {far} m",
        "verdict_good": "goed",
        "verdict_mid": "redelijk",
        "verdict_far": "te ver",
        "measured": "gemeten",
        "upper_bound": "bovengrens (laag onvolledig)",
        "estimated": "schatting (CBS-gemiddelde)",
        "address": "adres",
        "use": "gebruiksdoel",
        "floor_area": "vloeroppervlak",
        "build_year": "bouwjaar",
        "unknown": "onbekend",
        "score_not_applicable": "telt niet: uitgesloten",
        "verdict_unsure": "onzeker",
        "tools": "Filters en ranglijst",
        "light_note": "Grote kaart: de volledige uitleg staat op de kaart van minder gemeenten of in de API "
        "(GET /candidates).",
        "tools_profile": "doelgroep (profiel)",
        "tools_score": "score van - tot",
        "tools_capacity": "capaciteit van - tot",
        "tools_use": "gebruiksdoel",
        "tools_all_uses": "alle",
        "tools_visible": "{n} kandidaten zichtbaar (in beeld en binnen de filters), {x} uitgesloten",
        "tools_list_note": "de beste {n} in beeld; klik om in te zoomen",
        "tools_csv": "CSV",
        "tools_geojson": "GeoJSON",
        "tools_print": "Afdrukken",
        "tools_id": "pand",
        "printed": "afgedrukt",
        "score_for_profile": "score voor profiel {profile}: {score}; onderstaande uitleg is van profiel {main}",
        "title_overview": "Opvangopgave per gemeente",
        "title_region": "Regio {name}: opvang, voorzieningen en kandidaten",
        "title_proposal": "Voorstel {name}",
    },
    "en": {
        "provinces": "Provinces",
        "municipalities": "Municipalities",
        "districts": "Wijken (population)",
        "neighbourhoods": "Buurten (population)",
        "reception": "Reception locations (existing)",
        "undated": "undated (not counted)",
        "site_undated": "undated: not counted",
        "site_expired": "expired: not counted",
        "site_not_yet_open": "not yet open: not counted",
        "site_not_open": "closed/planned: not counted",
        "site_no_capacity": "no capacity: not counted",
        "candidates": "Candidate buildings (score)",
        "services": "Services",
        "proposal": "Proposal",
        "nearest": "Nearest service per category",
        "circles": "500 m and 1 km circles",
        "area_outline": "Buurt and wijk of the proposal",
        "population": "population",
        "province": "province",
        "required": "required",
        "realised": "realised",
        "pipeline": "pipeline",
        "gap": "gap",
        "gap_per_1000": "gap per 1,000 inhabitants",
        "share_realised": "share realised",
        "official": "official",
        "computed": "computed by population",
        "source": "source",
        "score": "score",
        "excluded": "excluded",
        "proportional_fit": "proportional fit",
        "proximity": "proximity to services",
        "task_contribution": "task contribution",
        "weight": "weight",
        "share_of": "{level} share {share} of {allowed} allowed",
        "buurt": "buurt",
        "wijk": "wijk",
        "municipality": "municipality",
        "closes": "closes {closes} of {gap} places gap",
        "estimate": "~{m} m (CBS estimate)",
        "missing": "no data",
        "capacity": "capacity",
        "places": "places",
        "flags": "flags",
        "profile": "profile",
        "vintage": "data vintage",
        "building": "building",
        "rank": "rank",
        "kind": "kind",
        "period": "period",
        "no_capacity": "capacity unknown",
        "unlocated": "Reception locations without coordinates (not on the map, listed with their municipality):",
        "unlocated_short": "reception without coordinates",
        "located_none": "No reception location has coordinates; they are listed in their municipality's tooltip.",
        "legend_score": "Candidate score (0-1); grey = excluded",
        "search": "Search by name or building id",
        "distance_note": "straight-line distances (RD metres), not network distances",
        "tiles_none": "no background map",
        "no_data": "no data",
        "within": "{n500} within 500 m, {n1000} within 1 km",
        "per_1000": "per 1,000 inhabitants",
        "click_pin": "click for the task panel",
        "unlocated_note": "{n} reception sites without coordinates are listed in their municipality's panel.",
        "panel_close": "close",
        "province_totals": "province {name} total",
        "region_map": "region map of {name}",
        "show_province": "show province {name}",
        "undated_places": "{n} places undated (not counted)",
        "no_candidates": "No candidate buildings in {names}: no BAG buildings are loaded for this municipality.",
        "all_excluded": "All {n} buildings are excluded; switch on the layer 'excluded' to see them.",
        "excluded_layer": "Excluded buildings",
        "candidates_layer": "Candidate buildings",
        "cluster_best": "cluster colour = best score in the cluster; number = buildings",
        "stops_cluster": "grey squares = clusters of stops/services (not candidates)",
        "deciding": "excluded because",
        "good_within": "good \u2264 {good} m, too far \u2265 {far} m",
        "verdict_good": "good",
        "verdict_mid": "fair",
        "verdict_far": "too far",
        "measured": "measured",
        "upper_bound": "upper bound (layer incomplete)",
        "estimated": "estimate (CBS mean)",
        "address": "address",
        "use": "use",
        "floor_area": "floor area",
        "build_year": "build year",
        "unknown": "unknown",
        "score_not_applicable": "does not count: excluded",
        "verdict_unsure": "unsure",
        "tools": "Filters and ranked list",
        "light_note": "Large map: the full explanation is on a map of fewer municipalities or in the API "
        "(GET /candidates).",
        "tools_profile": "target group (profile)",
        "tools_score": "score from - to",
        "tools_capacity": "capacity from - to",
        "tools_use": "use",
        "tools_all_uses": "all",
        "tools_visible": "{n} candidates visible (in view and within the filters), {x} excluded",
        "tools_list_note": "the best {n} in view; click to zoom in",
        "tools_csv": "CSV",
        "tools_geojson": "GeoJSON",
        "tools_print": "Print",
        "tools_id": "building",
        "printed": "printed",
        "score_for_profile": "score for profile {profile}: {score}; the explanation below is of profile {main}",
        "title_overview": "Reception task per municipality",
        "title_region": "Region {name}: reception, services and candidates",
        "title_proposal": "Proposal {name}",
    },
}

FLAGS = {
    "nl": {
        "capacity_outside_band": "capaciteit buiten kleinschalige band",
        "floor_area_too_small": "vloeroppervlak te klein voor capaciteit",
        "capacity_capped": "capaciteit afgekapt op het maximum van het profiel",
        "capacity_estimated": "capaciteit geschat uit vloeroppervlak",
        "one_storey_assumed": "één bouwlaag aangenomen",
        "outside_municipalities": "buiten alle gemeenten",
        "not_in_use": "pand niet in gebruik",
        "no_population_data": "geen inwonersgegevens",
        "no_service_data": "geen voorzieningengegevens",
        "no_task_data": "geen opgavegegevens",
        "estimated_": "geschat (CBS): ",
        "upper_bound_": "bovengrens (laag onvolledig): ",
        "missing_": "ontbreekt: ",
        "no_population_": "te weinig inwoners: ",
        "no_": "geen gegevens: ",
    },
    "en": {
        "capacity_outside_band": "capacity outside the small-scale band",
        "floor_area_too_small": "floor area too small for the capacity",
        "capacity_capped": "capacity capped at the profile's maximum",
        "capacity_estimated": "capacity estimated from floor area",
        "one_storey_assumed": "one storey assumed",
        "outside_municipalities": "outside every municipality",
        "not_in_use": "building not in use",
        "no_population_data": "no population data",
        "no_service_data": "no service data",
        "no_task_data": "no task data",
        "estimated_": "estimated (CBS): ",
        "upper_bound_": "upper bound (layer incomplete): ",
        "missing_": "missing: ",
        "no_population_": "too few inhabitants: ",
        "no_": "no data: ",
    },
}


def check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise InputError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    return lang


def text(lang: str) -> dict[str, str]:
    return TEXT[check_lang(lang)]


def category(name: str, lang: str) -> str:
    return CATEGORIES[check_lang(lang)].get(name, name.replace("_", " "))


def flag(name: str, lang: str) -> str:
    """A scoring flag in words, e.g. ``estimated_gp`` -> 'geschat (CBS): huisarts'."""
    words = FLAGS[check_lang(lang)]
    if name in words:
        return words[name]
    for prefix in ("estimated_", "upper_bound_", "missing_", "no_population_"):
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            return words[prefix] + (category(rest, lang) if prefix != "no_population_" else text(lang).get(rest, rest))
    if name.startswith("no_") and name.endswith("_data"):
        level = name[3:-5]
        return words["no_"] + text(lang).get(level, level)
    return name.replace("_", " ")


def number(value, lang: str, digits: int = 0) -> str:
    """A number the way the language writes it: '12.345,6' (nl) or '12,345.6' (en); '-' for none."""
    if value is None or value != value:  # None or NaN
        return "-"
    text_ = f"{value:,.{digits}f}"
    return text_.translate(str.maketrans(",.", ".,")) if check_lang(lang) == "nl" else text_


def percent(value, lang: str, digits: int = 0) -> str:
    return "-" if value is None or value != value else number(value * 100, lang, digits) + " %"
