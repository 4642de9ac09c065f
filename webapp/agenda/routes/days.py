"""The agenda page itself: the day list (a week from a given day) and the month."""

from __future__ import annotations

from datetime import date, timedelta

from flask import request
from flask_login import current_user, login_required

from ...htmx import render
from .. import bp, services
from .common import local_today, page_context, parse_day, patient_or_page, weekday_labels


@bp.get("/")
@login_required
def index():
    patient, page = patient_or_page()
    if page is not None:
        return page
    first = parse_day(request.args.get("day"))
    days = services.agenda_days(current_user, patient, first, days=7)
    proposals = services.pending_proposals(patient)
    return render("agenda/index.html", "agenda/_days.html",
                  **page_context(patient, days=days, first=first, proposals=proposals,
                            prev_day=first - timedelta(days=7),
                            next_day=first + timedelta(days=7)))


@bp.get("/month")
@login_required
def month():
    patient, page = patient_or_page()
    if page is not None:
        return page
    today = local_today()
    year, month_ = today.year, today.month
    value = request.args.get("m", "")
    try:
        year, month_ = (int(x) for x in value.split("-")) if value else (year, month_)
        date(year, month_, 1)
        if not 2000 <= year <= 2100:
            raise ValueError
    except ValueError:
        year, month_ = today.year, today.month
    counts = services.month_counts(current_user, patient, year, month_)
    first = date(year, month_, 1)
    start = first - timedelta(days=first.weekday())
    weeks = [[start + timedelta(days=7 * w + d) for d in range(7)] for w in range(6)]
    if weeks[-1][0].month != month_:
        weeks = weeks[:-1]
    prev_month = (first - timedelta(days=1)).replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    return render("agenda/month.html", "agenda/_month.html",
                  **page_context(patient, counts=counts, first=first, weeks=weeks,
                            prev_month=prev_month, next_month=next_month,
                            weekdays=weekday_labels()))
