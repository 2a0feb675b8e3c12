"""The kiosk screen's own words in zh-CN and en, from ``vtm/kiosk/server/locales/<lang>.yaml``.

What the kiosk *says* comes from the dialog's prompt catalogue (``dialogs/prompts``); this file
holds only the screen's chrome (button labels, headings, the idle invitation) and the touch
alternatives: each choice has a label and the utterance it sends, which the dialog's NLU reads
like speech (a test checks that every one is understood as meant). Both languages must define
the same keys and the same choices; :func:`load_screen_locale` names the file and what is
missing, so a half-translated screen fails at start-up, not in front of a customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from vtm.common import yamlio
from vtm.common.validation import problems
from vtm.kiosk.server.protocol import Choice, Lang

__all__ = ["LOCALES_DIR", "ScreenLocale", "ScreenLocaleError", "load_screen_locale"]

LOCALES_DIR: Final = Path(__file__).parent / "locales"
_LANGS: Final[tuple[Lang, ...]] = ("zh", "en")


class ScreenLocaleError(Exception):
    """A screen locale file is missing, malformed, or differs from the other language."""


class _ChoiceText(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: str
    say: str


class _LocaleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ui: dict[str, str]
    # topic -> value -> label and utterance; the order in the file is the order on screen.
    choices: dict[str, dict[str, _ChoiceText]]
    # Utterances for the screen's own buttons (switch language, call a person), read by the NLU.


@dataclass(frozen=True)
class ScreenLocale:
    """Validated screen texts for both languages."""

    files: dict[Lang, _LocaleFile]

    def ui(self, lang: Lang) -> dict[str, str]:
        return dict(self.files[lang].ui)

    def text(self, lang: Lang, key: str) -> str:
        return self.files[lang].ui[key]

    def choices(self, lang: Lang, topic: str, only: tuple[str, ...] | None = None) -> tuple[Choice, ...]:
        """The options of ``topic`` in file order (``only``: just these values)."""
        table = self.files[lang].choices.get(topic, {})
        return tuple(Choice(value=value, label=text.label, say=text.say) for value, text in table.items()
                     if only is None or value in only)


def _read(path: Path) -> _LocaleFile:
    try:
        return _LocaleFile.model_validate(yamlio.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ScreenLocaleError(f"{path}: cannot read: {exc}") from exc
    except ValidationError as exc:
        raise ScreenLocaleError(f"{path}: " + "; ".join(problems(exc))) from exc


def load_screen_locale(folder: Path = LOCALES_DIR) -> ScreenLocale:
    files = {lang: _read(folder / f"{lang}.yaml") for lang in _LANGS}
    zh, en = files["zh"], files["en"]
    for part in ("ui",):
        a, b = set(getattr(zh, part)), set(getattr(en, part))
        if a != b:
            raise ScreenLocaleError(f"{folder}: {part} keys differ: only zh {sorted(a - b)}, only en {sorted(b - a)}")
    shape = {topic: list(values) for topic, values in zh.choices.items()}
    if shape != {topic: list(values) for topic, values in en.choices.items()}:
        raise ScreenLocaleError(f"{folder}: zh.yaml and en.yaml must list the same choices in the same order")
    return ScreenLocale(files)
