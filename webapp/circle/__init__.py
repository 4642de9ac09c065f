from flask import Blueprint

bp = Blueprint("circle", __name__, url_prefix="/circle")

from . import routes  # noqa: E402,F401
