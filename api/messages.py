"""Messages about refused input, in plain words and in the page's language.

Two parts:

- :func:`plain` turns one pydantic validation error into words a person filling a form reads
  ("an address starting with http:// or https://", not "String should match pattern
  '^https?://\\S+$'"), for the API, the questionnaire and the forms alike.
- :func:`translate` shows an English message of the service in another language: a message written
  as it stands is looked up in the catalogue; one built from a template of :data:`TEMPLATES` (with
  ``%(name)s`` parts: a value, a list of codes) is recognised by that template, translated, and its
  parts put back. The API's JSON stays English; the web page passes every message through
  ``|msg``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from api.i18n import N_, gettext

PATTERNS = {
    r"^https?://\S+$": N_("an address starting with http:// or https://"),
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": N_("an e-mail address such as name@example.org"),
}
"""What a field's pattern asks for, in words (the patterns of :mod:`api.schemas`)."""

BY_TYPE = {
    "missing": N_("required"),
    "string_too_short": N_("at least %(min_length)s characters"),
    "string_too_long": N_("at most %(max_length)s characters"),
    "string_pattern_mismatch": N_("not in the expected form"),
    "string_type": N_("text is expected here"),
    "int_parsing": N_("a whole number is expected here"),
    "int_type": N_("a whole number is expected here"),
    "int_from_float": N_("a whole number is expected here"),
    "float_parsing": N_("a number is expected here"),
    "float_type": N_("a number is expected here"),
    "bool_parsing": N_("yes or no is expected here"),
    "greater_than_equal": N_("at least %(ge)s"),
    "greater_than": N_("more than %(gt)s"),
    "less_than_equal": N_("at most %(le)s"),
    "less_than": N_("less than %(lt)s"),
    "literal_error": N_("one of: %(expected)s"),
    "enum": N_("one of: %(expected)s"),
    "list_type": N_("a list is expected here"),
    "too_long": N_("at most %(max_length)s items"),
    "too_short": N_("at least %(min_length)s items"),
    "extra_forbidden": N_("unknown field"),
    "date_from_datetime_parsing": N_("a date such as 2027-05-14"),
    "date_parsing": N_("a date such as 2027-05-14"),
    "datetime_parsing": N_("a date and time such as 2027-05-14T09:00"),
    "datetime_from_date_parsing": N_("a date and time such as 2027-05-14T09:00"),
    "time_parsing": N_("a time such as 09:00"),
    "json_invalid": N_("not valid JSON"),
}
"""Pydantic's error types, in words (a type not here keeps pydantic's own message)."""

TEMPLATES = [
    N_("%(value)s is not one of: %(choices)s"),
    N_("%(value)s is not a country code or a known country name"),
    N_("%(value)s is not a number"),
    N_("%(value)s is not a whole number"),
    N_("%(value)s is not a two-letter ISO 3166-1 country code"),
    N_("a currency is given but no amount"),
    N_("unknown column"),
    N_("%(id)s appears again (first on row %(row)s)"),
    N_("unknown theme %(theme)s; see GET /themes"),
    N_("no stakeholder with id %(id)s"),
    N_("%(n)s invalid field(s)"),
    N_("%(id)s is already in dldmatch: only its members or the secretariat change it (sign in, or write to the "
       "secretariat); a new organisation needs another name or id"),
    N_("%(id)s is already in dldmatch: only its members or the secretariat change it (sign in, or write to the "
       "secretariat); a new project needs another name or id"),
    N_("%(value)s is not a time zone name such as Asia/Ulaanbaatar or UTC"),
    N_("unknown time zone %(value)s: give one such as Asia/Ulaanbaatar, Asia/Seoul or UTC"),
    *BY_TYPE.values(), *PATTERNS.values(),
]
"""The templates a message of refused input is built from; :func:`translate` recognises them."""


def plain(error: dict[str, Any]) -> str:
    """One pydantic error (``ValidationError.errors()``) in words, in English."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "value_error":  # a validator's own ValueError, already in words
        return str(ctx.get("error", error.get("msg", ""))).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERNS:
        return PATTERNS[ctx["pattern"]]
    template = BY_TYPE.get(kind)
    if template is None:
        return str(error.get("msg", ""))
    try:
        return template % {k: v for k, v in ctx.items()}
    except (KeyError, TypeError, ValueError):
        return str(error.get("msg", ""))


@lru_cache(maxsize=1)
def _matchers() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for template in TEMPLATES:
        if "%(" not in template:
            continue
        parts = re.split(r"%\((\w+)\)s", template)
        pattern = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        out.append((re.compile(f"^{pattern}$", re.DOTALL), template))
    return out


def translate(lang: str, message: str) -> str:
    """An English message of the service in a language of the interface: as written if the
    catalogue has it, else through the template it was built from, else as it is."""
    if not message or lang == "en":
        return message
    text = gettext(lang, message)
    if text != message:
        return text
    for pattern, template in _matchers():
        found = pattern.match(message)
        if found:
            return gettext(lang, template, **found.groupdict())
    return message
