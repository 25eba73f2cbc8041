"""The admin pages' other forms without a browser: schedules and holidays, bookings, packages,
subscriptions and their ledger, meeting settings, reports and their downloads, the audit log, and
no form answering 500 whatever it is sent."""

from __future__ import annotations

from typing import Any

from tests.api import Api
from tests.bookings.test_bookings import bookable, requested
from tests.catalog.school import SLUG, school
from tests.web.admin_client import page_client, speak_english

BASE = f"/api/v1/academies/{SLUG}"


async def _get(api: Api, who: Any, path: str) -> dict[str, Any]:
    response = await api.client.get(f"{BASE}{path}", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_schedule_is_previewed_created_and_cancelled(api: Api) -> None:
    s = await school(api)
    await speak_english(api, s.admin)
    form = {
        "kind": "individual",
        "title": "Tajweed",
        "teacher_user_id": str(s.teacher.id),
        "student_user_id": str(s.students[0].id),
        "start": "17:00",
        "duration_minutes": "60",
        "starts_on": "2026-03-02",
        "until": "2026-12-31",
        "weekdays": ["0", "2"],
    }
    async with page_client(api, s.admin, SLUG) as pages:
        preview = await pages.post("/admin/schedules", {**form, "action": "preview"})
        assert preview.status_code == 200, preview.text
        planned = int(preview.text.split("Preview: ")[1].split(" sessions")[0])
        assert planned == 16  # Mondays and Wednesdays from 2 March to the 56-day horizon
        assert (await _get(api, s.admin, "/sessions"))["total"] == 0  # a preview books nothing
        no_day = await pages.post("/admin/schedules", {**form, "weekdays": []})
        assert no_day.status_code == 422
        assert 'id="e-weekdays"' in no_day.text
        no_time = await pages.post("/admin/schedules", {**form, "start": "5pm"})
        assert no_time.status_code == 422
        assert 'id="e-start"' in no_time.text
        created = await pages.post("/admin/schedules", {**form, "action": "create"})
        assert created.status_code == 303, created.text
        assert (await _get(api, s.admin, "/sessions"))["total"] == planned
        clash = await pages.post("/admin/schedules", {**form, "action": "create"})
        assert clash.status_code == 409  # the same times again: all or nothing
        assert (await _get(api, s.admin, "/sessions"))["total"] == planned
        [schedule] = (await _get(api, s.admin, "/schedules"))["items"]
        cancel = f"/admin/schedules/{schedule['id']}/cancel"
        unexplained = await pages.post(cancel, {})
        assert unexplained.status_code == 422
        assert f'id="e-cancel-{schedule["id"]}.reason"' in unexplained.text
        done = await pages.post(cancel, {f"cancel-{schedule['id']}.reason": "Term over"})
        assert done.status_code == 303
        assert (await _get(api, s.admin, f"/schedules/{schedule['id']}"))["status"] == "cancelled"
        holiday = {"holiday.name": "Eid", "holiday.starts_on": "2026-03-20", "holiday.ends_on": ""}
        assert (await pages.post("/admin/holidays", holiday)).status_code == 303
        backwards = {**holiday, "holiday.ends_on": "2026-03-10"}
        refused = await pages.post("/admin/holidays", backwards)
        assert refused.status_code == 422
        assert 'id="e-holiday.ends_on"' in refused.text
        [day] = (await _get(api, s.admin, "/holidays"))["items"]
        assert (day["name"], day["starts_on"], day["ends_on"]) == (
            "Eid",
            "2026-03-20",
            "2026-03-20",
        )
        assert (await pages.post(f"/admin/holidays/{day['id']}/remove")).status_code == 303
        assert (await _get(api, s.admin, "/holidays"))["total"] == 0
    async with page_client(api, s.supervisor, SLUG) as pages:
        assert (await pages.post("/admin/holidays", holiday)).status_code == 403  # admins only


async def test_bookings_are_confirmed_or_declined(api: Api) -> None:
    s = await bookable(api, await school(api))
    first = await requested(api, s, 0)
    second = await requested(api, s, 3, student=1)
    async with page_client(api, s.supervisor, SLUG) as pages:
        listed = await pages.get("/admin/bookings")
        assert f'data-booking="{first["id"]}"' in listed.text
        confirm = f"/admin/bookings/{first['id']}/confirm"
        assert (
            await pages.post(confirm, {f"confirm-{first['id']}.title": "Hifz"})
        ).status_code == 303
        again = await pages.post(confirm, {})
        assert again.status_code == 409
        decline = f"/admin/bookings/{second['id']}/decline"
        unexplained = await pages.post(decline, {})
        assert unexplained.status_code == 422
        assert f'id="e-decline-{second["id"]}.reason"' in unexplained.text
        assert (
            await pages.post(decline, {f"decline-{second['id']}.reason": "Away"})
        ).status_code == 303
    confirmed = await _get(api, s.admin, f"/bookings/{first['id']}")
    assert confirmed["status"] == "confirmed"
    session = await _get(api, s.admin, f"/sessions/{confirmed['session_id']}")
    assert session["title"] == "Hifz"
    assert (await _get(api, s.admin, f"/bookings/{second['id']}"))["status"] == "declined"


async def test_a_package_a_subscription_and_its_changes(api: Api) -> None:
    s = await school(api)
    await speak_english(api, s.admin)
    package = {
        "package.name": "Hifz, 8 a month",
        "package.kind": "individual",
        "package.sessions_per_cycle": "8",
        "package.session_minutes": "45",
        "package.cycle_unit": "month",
        "package.active": "on",
    }
    async with page_client(api, s.admin, SLUG) as pages:
        priced = await pages.post("/admin/packages", {**package, "package.price_cents": "5000"})
        assert priced.status_code == 422
        assert 'id="e-package.currency"' in priced.text
        assert (await pages.post("/admin/packages", package)).status_code == 303
        [made] = (await _get(api, s.admin, "/packages"))["items"]
        assert (made["sessions_per_cycle"], made["active"]) == (8, True)
        body = {
            "package_id": str(made["id"]),
            "student_user_id": str(s.students[0].id),
            "teacher_user_id": str(s.teacher.id),
            "starts_on": "2026-03-01",
        }
        late = await pages.post("/admin/subscriptions", {**body, "ends_on": "2026-02-01"})
        assert late.status_code == 422
        assert 'id="e-ends_on"' in late.text
        subscribed = await pages.post("/admin/subscriptions", body)
        assert subscribed.status_code == 303
        path = subscribed.headers["location"].removeprefix(f"/a/{SLUG}").split("?")[0]
        api_path = path.removeprefix("/admin")
        for action, form in (
            ("activate", {}),
            ("cycles/1/payment", {"payment-1.status": "paid", "payment-1.note": "cash"}),
            ("pause", {"pause.starts_on": "2026-03-05", "pause.ends_on": "2026-03-10"}),
            ("resume", {}),
        ):
            answer = await pages.post(f"{path}/{action}", form)
            assert answer.status_code == 303, (action, answer.text)
        detail = await _get(api, s.admin, api_path)
        assert detail["status"] == "active"
        assert detail["cycles"][0]["payment_status"] == "paid"
        open_ended = await pages.post(f"{path}/renew", {"renew.ends_on": "2026-12-31"})
        assert open_ended.status_code == 409
        assert "cannot be renewed" in open_ended.text
        unexplained = await pages.post(f"{path}/cancel", {"cancel.reason": " "})
        assert unexplained.status_code == 422
        assert 'id="e-cancel.reason"' in unexplained.text
        assert (await pages.post(f"{path}/cancel", {"cancel.reason": "Moved"})).status_code == 303
        assert (await _get(api, s.admin, api_path))["status"] == "cancelled"
        shown = await pages.get(path)
        assert shown.status_code == 200
        assert 'id="ledger"' in shown.text
        # A flag that is not there: said on the page, not a crash.
        assert (await pages.post("/admin/ledger-flags/424242/retry")).status_code == 404
        assert (await pages.post("/admin/ledger-flags/424242/dismiss", {})).status_code == 422


async def test_meeting_settings_never_show_a_secret_back(api: Api) -> None:
    admin = await api.academy(SLUG)
    await speak_english(api, admin)
    livekit = {
        "provider": "livekit",
        "livekit_url": "wss://livekit.example.org",
        "livekit_api_key": "APIkey",
    }
    async with page_client(api, admin, SLUG) as pages:
        links = {"provider": "link", "jitsi_base_url": "https://meet.jit.si"}
        assert (await pages.post("/admin/meetings", links)).status_code == 303
        no_secret = await pages.post("/admin/meetings", livekit)
        assert no_secret.status_code == 422
        assert 'id="e-livekit_api_secret"' in no_secret.text
        bad_url = await pages.post(
            "/admin/meetings", {**livekit, "livekit_url": "livekit", "livekit_api_secret": "x"}
        )
        assert bad_url.status_code == 422
        assert 'id="e-livekit_url"' in bad_url.text
        secret = "a-very-secret-value"
        saved = await pages.post("/admin/meetings", {**livekit, "livekit_api_secret": secret})
        assert saved.status_code == 303
        shown = await pages.get("/admin/meetings")
        assert secret not in shown.text
        assert "A secret is stored; leave blank to keep it." in shown.text
        recording = {**livekit, "record": "on", "recordings.s3_bucket": "b"}
        short = await pages.post("/admin/meetings", recording)
        assert short.status_code == 422
        assert 'id="e-recordings.s3_bucket"' in short.text
        kept = await pages.post("/admin/meetings", {**livekit, "record": "on"})
        assert kept.status_code == 303  # the stored secret is kept when left blank
    config = await _get(api, admin, "/meeting-provider")
    assert config["provider"] == "livekit"
    assert config["livekit_api_secret_set"] is True
    assert config["recordings"]["path_prefix"] == "halaqa"


async def test_reports_as_tables_with_their_downloads(api: Api) -> None:
    s = await school(api)
    await speak_english(api, s.supervisor)
    async with page_client(api, s.supervisor, SLUG) as pages:
        first = await pages.get("/admin/reports")
        assert first.status_code == 200
        assert "Nobody was absent." in first.text
        who = await pages.get("/admin/reports", report="student")
        assert who.status_code == 422
        assert 'id="e-student_user_id"' in who.text
        backwards = await pages.get("/admin/reports", **{"from": "2026-03-10", "to": "2026-03-01"})
        assert backwards.status_code == 422
        assert 'id="e-to"' in backwards.text
        assert (await pages.get("/admin/reports", report="bogus")).status_code == 422
        teacher = await pages.get(
            "/admin/reports", report="teacher", teacher_user_id=str(s.teacher.id)
        )
        assert teacher.status_code == 200
        link = teacher.text.split('href="')[1:]
        csv = next(part.split('"')[0] for part in link if "format=csv" in part)
        assert csv.startswith(f"{BASE}/reports/teachers/{s.teacher.id}/attendance?")
        download = await pages.http.get(csv.replace("&amp;", "&"))
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/csv")
        runs = await pages.get("/admin/reports", report="consecutive", at_least="2")
        assert runs.status_code == 200
        assert "at_least=2" in runs.text


async def test_the_audit_log_newest_first(api: Api) -> None:
    admin = await api.academy(SLUG)
    await api.member(SLUG, admin, "teacher")
    await speak_english(api, admin)
    async with page_client(api, admin, SLUG) as pages:
        shown = await pages.get("/admin/audit")
        assert shown.status_code == 200
        assert shown.text.index("member.added") < shown.text.index("academy.created")
        only = await pages.get("/admin/audit", action="academy.created")
        assert "member.added" not in only.text.split('id="audit"')[1]
        assert (await pages.get("/admin/audit", page="0")).status_code == 404


async def test_no_form_answers_500_whatever_it_is_sent(api: Api) -> None:
    s = await school(api)
    garbage: dict[str, Any] = {
        "status": "\x00",
        "kind": ["a", "b"],
        "student_user_id": "99999999999999999999",
        "teacher_user_id": "-1",
        "starts_on": "2026-02-30",
        "weekdays": ["x"],
        "roles": ["emperor"],
        "provider": "carrier-pigeon",
        "extra": "field",
    }
    paths = [
        "/admin/settings",
        "/admin/settings/academy",
        "/admin/people",
        "/admin/people/1",
        "/admin/guardianships",
        "/admin/guardianships/1/remove",
        "/admin/groups",
        "/admin/groups/1",
        "/admin/groups/1/status",
        "/admin/groups/1/enrollments",
        "/admin/groups/1/enrollments/1",
        "/admin/schedules",
        "/admin/schedules/1/cancel",
        "/admin/holidays",
        "/admin/holidays/1/remove",
        "/admin/bookings/1/confirm",
        "/admin/bookings/1/decline",
        "/admin/packages",
        "/admin/subscriptions",
        "/admin/subscriptions/1/activate",
        "/admin/subscriptions/1/pause",
        "/admin/subscriptions/1/cycles/1/payment",
        "/admin/ledger-flags/1/retry",
        "/admin/meetings",
        f"/admin/groups/{2**70}",
    ]
    async with page_client(api, s.admin, SLUG) as pages:
        for path in paths:
            for body in (garbage, {}):
                response = await pages.post(path, body)
                assert response.status_code < 500, (path, response.text)
        for path in ("/admin/people", "/admin/groups", "/admin/audit", "/admin/reports"):
            response = await pages.get(path, page="x", q="\x00", action="\x00", report="\x00")
            assert response.status_code < 500, (path, response.text)
