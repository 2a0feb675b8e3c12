"""The named checks. Code says *how* to judge; the pack says *where*, with *which figures* and *what verdict*.

Each check is a pure function ``(context, params, resources) -> Finding | None``: ``None`` means the
rule does not fire. Its parameters are a pydantic model, so the pack loader validates a rule's
``params`` against the check it names and reports errors as ``rules[3].params.max_amount``.

To add a check: write a params model and a function, decorate it with ``@check("name", Params)``,
and document it in ``docs/compliance.md``.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vtm.banking.models import Arrival, CardStatus, LossKind, Money
from vtm.banking.pin_rules import PinWeakness
from vtm.compliance.context import AuthFactor, Consent, GateContext
from vtm.compliance.errors import EmbedderRequired
from vtm.compliance.matching import PhraseMatcher, WatchIndex
from vtm.compliance.semantic import SemanticIndex, SemanticMatch

__all__ = ["CHECKS", "CheckSpec", "Finding", "PackResources", "effective_factors"]


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule fired; ``details`` say what the check saw, ``step_up`` what would satisfy it."""

    details: dict[str, Any] = field(default_factory=dict)
    step_up: tuple[tuple[AuthFactor, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class PackResources:
    """Shared, precomputed data the checks read: the watch-list index, the cue-phrase matchers and,
    once a gate is given a text embedder, the embedded fraud exemplars."""

    watchlist: WatchIndex
    phrases: dict[str, PhraseMatcher]
    semantic: SemanticIndex | None = None


CheckFn = Callable[[GateContext, Any, PackResources], Finding | None]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    name: str
    params_model: type[BaseModel]
    fn: CheckFn
    summary: str
    acknowledgeable: bool = True
    """A ``warn`` from this check is lifted once its prompt was acknowledged in the session."""
    needs_embedder: bool = False
    """The check reads :attr:`PackResources.semantic`: a gate refuses to start without an embedder."""
    asks: str | None = None
    """A question check (effect ``ask``): the :class:`Slots` field the customer's answer fills."""


CHECKS: dict[str, CheckSpec] = {}


def check(
    name: str, params_model: type[BaseModel], *, acknowledgeable: bool = True, needs_embedder: bool = False,
    asks: str | None = None,
) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        summary = (fn.__doc__ or "").strip().splitlines()[0]
        CHECKS[name] = CheckSpec(name, params_model, fn, summary, acknowledgeable, needs_embedder, asks)
        return fn

    return register


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def effective_factors(ctx: GateContext) -> frozenset[AuthFactor]:
    """Verified factors; a face match counts only with the separate face consent (PIPL Art. 29)."""
    factors = ctx.identity.factors
    if AuthFactor.FACE in factors and Consent.FACE not in ctx.session.consents:
        return factors - {AuthFactor.FACE}
    return factors


def _amount(ctx: GateContext) -> Decimal:
    return ctx.slots.amount if ctx.slots.amount is not None else Decimal("0")


# Authentication ------------------------------------------------------------------------------
class AuthLevelParams(_Params):
    any_of: list[list[AuthFactor]] = Field(min_length=1, description="Acceptable factor sets; one suffices")
    min_amount: Money | None = Field(default=None, description="Apply only from this amount up")
    loss_kinds: list[LossKind | None] | None = Field(
        default=None, description="Apply only to these loss kinds (null in the list: kind not chosen yet)"
    )

    @model_validator(mode="after")
    def _face_never_the_only_way(self) -> AuthLevelParams:
        if any(not option for option in self.any_of):
            raise ValueError("an empty factor set would allow anyone; list at least one factor")
        if all(AuthFactor.FACE in option for option in self.any_of):
            raise ValueError("face must not be the only option: add a factor set without 'face'")
        return self


@check("auth_level", AuthLevelParams)
def auth_level(ctx: GateContext, p: AuthLevelParams, _: PackResources) -> Finding | None:
    """The factors verified so far satisfy at least one acceptable set; otherwise step up."""
    if p.min_amount is not None and _amount(ctx) < p.min_amount:
        return None
    if p.loss_kinds is not None and ctx.slots.loss_kind not in p.loss_kinds:
        return None
    have = effective_factors(ctx)
    options = [frozenset(o) for o in p.any_of]
    if any(option <= have for option in options):
        return None
    missing = sorted(
        {tuple(sorted(o - have)) for o in options}, key=lambda m: (AuthFactor.FACE in m, len(m), m)
    )
    return Finding({"have": sorted(have)}, step_up=tuple(missing))


class ConsentParams(_Params):
    consent: Consent = Consent.FACE


@check("biometric_consent", ConsentParams)
def biometric_consent(ctx: GateContext, p: ConsentParams, _: PackResources) -> Finding | None:
    """A face check is requested or used without the separate face consent."""
    face = AuthFactor.FACE in ctx.identity.factors or ctx.slots.requested_factor is AuthFactor.FACE
    if face and p.consent not in ctx.session.consents:
        return Finding({"alternative": [AuthFactor.ID_CARD, AuthFactor.PIN]})
    return None


class PinLockoutParams(_Params):
    max_failed_attempts: int = Field(default=3, ge=1, le=10)


@check("pin_lockout", PinLockoutParams)
def pin_lockout(ctx: GateContext, p: PinLockoutParams, _: PackResources) -> Finding | None:
    """The PIN is locked, or the failed attempts reached the limit."""
    if ctx.core.pin_locked or ctx.core.failed_pin_attempts >= p.max_failed_attempts:
        return Finding({"failed_attempts": ctx.core.failed_pin_attempts})
    return None


# PIN change ----------------------------------------------------------------------------------
class PinStrengthParams(_Params):
    weaknesses: list[PinWeakness] = Field(
        min_length=1, description="Weaknesses of a new PIN (vtm.banking.pin_rules) that make the rule fire"
    )


@check("pin_strength", PinStrengthParams)
def pin_strength(ctx: GateContext, p: PinStrengthParams, _: PackResources) -> Finding | None:
    """The new PIN has one of the listed weaknesses (the gate sees their names, never the PIN)."""
    found = (ctx.slots.new_pin_weakness or frozenset()) & set(p.weaknesses)
    return Finding({"weaknesses": sorted(found)}) if found else None


class NoParams(_Params):
    """A check without figures (``params: {}``)."""


@check("pin_reentry", NoParams)
def pin_reentry(ctx: GateContext, _p: NoParams, _: PackResources) -> Finding | None:
    """The second entry of the new PIN differs from the first."""
    return Finding() if ctx.slots.new_pin_matches is False else None


# Session -------------------------------------------------------------------------------------
class SecondsParams(_Params):
    max_seconds: int = Field(gt=0, le=24 * 3600)


@check("session_duration", SecondsParams)
def session_duration(ctx: GateContext, p: SecondsParams, _: PackResources) -> Finding | None:
    """The session has lasted longer than allowed."""
    elapsed = (ctx.session.now - ctx.session.started_at).total_seconds()
    return Finding({"elapsed_s": int(elapsed)}) if elapsed > p.max_seconds else None


@check("session_idle", SecondsParams)
def session_idle(ctx: GateContext, p: SecondsParams, _: PackResources) -> Finding | None:
    """The customer has been idle longer than allowed."""
    idle = (ctx.session.now - ctx.session.last_activity_at).total_seconds()
    return Finding({"idle_s": int(idle)}) if idle > p.max_seconds else None


# Card and account ----------------------------------------------------------------------------
class CardStatusParams(_Params):
    blocked: list[CardStatus] = Field(min_length=1)
    unknown_blocks: bool = Field(default=False, description="Fire when the core did not report a status")


@check("card_status", CardStatusParams)
def card_status(ctx: GateContext, p: CardStatusParams, _: PackResources) -> Finding | None:
    """The card's status (as the core reports it) is one of the blocked statuses."""
    status = ctx.core.card_status
    if (status is None and p.unknown_blocks) or (status is not None and status in p.blocked):
        return Finding({"card_status": status})
    return None


# Transfers -----------------------------------------------------------------------------------
class MaxAmountParams(_Params):
    max_amount: Money = Field(gt=0)


@check("transfer_amount_max", MaxAmountParams)
def transfer_amount_max(ctx: GateContext, p: MaxAmountParams, _: PackResources) -> Finding | None:
    """A single transfer is above the per-transfer limit."""
    return Finding({"amount": _amount(ctx), "limit": p.max_amount}) if _amount(ctx) > p.max_amount else None


class DailyLimitParams(_Params):
    max_daily: Money = Field(gt=0)


@check("transfer_daily_limit", DailyLimitParams)
def transfer_daily_limit(ctx: GateContext, p: DailyLimitParams, _: PackResources) -> Finding | None:
    """Today's transfers in this channel (core daily usage) plus this one exceed the daily limit."""
    total = ctx.core.daily_transferred + _amount(ctx)
    return Finding({"day_total": total, "limit": p.max_daily}) if total > p.max_daily else None


class RealtimeParams(_Params):
    allow_realtime: bool = Field(description="Policy offers real-time arrival for transfers to others")


@check("realtime_arrival", RealtimeParams)
def realtime_arrival(ctx: GateContext, p: RealtimeParams, _: PackResources) -> Finding | None:
    """Real-time arrival to another person is chosen where not allowed, or before the payee was confirmed."""
    s = ctx.slots
    if s.arrival is not Arrival.REALTIME or s.payee_own_same_bank:
        return None
    if not p.allow_realtime:
        return Finding({"why": "realtime_not_offered"})
    if (
        s.payee_confirmed_at is None
        or s.arrival_chosen_at is None
        or s.arrival_chosen_at < s.payee_confirmed_at
    ):
        return Finding({"why": "chosen_before_payee_confirmed"})
    return None


class DisclosureParams(_Params):
    keys: list[str] = Field(min_length=1, description="Prompt keys that must have been heard in full")
    before_confirmation: bool = Field(default=False, description="Heard before the confirmation was given")
    only_to_others: bool = Field(default=True, description="Skip for the customer's own same-bank account")


@check("disclosure_heard", DisclosureParams, acknowledgeable=False)  # judged by *when* it was heard
def disclosure_heard(ctx: GateContext, p: DisclosureParams, _: PackResources) -> Finding | None:
    """A mandatory disclosure has not been heard (or not before the confirmation it conditions)."""
    if p.only_to_others and ctx.slots.payee_own_same_bank:
        return None
    heard = ctx.session.heard
    confirmed = ctx.slots.confirmed_at
    missing = [
        k
        for k in p.keys
        if k not in heard or (p.before_confirmation and (confirmed is None or heard[k] > confirmed))
    ]
    return Finding({"missing": missing}) if missing else None


class ReportParams(_Params):
    threshold: Money = Field(gt=0, description="Per-day total from which a report is due")


@check("large_value_report", ReportParams)
def large_value_report(ctx: GateContext, p: ReportParams, _: PackResources) -> Finding | None:
    """Today's transfers plus this one reach the large-value reporting threshold."""
    total = ctx.core.daily_transferred + _amount(ctx)
    return Finding({"day_total": total, "threshold": p.threshold}) if total >= p.threshold else None


class StructuringParams(_Params):
    thresholds: list[Money] = Field(min_length=1)
    band_ratio: Decimal = Field(
        gt=0, lt=1, description="'Just under' = within this fraction below a threshold"
    )
    min_count: int = Field(ge=2, description="Transfers in the band, this one included, that make a pattern")
    window_hours: int = Field(default=24, gt=0, le=24 * 31)


@check("structuring", StructuringParams)
def structuring(ctx: GateContext, p: StructuringParams, _: PackResources) -> Finding | None:
    """Several transfers in the window, each just under a threshold (splitting to stay below it)."""
    since = ctx.session.now - timedelta(hours=p.window_hours)
    amounts = [t.amount for t in ctx.core.recent_transfers if t.at >= since]
    if ctx.slots.amount is not None:
        amounts.append(ctx.slots.amount)
    for threshold in p.thresholds:
        floor = threshold * (1 - p.band_ratio)
        count = sum(1 for a in amounts if floor <= a < threshold)
        if count >= p.min_count:
            return Finding({"threshold": threshold, "count": count})
    return None


# Fraud and screening -------------------------------------------------------------------------
class Escalation(_Params):
    new_payee_min_amount: Money | None = Field(default=None, description="Cue + new payee + at least this")
    elderly: bool = Field(default=False, description="Cue + elderly customer")


class FraudCueParams(_Params):
    phrase_list: str = Field(description="Name of a list under phrase_lists in the pack")
    escalate_when: Escalation | None = Field(default=None, description="Fire only in these combinations")


def _escalation(ctx: GateContext, e: Escalation | None) -> dict[str, bool] | None:
    """``{}`` without an escalation; else the risk factors present, or None when there are none."""
    if e is None:
        return {}
    large_new = (
        e.new_payee_min_amount is not None and ctx.slots.new_payee and _amount(ctx) >= e.new_payee_min_amount
    )
    elderly = e.elderly and ctx.session.elderly
    return {"new_payee_large": large_new, "elderly": elderly} if large_new or elderly else None


@check("fraud_cue", FraudCueParams)
def fraud_cue(ctx: GateContext, p: FraudCueParams, r: PackResources) -> Finding | None:
    """The customer's own words contain a telecom-fraud cue (optionally: combined with a risk factor)."""
    phrase = r.phrases[p.phrase_list].find(ctx.session.recent_utterances)
    if phrase is None:
        return None
    risk = _escalation(ctx, p.escalate_when)
    return None if risk is None else Finding({"phrase": phrase, **risk})


class PurposeParams(_Params):
    min_amount: Money | None = Field(default=None, description="Ask about transfers to a new payee from this amount")
    elderly_min_amount: Money | None = Field(
        default=None, description="Ask an elderly customer about transfers to a new payee from this amount"
    )

    @model_validator(mode="after")
    def _some_amount(self) -> PurposeParams:
        if self.min_amount is None and self.elderly_min_amount is None:
            raise ValueError("set min_amount, elderly_min_amount or both: otherwise the rule never asks")
        return self


@check("purpose_unstated", PurposeParams, asks="purpose")
def purpose_unstated(ctx: GateContext, p: PurposeParams, _r: PackResources) -> Finding | None:
    """A transfer to a new payee from an amount, and the customer has not yet said what the money is for."""
    if ctx.slots.purpose is not None or not ctx.slots.new_payee or ctx.slots.amount is None:
        return None
    amount = ctx.slots.amount
    large = p.min_amount is not None and amount >= p.min_amount
    elderly = ctx.session.elderly and p.elderly_min_amount is not None and amount >= p.elderly_min_amount
    return Finding({"new_payee_large": large, "elderly": elderly}) if large or elderly else None


class FraudSemanticParams(_Params):
    neighbours: int = Field(
        default=3, ge=1, le=10, description="k: scores are the mean similarity of the k closest lines of a kind"
    )
    min_score: float = Field(
        ge=-1, le=1, description="Least fraud score (centred cosine, mean of the k closest fraud lines)"
    )
    min_margin: float = Field(
        ge=-1, le=1,
        description="Least evidence: the lead of the fraud score over the benign score (same k), "
        "plus classifier_weight times the classifier's log-odds of fraud",
    )
    classifier_weight: float = Field(
        default=0.0, ge=0, le=1, description="Weight of the learned boundary's log-odds in the evidence (0: off)"
    )
    classifier_c: float = Field(
        default=64.0, gt=0, le=10_000, description="Inverse regularisation of that classifier (scikit-learn C)"
    )
    lexical_weight: float = Field(
        default=0.0, ge=0, le=1,
        description="Weight of the lexical classifier's log-odds (character n-grams of the words) in the evidence",
    )
    lexical_c: float = Field(
        default=16.0, gt=0, le=10_000, description="Inverse regularisation of the lexical classifier (scikit-learn C)"
    )
    escalate_when: Escalation | None = Field(default=None, description="Fire only in these combinations")

    @property
    def classifier(self) -> float | None:
        """The C to fit a classifier with, or None when the rule does not use one."""
        return self.classifier_c if self.classifier_weight > 0 else None

    @property
    def lexical(self) -> float | None:
        """The C to fit the lexical classifier with, or None when the rule does not use one."""
        return self.lexical_c if self.lexical_weight > 0 else None

    def evidence(self, match: SemanticMatch) -> float:
        return match.evidence(self.classifier_weight, self.lexical_weight)

    def fires(self, match: SemanticMatch) -> bool:
        """Whether one utterance's match is a hit by these figures (before any escalation)."""
        return match.score >= self.min_score and self.evidence(match) >= self.min_margin


@check("fraud_semantic", FraudSemanticParams, needs_embedder=True)
def fraud_semantic(ctx: GateContext, p: FraudSemanticParams, r: PackResources) -> Finding | None:
    """The customer's own words *mean* a fraud script: closer to its exemplars than to ordinary reasons."""
    if r.semantic is None:  # a Gate refuses to start without one: only a hand-built resource gets here
        raise EmbedderRequired(["fraud_semantic"])
    hits = [
        m
        for m in r.semantic.match(ctx.session.recent_utterances, p.neighbours, p.classifier, p.lexical)
        if p.fires(m)
    ]
    if not hits:
        return None
    risk = _escalation(ctx, p.escalate_when)
    if risk is None:
        return None
    best = max(hits, key=p.evidence)
    return Finding(
        {
            "fraud_type": best.exemplar.fraud_type,
            "exemplar_id": best.exemplar.id,
            "exemplar": best.exemplar.text,
            "utterance": best.utterance,
            "score": round(best.score, 4),
            "margin": round(best.margin, 4),
            **({} if best.fraud_probability is None else {"fraud_probability": round(best.fraud_probability, 4)}),
            **({} if best.lexical_log_odds is None else {"lexical_log_odds": round(best.lexical_log_odds, 4)}),
            "evidence": round(p.evidence(best), 4),
            "similarity": round(best.similarity, 4),
            "nearest_benign_id": best.nearest_benign.id,
            **risk,
        }
    )


class WatchAccountParams(_Params):
    lists: list[str] | None = Field(default=None, description="Watch-list names to use (default: all)")


@check("watchlist_account", WatchAccountParams)
def watchlist_account(ctx: GateContext, p: WatchAccountParams, r: PackResources) -> Finding | None:
    """The payee account is on the watch-list."""
    if not ctx.slots.payee_account:
        return None
    record = r.watchlist.account(ctx.slots.payee_account, None if p.lists is None else frozenset(p.lists))
    return Finding({"entry_id": record.entry_id, "list": record.list_name}) if record else None


class WatchNameParams(_Params):
    lists: list[str] | None = None
    threshold: float = Field(default=90, gt=0, le=100, description="rapidfuzz ratio on folded text")
    pinyin_threshold: float | None = Field(
        default=100, gt=0, le=100, description="Ratio on pinyin; null: off"
    )


@check("watchlist_name", WatchNameParams)
def watchlist_name(ctx: GateContext, p: WatchNameParams, r: PackResources) -> Finding | None:
    """The payee name matches a watch-list name (fuzzy, and by sound through pinyin)."""
    if not ctx.slots.payee_name:
        return None
    match = r.watchlist.name(
        ctx.slots.payee_name,
        p.threshold,
        pinyin_threshold=p.pinyin_threshold,
        lists=None if p.lists is None else frozenset(p.lists),
    )
    if match is None:
        return None
    return Finding(
        {"entry_id": match.entry_id, "list": match.list_name, "score": match.score, "by": match.by}
    )


# Statements ----------------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class PeriodParams(_Params):
    max_months: int = Field(gt=0, le=120)


@check("statement_period", PeriodParams)
def statement_period(ctx: GateContext, p: PeriodParams, _: PackResources) -> Finding | None:
    """The statement period is reversed, reaches into the future, or is longer than the cap."""
    start, end = ctx.slots.period_start, ctx.slots.period_end
    if start is None or end is None:
        return None
    if end < start:
        return Finding({"why": "reversed"})
    if end > ctx.session.now.date():
        return Finding({"why": "future"})
    if end >= add_months(start, p.max_months):
        return Finding({"why": "too_long", "max_months": p.max_months})
    return None


class TopicParams(_Params):
    topics: list[str] = Field(min_length=1, description="Knowledge topics (or 'topic:entry' ids) not to answer")


@check("topic_forbidden", TopicParams)
def topic_forbidden(ctx: GateContext, p: TopicParams, _: PackResources) -> Finding | None:
    """A knowledge answer on a topic the bank does not allow at the kiosk (e.g. product advice)."""
    if ctx.slots.topic is None:
        return None
    topic, _sep, entry = ctx.slots.topic.partition(":")
    if topic in p.topics or entry in p.topics:
        return Finding({"topic": topic, "entry": entry})
    return None
