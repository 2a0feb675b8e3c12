"""Who lives in the demo bank: customer profiles, other banks' account holders, merchants, bills.

Fictional people; ID numbers are built from a real-looking region code, the birth date and a
sequence number, and get their GB 11643 check character computed (see :mod:`.seed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["BILLERS", "CUSTOMERS", "EXTERNAL_HOLDERS", "MERCHANTS", "Profile"]


@dataclass(frozen=True)
class Profile:
    name: str
    region: str  # six-digit region code; foreign permanent residents: "9" + province + nationality
    birth: date
    male: bool
    language: str  # "zh" or "en"
    income_yuan: int  # monthly salary or pension
    employer: str  # who pays the salary ("" for pensioners: the pension comes from social security)
    accounts: int = 1  # a second account is a savings account without a card
    state: str = "active"  # active | temporarily_lost | lost | frozen | pin_tries
    short_card: bool = False  # 16-digit card number instead of 19

    @property
    def email_local(self) -> str:
        return self.name.lower().replace(" ", ".") if self.name.isascii() else ""


CUSTOMERS: tuple[Profile, ...] = (
    Profile("张伟", "110101", date(1985, 4, 12), True, "zh", 18_000, "北京星辰科技有限公司", accounts=2),
    Profile("李娜", "110105", date(1990, 3, 7), False, "zh", 12_500, "北京华源贸易有限公司"),
    Profile("王秀英", "310104", date(1950, 6, 15), False, "zh", 4_200, ""),
    Profile("刘洋", "440305", date(1992, 11, 23), True, "zh", 21_000, "深圳南山软件有限公司", accounts=2),
    Profile("陈静", "330106", date(1988, 2, 14), False, "zh", 15_800, "杭州西湖电子商务有限公司"),
    Profile(
        "杨帆",
        "510104",
        date(1995, 8, 30),
        True,
        "zh",
        9_800,
        "成都锦江餐饮管理有限公司",
        state="temporarily_lost",
    ),
    Profile("赵敏", "320102", date(1983, 9, 9), False, "zh", 16_500, "南京玄武医院", accounts=2),
    Profile("黄磊", "420102", date(1979, 12, 1), True, "zh", 23_000, "武汉长江建设集团", state="frozen"),
    Profile(
        "周杰", "350203", date(1987, 1, 18), True, "zh", 13_200, "厦门鹭岛物流有限公司", state="pin_tries"
    ),
    Profile(
        "吴婷", "370202", date(1993, 5, 21), False, "zh", 11_000, "青岛海风文化传媒有限公司", short_card=True
    ),
    Profile("徐建国", "210102", date(1956, 10, 1), True, "zh", 5_600, ""),
    Profile("孙丽", "120101", date(1991, 7, 7), False, "zh", 10_500, "天津滨海机械有限公司"),
    Profile("马超", "610113", date(1984, 3, 3), True, "zh", 19_500, "西安古城旅游集团"),
    Profile("朱玉兰", "110108", date(1945, 2, 20), False, "zh", 3_900, ""),
    Profile("胡斌", "500103", date(1976, 6, 6), True, "zh", 17_000, "重庆山城汽车配件有限公司", state="lost"),
    Profile(
        "郭晓燕",
        "430102",
        date(1998, 12, 12),
        False,
        "zh",
        8_600,
        "长沙湘江教育咨询有限公司",
        short_card=True,
    ),
    Profile("林志强", "350102", date(1969, 4, 4), True, "zh", 26_000, "福州闽江船舶有限公司", accounts=2),
    Profile("何欣", "440106", date(2000, 1, 25), False, "zh", 7_800, "广州天河广告有限公司"),
    Profile("高明", "230102", date(1981, 10, 10), True, "zh", 14_000, "哈尔滨冰城食品有限公司"),
    Profile("欧阳娜娜", "530102", date(1997, 6, 24), False, "zh", 12_000, "昆明春城花卉有限公司"),
    Profile(
        "John Smith", "931826", date(1982, 5, 5), True, "en", 32_000, "Shanghai Lighthouse Consulting Co."
    ),
    Profile("Margaret Thompson", "911826", date(1952, 3, 12), False, "en", 6_800, ""),
    Profile("Anna Schmidt", "944276", date(1990, 9, 19), False, "en", 24_000, "Guangzhou Rhein Trading Co."),
)

# Accounts at other banks, with their holders (payees, landlords). (bank, BIN, holder)
EXTERNAL_HOLDERS: tuple[tuple[str, str, str], ...] = (
    ("中国工商银行", "622202", "陈晓明"),
    ("中国工商银行", "622202", "王建军"),
    ("中国建设银行", "621700", "李桂芳"),
    ("中国建设银行", "621700", "周海涛"),
    ("招商银行", "622588", "张丽华"),
    ("招商银行", "622588", "Peter Brown"),
    ("中国银行", "621661", "刘美玲"),
    ("中国农业银行", "622848", "赵大勇"),
)

MERCHANTS: tuple[tuple[str, int, int], ...] = (
    # (name, smallest and largest amount in yuan)
    ("盒马鲜生 Freshippo", 30, 450),
    ("永辉超市 Yonghui Supermarket", 20, 380),
    ("京东商城 JD.com", 40, 1_600),
    ("美团外卖 Meituan", 18, 95),
    ("滴滴出行 DiDi", 12, 120),
    ("星巴克 Starbucks", 28, 90),
    ("中石化加油站 Sinopec", 150, 420),
    ("海底捞 Haidilao", 180, 650),
    ("屈臣氏 Watsons", 35, 260),
    ("大药房 Pharmacy", 25, 300),
)

BILLERS: tuple[tuple[str, int, int], ...] = (
    # (description, smallest and largest monthly amount in yuan)
    ("电费 Electricity bill 国家电网", 60, 420),
    ("水费 Water bill 自来水公司", 20, 95),
    ("燃气费 Gas bill 燃气公司", 30, 260),
    ("话费 Mobile top-up 中国移动", 50, 200),
)
