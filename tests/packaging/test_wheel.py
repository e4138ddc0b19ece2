"""The wheel carries every file the service reads at run time: built from a copy of the tree, installed
into a folder of its own, and run from a working directory outside the source tree, it finds its data
and serves the seed profiles, as the Docker image does."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from api.settings import ROOT

pytestmark = pytest.mark.packaging

# What `pip install .` must not see or write into: the copy is built, never the shared working tree
# (setuptools writes build/ and *.egg-info beside the sources).
_NOT_SOURCES = shutil.ignore_patterns(".venv", ".git", "data", "build", "dist", "*.egg-info", "__pycache__",
                                      ".pytest_cache", "test-artifacts", "bench-results", "node_modules")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, installed with ``pip install --target`` (no dependencies: they are the test's own)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCES)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(source)],
                   check=True, cwd=tmp, timeout=300)
    (wheel,) = (tmp / "dist").glob("dldmatch-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(tmp / "site"), str(wheel)],
                   check=True, cwd=tmp, timeout=300)
    return tmp / "site"


@pytest.fixture
def elsewhere(tmp_path: Path, site: Path) -> tuple[Path, dict[str, str]]:
    """A working directory outside the source tree, and an environment in which the wheel's modules
    shadow the editable install and no DLDMATCH_* setting points back into the tree."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLDMATCH_") and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(site), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    return cwd, env


_PROBE = """
import json, api, evaluation, matcher, seed_profiles
from api.national import FACTS
from api.settings import DATA_DIR, Settings
s = Settings()
static = __import__("pathlib").Path(api.__file__).parent
print(json.dumps({
    "modules": [api.__file__, matcher.__file__, seed_profiles.__file__],
    "data_dir": str(DATA_DIR), "database_url": s.database_url, "index_dir": str(s.index_dir),
    "themes_file": str(s.themes_file), "ranker_path": str(s.ranker_path), "seed_dir": str(s.seed_dir),
    "seeds": sorted(p.name for p in s.seed_dir.glob("*.jsonl")),
    "translations": sorted(p.name for p in (s.seed_dir / "translations").iterdir()),
    "static": sorted(p.name for p in (static / "static").iterdir()),
    "templates": len(list((static / "templates").glob("*.html"))),
    "countries_file": str(FACTS),
    "evaluation_data": sorted(p.name for p in __import__("pathlib").Path(evaluation.__file__).parent.glob("*.json*")),
}))
"""


def test_the_installed_package_finds_its_data_files(site: Path, elsewhere: tuple[Path, dict[str, str]]) -> None:
    cwd, env = elsewhere
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    for module in found["modules"]:
        assert Path(module).is_relative_to(site), f"{module} is not the wheel's: the editable install was used"
    assert found["evaluation_data"] == ["heldout_project_translations.jsonl", "judged_questions.json"]
    for key in ("themes_file", "ranker_path", "seed_dir", "countries_file"):
        assert Path(found[key]).is_relative_to(site) and Path(found[key]).exists(), (key, found[key])
    assert found["seeds"] == ["projects.jsonl", "stakeholders.jsonl"]
    assert found["translations"] == sorted(p.name for p in (ROOT / "seed_profiles" / "translations").iterdir())
    assert found["static"] == sorted(p.name for p in (ROOT / "api" / "static").iterdir())
    assert found["templates"] == len(list((ROOT / "api" / "templates").glob("*.html")))
    # outside a source tree the database and the index go to the working directory's data/
    assert found["data_dir"] == str(cwd.resolve() / "data")
    assert found["database_url"] == f"sqlite:///{cwd.resolve() / 'data' / 'dldmatch.db'}"
    assert found["index_dir"] == str(cwd.resolve() / "data" / "index")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode("utf-8", "replace")


@pytest.fixture
def served(tmp_path: Path, elsewhere: tuple[Path, dict[str, str]]) -> Iterator[str]:
    """``python -m api.cli serve`` from the wheel, with the fake embedder and a database of its own."""
    cwd, env = elsewhere
    port = _free_port()
    env.update(DLDMATCH_EMBEDDER="fake", DLDMATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'served.db'}",
               DLDMATCH_INDEX_DIR=str(tmp_path / "index"))
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"the installed service exited with {proc.returncode}:\n{log.read()[-4000:]}")
            try:
                status, health = _get(f"{base}/health")
                if status == 200 and health["status"] != "starting":
                    break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"the installed service did not get ready in 60 s:\n{log.read()[-4000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def test_the_installed_service_serves_the_seed_profiles(served: str) -> None:
    status, health = _get(f"{served}/health")
    assert status == 200 and health["status"] == "ok", health
    assert (health["stakeholders"], health["projects"]) == (42, 47)
    status, themes = _get(f"{served}/themes")
    assert status == 200 and len(themes) == 19
    status, mongolia = _get(f"{served}/countries/MN")  # the countries' facts
    assert status == 200 and mongolia["ldn"] and mongolia["dust_and_sandstorms"]["role"] == "source"
    status, page = _get(f"{served}/")  # a template
    assert status == 200 and "<html" in page.lower()
    status, page = _get(f"{served}/?lang=mn")  # a language's catalogue, read from the installed package
    assert status == 200 and '<html lang="mn">' in page and "Түнш хайх" in page
    status, page = _get(f"{served}/map")  # the map's outlines
    assert status == 200 and page.count("<path") > 50
    status, css = _get(f"{served}/static/app.css")
    assert status == 200 and css
