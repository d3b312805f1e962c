"""What the proxy, the browser and the operator ask of the server itself.

``/favicon.ico`` (browsers ask for it on every first visit), ``/healthz``
for the reverse proxy and ``/metrics`` for the operator's Prometheus: none
of them reads or writes anything about the request.
"""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory
from werkzeug.wrappers import Response

bp = Blueprint("ops", __name__)


@bp.get("/favicon.ico")
def favicon() -> Response:
    assert current_app.static_folder is not None  # the app's own static/ directory
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )
