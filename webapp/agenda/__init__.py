from flask import Blueprint

bp = Blueprint("agenda", __name__, url_prefix="/agenda")

from . import access, export, home, push_audience, reminders, routes  # noqa: E402,F401

reminders.connect_signals()
access.connect_signals()
