"""The database going away mid-request (a restart) never turns the portal's answer into a bare server error."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from portal.domain.models import Role
from tests.helpers import sign_in


def test_a_connection_lost_after_the_page_was_made_keeps_the_page(
    app: Flask, client: FlaskClient, accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL restarted between the view and the end of the request: every rollback on the old connection
    # fails ("terminating connection due to administrator command"), including the one at teardown.
    lost = {"now": False}

    @app.after_request
    def lose_the_connection(response: Response) -> Response:
        lost["now"] = True
        return response

    real_close = Session.close

    def close(self: Session) -> None:
        if lost["now"]:
            raise OperationalError("ROLLBACK", {}, Exception("terminating connection due to administrator command"))
        real_close(self)

    sign_in(client, app, accounts.make(Role.PRACTITIONER))
    lost["now"] = False
    monkeypatch.setattr(Session, "close", close)
    page = client.get("/notices/new")
    monkeypatch.setattr(Session, "close", real_close)
    lost["now"] = False

    assert page.status_code == 200
    assert "Is the child at immediate risk of significant harm?" in page.text
    assert page.headers["Content-Security-Policy"]  # the portal's own answer, headers and all
