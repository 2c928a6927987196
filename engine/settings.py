from __future__ import annotations

from pydantic import Field

from vetrai.core.config import PluginSettings


class WorkersSettings(PluginSettings, plugin="workers"):
    """``VETRAI_WORKERS_*``: leases, the reaper, event streams, webhooks and run bounds."""

    lease_seconds: float = Field(
        30.0, description="How long a claimed job stays leased without a heartbeat before the reaper re-queues it."
    )
    heartbeat_seconds: float = Field(5.0, description="How often a running job renews its lease.")
    reaper_seconds: float = Field(
        10.0, description="How often the reaper looks for expired leases and lost queued jobs."
    )
    stale_queued_seconds: float = Field(
        30.0, description="A queued job untouched this long is sent to the broker again by the reaper."
    )
    idempotency_hours: float = Field(24.0, description="How long an idempotency_key returns the job it first created.")
    keepalive_seconds: float = Field(
        15.0,
        description="Interval of keep-alive comments on an idle event stream (it also re-reads the database then).",
    )
    webhook_max_attempts: int = Field(5, description="Deliveries tried per job webhook (exponential backoff from 1 s).")
    webhook_allow_private: bool = Field(
        False,
        description=(
            "Deliver job webhooks to loopback/private addresses too (off: such URLs are refused, against SSRF)."
        ),
    )
    max_events_per_run: int = Field(
        10_000, description="Events one run may write (node updates, progress, tokens); past it the run fails."
    )
    max_output_bytes: int = Field(
        5_000_000, description="Largest output (JSON bytes) a run may return; a larger one fails the run."
    )
    storage_check_seconds: float = Field(
        10.0,
        description="How long a process reuses its measure of an organization's run storage (checkpoints, events)"
        " for the max_storage_bytes check; a run that ends or is deleted in that process re-measures at once.",
    )
    checkpoint_pool_size: int = Field(10, description="Largest psycopg pool of the LangGraph Postgres checkpointer.")
