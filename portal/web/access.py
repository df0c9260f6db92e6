"""Who may reach which page: every view declares a rule, and one before-request hook enforces it.

Every view declares a rule with @rule(...). The hook enforces the role part for every endpoint (an endpoint
without a rule is refused, so a new route cannot be left open by accident). The object part (may this user act
on this notice?) is decided by the services when they load the notice (portal.services.record.load_for, under
portal.domain.policy). Denials are 404, never 403, so a URL does not confirm that anything exists, and every
denial is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app, redirect, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.domain.models import Role
from portal.services import audit
from portal.web.database import get_session
from portal.web.runtime import portal_services

F = TypeVar("F", bound=Callable[..., Any])

_RULE_ATTRIBUTE = "access_rule"

# rule name -> roles allowed (None: no sign-in needed).
ROLE_RULES: dict[str, frozenset[Role] | None] = {
    "public": None,
    "dev_only": None,
    "signing_in": None,
    "signed_in": frozenset(Role),
    "practitioner": frozenset({Role.PRACTITIONER}),
    "business_manager": frozenset({Role.BUSINESS_MANAGER}),
    # Object-level: the route's service loads its notice through portal.services.record.load_for.
    "notice": frozenset({Role.PRACTITIONER, Role.SPOC, Role.BUSINESS_MANAGER}),
    # The partnership's administration (users, audit, keys); the services keep it to the admin's partnership.
    "admin": frozenset({Role.ADMIN}),
    # The SPOC directory is kept by the partnership's business unit and its administrators.
    "directory": frozenset({Role.ADMIN, Role.BUSINESS_MANAGER}),
}


def rule(name: str) -> Callable[[F], F]:
    """Declare the access rule of a view."""
    if name not in ROLE_RULES:
        raise ValueError(f"unknown access rule {name!r}")

    def decorate(view: F) -> F:
        # A function attribute, which functions do not declare: set by name, read back by enforce_role_rule.
        setattr(view, _RULE_ATTRIBUTE, name)
        return view

    return decorate


def enforce_role_rule() -> Response | None:
    """Before each request: apply the endpoint's role rule; redirect anonymous users to sign in."""
    if request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    name = getattr(view, _RULE_ATTRIBUTE, None)
    if name is None:
        current_app.logger.error("endpoint %s has no access rule; refusing", request.endpoint)
        abort(404)
    roles = ROLE_RULES[name]
    if roles is None:
        return None
    if not current_user.is_authenticated:
        if getattr(session, "timed_out", False):
            session["signed_out_idle"] = True
        if request.method == "GET" and request.path.isprintable() and len(request.path) <= 2000:
            session["next"] = request.path
        return redirect(url_for("auth.sign_in"))
    if current_user.role_enum not in roles:
        db = get_session()
        audit.record(
            db,
            portal_services().keyring.audit_key,
            action="route.denied",
            outcome="denied",
            actor_id=current_user.id,
            object_type="endpoint",
            object_id=request.endpoint[:64],
            remote_addr=request.remote_addr or "",
        )
        db.commit()
        abort(404)
    return None
