"""Model access from inside a run: ``chat_model(config)`` and ``secret(config, name)``.

A run carries ids only (``config["configurable"]["organization_id"]``); the worker resolves the
organization's provider from the database, decrypts its key in memory (cached for
``VETRAI_MODELS_CACHE_SECONDS``) and hands the graph a LangChain chat model. That model streams
its tokens through LangGraph's ``messages`` stream mode like any other, and carries a callback
that checks the ``max_monthly_tokens`` quota before each call and records each call's tokens
into ``models_usage`` as it ends, so a run that fails later is still counted.

Provider errors are re-raised without the provider's response body (which may quote part of the
key): they name the provider and the HTTP status only.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import openai
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.outputs import ChatGenerationChunk, ChatResult, LLMResult
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from vetrai.core.hooks import Principal
from vetrai.engine.runtime import NotRetryable
from vetrai.plugins.models import service
from vetrai.plugins.models.models import Provider, Secret
from vetrai.plugins.models.service import ModelsRuntime

log = logging.getLogger("vetrai.models")


class NoModelProvider(NotRetryable):
    """The run's organization has no provider and is not granted the operator's."""


class MissingSecret(NotRetryable):
    """A graph asked for a secret its organization does not have."""


class TokenQuotaExceeded(NotRetryable):
    """The organization used its plan's max_monthly_tokens: no more model calls this month."""

    kind = "quota-exceeded"


class ModelProviderError(Exception):
    """A provider failed after the retries (429, 5xx, timeout, unreachable); another attempt may work."""


class ModelProviderRefused(ModelProviderError, NotRetryable):
    """A provider refused the request (401, 403, 404, 400): retrying cannot help."""


@dataclass(frozen=True)
class ResolvedProvider:
    """A provider with its key decrypted: lives in a worker's memory only, never in state or logs."""

    id: str
    name: str
    kind: str
    base_url: str | None
    models: tuple[str, ...]
    default_model: str
    api_key: str = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)


def resolve_provider_row(row: Provider, rt: ModelsRuntime) -> ResolvedProvider:
    headers = json.loads(rt.sealer.open(row.headers_sealed)) if row.headers_sealed else {}
    return ResolvedProvider(
        id=str(row.id),
        name=row.name,
        kind=row.kind,
        base_url=row.base_url,
        models=tuple(row.models or ()),
        default_model=row.default_model,
        api_key=rt.sealer.open(row.api_key_sealed),
        headers=headers,
    )


def _cached(rt: ModelsRuntime, key: tuple[str, ...]) -> Any:
    hit = rt.cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    return None


def _remember(rt: ModelsRuntime, key: tuple[str, ...], value: Any) -> Any:
    if rt.settings.cache_seconds > 0:
        rt.cache[key] = (time.monotonic() + rt.settings.cache_seconds, value)
    return value


async def organization_of(config: Any) -> str:
    """The run's organization id from ``configurable`` (the thread's job row when a run lacks it)."""
    configurable = (config or {}).get("configurable") or {}
    organization_id = configurable.get("organization_id")
    if organization_id:
        return str(organization_id)
    thread_id = configurable.get("thread_id")
    if thread_id:
        from vetrai.engine.models import Job

        try:
            key = uuid.UUID(str(thread_id))
        except ValueError:
            key = None
        if key is not None:
            found = await Job.filter(id=key).values_list("organization_id", flat=True)
            if found:
                return str(found[0])
    raise NoModelProvider("this run carries no organization_id, so no model provider can be chosen")


async def providers_of(organization_id: str, rt: ModelsRuntime) -> list[ResolvedProvider]:
    """The organization's providers, default first, then the operator's if its plan is granted it."""
    key = (organization_id, "providers")
    cached = _cached(rt, key)
    if cached is not None:
        return cached
    rows = await Provider.filter(organization_id=organization_id).order_by("-is_default", "created_at")
    resolved = [resolve_provider_row(row, rt) for row in rows]
    operator = rt.settings.operator
    if not resolved and operator is not None and await service.operator_granted(organization_id):
        resolved.append(
            ResolvedProvider(
                id=service.OPERATOR_ID,
                name=operator.name,
                kind=operator.kind,
                base_url=operator.base_url,
                models=tuple(operator.models),
                default_model=operator.default_model,
                api_key=operator.api_key,
                headers=dict(operator.headers),
            )
        )
    return _remember(rt, key, resolved)


def choose(providers: list[ResolvedProvider], model: str | None) -> tuple[ResolvedProvider, str]:
    """``model`` None: the default provider's default model. Otherwise the provider listing that
    model, ``"<provider name>:<model>"`` for a given provider, or the default provider with that name."""
    if not providers:
        raise NoModelProvider(service.NO_PROVIDER)
    if not model:
        return providers[0], providers[0].default_model
    for provider in providers:
        if model in provider.models:
            return provider, model
    name, _, rest = model.partition(":")
    for provider in providers:
        if rest and provider.name == name:
            return provider, rest
    return providers[0], model


class UsageRecorder(AsyncCallbackHandler):
    """Quota check before each call, usage row update after it (inline, errors raised)."""

    raise_error = True
    run_inline = True

    def __init__(self, organization_id: str, model: str) -> None:
        self.organization_id = organization_id
        self.model = model

    async def on_chat_model_start(self, serialized: dict[str, Any], messages: Any, **kwargs: Any) -> None:
        problem = await service.token_quota_problem(self.organization_id)
        if problem is not None:
            raise TokenQuotaExceeded(problem.detail)

    async def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        input_tokens = output_tokens = 0
        for generations in response.generations:
            for generation in generations:
                usage = getattr(getattr(generation, "message", None), "usage_metadata", None) or {}
                input_tokens += int(usage.get("input_tokens") or 0)
                output_tokens += int(usage.get("output_tokens") or 0)
        if not (input_tokens or output_tokens):
            token_usage = (response.llm_output or {}).get("token_usage") or {}
            input_tokens = int(token_usage.get("prompt_tokens") or 0)
            output_tokens = int(token_usage.get("completion_tokens") or 0)
        try:
            await service.record_usage(self.organization_id, self.model, input_tokens, output_tokens)
        except Exception:
            log.exception("recording model usage of organization %s failed", self.organization_id)


def provider_error(provider: str, exc: Exception, timeout: float) -> ModelProviderError:
    """A clear error naming the provider and the status; never the body, which may quote the key."""
    if isinstance(exc, openai.AuthenticationError):
        return ModelProviderRefused(
            f"model provider {provider!r} rejected its API key (HTTP 401); update the provider's api_key"
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return ModelProviderRefused(f"model provider {provider!r} refused access (HTTP 403)")
    if isinstance(exc, openai.NotFoundError):
        return ModelProviderRefused(f"model provider {provider!r} does not know this model or path (HTTP 404)")
    if isinstance(exc, openai.RateLimitError):
        return ModelProviderError(f"model provider {provider!r} is rate limiting (HTTP 429) after the retries")
    if isinstance(exc, openai.APITimeoutError):
        return ModelProviderError(f"model provider {provider!r} did not answer within {timeout:g} s")
    if isinstance(exc, openai.APIConnectionError):
        return ModelProviderError(f"model provider {provider!r} could not be reached")
    if isinstance(exc, openai.APIStatusError):
        if 400 <= exc.status_code < 500:
            return ModelProviderRefused(f"model provider {provider!r} refused the request (HTTP {exc.status_code})")
        return ModelProviderError(f"model provider {provider!r} failed (HTTP {exc.status_code}) after the retries")
    return ModelProviderError(f"model provider {provider!r} failed: {type(exc).__name__}")


class VetraiChatOpenAI(ChatOpenAI):
    """ChatOpenAI whose provider errors are re-raised as ``ModelProviderError`` naming the provider."""

    vetrai_provider: str = "provider"

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Headers may carry credentials too: serialized models (callbacks, tracers) mask them like the key."""
        return {**super().lc_secrets, "default_headers": "VETRAI_PROVIDER_HEADERS"}

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, ({key: "****" for key in value} if name == "default_headers" and value else value)

    async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
        try:
            return await super()._agenerate(*args, **kwargs)
        except openai.APIError as exc:
            raise provider_error(self.vetrai_provider, exc, float(self.request_timeout or 0)) from None

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        try:
            async for chunk in super()._astream(*args, **kwargs):
                yield chunk
        except openai.APIError as exc:
            raise provider_error(self.vetrai_provider, exc, float(self.request_timeout or 0)) from None


def build_chat_model(
    provider: ResolvedProvider,
    model: str | None,
    *,
    organization_id: str | None,
    rt: ModelsRuntime | None = None,
    **overrides: Any,
) -> VetraiChatOpenAI:
    """The LangChain chat model for ``provider``; with an organization, metered by ``UsageRecorder``."""
    rt = rt or service.runtime()
    name = model or provider.default_model
    options: dict[str, Any] = {
        "model": name,
        "api_key": SecretStr(provider.api_key),
        "base_url": provider.base_url,
        "default_headers": provider.headers or None,
        "stream_usage": True,
        "max_retries": rt.settings.max_retries,
        "timeout": rt.settings.timeout_seconds,
        "vetrai_provider": provider.name,
    }
    if organization_id is not None:
        options["callbacks"] = [UsageRecorder(organization_id, name)]
    options.update(overrides)
    return VetraiChatOpenAI(**options)


async def chat_model(config: Any, model: str | None = None, **overrides: Any) -> VetraiChatOpenAI:
    """The run organization's chat model (its default provider and model unless ``model`` names one).

    Without ``model``, ``config["configurable"]["model"]`` (an assistant's or a run's configurable
    model setting) chooses it. ``overrides`` go to the model (``temperature``, ``max_tokens``...).
    Raises ``NoModelProvider`` when the organization has none and is not granted the operator's.
    """
    rt = service.runtime()
    organization_id = await organization_of(config)
    if model is None:
        configured = ((config or {}).get("configurable") or {}).get("model")
        model = configured if isinstance(configured, str) and configured else None
    provider, name = choose(await providers_of(organization_id, rt), model)
    return build_chat_model(provider, name, organization_id=organization_id, rt=rt, **overrides)


async def secret(config: Any, name: str) -> str:
    """The plaintext of the run organization's secret ``name`` (keep it out of state and output)."""
    rt = service.runtime()
    organization_id = await organization_of(config)
    key = (organization_id, "secret", name)
    cached = _cached(rt, key)
    if cached is not None:
        return cached
    row = await Secret.get_or_none(organization_id=organization_id, name=name)
    if row is None:
        raise MissingSecret(f"this organization has no secret named {name!r}")
    return _remember(rt, key, rt.sealer.open(row.value_sealed))


async def test_provider(principal: Principal, provider_id: str, model: str | None = None) -> dict[str, Any]:
    """One tiny completion through the provider; the outcome, never an exception, is the answer."""
    row = await service.get_provider(principal, provider_id)
    provider = resolve_provider_row(row, service.runtime())
    name = model or provider.default_model
    started = time.monotonic()
    try:
        llm = build_chat_model(provider, name, organization_id=None, max_tokens=1, max_retries=0)
        await llm.ainvoke("Reply with OK.")
    except ModelProviderError as exc:
        return {"ok": False, "model": name, "latency_ms": None, "error": str(exc)}
    except Exception as exc:  # a base URL the HTTP client cannot use, a model the SDK refuses
        log.info("provider test of %s failed", provider.name, exc_info=True)
        error = provider_error(provider.name, exc, service.runtime().settings.timeout_seconds)
        return {"ok": False, "model": name, "latency_ms": None, "error": str(error)}
    return {
        "ok": True,
        "model": name,
        "latency_ms": int((time.monotonic() - started) * 1000),
        "error": None,
    }
