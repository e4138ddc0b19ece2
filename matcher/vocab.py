"""Controlled vocabularies shared by the store, the API and the ranking logic.

Values are short snake_case codes; labels are for people. Every list here is closed: an import or an
API call that uses a code outside it is rejected with the field named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from matcher.text import cue_pattern, opens_with_self

STAKEHOLDER_KINDS: dict[str, str] = {
    "government": "Government body",
    "cso": "Civil-society organisation / NGO",
    "private": "Private firm",
    "academia": "Academia / research",
    "international": "International organisation or programme",
    "network": "Network or platform",
    "funder": "Funder",
}

PROJECT_STATUSES: dict[str, str] = {
    "planned": "Planned",
    "ongoing": "Ongoing",
    "completed": "Completed",
}

ROLES: dict[str, str] = {
    "lead": "Lead",
    "co_funder": "Co-funder",
    "supporter": "Supporter",  # the documents' "supporting" a project: money or help in kind, not said which
    "implementer": "Implementer",
    "technical_partner": "Technical partner",
    "other": "Other",
}

COUNTRIES: dict[str, str] = {
    "CN": "China",
    "MN": "Mongolia",
    "JP": "Japan",
    "KR": "Republic of Korea",
    "RU": "Russian Federation",
    "KP": "Democratic People's Republic of Korea",
}
"""The six NEASPEC member States. Other ISO 3166-1 alpha-2 codes are accepted too (see
:func:`is_country_code`); these get a label."""


@dataclass(frozen=True)
class ResourceKind:
    code: str
    label: str
    keywords: tuple[str, ...]


RESOURCE_KINDS: dict[str, ResourceKind] = {
    r.code: r
    for r in (
        ResourceKind("funding", "Funding", ("fund", "funding", "co-fund", "finance", "financial",
                                             "donation", "donor", "grant", "investment", "money")),
        ResourceKind("technical_expertise", "Technical expertise",
                     ("technical", "technology", "technologies", "expertise", "know-how", "experts")),
        ResourceKind("research_data", "Research and monitoring data",
                     ("research", "monitoring", "data", "gis", "assessment", "forecasting")),
        ResourceKind("volunteers", "Volunteers", ("volunteer", "volunteers")),
        ResourceKind("land_access", "Land or site access", ("land access", "site access", "site", "sites")),
        ResourceKind("seedlings_materials", "Seedlings and materials",
                     ("seedling", "seedlings", "saplings", "materials", "seeds")),
        ResourceKind("training", "Training and capacity building",
                     ("training", "capacity building", "capacity-building", "workshop", "knowledge transfer")),
        ResourceKind("policy_access", "Policy access", ("policy", "policy dialogue", "government access")),
        ResourceKind("market_access", "Market access", ("market", "markets", "buyers", "business")),
        ResourceKind("communication", "Communication and outreach",
                     ("communication", "outreach", "awareness", "visibility", "media")),
    )
}

# What a partner search for each intent is really after, as resource kinds the candidate offers.
INTENT_RESOURCES: dict[str, frozenset[str]] = {
    "co_funding": frozenset({"funding"}),
    "implementation": frozenset({"technical_expertise", "volunteers", "land_access",
                                 "seedlings_materials", "training", "research_data"}),
    "any": frozenset(),
}

# Paying for something asked of others is a need for funding ("Who could help pay for it?", "someone to
# cover the costs"); said of oneself ("we need volunteers and will pay for their travel") it is not.
_PAY_ASKED = re.compile(r"\b(?:who|whom|anyone|someone|somebody|which\s+\w+(?:\s+\w+)?)\s+(?:\w+\s+){0,3}?"
                        r"(?:pay\s+for|pay\s+the\s+costs?|cover\s+the\s+costs?|meet\s+the\s+costs?"
                        r"|foot\s+the\s+bill)\b", re.IGNORECASE)

_NEED_CUE = re.compile(r"\b(need|needs|needed|seek|seeks|seeking|looking for|require|requires|lack|want"
                       r"|(?:who|whom|which\s+\w+(?:\s+\w+)?)\s+(?:could|can|might|would)|anyone)\b",
                       re.IGNORECASE)

# The needs-reading vocabulary in six languages. A word ending in "*" is a stem (any ending: Russian
# and Mongolian inflect); Chinese, Japanese and Korean words match anywhere; other words match whole.
# Each word names one resource kind and nothing else: 自愿/добровольные/сайн дурын ("voluntary", as
# in voluntary LDN targets) are not volunteers, 자원 alone is "resources", данные is also "given".

# Cues in the other five languages. Chinese, Japanese, Korean and Mongolian put the verb after what
# is needed ("资金不足", "資金が必要", "자금이 필요", "санхүүжилт хэрэгтэй"), so a sentence with one of
# these cues is read whole.
_OTHER_NEED_CUES: tuple[str, ...] = (
    "需要", "需求", "寻找", "寻求", "缺乏", "缺少", "短缺", "希望", "谁能", "谁可以", "谁愿意", "招募",
    "必要", "求めて", "求む", "探して", "探し", "募集", "欲しい", "ほしい", "不足", "足りない", "誰か", "どなたか",
    "필요", "찾고", "찾습니다", "구합니다", "구하고", "모집", "부족", "누가", "원합니다",
    "нужн*", "нуждаем*", "нуждает*", "требует*", "требуют*", "необходим*", "ищем", "ищут", "ищу", "не хватает",
    "нехватк*", "кто может", "кто мог*", "кто смож*", "кто готов*",
    "хэрэгтэй", "шаардлагатай", "хайж", "хайна", "хайх", "дутагд*", "хомс", "хэн", "хэнтэй", "хэнд", "хэнээс",
)

# A sentence that offers something is not asking for it.
_OFFER_CUES: tuple[str, ...] = (
    "offer", "offers", "offering", "provide", "provides", "providing", "supply", "supplies", "supplying",
    "supplier", "suppliers", "sell", "sells", "selling",
    "提供", "供应", "出售", "供給", "販売", "제공", "공급", "판매",
    "предлага*", "предоставля*", "поставля*", "продае*", "продаю*", "санал болго*", "нийлүүл*", "худалда*",
)

# Wording that is about a resource even where no need is said ("we run a small tree nursery"): read
# in any sentence that does not offer something.
_SUBJECT_WORDS: dict[str, tuple[str, ...]] = {
    "seedlings_materials": ("nursery", "nurseries", "苗圃", "育苗", "苗畑", "양묘장", "묘포", "питомник*",
                            "мод үржүүлгийн газар", "үржүүлгийн газар"),
}

# Words for each kind beyond RESOURCE_KINDS' English keywords, read after a need cue.
_NEED_WORDS: dict[str, tuple[str, ...]] = {
    "funding": (
        "funds", "funders", "donors", "grants", "co-finance", "co-financing", "cofinance", "cofinancing",
        "co-funder", "co-funders", "financing", "financially", "share the cost", "share the costs",
        "split the cost", "split the costs",
        "资金", "经费", "资助", "融资", "捐款", "捐赠", "赞助", "出资", "筹资", "拨款", "支付费用", "承担费用", "出钱",
        "資金", "助成", "融資", "寄付", "出資", "財政支援", "費用を負担", "費用を出", "お金を出",
        "자금", "재정", "기금", "후원금", "기부", "투자", "출자", "보조금", "지원금", "비용을 지원", "비용을 부담", "비용을 대",
        "финансир*", "софинансир*", "грант*", "пожертвован*", "донор*", "спонсор*", "инвестиц*", "деньги", "денег",
        "деньгами", "оплатить", "оплатит", "оплатят", "покрыть расход*", "взять на себя расход*",
        "зардлыг төлөх", "зардлыг төлж", "зардлыг даах", "төлбөр*",
        "санхүү*", "хандив*", "тэтгэлэг*", "буцалтгүй тусламж*", "хөрөнгө оруулалт*", "мөнгө*"),
    "technical_expertise": (
        "expert", "specialist", "specialists", "engineers", "technical advice",
        "技术", "专家", "专业知识", "技術", "専門家", "専門知識", "ノウハウ", "기술", "전문가", "전문 지식", "노하우",
        "технолог*", "техническ*", "эксперт*", "специалист*", "ноу-хау",
        "технологи*", "техникийн", "мэргэжилтэн*", "шинжээч*"),
    "research_data": (
        "datasets", "data sets", "monitor", "researchers", "scientists", "remote sensing",
        "研究", "数据", "监测", "科研", "データ", "モニタリング", "観測", "調査", "연구", "데이터", "모니터링", "관측", "조사",
        "исследован*", "мониторинг*", "наблюден*", "научн* данн*",
        "судалгаа*", "хяналт-шинжилгээ*", "өгөгдөл*"),
    "volunteers": (
        "volunteering", "志愿者", "义工", "志愿服务", "ボランティア", "자원봉사", "자원 봉사", "봉사자",
        "волонтер*", "доброволец", "добровольц*",
        "сайн дурын ажилтан*", "сайн дурын ажилчид", "сайн дурынхан", "сайн дурын ажил*"),
    "land_access": (
        "access to land", "plot of land", "plots of land",
        "土地使用权", "用地", "场地", "土地の提供", "土地の利用", "부지", "토지 사용", "토지 이용",
        "земельн* участ*", "доступ к земл*", "участок земли", "участки земли",
        "газар ашигла*", "газар олго*", "газрын зөвшөөрөл"),
    "seedlings_materials": (
        "nursery", "nurseries", "sapling", "planting material", "planting materials",
        "苗圃", "育苗", "苗木", "树苗", "幼苗", "种苗", "种子", "苗畑", "種苗", "種子",
        "묘목", "묘포", "양묘", "종자", "모종", "씨앗",
        "саженц*", "питомник*", "сеянц*", "семена", "семян", "посадочн* материал*",
        "суулгац*", "мод үржүүлгийн газар", "үржүүлгийн газар"),
    "training": (
        "trainings", "workshops", "capacity development",
        "培训", "能力建设", "研修", "訓練", "人材育成", "能力開発", "能力構築", "교육", "훈련", "연수", "역량 강화", "역량강화",
        "обучени*", "тренинг*", "повышени* квалификац*", "наращивани* потенциал*",
        "сургалт*", "чадавх*"),
}


def is_country_code(code: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]{2}", code))


def infer_needs(text: str) -> list[str]:
    """Resource kinds a free text asks for, in English, Chinese, Japanese, Korean, Mongolian or Russian.

    Read from sentences that say they need or seek something (in English from the cue on, elsewhere
    the whole sentence), and from wording that is about a resource, such as running a tree nursery,
    in a sentence that does not offer it.

    Example:
        >>> infer_needs("We plant saxaul in the Gobi and need co-funding and volunteers.")
        ['funding', 'volunteers']
        >>> infer_needs("我们在库布其种树，需要资金和志愿者。")
        ['funding', 'volunteers']
    """
    found: list[str] = []
    for sentence in _NEED_SENTENCES.split(text):
        sentence = sentence.replace("ё", "е").replace("Ё", "Е")
        cue = _NEED_CUE.search(sentence)
        if cue:
            scope: str | None = sentence[cue.start():]
        elif _any_cue(sentence, _OTHER_NEED_CUES):
            # "我们提供培训，需要资金": where the sentence also offers something, only its clauses that ask
            scope = sentence if not _any_cue(sentence, _OFFER_CUES) else " ".join(
                c for c in _CLAUSES.split(sentence) if _any_cue(c, _OTHER_NEED_CUES))
        else:
            scope = None
        offered = scope is None and (_any_cue(sentence, _OFFER_CUES) or _offer_cue(sentence) is not None)
        for kind in RESOURCE_KINDS.values():
            if kind.code in found:
                continue
            if scope is not None:
                asked = (any(_has_word(scope.lower(), k) for k in kind.keywords)
                         or _any_cue(scope, _NEED_WORDS.get(kind.code, ()))
                         or kind.code == "funding" and _PAY_ASKED.search(scope) is not None)
            else:
                asked = not offered and _any_cue(sentence, _SUBJECT_WORDS.get(kind.code, ()))
            if asked:
                found.append(kind.code)
    return found


def infer_offers(text: str, *, by_others: bool = False) -> list[str]:
    """Resource kinds a free text says it offers, in the same six languages as :func:`infer_needs`.

    Read from the offer on (in English: "we supply", "we can grow", "we'd like to put money into",
    said by the asker, up to a need said after it; elsewhere the clauses with an offer word), never
    where the offer is denied ("we cannot provide") or asked of others ("which donors could fund").
    With ``by_others``, the other way round: what a text says others offer ("NGOs that provide
    training", "partners who can supply seedlings", 提供培训的组织), never what the writer says of
    itself ("we provide training", 我们提供培训).

    Example:
        >>> infer_offers("We run a nursery and can grow elm seedlings, but we need funding.")
        ['seedlings_materials']
        >>> infer_offers("We'd like to put money into restoring the land the dust comes from.")
        ['funding']
        >>> infer_offers("我们提供培训，需要资金。"), infer_offers("Who could fund us?")
        (['training'], [])
    """
    found: list[str] = []
    for sentence in _NEED_SENTENCES.split(text):
        sentence = sentence.replace("ё", "е").replace("Ё", "Е")
        cue = _offer_cue(sentence, by_others=by_others)
        if cue is not None:
            start, end = cue
            need = _NEED_CUE.search(sentence, end)
            scope = sentence[start:need.start() if need else len(sentence)]
        elif _any_cue(sentence, _OTHER_OFFER_CUES):
            # each clause with an offer word, up to a need word after it ("предлагаем саженцы и ищем ..."):
            # of the writer's clauses, or with ``by_others`` of the others'
            scope = " ".join(_up_to_need(c) for c in _CLAUSES.split(sentence) if _any_cue(c, _OTHER_OFFER_CUES)
                             and (not by_others or not opens_with_self(c)))
        else:
            continue
        for kind in RESOURCE_KINDS.values():
            if kind.code not in found and (any(_has_word(scope.lower(), k) for k in kind.keywords)
                                           or _any_cue(scope, _NEED_WORDS.get(kind.code, ()))
                                           or _any_cue(scope, _OFFER_WORDS.get(kind.code, ()))):
                found.append(kind.code)
    return found


def _up_to_need(clause: str) -> str:
    """A clause up to the first need word after its first offer word."""
    offer = min(m.start() for w in _OTHER_OFFER_CUES if (m := cue_pattern(w).search(clause)))
    needs = [m.start() for w in _OTHER_NEED_CUES if (m := cue_pattern(w).search(clause, offer + 1))]
    return clause[:min(needs)] if needs else clause


_OFFER_VERBS = (r"offer|provide|supply|sell|sponsor|donate|contribute|invest|fund|co-fund|finance|co-finance"
                r"|put|pay|grow|raise|train|share|bring|give|lend|back")
_OFFER_CUE = re.compile(
    r"\b(?:offers?|offering|provides?|providing|supplies|supply|supplying|suppliers?|sells?|selling"
    r"|sponsors?|sponsoring|donates?|donating|contributes?|contributing|invests?|investing"
    rf"|(?:can|could|['’]d\s+like\s+to|(?:would\s+like|wants?|wish|plans?|ready|able|willing)\s+to)"
    rf"\s+(?:{_OFFER_VERBS}))\b", re.IGNORECASE)
# Not an offer: denied ("we cannot provide"), or asked of others ("who could fund us?").
_DENIED_BY = r"(?:\bnot|n['’]t|\bcannot|\bnever|\bno\s+longer)\s+(?:\w+\s+){0,2}"
_NOT_OFFERED = re.compile(rf"(?:{_DENIED_BY}|\b(?:who|whom|anyone|someone|somebody|which\s+\w+(?:\s+\w+)?)\s+)$",
                          re.IGNORECASE)
_DENIED = re.compile(_DENIED_BY + "$", re.IGNORECASE)  # denied, whoever says it
_RELATIVE = re.compile(r"\b(?:who|that|which)\s+(?:\w+\s+)?$", re.IGNORECASE)  # "partners who can supply"
_FIRST_PERSON = re.compile(r"\b(?:we|i|our|my)\b", re.IGNORECASE)  # the asker offers, not those asked about
_OTHER_OFFER_CUES = tuple(w for w in _OFFER_CUES if not w.isascii())

# Words for what is offered beyond those of a need: paying is offering funding.
_OFFER_WORDS: dict[str, tuple[str, ...]] = {
    "funding": ("pay", "pays", "paying", "invest", "invests", "investing", "sponsor*", "donat*", "put money",
                "co-fund", "co-finance"),
}


def _offer_cue(sentence: str, *, by_others: bool = False) -> tuple[int, int] | None:
    """Where an English offer's cue starts and ends in a sentence (None: it offers nothing, denies the
    offer or asks it of others); with ``by_others``, an offer said of others: after "who", "that" or
    "which", or with no "we" or "I" before it, and not denied."""
    for m in _OFFER_CUE.finditer(sentence):
        before = sentence[:m.start()]
        if by_others:
            if (_RELATIVE.search(before) or not _FIRST_PERSON.search(before)) and not _DENIED.search(before):
                return m.start(), m.end()
        elif _FIRST_PERSON.search(before) and not _NOT_OFFERED.search(before):
            return m.start(), m.end()
    return None


_NEED_SENTENCES = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])")
_CLAUSES = re.compile(r"[,，、;；:：]")


def _any_cue(text: str, words: tuple[str, ...]) -> bool:
    return any(cue_pattern(w).search(text) for w in words)


def _has_word(text: str, phrase: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?![\w])", text) is not None


# Kinds of organisation a search asks for, named in general ("which NGOs", "universities that..."), so
# that one body named ("the Korean government", "Mongolia's Ministry", 清华大学, "компании Элион") is not
# read as a kind asked for: English plurals; Russian and Mongolian plural forms that are no singular's
# too; Chinese, Japanese and Korean words standing on their own (:func:`_kind_pattern`).
_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "cso": ("NGOs", "CSOs", "NPOs", "civil-society organisations", "civil-society organizations",
            "civil society organisations", "civil society organizations", "non-governmental organisations",
            "non-governmental organizations", "nonprofits", "non-profits", "grassroots groups",
            "非政府组织", "民间组织", "社会组织", "公益组织", "市民団体", "非政府組織", "시민단체", "비정부기구",
            "НКО", "некоммерческих организаций", "некоммерческие организации", "общественные организации",
            "общественных организаций", "неправительственные организации", "неправительственных организаций",
            "ТББ", "ТББ-ууд*", "төрийн бус байгууллагууд*"),
    "government": ("ministries", "governments", "government agencies", "public agencies", "public bodies",
                   "政府部门", "政府机构", "省庁", "政府機関", "정부 부처", "정부 기관", "정부기관", "министерств",
                   "министерствами", "госорганы", "государственные органы", "государственных органов",
                   "яамд*", "төрийн байгууллагууд*"),
    "private": ("companies", "firms", "businesses", "private sector", "private-sector", "corporations",
                "企业", "公司", "私营企业", "民营企业", "企業", "民間企業", "기업", "민간 기업", "민간기업", "기업들",
                "компаний", "компаниями", "частные компании", "частных компаний", "предприятий",
                "компаниуд*", "аж ахуйн нэгжүүд*"),
    "academia": ("universities", "research institutes", "research institutions", "academia",
                 "大学", "高等院校", "科研机构", "研究机构", "研究機関", "대학", "대학들", "연구기관", "연구 기관",
                 "университеты", "университетов", "научные институты", "научных институтов",
                 "их сургуулиуд*", "судалгааны хүрээлэнгүүд*"),
    "international": ("international organisations", "international organizations", "UN agencies",
                      "国际组织", "国際機関", "국제기구", "международные организации", "международных организаций",
                      "олон улсын байгууллагууд*"),
}
# Before a Chinese, Japanese or Korean kind word: the start, a space or a mark, or one of these (哪些,
# 各, 和, 与, 的, や, と, の, 国 of 中国企业...); after it, none of 生 家 法 校 교 界 ("students",
# "entrepreneurs", "company law", "university" in a name; 교 생 법 in Korean).
_CJK_BEFORE = "些哪各和与及或的等やとの・国本"
_CJK_AFTER = "生家法校界교생법"


def _kind_pattern(word: str) -> "re.Pattern[str]":
    """A kind word's pattern: as a cue (:func:`matcher.text.cue_pattern`), or for a Chinese, Japanese or
    Korean word, standing on its own (:data:`_CJK_BEFORE`, :data:`_CJK_AFTER`)."""
    if not re.search(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]", word):
        return cue_pattern(word)
    body = r"\s*".join(re.escape(p) for p in word.split())
    before = rf"(?:(?<=[{_CJK_BEFORE}])|(?<![\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]))"
    return re.compile(before + body + rf"(?![{_CJK_AFTER}])")


@lru_cache(maxsize=1)
def _kind_patterns() -> tuple[tuple[str, tuple["re.Pattern[str]", ...]], ...]:
    return tuple((kind, tuple(_kind_pattern(w) for w in words)) for kind, words in _KIND_WORDS.items())


def kinds_asked(text: str) -> list[str]:
    """Kinds of organisation a text asks for by their general names, in any of the six languages.

    Example:
        >>> kinds_asked("Which NGOs should Elion meet?"), kinds_asked("partners beyond the Korean government")
        (['cso'], [])
        >>> kinds_asked("哪些企业和大学可以参与？"), kinds_asked("清华大学的大学生")
        (['private', 'academia'], [])
    """
    return [kind for kind, patterns in _kind_patterns() if any(p.search(text) for p in patterns)]
