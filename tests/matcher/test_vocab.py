from __future__ import annotations

import pytest

from matcher.vocab import RESOURCE_KINDS, infer_needs, infer_offers, kinds_asked


def test_english_cue_sentences_keep_their_reading() -> None:
    assert infer_needs("We plant saxaul in the Gobi and need co-funding and volunteers.") == ["funding", "volunteers"]
    assert infer_needs("We offer training to herders.") == []
    assert infer_needs("We need research data and training.") == ["research_data", "training"]
    # What comes before the cue is not asked for.
    assert infer_needs("Our volunteers are many; we need money.") == ["funding"]


def test_a_tree_nursery_is_about_seedlings() -> None:
    assert infer_needs("We run a small tree nursery.") == ["seedlings_materials"]
    assert infer_needs("we run a small tree nursery") == ["seedlings_materials"]
    # ... unless the sentence offers what the nursery grows.
    assert infer_needs("We run a tree nursery and offer seedlings to villages.") == []


def test_who_could_co_fund_asks_for_funding() -> None:
    assert infer_needs("Who could co-fund?") == ["funding"]
    assert infer_needs("who could co-fund the next phase") == ["funding"]
    assert infer_needs("Which organisations could co-finance it?") == ["funding"]
    assert infer_needs("Who might share the cost of next year's planting?") == ["funding"]
    assert infer_needs("We look for donors who could back us financially.") == ["funding"]
    # paying for it is funding it, asked of others; said of oneself it is no need
    assert infer_needs("Who could help pay for it?") == ["funding"]
    assert infer_needs("We need someone to cover the costs of fencing.") == ["funding"]
    assert infer_needs("We pay herders to plant trees.") == []
    assert infer_needs("谁能帮我们支付费用？") == infer_needs("Кто может оплатить посадку?") == ["funding"]
    assert infer_needs("Хэн зардлыг төлөх вэ?") == infer_needs("비용을 지원해 줄 곳이 필요합니다.") == ["funding"]
    assert infer_needs("費用を負担してくれる団体を探しています。") == ["funding"]
    # paying said of oneself, or words that only share a stem, are no need for funding
    for text in ("We need to pay attention to soil salinity.", "We need paying customers.",
                 "We need volunteers and will pay for their travel.", "Нужно сократить расход воды.",
                 "Нам нужны волонтёры, оплата не предусмотрена.", "Бидэнд мод тарих төлөвлөгөө хэрэгтэй.",
                 "我们需要低费用的技术。", "費用対効果の高い技術が必要です。", "비용 효율적인 기술이 필요합니다."):
        assert "funding" not in infer_needs(text), text
    assert "funding" not in infer_offers("我们提供低费用的培训。")


@pytest.mark.parametrize(("text", "needs"), [
    ("我们在库布其种树，需要资金和志愿者。", ["funding", "volunteers"]),
    ("我们经营一个小苗圃。", ["seedlings_materials"]),
    ("我们需要培训。", ["training"]),
    ("資金とボランティアが必要です。", ["funding", "volunteers"]),
    ("苗木が不足しています。", ["seedlings_materials"]),
    ("研修の講師を探しています。", ["training"]),
    ("자금과 자원봉사자가 필요합니다.", ["funding", "volunteers"]),
    ("묘목이 부족합니다.", ["seedlings_materials"]),
    ("교육 프로그램이 필요합니다.", ["training"]),
    ("Нам нужны финансирование, волонтёры и саженцы.", ["funding", "volunteers", "seedlings_materials"]),
    ("Кто может софинансировать проект?", ["funding"]),
    ("Мы ищем партнёров для обучения местных жителей.", ["training"]),
    ("Мы держим небольшой питомник.", ["seedlings_materials"]),
    ("Бидэнд санхүүжилт хэрэгтэй.", ["funding"]),
    ("Суулгац дутагдалтай байна.", ["seedlings_materials"]),
    ("Бид мод үржүүлгийн газар ажиллуулдаг.", ["seedlings_materials"]),
    ("Малчдад сургалт хэрэгтэй.", ["training"]),
    ("Бидэнд сайн дурын ажилтнууд хэрэгтэй.", ["volunteers"]),
])
def test_needs_are_read_in_six_languages(text: str, needs: list[str]) -> None:
    assert infer_needs(text) == needs


def test_no_sense_confusions() -> None:
    # Offers are not needs, in any language.
    assert infer_needs("我们提供培训。") == []
    assert infer_needs("研修を提供しています。") == []
    assert infer_needs("我们提供培训，需要资金。") == ["funding"]
    # "Voluntary" targets are not volunteers; 자원 alone is "resources".
    assert infer_needs("Нужны добровольные цели.") == []
    assert infer_needs("Сайн дурын зорилт хэрэгтэй.") == []
    assert infer_needs("우리는 자원이 필요합니다.") == []
    # Wording without a need and without a nursery asks for nothing.
    assert infer_needs("我们在库布其种树。") == []
    assert infer_needs("Мы сажаем деревья в Гоби.") == []


def test_needs_are_codes_of_the_vocabulary() -> None:
    text = ("We need funding, experts, data, volunteers, land access, seedlings, training, policy dialogue, "
            "markets and media.")
    assert infer_needs(text) == list(RESOURCE_KINDS)


def test_offers_are_read_from_what_the_asker_says_it_gives() -> None:
    assert infer_offers("Our company in Gansu supplies drought-hardy shrub seedlings.") == ["seedlings_materials"]
    assert infer_offers("We run a nursery and can grow elm seedlings by the tens of thousands.") == \
        ["seedlings_materials"]
    assert infer_offers("We'd like to put money into restoring the land the dust comes from.") == ["funding"]
    assert infer_offers("We want to pay for pasture recovery where our wool comes from.") == ["funding"]
    assert infer_offers("We provide training but need funding.") == ["training"]
    # denied, or asked of others: not offered
    assert infer_offers("We cannot provide funding.") == []
    assert infer_offers("We do not offer training.") == []
    assert infer_offers("Who could co-finance our next three years?") == []
    assert infer_offers("Which donors have paid for planting and could share the costs with us?") == []
    # in other languages: the clause with the offer word, up to a need said after it
    assert infer_offers("我们提供培训，需要资金。") == ["training"]
    assert infer_offers("Мы предлагаем саженцы и ищем финансирование.") == ["seedlings_materials"]


def test_a_nursery_that_can_grow_seedlings_offers_them_and_does_not_need_them() -> None:
    text = "We run a tree nursery in Sainshand and can grow elm seedlings by the tens of thousands."
    assert infer_needs(text) == []


@pytest.mark.parametrize("text, kinds", [
    ("Which NGOs should Elion meet at the forum?", ["cso"]),
    ("universities and research institutes working on dust", ["academia"]),
    ("firms or ministries that could co-fund it", ["government", "private"]),
    ("哪些非政府组织可以合作？", ["cso"]),
    ("研究機関と企業", ["private", "academia"]),
    ("시민단체와 국제기구", ["cso", "international"]),
    ("какие НКО и международные организации", ["cso", "international"]),
    ("төрийн бус байгууллагууд", ["cso"]),
    ("中国企业和哪些大学", ["private", "academia"]),
    ("어떤 기업과 대학이", ["private", "academia"]),
    ("частные компании и университеты", ["private", "academia"]),
    ("их сургуулиуд болон яамд", ["government", "academia"]),
])
def test_kinds_a_purpose_asks_for(text: str, kinds: list[str]) -> None:
    assert sorted(kinds_asked(text)) == sorted(kinds)


@pytest.mark.parametrize("text", [
    "partners beyond the Korean government and the UNCCD",  # one body named, not a kind asked for
    "At the round-table, who should sit with Mongolia's Ministry of Environment?",
    "We need co-funders for the next stage",  # whoever can fund: the co-funding intent, not a kind
    "a company-wide policy",  # not "companies"
    "share the data with researchers",  # people to share with, not a kind asked for
    "清华大学的大学生", "企业家和公司法", "東京大学の高校生", "서울대학교 대학생과 공기업",  # one named, or not a body
    "проект министерства", "компании Элион", "бизнес-плана",  # genitive singulars
    "төрийн байгууллагатай", "Монгол Улсын Их Сургууль",  # singular: one body
])
def test_bodies_named_are_not_kinds_asked_for(text: str) -> None:
    assert kinds_asked(text) == []


@pytest.mark.parametrize("text, offered", [
    ("NGOs that provide training", ["training"]),
    ("We need partners who can supply seedlings.", ["seedlings_materials"]),
    ("提供培训的非政府组织", ["training"]),
    ("НКО, которые предоставляют саженцы", ["seedlings_materials"]),
    ("we provide training", []),  # said of the writer
    ("我们提供培训。", []),
    ("Мы предоставляем саженцы.", []),
    ("partners that cannot provide funding", []),  # denied
])
def test_what_a_text_says_others_offer(text: str, offered: list[str]) -> None:
    assert infer_offers(text, by_others=True) == offered
