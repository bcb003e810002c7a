"""How a run reaches the API: which proxy (if any) and which certificates are trusted.

Proxy, in this order (the first that gives one wins):

    --proxy URL / run_import(proxy=...)    "none" means a direct connection whatever the environment
    the mapping file's ``proxy`` option
    HTTPS_PROXY (https targets) or HTTP_PROXY (http targets), then ALL_PROXY,
    lower-case names first, as curl and httpx read them; NO_PROXY lists the hosts reached directly

NO_PROXY entries, comma separated: ``*`` (every host), a host name (also matches its sub-domains,
with or without a leading dot), an IP address or network (``10.0.0.0/8``), each optionally with
``:port``. Proxies are spoken to over ``http://``; ``user:password@`` in the URL is sent as Basic
proxy authentication. The password never leaves this module except in that header: every text
shows the proxy as :attr:`Proxy.display` (``http://user:***@host:port``).

Certificates: the operating system's trust store (the truststore package, as pip uses), plus the
certificates of ``--ca-bundle FILE`` when given (a company root certificate, a private CA), else
of the file REQUESTS_CA_BUNDLE names (the variable IT departments set for Python tools).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from importer.errors import ConfigurationError

__all__ = [
    "NetworkSettings",
    "Proxy",
    "bypasses_proxy",
    "choose_proxy",
    "network_settings",
    "parse_proxy",
    "trust_context",
]

DIRECT = ("none", "direct")
PROXY_HINT = "give it as http://[USER:PASSWORD@]HOST:PORT"


@dataclass(frozen=True)
class Proxy:
    """A forward proxy: where it is, its credentials and where the setting came from."""

    host: str
    port: int
    source: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """``host:port`` (for messages)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def display(self) -> str:
        """The proxy URL with the password masked: safe for messages, manifests and logs."""
        user = f"{self.username}:***@" if self.username is not None else ""
        return f"http://{user}{self.address}"

    @property
    def authorization(self) -> bytes | None:
        """The ``Proxy-Authorization`` header value, or None without credentials."""
        if self.username is None:
            return None
        pair = f"{self.username}:{self.password or ''}".encode()
        return b"Basic " + base64.b64encode(pair)

    def __str__(self) -> str:
        return self.display


@dataclass(frozen=True)
class NetworkSettings:
    """The proxy and the certificates a run uses to reach its API URL."""

    proxy: Proxy | None = None
    ca_bundle: Path | None = None
    tls: ssl.SSLContext | None = field(default=None, repr=False)

    def describe(self) -> dict[str, str | None]:
        """For the manifest: the proxy (password masked), where it came from, what is trusted."""
        trust = "system trust store"
        if self.ca_bundle is not None:
            trust += f" + {self.ca_bundle}"
        return {
            "proxy": self.proxy.display if self.proxy else None,
            "proxy_from": self.proxy.source if self.proxy else None,
            "trust": trust,
        }


def network_settings(
    api_url: str,
    *,
    proxy: str | None = None,
    proxy_source: str = "--proxy",
    ca_bundle: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> NetworkSettings:
    """Settle the proxy and trust for ``api_url`` before anything is sent (bad input: exit 2)."""
    chosen = choose_proxy(api_url, proxy=proxy, source=proxy_source, environ=environ)
    source = "--ca-bundle"
    if not ca_bundle:
        environ = os.environ if environ is None else environ
        ca_bundle, source = _environment_value(environ, "requests_ca_bundle"), "REQUESTS_CA_BUNDLE"
    bundle = Path(ca_bundle) if ca_bundle else None
    tls = trust_context(bundle, source) if urlsplit(api_url).scheme == "https" else None
    if tls is None and bundle is not None:
        trust_context(bundle, source)  # check the file now: a typo should not wait for https
    return NetworkSettings(proxy=chosen, ca_bundle=bundle, tls=tls)


def choose_proxy(
    url: str,
    *,
    proxy: str | None = None,
    source: str = "--proxy",
    environ: Mapping[str, str] | None = None,
) -> Proxy | None:
    """The proxy for ``url``: the given one, else the environment's (see the module docstring)."""
    if proxy is not None and proxy.strip():
        if proxy.strip().lower() in DIRECT:
            return None
        return parse_proxy(proxy, source=source)
    environ = os.environ if environ is None else environ
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    names = ("https_proxy", "all_proxy") if scheme == "https" else ("http_proxy", "all_proxy")
    for name in names:
        value = _environment_value(environ, name)
        if value is None:
            continue
        port = parts.port or (443 if scheme == "https" else 80)
        no_proxy = _environment_value(environ, "no_proxy") or ""
        if bypasses_proxy(parts.hostname or "", port, no_proxy):
            return None
        return parse_proxy(value, source=name.upper())
    return None


def parse_proxy(text: str, *, source: str) -> Proxy:
    """A proxy URL -> :class:`Proxy`; no scheme means ``http://`` (as curl reads it)."""
    raw = text.strip()
    if "://" not in raw:
        raw = "http://" + raw
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(
            f"the proxy URL from {source} has a port that is not a number", hint=PROXY_HINT
        ) from None
    if not parts.hostname:
        raise ConfigurationError(f"the proxy URL from {source} has no host", hint=PROXY_HINT)
    if scheme != "http":
        raise ConfigurationError(
            f"the proxy from {source} is a {scheme}:// proxy; keen-import talks to proxies "
            "over http:// (https targets still go through it encrypted, with CONNECT)",
            hint=PROXY_HINT,
        )
    return Proxy(
        host=parts.hostname,
        port=port or 80,
        source=source,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def bypasses_proxy(host: str, port: int, no_proxy: str) -> bool:
    """True when NO_PROXY says ``host:port`` is reached directly."""
    host = host.strip("[]").lower().rstrip(".")
    for entry in no_proxy.replace(" ", ",").split(","):
        entry = entry.strip().lower()
        if entry == "*":
            return True
        name, entry_port = _split_port(entry)
        if not name or (entry_port is not None and entry_port != port):
            continue
        if _same_network(host, name):
            return True
        name = name.removeprefix("*").lstrip(".").rstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def trust_context(ca_bundle: Path | None = None, source: str = "--ca-bundle") -> ssl.SSLContext:
    """A TLS client context trusting the operating system's store (plus ``ca_bundle``, given
    by ``source``: the option or the environment variable, named in errors)."""
    import truststore

    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_bundle is None:
        return context
    if not ca_bundle.is_file():
        raise ConfigurationError(
            f"{source} {ca_bundle}: no such file",
            hint="give the company or private root certificate as a PEM file",
        )
    try:
        context.load_verify_locations(cafile=str(ca_bundle))
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        raise ConfigurationError(
            f"{source} {ca_bundle} holds no certificate keen-import can read ({reason})",
            hint="the file must be PEM text with -----BEGIN CERTIFICATE----- blocks"
            + (_DER_HINT if _is_der(ca_bundle) else ""),
        ) from None
    return context


_DER_HINT = (
    "; this one is binary (DER, as Windows exports a .cer): export it again as "
    '"Base-64 encoded X.509", or convert it: openssl x509 -inform der -in FILE -out FILE.pem'
)


def _is_der(path: Path) -> bool:
    """True when the file starts as a binary (DER) certificate does: an ASN.1 SEQUENCE."""
    try:
        with open(path, "rb") as handle:
            return handle.read(1) == b"\x30"
    except OSError:
        return False


def _environment_value(environ: Mapping[str, str], name: str) -> str | None:
    for key in (name.lower(), name.upper()):
        value = environ.get(key, "").strip()
        if value:
            return value
    return None


def _split_port(entry: str) -> tuple[str, int | None]:
    """``host:port``, ``[v6]:port``, a bare IPv6 address or a network -> (host, port)."""
    if entry.startswith("["):
        name, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":")
        return name, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, int(port) if port.isdigit() else None
    return entry, None


def _same_network(host: str, entry: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
        network = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return address.version == network.version and address in network
