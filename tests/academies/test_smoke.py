from __future__ import annotations

from tests.api import Api


async def test_admin_sees_academy_in_me(api: Api) -> None:
    admin = await api.academy("al-noor")
    response = await api.client.get("/api/v1/me", headers=admin.headers)
    assert response.status_code == 200
    assert [m["academy"]["slug"] for m in response.json()["memberships"]] == ["al-noor"]
