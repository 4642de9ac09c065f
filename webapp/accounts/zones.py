"""Time zones offered in the settings, named in the reader's language ("France (Paris)",
"Guadeloupe") from CLDR through Babel. The stored value stays the IANA id."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import get_timezone_location

# The zones the select offers: France, its overseas territories and its neighbours. Any IANA
# zone is still accepted when saved (services.validate_timezone); a person whose zone is not
# here sees it added to their own list.
COMMON_ZONES = (
    "Europe/Paris", "Europe/Brussels", "Europe/Luxembourg", "Europe/Monaco", "Europe/Zurich",
    "Europe/London", "Europe/Madrid", "Europe/Berlin", "Europe/Rome", "Africa/Casablanca",
    "Africa/Algiers", "Africa/Tunis", "America/Guadeloupe", "America/Martinique",
    "America/Cayenne", "America/Miquelon", "America/Montreal", "Indian/Reunion",
    "Indian/Mayotte", "Pacific/Noumea", "Pacific/Tahiti", "Pacific/Wallis", "UTC",
)


def _fold(text: str) -> str:
    """A sort and comparison key: no accents, no case ("Égypte" sorts with "Egypte")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _first_word(text: str) -> str:
    folded = _fold(text)
    return "".join(c if c.isalnum() else " " for c in folded).split(" ", 1)[0]


def zone_label(zone: str, locale: Locale) -> str:
    """The zone as a person names it: the country, and the city where it helps."""
    canonical = get_global("zone_aliases").get(zone, zone)
    if canonical == zone:
        city = get_timezone_location(zone, locale=locale, return_city=True)
    else:
        # An alias (America/Montreal → America/Toronto): keep the city the person chose.
        city = zone.rpartition("/")[2].replace("_", " ")
    territory = get_global("zone_territories").get(canonical)
    country = locale.territories.get(territory) if territory not in (None, "ZZ", "001") else None
    if not country:  # UTC, Etc/GMT+5: no country to name
        return city
    single_zone = len(get_global("territory_zones").get(territory, ())) == 1
    if single_zone and _first_word(city) == _first_word(country):
        return country  # "Guadeloupe", not "Guadeloupe (Guadeloupe)"
    return locale.zone_formats["fallback"] % {"0": city, "1": country}


@lru_cache(maxsize=32)
def _choices(locale_name: str, zones: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    try:
        locale = Locale.parse(locale_name)
    except (ValueError, UnknownLocaleError):
        locale = Locale("en")
    labelled = []
    for zone in zones:
        try:
            labelled.append((zone, zone_label(zone, locale)))
        except Exception:  # noqa: BLE001 -- an id CLDR does not know still shows, as its id
            labelled.append((zone, zone.replace("_", " ")))
    return tuple(sorted(labelled, key=lambda pair: (_fold(pair[1]), pair[1], pair[0])))


def zone_choices(locale_name: str, current: str | None = None) -> tuple[tuple[str, str], ...]:
    """(id, name) pairs for the select, sorted by name in this language; `current` (the
    person's own zone) is included even when it is not a common one. Cached per language."""
    zones = COMMON_ZONES if not current or current in COMMON_ZONES else (*COMMON_ZONES, current)
    return _choices(locale_name, zones)
