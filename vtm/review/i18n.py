"""UI text of the review app in zh-CN and en, from ``vtm/review/locales/<lang>.yaml``.

Both files must define the same keys; :func:`load_catalog` checks that and names the file and
key that is missing, so a half-translated UI fails at start-up rather than in front of staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from vtm.common import yamlio

__all__ = ["LANGS", "Catalog", "CatalogError", "load_catalog"]

LANGS: Final = ("zh", "en")
_LOCALES: Final = Path(__file__).parent / "locales"


class CatalogError(Exception):
    """A locale file is missing, malformed, or lacks a key the other language has."""


@dataclass(frozen=True)
class Catalog:
    texts: dict[str, dict[str, str]]

    def text(self, lang: str, key: str) -> str:
        table = self.texts.get(lang) or self.texts["zh"]
        return table.get(key, key)


def load_catalog(folder: Path = _LOCALES) -> Catalog:
    texts: dict[str, dict[str, str]] = {}
    for lang in LANGS:
        path = folder / f"{lang}.yaml"
        try:
            raw = yamlio.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise CatalogError(f"{path}: {exc}") from exc
        if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
            raise CatalogError(f"{path}: expected a mapping of key: text")
        texts[lang] = raw
    keys = {lang: set(table) for lang, table in texts.items()}
    for lang in LANGS:
        for other in LANGS:
            missing = sorted(keys[other] - keys[lang])
            if missing:
                raise CatalogError(f"{folder / (lang + '.yaml')}: missing keys {missing} (present in {other}.yaml)")
    return Catalog(texts)
