"""Front-end asset and brand guards (no Flask app needed).

The portal is not part of GOV.UK. It uses GOV.UK Frontend 6.3.0 compiled
with Arial, and must never ship GDS Transport, the crown, the Royal Arms
crest or the GOV.UK favicons. The assets are built by `make assets`
(frontend/build.mjs) into portal/static/govuk/, which is git-ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from posixpath import normpath
from urllib.parse import urljoin

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
NODE_MODULES = FRONTEND / "node_modules"
GOVUK_DIST = NODE_MODULES / "govuk-frontend" / "dist" / "govuk"
STATIC = ROOT / "portal" / "static"
BUILT = STATIC / "govuk"
CSS = BUILT / "app.min.css"
JS = BUILT / "govuk-frontend.min.js"
INIT = STATIC / "js" / "init.mjs"
TEMPLATES = ROOT / "portal" / "templates"

GOVUK_FRONTEND_VERSION = "6.3.0"
SASS_VERSION = "1.108.2"

FONT_SUFFIXES = {".woff", ".woff2", ".ttf", ".otf", ".eot"}
FORBIDDEN_NAME = re.compile(r"(^govuk-crest)|(crown)|(^govuk-icon)|(^govuk-opengraph)", re.IGNORECASE)
TEMPLATE_SUFFIXES = {".html", ".jinja", ".jinja2", ".j2", ".txt", ".xml"}
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


def _require_built(path: Path) -> None:
    """Fail if a built asset is missing, unless the front end was never installed.

    Skipping is only allowed on a developer machine without frontend/node_modules.
    In CI (CI env var set) or once `npm ci` has run, a missing asset is a failure.
    """
    if path.is_file():
        return
    if not NODE_MODULES.is_dir() and not os.environ.get("CI"):
        pytest.skip(f"{path.relative_to(ROOT)} not built and frontend/node_modules absent: run `make assets`")
    pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make assets` (frontend/build.mjs)")


@pytest.fixture(scope="module")
def css() -> str:
    _require_built(CSS)
    return CSS.read_text(encoding="utf-8-sig")


@pytest.fixture(scope="module")
def js() -> str:
    _require_built(JS)
    return JS.read_text(encoding="utf-8")


# --- pins -----------------------------------------------------------------


def test_package_json_pins_exact_versions():
    pkg = json.loads((FRONTEND / "package.json").read_text(encoding="utf-8"))
    assert pkg["private"] is True
    assert pkg["dependencies"]["govuk-frontend"] == GOVUK_FRONTEND_VERSION
    assert pkg["devDependencies"]["sass"] == SASS_VERSION
    assert "build" in pkg["scripts"]


def test_lockfile_resolves_pinned_versions():
    lock = json.loads((FRONTEND / "package-lock.json").read_text(encoding="utf-8"))
    packages = lock["packages"]
    assert packages["node_modules/govuk-frontend"]["version"] == GOVUK_FRONTEND_VERSION
    assert packages["node_modules/sass"]["version"] == SASS_VERSION
    assert packages[""]["dependencies"]["govuk-frontend"] == GOVUK_FRONTEND_VERSION


# --- compiled CSS -----------------------------------------------------------


def test_css_declares_pinned_govuk_frontend_version(css):
    # The compressed output keeps custom-property values verbatim:
    # `:root{--govuk-frontend-version: "6.3.0"}`
    versions = re.findall(r'--govuk-frontend-version:\s*"([^"]*)"', css)
    assert versions == [GOVUK_FRONTEND_VERSION]


def test_css_has_no_gds_transport(css):
    assert "GDS Transport" not in css
    assert "@font-face" not in css
    assert "/fonts/" not in css


def test_css_uses_arial(css):
    assert "font-family:arial,sans-serif" in css
    families = set(re.findall(r"font-family:([^;}]+)", css))
    assert families <= {"arial,sans-serif", "sans-serif"}, families


def test_css_resolves_assets_under_static_govuk(css):
    for url in re.findall(r"url\(([^)]*)\)", css):
        url = url.strip("'\"")
        if not url.startswith("data:"):
            assert url.startswith("/static/govuk/"), url


def test_css_has_official_banner_style(css):
    assert ".app-official-banner{" in css


# --- JavaScript -------------------------------------------------------------


def test_js_is_pinned_govuk_frontend_module(js):
    assert f'"{GOVUK_FRONTEND_VERSION}"' in js
    assert re.search(r"export\s*\{[^}]*\binitAll\b", js), "govuk-frontend.min.js must export initAll"


def test_init_module_import_resolves_from_static_js(js):
    source = INIT.read_text(encoding="utf-8")
    assert "initAll()" in source
    specifiers = re.findall(r"""import\s*\{[^}]*\binitAll\b[^}]*\}\s*from\s*["']([^"']+)["']""", source)
    assert len(specifiers) == 1, specifiers
    # The page loads it as <script type="module" src="/static/js/init.mjs">.
    url = normpath(urljoin("/static/js/init.mjs", specifiers[0]))
    assert url == "/static/govuk/govuk-frontend.min.js"
    assert (STATIC / Path(url).relative_to("/static")).is_file()


# --- brand: files under portal/static -------------------------------------------


def _static_files() -> list[Path]:
    return [p for p in STATIC.rglob("*") if p.is_file()]


def test_no_fonts_or_crown_assets_in_static():
    offenders = [
        str(p.relative_to(ROOT))
        for p in _static_files()
        if p.suffix.lower() in FONT_SUFFIXES or FORBIDDEN_NAME.search(p.name)
    ]
    assert offenders == [], f"GOV.UK-only assets must not be shipped: {offenders}"


def test_no_govuk_frontend_brand_asset_copied_under_another_name():
    assets = GOVUK_DIST / "assets"
    if not assets.is_dir():
        pytest.skip("frontend/node_modules absent: run `make assets`")
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    brand = {digest(p): p.name for p in assets.rglob("*") if p.is_file() and p.name != "manifest.json"}
    copied = {str(p.relative_to(ROOT)): brand[d] for p in _static_files() if (d := digest(p)) in brand}
    assert copied == {}, f"GOV.UK fonts/images copied into portal/static: {copied}"


def test_partnership_favicon_is_present_and_neutral():
    favicon = STATIC / "images" / "favicon.svg"
    text = favicon.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<svg")
    assert "crown" not in text.lower()


# --- brand: templates -------------------------------------------------------------


def _templates() -> list[Path]:
    if not TEMPLATES.is_dir():
        return []
    return [p for p in TEMPLATES.rglob("*") if p.is_file() and p.suffix in TEMPLATE_SUFFIXES]


def test_templates_never_render_govuk_header_or_footer():
    """The portal uses govukGenericHeader and its own footer markup.

    govukHeader renders the GOV.UK crown logotype; govukFooter always renders
    the crown and the Royal Arms crest (as a CSS background).
    """
    offenders = []
    for path in _templates():
        source = JINJA_COMMENT.sub("", path.read_text(encoding="utf-8"))
        for macro in ("govukHeader", "govukFooter"):
            if re.search(rf"\b{macro}\s*\(", source):
                offenders.append(f"{path.relative_to(ROOT)}: {macro}(")
    assert offenders == [], offenders


def test_base_template_overrides_govuk_branded_blocks():
    """template.html defaults to govukHeader(), govukFooter() and GOV.UK icons.

    Whichever portal template extends it must replace those blocks.
    """
    for path in _templates():
        source = JINJA_COMMENT.sub("", path.read_text(encoding="utf-8"))
        if not re.search(r"""\{%-?\s*extends\s+["']govuk_frontend_jinja/template\.html["']""", source):
            continue
        blocks = set(re.findall(r"\{%-?\s*block\s+(\w+)", source))
        where = path.relative_to(ROOT)
        assert "headIcons" in blocks, f"{where} must override block headIcons (GOV.UK favicons)"
        assert blocks & {"header", "govukHeader"}, f"{where} must override block govukHeader (crown header)"
        assert blocks & {"footer", "govukFooter"}, f"{where} must override block govukFooter (crown + crest)"
