"""Outbound webhooks go to public addresses only, unless the operator allows the rest: a URL
naming an inside address is refused when saved, and a name resolving to one is refused at each
delivery (the log says why), the request going to an address that was checked."""

from __future__ import annotations

import ipaddress

import pytest
from fastapi import FastAPI

from halaqa.config import Settings
from halaqa.notifications.destinations import DestinationRefused, check_saved, refused
from tests.api import Api, assert_error, error_fields
from tests.catalog.school import SLUG, school
from tests.notifications.receiver import Receiver, receiver
from tests.notifications.test_notifications import new_session, tick
from tests.notifications.test_webhooks_out import HOOKS, subscribe

__all__ = ["receiver"]


@pytest.mark.parametrize(
    ("address", "is_refused"),
    [
        ("127.0.0.1", True),  # loopback
        ("10.1.2.3", True),  # private ranges
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),  # link-local: clouds' metadata service
        ("100.64.0.1", True),  # carrier-grade NAT
        ("0.0.0.0", True),  # noqa: S104 (unspecified: this machine)
        ("192.0.2.10", True),  # documentation
        ("224.0.0.1", True),  # multicast
        ("::1", True),
        ("fe80::1", True),
        ("fd00::1", True),  # unique local
        ("::ffff:127.0.0.1", True),  # IPv4 loopback written as IPv6
        ("::ffff:10.0.0.1", True),
        ("ff02::1", True),
        ("93.184.215.14", False),  # public
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
        ("::ffff:8.8.8.8", False),
    ],
)
def test_which_addresses_are_refused(address: str, is_refused: bool) -> None:
    assert refused(ipaddress.ip_address(address)) is is_refused


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.org/in",  # names are checked when resolved, at each delivery
        "https://93.184.215.14:8443/in",
        "http://[2606:4700:4700::1111]/in",
    ],
)
def test_public_or_named_urls_are_saved(url: str) -> None:
    check_saved(url, others_allowed=False)


INSIDE = [
    "http://127.0.0.1:8080/hooks",
    "http://localhost/hooks",
    "http://LocalHost./hooks",
    "http://crm.localhost/hooks",
    "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.8/hooks",
    "http://[::1]:9000/hooks",
    "http://[::ffff:192.168.0.1]/hooks",
]


@pytest.mark.parametrize("url", INSIDE)
def test_inside_urls_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(DestinationRefused, match="webhooks go to public addresses only"):
        check_saved(url, others_allowed=False)
    check_saved(url, others_allowed=True)


async def test_an_endpoint_naming_an_inside_address_is_not_saved(api: Api) -> None:
    s = await school(api, students=1)
    for url in INSIDE:
        response = await api.client.post(
            HOOKS, json={"url": url, "events": ["session.scheduled"]}, headers=s.admin.headers
        )
        assert_error(response, 422, "validation_error")
        assert error_fields(response) == {"url"}
        assert "HALAQA_WEBHOOK_PRIVATE_ADDRESSES" in response.json()["error"]["message"]
    endpoint = await subscribe(api, s, "https://hooks.example.org/in", "session.scheduled")
    response = await api.client.patch(
        f"{HOOKS}/{endpoint['id']}",
        json={"url": "http://169.254.169.254/latest", "events": ["session.cancelled"]},
        headers=s.admin.headers,
    )
    assert_error(response, 422, "validation_error")
    kept = (await api.client.get(HOOKS, headers=s.admin.headers)).json()
    assert [(e["url"], e["events"]) for e in kept] == [
        ("https://hooks.example.org/in", ["session.scheduled"])
    ]


async def test_a_name_resolving_inside_is_refused_at_delivery_until_allowed(
    api: Api, app: FastAPI, settings: Settings, receiver: Receiver
) -> None:
    s = await school(api, students=1)
    port = receiver.url.split(":")[2].split("/")[0]
    endpoint = await subscribe(
        api, s, f"http://localhost:{port}/hooks", "session.scheduled", "session.cancelled"
    )
    settings.webhook_private_addresses = False  # the operator turns it off again
    session = await new_session(api, s)
    await tick(app)
    assert receiver.received == []
    log_url = f"{HOOKS}/{endpoint['id']}/deliveries"
    (delivery,) = (await api.client.get(log_url, headers=s.admin.headers)).json()["items"]
    assert delivery["status"] == "pending"  # retried later, never lost
    assert delivery["attempts"] == 1
    assert delivery["last_status_code"] is None
    assert "localhost resolves to" in delivery["last_error"]
    assert "public addresses only" in delivery["last_error"]

    settings.webhook_private_addresses = True
    await api.client.post(
        f"/api/v1/academies/{SLUG}/sessions/{session['id']}/cancel",
        json={"reason": "ill"},
        headers=s.admin.headers,
    )
    await tick(app)
    (arrived,) = receiver.received  # to the address checked, still named as the URL names it
    assert arrived.headers["host"] == f"localhost:{port}"
    assert arrived.headers["halaqa-event"] == "session.cancelled"
