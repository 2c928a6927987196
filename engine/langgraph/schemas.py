"""Request bodies of the LangGraph Server API, as langgraph-sdk sends them (unknown fields are
kept and ignored, so newer clients keep working)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel


class WorkersLangGraphBody(BaseModel):
    model_config = ConfigDict(extra="allow")


class WorkersLangGraphAssistantCreate(WorkersLangGraphBody):
    graph_id: str = Field(min_length=1, max_length=200, description="An installed graph.")
    assistant_id: str | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    name: str | None = Field(None, max_length=200)
    description: str | None = None


class WorkersLangGraphAssistantUpdate(WorkersLangGraphBody):
    graph_id: str | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    name: str | None = Field(None, max_length=200)
    description: str | None = None


class WorkersLangGraphSearch(WorkersLangGraphBody):
    """Filters of a search or count: metadata, graph_id, status, limit, offset..."""

    metadata: dict[str, Any] | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class WorkersLangGraphLatest(WorkersLangGraphBody):
    version: int = Field(ge=1)


class WorkersLangGraphThreadTTL(WorkersLangGraphBody):
    strategy: Literal["delete", "keep_latest"] = "delete"
    ttl: float = Field(gt=0, le=10 * 366 * 24 * 60, description="Minutes since the thread's last update.")


class WorkersLangGraphThreadCreate(WorkersLangGraphBody):
    thread_id: str | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    ttl: WorkersLangGraphThreadTTL | None = None


class WorkersLangGraphThreadUpdate(WorkersLangGraphBody):
    metadata: dict[str, Any] | None = None
    ttl: WorkersLangGraphThreadTTL | None = None


class WorkersLangGraphThreadPrune(WorkersLangGraphBody):
    thread_ids: list[str] = Field(max_length=1000)
    strategy: Literal["delete", "keep_latest"] = "delete"


class WorkersLangGraphRunsCancel(WorkersLangGraphBody):
    """Which runs ``POST /runs/cancel`` stops: ``thread_id`` with ``run_ids``, or a ``status``."""

    thread_id: str | None = None
    run_ids: list[str] | None = Field(None, max_length=1000)
    status: Literal["pending", "running", "all"] | None = None


class WorkersLangGraphStateUpdate(WorkersLangGraphBody):
    values: Any = None
    as_node: str | None = None
    checkpoint: dict[str, Any] | None = None
    checkpoint_id: str | None = None


class WorkersLangGraphHistory(WorkersLangGraphBody):
    limit: int = Field(10, ge=1, le=1000)
    before: Any = None
    metadata: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None


class WorkersLangGraphCheckpointQuery(WorkersLangGraphBody):
    checkpoint: dict[str, Any] = Field(default_factory=dict)
    subgraphs: bool = False


class WorkersLangGraphRunCreate(WorkersLangGraphBody):
    assistant_id: str = Field(min_length=1, description="An assistant id or a graph id.")
    input: Any = None
    command: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None
    interrupt_before: Any = None
    interrupt_after: Any = None
    stream_mode: Any = None
    stream_subgraphs: bool = False
    multitask_strategy: Literal["reject", "interrupt", "rollback", "enqueue"] | None = None
    if_not_exists: Literal["create", "reject"] | None = None
    on_completion: Literal["delete", "keep"] | None = None
    after_seconds: float | None = Field(None, ge=0)
    webhook: str | None = None
    durability: Literal["sync", "async", "exit"] | None = None


Label = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^.]+$")]


class WorkersLangGraphStorePut(WorkersLangGraphBody):
    namespace: list[Label] = Field(min_length=1, max_length=10)
    key: str = Field(min_length=1, max_length=500)
    value: dict[str, Any]
    ttl: float | None = Field(None, gt=0, le=10 * 366 * 24 * 60, description="Minutes (at most ten years).")
    index: Literal[False] | list[str] | None = Field(
        None, description="Fields to embed for semantic search (false: none; default: the deployment's)."
    )


class WorkersLangGraphStoreSearch(WorkersLangGraphBody):
    namespace_prefix: list[Label] = Field(default_factory=list, max_length=10)
    filter: dict[str, Any] | None = None
    query: str | None = Field(None, max_length=10_000, description="Natural-language query (semantic search).")
    refresh_ttl: bool | None = None
    limit: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class WorkersLangGraphStoreDelete(WorkersLangGraphBody):
    namespace: list[Label] = Field(min_length=1, max_length=10)
    key: str = Field(min_length=1, max_length=500)


class WorkersLangGraphCronCreate(WorkersLangGraphBody):
    assistant_id: str
    schedule: str = Field(min_length=1, max_length=200)
    input: Any = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    timezone: str | None = None
    end_time: str | None = None
    enabled: bool = True


class WorkersLangGraphCronUpdate(WorkersLangGraphBody):
    """The fields ``crons.update`` may change (absent ones stay; ``end_time: null`` clears it)."""

    schedule: str | None = Field(None, min_length=1, max_length=200)
    timezone: str | None = None
    end_time: str | None = None
    enabled: bool | None = None
    metadata: dict[str, Any] | None = None
    input: Any = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    webhook: str | None = None
    interrupt_before: Any = None
    interrupt_after: Any = None
    on_run_completed: Literal["delete", "keep"] | None = None
    stream_mode: Any = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None
    durability: Literal["sync", "async", "exit"] | None = None


# --- responses (documented; the shapes are langgraph-sdk's TypedDicts) -------------------------------


class WorkersLangGraphOk(BaseModel):
    ok: bool


class WorkersLangGraphInfo(BaseModel):
    version: str
    langgraph_py_version: str
    flags: dict[str, Any]
    metadata: dict[str, Any]


class WorkersLangGraphAssistant(BaseModel):
    assistant_id: str
    graph_id: str
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: dict[str, Any]
    version: int
    name: str
    description: str | None
    created_at: datetime | None
    updated_at: datetime | None


class WorkersLangGraphObject(WorkersLangGraphBody):
    """A JSON object (graph drawings, schemas, state values, store items)."""


class WorkersLangGraphThread(BaseModel):
    thread_id: str
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any]
    status: Literal["idle", "busy", "interrupted", "error"]
    config: dict[str, Any]
    values: Any = None
    interrupts: dict[str, Any]


class WorkersLangGraphState(BaseModel):
    values: Any
    next: list[str]
    checkpoint: dict[str, Any] | None
    checkpoint_id: str | None
    parent_checkpoint_id: str | None = None
    metadata: dict[str, Any] | None
    created_at: str | None
    parent_checkpoint: dict[str, Any] | None
    tasks: list[dict[str, Any]]
    interrupts: list[dict[str, Any]]


class WorkersLangGraphRun(BaseModel):  # type: ignore[no-redef]  # its field `kwargs` (LangGraph's name) reads as a clash to the pydantic plugin
    run_id: str
    thread_id: str | None
    assistant_id: str | None
    created_at: datetime
    updated_at: datetime
    status: Literal["pending", "running", "success", "error", "timeout", "interrupted"]
    metadata: dict[str, Any]
    kwargs: dict[str, Any]
    multitask_strategy: str
    usage: dict[str, Any] | None = Field(None, description="Tokens the run's chat models used.")


class WorkersLangGraphRuns(RootModel[list[WorkersLangGraphRun]]):
    pass
