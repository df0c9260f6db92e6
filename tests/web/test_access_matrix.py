"""The authorisation matrix (docs/threats.md#properties: 15 and 23): every route in the URL map, for every role.

One notice is raised by practitioner A of the Early Help hub and sent to Children's Social Care only, and
A keeps a second, unsent draft. Each actor signs in once and requests every route, GET and POST where the
route takes them (a POST carries a valid CSRF token and an empty body). The expected outcome of every
(route, actor) pair is written out below by hand: it is deliberately not derived from portal/web/access.py or
portal/domain/policy.py, so a change to the rules that changes who sees what has to change this table too.

Denials are 404, never 403, never mention the notice, and each denial adds exactly one audit row with
outcome "denied"; each allowed read of a notice or its PDF adds exactly one "allowed" row.
A route that is not in the table, or that takes an argument the table cannot fill, fails the suite.
"""

from __future__ import annotations

import io
import time
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.domain.models import AuditEvent, Invitation, LearningItem, Notice, NoticeAttachment, Role, User
from portal.web.database import session_factory
from tests.helpers import (
    CANARY_NAME,
    CANARY_NARRATIVE,
    CANARY_NHS,
    Account,
    Accounts,
    appendix1_answers,
    contact_id,
    csrf_from,
    raise_notice,
    sign_in,
)

RAISING_AGENCY = "Rochdale Early Help and Safeguarding Hub"
TARGET_AGENCY = "Rochdale Children's Social Care"
OTHER_AGENCY = "Greater Manchester Police"

# The actors, in the order every row of the table lists them.
ACTORS = (
    "anon",  # not signed in
    "raiser",  # practitioner A, Early Help hub, who raised the notice and owns the draft
    "prac2",  # another Rochdale practitioner, in the very agency the notice was sent to (but not its SPOC)
    "spoc",  # the SPOC of Children's Social Care, the notice's recipient
    "spoc2",  # the SPOC of another Rochdale agency (GMP), not a recipient
    "bm",  # Rochdale's business manager
    "bm2",  # Bolton's business manager: another partnership
    "admin",  # a Rochdale administrator, who has no casework rights
)

# Outcomes: "<status> [<redirect path>] [denied|read]".
#   denied: exactly one new audit row, outcome "denied", by this actor, about this notice or endpoint
#   read:   exactly one new audit row, outcome "allowed" (a read of case data)
#   neither: no new "denied" audit row
OK = "200"
NO_CONTENT = "204"
READ = "200 read"
SIGN_IN = "302 /sign-in"
HOME = "302 /"
BUSINESS = "302 /business/"
DENIED = "404 denied"
# A 404 with no audit row: an unknown PDF version asked for by someone allowed to read the notice, or
# another practitioner's draft (see test_a_denied_draft_is_audited for why that one should be audited).
NOT_FOUND = "404"
TO_CONFIRMATION = "302 /notices/{draft}/confirmation"
# Someone signed in following an invitation link meant for another person.
CONFLICT = "409"
# A password reset link that cannot be used (never issued, used or expired).
GONE = "410"


def sign_in_now(client: FlaskClient, app: Flask, account: Account) -> str:
    """helpers.sign_in, with the code taken from the current TOTP step rather than the one before it.

    helpers.fresh_code picks the previous step for an account with no step used yet; if a 30 s boundary
    passes before the server checks the code, that step has left the window and the sign-in fails now and
    then. Marking the previous step as used first (a test-only rewind of the replay guard) makes
    fresh_code take the current step, which stays in the window across one boundary.
    """
    with session_factory(app)() as db:
        db.get(User, account.id).last_totp_step = int(time.time() // 30) - 1
        db.commit()
    return sign_in(client, app, account)


def row(**outcomes: str) -> dict[str, str]:
    assert set(outcomes) == set(ACTORS), f"a row must name every actor: {sorted(set(ACTORS) ^ set(outcomes))}"
    return outcomes


# (endpoint, method) -> actor -> outcome.
MATRIX: dict[tuple[str, str], dict[str, str]] = {
    # -- public pages and files ------------------------------------------------------------------------
    ("home.health", "GET"): row(anon=OK, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    ("home.accessibility", "GET"): row(anon=OK, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    # Anyone holding a portal PDF may check it (an empty check is asked again); it reveals only reference and version.
    ("verify.verify", "GET"): row(anon=OK, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    ("verify.verify", "POST"): row(anon=OK, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    ("static", "GET"): row(anon=OK, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    # Registered only when ENV is development (as the tests run); it holds references and links, no case data.
    ("devmail.mailbox", "GET"): row(anon=OK, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    # -- signing in and out ----------------------------------------------------------------------------
    ("auth.sign_in", "GET"): row(
        anon=OK, raiser=HOME, prac2=HOME, spoc=HOME, spoc2=HOME, bm=HOME, bm2=HOME, admin=HOME
    ),
    ("auth.sign_in", "POST"): row(
        anon=OK, raiser=HOME, prac2=HOME, spoc=HOME, spoc2=HOME, bm=HOME, bm2=HOME, admin=HOME
    ),
    # No password step pending in these sessions: back to the first step, which sends a signed-in user home.
    # A signed-in session is kept (every later row for the same client depends on it).
    ("auth.code", "GET"): row(
        anon=SIGN_IN, raiser=SIGN_IN, prac2=SIGN_IN, spoc=SIGN_IN, spoc2=SIGN_IN, bm=SIGN_IN, bm2=SIGN_IN, admin=SIGN_IN
    ),
    ("auth.code", "POST"): row(
        anon=SIGN_IN, raiser=SIGN_IN, prac2=SIGN_IN, spoc=SIGN_IN, spoc2=SIGN_IN, bm=SIGN_IN, bm2=SIGN_IN, admin=SIGN_IN
    ),
    ("auth.set_up_2fa", "GET"): row(
        anon=SIGN_IN, raiser=SIGN_IN, prac2=SIGN_IN, spoc=SIGN_IN, spoc2=SIGN_IN, bm=SIGN_IN, bm2=SIGN_IN, admin=SIGN_IN
    ),
    ("auth.set_up_2fa", "POST"): row(
        anon=SIGN_IN, raiser=SIGN_IN, prac2=SIGN_IN, spoc=SIGN_IN, spoc2=SIGN_IN, bm=SIGN_IN, bm2=SIGN_IN, admin=SIGN_IN
    ),
    ("auth.sign_out", "POST"): row(
        anon=SIGN_IN, raiser=SIGN_IN, prac2=SIGN_IN, spoc=SIGN_IN, spoc2=SIGN_IN, bm=SIGN_IN, bm2=SIGN_IN, admin=SIGN_IN
    ),
    # -- a signed-in user's own account: every role ---------------------------------------------------
    ("account.password", "GET"): row(anon=SIGN_IN, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    # An empty form is asked again with its errors; nothing changes.
    ("account.password", "POST"): row(anon=SIGN_IN, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    ("account.keep_alive", "POST"): row(
        anon=SIGN_IN,
        raiser=NO_CONTENT,
        prac2=NO_CONTENT,
        spoc=NO_CONTENT,
        spoc2=NO_CONTENT,
        bm=NO_CONTENT,
        bm2=NO_CONTENT,
        admin=NO_CONTENT,
    ),
    # -- home ------------------------------------------------------------------------------------------
    ("home.index", "GET"): row(
        anon=SIGN_IN, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=BUSINESS, bm2=BUSINESS, admin=OK
    ),
    # -- raising a notice: practitioners only ----------------------------------------------------------
    ("notices.new", "GET"): row(
        anon=SIGN_IN, raiser=OK, prac2=OK, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    # An empty answer is asked again (200 with an error), never recorded.
    ("notices.new", "POST"): row(
        anon=SIGN_IN, raiser=OK, prac2=OK, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    ("notices.immediate_risk", "GET"): row(
        anon=SIGN_IN, raiser=OK, prac2=OK, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    # A's draft: only A. Another practitioner's attempt is answered 404 as for a draft that does not exist,
    # and audited as a denial like any refused attempt on case data.
    ("notices.draft", "GET"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    ("notices.draft", "POST"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    # What A types is kept as A types it (encrypted, unchecked); only A's own draft.
    ("notices.autosave", "POST"): row(
        anon=SIGN_IN,
        raiser=NO_CONTENT,
        prac2=DENIED,
        spoc=DENIED,
        spoc2=DENIED,
        bm=DENIED,
        bm2=DENIED,
        admin=DENIED,
    ),
    ("notices.check", "GET"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    # A's POST sends the (complete) draft: it runs after every other request that needs the draft.
    ("notices.check", "POST"): row(
        anon=SIGN_IN,
        raiser=TO_CONFIRMATION,
        prac2=DENIED,
        spoc=DENIED,
        spoc2=DENIED,
        bm=DENIED,
        bm2=DENIED,
        admin=DENIED,
    ),
    # -- reading a notice: who raised it, the recipient agency's SPOC, the partnership's business unit --
    ("notices.confirmation", "GET"): row(
        anon=SIGN_IN, raiser=READ, prac2=DENIED, spoc=READ, spoc2=DENIED, bm=READ, bm2=DENIED, admin=DENIED
    ),
    ("notices.show", "GET"): row(
        anon=SIGN_IN, raiser=READ, prac2=DENIED, spoc=READ, spoc2=DENIED, bm=READ, bm2=DENIED, admin=DENIED
    ),
    ("notices.pdf", "GET"): row(
        anon=SIGN_IN, raiser=READ, prac2=DENIED, spoc=READ, spoc2=DENIED, bm=READ, bm2=DENIED, admin=DENIED
    ),
    # -- the response loop: the relationship rule first, then the notice's procedure (Rochdale stage 3) --
    # The recipient SPOC or the business unit acknowledges; a second acknowledgement changes nothing.
    ("notices.acknowledge", "POST"): row(
        anon=SIGN_IN,
        raiser=DENIED,
        prac2=DENIED,
        spoc="302 /notices/{notice}",
        spoc2=DENIED,
        bm="302 /notices/{notice}",
        bm2=DENIED,
        admin=DENIED,
    ),
    # Stage 3 goes to the recipient agencies, so their SPOC responds; the business unit does not answer for them.
    ("notices.respond", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=OK, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    ("notices.respond", "POST"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=OK, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    # Rochdale sets no timescale, so there is no date to agree at any stage.
    ("notices.due_date", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    ("notices.due_date", "POST"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    # Rochdale: the challenging agency escalates (RAISER_ONLY); the business unit may move it on for the parties.
    ("notices.escalate", "GET"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=DENIED, admin=DENIED
    ),
    ("notices.escalate", "POST"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=DENIED, admin=DENIED
    ),
    ("notices.close", "GET"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=OK, spoc2=DENIED, bm=OK, bm2=DENIED, admin=DENIED
    ),
    ("notices.close", "POST"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=OK, spoc2=DENIED, bm=OK, bm2=DENIED, admin=DENIED
    ),
    # Only the business unit chases, and only a stage with a due date (Rochdale's have none).
    ("notices.chase", "POST"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    # -- the business unit's list ----------------------------------------------------------------------
    ("business.notices", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=DENIED
    ),
    # -- finding a child's notices: the casework roles; results are filtered to notices the searcher may read --
    ("search.search", "GET"): row(anon=SIGN_IN, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=DENIED),
    # An empty search is asked again with an error (200); nothing is searched, so nothing is audited.
    ("search.search", "POST"): row(anon=SIGN_IN, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=DENIED),
    # The register export: each business unit its own partnership's notices, without child identifiers.
    ("business.export", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=DENIED
    ),
    # The same register as an XLSX workbook: the same rule, cap and audit.
    ("business.export_xlsx", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=DENIED
    ),
    # -- administration (issue 9): the partnership's administrators only ------------------------------
    # {user} is a Rochdale practitioner who is none of the actors, so deactivating them changes no row.
    ("admin.users", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    ("admin.user", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    # An empty form is asked again with its errors; nothing changes.
    ("admin.change_role", "POST"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    ("admin.deactivate", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    ("admin.deactivate", "POST"): row(
        anon=SIGN_IN,
        raiser=DENIED,
        prac2=DENIED,
        spoc=DENIED,
        spoc2=DENIED,
        bm=DENIED,
        bm2=DENIED,
        admin="302 /admin/users/{user}",
    ),
    ("admin.reactivate", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    ("admin.reactivate", "POST"): row(
        anon=SIGN_IN,
        raiser=DENIED,
        prac2=DENIED,
        spoc=DENIED,
        spoc2=DENIED,
        bm=DENIED,
        bm2=DENIED,
        admin="302 /admin/users/{user}",
    ),
    ("admin.send_password_reset", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    ("admin.send_password_reset", "POST"): row(
        anon=SIGN_IN,
        raiser=DENIED,
        prac2=DENIED,
        spoc=DENIED,
        spoc2=DENIED,
        bm=DENIED,
        bm2=DENIED,
        admin="302 /admin/users/{user}",
    ),
    ("admin.invite", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    # An empty form is asked again with its errors; nobody is invited.
    ("admin.invite", "POST"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    # Resend (a fresh link, the old one revoked) and revoke the notice recipient's invitation.
    ("admin.resend_invitation", "POST"): row(
        anon=SIGN_IN,
        raiser=DENIED,
        prac2=DENIED,
        spoc=DENIED,
        spoc2=DENIED,
        bm=DENIED,
        bm2=DENIED,
        admin="302 /admin/users",
    ),
    ("admin.revoke_invitation", "POST"): row(
        anon=SIGN_IN,
        raiser=DENIED,
        prac2=DENIED,
        spoc=DENIED,
        spoc2=DENIED,
        bm=DENIED,
        bm2=DENIED,
        admin="302 /admin/users",
    ),
    ("admin.reset_2fa", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    ("admin.reset_2fa", "POST"): row(
        anon=SIGN_IN,
        raiser=DENIED,
        prac2=DENIED,
        spoc=DENIED,
        spoc2=DENIED,
        bm=DENIED,
        bm2=DENIED,
        admin="302 /admin/users/{user}",
    ),
    # The audit trail (entries, the chain check, the export) and the keys' state: administrators only.
    ("admin.audit_trail", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    ("admin.verify_audit", "POST"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    ("admin.export_audit", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    ("admin.key_status", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=OK
    ),
    # -- the SPOC directory (issue 9): each partnership's business unit and administrators --------------
    # {contact} is a Rochdale contact the notice was not sent to; Bolton's business manager is told it is
    # not there (404, as for any record of another partnership).
    ("directory.index", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=OK
    ),
    ("directory.add", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=OK
    ),
    # An empty form is asked again with its errors; nothing is added.
    ("directory.add", "POST"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=OK
    ),
    ("directory.edit", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=NOT_FOUND, admin=OK
    ),
    ("directory.edit", "POST"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=NOT_FOUND, admin=OK
    ),
    ("directory.deactivate", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=NOT_FOUND, admin=OK
    ),
    ("directory.deactivate", "POST"): row(
        anon=SIGN_IN,
        raiser=DENIED,
        prac2=DENIED,
        spoc=DENIED,
        spoc2=DENIED,
        bm="302 /directory/",
        bm2=NOT_FOUND,
        admin="302 /directory/",
    ),
    ("directory.reactivate", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=NOT_FOUND, admin=OK
    ),
    ("directory.reactivate", "POST"): row(
        anon=SIGN_IN,
        raiser=DENIED,
        prac2=DENIED,
        spoc=DENIED,
        spoc2=DENIED,
        bm="302 /directory/",
        bm2=NOT_FOUND,
        admin="302 /directory/",
    ),
    # Marking an entry as still right moves its review a year on.
    ("directory.reviewed", "POST"): row(
        anon=SIGN_IN,
        raiser=DENIED,
        prac2=DENIED,
        spoc=DENIED,
        spoc2=DENIED,
        bm="302 /directory/",
        bm2=NOT_FOUND,
        admin="302 /directory/",
    ),
    ("directory.export", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=OK
    ),
    ("directory.import_file", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=OK
    ),
    # No file: asked again with the error.
    ("directory.import_file", "POST"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=OK
    ),
    # Nothing previewed in this session: back to the upload.
    ("directory.apply_import", "POST"): row(
        anon=SIGN_IN,
        raiser=DENIED,
        prac2=DENIED,
        spoc=DENIED,
        spoc2=DENIED,
        bm="302 /directory/import",
        bm2="302 /directory/import",
        admin="302 /directory/import",
    ),
    # -- the business unit's dashboard and reports: aggregates of its own partnership only ------------------
    ("reports.dashboard", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=DENIED
    ),
    # With no period asked for, the page offers the choice.
    ("reports.report", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=DENIED
    ),
    # A download with no period asked for is a request no page sends.
    ("reports.report_csv", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm="400", bm2="400", admin=DENIED
    ),
    ("reports.report_pdf", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm="400", bm2="400", admin=DENIED
    ),
    # -- invitations (issue 9): the token in the path is not one that was issued ------------------------
    # A mistyped link: a plain "not right" page for anyone signed out; a signed-in user is told the link is
    # not for their session, whatever the token.
    ("invitations.accept", "GET"): row(
        anon=NOT_FOUND,
        raiser=CONFLICT,
        prac2=CONFLICT,
        spoc=CONFLICT,
        spoc2=CONFLICT,
        bm=CONFLICT,
        bm2=CONFLICT,
        admin=CONFLICT,
    ),
    ("invitations.accept", "POST"): row(
        anon=NOT_FOUND,
        raiser=CONFLICT,
        prac2=CONFLICT,
        spoc=CONFLICT,
        spoc2=CONFLICT,
        bm=CONFLICT,
        bm2=CONFLICT,
        admin=CONFLICT,
    ),
    # The same "check your email" page for every token and every actor.
    ("invitations.new_link", "POST"): row(anon=OK, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    # -- problems signing in (issue 9): open to everyone; an empty form is asked again ---------------------
    ("auth.forgotten_password", "GET"): row(anon=OK, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    ("auth.forgotten_password", "POST"): row(anon=OK, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    ("auth.lost_authenticator", "GET"): row(anon=OK, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    ("auth.lost_authenticator", "POST"): row(anon=OK, raiser=OK, prac2=OK, spoc=OK, spoc2=OK, bm=OK, bm2=OK, admin=OK),
    # A reset token that was never issued: the "cannot be used" page, for everyone.
    ("auth.reset_password", "GET"): row(
        anon=GONE, raiser=GONE, prac2=GONE, spoc=GONE, spoc2=GONE, bm=GONE, bm2=GONE, admin=GONE
    ),
    ("auth.reset_password", "POST"): row(
        anon=GONE, raiser=GONE, prac2=GONE, spoc=GONE, spoc2=GONE, bm=GONE, bm2=GONE, admin=GONE
    ),
    ("reports.notices_zip", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm="400", bm2="400", admin=DENIED
    ),
    # The learning log: the business unit of the notice's partnership reads (audited) and updates its items.
    ("reports.learning_log", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=DENIED
    ),
    ("reports.learning_item", "GET"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=READ, bm2=DENIED, admin=DENIED
    ),
    # An empty post is asked again with the error beside the status (the item is read again, audited).
    ("reports.learning_item", "POST"): row(
        anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=READ, bm2=DENIED, admin=DENIED
    ),
    # -- withdrawing a notice: who raised it, or the business unit for them (an empty reason is asked again) --
    ("notices.withdraw", "GET"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=DENIED, admin=DENIED
    ),
    ("notices.withdraw", "POST"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=DENIED, admin=DENIED
    ),
    # -- messages between the parties on an open notice (an empty message is asked again) --
    ("notices.message", "GET"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=OK, spoc2=DENIED, bm=OK, bm2=DENIED, admin=DENIED
    ),
    ("notices.message", "POST"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=OK, spoc2=DENIED, bm=OK, bm2=DENIED, admin=DENIED
    ),
    # -- evidence: the parties attach it to the open notice (an empty upload is asked again); whoever may read the
    # notice downloads it, audited like any read of case data
    ("notices.evidence_upload", "GET"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=OK, spoc2=DENIED, bm=OK, bm2=DENIED, admin=DENIED
    ),
    ("notices.evidence_upload", "POST"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=OK, spoc2=DENIED, bm=OK, bm2=DENIED, admin=DENIED
    ),
    ("notices.evidence_download", "GET"): row(
        anon=SIGN_IN, raiser=READ, prac2=DENIED, spoc=READ, spoc2=DENIED, bm=READ, bm2=DENIED, admin=DENIED
    ),
    # -- evidence on an unsent draft: only its writer (an empty upload is asked again). Downloading and removing take
    # a file of the draft: the notice's own file is not one, so the writer gets a 404 as for a file that is not there.
    ("notices.draft_evidence_upload", "GET"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    ("notices.draft_evidence_upload", "POST"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    ("notices.draft_evidence_download", "GET"): row(
        anon=SIGN_IN, raiser=NOT_FOUND, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    ("notices.draft_evidence_remove", "POST"): row(
        anon=SIGN_IN, raiser=NOT_FOUND, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    # -- the child's file: whoever may read the notice, once it is closed (this one is open: a 404 for its readers,
    # with no denial; tests/web/test_child_file.py downloads both from a closed notice, audited)
    ("notices.child_file_pdf", "GET"): row(
        anon=SIGN_IN,
        raiser=NOT_FOUND,
        prac2=DENIED,
        spoc=NOT_FOUND,
        spoc2=DENIED,
        bm=NOT_FOUND,
        bm2=DENIED,
        admin=DENIED,
    ),
    ("notices.child_file_json", "GET"): row(
        anon=SIGN_IN,
        raiser=NOT_FOUND,
        prac2=DENIED,
        spoc=NOT_FOUND,
        spoc2=DENIED,
        bm=NOT_FOUND,
        bm2=DENIED,
        admin=DENIED,
    ),
    # -- deleting an unsent draft: only its writer; an empty answer to "are you sure?" deletes nothing --
    ("notices.delete_draft", "GET"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
    ("notices.delete_draft", "POST"): row(
        anon=SIGN_IN, raiser=OK, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED
    ),
}

# Requests that change what later requests see run last, in this order.
LAST = {("notices.check", "POST"): 1, ("auth.sign_out", "POST"): 2}

# Objects that are not there, or not what was asked for: (label, endpoint, method, url arguments, row).
UNKNOWN_ID = str(uuid.UUID(int=0x5EC0_0000_0000_4000_8000_0000_0000_0001))
VARIANTS: list[tuple[str, str, str, dict[str, Any], dict[str, str]]] = [
    *(
        (
            f"a report for a period, {endpoint}",
            endpoint,
            "GET",
            {"choose": "last-quarter"},
            row(anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=OK, bm2=OK, admin=DENIED),
        )
        for endpoint in ("reports.report", "reports.report_csv", "reports.report_pdf", "reports.notices_zip")
    ),
    (
        "unknown learning item",
        "reports.learning_item",
        "GET",
        {"item_id": UNKNOWN_ID},
        row(
            anon=SIGN_IN,
            raiser=DENIED,
            prac2=DENIED,
            spoc=DENIED,
            spoc2=DENIED,
            bm=NOT_FOUND,
            bm2=NOT_FOUND,
            admin=DENIED,
        ),
    ),
    (
        "unknown notice id",
        "notices.show",
        "GET",
        {"notice_id": UNKNOWN_ID},
        row(anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED),
    ),
    (
        "unknown notice id, PDF",
        "notices.pdf",
        "GET",
        {"notice_id": UNKNOWN_ID, "version": 1},
        row(anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED),
    ),
    (
        "over-long notice id",
        "notices.show",
        "GET",
        {"notice_id": "x" * 300},
        row(anon=SIGN_IN, raiser=DENIED, prac2=DENIED, spoc=DENIED, spoc2=DENIED, bm=DENIED, bm2=DENIED, admin=DENIED),
    ),
    (
        "PDF version that does not exist",
        "notices.pdf",
        "GET",
        {"version": 99},
        row(
            anon=SIGN_IN,
            raiser=NOT_FOUND,
            prac2=DENIED,
            spoc=NOT_FOUND,
            spoc2=DENIED,
            bm=NOT_FOUND,
            bm2=DENIED,
            admin=DENIED,
        ),
    ),
    (
        "unknown draft id",
        "notices.draft",
        "GET",
        {"draft_id": UNKNOWN_ID},
        row(
            anon=SIGN_IN,
            raiser=DENIED,
            prac2=DENIED,
            spoc=DENIED,
            spoc2=DENIED,
            bm=DENIED,
            bm2=DENIED,
            admin=DENIED,
        ),
    ),
]

# Query arguments a route reads besides its path.
QUERY_ARGS: dict[str, dict[str, Any]] = {"notices.pdf": {"version": 1}}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@dataclass
class Outcome:
    status: int
    location: str | None
    audit: str | None  # "denied", "read" or None

    @classmethod
    def parse(cls, text: str, ids: dict[str, str]) -> Outcome:
        parts = text.format(**ids).split()
        location = next((p for p in parts[1:] if p.startswith("/")), None)
        audit = next((p for p in parts[1:] if p in ("denied", "read")), None)
        return cls(int(parts[0]), location, audit)


@dataclass
class World:
    notice_id: str
    reference: str
    draft_id: str
    attachment_id: str
    clients: dict[str, FlaskClient]
    user_ids: dict[str, int | None]
    csrf: dict[str, str]
    # The user the administration routes act on (none of the actors).
    target_user_id: int = 0
    # The directory contact the directory routes act on (not one the notice was sent to).
    target_contact_id: int = 0
    learning_item_id: str = ""
    # A pending invitation (issue 9's administration resends or revokes it).
    invitation_id: str = ""


def _url_args(app: Flask, endpoint: str, world: World) -> dict[str, Any]:
    """Concrete values for every argument of a route's rule; fail for an argument the matrix cannot fill."""
    known = {
        "notice_id": world.notice_id,
        "draft_id": world.draft_id,
        "filename": "js/init.mjs",
        "user_id": world.target_user_id,
        "contact_id": world.target_contact_id,
        "token": "not-a-token-that-was-issued",
        "item_id": world.learning_item_id,
        "attachment_id": world.attachment_id,
        "invitation_id": world.invitation_id,
    }
    args: dict[str, Any] = {}
    for rule in app.url_map.iter_rules(endpoint):
        unknown = rule.arguments - known.keys()
        assert not unknown, f"{rule.rule} takes {sorted(unknown)}: add it to the matrix in {__name__}"
        args.update({name: known[name] for name in rule.arguments})
    args.update(QUERY_ARGS.get(endpoint, {}))
    return args


def _build_world(app: Flask, accounts: Accounts) -> World:
    raiser = accounts.make(Role.PRACTITIONER, agency=RAISING_AGENCY, name="Avery Raiser")
    made = {
        "raiser": raiser,
        "prac2": accounts.make(Role.PRACTITIONER, agency=TARGET_AGENCY),
        "spoc": accounts.make(Role.SPOC, agency=TARGET_AGENCY),
        "spoc2": accounts.make(Role.SPOC, agency=OTHER_AGENCY),
        "bm": accounts.make(Role.BUSINESS_MANAGER),
        "bm2": accounts.make(Role.BUSINESS_MANAGER, partnership="bolton"),
        "admin": accounts.make(Role.ADMIN),
    }
    clients = {"anon": app.test_client()}
    for name, account in made.items():
        clients[name] = app.test_client()
        sign_in_now(clients[name], app, account)

    a = clients["raiser"]
    notice_id, reference = raise_notice(a, appendix1_answers(contact_id(app, TARGET_AGENCY)))
    # A piece of evidence on it.
    page = a.get(f"/notices/{notice_id}/evidence")
    a.post(
        f"/notices/{notice_id}/evidence",
        data={
            "file": (io.BytesIO(b"%PDF-1.7 minutes of the meeting"), "minutes.pdf"),
            "csrf_token": csrf_from(page.text),
        },
        content_type="multipart/form-data",
    )
    with session_factory(app)() as db:
        attachment_id = db.execute(select(NoticeAttachment.id)).scalar_one()
    # A second notice about the canary child, left as a complete draft.
    page = a.get("/notices/new")
    draft_url = a.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    page = a.get(draft_url)
    saved = a.post(
        draft_url, data={**appendix1_answers(contact_id(app, TARGET_AGENCY)), "csrf_token": csrf_from(page.text)}
    )
    assert saved.status_code == 302, "the draft's answers were not saved"
    draft_id = draft_url.rstrip("/").split("/")[-1]

    csrf = {"anon": csrf_from(clients["anon"].get("/sign-in").text)}
    for name in made:
        # Every signed-in page carries the sign-out form, and with it the session's CSRF token.
        csrf[name] = csrf_from(clients[name].get("/accessibility").text)
    user_ids: dict[str, int | None] = {"anon": None, **{name: account.id for name, account in made.items()}}
    target = accounts.make(Role.PRACTITIONER, agency=TARGET_AGENCY, name="Tally Target")
    # A learning log item on the notice, as closing it with general issues would open.
    with session_factory(app)() as db:
        notice = db.get(Notice, notice_id)
        item = LearningItem(notice_id=notice_id, partnership_id=notice.partnership_id)  # type: ignore[union-attr]
        db.add(item)
        db.commit()
        item_id = item.id
        # The invitation the notice's e-mail carried to its recipient contact, who has no account.
        invitation_id = db.execute(select(Invitation.id).order_by(Invitation.created_at)).scalars().first()
        assert invitation_id is not None, "the notice's recipient was not invited"
    return World(
        notice_id,
        reference,
        draft_id,
        attachment_id,
        clients,
        user_ids,
        csrf,
        target_user_id=target.id,
        target_contact_id=contact_id(app, OTHER_AGENCY),
        learning_item_id=item_id,
        invitation_id=invitation_id,
    )


def _audit_head(app: Flask) -> int:
    with session_factory(app)() as db:
        return db.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()


def _audit_since(app: Flask, seq: int) -> list[AuditEvent]:
    with session_factory(app)() as db:
        return list(db.execute(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)).scalars())


def _check(
    app: Flask,
    world: World,
    client: FlaskClient,
    csrf: str,
    label: str,
    endpoint: str,
    method: str,
    actor: str,
    expected_text: str,
    args: dict[str, Any],
) -> list[str]:
    """Make one request and return what differs from the expected outcome."""
    expected = Outcome.parse(
        expected_text, {"draft": world.draft_id, "notice": world.notice_id, "user": str(world.target_user_id)}
    )
    with app.test_request_context():
        url = url_for(endpoint, **args)
    before = _audit_head(app)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": csrf})
    # A PDF or an XLSX workbook is binary: the outcome is judged by the status and the audit rows.
    binary = response.mimetype == "application/pdf" or response.mimetype.endswith("spreadsheetml.sheet")
    body = "" if binary else response.get_data(as_text=True)
    response.close()
    new_rows = _audit_since(app, before)
    where = f"{label} {method} {url} as {actor}"
    problems = []

    got_location = response.headers.get("Location")
    if response.status_code != expected.status or (expected.location is not None and got_location != expected.location):
        shown = f"{response.status_code} {got_location or ''}".strip()
        problems.append(f"{where}: expected {expected_text.split()[0]} {expected.location or ''}, got {shown}")
    if response.status_code == 403:
        problems.append(f"{where}: a denial must be 404, not 403")
    if response.status_code != 200:
        for secret in (world.reference, CANARY_NAME, CANARY_NHS, CANARY_NARRATIVE):
            if secret in body:
                problems.append(f"{where}: the {response.status_code} body contains {secret!r}")

    denied = [e for e in new_rows if e.outcome == "denied"]
    allowed = [e for e in new_rows if e.outcome == "allowed"]
    if expected.audit == "denied":
        if len(new_rows) != 1 or len(denied) != 1:
            problems.append(
                f"{where}: expected exactly one 'denied' audit row, got {[(e.action, e.outcome) for e in new_rows]}"
            )
        elif denied[0].actor_id != world.user_ids[actor] or denied[0].object_id not in (
            args.get("notice_id", world.notice_id)[:36],
            args.get("draft_id", ""),
            endpoint,
        ):
            problems.append(
                f"{where}: the denial row names actor {denied[0].actor_id} and object {denied[0].object_id!r}"
            )
    elif expected.audit == "read":
        if len(new_rows) != 1 or len(allowed) != 1 or allowed[0].actor_id != world.user_ids[actor]:
            problems.append(
                f"{where}: expected exactly one 'allowed' audit row, got {[(e.action, e.outcome) for e in new_rows]}"
            )
    elif denied:
        problems.append(f"{where}: unexpected denial audit rows {[e.action for e in denied]}")
    return problems


def test_every_route_for_every_actor_has_exactly_the_expected_outcome(app: Flask, accounts: Accounts) -> None:
    world = _build_world(app, accounts)

    # Positive controls: the canary really is in what A may read, so its absence from 404s means something.
    assert CANARY_NAME in world.clients["raiser"].get(f"/notices/{world.notice_id}").text
    assert CANARY_NAME in world.clients["raiser"].get(f"/notices/drafts/{world.draft_id}/check").text

    plan = []
    for label, endpoint, method, overrides, outcomes in VARIANTS:
        args = {**_url_args(app, endpoint, world), **overrides}
        plan.append((0, label, endpoint, method, args, outcomes))
    for (endpoint, method), outcomes in MATRIX.items():
        if endpoint not in app.view_functions:
            continue  # a row written ahead of its route (the completeness test catches the reverse)
        plan.append(
            (LAST.get((endpoint, method), 0), endpoint, endpoint, method, _url_args(app, endpoint, world), outcomes)
        )
    plan.sort(key=lambda step: step[0])  # stable: the table's order within each phase

    problems: list[str] = []
    checked = 0
    for _phase, label, endpoint, method, args, outcomes in plan:
        for actor in ACTORS:
            client, csrf = world.clients[actor], world.csrf[actor]
            problems += _check(app, world, client, csrf, label, endpoint, method, actor, outcomes[actor], args)
            checked += 1
    assert not problems, f"{len(problems)} of {checked} outcomes differ:\n" + "\n".join(problems)


def test_every_route_in_the_url_map_is_in_the_matrix(app: Flask) -> None:
    """A new route, or a new method on a route, fails here until its row is written into MATRIX."""
    in_map = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - IGNORED_METHODS
    }
    missing = sorted(in_map - MATRIX.keys())
    assert not missing, f"routes with no row in the authorisation matrix (add them to MATRIX): {missing}"
    for endpoint in {e for e, _ in in_map}:
        for rule in app.url_map.iter_rules(endpoint):
            filled = {
                "notice_id",
                "draft_id",
                "filename",
                "user_id",
                "contact_id",
                "token",
                "item_id",
                "attachment_id",
                "invitation_id",
            }
            unknown = rule.arguments - filled
            assert not unknown, f"{rule.rule} takes {sorted(unknown)}: add it to the matrix"


def test_a_denied_draft_is_audited(app: Flask, accounts: Accounts) -> None:
    """Item 23: a draft holds the child's details, so a refused attempt on one is a denial event too."""
    owner, other = app.test_client(), app.test_client()
    sign_in_now(owner, app, accounts.make(Role.PRACTITIONER, agency=RAISING_AGENCY))
    intruder = accounts.make(Role.PRACTITIONER, agency=RAISING_AGENCY)
    sign_in_now(other, app, intruder)
    page = owner.get("/notices/new")
    draft_url = owner.post("/notices/new", data={"immediate_risk": "no", "csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    draft_id = draft_url.rstrip("/").split("/")[-1]
    for url in (draft_url, f"{draft_url}/check", f"/notices/drafts/{UNKNOWN_ID}"):
        before = _audit_head(app)
        assert other.get(url).status_code == 404
        rows = _audit_since(app, before)
        assert [(e.outcome, e.actor_id) for e in rows] == [("denied", intruder.id)], url
        assert rows[0].object_id in (draft_id, UNKNOWN_ID)


def test_opening_the_code_page_while_signed_in_keeps_the_session(app: Flask, accounts: Accounts) -> None:
    """A GET must not end a session: a link from another site (SameSite=Lax cookies ride along on top-level
    navigation) or the Back button after signing in would otherwise sign the user out."""
    client = app.test_client()
    sign_in_now(client, app, accounts.make(Role.PRACTITIONER))
    for path in ("/sign-in/code", "/sign-in/set-up-2fa"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert client.get("/").status_code == 200, f"GET {path} signed the user out"


def test_an_id_with_a_nul_byte_is_a_plain_404(app: Flask, accounts: Accounts) -> None:
    client = app.test_client()
    practitioner = accounts.make(Role.PRACTITIONER)
    sign_in_now(client, app, practitioner)
    for path in ("/notices/%00", "/notices/a%00b/pdf", "/notices/%00/confirmation"):
        before = _audit_head(app)
        assert client.get(path).status_code == 404, path
        assert [(e.outcome, e.actor_id) for e in _audit_since(app, before)] == [("denied", practitioner.id)], path
    for path in ("/notices/drafts/%00", "/notices/drafts/%00/check"):
        assert client.get(path).status_code == 404, path
