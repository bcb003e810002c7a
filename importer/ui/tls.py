"""TLS for the ui server: when it is needed, and the server's context from PEM files.

The context is built before the address is printed, so a missing, unreadable or mismatched
file is one line and exit 2 (ConfigurationError), never a traceback from the server's start.
Messages name the files, never what they hold.
"""

from __future__ import annotations

import ssl

from importer.errors import ConfigurationError
from importer.ledger.location import is_loopback_host

NEEDS_TLS = (
    "a non-loopback address needs TLS: give --certfile and --keyfile "
    "(or --no-tls to serve plain HTTP on purpose)"
)
#: Enough of a PEM file to find its markers; a certificate chain and its key are far smaller.
_HEAD = 1024 * 1024
_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
_PRIVATE_KEY = b"PRIVATE KEY-----"  # PKCS#8, RSA, EC and encrypted keys alike


def server_tls(
    host: str, certfile: str | None, keyfile: str | None, *, no_tls: bool
) -> ssl.SSLContext | None:
    """The TLS context the server listens with, or None for plain HTTP.

    A non-loopback ``host`` needs ``certfile`` unless ``no_tls``; ``keyfile`` may be left out
    when ``certfile`` holds the key too. ConfigurationError says what is wrong.
    """
    if keyfile and not certfile:
        raise ConfigurationError("--keyfile needs --certfile (the certificate of that key)")
    if certfile:
        return server_context(certfile, keyfile)
    if not is_loopback_host(host) and not no_tls:
        raise ConfigurationError(NEEDS_TLS)
    return None


def server_context(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """A server-side context (TLS 1.2 at least) presenting the certificate in ``certfile``.

    ``keyfile``: its private key (None: ``certfile`` holds both, as a combined PEM).
    """
    _check_pem(certfile, keyfile)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    where = keyfile or certfile
    try:
        # A callback, so that OpenSSL never stops the start to ask for a passphrase on the
        # terminal (a server started by a script would wait for ever).
        context.load_cert_chain(certfile, keyfile, password=lambda: _encrypted(where))
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            message = f"the private key in {where} does not belong to the certificate in {certfile}"
        else:
            files = f"--certfile {certfile}" + (f" and --keyfile {keyfile}" if keyfile else "")
            message = f"cannot use {files}: not a valid PEM certificate and private key"
        raise ConfigurationError(message) from None
    return context


def _check_pem(certfile: str, keyfile: str | None) -> None:
    """Refuse files that cannot be read or lack a PEM certificate or key, naming which."""
    certificate = _head(certfile, "--certfile")
    key = _head(keyfile, "--keyfile") if keyfile else certificate
    if _CERTIFICATE not in certificate:
        raise ConfigurationError(f"--certfile {certfile} holds no PEM certificate")
    if _PRIVATE_KEY not in key:
        if keyfile is None:
            raise ConfigurationError(
                f"--certfile {certfile} holds no private key: give --keyfile too"
            )
        raise ConfigurationError(f"--keyfile {keyfile} holds no PEM private key")


def _head(path: str, option: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(_HEAD)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {option} {path}: {exc.strerror}") from None


def _encrypted(path: str) -> bytes:
    raise ConfigurationError(
        f"the private key in {path} is protected by a passphrase: give a key file without one "
        "(readable by you alone)"
    )
