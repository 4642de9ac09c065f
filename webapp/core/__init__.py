from flask import Blueprint

bp = Blueprint("core", __name__)

from . import errors, routes  # noqa: E402,F401


@bp.app_context_processor
def shell_context():
    from flask import current_app
    from flask_babel import get_locale
    from flask_login import current_user

    from .banners import collect

    return {"tab_endpoints": current_app.view_functions.keys(), "get_locale": get_locale,
            "banners": collect(current_user)}
