from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/accounts")

from . import export, home, professions, routes  # noqa: E402,F401

# Every template that shows a profession (any domain) goes through this one filter.
bp.add_app_template_filter(professions.label, "profession_label")
