"""Who is signed in on the staff side: the session cookie and the guard every staff view uses.

A staff session lives in its own cookie (``__Host-vp_staff``), whose value
opens the server half (see identity/staff_sessions.py). Views that need a
signed-in member use :func:`require_staff`; it loads ``g.staff`` and makes the
member's private key available, for that request only, through
:func:`staff_private_key` and :func:`desk_private_key`. The staff, admin,
oversight and workspace blueprints all build on this module and none of them
imports another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import abort, after_this_request, g, redirect, request, url_for
from nacl.public import PrivateKey
from werkzeug.wrappers import Response

from app import services
from identity.staff_auth import SignedIn
from identity.staff_sessions import StaffSession

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class StaffIdentity:
    """Who is signed in, for templates and access checks (no key material)."""

    id: str
    username: str
    role: str
    desks: tuple[str, ...]


# -- the cookie ---------------------------------------------------------------


def cookie_name() -> str:
    # The __Host- prefix needs Secure, which a browser refuses on the plain
    # HTTP of `make run`; the reporter session cookie does the same.
    return "vp_staff" if services.settings().plain_http else "__Host-vp_staff"


def set_session_cookie(response: Response, token: str) -> Response:
    # No Max-Age: the cookie ends with the browser; the server enforces the
    # idle timeout and the absolute lifetime.
    response.set_cookie(
        cookie_name(),
        token,
        path="/",
        secure=not services.settings().plain_http,
        httponly=True,
        samesite="Strict",
    )
    return response


def clear_session_cookie(response: Response) -> Response:
    response.delete_cookie(
        cookie_name(),
        path="/",
        secure=not services.settings().plain_http,
        httponly=True,
        samesite="Strict",
    )
    return response


def current_session() -> StaffSession | None:
    """The session behind this request's cookie (opened once per request)."""
    if "staff_session" not in g:
        token = request.cookies.get(cookie_name())
        g.staff_session = services.staff_sessions().open(token)
        if token and g.staff_session is None:
            # A stale cookie (expired, logged out elsewhere): drop it.
            after_this_request(clear_session_cookie)
    current: StaffSession | None = g.staff_session
    return current


def signed_in_account(current: StaffSession) -> SignedIn | None:
    return services.staff_auth().account(current.staff_id, current.private_key)


# -- what other views use -----------------------------------------------------


def require_staff(*roles: str) -> Callable[[View], View]:
    """Let a view run only for a member past both factors (and with one of
    ``roles``, if given); otherwise redirect to sign-in or answer 403.

    Sets ``g.staff`` (:class:`StaffIdentity`); the private key is available
    through :func:`staff_private_key` until the request ends.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            current = current_session()
            if current is None:
                return redirect(url_for("staff.login"), code=303)
            if not current.second_factor_done:
                return redirect(url_for("staff.login_code"), code=303)
            account = signed_in_account(current)
            if account is None:
                services.staff_sessions().destroy(current.token)
                after_this_request(clear_session_cookie)
                return redirect(url_for("staff.login"), code=303)
            if roles and account.role not in roles:
                abort(403)
            g.staff = StaffIdentity(
                account.staff_id,
                account.username,
                account.role,
                services.staff_auth().desks(account.staff_id),
            )
            g.staff_private_key = current.private_key
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def staff_private_key() -> PrivateKey:
    """The signed-in member's private key, for this request only.

    .. warning::
       Never store it (not in ``session``, not in a log, not in a global):
       it opens every desk key the member holds.
    """
    key: PrivateKey | None = g.get("staff_private_key")
    if key is None:
        raise RuntimeError("staff_private_key() outside a view guarded by require_staff")
    return key


def desk_private_key(desk_id: str) -> PrivateKey | None:
    """The key of ``desk_id`` as the signed-in member holds it; None if not a member."""
    staff: StaffIdentity = g.staff
    return services.staff_auth().desk_key(staff.id, staff_private_key(), desk_id)
