"""Usage per organization, day and model; the max_monthly_tokens quota; provider failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vetrai.core.models import Organization
from vetrai.plugins.models.models import Usage
from vetrai.plugins.models.settings import ModelsPrice

HELLO = {"messages": [{"role": "user", "content": "hello"}]}
CALCULATE = {"messages": [{"role": "user", "content": "calculate 6 * 7"}]}


async def _limit(organization, tokens: int) -> None:
    await Organization.filter(id=organization.id).update(limits={"max_monthly_tokens": tokens})


async def test_usage_report_with_prices_range_and_super_admin(client, jobs, make_user, add_provider, platform):
    platform.state["models"].settings.prices = {"fake-small": ModelsPrice(input_per_1k=1.0, output_per_1k=2.0)}
    admin = await make_user(role="org_admin")
    other = await make_user(role="org_admin")
    await add_provider(admin)
    await add_provider(other)
    job = await jobs.create(admin, "chat", CALCULATE)
    assert (await jobs.wait(admin, job["id"], "succeeded", "failed"))["status"] == "succeeded"
    job = await jobs.create(other, "chat", HELLO)
    assert (await jobs.wait(other, job["id"], "succeeded", "failed"))["status"] == "succeeded"

    rows = await Usage.filter(organization_id=admin.organization.id)
    assert len(rows) == 1 and rows[0].calls == 2  # the tool call and the answer
    report = await (await client.get("/api/v1/models/usage", headers=admin.headers)).get_json()
    [item] = report["items"]
    assert item["model"] == "fake-small" and item["day"] == datetime.now(UTC).date().isoformat()
    assert item["input_tokens"] == rows[0].input_tokens and item["output_tokens"] == rows[0].output_tokens
    expected = rows[0].input_tokens / 1000 + rows[0].output_tokens / 1000 * 2
    assert abs(item["cost"] - expected) < 1e-9
    assert report["totals"]["total_tokens"] == item["input_tokens"] + item["output_tokens"]

    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    later = await (
        await client.get(f"/api/v1/models/usage?from={tomorrow}&to={tomorrow}", headers=admin.headers)
    ).get_json()
    assert later["items"] == [] and later["totals"]["total_tokens"] == 0
    bad = await client.get("/api/v1/models/usage?from=yesterday", headers=admin.headers)
    assert bad.status_code == 400

    root = await make_user(role="super_admin")
    everyone = await (await client.get("/api/v1/models/usage", headers=root.headers)).get_json()
    assert everyone["totals"]["total_tokens"] == report["totals"]["total_tokens"] + sum(
        row.input_tokens + row.output_tokens for row in await Usage.filter(organization_id=other.organization.id)
    )
    one = await (
        await client.get(f"/api/v1/models/usage?organization_id={other.organization.id}", headers=root.headers)
    ).get_json()
    assert one["totals"]["total_tokens"] < everyone["totals"]["total_tokens"]


async def test_exhausted_tokens_refuse_the_submission_with_403(jobs, make_user, add_provider):
    admin = await make_user(role="org_admin")
    await add_provider(admin)
    job = await jobs.create(admin, "chat", HELLO)
    await jobs.wait(admin, job["id"], "succeeded", "failed")
    used = sum(
        row.input_tokens + row.output_tokens for row in await Usage.filter(organization_id=admin.organization.id)
    )
    await _limit(admin.organization, used)
    problem = await jobs.create(admin, "chat", HELLO, expect=403)
    assert problem["type"].endswith("quota-exceeded") and problem["limit"] == "max_monthly_tokens"
    assert problem["current"] == used


async def test_a_run_crossing_the_quota_stops_with_quota_exceeded_and_counts_what_it_used(
    jobs, make_user, add_provider, fake_openai
):
    admin = await make_user(role="org_admin")
    await add_provider(admin)
    await _limit(admin.organization, 1)  # the first call is allowed (0 used), the second is not
    job = await jobs.create(admin, "chat", CALCULATE)
    failed = await jobs.wait(admin, job["id"], "failed", "succeeded")
    assert failed["status"] == "failed" and failed["attempts"] == 1  # not retried
    assert failed["error"]["type"] == "TokenQuotaExceeded" and "max_monthly_tokens" in failed["error"]["message"]
    assert len(fake_openai.requests) == 1
    [row] = await Usage.filter(organization_id=admin.organization.id)
    assert row.calls == 1 and row.output_tokens > 0  # counted although the run failed


async def test_a_rejected_key_fails_at_once_naming_the_provider(jobs, make_user, add_provider, fake_openai):
    admin = await make_user(role="org_admin")
    await add_provider(admin, name="acme-llm", api_key="sk-bad-secret-1234567890")
    job = await jobs.create(admin, "chat", HELLO)
    failed = await jobs.wait(admin, job["id"], "failed", "succeeded")
    assert failed["attempts"] == 1 and failed["error"]["type"] == "ModelProviderRefused"
    message = failed["error"]["message"]
    assert "'acme-llm'" in message and "401" in message
    assert "sk-bad" not in message and "7890" not in message
    assert len(fake_openai.requests) == 1  # a 401 is not retried


async def test_429_is_retried_by_the_client(jobs, make_user, add_provider, fake_openai):
    admin = await make_user(role="org_admin")
    await add_provider(admin, default_model="flaky-429")
    job = await jobs.create(admin, "chat", HELLO)
    done = await jobs.wait(admin, job["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done
    assert fake_openai.calls["flaky-429"] == 2 and done["attempts"] == 1


async def test_5xx_is_retried_then_fails_the_run_clearly(jobs, make_user, add_provider, fake_openai, platform):
    platform.state["models"].settings.max_retries = 1
    admin = await make_user(role="org_admin")
    await add_provider(admin, default_model="fail-500")
    job = await jobs.create(admin, "chat", HELLO)
    failed = await jobs.wait(admin, job["id"], "failed", "succeeded", within=30)
    assert failed["error"]["type"] == "ModelProviderError" and "HTTP 500" in failed["error"]["message"]
    assert failed["attempts"] == 2  # the engine retried the run once after the client's retries
    assert fake_openai.calls["fail-500"] == 4


async def test_a_slow_provider_times_out(jobs, make_user, add_provider, fake_openai, platform):
    settings = platform.state["models"].settings
    settings.max_retries, settings.timeout_seconds = 0, 0.3
    fake_openai.slow_seconds = 3
    admin = await make_user(role="org_admin")
    await add_provider(admin, default_model="slow")
    job = await jobs.create(admin, "chat", HELLO)
    failed = await jobs.wait(admin, job["id"], "failed", "succeeded", within=30)
    assert "did not answer within 0.3 s" in failed["error"]["message"]


async def test_billing_meters_the_tokens_of_finished_runs(client, make_user, platform):
    admin = await make_user(role="org_admin")
    usage = {"input_tokens": 70, "output_tokens": 30, "total_tokens": 100, "by_model": {}}
    for _ in range(2):
        await platform.events.emit(
            "engine.job_finished",
            {"job_id": "x", "template": "chat", "status": "succeeded", "user_id": None, "usage": usage},
            organization_id=admin.organization.id,
        )
    await platform.events.emit(
        "engine.job_finished",
        {"job_id": "y", "template": "echo", "status": "succeeded", "user_id": None},
        organization_id=admin.organization.id,
    )
    report = await (await client.get("/api/v1/billing/usage", headers=admin.headers)).get_json()
    quantities = {item["metric"]: item["quantity"] for item in report["items"]}
    assert quantities["llm_tokens"] == 200 and quantities["job_runs"] == 3
