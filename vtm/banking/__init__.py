"""Core-banking boundary: the port, its typed values and errors, and two adapters."""

from vtm.banking.errors import CoreBankingError
from vtm.banking.port import CoreBanking

__all__ = ["CoreBanking", "CoreBankingError"]
