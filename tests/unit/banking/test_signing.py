"""Request signing primitives: the signed bytes, the replay cache, and credentials from the settings."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from vtm.banking.credentials import CredentialConfigError, kiosk_credential, kiosk_key_table
from vtm.banking.signing import (
    KioskKey,
    KioskKeyTable,
    NonceCache,
    NonceVerdict,
    canonical_request,
    signature_matches,
    signed_headers,
)
from vtm.config import Settings

KEY = bytes(range(32))


def test_the_signature_covers_method_target_time_nonce_and_body() -> None:
    message = canonical_request("VTM-0001", "post", b"/v1/transfers?x=1", "1750000000", "n" * 22, b"{}")
    assert message == (
        b"VTM1-HMAC-SHA256\nVTM-0001\nPOST\n/v1/transfers?x=1\n1750000000\n" + b"n" * 22 + b"\n"
        + hashlib.sha256(b"{}").hexdigest().encode()
    )
    headers = signed_headers(KioskKey("VTM-0001", KEY), "POST", b"/v1/transfers?x=1", b"{}",
                             now=1750000000.7, nonce="n" * 22)
    assert headers["x-vtm-timestamp"] == "1750000000"
    assert headers["x-vtm-signature"] == hmac.new(KEY, message, hashlib.sha256).hexdigest()
    assert signature_matches(KEY, message, headers["x-vtm-signature"])
    for changed in (b"/v1/transfers?x=2", b"/v1/transfers"):
        other = canonical_request("VTM-0001", "POST", changed, "1750000000", "n" * 22, b"{}")
        assert not signature_matches(KEY, other, headers["x-vtm-signature"])


def test_two_requests_never_share_a_nonce() -> None:
    credential = KioskKey("VTM-0001", KEY)
    nonces = {signed_headers(credential, "GET", b"/", b"")["x-vtm-nonce"] for _ in range(200)}
    assert len(nonces) == 200


def test_a_key_never_shows_in_repr_and_short_keys_or_odd_ids_are_refused() -> None:
    assert KEY.hex() not in repr(KioskKey("VTM-0001", KEY))
    with pytest.raises(ValueError, match="shorter"):
        KioskKey("VTM-0001", b"short")
    with pytest.raises(ValueError, match="kiosk id"):
        KioskKey("VTM 0001\n", KEY)
    with pytest.raises(ValueError, match="twice"):
        KioskKeyTable([KioskKey("A", KEY), KioskKey("A", KEY)])
    with pytest.raises(ValueError, match="at least one"):
        KioskKeyTable([])


def test_a_nonce_is_refused_twice_while_its_timestamp_is_acceptable() -> None:
    cache = NonceCache(window_s=60)
    assert cache.check_and_remember("A", "nonce-0000000001", 1000, now=1000) is NonceVerdict.FRESH
    assert cache.check_and_remember("A", "nonce-0000000001", 1000, now=1030) is NonceVerdict.REPLAYED
    assert cache.check_and_remember("B", "nonce-0000000001", 1000, now=1030) is NonceVerdict.FRESH
    cache.check_and_remember("A", "nonce-0000000002", 1100, now=1100)  # expires what is older than 1040
    assert len(cache) == 1


def test_a_full_cache_stays_bounded_and_never_readmits_an_evicted_nonce() -> None:
    cache = NonceCache(window_s=600, capacity=3)
    for i in range(3):
        assert cache.check_and_remember("A", f"nonce-00000000{i:02d}", 1000 + i, now=1005) is NonceVerdict.FRESH
    assert cache.check_and_remember("A", "nonce-0000000099", 1004, now=1005) is NonceVerdict.FRESH
    assert len(cache) == 3
    # nonce 00 (stamped 1000) was evicted: its replay is refused by the floor, not accepted
    assert cache.check_and_remember("A", "nonce-0000000000", 1000, now=1006) is NonceVerdict.TOO_OLD
    assert cache.check_and_remember("A", "nonce-0000000100", 1000, now=1006) is NonceVerdict.TOO_OLD


def test_the_servers_kiosks_come_from_the_settings(tmp_path: Path) -> None:
    other = "ab" * 16
    settings = Settings(data_dir=tmp_path, kiosk_id="VTM-0001", bank_api_kiosks={"VTM-0002": other},
                        bank_api_kiosk_scopes={"VTM-0002": ["records"]})
    with pytest.raises(CredentialConfigError, match="key file missing"):
        kiosk_key_table(settings, create=False)
    own = kiosk_credential(settings)  # the dev key file, made on first use
    assert (tmp_path / "keys" / "bank_api.key").stat().st_mode & 0o777 == 0o600
    table = kiosk_key_table(settings, create=False)
    assert table.kiosk_ids == {"VTM-0001", "VTM-0002"}
    assert table.get("VTM-0001") == own
    second = table.get("VTM-0002")
    assert second is not None
    assert second.key == bytes.fromhex(other)
    assert second.allows("records")
    assert not second.allows("transfers")


@pytest.mark.parametrize(("kiosks", "scopes", "problem"), [
    ({"VTM-0002": "zz"}, {}, "not hex"),
    ({"VTM-0002": "ab" * 4}, {}, "shorter"),
    ({}, {"VTM-0009": ["records"]}, "without a key"),
    ({}, {"VTM-0001": ["everything"]}, "unknown route groups"),
])
def test_unusable_key_settings_are_named(tmp_path: Path, kiosks: dict[str, str], scopes: dict[str, list[str]],
                                         problem: str) -> None:
    settings = Settings(data_dir=tmp_path, bank_api_key="cd" * 16, bank_api_kiosks=kiosks,
                        bank_api_kiosk_scopes=scopes)
    with pytest.raises(CredentialConfigError, match=problem):
        kiosk_key_table(settings)
