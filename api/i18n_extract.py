"""What the interface's catalogues must hold, and the command that keeps them in step.

``python -m api.i18n_extract`` (``make messages``) extracts every marked string of the templates
(``_()``, ``{% trans %}``) and of the ``api`` package (``_()``, ``N_()``), adds the labels that live in
data (countries, kinds, roles, resources, statuses, score parts, time zones, the questionnaire's
texts), writes ``api/locales/messages.pot`` and merges it into each language's ``messages.po`` (new
strings come in empty, for a translator). ``--check`` changes nothing and exits 1 when a catalogue
misses a string, has one fuzzy, or drops or adds a placeholder; ``tests/api/test_i18n.py`` runs the
same check. Not imported by the service.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Iterable

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from api.i18n import DEFAULT, LANGUAGES, LOCALES, catalogue_path

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "t": (2,)}  # gettext: a {% trans %} block
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{\{\s*(\w+)\s*\}\}")


def _data_labels() -> Iterable[tuple[str, str]]:
    """The shown labels that live in data rather than in marked strings, with where each comes from."""
    from api.intake import template_messages
    from api.outcomes import RESULTS
    from api.web import ACCOUNT_ROLES, COMPONENT_LABELS, FIELD_LABELS, RECORD_KINDS, TIME_ZONES
    from matcher.vocab import COUNTRIES, PROJECT_STATUSES, RESOURCE_KINDS, ROLES, STAKEHOLDER_KINDS

    for source, labels in (("matcher/vocab.py:COUNTRIES", COUNTRIES.values()),
                           ("matcher/vocab.py:STAKEHOLDER_KINDS", STAKEHOLDER_KINDS.values()),
                           ("matcher/vocab.py:PROJECT_STATUSES", PROJECT_STATUSES.values()),
                           ("matcher/vocab.py:ROLES", ROLES.values()),
                           ("matcher/vocab.py:RESOURCE_KINDS", (r.label for r in RESOURCE_KINDS.values())),
                           ("api/web.py:COMPONENT_LABELS", COMPONENT_LABELS.values()),
                           ("api/web.py:TIME_ZONES", (label for _, label in TIME_ZONES)),
                           ("api/outcomes.py:RESULTS", RESULTS.values()),
                           ("api/web.py:ACCOUNT_ROLES", ACCOUNT_ROLES.values()),
                           ("api/web.py:RECORD_KINDS", RECORD_KINDS.values()),
                           ("api/web.py:FIELD_LABELS", FIELD_LABELS.values()),
                           ("api/intake.py:questionnaire", template_messages())):
        for label in labels:
            yield label, source


def template() -> Catalog:
    """Every message the interface shows, each with where it is written."""
    catalogue = Catalog(project="dldmatch", msgid_bugs_address="", fuzzy=False)
    method_map = [("api/templates/**.html", "jinja2"), ("api/**.py", "python")]
    options = {"api/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options, keywords=KEYWORDS, comment_tags=("Translators:",)):
        if filename.startswith(("api/i18n", "tests")):
            continue
        catalogue.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for label, source in _data_labels():
        path, _, name = source.partition(":")
        existing = catalogue.get(label)
        if existing is None:
            catalogue.add(label, None, [(path, 0)], auto_comments=[name])
    return catalogue


def _ids(message: object) -> tuple[str, ...]:
    return tuple(message) if isinstance(message, (tuple, list)) else (str(message),)


def problems(lang: str, wanted: Catalog | None = None) -> list[str]:
    """What a language's catalogue lacks: each missing, empty or fuzzy message, and each translation
    whose placeholders differ from the English."""
    wanted = wanted or template()
    have = read_catalogue_of(lang)
    out = []
    for message in wanted:
        if not message.id:
            continue
        found = have.get(message.id)
        ids = _ids(message.id)
        if found is None or not any(_ids(found.string)) or not all(_ids(found.string)):
            out.append(f"{lang}: no translation of {ids[0]!r}")
            continue
        if found.fuzzy:
            out.append(f"{lang}: the translation of {ids[0]!r} is marked fuzzy (not checked)")
        english = {m for i in ids for m in PLACEHOLDER.findall(i)}
        for text in _ids(found.string):
            names = {m for m in PLACEHOLDER.findall(text)}
            if names != english:
                out.append(f"{lang}: the translation of {ids[0]!r} has placeholders "
                           f"{sorted(''.join(n) for n in names)}, the English {sorted(''.join(n) for n in english)}")
                break
    return out


def read_catalogue_of(lang: str) -> Catalog:
    path = catalogue_path(lang)
    if not path.exists():
        return Catalog(locale=lang)
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def write(wanted: Catalog) -> None:
    """The template and every language's catalogue, merged with it (new strings empty)."""
    LOCALES.mkdir(exist_ok=True)
    with (LOCALES / "messages.pot").open("wb") as f:
        write_po(f, wanted, width=100, omit_header=False, sort_output=False, include_lineno=False)
    for lang in LANGUAGES:
        if lang == DEFAULT:
            continue
        catalogue = read_catalogue_of(lang)
        catalogue.update(wanted, no_fuzzy_matching=True)
        path = catalogue_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, catalogue, width=100, ignore_obsolete=True, include_lineno=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a catalogue misses a string")
    args = parser.parse_args(argv)
    wanted = template()
    if not args.check:
        write(wanted)
    found = [p for lang in LANGUAGES if lang != DEFAULT for p in problems(lang, wanted)]
    for line in found[:200]:
        print(line, file=sys.stderr)
    count = sum(1 for m in wanted if m.id)
    print(f"{count} messages; {len(found)} problem(s) in the catalogues of "
          f"{', '.join(l for l in LANGUAGES if l != DEFAULT)}", file=sys.stderr)
    return 1 if found and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
