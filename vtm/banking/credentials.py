"""Kiosk credentials for the core-bank API, read from the settings and the key files.

* The kiosk signs as ``settings.kiosk_id`` with ``settings.bank_api_key`` (hex) or, when that is
  unset, the key file ``<keys_dir>/bank_api.key`` (created on first use in development; see
  :mod:`vtm.keys`).
* ``vtm bank serve`` accepts that same kiosk plus every entry of ``settings.bank_api_kiosks``
  (kiosk id -> hex key); ``settings.bank_api_kiosk_scopes`` limits a kiosk to some route groups.

Usage::

    credential = kiosk_credential(settings)              # on the kiosk
    table = kiosk_key_table(settings, create=False)      # on a bank server that must be provisioned
"""

from __future__ import annotations

from vtm.banking.signing import KioskKey, KioskKeyTable
from vtm.config import Settings
from vtm.keys import KeyFileError, load_key

__all__ = ["KEY_NAME", "ROUTE_SCOPES", "CredentialConfigError", "kiosk_credential", "kiosk_key_table"]

KEY_NAME = "bank_api"
ROUTE_SCOPES = frozenset({"identity", "cards", "accounts", "transfers", "records"})
"""The API's route groups (its OpenAPI tags), which a kiosk's scopes name."""


class CredentialConfigError(Exception):
    """The API keys or scopes in the settings are unusable; the message names the setting."""


def kiosk_credential(settings: Settings, *, create: bool = True) -> KioskKey:
    """This kiosk's signing credential (``create``: make the dev key file if it is missing)."""
    try:
        key = load_key(settings.keys_dir, KEY_NAME, configured=settings.bank_api_key, create=create)
        return KioskKey(settings.kiosk_id, key, _scopes(settings, settings.kiosk_id))
    except (KeyFileError, ValueError) as exc:
        raise CredentialConfigError(f"VTM_BANK_API_KEY / {settings.keys_dir}: {exc}") from exc


def kiosk_key_table(settings: Settings, *, create: bool = True) -> KioskKeyTable:
    """Every kiosk a bank server accepts: ``kiosk_id`` (as :func:`kiosk_credential`) and ``bank_api_kiosks``."""
    entries = [kiosk_credential(settings, create=create)]
    for kiosk_id, hex_key in settings.bank_api_kiosks.items():
        try:
            key = load_key(settings.keys_dir, KEY_NAME, configured=hex_key, create=False)
            entries.append(KioskKey(kiosk_id, key, _scopes(settings, kiosk_id)))
        except (KeyFileError, ValueError) as exc:
            raise CredentialConfigError(f"VTM_BANK_API_KIOSKS[{kiosk_id}]: {exc}") from exc
    unknown_kiosks = set(settings.bank_api_kiosk_scopes) - {entry.kiosk_id for entry in entries}
    if unknown_kiosks:
        raise CredentialConfigError(f"VTM_BANK_API_KIOSK_SCOPES names kiosks without a key: {sorted(unknown_kiosks)}")
    try:
        return KioskKeyTable(entries)
    except ValueError as exc:
        raise CredentialConfigError(f"VTM_BANK_API_KIOSKS: {exc}") from exc


def _scopes(settings: Settings, kiosk_id: str) -> frozenset[str] | None:
    listed = settings.bank_api_kiosk_scopes.get(kiosk_id)
    if listed is None:
        return None
    unknown = set(listed) - ROUTE_SCOPES
    if unknown:
        raise CredentialConfigError(
            f"VTM_BANK_API_KIOSK_SCOPES[{kiosk_id}]: unknown route groups {sorted(unknown)}; "
            f"use {sorted(ROUTE_SCOPES)}"
        )
    return frozenset(listed)
