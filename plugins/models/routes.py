from __future__ import annotations

from quart import Blueprint
from quart_schema import document_request, validate_querystring, validate_request, validate_response

from vetrai.core.auth import current_principal, require_scope
from vetrai.core.pagination import PageQuery, paginate
from vetrai.core.requests import optional_body
from vetrai.plugins.models import service
from vetrai.plugins.models.schemas import (
    ModelsProviderCreate,
    ModelsProviderOut,
    ModelsProviderPage,
    ModelsProviderTest,
    ModelsProviderTestRequest,
    ModelsProviderUpdate,
    ModelsSecretCreate,
    ModelsSecretOut,
    ModelsSecretPage,
    ModelsSecretUpdate,
    ModelsUsageOut,
    ModelsUsageQuery,
)

blueprint = Blueprint("models", __name__)
secrets_blueprint = Blueprint("models_secrets", __name__)


# --- providers ------------------------------------------------------------------------------


@blueprint.post("/providers")
@require_scope("models:write")
@validate_request(ModelsProviderCreate)
@validate_response(ModelsProviderOut, 201)
async def create_provider(data: ModelsProviderCreate) -> tuple[ModelsProviderOut, int]:
    """Add a provider to your organization (org_admin); its key is stored encrypted."""
    row = await service.create_provider(await current_principal(), data)
    return ModelsProviderOut.model_validate(row), 201


@blueprint.get("/providers")
@require_scope("models:read")
@validate_querystring(PageQuery)
@validate_response(ModelsProviderPage)
async def list_providers(query_args: PageQuery) -> dict:
    """Your organization's providers, newest first (keys shown by their last 4 characters)."""
    return await paginate(service.visible_providers(await current_principal()), query_args, ModelsProviderOut)


@blueprint.get("/providers/<provider_id>")
@require_scope("models:read")
@validate_response(ModelsProviderOut)
async def get_provider(provider_id: str) -> ModelsProviderOut:
    """One provider (404 for another organization's)."""
    return ModelsProviderOut.model_validate(await service.get_provider(await current_principal(), provider_id))


@blueprint.put("/providers/<provider_id>")
@require_scope("models:write")
@validate_request(ModelsProviderUpdate)
@validate_response(ModelsProviderOut)
async def update_provider(provider_id: str, data: ModelsProviderUpdate) -> ModelsProviderOut:
    """Change a provider; fields not sent stay as they are. ``is_default`` true makes it the only default."""
    row = await service.update_provider(await current_principal(), provider_id, data.model_dump(exclude_unset=True))
    return ModelsProviderOut.model_validate(row)


@blueprint.delete("/providers/<provider_id>")
@require_scope("models:write")
async def delete_provider(provider_id: str) -> tuple[str, int]:
    """Remove a provider and its encrypted key."""
    await service.delete_provider(await current_principal(), provider_id)
    return "", 204


@blueprint.post("/providers/<provider_id>/test")
@require_scope("models:write")
@document_request(ModelsProviderTestRequest)
@validate_response(ModelsProviderTest)
async def test_provider(provider_id: str) -> dict:
    """One tiny completion through the provider: ``ok`` and the latency, or the error (naming the provider).
    The body may be left out."""
    principal = await current_principal()
    await service.get_provider(principal, provider_id)  # another organization's is a 404 whatever the body
    data = await optional_body(ModelsProviderTestRequest)
    # The provider clients (openai, langchain-openai) load on first use, not at start-up.
    from vetrai.plugins.models import runtime as models_runtime

    return await models_runtime.test_provider(principal, provider_id, data.model)


# --- usage ----------------------------------------------------------------------------------


@blueprint.get("/usage")
@require_scope("models:read")
@validate_querystring(ModelsUsageQuery)
@validate_response(ModelsUsageOut)
async def get_usage(query_args: ModelsUsageQuery) -> dict:
    """Tokens and cost per day and model (your organization; a super_admin sees every organization)."""
    return await service.usage_report(
        await current_principal(), query_args.from_, query_args.to, query_args.organization_id
    )


# --- secrets --------------------------------------------------------------------------------


@secrets_blueprint.post("")
@require_scope("models:write")
@validate_request(ModelsSecretCreate)
@validate_response(ModelsSecretOut, 201)
async def create_secret(data: ModelsSecretCreate) -> tuple[ModelsSecretOut, int]:
    """Store a named secret for your organization's workflows (org_admin); only its last 4 are shown."""
    row = await service.create_secret(await current_principal(), data)
    return ModelsSecretOut.model_validate(row), 201


@secrets_blueprint.get("")
@require_scope("models:read")
@validate_querystring(PageQuery)
@validate_response(ModelsSecretPage)
async def list_secrets(query_args: PageQuery) -> dict:
    """Your organization's secrets, newest first (never their values)."""
    return await paginate(service.visible_secrets(await current_principal()), query_args, ModelsSecretOut)


@secrets_blueprint.get("/<secret_id>")
@require_scope("models:read")
@validate_response(ModelsSecretOut)
async def get_secret(secret_id: str) -> ModelsSecretOut:
    """One secret without its value (404 for another organization's)."""
    return ModelsSecretOut.model_validate(await service.get_secret(await current_principal(), secret_id))


@secrets_blueprint.put("/<secret_id>")
@require_scope("models:write")
@validate_request(ModelsSecretUpdate)
@validate_response(ModelsSecretOut)
async def update_secret(secret_id: str, data: ModelsSecretUpdate) -> ModelsSecretOut:
    """Rename, describe or replace the value of a secret; fields not sent stay as they are."""
    row = await service.update_secret(await current_principal(), secret_id, data.model_dump(exclude_unset=True))
    return ModelsSecretOut.model_validate(row)


@secrets_blueprint.delete("/<secret_id>")
@require_scope("models:write")
async def delete_secret(secret_id: str) -> tuple[str, int]:
    """Delete a secret."""
    await service.delete_secret(await current_principal(), secret_id)
    return "", 204
