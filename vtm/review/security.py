"""CSRF token checks for the review app.

Every form carries the login session's token (or, for the login form itself, a token also set
as a cookie: double submit); :func:`tokens_match` compares in constant time. Login rate limiting
is in :mod:`vtm.review.login_limits`, the client address rule in :mod:`vtm.review.proxies`.
"""

from __future__ import annotations

import hmac

__all__ = ["tokens_match"]


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
