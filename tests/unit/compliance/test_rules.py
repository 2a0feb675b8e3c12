"""Every rule of the shipped pack, in both directions, with figures read from the pack.

Each test starts from a context that passes everything (``build()``) and changes one fact; it
asserts the rule's id is (or is not) among the hits and, where it matters, the outcome.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from compliance_helpers import DISCLOSURE, NOW, build, figure

from vtm.banking.models import Arrival, CardStatus, LossKind
from vtm.compliance import AuthFactor, Consent, Gate, Outcome, PolicyPack, RecentTransfer
from vtm.compliance.checks import add_months
from vtm.compliance.verdict import Effect

CARD_PIN = frozenset({AuthFactor.CARD, AuthFactor.PIN})


def fired(gate: Gate, checkpoint: str, ctx: object) -> set[str]:
    return {h.rule_id for h in gate.evaluate(checkpoint, ctx).hits}  # type: ignore[arg-type]


def test_clean_transfer_is_allowed_at_every_transfer_checkpoint(gate: Gate, pack: PolicyPack) -> None:
    for checkpoint in (c for c in pack.checkpoints if c.startswith("transfer.")):
        verdict = gate.evaluate(checkpoint, build())
        assert verdict.outcome is Outcome.ALLOW, (checkpoint, verdict.hits)


# Session ---------------------------------------------------------------------------------------
def test_session_longer_than_the_limit_is_ended(gate: Gate, pack: PolicyPack) -> None:
    limit = figure(pack, "SES-TIMEOUT-TOTAL", "max_seconds")
    at_limit = build(session={"started_at": NOW - timedelta(seconds=limit)})
    over = build(session={"started_at": NOW - timedelta(seconds=limit + 1)})
    assert "SES-TIMEOUT-TOTAL" not in fired(gate, "transfer.execute", at_limit)
    assert gate.evaluate("transfer.execute", over).outcome is Outcome.DENY
    assert "SES-TIMEOUT-TOTAL" in fired(gate, "transfer.execute", over)


def test_idle_customer_is_timed_out(gate: Gate, pack: PolicyPack) -> None:
    limit = figure(pack, "SES-TIMEOUT-IDLE", "max_seconds")
    assert "SES-TIMEOUT-IDLE" not in fired(
        gate, "transfer.payee", build(session={"last_activity_at": NOW - timedelta(seconds=limit)})
    )
    assert "SES-TIMEOUT-IDLE" in fired(
        gate, "transfer.payee", build(session={"last_activity_at": NOW - timedelta(seconds=limit + 1)})
    )


# Authentication --------------------------------------------------------------------------------
def test_balance_without_pin_steps_up_to_card_and_pin(gate: Gate) -> None:
    verdict = gate.evaluate(
        "balance.show", build("balance", identity={"factors": frozenset({AuthFactor.CARD})})
    )
    assert verdict.outcome is Outcome.STEP_UP
    (hit,) = verdict.blocking_hits
    assert hit.rule_id == "AUTH-CARD-PIN"
    assert hit.step_up == ((AuthFactor.PIN,),)
    assert gate.evaluate("balance.show", build("balance")).outcome is Outcome.ALLOW


def test_large_transfer_needs_a_second_pin_entry(gate: Gate, pack: PolicyPack) -> None:
    threshold = figure(pack, "AUTH-TRANSFER-REPIN", "min_amount")
    below = build(slots={"amount": threshold - Decimal("0.01")})
    at = build(slots={"amount": threshold})
    reconfirmed = build(
        slots={"amount": threshold}, identity={"factors": CARD_PIN | {AuthFactor.PIN_RECONFIRMED}}
    )
    assert "AUTH-TRANSFER-REPIN" not in fired(gate, "transfer.execute", below)
    verdict = gate.evaluate("transfer.execute", at)
    assert verdict.outcome is Outcome.STEP_UP
    assert verdict.blocking_hits[0].step_up == ((AuthFactor.PIN_RECONFIRMED,),)
    assert "AUTH-TRANSFER-REPIN" not in fired(gate, "transfer.execute", reconfirmed)


def test_temporary_loss_accepts_id_card_alone(gate: Gate) -> None:
    id_only = build(
        "card_loss",
        identity={"factors": frozenset({AuthFactor.ID_CARD})},
        slots={"loss_kind": LossKind.TEMPORARY},
    )
    nothing = build("card_loss", identity={"factors": frozenset()}, slots={"loss_kind": LossKind.TEMPORARY})
    assert "AUTH-LOSS-TEMPORARY" not in fired(gate, "card_loss.report", id_only)
    assert gate.evaluate("card_loss.report", id_only).outcome is Outcome.ALLOW
    assert "AUTH-LOSS-TEMPORARY" in fired(gate, "card_loss.report", nothing)


def test_formal_loss_needs_id_card_and_offers_a_non_face_option_first(gate: Gate) -> None:
    id_only = build(
        "card_loss",
        identity={"factors": frozenset({AuthFactor.ID_CARD})},
        slots={"loss_kind": LossKind.FORMAL},
    )
    verdict = gate.evaluate("card_loss.report", id_only)
    assert verdict.outcome is Outcome.STEP_UP
    hit = next(h for h in verdict.hits if h.rule_id == "AUTH-LOSS-FORMAL")
    assert hit.step_up[0] == (AuthFactor.PIN,)
    assert (AuthFactor.FACE,) in hit.step_up
    with_pin = build(
        "card_loss",
        identity={"factors": frozenset({AuthFactor.ID_CARD, AuthFactor.PIN})},
        slots={"loss_kind": LossKind.FORMAL},
    )
    assert gate.evaluate("card_loss.report", with_pin).outcome is Outcome.ALLOW


def test_face_counts_only_with_separate_consent(gate: Gate) -> None:
    face = frozenset({AuthFactor.ID_CARD, AuthFactor.FACE})
    no_consent = build("card_loss", identity={"factors": face}, slots={"loss_kind": LossKind.FORMAL})
    consented = build(
        "card_loss",
        identity={"factors": face},
        slots={"loss_kind": LossKind.FORMAL},
        session={"consents": frozenset({Consent.FACE})},
    )
    hits = fired(gate, "card_loss.report", no_consent)
    assert {"AUTH-FACE-CONSENT", "AUTH-LOSS-FORMAL"} <= hits
    assert gate.evaluate("card_loss.report", no_consent).outcome is Outcome.DENY
    assert gate.evaluate("card_loss.report", consented).outcome is Outcome.ALLOW


def test_face_check_request_without_consent_is_refused_before_it_runs(gate: Gate) -> None:
    asking = build("card_loss", slots={"requested_factor": AuthFactor.FACE})
    assert "AUTH-FACE-CONSENT" in fired(gate, "card_loss.authenticate", asking)
    consented = build(
        "card_loss",
        slots={"requested_factor": AuthFactor.FACE},
        session={"consents": frozenset({Consent.FACE})},
    )
    assert "AUTH-FACE-CONSENT" not in fired(gate, "card_loss.authenticate", consented)


def test_pin_lockout_after_the_configured_failures(gate: Gate, pack: PolicyPack) -> None:
    limit = figure(pack, "AUTH-PIN-LOCKOUT", "max_failed_attempts")
    assert "AUTH-PIN-LOCKOUT" not in fired(
        gate, "balance.authenticate", build("balance", core={"failed_pin_attempts": limit - 1})
    )
    assert "AUTH-PIN-LOCKOUT" in fired(
        gate, "balance.authenticate", build("balance", core={"failed_pin_attempts": limit})
    )
    assert "AUTH-PIN-LOCKOUT" in fired(
        gate, "balance.authenticate", build("balance", core={"pin_locked": True})
    )


# Card status -----------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [CardStatus.TEMPORARILY_LOST, CardStatus.LOST, CardStatus.FROZEN])
def test_blocked_card_cannot_transfer(gate: Gate, pack: PolicyPack, status: CardStatus) -> None:
    assert status in figure(pack, "CARD-STATUS-BLOCKED", "blocked")
    assert gate.evaluate("transfer.execute", build(core={"card_status": status})).outcome is Outcome.DENY
    assert "CARD-STATUS-BLOCKED" not in fired(
        gate, "transfer.execute", build(core={"card_status": CardStatus.ACTIVE})
    )


def test_a_lost_card_can_still_be_reported_formally(gate: Gate) -> None:
    ctx = build(
        "card_loss",
        core={"card_status": CardStatus.TEMPORARILY_LOST},
        slots={"loss_kind": LossKind.FORMAL},
        identity={"factors": frozenset({AuthFactor.ID_CARD, AuthFactor.PIN})},
    )
    assert gate.evaluate("card_loss.report", ctx).outcome is Outcome.ALLOW


def test_replacement_only_after_a_formal_loss_report(gate: Gate) -> None:
    factors = {"factors": frozenset({AuthFactor.ID_CARD, AuthFactor.PIN})}
    active = build(
        "card_loss",
        core={"card_status": CardStatus.ACTIVE},
        identity=factors,
        slots={"loss_kind": LossKind.FORMAL},
    )
    lost = build(
        "card_loss",
        core={"card_status": CardStatus.LOST},
        identity=factors,
        slots={"loss_kind": LossKind.FORMAL},
    )
    assert "CARD-REPLACE-NEEDS-FORMAL-LOSS" in fired(gate, "card_loss.replace", active)
    assert gate.evaluate("card_loss.replace", lost).outcome is Outcome.ALLOW


def test_replaced_card_is_not_reported_again(gate: Gate) -> None:
    base = {
        "identity": {"factors": frozenset({AuthFactor.ID_CARD})},
        "slots": {"loss_kind": LossKind.TEMPORARY},
    }
    assert "CARD-ALREADY-REPLACED" in fired(
        gate, "card_loss.report", build("card_loss", core={"card_status": CardStatus.REPLACED}, **base)
    )
    assert "CARD-ALREADY-REPLACED" not in fired(gate, "card_loss.report", build("card_loss", **base))


# Limits ----------------------------------------------------------------------------------------
def test_single_transfer_limit(gate: Gate, pack: PolicyPack) -> None:
    limit = figure(pack, "TRF-LIMIT-SINGLE", "max_amount")
    assert "TRF-LIMIT-SINGLE" not in fired(gate, "transfer.amount", build(slots={"amount": limit}))
    assert "TRF-LIMIT-SINGLE" in fired(
        gate, "transfer.amount", build(slots={"amount": limit + Decimal("0.01")})
    )


def test_daily_limit_counts_what_the_core_reports_as_used_today(gate: Gate, pack: PolicyPack) -> None:
    limit = figure(pack, "TRF-LIMIT-DAILY", "max_daily")
    used = limit - Decimal("800.00")
    assert "TRF-LIMIT-DAILY" not in fired(gate, "transfer.amount", build(core={"daily_transferred": used}))
    over = build(core={"daily_transferred": used + Decimal("0.01")})
    assert "TRF-LIMIT-DAILY" in fired(gate, "transfer.amount", over)
    assert gate.evaluate("transfer.execute", over).outcome is Outcome.DENY


# Arrival and disclosure ------------------------------------------------------------------------
def test_realtime_arrival_only_when_chosen_after_the_payee_was_confirmed(
    gate: Gate, pack: PolicyPack
) -> None:
    assert figure(pack, "TRF-REALTIME-ARRIVAL", "allow_realtime") is True
    ok = build(slots={"arrival": Arrival.REALTIME})
    early = build(slots={"arrival": Arrival.REALTIME, "arrival_chosen_at": NOW - timedelta(minutes=5)})
    assert "TRF-REALTIME-ARRIVAL" not in fired(gate, "transfer.arrival", ok)
    assert "TRF-REALTIME-ARRIVAL" in fired(gate, "transfer.arrival", early)
    unconfirmed = build(slots={"arrival": Arrival.REALTIME, "payee_confirmed_at": None})
    assert "TRF-REALTIME-ARRIVAL" in fired(gate, "transfer.execute", unconfirmed)


def test_delayed_arrival_disclosure_is_played_in_full_before_confirmation(gate: Gate) -> None:
    not_heard = build(session={"heard": {}})
    verdict = gate.evaluate("transfer.confirm", not_heard)
    assert verdict.outcome is Outcome.WARN
    assert verdict.non_interruptible
    assert verdict.prompt_keys == (DISCLOSURE,)
    assert "TRF-DELAY-DISCLOSURE" not in fired(gate, "transfer.confirm", build())


def test_own_same_bank_account_needs_no_delay_disclosure(gate: Gate) -> None:
    own = build(session={"heard": {}}, slots={"payee_own_same_bank": True})
    assert "TRF-DELAY-DISCLOSURE" not in fired(gate, "transfer.confirm", own)


def test_confirmation_given_before_the_disclosure_does_not_count(gate: Gate) -> None:
    heard_after = build(
        session={"heard": {DISCLOSURE: NOW - timedelta(seconds=1)}},
        slots={"confirmed_at": NOW - timedelta(seconds=10)},
    )
    verdict = gate.evaluate("transfer.execute", heard_after)
    assert "TRF-CONFIRM-AFTER-DISCLOSURE" in {h.rule_id for h in verdict.hits}
    assert verdict.permit is None
    # acknowledging does not lift it: only a confirmation after the disclosure does
    acked = build(
        session={
            "heard": {DISCLOSURE: NOW - timedelta(seconds=1)},
            "acknowledged": frozenset({"compliance.transfer.reconfirm_after_disclosure"}),
        },
        slots={"confirmed_at": NOW - timedelta(seconds=10)},
    )
    assert "TRF-CONFIRM-AFTER-DISCLOSURE" in fired(gate, "transfer.execute", acked)
    assert "TRF-CONFIRM-AFTER-DISCLOSURE" not in fired(gate, "transfer.execute", build())


# Reporting and structuring ---------------------------------------------------------------------
def test_large_value_report_is_recorded_but_never_changes_the_outcome(gate: Gate, pack: PolicyPack) -> None:
    threshold = figure(pack, "RPT-LARGE-VALUE", "threshold")
    below = build(core={"daily_transferred": threshold - Decimal("800.01")})
    at = build(core={"daily_transferred": threshold - Decimal("800.00")})
    assert "RPT-LARGE-VALUE" not in fired(gate, "transfer.execute", below)
    verdict = gate.evaluate("transfer.execute", at)
    assert [h.rule_id for h in verdict.reports] == ["RPT-LARGE-VALUE"]
    without_report = tuple(h for h in verdict.hits if h.effect is not Effect.REPORT)
    assert verdict.outcome is max((h.effect.outcome for h in without_report), key=lambda o: o.rank)


def test_several_transfers_just_under_a_threshold_are_referred(gate: Gate, pack: PolicyPack) -> None:
    threshold = figure(pack, "AML-STRUCTURING", "thresholds")[0]
    ratio = figure(pack, "AML-STRUCTURING", "band_ratio")
    count = figure(pack, "AML-STRUCTURING", "min_count")
    hours = figure(pack, "AML-STRUCTURING", "window_hours")
    just_under = (threshold * (1 - ratio)).quantize(Decimal("0.01"))
    earlier = tuple(
        RecentTransfer(at=NOW - timedelta(hours=1 + i), amount=just_under) for i in range(count - 1)
    )
    # the daily-limit rule looks at today's usage; this pattern spans the 24 h window
    pattern = build(slots={"amount": just_under}, core={"recent_transfers": earlier})
    verdict = gate.evaluate("transfer.confirm", pattern)
    assert "AML-STRUCTURING" in {h.rule_id for h in verdict.hits}
    assert verdict.outcome.rank >= Outcome.REFER.rank
    too_few = build(slots={"amount": just_under}, core={"recent_transfers": earlier[:-1]})
    assert "AML-STRUCTURING" not in fired(gate, "transfer.confirm", too_few)
    outside = tuple(
        RecentTransfer(at=NOW - timedelta(hours=hours, minutes=1), amount=just_under) for _ in earlier
    )
    assert "AML-STRUCTURING" not in fired(
        gate, "transfer.confirm", build(slots={"amount": just_under}, core={"recent_transfers": outside})
    )
    below_band = just_under - Decimal("0.01")
    assert "AML-STRUCTURING" not in fired(
        gate,
        "transfer.confirm",
        build(
            slots={"amount": below_band},
            core={"recent_transfers": tuple(t.model_copy(update={"amount": below_band}) for t in earlier)},
        ),
    )


# Telecom fraud ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "utterance",
    [
        "民警说要把钱转到安全账户",
        "公檢法的人让我转账",
        "The POLICE ASKED ME to move it",
        "they said it is a safe account",
    ],
)
def test_fraud_cue_in_the_customers_words_gives_a_non_skippable_warning(gate: Gate, utterance: str) -> None:
    verdict = gate.evaluate("transfer.payee", build(session={"recent_utterances": (utterance,)}))
    assert verdict.outcome is Outcome.WARN
    assert verdict.non_interruptible
    assert "FRAUD-CUE-WARN" in {h.rule_id for h in verdict.hits}


def test_no_fraud_warning_for_ordinary_words_and_after_acknowledgement(gate: Gate) -> None:
    assert "FRAUD-CUE-WARN" not in fired(
        gate, "transfer.payee", build(session={"recent_utterances": ("给我妈转生活费",)})
    )
    acked = build(
        session={
            "recent_utterances": ("转到安全账户",),
            "acknowledged": frozenset({"compliance.fraud.warning"}),
        }
    )
    assert "FRAUD-CUE-WARN" not in fired(gate, "transfer.payee", acked)


def test_fraud_cue_with_new_payee_and_large_amount_is_referred(gate: Gate, pack: PolicyPack) -> None:
    large = figure(pack, "FRAUD-CUE-REFER", "escalate_when").new_payee_min_amount
    cue = {
        "recent_utterances": ("警察让我转到安全账户",),
        "acknowledged": frozenset({"compliance.fraud.warning"}),
    }
    risky = build(session=cue, slots={"new_payee": True, "amount": large})
    assert gate.evaluate("transfer.confirm", risky).outcome is Outcome.REFER
    small = build(session=cue, slots={"new_payee": True, "amount": large - Decimal("0.01")})
    known = build(session=cue, slots={"new_payee": False, "amount": large})
    assert "FRAUD-CUE-REFER" not in fired(gate, "transfer.confirm", small)
    assert "FRAUD-CUE-REFER" not in fired(gate, "transfer.confirm", known)


def test_a_large_transfer_to_a_new_payee_waits_for_its_purpose(gate: Gate, pack: PolicyPack) -> None:
    least = figure(pack, "FRAUD-PURPOSE-ASK", "min_amount")
    unasked = {"new_payee": True, "purpose": None}
    for checkpoint in ("transfer.confirm", "transfer.execute"):
        verdict = gate.evaluate(checkpoint, build(slots={**unasked, "amount": least}))
        assert verdict.outcome is Outcome.ASK
        (hit,) = verdict.blocking_hits
        assert (hit.rule_id, hit.asks) == ("FRAUD-PURPOSE-ASK", "purpose")
        assert hit.prompt_key == "compliance.fraud.ask_purpose"
    below = build(slots={**unasked, "amount": least - Decimal("0.01")})
    saved = build(slots={**unasked, "new_payee": False, "amount": least})
    answered = build(slots={"new_payee": True, "amount": least, "purpose": "给女儿交学费"})
    for ctx in (below, saved, answered):
        assert gate.evaluate("transfer.confirm", ctx).outcome is Outcome.ALLOW


def test_an_elderly_customer_is_asked_from_a_lower_amount(gate: Gate, pack: PolicyPack) -> None:
    least = figure(pack, "FRAUD-PURPOSE-ASK", "elderly_min_amount")
    assert least < figure(pack, "FRAUD-PURPOSE-ASK", "min_amount")
    slots = {"new_payee": True, "purpose": None, "amount": least}
    elderly = build(session={"elderly": True, "age": 77}, slots=slots)
    assert gate.evaluate("transfer.confirm", elderly).outcome is Outcome.ASK
    assert "FRAUD-PURPOSE-ASK" not in fired(gate, "transfer.confirm", build(slots=slots))
    below = build(session={"elderly": True, "age": 77}, slots={**slots, "amount": least - Decimal("0.01")})
    assert "FRAUD-PURPOSE-ASK" not in fired(gate, "transfer.confirm", below)


def test_asking_ranks_above_a_warning_and_below_a_referral(gate: Gate, pack: PolicyPack) -> None:
    assert Outcome.WARN.rank < Outcome.ASK.rank < Outcome.STEP_UP.rank < Outcome.REFER.rank
    large = figure(pack, "FRAUD-CUE-REFER", "escalate_when").new_payee_min_amount
    told = build(session={"recent_utterances": ("警察让我转到安全账户",)},
                 slots={"new_payee": True, "purpose": None, "amount": large})
    verdict = gate.evaluate("transfer.confirm", told)
    assert verdict.outcome is Outcome.REFER  # a story already told is not asked about first
    assert "FRAUD-PURPOSE-ASK" in {h.rule_id for h in verdict.hits}


def test_fraud_cue_from_an_elderly_customer_is_referred(gate: Gate) -> None:
    elderly = build(session={"recent_utterances": ("孙子出事了要钱",), "elderly": True, "age": 78})
    assert "FRAUD-CUE-REFER" in fired(gate, "transfer.confirm", elderly)
    assert "FRAUD-CUE-REFER" not in fired(gate, "transfer.confirm", build(session={"elderly": True}))


# Watch-list ------------------------------------------------------------------------------------
def test_listed_payee_account_is_denied_however_it_is_spaced(gate: Gate) -> None:
    listed = build(slots={"payee_account": "6230 9900 0000 0000 018"})
    compact = build(slots={"payee_account": "6230990000000000018"})
    assert gate.evaluate("transfer.payee", listed).outcome is Outcome.DENY
    assert "WATCH-ACCOUNT" in fired(gate, "transfer.payee", compact)
    assert "WATCH-ACCOUNT" not in fired(gate, "transfer.payee", build())


@pytest.mark.parametrize(
    "heard_name", ["钱多多", "錢多多", "钱多朵", "Johnny Mulesworth", "johny mulesworth", "司马无极"]
)
def test_payee_name_close_to_a_listed_name_is_referred(gate: Gate, heard_name: str) -> None:
    verdict = gate.evaluate("transfer.payee", build(slots={"payee_name": heard_name}))
    assert "WATCH-NAME" in {h.rule_id for h in verdict.hits}, heard_name
    assert verdict.outcome is Outcome.REFER


@pytest.mark.parametrize("name", ["王芳", "钱小红", "John Smith", "司马光"])
def test_unrelated_payee_names_pass_screening(gate: Gate, name: str) -> None:
    assert "WATCH-NAME" not in fired(gate, "transfer.payee", build(slots={"payee_name": name}))


# Statements ------------------------------------------------------------------------------------
def test_statement_period_is_capped(gate: Gate, pack: PolicyPack) -> None:
    months = figure(pack, "STMT-PERIOD-CAP", "max_months")
    end = NOW.date() - timedelta(days=1)
    start_ok = add_months(end, -months) + timedelta(days=1)
    ok = build("statement", slots={"period_start": start_ok, "period_end": end})
    too_long = build("statement", slots={"period_start": start_ok - timedelta(days=1), "period_end": end})
    assert "STMT-PERIOD-CAP" not in fired(gate, "statement.period", ok)
    assert "STMT-PERIOD-CAP" in fired(gate, "statement.period", too_long)


def test_statement_period_must_be_in_order_and_in_the_past(gate: Gate) -> None:
    reversed_ = build("statement", slots={"period_start": date(2025, 5, 1), "period_end": date(2025, 4, 1)})
    future = build(
        "statement", slots={"period_start": date(2025, 5, 1), "period_end": NOW.date() + timedelta(days=1)}
    )
    assert gate.evaluate("statement.period", reversed_).outcome is Outcome.DENY
    assert gate.evaluate("statement.period", future).outcome is Outcome.DENY


@pytest.mark.parametrize("kind", [None, *LossKind])
@pytest.mark.parametrize("status", list(CardStatus))
def test_no_core_operation_is_ever_allowed_without_verified_identity(
    gate: Gate, pack: PolicyPack, kind: LossKind | None, status: CardStatus
) -> None:
    for checkpoint, spec in pack.checkpoints.items():
        if spec.authorises is None:
            continue
        anonymous = build(
            checkpoint.split(".")[0],
            identity={"factors": frozenset()},
            slots={"loss_kind": kind},
            core={"card_status": status},
        )
        assert gate.evaluate(checkpoint, anonymous).outcome is not Outcome.ALLOW, (checkpoint, kind, status)


@pytest.mark.parametrize("checkpoint", ["transfer.execute", "revoke_transfer.execute", "card_loss.report"])
def test_no_permit_for_a_confirmed_operation_without_the_customers_explicit_yes(gate: Gate, checkpoint: str) -> None:
    # The classifier's "affirm" sets confirmed_at but never the confirmation itself (vtm.dialog.confirmation).
    transaction = checkpoint.split(".")[0]
    slots = {"confirmation": None, "loss_kind": LossKind.TEMPORARY, "reference": "T-1"}
    verdict = gate.check(checkpoint, build(transaction=transaction, slots=slots,
                                           identity={"factors": frozenset(AuthFactor)}))
    assert verdict.permit is None
    assert "GATE-CONFIRM" in [h.rule_id for h in verdict.hits]
