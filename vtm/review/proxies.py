"""Whose address is the client's: ``X-Forwarded-For`` is believed only from configured proxies.

Left to its defaults, uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 (or from whatever
``$FORWARDED_ALLOW_IPS`` says): anyone who reaches the app through a local port, or a proxy that
passes the header on unchanged, could then name any address he likes and rotate it past the
per-address login limit.

So exactly one rule decides, and it lives in the app, not in the server:

* :func:`install_proxy_rule` puts uvicorn's own ``ProxyHeadersMiddleware`` (maintained, walks the
  header from the right and stops at the first untrusted hop) at the front of the app, trusting
  only ``Settings.review_trusted_proxies`` (default: nobody). From any other peer the header is
  ignored and the TCP peer is the client.
* :func:`server_config` starts uvicorn with its own proxy handling *off*, so a forwarded address
  is never believed before the app's rule runs. Tests drive the same app through the same rule.
* :func:`client_address` is what the login limiter and the logs use.

Configure, for a reverse proxy at 10.0.0.5 (JSON list; addresses or networks)::

    VTM_REVIEW_TRUSTED_PROXIES='["10.0.0.5"]' vtm review --host 0.0.0.0

An ASGI server other than ``vtm review`` must likewise be told not to rewrite the client address.
"""

from __future__ import annotations

from collections.abc import Sequence

import uvicorn
from fastapi import FastAPI, Request
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

__all__ = ["UNKNOWN_CLIENT", "client_address", "install_proxy_rule", "server_config"]

UNKNOWN_CLIENT = "unknown"


def install_proxy_rule(app: FastAPI, trusted_proxies: Sequence[str]) -> None:
    """Believe forwarded client addresses only from ``trusted_proxies`` (IP addresses or networks)."""
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))


def client_address(request: Request) -> str:
    """The client's address as settled by the proxy rule (the TCP peer unless a trusted proxy said)."""
    return request.client.host if request.client and request.client.host else UNKNOWN_CLIENT


def server_config(app: FastAPI, *, host: str, port: int, log_level: str = "info") -> uvicorn.Config:
    """uvicorn's configuration for the review app: proxy headers are the app's business only."""
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, proxy_headers=False)
