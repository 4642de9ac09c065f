from flask import Blueprint

bp = Blueprint("push", __name__, url_prefix="/push")

from . import routes, services  # noqa: E402,F401

services.connect_signals()
