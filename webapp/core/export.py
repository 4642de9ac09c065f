"""A patient's copy of their space: one JSON file with everything in it, from every domain.

Like the home page's items: a domain registers a section, a function of the patient returning
what JSON can hold (dates become ISO 8601 text, UTC unless the section says otherwise). A
section that can be long (messages, the access history) returns an iterator: its rows are
read page by page and let go once written out. The text itself is made whole before anything
is sent, so a failure halfway gives an error page, never a cut file that looks complete.

    from ..core.export import export_section

    @export_section("appointments")
    def _appointments(patient) -> list[dict]: ...

`prepare` asks policy, writes the file, then records the export in the patient's access
history and commits: nothing leaves unless it is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime

from .. import audit, policy
from ..extensions import db, socketio

FORMAT = "healthspace-export/1"
# Under the gevent worker one request's CPU stops every live socket: a long export lets the
# others run between every few items (opening a message is ~20 µs of crypto).
YIELD_EVERY = 50

Section = Callable[[object], object]
SECTIONS: dict[str, Section] = {}


def export_section(name: str):
    """Register `name`'s provider (once: importing a module twice keeps one)."""

    def register(provider: Section) -> Section:
        SECTIONS[name] = provider
        return provider

    return register


def utc(moment: datetime | None) -> str | None:
    """A stored instant (naive UTC) as ISO 8601 with its Z."""
    return None if moment is None else moment.isoformat(timespec="seconds") + "Z"


def _default(value):
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not exportable: {type(value).__name__}")


def _dumps(value) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False)


def prepare(patient, exported_at: datetime) -> bytes:
    """The whole file for `patient`, once policy allows and the history says so."""
    policy.require(patient, "space.export", patient)
    data = "".join(write(patient, exported_at)).encode()
    audit.record(patient, patient, "export", "space")  # "You exported your space"
    db.session.commit()
    return data


def filename(today: date) -> str:
    return f"health-space-{today.isoformat()}.json"


def write(patient, exported_at: datetime) -> Iterator[str]:
    """The file, piece by piece: {"format", "exported_at", <section>: …}."""
    document = {"format": FORMAT, "exported_at": utc(exported_at)}
    document.update((name, _Lazy(provider, patient)) for name, provider in SECTIONS.items())
    yield from _encode(document)
    yield "\n"


class _Lazy:
    """A section, asked for only when the writer reaches it."""

    def __init__(self, provider: Section, patient):
        self.provider, self.patient = provider, patient


def _streams(value) -> bool:
    """Written piece by piece: a section not asked yet, or an iterator (not a plain value)."""
    return isinstance(value, _Lazy) or (
        isinstance(value, Iterable) and not isinstance(value, (str, bytes, dict, list, tuple)))


def _plain(value) -> bool:
    """Nothing inside streams: JSON can take it in one piece."""
    if isinstance(value, dict):
        return all(map(_plain, value.values()))
    if isinstance(value, (list, tuple)):
        return all(map(_plain, value))
    return not _streams(value)


def _encode(value) -> Iterator[str]:
    """JSON text of `value`, where any dict value or list item may itself be an iterator (a
    conversation's messages): written as it is read, with a pause for the other sockets every
    YIELD_EVERY items."""
    if isinstance(value, _Lazy):
        value = value.provider(value.patient)
    if isinstance(value, dict | list) and _plain(value):
        yield _dumps(value)  # a plain record (most items): in one piece
    elif isinstance(value, dict):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            yield ("" if index == 0 else ", ") + _dumps(key) + ": "
            yield from _encode(item)
        yield "}"
    elif _streams(value) or isinstance(value, list):
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ",\n"
            yield from _encode(item)
            if index % YIELD_EVERY == YIELD_EVERY - 1:
                socketio.sleep(0)
        yield "]"
    else:
        yield _dumps(value)
