"""Names of the sandbox bank and of the other banks its customers send money to.

A spoken or typed bank name ("工商银行", "ICBC", "Bank of China") resolves to one canonical
Chinese name, which is what the ledger stores and :class:`~vtm.banking.models.PayeeCheck` returns.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = ["BANKS", "SANDBOX_BANK", "BankInfo", "resolve_bank"]


@dataclass(frozen=True)
class BankInfo:
    code: str
    name_zh: str
    name_en: str
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return (self.code, self.name_zh, self.name_en, *self.aliases)


SANDBOX_BANK = BankInfo("VTMB", "示例银行", "VTM Sandbox Bank", ("示例", "VTM Bank", "本行", "sandbox"))

BANKS: tuple[BankInfo, ...] = (
    SANDBOX_BANK,
    BankInfo("ICBC", "中国工商银行", "Industrial and Commercial Bank of China", ("工商银行", "工行")),
    BankInfo("CCB", "中国建设银行", "China Construction Bank", ("建设银行", "建行")),
    BankInfo("CMB", "招商银行", "China Merchants Bank", ("招行",)),
    BankInfo("BOC", "中国银行", "Bank of China", ("中行",)),
    BankInfo("ABC", "中国农业银行", "Agricultural Bank of China", ("农业银行", "农行")),
)


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


_BY_NAME = {_norm(name): bank for bank in BANKS for name in bank.names()}


def resolve_bank(name: str | None) -> BankInfo | None:
    """The bank a name refers to; None (no name) means the sandbox bank itself, unknown -> None."""
    if name is None or not name.strip():
        return SANDBOX_BANK
    return _BY_NAME.get(_norm(name))
