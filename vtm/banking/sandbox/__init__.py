"""The sandbox core bank: customers, cards, accounts and a double-entry ledger on a real database.

Usage::

    from vtm.banking.sandbox import SandboxBank, SandboxPolicy, create_bank_engine
    from vtm.banking.sandbox.seed import seed_demo_bank

    engine = create_bank_engine("sqlite:///bank.sqlite3")
    cards = seed_demo_bank(engine, today=date.today(), reset=True)
    bank = SandboxBank(engine)
"""

from vtm.banking.sandbox.bank import SandboxBank
from vtm.banking.sandbox.engine import create_bank_engine, drop_bank_schema
from vtm.banking.sandbox.policy import SandboxPolicy

__all__ = ["SandboxBank", "SandboxPolicy", "create_bank_engine", "drop_bank_schema"]
