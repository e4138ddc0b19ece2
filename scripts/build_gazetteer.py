"""Build matcher/gazetteer.json: the places and countries a user's question can name, in six languages.

Sources, in the order they are merged (a later source adds names to an earlier entry, never removes):

1. pycountry: ISO 3166-2 subdivisions of CN, MN, JP, KR, KP and the Russian subjects that border the
   region, with their names in zh_CN, zh_TW, ja, ko and ru through pycountry's gettext catalogues
   (pycountry has no Mongolian catalogue for ISO 3166-2); ISO 3166-1 names of the six countries.
2. Babel's CLDR territory names (``Locale(x).territories``) of the six countries in en, zh, ja, ko, mn, ru.
3. The hand-written lists below: common variants (short forms, Inner Mongolia, North/South Korea...)
   and the deserts, sandy lands, basins, rivers and towns of the region, each citing the seed
   document paragraph that names it (file + label of store/citations.py ``document_paragraphs``)
   or marked as a well-known geographic name.

Coordinates: pycountry and CLDR carry none. Only hand-written entries carry them: towns to about
0.05 degree, deserts, sandy lands and plateaus as a rough centre (within about a degree), marked so
in ``coordinates``; everything else is null.

Run with the build extra installed: ``.venv/bin/pip install -e '.[build]'`` then
``.venv/bin/python scripts/build_gazetteer.py``. The runtime module needs only the JSON.
"""

from __future__ import annotations

import gettext
import json
import re
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pycountry
from babel import Locale

OUT = Path(__file__).resolve().parent.parent / "matcher" / "gazetteer.json"
LANGS = ("en", "zh", "ja", "ko", "mn", "ru")
COUNTRIES = ("CN", "MN", "JP", "KR", "KP", "RU")
WELL_KNOWN = "well-known geographic name"
SEEDS = {"000": "000_93c868dfb47c709b.txt", "001": "001_a1f3c8361a1c9f7c.txt",
         "002": "002_67074bafcc91ee1e.txt", "003": "003_f83fa132ec33113b.txt",
         "004": "004_215963824895d636.txt"}

# The Russian subjects that border China, Mongolia or the DPRK (and Sakhalin, across the strait
# from Japan): the Siberian and Far Eastern part of Russia that belongs to the region.
RU_SUBJECTS = ("RU-AL", "RU-TY", "RU-BU", "RU-ZAB", "RU-AMU", "RU-YEV", "RU-KHA", "RU-PRI", "RU-SAK")
# ISO 3166-2 lists Taiwan as a province of China; a partner search has no use for that entry and
# should not take a side on it.
SKIP_SUBDIVISIONS = {"CN-TW"}

# First-level units that are cities get kind "town"; Mongolian provinces are aimags.
CITY_TYPES = {"Municipality", "Special city", "Metropolitan city", "Special self-governing city", "Capital city"}

# Short forms in CJK scripts that are also ordinary words or surnames (三重 "triple", 山口 "mountain
# pass", 高知 "well-known", 대전 "great battle", 대구 "cod", 개성 "individuality", 신장 "kidney"...).
# For these only the form with the administrative suffix is kept.
CJK_TOO_COMMON = {"三重", "大分", "山形", "高知", "山口", "秋田", "대전", "대구", "개성", "东方", "肯特"}
# Japanese prefectures whose suffix is not 県.
JA_SUFFIX = {"東京": "都", "大阪": "府", "京都": "府", "北海道": ""}

# Extra names for pycountry entries, by ISO code and language. English first: the first English
# name becomes the canonical name.
VARIANTS: dict[str, dict[str, list[str]]] = {
    "CN-NM": {"en": ["Inner Mongolia", "Inner Mongolia Autonomous Region", "Inner Mongolian", "Nei Mongol"],
              "zh": ["内蒙古", "內蒙古"], "ja": ["内モンゴル自治区", "内モンゴル", "内蒙古"],
              "ko": ["내몽골", "내몽고", "네이멍구"], "mn": ["Өвөр Монгол"],
              "ru": ["Внутренняя Монголия", "Автономный район Внутренняя Монголия"]},
    "CN-XJ": {"en": ["Xinjiang", "Xinjiang Uyghur Autonomous Region"], "zh": ["新疆"],
              "ja": ["新疆ウイグル自治区", "新疆"], "ko": ["신장위구르", "신장 위구르"], "mn": ["Шинжаан"],
              "ru": ["Синьцзян", "Синьцзян-Уйгурский автономный район"]},
    "CN-NX": {"en": ["Ningxia", "Ningxia Hui Autonomous Region"], "zh": ["宁夏", "寧夏"],
              "ja": ["寧夏回族自治区", "寧夏"], "ko": ["닝샤"], "ru": ["Нинся", "Нинся-Хуэйский автономный район"]},
    "CN-GX": {"en": ["Guangxi"], "zh": ["广西", "廣西"]},
    "CN-XZ": {"en": ["Tibet", "Tibet Autonomous Region", "Xizang"], "zh": ["西藏"], "ru": ["Тибет"]},
    "CN-GS": {"en": ["Gansu"], "ja": ["甘粛省", "甘粛"], "ko": ["간쑤"], "ru": ["Ганьсу"]},
    "CN-SN": {"en": ["Shaanxi"], "ru": ["Шэньси"]},
    "CN-SX": {"en": ["Shanxi"], "ru": ["Шаньси"]},
    "CN-HE": {"en": ["Hebei"], "ko": ["허베이"], "ru": ["Хэбэй"]},
    "CN-LN": {"en": ["Liaoning"], "ru": ["Ляонин"]},
    "CN-JL": {"en": ["Jilin"], "ru": ["Цзилинь"]},
    "CN-HL": {"en": ["Heilongjiang"], "ja": ["黒竜江省", "黒竜江"], "ru": ["Хэйлунцзян"]},
    "CN-QH": {"en": ["Qinghai"]},
    "CN-BJ": {"en": ["Beijing", "Peking"], "ja": ["北京"], "ko": ["베이징"], "mn": ["Бээжин"]},
    "CN-TJ": {"en": ["Tianjin"], "ja": ["天津"], "ko": ["톈진"], "ru": ["Тяньцзинь"]},
    "CN-SH": {"en": ["Shanghai"], "ja": ["上海"], "ko": ["상하이"]},
    "CN-CQ": {"en": ["Chongqing"]},
    "CN-HK": {"en": ["Hong Kong"]},
    "CN-MO": {"en": ["Macao", "Macau"]},
    "MN-1": {"en": ["Ulaanbaatar", "Ulan Bator", "Ulaan Baatar", "Ulan-Bator"], "zh": ["乌兰巴托"],
             "ja": ["ウランバートル"], "ko": ["울란바토르"], "mn": ["Улаанбаатар"], "ru": ["Улан-Батор"]},
    "MN-039": {"en": ["Khentii", "Khentii Province"], "mn": ["Хэнтий"], "ru": ["Хэнтэй"]},
    "MN-055": {"en": ["Övörkhangai", "Uvurkhangai", "Övörkhangai Province"], "mn": ["Өвөрхангай"],
               "ru": ["Уверхангай"]},
    "MN-069": {"en": ["Bayankhongor", "Bayankhongor Province"], "mn": ["Баянхонгор"], "ru": ["Баянхонгор"]},
    "MN-057": {"en": ["Zavkhan", "Zavkhan Province"], "mn": ["Завхан"], "ru": ["Завхан"]},
    "MN-037": {"en": ["Darkhan-Uul", "Darkhan-Uul Province"], "mn": ["Дархан-Уул"], "ru": ["Дархан-Уул"]},
    "MN-041": {"en": ["Khövsgöl", "Khuvsgul", "Khövsgöl Province"], "mn": ["Хөвсгөл"], "ru": ["Хубсугул"]},
    "MN-071": {"en": ["Bayan-Ölgii", "Bayan-Ulgii", "Bayan-Ölgii Province"], "mn": ["Баян-Өлгий"],
               "ru": ["Баян-Улгий"]},
    "MN-067": {"en": ["Bulgan", "Bulgan Province"], "mn": ["Булган"], "ru": ["Булган"]},
    "MN-043": {"en": ["Khovd", "Khovd Province"], "mn": ["Ховд"], "ru": ["Ховд", "Кобдо"]},
    "MN-059": {"en": ["Dundgovi", "Dundgovi Province", "Middle Gobi"], "zh": ["中戈壁省"], "mn": ["Дундговь"],
               "ru": ["Дундговь", "Среднегобийский аймак"]},
    "MN-073": {"en": ["Arkhangai", "Arkhangai Province"], "mn": ["Архангай"], "ru": ["Архангай"]},
    # Дорнод alone is also "the East" (Дорнод Ази, East Asia); Төв alone is "centre".
    "MN-061": {"en": ["Dornod", "Dornod Province"], "mn": ["Дорнод аймаг"], "ru": ["Восточный аймак"]},
    "MN-046": {"en": ["Uvs", "Uvs Province"], "mn": ["Увс"], "ru": ["Увс"]},
    "MN-047": {"en": ["Töv Province", "Tov Province"], "mn": ["Төв аймаг"], "ru": ["Центральный аймак"]},
    "MN-063": {"en": ["Dornogovi", "Dornogovi Province", "East Gobi"], "zh": ["东戈壁省"], "mn": ["Дорноговь"],
               "ru": ["Дорноговь", "Восточно-Гобийский аймак"]},
    "MN-064": {"en": ["Govisümber", "Govisumber", "Govi-Sumber"], "mn": ["Говьсүмбэр"], "ru": ["Говь-Сумбэр"]},
    "MN-035": {"en": ["Orkhon Province"], "mn": ["Орхон аймаг"], "ru": ["Орхон"]},
    "MN-051": {"en": ["Sükhbaatar Province", "Sukhbaatar Province"], "mn": ["Сүхбаатар аймаг"]},
    "MN-065": {"en": ["Govi-Altai", "Gobi-Altai", "Govi-Altai Province"], "zh": ["戈壁阿尔泰省"],
               "mn": ["Говь-Алтай"], "ru": ["Гоби-Алтай", "Гоби-Алтайский аймак"]},
    "MN-053": {"en": ["Ömnögovi", "Umnugovi", "South Gobi", "South Gobi Province", "Ömnögovi Province"],
               "zh": ["南戈壁省", "南戈壁"], "mn": ["Өмнөговь"], "ru": ["Южно-Гобийский аймак", "Умнеговь"]},
    "MN-049": {"en": ["Selenge", "Selenge Province"], "mn": ["Сэлэнгэ"]},
    "KR-11": {"en": ["Seoul"], "zh": ["首尔", "首爾"], "ja": ["ソウル"], "mn": ["Сөүл"], "ru": ["Сеул"]},
    "KR-26": {"en": ["Busan", "Pusan"], "ru": ["Пусан"]},
    "KR-27": {"en": ["Daegu"], "ko": ["대구광역시", "대구시"]},
    "KR-28": {"en": ["Incheon"], "zh": ["仁川"], "ja": ["仁川"], "ru": ["Инчхон"]},
    "KR-29": {"en": ["Gwangju"]},
    "KR-30": {"en": ["Daejeon"], "ko": ["대전광역시", "대전시"]},
    "KR-31": {"en": ["Ulsan"]},
    "KR-41": {"en": ["Gyeonggi", "Gyeonggi Province"], "ko": ["경기도"]},
    "KR-42": {"en": ["Gangwon", "Gangwon Province"], "ko": ["강원특별자치도", "강원도"]},
    "KR-43": {"en": ["North Chungcheong"]},
    "KR-44": {"en": ["South Chungcheong"]},
    "KR-45": {"en": ["North Jeolla"]},
    "KR-46": {"en": ["South Jeolla"]},
    "KR-47": {"en": ["North Gyeongsang"]},
    "KR-48": {"en": ["South Gyeongsang"]},
    "KR-49": {"en": ["Jeju", "Jeju Province", "Jeju Island"], "ko": ["제주"], "ru": ["Чеджу"]},
    "KR-50": {"en": ["Sejong City"]},
    "KP-01": {"en": ["Pyongyang", "P'yŏngyang"], "zh": ["平壤"], "ja": ["平壌"], "ko": ["평양"],
              "mn": ["Пхеньян"], "ru": ["Пхеньян"]},
    "KP-02": {"en": ["South Pyongan"], "ko": ["평안남도"]},
    "KP-03": {"en": ["North Pyongan"], "ko": ["평안북도"]},
    "KP-04": {"en": ["Chagang", "Jagang"], "ko": ["자강도"]},
    "KP-05": {"en": ["South Hwanghae"], "ko": ["황해남도"]},
    "KP-06": {"en": ["North Hwanghae"], "ko": ["황해북도"]},
    "KP-07": {"en": ["Kangwon"]},
    "KP-08": {"en": ["South Hamgyong"], "ko": ["함경남도"]},
    "KP-09": {"en": ["North Hamgyong"], "ko": ["함경북도"]},
    "KP-10": {"en": ["Ryanggang"], "ko": ["량강도", "양강도"]},
    "KP-13": {"en": ["Rason", "Rajin-Sonbong"], "ko": ["라선시", "나선"]},
    "KP-14": {"en": ["Nampo", "Nampho"]},
    "KP-15": {"en": ["Kaesong"], "ko": ["개성시"]},
    "JP-01": {"en": ["Hokkaido"]},
    "JP-13": {"en": ["Tokyo"], "ko": ["도쿄"]},
    "JP-31": {"en": ["Tottori", "Tottori Prefecture"], "ko": ["돗토리"]},
    "JP-41": {"en": ["Saga Prefecture"]},
    "JP-24": {"en": ["Mie Prefecture"]},
    "RU-AL": {"en": ["Altai Republic", "Altay Republic"], "zh": ["阿尔泰共和国"], "ru": ["Республика Алтай"]},
    "RU-TY": {"en": ["Tuva", "Tyva", "Tuva Republic"], "zh": ["图瓦"], "mn": ["Тува"],
              "ru": ["Тыва", "Тува", "Республика Тыва"]},
    "RU-BU": {"en": ["Buryatia", "Republic of Buryatia", "Buryat Republic"], "zh": ["布里亚特"], "mn": ["Буриад"],
              "ru": ["Бурятия", "Республика Бурятия"]},
    "RU-ZAB": {"en": ["Zabaykalsky Krai", "Zabaikalsky Krai", "Transbaikalia"], "zh": ["外贝加尔边疆区"],
               "ru": ["Забайкальский край", "Забайкалье"]},
    "RU-AMU": {"en": ["Amur Oblast", "Amur Region"], "zh": ["阿穆尔州"], "ru": ["Амурская область"]},
    "RU-YEV": {"en": ["Jewish Autonomous Oblast"], "zh": ["犹太自治州"], "ru": ["Еврейская автономная область"]},
    "RU-KHA": {"en": ["Khabarovsk Krai"], "zh": ["哈巴罗夫斯克边疆区"], "ru": ["Хабаровский край"]},
    "RU-PRI": {"en": ["Primorsky Krai", "Primorye"], "zh": ["滨海边疆区"], "ja": ["沿海地方"], "ko": ["연해주"],
               "ru": ["Приморский край", "Приморье"]},
    "RU-SAK": {"en": ["Sakhalin Oblast", "Sakhalin"], "zh": ["萨哈林州"], "ja": ["サハリン"], "ko": ["사할린"],
               "ru": ["Сахалинская область", "Сахалин"]},
    # Country variants (the CLDR and ISO names come from the packages).
    "CN": {"en": ["China", "People's Republic of China", "PRC", "Mainland China"],
           "zh": ["中國", "中华人民共和国", "中華人民共和國"], "ja": ["中華人民共和国"], "ko": ["중화인민공화국"],
           "mn": ["БНХАУ", "Бүгд Найрамдах Хятад Ард Улс"], "ru": ["КНР", "Китайская Народная Республика"]},
    "MN": {"en": ["Mongolia", "Outer Mongolia"], "zh": ["蒙古国", "蒙古國"], "ja": ["モンゴル国"],
           "mn": ["Монгол Улс"]},
    "JP": {"en": ["Japan"]},
    # "Korea" alone is read as the Republic of Korea; every DPRK form is longer and wins.
    "KR": {"en": ["Republic of Korea", "South Korea", "ROK", "Korea"], "zh": ["南韩", "韓國", "大韩民国", "大韓民國"],
           "ja": ["大韓民国"], "ko": ["한국", "남한"], "mn": ["БНСУ", "Бүгд Найрамдах Солонгос Улс", "Солонгос"],
           "ru": ["Южная Корея", "Корея"]},
    "KP": {"en": ["Democratic People's Republic of Korea", "North Korea", "DPRK", "DPR Korea"],
           "zh": ["北朝鲜", "北韩", "北韓", "朝鲜民主主义人民共和国"], "ja": ["朝鮮民主主義人民共和国"],
           "ko": ["북조선", "조선민주주의인민공화국"],
           "mn": ["БНАСАУ", "Бүгд Найрамдах Ардчилсан Солонгос Ард Улс"],
           "ru": ["Северная Корея", "Корейская Народно-Демократическая Республика"]},
    "RU": {"en": ["Russian Federation", "Russia"], "zh": ["俄罗斯联邦", "俄国"], "ja": ["ロシア連邦"],
           "ko": ["러시아 연방"], "mn": ["ОХУ", "Оросын Холбооны Улс"], "ru": ["Российская Федерация", "РФ"]},
}

# Where a pycountry catalogue is wrong or ambiguous: these names are not taken from it.
DROP: dict[str, set[str]] = {
    "KP-07": {"강원도"},  # also the ROK's Gangwon, which is the one meant far more often
    "JP-24": {"Mie"}, "JP-41": {"Saga"},  # English words too ("saga"); "Mie/Saga Prefecture" are kept
    "MN-047": {"Töv"},  # Mongolian "centre"; "Töv Province" is kept
}
# pycountry's Mongolian ISO 3166-1 names of the two Koreas are not the usual ones (CLDR's are used).
PYCOUNTRY_MN_SKIP = {"KR", "KP"}

# Coordinates of pycountry entries that are cities (to about 0.05 degree).
CITY_COORDS: dict[str, tuple[float, float]] = {
    "CN-BJ": (39.90, 116.40), "CN-TJ": (39.13, 117.20), "CN-SH": (31.23, 121.47), "CN-CQ": (29.56, 106.55),
    "MN-1": (47.92, 106.92), "KR-11": (37.57, 126.98), "KR-26": (35.18, 129.08), "KR-27": (35.87, 128.60),
    "KR-28": (37.46, 126.71), "KR-29": (35.16, 126.85), "KR-30": (36.35, 127.38), "KR-31": (35.54, 129.31),
    "KR-50": (36.48, 127.29), "KP-01": (39.03, 125.75),
}

# Hand-written places that are not ISO 3166-2 subdivisions. Each cites the seed paragraph that names
# it, or says it is a well-known geographic name. coordinates: "town" (to about 0.05 degree),
# "approximate" (a rough centre of a large area, within about a degree) or absent (null).
HAND: list[dict[str, Any]] = [
    {"id": "gobi", "kind": "desert", "countries": ["MN", "CN"], "lat": 42.6, "lon": 103.4,
     "coordinates": "approximate", "source": WELL_KNOWN,
     # 고비 alone is also "critical moment" and the start of 고비용 ("high cost").
     "names": {"en": ["Gobi", "Gobi Desert"], "zh": ["戈壁", "戈壁沙漠"], "ja": ["ゴビ砂漠", "ゴビ"],
               "ko": ["고비사막", "고비 사막"], "mn": ["Говь", "Говийн цөл"], "ru": ["Гоби", "пустыня Гоби"]}},
    {"id": "kubuqi", "kind": "desert", "countries": ["CN"], "lat": 40.2, "lon": 108.5,
     "coordinates": "approximate", "source": f"{SEEDS['000']} §5, §7",
     "names": {"en": ["Kubuqi", "Kubuqi Desert", "Hobq Desert"], "zh": ["库布其沙漠", "库布齐沙漠", "库布其", "库布齐"],
               "ja": ["クブチ砂漠", "クブチ"], "ko": ["쿠부치 사막", "쿠부치사막", "쿠부치"],
               "ru": ["Кубуци", "пустыня Кубуци"]}},
    {"id": "tengger", "kind": "desert", "countries": ["CN"], "lat": 38.5, "lon": 104.5,
     "coordinates": "approximate", "source": f"{SEEDS['000']} §8",
     "names": {"en": ["Tengger", "Tengger Desert"], "zh": ["腾格里沙漠", "腾格里"], "ja": ["テンゲル砂漠"]}},
    {"id": "alxa", "kind": "prefecture", "countries": ["CN"], "lat": None, "lon": None,
     "source": f"{SEEDS['000']} §8",
     "names": {"en": ["Alxa", "Alxa League", "Alashan", "Alasha", "Alxa Plateau", "Alashan Plateau"],
               "zh": ["阿拉善", "阿拉善盟"], "ja": ["アラシャン"], "mn": ["Алшаа"], "ru": ["Алашань"]}},
    {"id": "badain_jaran", "kind": "desert", "countries": ["CN"], "lat": 39.8, "lon": 102.4,
     "coordinates": "approximate", "source": WELL_KNOWN,
     "names": {"en": ["Badain Jaran", "Badain Jaran Desert"], "zh": ["巴丹吉林沙漠", "巴丹吉林"],
               "ja": ["バダインジャラン砂漠"], "mn": ["Бадайн Жаран"], "ru": ["Бадын-Джаран"]}},
    {"id": "ulan_buh", "kind": "desert", "countries": ["CN"], "lat": None, "lon": None, "source": WELL_KNOWN,
     "names": {"en": ["Ulan Buh", "Ulan Buh Desert"], "zh": ["乌兰布和沙漠", "乌兰布和"]}},
    {"id": "horqin", "kind": "desert", "countries": ["CN"], "lat": 43.5, "lon": 122.0,
     "coordinates": "approximate", "source": WELL_KNOWN,
     "names": {"en": ["Horqin", "Horqin Sandy Land", "Khorchin", "Keerqin"], "zh": ["科尔沁沙地", "科尔沁"],
               "ja": ["ホルチン砂地", "ホルチン"], "mn": ["Хорчин"], "ru": ["Хорчин"]}},
    {"id": "mu_us", "kind": "desert", "countries": ["CN"], "lat": 38.5, "lon": 109.0,
     "coordinates": "approximate", "source": WELL_KNOWN,
     "names": {"en": ["Mu Us", "Mu Us Desert", "Mu Us Sandy Land", "Maowusu"], "zh": ["毛乌素沙地", "毛乌素沙漠", "毛乌素"],
               "ja": ["毛烏素沙地", "毛烏素"], "ru": ["Му-Ус"]}},
    {"id": "taklamakan", "kind": "desert", "countries": ["CN"], "lat": 39.0, "lon": 83.0,
     "coordinates": "approximate", "source": WELL_KNOWN,
     "names": {"en": ["Taklamakan", "Taklimakan", "Taklamakan Desert", "Taklimakan Desert"],
               "zh": ["塔克拉玛干沙漠", "塔克拉玛干"], "ja": ["タクラマカン砂漠", "タクラマカン"],
               "ko": ["타클라마칸 사막", "타클라마칸"], "ru": ["Такла-Макан", "Таклимакан"]}},
    {"id": "hunshandake", "kind": "desert", "countries": ["CN"], "lat": 42.8, "lon": 115.5,
     "coordinates": "approximate", "source": WELL_KNOWN,
     "names": {"en": ["Hunshandake", "Hunshandake Sandy Land", "Otindag", "Otindag Sandy Land", "Hunshandak"],
               "zh": ["浑善达克沙地", "浑善达克"], "ru": ["Отиндаг"]}},
    {"id": "tottori_dunes", "kind": "desert", "countries": ["JP"], "lat": 35.54, "lon": 134.23,
     "coordinates": "town", "source": WELL_KNOWN,
     "names": {"en": ["Tottori Sand Dunes", "Tottori Dunes"], "zh": ["鸟取沙丘"], "ja": ["鳥取砂丘"],
               "ko": ["돗토리 사구"]}},
    {"id": "loess_plateau", "kind": "plateau", "countries": ["CN"], "lat": 36.5, "lon": 108.0,
     "coordinates": "approximate", "source": WELL_KNOWN,
     "names": {"en": ["Loess Plateau"], "zh": ["黄土高原"], "ja": ["黄土高原"], "ko": ["황토고원", "황토 고원"],
               "ru": ["Лёссовое плато"]}},
    {"id": "mongolian_plateau", "kind": "plateau", "countries": ["MN", "CN"], "lat": None, "lon": None,
     "source": WELL_KNOWN,
     "names": {"en": ["Mongolian Plateau"], "zh": ["蒙古高原"], "ja": ["モンゴル高原"], "ko": ["몽골고원", "몽골 고원"],
               "mn": ["Монголын тэгш өндөрлөг"], "ru": ["Монгольское плато"]}},
    {"id": "tarim_basin", "kind": "basin", "countries": ["CN"], "lat": None, "lon": None, "source": WELL_KNOWN,
     "names": {"en": ["Tarim Basin"], "zh": ["塔里木盆地"], "ja": ["タリム盆地"], "ko": ["타림 분지"],
               "ru": ["Таримская впадина"]}},
    {"id": "junggar_basin", "kind": "basin", "countries": ["CN"], "lat": None, "lon": None, "source": WELL_KNOWN,
     "names": {"en": ["Junggar Basin", "Dzungarian Basin"], "zh": ["准噶尔盆地"], "ja": ["ジュンガル盆地"]}},
    {"id": "altai_mountains", "kind": "mountains", "countries": ["CN", "MN", "RU", "KZ"], "lat": None, "lon": None,
     "source": WELL_KNOWN,
     "names": {"en": ["Altai Mountains", "Altay Mountains", "Altai"], "zh": ["阿尔泰山"], "ja": ["アルタイ山脈"],
               "ko": ["알타이 산맥"], "mn": ["Алтайн нуруу"], "ru": ["Алтайские горы", "Алтай"]}},
    {"id": "chagannor", "kind": "lake", "countries": ["CN"], "lat": None, "lon": None,
     "source": f"{SEEDS['000']} §8",
     "names": {"en": ["Chagannor", "Chagan Nur", "Chagannur"], "zh": ["查干淖尔"]}},
    {"id": "ordos", "kind": "prefecture", "countries": ["CN"], "lat": 39.61, "lon": 109.78, "coordinates": "town",
     "source": WELL_KNOWN,
     "names": {"en": ["Ordos", "Ordos Plateau"], "zh": ["鄂尔多斯"], "ja": ["オルドス"], "ko": ["오르도스"],
               "mn": ["Ордос"], "ru": ["Ордос"]}},
    {"id": "xilingol", "kind": "prefecture", "countries": ["CN"], "lat": None, "lon": None, "source": WELL_KNOWN,
     "names": {"en": ["Xilingol", "Xilingol League", "Xilin Gol"], "zh": ["锡林郭勒"], "mn": ["Шилийн гол"]}},
    {"id": "hulunbuir", "kind": "prefecture", "countries": ["CN"], "lat": None, "lon": None, "source": WELL_KNOWN,
     "names": {"en": ["Hulunbuir", "Hulun Buir"], "zh": ["呼伦贝尔"], "mn": ["Хөлөнбуйр"], "ru": ["Хулун-Буир"]}},
    {"id": "korean_peninsula", "kind": "region", "countries": ["KR", "KP"], "lat": None, "lon": None,
     "source": WELL_KNOWN,
     "names": {"en": ["Korean Peninsula"], "zh": ["朝鲜半岛", "韩半岛"], "ja": ["朝鮮半島"], "ko": ["한반도"],
               "mn": ["Солонгосын хойг"], "ru": ["Корейский полуостров"]}},
    # So that 中国 in 中国地方 (western Honshu) is not read as China.
    {"id": "chugoku_region", "kind": "region", "countries": ["JP"], "lat": None, "lon": None, "source": WELL_KNOWN,
     "names": {"en": ["Chūgoku region"], "ja": ["中国地方"]}},
    {"id": "tumen_river", "kind": "river", "countries": ["CN", "KP", "RU"], "lat": None, "lon": None,
     "source": f"{SEEDS['004']} §4.2",
     "names": {"en": ["Tumen River", "Tuman River", "Duman River"], "zh": ["图们江"], "ja": ["豆満江"],
               "ko": ["두만강"], "ru": ["река Туманная", "Туманган"]}},
    {"id": "yellow_river", "kind": "river", "countries": ["CN"], "lat": None, "lon": None, "source": WELL_KNOWN,
     "names": {"en": ["Yellow River", "Huang He", "Huanghe"], "zh": ["黄河"], "ja": ["黄河"], "ko": ["황허강", "황허"],
               "mn": ["Шар мөрөн"], "ru": ["Хуанхэ"]}},
    {"id": "amur_river", "kind": "river", "countries": ["CN", "RU"], "lat": None, "lon": None, "source": WELL_KNOWN,
     "names": {"en": ["Amur River", "Amur"], "zh": ["阿穆尔河"], "ja": ["アムール川"], "ko": ["아무르강"],
               "mn": ["Амар мөрөн"], "ru": ["Амур"]}},
    {"id": "zamyn_uud", "kind": "town", "countries": ["MN"], "lat": 43.72, "lon": 111.90, "coordinates": "town",
     "source": f"{SEEDS['001']} §3",
     "names": {"en": ["Zamyn-Uud", "Zamiin-Uud", "Zamyn Üüd", "Zamiin Üüd"], "zh": ["扎门乌德"], "ja": ["ザミンウード"],
               "ko": ["자민우드"], "mn": ["Замын-Үүд"], "ru": ["Замын-Ууд"]}},
    {"id": "sainshand", "kind": "town", "countries": ["MN"], "lat": 44.89, "lon": 110.14, "coordinates": "town",
     "source": WELL_KNOWN,
     "names": {"en": ["Sainshand"], "zh": ["赛音山达"], "ja": ["サインシャンド"], "mn": ["Сайншанд"], "ru": ["Сайншанд"]}},
    {"id": "dalanzadgad", "kind": "town", "countries": ["MN"], "lat": 43.57, "lon": 104.43, "coordinates": "town",
     "source": WELL_KNOWN,
     "names": {"en": ["Dalanzadgad"], "zh": ["达兰扎达加德"], "ja": ["ダランザドガド"], "mn": ["Даланзадгад"],
               "ru": ["Даланзадгад"]}},
    {"id": "mandalgovi", "kind": "town", "countries": ["MN"], "lat": 45.76, "lon": 106.27, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Mandalgovi"], "mn": ["Мандалговь"], "ru": ["Мандалговь"]}},
    {"id": "choibalsan", "kind": "town", "countries": ["MN"], "lat": 48.07, "lon": 114.53, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Choibalsan"], "mn": ["Чойбалсан"], "ru": ["Чойбалсан"]}},
    {"id": "darkhan", "kind": "town", "countries": ["MN"], "lat": 49.47, "lon": 105.97, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Darkhan"], "mn": ["Дархан"], "ru": ["Дархан"]}},
    {"id": "erdenet", "kind": "town", "countries": ["MN"], "lat": 49.03, "lon": 104.08, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Erdenet"], "mn": ["Эрдэнэт"], "ru": ["Эрдэнэт"]}},
    {"id": "erenhot", "kind": "town", "countries": ["CN"], "lat": 43.65, "lon": 111.98, "coordinates": "town",
     "source": WELL_KNOWN,
     "names": {"en": ["Erenhot", "Erlian", "Ereen"], "zh": ["二连浩特"], "mn": ["Эрээн"], "ru": ["Эрлянь"]}},
    {"id": "hohhot", "kind": "town", "countries": ["CN"], "lat": 40.84, "lon": 111.75, "coordinates": "town",
     "source": WELL_KNOWN,
     "names": {"en": ["Hohhot", "Huhhot"], "zh": ["呼和浩特"], "ja": ["フフホト"], "ko": ["후허하오터"],
               "mn": ["Хөх хот"], "ru": ["Хух-Хото"]}},
    {"id": "baotou", "kind": "town", "countries": ["CN"], "lat": 40.66, "lon": 109.84, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Baotou"], "zh": ["包头"], "ja": ["包頭"], "ru": ["Баотоу"]}},
    {"id": "xilinhot", "kind": "town", "countries": ["CN"], "lat": 43.93, "lon": 116.07, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Xilinhot"], "zh": ["锡林浩特"], "mn": ["Шилийн хот"], "ru": ["Силинхот"]}},
    {"id": "chifeng", "kind": "town", "countries": ["CN"], "lat": 42.26, "lon": 118.89, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Chifeng"], "zh": ["赤峰"], "mn": ["Улаанхад"], "ru": ["Чифэн"]}},
    {"id": "tongliao", "kind": "town", "countries": ["CN"], "lat": 43.65, "lon": 122.24, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Tongliao"], "zh": ["通辽"]}},
    {"id": "minqin", "kind": "town", "countries": ["CN"], "lat": 38.62, "lon": 103.09, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Minqin"], "zh": ["民勤"]}},
    {"id": "wuwei", "kind": "town", "countries": ["CN"], "lat": 37.93, "lon": 102.64, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Wuwei"], "zh": ["武威"]}},
    {"id": "dunhuang", "kind": "town", "countries": ["CN"], "lat": 40.14, "lon": 94.66, "coordinates": "town",
     "source": WELL_KNOWN,
     "names": {"en": ["Dunhuang"], "zh": ["敦煌"], "ja": ["敦煌"], "ko": ["둔황"], "ru": ["Дуньхуан"]}},
    {"id": "yinchuan", "kind": "town", "countries": ["CN"], "lat": 38.49, "lon": 106.23, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Yinchuan"], "zh": ["银川"], "ru": ["Иньчуань"]}},
    {"id": "lanzhou", "kind": "town", "countries": ["CN"], "lat": 36.06, "lon": 103.83, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Lanzhou"], "zh": ["兰州"], "ru": ["Ланьчжоу"]}},
    {"id": "hunchun", "kind": "town", "countries": ["CN"], "lat": 42.87, "lon": 130.36, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Hunchun"], "zh": ["珲春"], "ru": ["Хуньчунь"]}},
    {"id": "vladivostok", "kind": "town", "countries": ["RU"], "lat": 43.12, "lon": 131.89, "coordinates": "town",
     "source": WELL_KNOWN,
     "names": {"en": ["Vladivostok"], "zh": ["符拉迪沃斯托克", "海参崴"], "ja": ["ウラジオストク"],
               "ko": ["블라디보스토크"], "mn": ["Владивосток"], "ru": ["Владивосток"]}},
    {"id": "khabarovsk", "kind": "town", "countries": ["RU"], "lat": 48.48, "lon": 135.08, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Khabarovsk"], "ja": ["ハバロフスク"], "ru": ["Хабаровск"]}},
    {"id": "ulan_ude", "kind": "town", "countries": ["RU"], "lat": 51.83, "lon": 107.58, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Ulan-Ude", "Ulan Ude"], "mn": ["Улаан-Үд"], "ru": ["Улан-Удэ"]}},
    {"id": "chita", "kind": "town", "countries": ["RU"], "lat": 52.03, "lon": 113.50, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Chita"], "ru": ["Чита"]}},
    {"id": "kyzyl", "kind": "town", "countries": ["RU"], "lat": 51.72, "lon": 94.45, "coordinates": "town",
     "source": WELL_KNOWN, "names": {"en": ["Kyzyl"], "ru": ["Кызыл"]}},
]

# Names that are neither a place nor a country but contain one: matched (so the shorter name inside
# them is not), then dropped. 朝鲜族 and 蒙古族 are peoples (China's Korean and Mongol minorities).
AMBIGUOUS = ["inter-Korean", "two Koreas", "Amur tiger", "Amur tigers", "Amur leopard", "Amur leopards",
             "朝鲜族", "朝鮮族", "蒙古族", "조선족"]

# Adjectives for a country's people or language, which name the country as well as its name does.
# Cyrillic ones ending in "*" are stems (any ending: китайский, китайская, китайских...).
DEMONYMS: dict[str, list[str]] = {
    "CN": ["Chinese", "китайск*"],
    "MN": ["Mongolian", "Mongolians", "монгольск*"],
    "JP": ["Japanese", "японск*"],
    "KR": ["Korean", "Koreans", "South Korean", "South Koreans", "южнокорейск*", "корейск*"],
    "KP": ["North Korean", "North Koreans", "северокорейск*"],
    "RU": ["Russian", "Russians", "российск*", "русск*"],
}

_SUFFIX_EN = re.compile(r"\s+(Sheng|Shi|Zizhiqu|Huizu Zizhiqu|Uygur Zizhiqu|Zhuangzu Zizhiqu|SAR)$")
_SUFFIX_KR = re.compile(r"-(teukbyeolsi|gwangyeoksi|teukbyeoljachido|teukbyeoljachisi|do)$")
_SUFFIX_ZH = re.compile(r"(维吾尔自治区|維吾爾自治區|回族自治区|回族自治區|壮族自治区|壯族自治區|自治区|自治區|"
                        r"特别行政区|特別行政區|省|市|县|縣)$")
_SUFFIX_JA = re.compile(r"(県|府|都)$")


def _catalogue(domain: str, lang: str) -> gettext.NullTranslations:
    try:
        return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[lang])
    except FileNotFoundError:
        return gettext.NullTranslations()


def _translate(cat: gettext.NullTranslations, name: str) -> str | None:
    if not name:
        return None  # gettext("") is the catalogue header
    out = cat.gettext(name)
    return out if out != name else None


def _kind(sub: Any) -> str:
    if sub.type in CITY_TYPES:
        return "town"
    return "aimag" if sub.country_code == "MN" else "province"


def _cjk_forms(name: str, lang: str) -> list[str]:
    short = (_SUFFIX_JA if lang == "ja" else _SUFFIX_ZH).sub("", name)
    if lang == "ja" and short == name:  # pycountry's Japanese prefecture names are the short forms
        full = name + JA_SUFFIX.get(name, "県")
        return [full] if name in CJK_TOO_COMMON or full == name else [name, full]
    forms = [name]
    if short != name and len(short) >= 2 and short not in CJK_TOO_COMMON:
        forms.append(short)
    return forms


def subdivisions() -> list[dict[str, Any]]:
    cats = {lang: _catalogue("iso3166-2", lang) for lang in ("zh_CN", "zh_TW", "ja", "ko", "ru")}
    subs = [s for cc in ("CN", "MN", "JP", "KR", "KP") for s in pycountry.subdivisions.get(country_code=cc)]
    subs += [pycountry.subdivisions.get(code=code) for code in RU_SUBJECTS]
    out = []
    for sub in sorted(subs, key=lambda s: s.code):
        if sub.code in SKIP_SUBDIVISIONS:
            continue
        names: dict[str, list[str]] = {lang: [] for lang in LANGS}
        en = sub.name
        short = _SUFFIX_KR.sub("", _SUFFIX_EN.sub("", en))
        names["en"] = [en, short] if short != en else [en]
        for lang, cat in cats.items():
            local = _translate(cat, sub.name)
            if local:
                key = lang[:2]
                names[key] += _cjk_forms(local, key) if key in ("zh", "ja") else [local]
        lat, lon = CITY_COORDS.get(sub.code, (None, None))
        out.append({"id": sub.code, "kind": _kind(sub), "countries": [sub.country_code], "lat": lat, "lon": lon,
                    "coordinates": "town" if sub.code in CITY_COORDS else None,
                    "source": "ISO 3166-2 (pycountry)", "names": names})
    return out


def countries() -> list[dict[str, Any]]:
    cats = {lang: _catalogue("iso3166-1", lang) for lang in ("zh_CN", "zh_TW", "ja", "ko", "mn", "ru")}
    out = []
    for code in COUNTRIES:
        c = pycountry.countries.get(alpha_2=code)
        names: dict[str, list[str]] = {lang: [] for lang in LANGS}
        iso_names = [c.name, getattr(c, "official_name", ""), getattr(c, "common_name", "")]
        names["en"] = [n for n in iso_names if n]
        for lang, cat in cats.items():
            if lang == "mn" and code in PYCOUNTRY_MN_SKIP:
                continue
            names[lang[:2]] += [t for t in (_translate(cat, n) for n in iso_names) if t]
        for lang in LANGS:
            names[lang].append(Locale.parse(lang).territories[code])
        out.append({"id": code, "kind": "country", "countries": [code], "lat": None, "lon": None,
                    "source": "ISO 3166-1 (pycountry), CLDR territory names (Babel)", "names": names})
    return out


def _clean(names: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for n in names:
        n = re.sub(r"\s*\([^)]*\)$", "", n).strip()
        if n and n not in CJK_TOO_COMMON and n.casefold() not in seen:
            seen[n.casefold()] = n
    return list(seen.values())


def build() -> dict[str, Any]:
    entries = countries() + subdivisions()
    by_id = {e["id"]: e for e in entries}
    for code, extra in VARIANTS.items():
        entry = by_id[code]
        for lang, names in extra.items():
            entry["names"][lang] = (names + entry["names"][lang]) if lang == "en" else entry["names"][lang] + names
    for e in HAND:
        e = dict(e)
        e["names"] = {lang: list(e["names"].get(lang, [])) for lang in LANGS}
        entries.append(e)
    for e in entries:
        drop = DROP.get(e["id"], set())
        e["names"] = {lang: [n for n in _clean(e["names"][lang]) if n not in drop] for lang in LANGS}
        e["name"] = e["names"]["en"][0]
    _drop_collisions(entries)
    places = [{"id": e["id"], "name": e["name"], "kind": e["kind"], "countries": e["countries"],
               "lat": e["lat"], "lon": e["lon"], "coordinates": e.get("coordinates"), "source": e["source"],
               "names": {lang: ns for lang, ns in e["names"].items() if ns}} for e in entries]
    return {"version": 1,
            "sources": {"pycountry": version("pycountry"), "babel": version("babel"),
                        "seeds": "shared/seeds, paragraphs as numbered by store/citations.py"},
            "places": places, "demonyms": DEMONYMS, "ambiguous": AMBIGUOUS}


def _drop_collisions(entries: list[dict[str, Any]]) -> None:
    """A name that two entries share is kept by the first only (countries, then ISO subdivisions,
    then hand-written places), and reported, so a match never has two readings."""
    owner: dict[str, str] = {}
    for e in entries:
        for lang in LANGS:
            kept = []
            for n in e["names"][lang]:
                key = n.casefold()
                if key in owner and owner[key] != e["id"]:
                    print(f"dropped {n!r} from {e['id']}: also {owner[key]}", file=sys.stderr)
                    continue
                owner[key] = e["id"]
                kept.append(n)
            e["names"][lang] = kept


def main() -> None:
    data = build()
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":"), indent=None) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(data['places'])} places)")


if __name__ == "__main__":
    main()
