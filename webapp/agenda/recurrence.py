"""Recurrence: the friendly builder, validation of raw RRULEs, and expansion in local time.

A rule is stored as one or more `RRULE:` lines (no DTSTART) next to a wall-clock start in
the reminder's time zone. Occurrences are generated in local time and each is converted to
UTC on its own, so "every day at 08:00" stays at 08:00 local on both sides of a
daylight-saving change. A local time that does not exist (the spring gap) is taken with the
offset in force before the change (02:30 becomes 03:30); an ambiguous one (the autumn
overlap) is the first of the two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr
from flask_babel import gettext as _

from ..errors import UserError
from ..i18n import number

ALLOWED_FREQS = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
KNOWN_PARTS = {
    "FREQ", "INTERVAL", "COUNT", "UNTIL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
    "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST",
}
MAX_RULE_LENGTH = 500
MAX_LINES = 6
MAX_COUNT = 5000
MAX_INTERVAL = 400
# More than this many occurrences in a week is not a reminder a person can follow.
MAX_PER_WEEK = 7 * 12
MAX_TIMES = 6
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
BUILDER_FREQS = ("once", "daily", "weekly", "monthly", "yearly")
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Europe/Paris")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Paris")


def to_utc(local: datetime, tz: str) -> datetime:
    """A wall-clock time in `tz` → naive UTC."""
    return local.replace(tzinfo=zone(tz), fold=0).astimezone(UTC).replace(tzinfo=None)


def to_local(utc: datetime, tz: str) -> datetime:
    """Naive UTC → naive wall-clock time in `tz`."""
    return utc.replace(tzinfo=UTC).astimezone(zone(tz)).replace(tzinfo=None)


def _parts(line: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for chunk in line.split(";"):
        if not chunk.strip():
            continue
        key, sep, value = chunk.partition("=")
        key = key.strip().upper()
        if not sep or not value.strip():
            raise UserError(_("This repeat rule is not valid: “%(part)s”.", part=chunk[:40]),
                            field="rrule")
        if key not in KNOWN_PARTS:
            raise UserError(_("This repeat rule is not valid: unknown part “%(part)s”.",
                              part=key[:20]), field="rrule")
        if key in parts:
            raise UserError(_("This repeat rule gives “%(part)s” twice.", part=key),
                            field="rrule")
        parts[key] = value.strip().upper()
    return parts


def normalise(raw: str, dtstart: datetime) -> str:
    """Validate a raw rule (one or more RRULE lines) and return its stored form.

    Raises UserError with a clear message; nothing about the rule is trusted until it
    has been parsed, bounded, and shown to produce at least one occurrence.
    """
    raw = (raw or "").strip()
    if not raw:
        raise UserError(_("Please give a repeat rule."), field="rrule")
    if len(raw) > MAX_RULE_LENGTH:
        raise UserError(_("This repeat rule is too long."), field="rrule")
    lines = [ln.strip() for ln in raw.replace("\r", "\n").split("\n") if ln.strip()]
    if len(lines) > MAX_LINES:
        raise UserError(_("This repeat rule has too many lines."), field="rrule")
    stored = []
    for line in lines:
        if line.upper().startswith("RRULE:"):
            line = line[6:]
        elif ":" in line:
            raise UserError(_("Only RRULE lines are accepted (the start is chosen separately)."),
                            field="rrule")
        parts = _parts(line)
        freq = parts.get("FREQ")
        if freq is None:
            raise UserError(_("A repeat rule needs a FREQ (for example FREQ=DAILY)."),
                            field="rrule")
        if freq in ("SECONDLY", "MINUTELY"):
            raise UserError(_("Reminders cannot repeat every second or every minute."),
                            field="rrule")
        if freq not in ALLOWED_FREQS:
            raise UserError(_("This repeat rule is not valid: unknown frequency."),
                            field="rrule")
        if "COUNT" in parts:
            if not parts["COUNT"].isdecimal() or not 1 <= int(parts["COUNT"]) <= MAX_COUNT:
                raise UserError(_("COUNT must be between 1 and %(n)s.", n=number(MAX_COUNT)),
                                field="rrule")
        if "INTERVAL" in parts:
            if not parts["INTERVAL"].isdecimal() or not 1 <= int(parts["INTERVAL"]) <= MAX_INTERVAL:
                raise UserError(_("INTERVAL must be between 1 and %(n)d.", n=MAX_INTERVAL),
                                field="rrule")
        if "COUNT" in parts and "UNTIL" in parts:
            raise UserError(_("A repeat rule takes COUNT or UNTIL, not both."), field="rrule")
        if parts.get("UNTIL", "").endswith("Z"):
            # Local rules end at a local time: a UTC instant would shift with the season.
            raise UserError(_("UNTIL must be a local date or time (without “Z”)."),
                            field="rrule")
        stored.append("RRULE:" + ";".join(f"{k}={v}" for k, v in parts.items()))
    text = "\n".join(stored)
    rule = _parse(text, dtstart)
    first = rule.after(dtstart - timedelta(seconds=1), inc=True)
    if first is None:
        raise UserError(_("This repeat rule never happens."), field="rrule")
    week = rule.between(first, first + timedelta(days=7), inc=False)
    if len(week) + 1 > MAX_PER_WEEK:
        raise UserError(_("This repeat rule is too frequent (more than 12 a day)."),
                        field="rrule")
    return text


def _parse(text: str, dtstart: datetime):
    try:
        return rrulestr(text, dtstart=dtstart.replace(second=0, microsecond=0), forceset=True,
                        unfold=True)
    except (ValueError, TypeError, OverflowError, IndexError) as exc:
        raise UserError(_("This repeat rule is not valid: %(reason)s", reason=str(exc)[:80]),
                        field="rrule") from None


@dataclass
class Builder:
    """The friendly form: how often, which days, at what times, from when until when."""

    freq: str = "daily"
    times: tuple[str, ...] = ("08:00",)
    weekdays: tuple[str, ...] = ()
    start: date | None = None
    until: date | None = None

    def rule(self) -> str:
        if self.freq not in BUILDER_FREQS:
            raise UserError(_("Please choose how often."), field="freq")
        times = [t.strip() for t in self.times if t and t.strip()]
        if not times:
            raise UserError(_("Please give at least one time."), field="times")
        if len(times) > MAX_TIMES:
            raise UserError(_("At most %(n)d times a day.", n=MAX_TIMES), field="times")
        parsed: list[time] = []
        for value in times:
            match = TIME_RE.match(value)
            if not match:
                raise UserError(_("“%(value)s” is not a time (use HH:MM).", value=value[:10]),
                                field="times")
            parsed.append(time(int(match.group(1)), int(match.group(2))))
        if self.start is None:
            raise UserError(_("Please give a start date."), field="start")
        if self.until is not None and self.until < self.start:
            raise UserError(_("The end date is before the start date."), field="until")
        if self.freq == "once" and len(parsed) != 1:
            raise UserError(_("A one-time reminder has exactly one time."), field="times")
        base = {"once": "DAILY", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY",
                "yearly": "YEARLY"}[self.freq]
        extra = ""
        if self.freq == "once":
            extra = ";COUNT=1"
        elif self.freq == "weekly":
            days = [d for d in WEEKDAYS if d in {w.upper() for w in self.weekdays}]
            if not days:
                raise UserError(_("Please choose at least one day of the week."),
                                field="weekdays")
            extra = ";BYDAY=" + ",".join(days)
        elif self.freq == "monthly":
            extra = f";BYMONTHDAY={self.start.day}"
        elif self.freq == "yearly":
            extra = f";BYMONTH={self.start.month};BYMONTHDAY={self.start.day}"
        if self.until is not None and self.freq != "once":
            extra += ";UNTIL=" + self.until.strftime("%Y%m%d") + "T235959"
        # BYHOUR×BYMINUTE is a cross product: times with different minutes get their own line.
        by_minute: dict[int, list[int]] = {}
        for t in sorted(set(parsed)):
            by_minute.setdefault(t.minute, []).append(t.hour)
        lines = [
            f"RRULE:FREQ={base};BYHOUR={','.join(map(str, hours))};BYMINUTE={minute}{extra}"
            for minute, hours in sorted(by_minute.items())
        ]
        return normalise("\n".join(lines), self.dtstart())

    def dtstart(self) -> datetime:
        return datetime.combine(self.start, time(0, 0))


def occurrences_between(text: str, dtstart: datetime, tz: str, start_utc: datetime,
                        end_utc: datetime) -> list[datetime]:
    """Occurrences (naive UTC) with start_utc <= t < end_utc, each converted in local time."""
    rule = _parse(text, dtstart)
    # Pad by a day in local time so offsets around a change cannot drop an occurrence.
    lo = to_local(start_utc, tz) - timedelta(days=1)
    hi = to_local(end_utc, tz) + timedelta(days=1)
    seen: set[datetime] = set()
    out = []
    for local in rule.between(lo, hi, inc=True):
        utc = to_utc(local, tz)
        if start_utc <= utc < end_utc and utc not in seen:
            seen.add(utc)
            out.append(utc)
    return sorted(out)


def next_occurrences(text: str, dtstart: datetime, tz: str, after_utc: datetime,
                     n: int = 3) -> list[datetime]:
    rule = _parse(text, dtstart)
    out: list[datetime] = []
    cursor = to_local(after_utc, tz) - timedelta(days=1)
    while len(out) < n:
        local = rule.after(cursor)
        if local is None:
            break
        cursor = local
        utc = to_utc(local, tz)
        if utc >= after_utc and utc not in out:
            out.append(utc)
    return out


def describe(text: str) -> str:
    """A short human description of a stored rule (the builder's own shapes)."""
    lines = [ln[6:] if ln.startswith("RRULE:") else ln for ln in text.splitlines()]
    if not lines:
        return ""
    parts = [_parts(ln) for ln in lines]
    times = sorted(
        f"{int(h):02d}:{int(p.get('BYMINUTE', '0').split(',')[0]):02d}"
        for p in parts for h in p.get("BYHOUR", "").split(",") if h
    )
    at = ", ".join(times)
    p = parts[0]
    freq = p.get("FREQ")
    if p.get("COUNT") == "1":
        base = _("Once")
    elif freq == "DAILY":
        base = _("Every day")
    elif freq == "WEEKLY":
        names = dict(zip(WEEKDAYS, (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"),
                                    _("Sun")), strict=True))
        days = [names.get(d, d) for d in p.get("BYDAY", "").split(",") if d]
        base = _("Every week") + (f" ({', '.join(days)})" if days else "")
    elif freq == "MONTHLY":
        base = _("Every month")
    elif freq == "YEARLY":
        base = _("Every year")
    else:
        base = text
    return f"{base} · {at}" if at else base


def builder_fields(text: str, dtstart: datetime) -> dict | None:
    """The friendly form's fields for a stored rule the builder could have made, else None
    (an expert's RRULE is then edited as written)."""
    try:
        parts = [_parts(ln[6:] if ln.startswith("RRULE:") else ln) for ln in text.splitlines()]
    except UserError:
        return None
    if not parts:
        return None
    shared = {k: v for k, v in parts[0].items() if k not in ("BYHOUR", "BYMINUTE")}
    times = []
    for p in parts:
        if {k: v for k, v in p.items() if k not in ("BYHOUR", "BYMINUTE")} != shared:
            return None
        minute = p.get("BYMINUTE", "")
        if not minute.isdecimal() or not p.get("BYHOUR"):
            return None
        times += [f"{int(h):02d}:{int(minute):02d}" for h in p["BYHOUR"].split(",")
                  if h.isdecimal()]
    freq = shared.pop("FREQ", None)
    until = shared.pop("UNTIL", None)
    fields = {"times": sorted(times), "start": dtstart.date().isoformat(), "until": "",
              "weekdays": []}
    if until:
        if not re.fullmatch(r"\d{8}T235959", until):
            return None
        fields["until"] = f"{until[:4]}-{until[4:6]}-{until[6:8]}"
    if freq == "DAILY" and shared == {"COUNT": "1"} and not until:
        fields["freq"] = "once"
    elif freq == "DAILY" and not shared:
        fields["freq"] = "daily"
    elif freq == "WEEKLY" and set(shared) == {"BYDAY"}:
        fields["freq"] = "weekly"
        fields["weekdays"] = shared["BYDAY"].split(",")
    elif freq == "MONTHLY" and shared == {"BYMONTHDAY": str(dtstart.day)}:
        fields["freq"] = "monthly"
    elif freq == "YEARLY" and shared == {"BYMONTH": str(dtstart.month),
                                         "BYMONTHDAY": str(dtstart.day)}:
        fields["freq"] = "yearly"
    else:
        return None
    return fields


def parse_builder_form(form) -> Builder:
    """The builder's fields from a submitted form."""
    def parse_date(name: str, required: bool) -> date | None:
        value = (form.get(name) or "").strip()
        if not value:
            if required:
                raise UserError(_("Please give a start date."), field=name)
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise UserError(_("“%(value)s” is not a date.", value=value[:12]),
                            field=name) from None

    times = tuple(t for t in form.getlist("times") if t is not None)
    if len(times) == 1 and "," in times[0]:
        times = tuple(t.strip() for t in times[0].split(","))
    return Builder(
        freq=(form.get("freq") or "daily").strip(),
        times=times,
        weekdays=tuple(form.getlist("weekdays")),
        start=parse_date("start", True),
        until=parse_date("until", False),
    )
