"""The interface in the six languages of the NEAMSP: gettext catalogues read with Babel.

The catalogues are ``api/locales/<lang>/LC_MESSAGES/messages.po``, read at start (no compiled
``.mo`` to keep in step). ``make messages`` (``api/i18n_extract.py``) extracts every marked string of the templates and of
this package, with the vocabularies that pages show (countries, kinds, roles, resources, score parts,
time zones), into ``api/locales/messages.pot`` and merges it into each catalogue;
``tests/api/test_i18n.py`` fails when a catalogue misses one of them.

A page's language is, in order: ``?lang=`` (kept in a cookie), the ``lang`` cookie, the browser's
``Accept-Language``, English. Theme labels come from ``seed_profiles/themes.json``, which holds them in
every language.
"""

from __future__ import annotations

import io
from functools import lru_cache, partial
from pathlib import Path
from typing import Callable, Iterator

from babel import Locale
from babel.core import UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

LOCALES = Path(__file__).parent / "locales"
LANGUAGES: dict[str, str] = {"en": "English", "zh": "中文", "ja": "日本語", "ko": "한국어", "mn": "Монгол",
                             "ru": "Русский"}
"""The interface's languages, each named in itself (the switch shows these names)."""
DEFAULT = "en"
COOKIE = "lang"


def catalogue_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / "messages.po"


def read_catalogue(lang: str) -> Catalog:
    with catalogue_path(lang).open("rb") as f:
        return read_po(f, locale=lang)


@lru_cache(maxsize=None)
def translations(lang: str) -> NullTranslations:
    """The translations of one language (English: the strings as written). A fuzzy or empty entry
    is not used: the English string shows instead."""
    if lang == DEFAULT or lang not in LANGUAGES:
        return NullTranslations()
    catalogue = read_catalogue(lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer)


def N_(message: str) -> str:
    """Marks a message for extraction where it is written; it is translated where it is shown."""
    return message


def gettext(lang: str, message: str, **variables: object) -> str:
    text = translations(lang).gettext(message)
    return text % variables if variables else text


def ngettext(lang: str, singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(lang).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def _accepted(header: str) -> Iterator[str]:
    """The languages of an ``Accept-Language`` header, most wanted first ("zh-CN,zh;q=0.9,en;q=0.8")."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:32]):  # a header is bounded like any input
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            ranked.append((-q, i, tag.strip()))
    for _, _, tag in sorted(ranked):
        yield tag


def negotiate(header: str) -> str | None:
    """The first of the browser's languages that the interface has (any region or script of it)."""
    for tag in _accepted(header):
        try:
            language = Locale.parse(tag, sep="-").language
        except (ValueError, UnknownLocaleError):
            continue
        if language in LANGUAGES:
            return language
    return None


def language_of(request: Request) -> str:
    """The page's language: ``?lang=``, then the cookie, then the browser's, then English."""
    cached = getattr(request.state, "lang", None)
    if cached:
        return str(cached)
    for choice in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if choice in LANGUAGES:
            lang = str(choice)
            break
    else:
        lang = negotiate(request.headers.get("accept-language", "")) or DEFAULT
    request.state.lang = lang
    return lang


def t(request: Request, message: str, **variables: object) -> str:
    """One message in the page's language: ``t(request, "Not saved")``."""
    return gettext(language_of(request), message, **variables)


def translator(request: Request) -> Callable[..., str]:
    """The page's gettext: ``_("Partners for %(name)s", name=...)`` in the page's language."""
    return partial(gettext, language_of(request))
