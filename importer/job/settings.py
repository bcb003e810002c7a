"""SendSettings: where and how a job sends (the target, the key, the ledger, the pace, the
network), checked before anything is read for sending."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from importer.check.mapping import Mapping
from importer.errors import ConfigurationError
from importer.ledger import LedgerLocation
from importer.ledger.location import is_loopback, ledger_for
from importer.send.credentials import clean_api_key
from importer.send.network import NetworkSettings, network_settings


@dataclass
class SendSettings:
    """Where and how a job sends. The key is never written anywhere (nor shown in repr)."""

    #: The Keen API base URL, such as DEFAULT_API_URL (a bare host gets the documented path).
    api_url: str
    api_key: str = field(repr=False)
    #: The account the ledger files purchases under (default: ``api_url``).
    target: str | None = None
    #: A SQLite file or PostgreSQL URL (default: KEEN_IMPORT_LEDGER, else the per-user one).
    ledger: str | Path | None = None
    #: Check online: every row goes to the API's dry-run mode; nothing is created.
    dry_run: bool = False
    #: Send rows an earlier run created with other content as new purchases (by default they
    #: are held: see importer.send.changed).
    resend_changed: bool = False
    concurrency: int = 8  # requests in flight
    rate: float | None = None  # requests per second at most
    max_retries: int = 5
    timeout: float = 30.0  # seconds per request
    #: Allow plain http to a host that is not this machine (the key would travel unencrypted).
    insecure: bool = False
    transport: Any = None  # an httpx transport (tests, embedders); default: the tool's own
    #: Ctrl-C stops the send (first: no new rows, requests in flight finish; second: at once).
    handle_signals: bool = False
    client_options: dict[str, Any] = field(default_factory=dict)
    #: A proxy URL (may hold a password) or "none"; default: the mapping's, then HTTPS_PROXY.
    proxy: str | None = field(default=None, repr=False)
    proxy_source: str = "--proxy"
    ca_bundle: str | Path | None = None  # a PEM file trusted besides the system's store
    network: NetworkSettings | None = None  # settled by checked()

    def with_mapping(self, mapping: Mapping | None) -> SendSettings:
        """These settings with the mapping file's proxy and CA bundle where none is given."""
        if mapping is None:
            return self
        chosen = self
        if self.proxy is None and mapping.proxy:
            chosen = replace(chosen, proxy=mapping.proxy, proxy_source=MAPPING_PROXY)
        if self.ca_bundle is None and mapping.ca_bundle:
            chosen = replace(chosen, ca_bundle=mapping.ca_bundle)
        return chosen

    def checked(self) -> SendSettings:
        """These settings with the URL checked (and completed) and the network settled;
        ConfigurationError when the key is missing or a value is unsafe or out of range."""
        api_key = clean_api_key(self.api_key)
        if not api_key:
            raise ConfigurationError(
                "no API key: set KEEN_API_KEY or use --api-key-file PATH",
                hint="the key is a UUID from Settings > API keys in the Keen dashboard",
            )
        api_url = check_api_url(self.api_url, insecure=self.insecure)
        rate = self.rate
        if (
            self.concurrency < 1
            or self.max_retries < 0
            or self.timeout <= 0
            or (rate is not None and rate <= 0)
        ):
            raise ConfigurationError("--concurrency, --rate and --timeout must be positive")
        network = network_settings(
            api_url, proxy=self.proxy, proxy_source=self.proxy_source, ca_bundle=self.ca_bundle
        )
        return replace(self, api_url=api_url, api_key=api_key, network=network)

    @property
    def ledger_target(self) -> str:
        """The account the ledger files purchases under: rows created against one target are
        never taken as created against another. Never the API key (a new key is the same
        account)."""
        return self.target or self.api_url

    def ledger_location(self) -> LedgerLocation:
        """The ledger of this send (see :func:`ledger_for`)."""
        return ledger_for(self.api_url, target=self.target, ledger=self.ledger)

    def manifest_options(self, resend_unconfirmed: bool) -> dict[str, Any]:
        """The sending options for the manifest (no key)."""
        return {
            "concurrency": self.concurrency,
            "rate": self.rate,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "resend_unconfirmed": resend_unconfirmed,
            "resend_changed": self.resend_changed,
            **(self.network or NetworkSettings()).describe(),
        }


#: Where a proxy taken from the mapping file came from (for its error messages).
MAPPING_PROXY = "the mapping file's proxy option"


def check_api_url(url: str, *, insecure: bool = False) -> str:
    """The API URL in the one form the ledger files purchases under (scheme and host in lower
    case, no default port, no trailing slash: another spelling of the same endpoint must not
    send its purchases again). Refuses URLs that would leak a secret: plain http to anything
    but loopback, a user name, password or query in the URL (it would be kept in the manifest
    and the ledger)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        # Without a host it may be anything pasted there (the API key itself): never shown.
        shown = f" {_shown_url(parts)!r}" if parts.hostname else ""
        raise ConfigurationError(
            f"the API URL{shown} is not an http(s) URL",
            hint="give Keen's endpoint, starting with https:// (--api-url, or api_url=)",
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigurationError(
            f"--api-url {_shown_url(parts)} carries a user name, password, query or fragment",
            hint="give the endpoint alone; the API key goes in KEEN_API_KEY or --api-key-file",
        )
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme == "http" and not is_loopback(url) and not insecure:
        raise ConfigurationError(
            f"refusing to send the API key over plain http to {host}",
            hint="use https, or --insecure if you really mean it",
        )
    port = parts.port
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc += f":{port}"
    # A bare host: every documented Keen base has this path (keen-api.md section 1.1).
    path = parts.path.rstrip("/") or "/functions/v1/keen-api"
    return f"{scheme}://{netloc}{path}"


def _shown_url(parts) -> str:
    """A URL as it may be shown: without what follows a user name, password or ``?``."""
    where = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{where}{parts.path}" + ("?..." if parts.query else "")
