"""SSRF: URLs that are, or resolve to, loopback, private, link-local or metadata addresses are refused
at registration (400) and again at delivery, unless WEBHOOK_ALLOW_PRIVATE_NETWORKS; https required
unless DEBUG or that setting."""

from __future__ import annotations

import pytest

from progress.webhooks import sending, targets
from progress.webhooks.targets import UnsafeTarget

URL = "/api/v1/admin/webhooks/"
REFUSED = [
    "https://10.0.0.1/hook",
    "https://172.16.5.4/hook",
    "https://192.168.1.1/hook",
    "https://127.0.0.1/hook",
    "https://127.1.2.3:8443/hook",
    "https://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "https://100.100.100.200/",  # Alibaba's metadata, in carrier-grade NAT space
    "https://0.0.0.0/",
    "https://[::1]/hook",
    "https://[fd00:ec2::254]/",  # AWS' IPv6 metadata service
    "https://[fe80::1]/",
    "https://[::ffff:10.0.0.1]/",  # IPv4-mapped private
    "https://[::ffff:127.0.0.1]/",
    "https://localhost/hook",
    "https://localhost.:9000/hook",
    "https://224.0.0.1/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_metadata_targets_are_refused_at_registration(staff_client, url):
    response = staff_client.post(URL, {"url": url, "events": ["xp.awarded"]}, format="json")
    assert response.status_code == 400, (url, response.content)
    assert "url" in response.json()


@pytest.mark.parametrize(
    "url", ["https://93.184.215.14/x", "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/x"]
)
def test_public_addresses_are_accepted(url):
    target = targets.resolve(url)
    assert target.address in url and target.scheme == "https"


def test_allowing_private_networks_lets_loopback_and_plain_http_in(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    target = targets.resolve("http://localhost:8431/hook?x=1")
    assert target.address in {"127.0.0.1", "::1"} and target.path == "/hook?x=1" and target.port == 8431


def test_debug_allows_plain_http_but_not_private_addresses(settings):
    settings.DEBUG = True
    assert targets.resolve("http://93.184.215.14/x").scheme == "http"
    with pytest.raises(UnsafeTarget):
        targets.resolve("http://10.0.0.1/x")


def test_https_is_required_otherwise(settings):
    settings.DEBUG = False
    with pytest.raises(UnsafeTarget, match="https"):
        targets.resolve("http://93.184.215.14/x")


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "https://169.254.169.254/", "https://localhost/"])
def test_checked_again_at_delivery_nothing_is_sent(url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    outcome = sending.send(url=url, secret="whsec_" + "A" * 43 + "=", message_id="msg_1", body="{}")
    assert not outcome.succeeded and outcome.retry
    assert outcome.error.startswith("Refused:") and outcome.response_status is None


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 to 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 to 10.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 carrying 169.254.169.254
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "fec0::1",  # site-local
    ],
)
def test_ipv6_forms_that_carry_a_private_ipv4_address_are_not_public(address):
    assert not targets.is_public(address)


def test_a_6to4_address_of_a_public_ipv4_address_is_public():
    assert targets.is_public("2002:5db8:d70e::1")  # 93.184.215.14


def test_a_url_with_characters_outside_ascii_is_refused():
    with pytest.raises(targets.UnsafeTarget, match="ASCII"):
        targets.check_url("https://93.184.215.14/hook/é")
