"""Sign-in, rate limits, tokens, API keys, invitations and password changes, through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from halaqa.kit.clock import FrozenClock
from halaqa.models import AuthToken, LoginAttempt, User
from tests.api import PASSWORD, Api, Person
from tests.conftest import START

LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
LOGOUT_EVERYWHERE = "/api/v1/auth/logout-everywhere"
ACCEPT = "/api/v1/auth/invitations/accept"
ME = "/api/v1/me"
PASSWORD_CHANGE = "/api/v1/me/password"
WRONG = "not-the-password"
NEW_PASSWORD = "a-brand-new-password"
TOKEN_TTL = timedelta(hours=24 * 14)
INVITATION_TTL = timedelta(hours=24 * 7)
WINDOW = timedelta(minutes=15)
BAD_CREDENTIALS = {
    "error": {"code": "bad_credentials", "message": "wrong email or password", "details": None}
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


async def attempt(
    api: Api, email: str, password: str = PASSWORD, *, client: httpx.AsyncClient | None = None
) -> httpx.Response:
    http = client or api.client
    return await http.post(LOGIN, json={"email": email, "password": password})


async def me_status(api: Api, token: str) -> int:
    return (await api.client.get(ME, headers=bearer(token))).status_code


async def count(api: Api, model: type[Any], *where: Any) -> int:
    async with api.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def deactivate_account(api: Api, user_id: int) -> None:
    async with api.database.transaction() as session:
        user = await session.get(User, user_id)
        assert user is not None
        user.is_active = False


@pytest.fixture
async def other_address(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling from a different address than `api.client`."""
    transport = httpx.ASGITransport(app=api.app, client=("198.51.100.20", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://halaqa.test") as http:
        yield http


# --- signing in ------------------------------------------------------------------------------


async def test_login_issues_a_bearer_token(api: Api) -> None:
    person = await api.user("amina@example.com")
    response = await attempt(api, "amina@example.com")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_at"}
    assert body["access_token"].startswith("hqt_")
    assert body["token_type"] == "bearer"
    assert body["expires_at"].replace("Z", "+00:00") == (START + TOKEN_TTL).isoformat()
    me = await api.client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == person.id
    # Each sign-in is its own token.
    assert body["access_token"] != person.token


async def test_login_email_in_any_letter_case(api: Api) -> None:
    person = await api.user("Amina@Example.com")
    for typed in (
        "amina@example.com",
        "AMINA@EXAMPLE.COM",
        "Amina@Example.com",
        "aMiNa@ExAmPlE.cOm",
    ):
        response = await attempt(api, typed)
        assert response.status_code == 200, (typed, response.text)
        me = await api.client.get(ME, headers=bearer(response.json()["access_token"]))
        assert (me.json()["id"], me.json()["email"]) == (person.id, "Amina@Example.com")


async def test_failed_login_reveals_nothing(api: Api) -> None:
    """Every way of failing answers the very same 401, so nobody learns which emails exist."""
    admin = await api.academy("al-noor")
    await api.user("wrong-password@example.com")
    await deactivate_account(api, (await api.user("inactive@example.com")).id)
    invited = await api.client.post(  # added without a password, invitation not yet accepted
        "/api/v1/academies/al-noor/members",
        json={"email": "invited@example.com", "name": "Invited", "roles": ["student"]},
        headers=admin.headers,
    )
    assert invited.status_code == 201
    tokens = await count(api, AuthToken, AuthToken.purpose == "login")
    for email, password in (
        ("wrong-password@example.com", WRONG),
        ("unknown@example.com", PASSWORD),
        ("inactive@example.com", PASSWORD),
        ("invited@example.com", PASSWORD),
    ):
        response = await attempt(api, email, password)
        assert response.status_code == 401, email
        assert response.json() == BAD_CREDENTIALS, email
        assert await count(api, LoginAttempt, LoginAttempt.email_key == email) == 1, email
    assert await count(api, AuthToken, AuthToken.purpose == "login") == tokens


async def test_deactivated_account_tokens_stop_working(api: Api) -> None:
    person = await api.user()
    assert await me_status(api, person.token) == 200
    await deactivate_account(api, person.id)
    response = await api.client.get(ME, headers=person.headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


MALFORMED_LOGINS: list[tuple[dict[str, Any], str]] = [
    ({"email": "a@example.com"}, "password"),
    ({"password": PASSWORD}, "email"),
    ({"email": "not-an-email", "password": PASSWORD}, "email"),
    ({"email": "a@example.com", "password": ""}, "password"),
    ({"email": "a@example.com", "password": "p" * 201}, "password"),
    ({"email": "a@example.com", "password": PASSWORD, "remember": True}, "remember"),
]


async def test_malformed_login_is_422_and_not_counted(api: Api) -> None:
    for body, field in MALFORMED_LOGINS:
        response = await api.client.post(LOGIN, json=body)
        assert response.status_code == 422, body
        assert error_of(response)["code"] == "validation_error"
        assert field in [d["field"] for d in error_of(response)["details"]], body
    assert await count(api, LoginAttempt) == 0


# --- rate limits -----------------------------------------------------------------------------


async def test_five_failures_lock_the_account_for_the_window(
    api: Api, clock: FrozenClock, other_address: httpx.AsyncClient
) -> None:
    person = await api.user("amina@example.com")
    bystander = await api.user("bystander@example.com")
    for _ in range(5):
        assert (await attempt(api, "AMINA@example.com", WRONG)).status_code == 401
    # Locked: even the right password, from any address, is refused before it is checked.
    for client in (api.client, other_address):
        response = await attempt(api, person.email, client=client)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "901"
        error = error_of(response)
        assert error["code"] == "rate_limited"
        assert error["details"] == {"retry_after_seconds": 901}
        assert "this account" in error["message"]
        assert "901 seconds" in error["message"]
    # Refused attempts are not recorded; other accounts are not affected.
    assert await count(api, LoginAttempt) == 5
    assert (await attempt(api, bystander.email)).status_code == 200
    # Still locked at the last second of the window; open one second later.
    clock.advance(WINDOW)
    response = await attempt(api, person.email)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    clock.advance(timedelta(seconds=1))
    assert (await attempt(api, person.email)).status_code == 200


async def test_retry_after_counts_from_the_oldest_failure_in_the_window(
    api: Api, clock: FrozenClock
) -> None:
    person = await api.user()
    for _ in range(5):  # one failure a minute, at 0, 1, 2, 3 and 4 minutes
        assert (await attempt(api, person.email, WRONG)).status_code == 401
        clock.advance(timedelta(minutes=1))
    clock.advance(timedelta(minutes=-1))
    response = await attempt(api, person.email)
    assert response.status_code == 429
    assert error_of(response)["details"] == {"retry_after_seconds": 11 * 60 + 1}
    # Once the first failure leaves the window there are four: one more try is allowed...
    clock.set(START + WINDOW + timedelta(seconds=1))
    assert (await attempt(api, person.email, WRONG)).status_code == 401
    # ...and then the lock lasts until the failure at minute 1 leaves the window.
    response = await attempt(api, person.email)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"


async def test_successful_login_clears_the_accounts_failures(api: Api) -> None:
    person = await api.user()
    for _ in range(4):
        assert (await attempt(api, person.email, WRONG)).status_code == 401
    assert (await attempt(api, person.email)).status_code == 200
    assert await count(api, LoginAttempt) == 0
    for _ in range(5):
        assert (await attempt(api, person.email, WRONG)).status_code == 401
    assert (await attempt(api, person.email)).status_code == 429


async def test_twenty_failures_from_one_address_lock_that_address(
    api: Api, other_address: httpx.AsyncClient
) -> None:
    people = [await api.user() for _ in range(6)]
    # Four failures on each of five accounts: no account reaches its own limit of five.
    for person in people[:5]:
        for _ in range(4):
            assert (await attempt(api, person.email, WRONG)).status_code == 401
    response = await attempt(api, people[5].email)
    assert response.status_code == 429
    assert "your address" in error_of(response)["message"]
    assert int(response.headers["Retry-After"]) == 901
    # Unknown emails are refused too: it is the address that is locked, not the accounts.
    assert (await attempt(api, "nobody@example.com")).status_code == 429
    # The same people can sign in from elsewhere.
    for person in people:
        assert (await attempt(api, person.email, client=other_address)).status_code == 200


async def test_failures_with_unknown_emails_count_per_address(api: Api) -> None:
    for n in range(20):
        assert (await attempt(api, f"guess{n}@example.com", WRONG)).status_code == 401
    response = await attempt(api, "guess-next@example.com", WRONG)
    assert response.status_code == 429
    assert await count(api, LoginAttempt) == 20


# --- tokens ----------------------------------------------------------------------------------


async def test_logout_revokes_only_that_token(api: Api) -> None:
    person = await api.user()
    second = await api.login(person.email)
    response = await api.client.post(LOGOUT, headers=person.headers)
    assert response.status_code == 204
    assert await me_status(api, person.token) == 401
    assert await me_status(api, second) == 200
    # Signing out twice: the token is no longer accepted at all.
    again = await api.client.post(LOGOUT, headers=person.headers)
    assert again.status_code == 401
    assert error_of(again)["code"] == "not_authenticated"


async def test_logout_everywhere_revokes_every_login_token(api: Api) -> None:
    admin = await api.academy("al-noor")
    others = [await api.login(admin.email) for _ in range(2)]
    bystander = await api.user()
    key = await api.api_key("al-noor", admin, "admin")
    response = await api.client.post(LOGOUT_EVERYWHERE, headers=admin.headers)
    assert response.status_code == 204
    for token in (admin.token, *others):
        assert await me_status(api, token) == 401
    # Other people, and the academy's API keys, are not signed out.
    assert await me_status(api, bystander.token) == 200
    academy = await api.client.get("/api/v1/academies/al-noor", headers=bearer(key))
    assert academy.status_code == 200
    # Signing in again works.
    assert await me_status(api, await api.login(admin.email)) == 200


async def test_token_expires_after_its_lifetime(api: Api, clock: FrozenClock) -> None:
    person = await api.user()
    clock.advance(TOKEN_TTL - timedelta(seconds=1))
    assert await me_status(api, person.token) == 200
    clock.advance(timedelta(seconds=1))
    response = await api.client.get(ME, headers=person.headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert "expired" in error_of(response)["message"]


BAD_AUTHORIZATIONS: list[str | None] = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Bearer garbage",
    "Bearer hqt_",
    "Bearer hqt_forged-but-well-formed-token-000000000000",
    "Bearer hqk_forged-but-well-formed-token-000000000000",
    "Bearer hqi_forged-but-well-formed-token-000000000000",
    "Basic dXNlcjpwYXNz",
    "Basic {token}",
    "Token {token}",
    "{token}",
    "Bearer {token}x",
    "Bearer {token} extra",
]


async def test_bad_authorization_is_401(api: Api) -> None:
    person = await api.user()
    for authorization in BAD_AUTHORIZATIONS:
        headers = {} if authorization is None else {"Authorization": authorization}
        headers = {k: v.format(token=person.token) for k, v in headers.items()}
        response = await api.client.get(ME, headers=headers)
        assert response.status_code == 401, authorization
        assert error_of(response)["code"] == "not_authenticated", authorization
    # The real token still works.
    assert await me_status(api, person.token) == 200


async def test_token_digest_is_keyed_by_the_server_secret(api: Api) -> None:
    """Tokens issued under one secret are worthless once the server's secret changes."""
    person = await api.user()
    api.app.state.secret = b"a-different-server-secret-for-this-test"
    assert await me_status(api, person.token) == 401


# --- API keys --------------------------------------------------------------------------------


async def create_key(
    api: Api, admin: Person, slug: str = "al-noor", **fields: Any
) -> tuple[int, str]:
    body = {"name": "integration", "roles": ["admin"], **fields}
    response = await api.client.post(
        f"/api/v1/academies/{slug}/api-keys", json=body, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    created = response.json()
    return created["id"], created["key"]


async def test_api_key_acts_in_its_academy(api: Api, clock: FrozenClock) -> None:
    admin = await api.academy("al-noor")
    key_id, key = await create_key(api, admin)
    assert key.startswith("hqk_")
    clock.advance(timedelta(minutes=3))
    response = await api.client.get("/api/v1/academies/al-noor/members", headers=bearer(key))
    assert response.status_code == 200
    assert [m["user_id"] for m in response.json()["items"]] == [admin.id]
    added = await api.client.post(
        "/api/v1/academies/al-noor/members",
        json={"email": "new@example.com", "name": "New", "roles": ["student"]},
        headers=bearer(key),
    )
    assert added.status_code == 201
    keys = await api.client.get("/api/v1/academies/al-noor/api-keys", headers=admin.headers)
    [listed] = keys.json()["items"]
    assert listed["id"] == key_id
    assert listed["prefix"] == key[:12]
    assert listed["last_used_at"].replace("Z", "+00:00") == clock.now().isoformat()
    assert "key" not in listed


async def test_api_key_is_not_a_key_to_other_academies(api: Api) -> None:
    owner = await api.user(platform_admin=True)
    admin = await api.academy("al-noor", owner)
    await api.academy("al-huda", owner)
    _, key = await create_key(api, admin)
    response = await api.client.get("/api/v1/academies/al-huda", headers=bearer(key))
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


async def test_revoked_api_key_is_401(api: Api) -> None:
    admin = await api.academy("al-noor")
    key_id, key = await create_key(api, admin)
    kept_id, kept = await create_key(api, admin)
    response = await api.client.delete(
        f"/api/v1/academies/al-noor/api-keys/{key_id}", headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["revoked_at"].replace("Z", "+00:00") == START.isoformat()
    refused = await api.client.get("/api/v1/academies/al-noor", headers=bearer(key))
    assert refused.status_code == 401
    assert error_of(refused)["code"] == "not_authenticated"
    still = await api.client.get("/api/v1/academies/al-noor", headers=bearer(kept))
    assert still.status_code == 200
    assert kept_id != key_id


@pytest.mark.parametrize(("after", "status"), [(timedelta(seconds=-1), 200), (timedelta(0), 401)])
async def test_api_key_expires(api: Api, clock: FrozenClock, after: timedelta, status: int) -> None:
    admin = await api.academy("al-noor")
    expires = START + timedelta(hours=1)
    _, key = await create_key(api, admin, expires_at=expires.isoformat())
    clock.set(expires + after)
    response = await api.client.get("/api/v1/academies/al-noor", headers=bearer(key))
    assert response.status_code == status


@pytest.mark.parametrize(
    ("expires_at", "message"),
    [
        (START.isoformat(), "must be in the future"),
        ((START - timedelta(days=1)).isoformat(), "must be in the future"),
        ("2026-06-01T00:00:00", "timezone"),  # naive: no way to tell when that is
        ("next week", "datetime"),
    ],
)
async def test_api_key_with_bad_expiry_is_refused(api: Api, expires_at: str, message: str) -> None:
    admin = await api.academy("al-noor")
    response = await api.client.post(
        "/api/v1/academies/al-noor/api-keys",
        json={"name": "integration", "expires_at": expires_at},
        headers=admin.headers,
    )
    assert response.status_code == 422
    [detail] = error_of(response)["details"]
    assert detail["field"] == "expires_at"
    assert message in detail["message"]
    keys = await api.client.get("/api/v1/academies/al-noor/api-keys", headers=admin.headers)
    assert keys.json()["items"] == []


PERSONAL_ENDPOINTS = [
    ("GET", ME),
    ("PATCH", ME),
    ("POST", PASSWORD_CHANGE),
    ("POST", LOGOUT),
    ("POST", LOGOUT_EVERYWHERE),
    ("GET", "/api/v1/academies"),
    ("POST", "/api/v1/academies"),
]


async def test_api_key_cannot_act_as_a_person(api: Api) -> None:
    admin = await api.academy("al-noor")
    _, key = await create_key(api, admin)
    for method, path in PERSONAL_ENDPOINTS:
        response = await api.client.request(method, path, headers=bearer(key), json={})
        assert response.status_code == 403, (method, path)
        assert error_of(response)["code"] == "forbidden"
        assert "API keys" in error_of(response)["message"]
    # The key was not signed out or revoked by any of this.
    response = await api.client.get("/api/v1/academies/al-noor", headers=bearer(key))
    assert response.status_code == 200


ADMIN_ONLY: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/academies/al-noor/members", None),
    (
        "POST",
        "/api/v1/academies/al-noor/members",
        {"email": "x@example.com", "name": "X", "roles": ["admin"]},
    ),
    ("GET", "/api/v1/academies/al-noor/members/1", None),
    ("PATCH", "/api/v1/academies/al-noor", {"name": "Taken over"}),
    ("GET", "/api/v1/academies/al-noor/settings", None),
    ("PATCH", "/api/v1/academies/al-noor/settings", {"partial_percent": 10}),
    ("GET", "/api/v1/academies/al-noor/api-keys", None),
    ("POST", "/api/v1/academies/al-noor/api-keys", {"name": "escalate", "roles": ["teacher"]}),
    ("DELETE", "/api/v1/academies/al-noor/api-keys/1", None),
    ("GET", "/api/v1/academies/al-noor/audit-log", None),
    ("GET", "/api/v1/academies/al-noor/guardianships", None),
]


async def test_api_key_roles_limit_what_it_may_do(api: Api) -> None:
    admin = await api.academy("al-noor")
    _, key = await create_key(api, admin, roles=["teacher"])
    # A teacher key may see its academy...
    seen = await api.client.get("/api/v1/academies/al-noor", headers=bearer(key))
    assert seen.status_code == 200
    # ...but not do what needs the admin (or staff) role, and a refusal changes nothing.
    before = await snapshot(api, admin)
    for method, path, body in ADMIN_ONLY:
        response = await api.client.request(method, path, headers=bearer(key), json=body)
        assert response.status_code == 403, (method, path)
        assert error_of(response)["code"] == "role_required", (method, path)
    assert await snapshot(api, admin) == before


async def snapshot(api: Api, admin: Person) -> dict[str, Any]:
    """What the refused requests above could have changed, as the admin sees it."""
    out: dict[str, Any] = {}
    for name, path in (
        ("academy", "/api/v1/academies/al-noor"),
        ("settings", "/api/v1/academies/al-noor/settings"),
        ("members", "/api/v1/academies/al-noor/members"),
        ("keys", "/api/v1/academies/al-noor/api-keys"),
    ):
        response = await api.client.get(path, headers=admin.headers)
        assert response.status_code == 200
        out[name] = response.json()
    for key in out["keys"]["items"]:
        key.pop("last_used_at")
    return out


# --- invitations -----------------------------------------------------------------------------


async def invite(api: Api, admin: Person, email: str = "invited@example.com") -> tuple[int, str]:
    response = await api.client.post(
        "/api/v1/academies/al-noor/members",
        json={"email": email, "name": "Invited Person", "roles": ["teacher"]},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["invitation_pending"] is True
    invitation = body["invitation"]
    assert invitation["token"].startswith("hqi_")
    assert invitation["expires_at"].replace("Z", "+00:00") == (START + INVITATION_TTL).isoformat()
    return body["user_id"], invitation["token"]


async def member_view(api: Api, admin: Person, user_id: int) -> dict[str, Any]:
    response = await api.client.get(
        f"/api/v1/academies/al-noor/members/{user_id}", headers=admin.headers
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_invitation_sets_the_password_once(api: Api) -> None:
    admin = await api.academy("al-noor")
    user_id, token = await invite(api, admin)
    assert "invitation" not in await member_view(api, admin, user_id)
    response = await api.client.post(ACCEPT, json={"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("hqt_")
    me = await api.client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == user_id
    assert [m["roles"] for m in me.json()["memberships"]] == [["teacher"]]
    assert (await member_view(api, admin, user_id))["invitation_pending"] is False
    assert (await attempt(api, "invited@example.com", NEW_PASSWORD)).status_code == 200
    # Used: a second acceptance is refused and changes nothing.
    again = await api.client.post(ACCEPT, json={"token": token, "password": "another-password"})
    assert again.status_code == 404
    assert error_of(again)["code"] == "invitation_invalid"
    assert (await attempt(api, "invited@example.com", "another-password")).status_code == 401
    assert (await attempt(api, "invited@example.com", NEW_PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    ("after", "status"), [(INVITATION_TTL - timedelta(seconds=1), 200), (INVITATION_TTL, 404)]
)
async def test_invitation_expires(
    api: Api, clock: FrozenClock, after: timedelta, status: int
) -> None:
    admin = await api.academy("al-noor")
    user_id, token = await invite(api, admin)
    clock.advance(after)
    response = await api.client.post(ACCEPT, json={"token": token, "password": NEW_PASSWORD})
    assert response.status_code == status
    if status == 404:
        assert error_of(response)["code"] == "invitation_invalid"
        assert (await member_view(api, admin, user_id))["invitation_pending"] is True
        assert (await attempt(api, "invited@example.com", NEW_PASSWORD)).status_code == 401


async def test_other_tokens_are_not_invitations(api: Api) -> None:
    admin = await api.academy("al-noor")
    _, key = await create_key(api, admin)
    for token in (
        admin.token,  # a login token
        key,
        "garbage",
        "hqi_forged-but-well-formed-token-000000000000",
        f"hqi_{admin.token.removeprefix('hqt_')}",  # a login token dressed as an invitation
    ):
        response = await api.client.post(ACCEPT, json={"token": token, "password": NEW_PASSWORD})
        assert response.status_code == 404, token
        assert error_of(response)["code"] == "invitation_invalid"
    # The admin's password was not changed through their login token.
    assert (await attempt(api, admin.email, NEW_PASSWORD)).status_code == 401
    assert (await attempt(api, admin.email)).status_code == 200


async def test_invitation_is_not_a_bearer_token(api: Api) -> None:
    admin = await api.academy("al-noor")
    _, token = await invite(api, admin)
    response = await api.client.get(ME, headers=bearer(token))
    assert response.status_code == 401
    # ...and stays usable for what it is for.
    accepted = await api.client.post(ACCEPT, json={"token": token, "password": NEW_PASSWORD})
    assert accepted.status_code == 200


INVALID_ACCEPTANCES: list[tuple[dict[str, Any], str]] = [
    ({"password": "short"}, "password"),
    ({"password": "x" * 201}, "password"),
    ({}, "password"),
    ({"password": NEW_PASSWORD, "token": ""}, "token"),
    ({"password": NEW_PASSWORD, "name": "Me"}, "name"),
]


async def test_invalid_acceptance_leaves_the_invitation_usable(api: Api) -> None:
    admin = await api.academy("al-noor")
    user_id, token = await invite(api, admin)
    for body, field in INVALID_ACCEPTANCES:
        response = await api.client.post(ACCEPT, json={"token": token, **body})
        assert response.status_code == 422, body
        assert field in [d["field"] for d in error_of(response)["details"]], body
    assert (await member_view(api, admin, user_id))["invitation_pending"] is True
    accepted = await api.client.post(ACCEPT, json={"token": token, "password": NEW_PASSWORD})
    assert accepted.status_code == 200


async def test_invitation_of_a_deactivated_account_is_refused(api: Api) -> None:
    admin = await api.academy("al-noor")
    user_id, token = await invite(api, admin)
    await deactivate_account(api, user_id)
    response = await api.client.post(ACCEPT, json={"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 403
    assert error_of(response)["code"] == "account_inactive"
    assert (await member_view(api, admin, user_id))["invitation_pending"] is True


# --- password change -------------------------------------------------------------------------


async def test_password_change_signs_out_everywhere_else(api: Api) -> None:
    person = await api.user()
    elsewhere = await api.login(person.email)
    response = await api.client.post(
        PASSWORD_CHANGE,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=person.headers,
    )
    assert response.status_code == 204
    assert await me_status(api, person.token) == 200
    assert await me_status(api, elsewhere) == 401
    assert (await attempt(api, person.email)).status_code == 401
    assert (await attempt(api, person.email, NEW_PASSWORD)).status_code == 200


REFUSED_PASSWORD_CHANGES: list[tuple[dict[str, Any], str]] = [
    ({"current_password": WRONG, "new_password": NEW_PASSWORD}, "current_password"),
    ({"current_password": PASSWORD.upper(), "new_password": NEW_PASSWORD}, "current_password"),
    ({"current_password": PASSWORD, "new_password": "short"}, "new_password"),
    ({"current_password": PASSWORD, "new_password": "y" * 201}, "new_password"),
    ({"current_password": PASSWORD}, "new_password"),
    ({"new_password": NEW_PASSWORD}, "current_password"),
    ({"current_password": "", "new_password": NEW_PASSWORD}, "current_password"),
]


async def test_refused_password_change_changes_nothing(api: Api) -> None:
    person = await api.user()
    elsewhere = await api.login(person.email)
    for body, field in REFUSED_PASSWORD_CHANGES:
        response = await api.client.post(PASSWORD_CHANGE, json=body, headers=person.headers)
        assert response.status_code == 422, body
        error = error_of(response)
        assert error["code"] == "validation_error"
        assert [d["field"] for d in error["details"]] == [field], body
        assert error["message"].startswith(f"{field}: "), body
    # Still signed in everywhere, and the old password still works.
    assert await me_status(api, person.token) == 200
    assert await me_status(api, elsewhere) == 200
    assert (await attempt(api, person.email, NEW_PASSWORD)).status_code == 401
    assert (await attempt(api, person.email)).status_code == 200
