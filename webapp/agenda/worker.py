"""The delivery worker: `flask reminders run`, or a background thread of `make run`.

Each tick (with a clock the caller may pass in):
1. extends the reminders' horizon (their next occurrences become pending deliveries);
2. puts back claims left by a worker that died mid-send (at-least-once: a phone shows a
   repeated reminder with the same tag in place of the first);
3. records as missed every pending delivery later than its own window (catching up after
   downtime never floods a phone with stale reminders);
4. claims due deliveries in batches — on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several
   workers never claim one twice; SQLite serialises writers, so run a single worker there —
   and commits the claim before sending;
5. sends the batch through push with bounded concurrency and records each outcome.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import periodic, policy
from ..extensions import db
from . import recurrence, services
from .models import Delivery, Dose, Reminder

log = logging.getLogger(__name__)

BATCH = 500  # per claim; measured: 200 → 35 s, 500 → 26 s for bench/reminders.py
STALE_CLAIM = timedelta(minutes=10)
TOKEN_PURPOSE = "agenda.delivery"
TOKEN_MAX_AGE = 3 * 24 * 3600
ACTION_URL = "/agenda/actions"
TTL = {"appointment": 6 * 3600, "reminder": 3600, "snooze": 1800, "watch": 3 * 3600}
URGENCY = {"appointment": "normal", "reminder": "high", "snooze": "high", "watch": "high"}


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


# ---- The steps of a tick -------------------------------------------------------------------

def extend_horizons(now: datetime, limit: int = 200) -> int:
    """Turn the coming occurrences of every reminder into pending deliveries."""
    threshold = now + services.HORIZON - timedelta(hours=12)
    created = 0
    while True:
        reminders = db.session.scalars(
            select(Reminder)
            .where(Reminder.active.is_(True),
                   or_(Reminder.materialized_until.is_(None),
                       Reminder.materialized_until < threshold))
            .order_by(Reminder.id).limit(limit)
            .with_for_update(skip_locked=True)
            .options(selectinload(Reminder.watches))
        ).all()
        if not reminders:
            db.session.commit()
            return created
        try:
            for reminder in reminders:
                created += services.materialize_reminder(reminder, now)
            db.session.commit()
        except IntegrityError:
            # A request rebuilt the same deliveries meanwhile; the next tick resumes.
            db.session.rollback()
            return created


def requeue_stale(now: datetime) -> int:
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.status == "sending", Delivery.claimed_at < now - STALE_CLAIM)
        .values(status="pending", claimed_by=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount or 0


def mark_missed(now: datetime) -> int:
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.status == "pending", Delivery.expires_at < now)
        .values(status="missed", finished_at=now)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount or 0


def claim(now: datetime, worker: str, limit: int = BATCH) -> list[int]:
    """Atomically take up to `limit` due deliveries for this worker; the claim is committed."""
    due = (
        select(Delivery.id)
        .where(Delivery.status == "pending", Delivery.due_at <= now, Delivery.expires_at >= now)
        .order_by(Delivery.due_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = db.session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()))
        .values(status="sending", claimed_by=worker, claimed_at=now,
                attempts=Delivery.attempts + 1)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return sorted(ids)


# ---- Building the notification -------------------------------------------------------------

def action_token(delivery_id: int) -> str:
    from ..push import tokens

    return tokens.make_action_token(TOKEN_PURPOSE, {"d": delivery_id})


def read_action_token(token) -> int | None:
    from ..push import tokens

    data = tokens.read_action_token(TOKEN_PURPOSE, token, TOKEN_MAX_AGE)
    value = data.get("d") if data else None
    return value if isinstance(value, int) else None


def _local_time(utc: datetime, user) -> str:
    local = recurrence.to_local(utc, services.user_tz(user))
    return f"{local:%H:%M}"


def _local_day_time(utc: datetime, user) -> str:
    local = recurrence.to_local(utc, services.user_tz(user))
    return format_datetime(local.replace(tzinfo=None), "EEE d MMM, HH:mm", rebase=False)


def details_wanted(user_ids) -> set[int]:
    """Who among these chose to see details in notifications (one query for a batch)."""
    from ..push import services as push

    return push.users_showing_details(set(user_ids))


def payload_for(delivery: Delivery, details: bool | None = None) -> dict:
    """The push payload for one delivery, in the recipient's language.

    Health detail (titles, places) goes in only when the recipient chose to see details;
    push.notification() enforces that. `details` is that choice when the caller already knows
    it for the whole batch (None: push asks the database). Without details, nothing sealed is
    even opened.
    """
    from ..push import services as push

    detailed = details is not False

    def text(make):
        return make() if detailed else None

    def notification(*args, **kwargs):
        return push.notification(*args, show_details=details, **kwargs)

    user = delivery.recipient
    language = user.language or current_app.config["BABEL_DEFAULT_LOCALE"]
    data = {"delivery": delivery.id, "action_url": ACTION_URL}
    with force_locale(language):
        if delivery.kind == "appointment":
            appt = delivery.appointment
            # The patient confirms from the notification (unless already confirmed); a
            # relative reminded too is told whose appointment it is and has nothing to confirm.
            for_patient = delivery.recipient_id == appt.patient_id
            to_confirm = for_patient and appt.confirmed_at is None
            if to_confirm:
                data["token"] = action_token(delivery.id)
            return notification(
                user, kind="appointment", url=f"/agenda/appointments/{appt.id}",
                tag=f"appointment-{appt.id}",
                title=text(lambda: appt.title if for_patient else _(
                    "%(name)s: %(title)s", name=appt.patient.display_name, title=appt.title)),
                body=text(lambda: " · ".join(x for x in (
                    _local_day_time(appt.starts_at, user), appt.place) if x)),
                actions=[("confirm", _l("Confirm"))] if to_confirm else [], data=data)
        reminder = delivery.reminder
        tag = f"reminder-{reminder.id}-{delivery.occurrence_at:%Y%m%d%H%M}"
        url = f"/agenda/reminders/{reminder.id}"
        if delivery.kind == "watch":
            patient = delivery.patient
            return notification(
                user, kind="reminder", url=url, tag=f"watch-{tag}",
                title=text(lambda: _("%(name)s has not confirmed a dose",
                                     name=patient.display_name)),
                body=text(lambda: f"{reminder.title} · "
                                  f"{_local_time(delivery.occurrence_at, user)}"),
                data=data)
        medication = reminder.kind == "medication"
        actions = [("taken", _l("Taken")), ("snooze", _l("Snooze 10 min"))] if medication else []
        if actions:
            data["token"] = action_token(delivery.id)
        return notification(
            user, kind="medication" if medication else "reminder", url=url, tag=tag,
            title=text(lambda: reminder.title),
            body=text(lambda: _local_time(delivery.occurrence_at, user)),
            actions=actions, data=data)


def _should_skip(delivery: Delivery, taken: set) -> bool:
    if delivery.kind == "appointment":
        appt = delivery.appointment
        if appt is None or appt.status != "accepted":
            return True
        # A relative reminded too is asked again now: a revoked grant stops them at once.
        return (delivery.recipient_id != appt.patient_id
                and not policy.can(delivery.recipient, "appointment.watch", appt))
    reminder = delivery.reminder
    if reminder is None or not reminder.active:
        return True
    if (reminder.id, delivery.occurrence_at) in taken:
        return True
    if delivery.kind == "watch":
        # Access is checked again now: a revoked grant stops the alerts at once.
        return not policy.can(delivery.recipient, "agenda.alert", reminder)
    return False


def process(ids: list[int], now: datetime, stats: Counter) -> None:
    """Send one claimed batch and record each outcome."""
    from ..push import services as push

    deliveries = db.session.scalars(
        select(Delivery).where(Delivery.id.in_(ids))
        .options(selectinload(Delivery.recipient), selectinload(Delivery.patient),
                 selectinload(Delivery.reminder), selectinload(Delivery.appointment))
    ).all()
    reminder_ids = {d.reminder_id for d in deliveries if d.reminder_id}
    taken = {tuple(row) for row in db.session.execute(
        select(Dose.reminder_id, Dose.occurrence_at).where(Dose.reminder_id.in_(reminder_ids))
    )} if reminder_ids else set()
    skipped, jobs = [], []
    details = details_wanted(d.recipient_id for d in deliveries)
    for delivery in deliveries:
        if _should_skip(delivery, taken):
            skipped.append(delivery.id)
            continue
        try:
            payload = payload_for(delivery, details=delivery.recipient_id in details)
        except Exception:
            log.exception("reminders: cannot build delivery %s", delivery.id)
            skipped.append(delivery.id)
            continue
        jobs.append(push.PushJob(user=delivery.recipient_id, payload=payload,
                                 ttl=TTL[delivery.kind], urgency=URGENCY[delivery.kind],
                                 key=delivery.id))
    # push.send_many writes its own bookkeeping: no transaction of ours stays open meanwhile.
    db.session.commit()
    results = push.send_many(jobs) if jobs else []
    if skipped:
        db.session.execute(
            update(Delivery).where(Delivery.id.in_(skipped))
            .values(status="skipped", finished_at=now)
            .execution_options(synchronize_session=False))
    sent = [r.key for r in results if r.accepted]
    # One UPDATE per outcome (most of a batch shares one), not one per delivery.
    groups: dict[int, list[int]] = {}
    for result in results:
        groups.setdefault(result.accepted, []).append(result.key)
    for accepted, keys in groups.items():
        db.session.execute(
            update(Delivery).where(Delivery.id.in_(keys))
            .values(status="sent" if accepted else "undelivered", devices=accepted,
                    finished_at=now)
            .execution_options(synchronize_session=False))
    db.session.commit()
    stats["skipped"] += len(skipped)
    stats["sent"] += len(sent)
    stats["undelivered"] += len(results) - len(sent)


def tick(now: datetime | None = None, *, worker: str | None = None, batch: int = BATCH
         ) -> dict:
    """One pass over everything due at `now` (naive UTC; the real clock by default)."""
    now = now or services.utcnow()
    worker = worker or worker_name()
    stats: Counter = Counter()
    stats["materialized"] = extend_horizons(now)
    stats["requeued"] = requeue_stale(now)
    stats["missed"] = mark_missed(now)
    while True:
        ids = claim(now, worker, batch)
        if not ids:
            break
        stats["claimed"] += len(ids)
        process(ids, now, stats)
    return dict(stats)


# ---- Running it ---------------------------------------------------------------------------

def run_forever(app: Flask, stop: threading.Event | None = None, interval: float = 5.0,
                batch: int = BATCH) -> None:
    worker = worker_name()
    log.info("reminders: worker %s started", worker)

    def one_pass() -> None:
        stats = tick(worker=worker, batch=batch)
        if stats.get("claimed") or stats.get("missed"):
            log.info("reminders: %s", stats)

    periodic.run_forever(app, one_pass, name="reminders", interval=interval, stop=stop)


def start_in_process(app: Flask) -> None:
    """`make run`: the worker inside the app process, so the default set-up needs nothing else."""
    from ..extensions import socketio

    socketio.start_background_task(run_forever, app)


reminders_cli = AppGroup("reminders", help="The agenda's reminder delivery worker.")


@reminders_cli.command("run")
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--now", "now_text", default=None, help="Pretend it is this UTC time (ISO).")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
@click.option("--batch", default=BATCH, show_default=True, help="Deliveries claimed at once.")
def run_command(once: bool, now_text: str | None, interval: float, batch: int) -> None:
    """Send due reminders (PostgreSQL: run as many as you like; SQLite: one)."""
    app = current_app._get_current_object()
    batch = max(1, min(batch, 5000))
    if once or now_text:
        now = datetime.fromisoformat(now_text).replace(tzinfo=None) if now_text else None
        click.echo(tick(now, batch=batch))
        return
    try:
        run_forever(app, interval=interval, batch=batch)
    except KeyboardInterrupt:
        pass
