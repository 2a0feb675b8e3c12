"""Random sequences of operations (hypothesis) never unbalance the ledger or overdraw an account."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_world import FAST, FakeClock, World, build_world
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from vtm.banking.errors import CoreBankingError, IdempotencyConflict
from vtm.banking.models import Arrival, TransferRequest
from vtm.banking.sandbox import SandboxBank, create_bank_engine
from vtm.banking.sandbox.ledger import check_ledger

W = World()
PAYEES = [
    (W.li_account, "李娜", "示例银行"),
    (W.zhang_savings, "张伟", "示例银行"),
    (W.wang_account, "王秀英", "示例银行"),
    (W.icbc_account, W.icbc_holder, "中国工商银行"),
    (W.unknown_icbc_account, "某人", "ICBC"),
]
PAYERS = [W.zhang_account, W.li_account, W.wang_account, W.zhang_savings]

transfer_op = st.tuples(
    st.just("transfer"),
    st.sampled_from(PAYERS),
    st.sampled_from(PAYEES),
    st.integers(min_value=1, max_value=3_000_000).map(lambda fen: Decimal(fen) / 100),
    st.sampled_from(list(Arrival)),
)
ops = st.lists(
    st.one_of(
        transfer_op,
        st.tuples(st.just("revoke"), st.integers(min_value=0, max_value=50)),
        st.tuples(st.just("repeat"), st.integers(min_value=0, max_value=50)),
        st.tuples(st.just("advance"), st.integers(min_value=1, max_value=30)),
        st.tuples(st.just("settle")),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_random_operations_keep_the_ledger_balanced(sequence: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_bank_engine(f"sqlite:///{Path(tmp) / 'bank.sqlite3'}")
        build_world(engine)
        clock = FakeClock()
        bank = SandboxBank(engine, clock=clock, policy=FAST)
        requests: list[TransferRequest] = []
        references: list[str] = []
        for n, op in enumerate(sequence):
            try:
                if op[0] == "transfer":
                    _, payer, (to, name, bank_name), amount, arrival = op
                    request = TransferRequest(
                        idempotency_key=f"prop-key-{n:04d}",
                        from_account=payer,
                        to_account=to,
                        payee_name=name,
                        payee_bank=bank_name,
                        amount=amount,
                        arrival=arrival,
                    )
                    result = bank.transfer(request)
                    requests.append(request)
                    references.append(result.reference)
                elif op[0] == "revoke" and references:
                    bank.revoke_transfer(references[int(op[1]) % len(references)], f"prop-revoke-{n:04d}")
                elif op[0] == "repeat" and requests:
                    request = requests[int(op[1]) % len(requests)]
                    before = bank.transfer_status(request.idempotency_key)
                    assert bank.transfer(request) == before
                elif op[0] == "advance":
                    clock.advance(hours=int(op[1]))
                elif op[0] == "settle":
                    bank.settle_due()
            except IdempotencyConflict:
                raise
            except CoreBankingError:
                pass  # refusals (insufficient funds, same account, not revocable) are legitimate outcomes
        clock.advance(days=2)
        bank.settle_due()
        with Session(engine) as session:
            check = check_ledger(session)
        engine.dispose()
    assert check.ok, check


def test_clearing_account_is_empty_once_everything_has_settled(
    bank: SandboxBank, world: World, clock: FakeClock, engine: Engine
) -> None:
    from sqlalchemy import func, select

    from vtm.banking.sandbox.ledger import CLEARING
    from vtm.banking.sandbox.schema import PostingRow

    for i, (to, name, bank_name) in enumerate(PAYEES):
        bank.transfer(
            TransferRequest(
                idempotency_key=f"clear-key-{i}",
                from_account=world.zhang_account,
                to_account=to,
                payee_name=name,
                payee_bank=bank_name,
                amount=Decimal("5"),
            )
        )
    clock.advance(days=1)
    assert bank.settle_due() == len(PAYEES) - 1  # the own-account one posted at once
    with Session(engine) as session:
        clearing = session.scalar(
            select(func.sum(PostingRow.amount_fen)).where(PostingRow.account_number == CLEARING)
        )
    assert clearing == 0
