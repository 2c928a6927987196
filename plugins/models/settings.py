from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from vetrai.core.config import PluginSettings


class ModelsPrice(BaseModel):
    """What one model costs, in the deployment's currency per 1,000 tokens."""

    model_config = ConfigDict(extra="forbid")

    input_per_1k: float = Field(0.0, ge=0)
    output_per_1k: float = Field(0.0, ge=0)


class ModelsOperatorProvider(BaseModel):
    """The deployment's own provider, lent to organizations that bring no key of their own."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("operator", min_length=1, max_length=100)
    kind: Literal["openai"] = "openai"
    base_url: str | None = None
    api_key: str = Field(min_length=1)
    models: list[str] = Field(default_factory=list)
    default_model: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    plans: list[str] | None = Field(
        None, description="Plans whose organizations may use it when they have no provider; None = every plan."
    )


class ModelsSettings(PluginSettings, plugin="models"):
    """``VETRAI_MODELS_*``: the operator provider, secret encryption keys, prices, call limits."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    operator: ModelsOperatorProvider | None = Field(
        None,
        validation_alias=AliasChoices("VETRAI_MODELS", "VETRAI_MODELS_OPERATOR", "operator"),
        description="JSON of the deployment-wide provider {name, kind, base_url, api_key, models, default_model, "
        "headers, plans} (VETRAI_MODELS); organizations of the listed plans without a provider use it.",
    )
    encryption_keys: list[str] = Field(
        default_factory=list,
        description="JSON list of Fernet keys for secrets at rest: the first encrypts, all decrypt "
        "(rotation: put a new key first, run `vetrai rotate-secrets`, then drop the old one). "
        "Default: a key derived from VETRAI_SECRET_KEY, which always stays readable.",
    )
    prices: dict[str, ModelsPrice] = Field(
        default_factory=dict,
        description='JSON price table {"model": {"input_per_1k": 0.0005, "output_per_1k": 0.0015}}; '
        "a model not listed costs 0.",
    )
    timeout_seconds: float = Field(60.0, gt=0, le=3600, description="Timeout of one model call, in seconds.")
    max_retries: int = Field(
        3, ge=0, le=10, description="Retries of a model call answered 429 or 5xx (exponential backoff)."
    )
    cache_seconds: float = Field(
        30.0, ge=0, description="How long a worker keeps a decrypted provider or secret in memory."
    )
    summarize_chunk_chars: int = Field(
        8000, ge=500, le=200_000, description="Characters of text per chunk summarized by the summarize workflow."
    )
    allow_private_base_urls: bool = Field(
        False,
        description="Let organizations point providers at private or loopback addresses (self-hosted vLLM or Ollama "
        "on the same network); off, such a base_url is refused.",
    )
