"""The invariant, as a property: a mutating call reaches the core only under a fresh, matching ``allow``.

A hypothesis state machine interleaves random events against one gate (the real shipped pack)
and two sessions' guards around a recording fake core (the property is about the wrapper, so a
fake core is enough; it also fails at random, as a real core does):

* gate checks at random checkpoints with random contexts (some clean, most not);
* mutating calls with a permit drawn from everything seen (matching, for another operation,
  from the other session, already used, forged, or none) and parameters that match or are
  changed by one fen or one character, with idempotency keys drawn from a small pool;
* the clock moving past permit expiry;
* the customer's confirmation of the read-back: a yes-list phrase, the button, or none (the
  classifier's "affirm" alone is none).

After every call the machine checks an independent oracle: the core was called if and only if
the permit was issued by this gate with ``allow`` in this session for this operation and exactly
these parameters, and was either unused and unexpired, or being retried with its first key after
the core left the outcome unknown. And globally: every call the core ever saw is explained by
such a permit, and no permit for an operation the customer must confirm (``CONFIRMED_OPERATIONS``)
was ever issued without an explicit confirmation in the judged context.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from vtm.banking.errors import InsufficientFunds, OutcomeUnknown, Unavailable
from vtm.banking.models import Arrival, CardStatus, LossKind, TransferRequest
from vtm.banking.pin_rules import PinWeakness
from vtm.compliance import (
    AuthFactor,
    ComplianceViolation,
    Confirmation,
    CoreFacts,
    Gate,
    GateContext,
    GuardedCoreBanking,
    Identity,
    Operation,
    Permit,
    SessionFacts,
    Slots,
    load_pack,
)
from vtm.compliance.operations import CONFIRMED_OPERATIONS, call_params, params_hash
from vtm.kiosk.bootstrap import nlu_embedder

PACK = load_pack(Path(__file__).resolve().parents[2] / "compliance" / "policy.yaml")
MODELS = Path(os.environ["VTM_MODELS_DIR"])  # set by tests/conftest.py
# The kiosk's e5 embedder, loaded only if an utterance is ever judged (these contexts carry none):
# the exemplar vectors come from the cache the gate keys by exemplar hash and model.
EMBEDDER = nlu_embedder(MODELS)
T0 = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
SESSIONS = ("S-A", "S-B")
CARDS = ("6222000011112222", "6222000033334444")
PAYEES = (("6217000099998888", "王芳"), ("6217000055556666", "李雷"), ("6230990000000000018", "钱多多"))
AMOUNTS = (
    Decimal("0.01"),
    Decimal("800.00"),
    Decimal("800.01"),
    Decimal("20000.00"),
    Decimal("50000.00"),
    Decimal("60000.00"),
)
KEYS = ("key-aaaaaaaa", "key-bbbbbbbb", "key-cccccccc")
REFS = ("T-1", "T-2")


class CoreFailure(Exception):
    """Marker so the machine can tell a core failure it injected from a guard refusal."""


@dataclass
class RecordingCore:
    """Records every mutating call with the session of the guard it came through."""

    session_id: str
    log: list[tuple[str, str, str, str]]  # (session, operation, params_hash, key)
    fail_with: list[Exception | None] = field(default_factory=list)

    def _record(self, operation: Operation, key: str, **arguments: Any) -> None:
        self.log.append(
            (self.session_id, operation.value, params_hash(call_params(operation, **arguments)), key)
        )
        failure = self.fail_with.pop() if self.fail_with else None
        if failure is not None:
            raise failure

    def transfer(self, request: TransferRequest) -> str:
        self._record(Operation.TRANSFER, request.idempotency_key, request=request)
        return "posted"

    def revoke_transfer(self, reference: str, idempotency_key: str) -> str:
        self._record(Operation.REVOKE_TRANSFER, idempotency_key, reference=reference)
        return "revoked"

    def report_loss(self, card_number: str, kind: LossKind, idempotency_key: str) -> str:
        self._record(Operation.REPORT_LOSS, idempotency_key, card_number=card_number, kind=kind)
        return "reported"

    def freeze_card(self, card_number: str, idempotency_key: str) -> str:
        self._record(Operation.FREEZE_CARD, idempotency_key, card_number=card_number)
        return "frozen"

    def order_replacement(self, card_number: str, idempotency_key: str) -> str:
        self._record(Operation.ORDER_REPLACEMENT, idempotency_key, card_number=card_number)
        return "replaced"

    def change_pin(self, card_number: str, current_pin: str, new_pin: str, idempotency_key: str) -> str:
        self._record(Operation.CHANGE_PIN, idempotency_key, card_number=card_number)
        return "changed"


@dataclass
class Issued:
    permit: Permit
    ctx: GateContext
    first_key: str | None = None
    used: bool = False
    retry_ok: bool = False


def clean_context(checkpoint: str, now: datetime, session_id: str, payee: tuple[str, str]) -> GateContext:
    """A context most checkpoints allow, so that permits are plentiful."""
    confirmed = now - timedelta(seconds=20)
    return GateContext(
        session=SessionFacts(
            session_id=session_id,
            kiosk_id="VTM-0001",
            started_at=now - timedelta(minutes=1),
            last_activity_at=now,
            now=now,
            heard={"compliance.transfer.delayed_arrival": confirmed - timedelta(seconds=5)},
        ),
        identity=Identity(
            customer_id="C-1", factors=frozenset({AuthFactor.CARD, AuthFactor.PIN, AuthFactor.ID_CARD})
        ),
        transaction=checkpoint.split(".")[0],
        slots=Slots(
            amount=Decimal("800.00"),
            from_account=CARDS[0],
            card_number=CARDS[0],
            payee_account=payee[0],
            payee_name=payee[1],
            payee_bank="中国建设银行",
            arrival=Arrival.DELAYED,
            confirmed_at=confirmed,
            confirmation=Confirmation(method="phrase", said="对", at=confirmed),
            loss_kind=LossKind.TEMPORARY,
            reference=REFS[0],
            new_pin_weakness=frozenset(),
            new_pin_matches=True,
        ),
        core=CoreFacts(
            card_status=CardStatus.LOST if checkpoint == "card_loss.replace" else CardStatus.ACTIVE
        ),
    )


def contexts(checkpoint: str, now: datetime) -> st.SearchStrategy[GateContext]:
    return st.one_of(
        st.builds(
            clean_context,
            st.just(checkpoint),
            st.just(now),
            st.sampled_from(SESSIONS),
            st.sampled_from(PAYEES[:2]),
        ),
        random_contexts(checkpoint, now),
    )


def random_contexts(checkpoint: str, now: datetime) -> st.SearchStrategy[GateContext]:
    transaction = checkpoint.split(".")[0]
    confirmed = now - timedelta(seconds=20)
    factors = st.sampled_from(
        [
            frozenset({AuthFactor.CARD, AuthFactor.PIN}),
            frozenset({AuthFactor.CARD, AuthFactor.PIN, AuthFactor.PIN_RECONFIRMED}),
            frozenset({AuthFactor.ID_CARD}),
            frozenset({AuthFactor.ID_CARD, AuthFactor.PIN}),
            frozenset(),
        ]
    )
    return st.builds(
        lambda session_id, fs, payee, amount, status, kind, card, ref, bank, arrival, how, weak, match: GateContext(
            session=SessionFacts(
                session_id=session_id,
                kiosk_id="VTM-0001",
                started_at=now - timedelta(minutes=2),
                last_activity_at=now,
                now=now,
                heard={"compliance.transfer.delayed_arrival": confirmed - timedelta(seconds=5)},
            ),
            identity=Identity(customer_id="C-1", factors=fs),
            transaction=transaction,
            slots=Slots(
                amount=amount,
                from_account=CARDS[0],
                card_number=card,
                payee_account=payee[0],
                payee_name=payee[1],
                payee_bank=bank,
                arrival=arrival,
                payee_confirmed_at=confirmed - timedelta(seconds=30),
                arrival_chosen_at=confirmed - timedelta(seconds=10),
                confirmed_at=confirmed,
                confirmation=None if how is None else Confirmation(method=how, said=None, at=confirmed),
                loss_kind=kind,
                reference=ref,
                new_pin_weakness=weak,
                new_pin_matches=match,
            ),
            core=CoreFacts(card_status=status),
        ),
        st.sampled_from(SESSIONS),
        factors,
        st.sampled_from(PAYEES),
        st.sampled_from(AMOUNTS),
        st.sampled_from(list(CardStatus)),
        st.sampled_from(list(LossKind)),
        st.sampled_from(CARDS),
        st.sampled_from(REFS),
        st.sampled_from(["中国建设银行", None]),
        st.sampled_from(list(Arrival)),
        st.sampled_from([None, "phrase", "button"]),
        st.sampled_from([None, frozenset(), frozenset({PinWeakness.SEQUENTIAL})]),
        st.sampled_from([None, True, False]),
    )


def call_arguments(operation: Operation, ctx: GateContext, key: str, mutate: str | None) -> dict[str, Any]:
    """Arguments of a core call for the judged context, optionally changed in one place."""
    s = ctx.slots
    if operation is Operation.TRANSFER:
        amount = s.amount or Decimal("1.00")
        fields: dict[str, Any] = {
            "idempotency_key": key,
            "from_account": s.from_account or CARDS[0],
            "to_account": s.payee_account or PAYEES[0][0],
            "payee_name": s.payee_name or "x",
            "payee_bank": s.payee_bank or "中国建设银行",
            "amount": amount,
            "arrival": s.arrival or Arrival.DELAYED,
        }
        if mutate == "amount":
            fields["amount"] = amount + Decimal("0.01")
        elif mutate == "payee":
            fields["to_account"] = fields["to_account"][:-1] + (
                "0" if fields["to_account"][-1] != "0" else "1"
            )
        elif mutate == "arrival":
            fields["arrival"] = Arrival.REALTIME if fields["arrival"] is Arrival.DELAYED else Arrival.DELAYED
        return {"request": TransferRequest(**fields)}
    if operation is Operation.REVOKE_TRANSFER:
        ref = s.reference or REFS[0]
        return {"reference": ref + "x" if mutate else ref, "idempotency_key": key}
    card = s.card_number or CARDS[0]
    if mutate:
        card = CARDS[1] if card == CARDS[0] else CARDS[0]
    if operation is Operation.CHANGE_PIN:  # the PINs are not judged by the gate, so never mutated here
        return {"card_number": card, "current_pin": "802731", "new_pin": "135790", "idempotency_key": key}
    if operation is Operation.REPORT_LOSS:
        kind = s.loss_kind or LossKind.TEMPORARY
        if mutate == "amount":  # reuse the draw: change the kind instead of the card
            card, kind = (
                s.card_number or CARDS[0],
                (LossKind.FORMAL if kind is LossKind.TEMPORARY else LossKind.TEMPORARY),
            )
        return {"card_number": card, "kind": kind, "idempotency_key": key}
    return {"card_number": card, "idempotency_key": key}


class GateInvariant(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.gate = Gate(
            PACK, embedder=EMBEDDER, embedding_cache=MODELS / "fraud-exemplars", clock=lambda: self.now
        )
        self.log: list[tuple[str, str, str, str]] = []
        self.cores = {s: RecordingCore(s, self.log) for s in SESSIONS}
        self.guards = {s: GuardedCoreBanking(self.cores[s], self.gate, s) for s in SESSIONS}  # type: ignore[arg-type]
        self.issued: dict[str, Issued] = {}
        self.allowed_hashes: set[tuple[str, str, str]] = (
            set()
        )  # (session, operation, params_hash) ever permitted
        self.checks = 0

    @rule(
        data=st.data(),
        checkpoint=st.one_of(
            st.sampled_from(sorted(PACK.checkpoints)),
            st.sampled_from(sorted(c for c, spec in PACK.checkpoints.items() if spec.authorises is not None)),
        ),
    )
    def check(self, data: st.DataObject, checkpoint: str) -> None:
        ctx = data.draw(contexts(checkpoint, self.now))
        verdict = self.gate.check(checkpoint, ctx)
        self.checks += 1
        if verdict.permit is not None:
            assert verdict.outcome.value == "allow"
            if Operation(verdict.permit.operation) in CONFIRMED_OPERATIONS:
                assert ctx.slots.confirmation is not None, "a permit without the customer's explicit yes"
            assert verdict.permit.session_id == ctx.session.session_id
            self.issued[verdict.permit.permit_id] = Issued(verdict.permit, ctx)
            self.allowed_hashes.add(
                (ctx.session.session_id, verdict.permit.operation, verdict.permit.params_hash)
            )

    @rule(seconds=st.sampled_from([1, 30, PACK.document.permit_ttl_seconds + 1]))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @precondition(lambda self: self.checks > 0)
    @rule(
        data=st.data(),
        session=st.sampled_from(SESSIONS),
        operation=st.sampled_from(list(Operation)),
        key=st.sampled_from(KEYS),
        mutate=st.sampled_from([None, None, "amount", "payee", "arrival"]),
        permit_kind=st.sampled_from(["issued", "issued", "issued", "none", "forged"]),
        failure=st.sampled_from([None, None, "unknown", "unavailable", "funds"]),
    )
    def call(
        self,
        data: st.DataObject,
        session: str,
        operation: Operation,
        key: str,
        mutate: str | None,
        permit_kind: str,
        failure: str | None,
    ) -> None:
        entry: Issued | None = None
        permit: Permit | None = None
        if permit_kind != "none" and self.issued:
            entry = self.issued[data.draw(st.sampled_from(sorted(self.issued)))]
            permit = entry.permit
            if permit_kind == "forged":
                permit = permit.model_copy(update={"expires_at": permit.expires_at + timedelta(days=1)})
        if entry is not None and data.draw(st.booleans(), label="aim at the permit"):
            operation, session = Operation(entry.permit.operation), entry.permit.session_id
        ctx = entry.ctx if entry is not None else data.draw(contexts("transfer.execute", self.now))
        arguments = call_arguments(operation, ctx, key, mutate)
        digest = params_hash(
            call_params(operation, **{k: v for k, v in arguments.items() if k != "idempotency_key"})
        )

        expected = (
            entry is not None
            and permit_kind == "issued"
            and entry.permit.session_id == session
            and entry.permit.operation == operation.value
            and entry.permit.params_hash == digest
            and not entry.used
            and (
                (entry.first_key is None and self.now <= entry.permit.expires_at)
                or (entry.first_key == key and entry.retry_ok)
            )
        )
        injected = {
            "unknown": OutcomeUnknown("timeout"),
            "unavailable": Unavailable("down"),
            "funds": InsufficientFunds("no money"),
            None: None,
        }[failure]
        self.cores[session].fail_with = [injected]
        before = len(self.log)
        try:
            getattr(self.guards[session], operation.value)(**arguments, permit=permit)
        except ComplianceViolation:
            pass
        except (OutcomeUnknown, Unavailable, InsufficientFunds):
            pass
        reached = len(self.log) > before
        event(f"core reached: {reached}; permit: {permit_kind}; mutated: {mutate is not None}")
        assert reached == expected, (operation, permit_kind, mutate, session, entry)
        if reached and entry is not None:
            entry.first_key = key
            entry.retry_ok = failure in ("unknown", "unavailable")
            entry.used = not entry.retry_ok

    @invariant()
    def every_core_call_had_a_matching_allow(self) -> None:
        for session, operation, digest, _key in self.log:
            assert (session, operation, digest) in self.allowed_hashes


GateInvariant.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestGateInvariant = GateInvariant.TestCase
