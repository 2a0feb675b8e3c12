"""Figures an answer quotes, read from where the kiosk's behaviour is configured.

An answer never states a limit, a number of days or an amount itself: it writes a placeholder
(``{policy.daily_transfer_limit}``) and ``figures.yaml`` says where that figure lives: a rule
parameter of the compliance policy pack, a kiosk dialog setting, or (for figures fixed by law
and held in no other file) a regulation cited in ``figures.yaml`` itself. Change the policy and
the answer changes with it; the two cannot disagree.

Usage::

    figures = resolve_figures(doc, path, pack, dialog_values, dialog_path, problems)
    figures["daily_transfer_limit"].render("zh")   # '5万元'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from vtm.compliance.pack import PolicyPack
from vtm.knowledge.errors import ContentProblem
from vtm.knowledge.models import DialogFigure, FigureFormat, FiguresFile, PolicyFigure, RegulationFigure
from vtm.nlu.types import Lang

__all__ = ["Figure", "render_money", "resolve_figures"]

_TEN_THOUSAND = 10_000


@dataclass(frozen=True, slots=True)
class Figure:
    """A resolved figure: its value, how it reads, and where it came from (for reviewers)."""

    name: str
    value: Decimal | bool
    format: FigureFormat
    origin: str

    def render(self, lang: Lang) -> str:
        if isinstance(self.value, bool):
            raise ValueError(f"figure {self.name!r} is a flag; flags select entries, they are not quoted")
        if self.format is FigureFormat.MONEY:
            return render_money(self.value, lang)
        if self.format is FigureFormat.MINUTES:
            return str(int(self.value) // 60)
        return str(int(self.value))


def render_money(amount: Decimal, lang: Lang) -> str:
    """RMB as a customer hears it: ``5万元`` / ``12500元`` in Mandarin, ``RMB 50,000`` in English."""
    whole = amount == amount.to_integral_value()
    if lang == "zh":
        if whole and int(amount) % _TEN_THOUSAND == 0 and amount >= _TEN_THOUSAND:
            return f"{int(amount) // _TEN_THOUSAND}万元"
        return f"{int(amount)}元" if whole else f"{amount:.2f}元"
    return f"RMB {int(amount):,}" if whole else f"RMB {amount:,.2f}"


def _typed(raw: object, fmt: FigureFormat) -> Decimal | bool | str:
    """The value in the figure's type, or a message saying why it cannot be."""
    if fmt is FigureFormat.FLAG:
        return raw if isinstance(raw, bool) else f"expected true or false, found {raw!r}"
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        return f"expected a number, found {raw!r}"
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        return f"expected a number, found {raw!r}"
    if fmt is FigureFormat.NUMBER and value != value.to_integral_value():
        return f"expected a whole number, found {raw!r}"
    if fmt is FigureFormat.MINUTES and value % 60 != 0:
        return f"expected whole minutes in seconds (a multiple of 60), found {raw!r}"
    return value


def _from_policy(spec: PolicyFigure, pack: PolicyPack) -> tuple[object, str] | str:
    rule = next((r for r in pack.document.rules if r.id == spec.rule), None)
    if rule is None:
        return f"no rule {spec.rule!r} in {pack.path.name}"
    if not rule.enabled:
        return f"rule {spec.rule!r} is disabled, so the kiosk does not apply this figure; remove the answers quoting it"
    node: object = rule.params
    for part in spec.param.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return f"rule {spec.rule!r} has no parameter {spec.param!r}"
        node = node[part]
    return node, f"{pack.path.name} rules[{spec.rule}].params.{spec.param}"


def resolve_figures(
    doc: FiguresFile,
    file: Path,
    pack: PolicyPack,
    dialog_values: Mapping[str, object],
    dialog_file: Path,
    problems: list[ContentProblem],
) -> dict[str, Figure]:
    """Resolve every figure of ``doc``; append a problem naming ``file`` for each that cannot be."""
    figures: dict[str, Figure] = {}
    for name, spec in doc.figures.items():
        where = f"figures.{name}"
        found: tuple[object, str] | str
        if isinstance(spec, PolicyFigure):
            found = _from_policy(spec, pack)
        elif isinstance(spec, DialogFigure):
            found = (
                (dialog_values[spec.key], f"{dialog_file.name} {spec.key}")
                if spec.key in dialog_values
                else f"{dialog_file} has no setting {spec.key!r}"
            )
        else:
            assert isinstance(spec, RegulationFigure)
            found = (spec.value, f"{spec.citation} (grade {spec.grade.value})")
        if isinstance(found, str):
            problems.append(ContentProblem(str(file), where, found))
            continue
        value = _typed(found[0], spec.format)
        if isinstance(value, str):
            problems.append(ContentProblem(str(file), where, f"{found[1]}: {value}"))
            continue
        figures[name] = Figure(name, value, spec.format, found[1])
    return figures
