"""The built-in chat, summarize and extract workflows end to end through the jobs API,
against the fake OpenAI-compatible server (real HTTP, streamed responses)."""

from __future__ import annotations

from vetrai.core.models import Organization
from vetrai.plugins.models.models import Usage
from vetrai.plugins.models.settings import ModelsOperatorProvider, ModelsSettings

from .conftest import API_KEY


async def test_chat_calls_the_calculator_tool_and_answers(jobs, make_user, add_provider, fake_openai):
    admin = await make_user(role="org_admin")
    await add_provider(admin, headers={"X-Team": "team-header-value"})
    job = await jobs.create(
        admin, "chat", {"messages": [{"role": "user", "content": "Please calculate (12 + 30) * 2"}]}
    )
    done = await jobs.wait(admin, job["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done
    output = done["output"]
    assert output["reply"] == "The answer is 84."
    roles = [message["role"] for message in output["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert output["messages"][1]["tool_calls"] == [{"name": "calculator", "args": {"expression": "(12 + 30) * 2"}}]
    assert output["messages"][2]["content"] == "84"
    first = fake_openai.requests[0]
    assert first["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert first["headers"]["X-Team"] == "team-header-value"
    assert {tool["function"]["name"] for tool in first["body"]["tools"]} == {"calculator", "current_time"}


async def test_chat_uses_a_named_model_and_records_usage_per_model(client, jobs, make_user, add_provider, fake_openai):
    admin = await make_user(role="org_admin")
    await add_provider(admin)
    job = await jobs.create(
        admin, "chat", {"messages": [{"role": "user", "content": "hi there"}], "model": "fake-large"}
    )
    done = await jobs.wait(admin, job["id"], "succeeded", "failed")
    assert done["output"]["reply"] == "Hello! You said: hi there"
    assert fake_openai.requests[-1]["model"] == "fake-large"
    rows = await Usage.filter(organization_id=admin.organization.id).values(
        "model", "calls", "input_tokens", "output_tokens"
    )
    assert len(rows) == 1 and rows[0]["model"] == "fake-large" and rows[0]["calls"] == 1
    assert rows[0]["input_tokens"] > 0 and rows[0]["output_tokens"] == 5  # "Hello! You said: hi there"
    usage = await (await client.get("/api/v1/models/usage", headers=admin.headers)).get_json()
    assert [(item["model"], item["output_tokens"]) for item in usage["items"]] == [("fake-large", 5)]
    assert usage["totals"]["total_tokens"] == rows[0]["input_tokens"] + 5


async def test_summarize_maps_chunks_and_reduces(jobs, make_user, add_provider, fake_openai, platform):
    admin = await make_user(role="org_admin")
    await add_provider(admin)
    platform.state["models"].settings.summarize_chunk_chars = 500
    paragraphs = [f"Paragraph {index} " + " ".join(f"word{index}_{n}" for n in range(40)) for index in range(4)]
    job = await jobs.create(admin, "summarize", {"text": "\n\n".join(paragraphs), "max_words": 10})
    done = await jobs.wait(admin, job["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done
    assert done["output"]["chunks"] == 4
    assert done["output"]["words"] == 10 and done["output"]["summary"].startswith("Summary:")
    prompts = [request["body"]["messages"][0]["content"] for request in fake_openai.requests]
    assert sum(prompt.startswith("Summarize") for prompt in prompts) == 4
    assert sum(prompt.startswith("These are summaries") for prompt in prompts) == 1


async def test_extract_returns_data_matching_the_schema(jobs, make_user, add_provider, fake_openai):
    admin = await make_user(role="org_admin")
    await add_provider(admin)
    schema = {
        "title": "Person",
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "city": {"type": "string"}},
        "required": ["name", "age"],
    }
    job = await jobs.create(admin, "extract", {"text": "name: Ada Lovelace, age: 36, city: London", "schema": schema})
    done = await jobs.wait(admin, job["id"], "succeeded", "failed")
    assert done["status"] == "succeeded", done
    assert done["output"] == {"data": {"name": "Ada Lovelace", "age": 36, "city": "London"}}
    forced = fake_openai.requests[-1]["body"]["tool_choice"]
    assert forced["function"]["name"] == "Person"

    missing = await jobs.create(admin, "extract", {"text": "nothing useful here", "schema": schema})
    failed = await jobs.wait(admin, missing["id"], "failed", "succeeded")
    assert failed["status"] == "failed" and "does not match the schema" in failed["error"]["message"]


async def test_extract_refuses_a_schema_that_is_not_an_object(jobs, make_user, add_provider):
    admin = await make_user(role="org_admin")
    await add_provider(admin)
    problem = await jobs.create(admin, "extract", {"text": "x", "schema": {"type": "string"}}, expect=422)
    assert problem["errors"][0]["loc"][:3] == ["body", "input", "schema"]


async def test_model_workflows_without_a_provider_are_422(jobs, make_user):
    admin = await make_user(role="org_admin")
    for template, values in (
        ("chat", {"messages": [{"role": "user", "content": "hi"}]}),
        ("summarize", {"text": "some text"}),
        ("extract", {"text": "a: 1", "schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}),
    ):
        problem = await jobs.create(admin, template, values, expect=422)
        assert problem["detail"] == "no model provider configured for this organization", template
    listed = await jobs.client.get("/api/v1/workers/jobs", headers=admin.headers)
    assert (await listed.get_json())["items"] == []  # nothing queued


async def test_another_organizations_provider_is_never_used(jobs, make_user, add_provider, fake_openai):
    owner = await make_user(role="org_admin")
    outsider = await make_user(role="org_admin")
    await add_provider(owner, name="owners")
    problem = await jobs.create(outsider, "chat", {"messages": [{"role": "user", "content": "hi"}]}, expect=422)
    assert problem["status"] == 422
    await add_provider(outsider, name="mine", api_key="sk-outsider-key-99990000", default_model="fake-small")
    job = await jobs.create(
        outsider, "chat", {"messages": [{"role": "user", "content": "hi"}], "model": "owners:fake-large"}
    )
    await jobs.wait(outsider, job["id"], "succeeded", "failed")
    assert all(
        request["headers"]["Authorization"] == "Bearer sk-outsider-key-99990000" for request in fake_openai.requests
    )


async def test_the_operator_provider_serves_granted_plans_only(client, jobs, make_user, fake_openai, platform):
    platform.state["models"].settings.operator = ModelsOperatorProvider(
        name="house",
        base_url=fake_openai.base_url,
        api_key="sk-operator-key-5555666677",
        default_model="fake-small",
        plans=["pro"],
    )
    free = await make_user(role="org_admin")
    problem = await jobs.create(free, "chat", {"messages": [{"role": "user", "content": "hi"}]}, expect=422)
    assert problem["detail"] == "no model provider configured for this organization"
    pro = await make_user(role="org_admin")
    await Organization.filter(id=pro.organization.id).update(plan="pro")
    job = await jobs.create(pro, "chat", {"messages": [{"role": "user", "content": "hi"}]})
    assert (await jobs.wait(pro, job["id"], "succeeded", "failed"))["status"] == "succeeded"
    assert fake_openai.requests[-1]["headers"]["Authorization"] == "Bearer sk-operator-key-5555666677"
    listed = await (await client.get("/api/v1/models/providers", headers=pro.headers)).get_json()
    assert listed["items"] == []  # the operator's provider is never shown
    assert await Usage.filter(organization_id=pro.organization.id).count() == 1


def test_settings_read_the_operator_provider_and_keys_from_the_environment(monkeypatch):
    monkeypatch.setenv(
        "VETRAI_MODELS", '{"name": "house", "api_key": "sk-x-000000000000", "default_model": "m", "plans": ["pro"]}'
    )
    monkeypatch.setenv("VETRAI_MODELS_ENCRYPTION_KEYS", '["a", "b"]')
    monkeypatch.setenv("VETRAI_MODELS_PRICES", '{"m": {"input_per_1k": 0.5, "output_per_1k": 1.5}}')
    settings = ModelsSettings()
    assert settings.operator is not None and settings.operator.name == "house" and settings.operator.plans == ["pro"]
    assert settings.encryption_keys == ["a", "b"] and settings.prices["m"].output_per_1k == 1.5


async def test_the_specs_admit_is_the_engine_side_contract(make_user, add_provider):
    """What the engine calls before queueing a job: ``await spec.admit(organization_id, input)``."""
    import pytest

    from vetrai.core.errors import ProblemError
    from vetrai.engine.spec import get_workflow

    admin = await make_user(role="org_admin")
    spec = get_workflow("chat")
    with pytest.raises(ProblemError) as refused:
        await spec.admit(admin.organization.id, {})
    assert refused.value.status == 422 and refused.value.detail == "no model provider configured for this organization"
    await add_provider(admin)
    await spec.admit(admin.organization.id, {})
    await Organization.filter(id=admin.organization.id).update(limits={"max_monthly_tokens": 0})
    with pytest.raises(ProblemError) as exhausted:
        await spec.admit(admin.organization.id, {})
    assert exhausted.value.status == 403 and exhausted.value.kind == "quota-exceeded"
    assert all(getattr(get_workflow(name), "admit", None) is not None for name in ("chat", "summarize", "extract"))


async def test_the_langgraph_api_admits_model_runs_like_the_jobs_api(client, make_user):
    from vetrai.engine.models import Job, Thread

    admin = await make_user(role="org_admin")
    response = await client.post(
        "/api/v1/langgraph/runs/wait",
        json={"assistant_id": "chat", "input": {"messages": [{"role": "user", "content": "hi"}]}},
        headers=admin.headers,
    )
    problem = await response.get_json()
    assert response.status_code == 422, problem
    assert problem["detail"] == "no model provider configured for this organization"
    assert await Job.filter(organization_id=admin.organization.id).count() == 0
    assert await Thread.filter(organization_id=admin.organization.id).count() == 0  # nothing half-written
