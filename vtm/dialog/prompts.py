"""The kiosk's words: prompt catalogues per language, loaded from content and rendered.

``dialogs/prompts/<lang>.yaml`` holds the dialog's prompts; the compliance pack contributes the
texts of its warnings and disclosures (``compliance/prompts.yaml``). Both are validated at load:
the two languages must have the same keys, and a placeholder missing at render time is an
error, never a half-filled sentence spoken to a customer.

Usage::

    prompts = PromptCatalog.load(content_root)
    prompts.render("transfer.ask_amount", "zh")
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from vtm.common import yamlio

__all__ = ["Lang", "PromptCatalog", "PromptError"]

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


class PromptError(Exception):
    """A prompt file is invalid, a key is unknown, or a placeholder was not supplied."""


class _PromptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompts: dict[str, str]
    elderly: dict[str, str] = {}


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


class PromptCatalog:
    """All prompt texts by language, with elderly-mode variants."""

    def __init__(self, texts: dict[Lang, dict[str, str]], elderly: dict[Lang, dict[str, str]]) -> None:
        self._texts = texts
        self._elderly = elderly

    @classmethod
    def load(cls, content_root: Path) -> PromptCatalog:
        texts: dict[Lang, dict[str, str]] = {}
        elderly: dict[Lang, dict[str, str]] = {}
        for lang in LANGS:
            path = content_root / "dialogs" / "prompts" / f"{lang}.yaml"
            try:
                parsed = _PromptFile.model_validate(yamlio.safe_load(path.read_text(encoding="utf-8")))
            except (OSError, yaml.YAMLError) as exc:
                raise PromptError(f"{path}: cannot read prompts: {exc}") from exc
            except ValidationError as exc:
                raise PromptError(f"{path}: {exc}") from exc
            texts[lang], elderly[lang] = dict(parsed.prompts), dict(parsed.elderly)
        compliance = content_root / "compliance" / "prompts.yaml"
        if compliance.is_file():
            for key, by_lang in _compliance_prompts(compliance).items():
                for lang in LANGS:
                    texts[lang][key] = by_lang[lang]
        catalog = cls(texts, elderly)
        catalog._check_parity()
        return catalog

    def _check_parity(self) -> None:
        zh, en = set(self._texts["zh"]), set(self._texts["en"])
        if zh != en:
            raise PromptError(f"zh and en prompts differ: only zh {sorted(zh - en)}, only en {sorted(en - zh)}")
        for lang in LANGS:
            unknown = set(self._elderly[lang]) - set(self._texts[lang])
            if unknown:
                raise PromptError(f"{lang}: elderly variants for unknown keys {sorted(unknown)}")
            for key, text in self._elderly[lang].items():
                if _placeholders(text) - _placeholders(self._texts[lang][key]):
                    raise PromptError(f"{lang}: elderly '{key}' uses placeholders the normal text does not")

    def has(self, key: str) -> bool:
        return key in self._texts["zh"]

    def keys(self) -> set[str]:
        return set(self._texts["zh"])

    def template(self, key: str, lang: Lang, elderly: bool = False) -> str:
        if elderly and key in self._elderly[lang]:
            return self._elderly[lang][key]
        try:
            return self._texts[lang][key]
        except KeyError as exc:
            raise PromptError(f"unknown prompt key '{key}'") from exc

    def render(self, key: str, lang: Lang, elderly: bool = False, values: Mapping[str, object] | None = None) -> str:
        template = self.template(key, lang, elderly)
        values = values or {}
        missing = _placeholders(template) - set(values)
        if missing:
            raise PromptError(f"prompt '{key}' ({lang}) needs {sorted(missing)}")
        return template.format_map(dict(values)).strip()


def _compliance_prompts(path: Path) -> dict[str, dict[Lang, str]]:
    """Read the compliance pack's customer texts: ``{key: {zh-CN: ..., en: ...}}`` (optionally under ``prompts:``)."""
    raw = yamlio.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(raw, dict) and "prompts" in raw:
        raw = raw["prompts"]
    if not isinstance(raw, dict):
        raise PromptError(f"{path}: expected a mapping of prompt keys")
    result: dict[str, dict[Lang, str]] = {}
    for key, by_lang in raw.items():
        texts = {lang: by_lang.get(lang, by_lang.get("zh-CN")) if lang == "zh" else by_lang.get(lang)
                 for lang in LANGS} if isinstance(by_lang, dict) else {}
        if not all(isinstance(texts.get(lang), str) for lang in LANGS):
            raise PromptError(f"{path}: {key}: needs a zh-CN (or zh) and an en text")
        result[str(key)] = {lang: str(texts[lang]) for lang in LANGS}
    return result
