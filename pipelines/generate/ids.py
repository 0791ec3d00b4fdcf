"""GB 11643 ID numbers and plausible Chinese names for sample data."""
from __future__ import annotations

import random
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞宇浩然梓涵欣怡子轩一诺雨萱思远博文佳琪晨阳嘉俊雅婷志豪婉清乐瑶天佑锦程书瑶梦琪振东晓东丽华建国海燕国庆")
# simplified → traditional for the characters above that have a traditional form (for hard cases)
TRADITIONAL = str.maketrans({"张": "張", "刘": "劉", "陈": "陳", "杨": "楊", "黄": "黃", "赵": "趙", "吴": "吳",
                             "孙": "孫", "马": "馬", "郭": "郭", "罗": "羅", "郑": "鄭", "梁": "梁", "谢": "謝",
                             "许": "許", "韩": "韓", "冯": "馮", "邓": "鄧", "伟": "偉", "丽": "麗", "军": "軍",
                             "艳": "豔", "杰": "傑", "涛": "濤", "华": "華", "兰": "蘭", "红": "紅", "鹏": "鵬",
                             "飞": "飛", "浩": "浩", "涵": "涵", "诺": "諾", "轩": "軒", "远": "遠", "阳": "陽",
                             "俊": "俊", "婷": "婷", "乐": "樂", "锦": "錦", "书": "書", "梦": "夢", "东": "東",
                             "晓": "曉", "国": "國", "庆": "慶", "燕": "燕", "敏": "敏", "静": "靜"})


def check_char(first17: str) -> str:
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def make_id(region: str, birth: date, seq: int, male: bool) -> str:
    """18-character ID: region, birth date, 3-digit sequence whose last digit is odd for 男, check character."""
    seq = (seq % 500) * 2 + (1 if male else 0)  # 000–999
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


def mistype(idn: str) -> str:
    """The same ID with its check character wrong (a typical typo)."""
    good = idn[17]
    return idn[:17] + next(c for c in "0123456789X" if c != good and c != check_char(idn[:17]))


def make_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def traditional(name: str) -> str:
    return name.translate(TRADITIONAL)


def fullwidth(text: str) -> str:
    return text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
