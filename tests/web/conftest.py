"""A real server on loopback and a real headless Chromium (Debian's, at /usr/bin/chromium)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import uvicorn

from api.app import create_app
from api.service import DLDMatch
from api.settings import ROOT, Settings
from embeddings.fake import FakeEmbedder

CHROMIUM = os.environ.get("DLDMATCH_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "screenshots"
SECRETARIAT = ("secretariat@neaspec.example", "browser secretariat pass")
MEMBER = ("member@futureforest.example", "browser member pass")
MEMBER2 = ("member@gef.example", "browser gef member pass")
TOKENS: dict[str, str] = {}  # made by the server fixture


def sign_in(page: Any, base: str, account: tuple[str, str] = SECRETARIAT) -> None:
    """Through the sign-in page, as a person does."""
    page.goto(base + "/login")
    page.get_by_label("Email").fill(account[0])
    page.get_by_label("Password").fill(account[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def api_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS['secretariat']}"}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("web")
    settings = Settings(database_url=f"sqlite:///{tmp / 'web.db'}", index_dir=tmp / "index", embedder="fake",
                        seed_dir=ROOT / "seed_profiles")
    service = DLDMatch(settings, FakeEmbedder())
    app = create_app(settings, service=service, start="sync")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    service.accounts.create_account(SECRETARIAT[0], "secretariat", name="Secretariat Tester", password=SECRETARIAT[1])
    service.accounts.create_account(MEMBER[0], "member", organisation="future_forest", name="Forest Member",
                                    password=MEMBER[1])
    service.accounts.create_account(MEMBER2[0], "member", organisation="gef", name="GEF Member", password=MEMBER2[1])
    TOKENS["secretariat"] = service.accounts.create_token("secretariat", label="browser tests")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A page that records every request it makes; the test fails if one leaves the app."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((server, "data:", "about:")) else outside.append(r.url))
    page.base = server
    yield page
    context.close()
    assert outside == [], f"the page requested something outside the app: {outside}"


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
