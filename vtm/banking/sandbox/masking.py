"""Masking of names and numbers where the sandbox bank itself prints them (statements, payee checks).

The engine has its own masking where text leaves it; these rules follow the same conventions:
张三 -> 张*, Margaret Thompson -> M*** T***, 6222021234567890128 -> 6222 **** **** 0128.
"""

from __future__ import annotations

__all__ = ["mask_account", "mask_counterparty", "mask_name"]


def mask_name(name: str) -> str:
    """Keep the first character (Chinese) or each word's initial (Latin script)."""
    name = name.strip()
    if not name:
        return ""
    words = name.split()
    if len(words) > 1 or name.isascii():
        return " ".join(word[0] + "***" for word in words)
    return name[0] + "*" * (len(name) - 1)


def mask_account(number: str) -> str:
    """First four and last four digits, grouped as read back; short numbers keep the last four."""
    if len(number) < 12:
        return "****" + number[-4:]
    return f"{number[:4]} **** **** {number[-4:]}"


def mask_counterparty(text: str | None) -> str:
    """Mask the name and the account number in a counterparty such as "李四 6222021234567890128"."""
    if not text:
        return ""
    words = text.split()
    numbers = [w for w in words if len(w) >= 8 and any(c.isdigit() for c in w)]
    names = [w for w in words if w not in numbers]
    parts = [mask_name(" ".join(names))] if names else []
    return " ".join(parts + [mask_account(n) for n in numbers])
