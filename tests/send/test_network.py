"""Proxy resolution (flag, mapping, HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY) and trust."""

from __future__ import annotations

import base64

import pytest

from importer.check.mapping import load_mapping_file
from importer.errors import ConfigurationError
from importer.send.network import (
    Proxy,
    bypasses_proxy,
    choose_proxy,
    network_settings,
    parse_proxy,
)

API = "https://data.keenpartner.com/functions/v1/keen-api"
PLAIN = "http://keen.internal:8080/functions/v1/keen-api"


def address(proxy: Proxy | None) -> str | None:
    return None if proxy is None else f"{proxy.address} from {proxy.source}"


@pytest.mark.parametrize(
    ("url", "environ", "expected"),
    [
        pytest.param(API, {}, None, id="nothing-set"),
        pytest.param(API, {"HTTPS_PROXY": "proxy.corp:3128"}, "proxy.corp:3128 from HTTPS_PROXY",
                     id="https-proxy-without-scheme"),
        pytest.param(API, {"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:2"},
                     "low:1 from HTTPS_PROXY", id="lower-case-first"),
        pytest.param(API, {"HTTP_PROXY": "http://p:1"}, None, id="http-proxy-not-for-https"),
        pytest.param(PLAIN, {"HTTP_PROXY": "http://p:1"}, "p:1 from HTTP_PROXY", id="http-proxy"),
        pytest.param(API, {"ALL_PROXY": "http://all:9"}, "all:9 from ALL_PROXY", id="all-proxy"),
        pytest.param(API, {"HTTPS_PROXY": "http://s:1", "ALL_PROXY": "http://all:9"},
                     "s:1 from HTTPS_PROXY", id="scheme-proxy-before-all"),
        pytest.param(API, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "keenpartner.com"}, None,
                     id="no-proxy-domain-covers-subdomains"),
        pytest.param(API, {"HTTPS_PROXY": "http://p:1", "no_proxy": ".keenpartner.com"}, None,
                     id="no-proxy-leading-dot"),
        pytest.param(API, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, None, id="no-proxy-star"),
        pytest.param(API, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "partner.com"},
                     "p:1 from HTTPS_PROXY", id="no-proxy-is-not-a-substring-match"),
        pytest.param(API, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "keenpartner.com:8443"},
                     "p:1 from HTTPS_PROXY", id="no-proxy-other-port"),
        pytest.param(API, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "keenpartner.com:443"}, None,
                     id="no-proxy-same-port"),
        pytest.param(API, {"HTTPS_PROXY": " ", "ALL_PROXY": "http://all:9"},
                     "all:9 from ALL_PROXY", id="blank-is-unset"),
    ],
)  # fmt: skip
def test_proxy_from_the_environment(url, environ, expected):
    assert address(choose_proxy(url, environ=environ)) == expected


@pytest.mark.parametrize(
    ("host", "no_proxy", "bypass"),
    [
        pytest.param("10.1.2.3", "10.0.0.0/8", True, id="cidr"),
        pytest.param("11.1.2.3", "10.0.0.0/8", False, id="cidr-outside"),
        pytest.param("127.0.0.1", "localhost, 127.0.0.1", True, id="ip-with-spaces"),
        pytest.param("::1", "[::1]", True, id="ipv6"),
        pytest.param("api.keen.test", "*.keen.test", True, id="star-dot"),
        pytest.param("keen.test", "", False, id="empty"),
    ],
)
def test_no_proxy_entries(host, no_proxy, bypass):
    assert bypasses_proxy(host, 443, no_proxy) is bypass


def test_explicit_proxy_wins_and_none_means_direct():
    environ = {"HTTPS_PROXY": "http://env:1", "NO_PROXY": "keenpartner.com"}
    assert (
        address(choose_proxy(API, proxy="http://flag:2", environ=environ)) == "flag:2 from --proxy"
    )
    assert choose_proxy(API, proxy="none", environ={"HTTPS_PROXY": "http://env:1"}) is None


def test_credentials_are_decoded_and_masked_everywhere():
    proxy = parse_proxy("http://fin%40ance:p%40ss%3Aword@proxy.corp:3128", source="--proxy")
    assert (proxy.username, proxy.password) == ("fin@ance", "p@ss:word")
    assert proxy.authorization == b"Basic " + base64.b64encode(b"fin@ance:p@ss:word")
    assert proxy.display == str(proxy) == "http://fin@ance:***@proxy.corp:3128"
    assert "p@ss" not in repr(proxy) and "p%40ss" not in repr(proxy)
    settings = network_settings(API, proxy="http://u:topsecret@proxy.corp:3128", environ={})
    assert settings.describe() == {
        "proxy": "http://u:***@proxy.corp:3128",
        "proxy_from": "--proxy",
        "trust": "system trust store",
    }
    assert "topsecret" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("socks5://u:hidden@p:1080", "the proxy from --proxy is a socks5:// proxy; "
                     "keen-import talks to proxies over http:// (https targets still go through "
                     "it encrypted, with CONNECT)", id="socks"),
        pytest.param("http://u:hidden@p:port", "the proxy URL from --proxy has a port that is not "
                     "a number", id="bad-port"),
        pytest.param("http://u:hidden@:3128", "the proxy URL from --proxy has no host",
                     id="no-host"),
    ],
)  # fmt: skip
def test_bad_proxy_urls_are_one_clear_message(text, message):
    with pytest.raises(ConfigurationError) as refused:
        parse_proxy(text, source="--proxy")
    assert str(refused.value) == message
    assert "hidden" not in str(refused.value) + str(refused.value.hint)


def test_ca_bundle_missing_or_not_pem(tmp_path):
    with pytest.raises(ConfigurationError) as missing:
        network_settings(API, ca_bundle=tmp_path / "nope.pem", environ={})
    assert str(missing.value) == f"--ca-bundle {tmp_path / 'nope.pem'}: no such file"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ConfigurationError) as unreadable:
        network_settings(PLAIN, ca_bundle=garbage, environ={})  # checked for http targets too
    assert str(unreadable.value).startswith(
        f"--ca-bundle {garbage} holds no certificate keen-import can read ("
    )


def test_mapping_file_carries_proxy_and_ca_bundle_relative_to_itself(tmp_path):
    (tmp_path / "maps").mkdir()
    path = tmp_path / "maps" / "mapping.toml"
    path.write_text(
        '[options]\nproxy = "http://u:secret@proxy.corp:3128"\nca_bundle = "root.pem"\n'
    )
    mapping = load_mapping_file(path)
    assert mapping.proxy == "http://u:secret@proxy.corp:3128"
    assert mapping.ca_bundle == str(tmp_path / "maps" / "root.pem")
    assert "secret" not in repr(mapping)


def test_requests_ca_bundle_is_trusted_when_no_ca_bundle_is_given(tmp_path):
    """IT departments set REQUESTS_CA_BUNDLE for Python tools; --ca-bundle wins over it."""
    from nethelpers import PrivateCA

    company = PrivateCA().write_bundle(tmp_path / "company.pem")
    other = PrivateCA().write_bundle(tmp_path / "other.pem")
    environ = {"REQUESTS_CA_BUNDLE": str(company)}
    assert network_settings(API, environ=environ).ca_bundle == company
    assert network_settings(API, ca_bundle=other, environ=environ).ca_bundle == other
    with pytest.raises(ConfigurationError) as missing:
        network_settings(API, environ={"REQUESTS_CA_BUNDLE": str(tmp_path / "gone.pem")})
    assert str(missing.value) == f"REQUESTS_CA_BUNDLE {tmp_path / 'gone.pem'}: no such file"


def test_a_binary_der_certificate_gets_how_to_convert_it(tmp_path):
    der = tmp_path / "company-root.cer"
    der.write_bytes(b"\x30\x82\x03\x1d\x30\x82\x02\x05\xa0\x03\x02\x01\x02" + bytes(64))
    with pytest.raises(ConfigurationError) as unreadable:
        network_settings(API, ca_bundle=der, environ={})
    assert unreadable.value.hint == (
        "the file must be PEM text with -----BEGIN CERTIFICATE----- blocks; this one is binary "
        '(DER, as Windows exports a .cer): export it again as "Base-64 encoded X.509", or '
        "convert it: openssl x509 -inform der -in FILE -out FILE.pem"
    )
