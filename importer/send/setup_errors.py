"""Failures of the network set-up: the contract every transport under the client keeps.

Until the API has answered once, :class:`~importer.send.client.KeenClient` turns an exception
with ``setup = True`` into one :class:`~importer.errors.NetworkError` (one message, exit 2,
nothing sent); every other transport error is classified and, before a write, retried. So each
transport raises these classes for the failures every later request would meet too:

    CertificateError   httpx.ConnectError   the TLS handshake with the API failed       setup
    ProxyUnreachable   httpx.ProxyError     the proxy refused or timed out the connect  setup
    ProxyRefused       httpx.ProxyError     the proxy answered itself with a 4xx (407)  setup
                                            ... or with a 5xx (it cannot reach the API) retried

:class:`~importer.send.transport.Http11Transport` raises them where it meets the failure;
:class:`~importer.send.httpx_transport.HttpxTransport` is httpx's own transport with its
exceptions translated. tests/send/test_transport_contract.py runs the same failure cases
against every kind :func:`~importer.send.client.make_transport` makes.

The texts name hosts and the proxy's address, never its password.
"""

from __future__ import annotations

import ssl

import httpx

from importer.send.network import Proxy

__all__ = ["PROXY_AUTH", "CertificateError", "ProxyRefused", "ProxyUnreachable"]

PROXY_AUTH = "Proxy Authentication Required"
_TLS_HINT = (
    "nothing was sent. If your company inspects HTTPS with its own root certificate, give that "
    "certificate with --ca-bundle FILE (PEM); check the proxy settings too (--proxy, HTTPS_PROXY, "
    "NO_PROXY)"
)


class CertificateError(httpx.ConnectError):
    """The TLS handshake with the API failed (most often: its certificate does not verify)."""

    setup = True

    def __init__(self, host: str, port: int, exc: ssl.SSLError, proxy: Proxy | None) -> None:
        if isinstance(exc, ssl.SSLCertVerificationError):
            problem = exc.verify_message or exc.reason or "certificate verify failed"
            text = f"the certificate of {host} could not be verified: {problem}"
        else:
            problem = exc.reason or str(exc) or type(exc).__name__
            text = f"the TLS handshake with {host}:{port} failed: {problem}"
        if proxy is not None:
            text += f" (reached through the proxy {proxy.address} from {proxy.source})"
        super().__init__(text)
        self.host, self.port, self.problem = host, port, problem
        self.hint = _TLS_HINT


class ProxyUnreachable(httpx.ProxyError):
    """The proxy itself could not be reached: nothing was sent."""

    setup = True

    def __init__(self, proxy: Proxy, reason: str) -> None:
        super().__init__(f"cannot reach the proxy {proxy.address} (from {proxy.source}): {reason}")
        self.proxy = proxy
        self.hint = (
            f"nothing was sent. Check the proxy in {proxy.source}; if the API is reached without "
            "a proxy here, use --proxy none or list its host in NO_PROXY"
        )


class ProxyRefused(httpx.ProxyError):
    """The proxy answered the CONNECT (or a forwarded request) itself: nothing reached the API.

    A 4xx refusal (407 credentials, 403 a blocked host) is a set-up failure; a 5xx is the proxy
    failing to reach the API, retried like a connection error."""

    def __init__(
        self,
        proxy: Proxy,
        status: int,
        reason: str,
        host: str,
        port: int,
        schemes: tuple[str, ...] = (),
    ) -> None:
        self.proxy, self.status = proxy, status
        self.setup = 400 <= status < 500
        reason = "".join(c for c in reason.strip() if c.isprintable())[:80]  # the proxy's words
        text, self.hint = _refusal(proxy, status, reason, f"{host}:{port}", schemes)
        super().__init__(text)


def _refusal(
    proxy: Proxy, status: int, reason: str, target: str, schemes: tuple[str, ...]
) -> tuple[str, str]:
    """The message and hint of a proxy's refusal. ``schemes``: the sign-ins a 407 offers
    (its Proxy-Authenticate headers), when the transport could read them."""
    where = f"the proxy {proxy.address} (from {proxy.source})"
    if status != 407:
        host = target.rpartition(":")[0]
        return (
            f"{where} refused to connect to {target}: {status} {reason}".rstrip(),
            f"nothing was sent. Ask your network team whether {host} is allowed",
        )
    if schemes and not any(s.lower() == "basic" for s in schemes):
        # NTLM/Negotiate: Windows' own sign-in, common on company proxies, which needs the
        # operating system's help this tool does not take.
        return (
            f"{where} asks for a Windows sign-in ({', '.join(schemes)}), which keen-import "
            f"cannot give: 407 {PROXY_AUTH}",
            "nothing was sent. Ask your network team for a proxy that takes a user name and "
            "password (Basic), or for the API's host to be reached without the proxy (then "
            "--proxy none, or the host in NO_PROXY)",
        )
    if proxy.username is None:
        return (
            f"{where} wants credentials: 407 {PROXY_AUTH}",
            "nothing was sent. Put the proxy credentials in its URL: "
            f"http://USER:PASSWORD@{proxy.address} (in {proxy.source})",
        )
    return (
        f"{where} refused the credentials of user {proxy.username!r}: 407 {PROXY_AUTH}",
        f"nothing was sent. Check the user name and password in {proxy.source}; in the URL, "
        "write @ : % / as %40 %3A %25 %2F; a Windows domain user is DOMAIN%5Cuser",
    )
