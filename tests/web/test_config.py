"""Production refuses development shortcuts; configuration comes from documented PORTAL_* variables."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from portal import create_app
from portal.infrastructure.crypto import generate_keyring
from portal.services.errors import ConfigurationError


def production(app_config: dict, **overrides: object) -> dict:
    return {
        **app_config,
        "ENV": "production",
        "MAILER": "smtp",
        "BASE_URL": "https://portal.example",
        "SECRET_KEY": "p" * 40,
        **overrides,
    }


def test_production_refuses_missing_secret_key(app_config: dict) -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(production(app_config, SECRET_KEY=None))


def test_production_refuses_the_development_mailer(app_config: dict) -> None:
    with pytest.raises(ConfigurationError, match="MAILER"):
        create_app(production(app_config, MAILER="dev"))


def test_production_refuses_development_keys(app_config: dict) -> None:
    with pytest.raises(ConfigurationError, match="development keyring"):
        create_app(production(app_config))


def test_production_refuses_missing_keys(app_config: dict, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="keyring"):
        create_app(production(app_config, KEY_DIR=str(tmp_path / "nowhere")))


def _production_keys(app_config: dict, tmp_path: Path) -> Path:
    key_dir = tmp_path / "prodkeys"
    generate_keyring(key_dir, development=False)
    source = Path(app_config["KEY_DIR"])
    from portal.infrastructure.pdf.signing import generate_self_signed

    key_pem, cert_pem = generate_self_signed("Escalation Portal")
    (key_dir / "signing-key.pem").write_bytes(key_pem)
    (key_dir / "signing-cert.pem").write_bytes(cert_pem)
    assert source.exists()
    return key_dir


def test_production_refuses_the_development_signing_certificate(app_config: dict, tmp_path: Path) -> None:
    key_dir = _production_keys(app_config, tmp_path)
    shutil.copyfile(Path(app_config["KEY_DIR"]) / "signing-cert.pem", key_dir / "signing-cert.pem")
    with pytest.raises(ConfigurationError, match="development certificate"):
        create_app(production(app_config, KEY_DIR=str(key_dir)))


def test_production_refuses_demo_users(app_config: dict, tmp_path: Path, app, accounts) -> None:
    from portal.domain.models import Role, User
    from portal.web.database import session_factory

    account = accounts.make(Role.PRACTITIONER)
    with session_factory(app)() as db:
        db.get(User, account.id).is_demo = True
        db.commit()
    with pytest.raises(ConfigurationError, match="demo users"):
        create_app(production(app_config, KEY_DIR=str(_production_keys(app_config, tmp_path))))


def test_production_starts_with_proper_settings_and_secure_cookies(app_config: dict, tmp_path: Path, app) -> None:
    prod = create_app(production(app_config, KEY_DIR=str(_production_keys(app_config, tmp_path))))
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert "devmail.mailbox" not in prod.view_functions
    response = prod.test_client().get("/sign-in")
    assert "Strict-Transport-Security" in response.headers
    prod.extensions["portal.engine"].dispose()


def test_environment_variables_configure_the_portal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_dir: Path
) -> None:
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    monkeypatch.setenv("PORTAL_SMTP_HOST", "mail.example")
    monkeypatch.setenv("PORTAL_SMTP_PORT", "2525")
    monkeypatch.setenv("PORTAL_SMTP_STARTTLS", "true")
    monkeypatch.setenv("PORTAL_BASE_URL", "https://escalations.example")
    monkeypatch.setenv("PORTAL_KEY_DIR", str(key_dir))
    monkeypatch.setenv("PORTAL_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("PORTAL_LOG_FILE", str(tmp_path / "env.log"))
    app = create_app()
    assert app.config["SMTP_HOST"] == "mail.example"
    assert app.config["SMTP_PORT"] == 2525
    assert app.config["SMTP_STARTTLS"] is True
    assert app.config["BASE_URL"] == "https://escalations.example"
    app.extensions["portal.engine"].dispose()


def test_production_forms_work_over_https_without_a_referer(app_config: dict, tmp_path: Path, app) -> None:
    # Every page sends Referrer-Policy: no-referrer, so browsers post forms without a Referer header.
    prod = create_app(production(app_config, KEY_DIR=str(_production_keys(app_config, tmp_path))))
    client = prod.test_client()
    page = client.get("/sign-in", base_url="https://portal.example")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/sign-in",
        base_url="https://portal.example",
        data={"email": "a@b.test", "password": "x" * 12, "csrf_token": token},
    )
    assert response.status_code == 200
    assert "The email address or password is not right" in response.text
    prod.extensions["portal.engine"].dispose()


def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(app_config: dict) -> None:
    proxied = create_app({**app_config, "PROXY_FIX_HOPS": 1})
    seen = {}

    @proxied.get("/__addr")
    def addr() -> str:
        from flask import request

        seen["addr"], seen["secure"] = request.remote_addr, request.is_secure
        return ""

    addr.access_rule = "public"  # type: ignore[attr-defined]
    proxied.test_client().get("/__addr", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert seen == {"addr": "203.0.113.7", "secure": True}
    proxied.extensions["portal.engine"].dispose()


def test_production_command_line_creates_the_keys_the_app_then_requires(tmp_path: Path) -> None:
    """`generate-keys --production` runs under PORTAL_ENV=production before any key exists; a command that
    needs the keys says so plainly meanwhile; served, the app still refuses to start without them."""
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        PYTHONPATH=str(root),
        PORTAL_ENV="production",
        PORTAL_SECRET_KEY="p" * 40,
        PORTAL_MAILER="smtp",
        PORTAL_BASE_URL="https://portal.example",
        PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite'}",
        PORTAL_KEY_DIR=str(tmp_path / "keys"),
        PORTAL_LOG_FILE=str(tmp_path / "portal.log"),
    )
    flask = [sys.executable, "-m", "flask", "--app", "portal"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*flask, *args], env=env, capture_output=True, text=True, timeout=120, check=False)

    before = run("audit", "verify")
    assert before.returncode == 1
    assert "Error: keys are not set up" in before.stderr
    assert "Traceback" not in before.stderr
    made = run("generate-keys", "--production")
    assert made.returncode == 0, made.stderr
    assert "Keys created" in made.stdout
    assert (tmp_path / "keys" / "keyring.json").exists()
    again = run("generate-keys", "--production")
    assert "Keys already exist; nothing changed." in again.stdout
    with pytest.raises(ConfigurationError, match="keyring"):
        create_app(
            production(
                {"DATABASE_URL": env["PORTAL_DATABASE_URL"], "LOG_FILE": env["PORTAL_LOG_FILE"]},
                KEY_DIR=str(tmp_path / "elsewhere"),
            )
        )
