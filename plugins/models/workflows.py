"""The built-in AI workflows ``chat``, ``summarize`` and ``extract`` (``vetrai.workflows`` entry points).

Each node asks ``runtime.chat_model(config)`` for the run organization's model, so the graphs
hold no credentials and their tokens stream through LangGraph's ``messages`` mode. The specs
carry ``admit``: the check the jobs API runs before queueing one (422 with no provider, 403
with no tokens left this month).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Send
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vetrai.engine.spec import WorkflowSpec
from vetrai.plugins.models import service
from vetrai.plugins.models.tools import CHAT_TOOLS

VERSION = "1.0.0"


@dataclass(frozen=True)
class ModelWorkflowSpec(WorkflowSpec):
    """A workflow that calls models: ``admit(organization_id, input)`` refuses a job before it is queued."""

    admit: Callable[[Any, dict[str, Any]], Awaitable[None]] | None = None


def _model_workflow(
    name: str,
    description: str,
    build: Callable[[], StateGraph],
    io: tuple[type[BaseModel], type[BaseModel]],
    **options: Any,
) -> ModelWorkflowSpec:
    """What every model workflow shares: a second attempt 2 s later (a provider's hiccup is worth
    one retry, a broken request is not worth more), and the organization's provider and token
    quota checked before a job is queued."""
    input_model, output_model = io
    return ModelWorkflowSpec(
        name=name,
        version=VERSION,
        description=description,
        input_model=input_model,
        output_model=output_model,
        build=build,
        max_attempts=2,
        retry_backoff_seconds=2.0,
        admit=service.admit,
        **options,
    )


async def chat_model(config: RunnableConfig, model: str | None) -> Any:
    """``runtime.chat_model``, imported on the first call: the OpenAI SDK takes a second or more to
    import, which every process would otherwise pay at start-up when the workflows are listed."""
    from vetrai.plugins.models.runtime import chat_model as resolve

    return await resolve(config, model)


# --- chat -----------------------------------------------------------------------------------

CHAT_SYSTEM = (
    "You are a helpful assistant. Use the calculator tool for arithmetic and the current_time tool "
    "for the date or time; answer concisely."
)


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=200_000)


class ChatInput(BaseModel):
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=500)
    model: str | None = Field(None, max_length=300, description="A model of the organization's providers.")


class ChatMessageOut(BaseModel):
    role: str
    content: str
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)


class ChatOutput(BaseModel):
    reply: str
    messages: list[ChatMessageOut]


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    model: NotRequired[str | None]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return str(content)


def _role(message: AnyMessage) -> str:
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, ToolMessage):
        return "tool"
    if isinstance(message, SystemMessage):
        return "system"
    return message.type


async def _agent(state: ChatState, config: RunnableConfig) -> dict[str, Any]:
    llm = await chat_model(config, state.get("model"))
    messages = list(state["messages"])
    if not any(isinstance(message, SystemMessage) for message in messages):
        messages.insert(0, SystemMessage(CHAT_SYSTEM))
    reply = await llm.bind_tools(CHAT_TOOLS).ainvoke(messages, config)
    return {"messages": [reply]}


def _build_chat() -> StateGraph:
    graph = StateGraph(ChatState)
    graph.add_node("agent", _agent)
    graph.add_node("tools", ToolNode(CHAT_TOOLS))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph


def _chat_output(state: dict[str, Any]) -> dict[str, Any]:
    messages = [
        {
            "role": _role(message),
            "content": _text(message.content),
            "tool_calls": [
                {"name": call["name"], "args": call["args"]} for call in getattr(message, "tool_calls", None) or []
            ],
        }
        for message in state["messages"]
    ]
    last = state["messages"][-1]
    return {"reply": _text(last.content), "messages": messages}


def chat() -> ModelWorkflowSpec:
    return _model_workflow(
        "chat",
        "A tool-calling assistant (calculator, current time) on a messages state, with the organization's model; "
        "tokens stream as they arrive.",
        _build_chat,
        (ChatInput, ChatOutput),
        timeout_seconds=300,
        recursion_limit=25,
        to_state=lambda values: {"messages": values["messages"], "model": values.get("model")},
        to_output=_chat_output,
    )


# --- summarize ------------------------------------------------------------------------------

SUMMARIZE_CHUNK = "Summarize the following text in at most {words} words. Reply with the summary only.\n\n{text}"
SUMMARIZE_REDUCE = (
    "These are summaries of consecutive parts of one document. Combine them into one summary of at most "
    "{words} words. Reply with the summary only.\n\n{text}"
)


class SummarizeInput(BaseModel):
    text: str = Field(min_length=1, max_length=2_000_000)
    max_words: int = Field(150, ge=10, le=2000)
    model: str | None = Field(None, max_length=300)


class SummarizeOutput(BaseModel):
    summary: str
    chunks: int
    words: int


class SummarizeState(TypedDict, total=False):
    text: str
    max_words: int
    model: str | None
    chunks: list[str]
    partials: Annotated[list[dict[str, Any]], operator.add]
    summary: str


class ChunkTask(TypedDict):
    index: int
    chunk: str
    max_words: int
    model: str | None


def chunk_text(text: str, size: int) -> list[str]:
    """Paragraph-aligned chunks of at most ``size`` characters (a longer paragraph is cut by words)."""
    chunks: list[str] = []
    current = ""
    for paragraph in (part.strip() for part in re.split(r"\n\s*\n", text)):
        if not paragraph:
            continue
        while len(paragraph) > size:
            cut = paragraph.rfind(" ", 0, size)
            cut = cut if cut > 0 else size
            if current:
                chunks.append(current)
                current = ""
            chunks.append(paragraph[:cut].strip())
            paragraph = paragraph[cut:].strip()
        if current and len(current) + len(paragraph) + 2 > size:
            chunks.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        chunks.append(current)
    return chunks or [text.strip()[:size]]


def _limit_words(text: str, words: int) -> str:
    parts = text.split()
    return text.strip() if len(parts) <= words else " ".join(parts[:words])


def _split(state: SummarizeState) -> dict[str, Any]:
    return {"chunks": chunk_text(state["text"], service.runtime().settings.summarize_chunk_chars)}


def _fan_out(state: SummarizeState) -> list[Send]:
    return [
        Send(
            "summarize_chunk",
            {"index": index, "chunk": chunk, "max_words": state["max_words"], "model": state.get("model")},
        )
        for index, chunk in enumerate(state["chunks"])
    ]


async def _summarize_chunk(task: ChunkTask, config: RunnableConfig) -> dict[str, Any]:
    llm = await chat_model(config, task.get("model"))
    reply = await llm.ainvoke(
        [HumanMessage(SUMMARIZE_CHUNK.format(words=task["max_words"], text=task["chunk"]))], config
    )
    return {"partials": [{"index": task["index"], "text": _text(reply.content).strip()}]}


async def _reduce(state: SummarizeState, config: RunnableConfig) -> dict[str, Any]:
    partials = [item["text"] for item in sorted(state["partials"], key=lambda item: item["index"])]
    if len(partials) == 1:
        return {"summary": _limit_words(partials[0], state["max_words"])}
    llm = await chat_model(config, state.get("model"))
    joined = "\n\n".join(f"Part {number}: {text}" for number, text in enumerate(partials, 1))
    reply = await llm.ainvoke([HumanMessage(SUMMARIZE_REDUCE.format(words=state["max_words"], text=joined))], config)
    return {"summary": _limit_words(_text(reply.content), state["max_words"])}


def _build_summarize() -> StateGraph:
    graph = StateGraph(SummarizeState)
    graph.add_node("split", _split)
    graph.add_node("summarize_chunk", _summarize_chunk)
    graph.add_node("reduce", _reduce)
    graph.add_edge(START, "split")
    graph.add_conditional_edges("split", _fan_out, ["summarize_chunk"])
    graph.add_edge("summarize_chunk", "reduce")
    graph.add_edge("reduce", END)
    return graph


def _summary(state: SummarizeState) -> dict[str, Any]:
    return {"summary": state["summary"], "chunks": len(state["chunks"]), "words": len(state["summary"].split())}


def summarize() -> ModelWorkflowSpec:
    return _model_workflow(
        "summarize",
        "Summarizes long text: paragraph-aligned chunks summarized in parallel, then combined into one summary of "
        "at most max_words words.",
        _build_summarize,
        (SummarizeInput, SummarizeOutput),
        timeout_seconds=600,
        to_state=lambda values: {**values, "partials": []},
        to_output=_summary,
    )


# --- extract --------------------------------------------------------------------------------

EXTRACT_SYSTEM = (
    "Extract the requested fields from the user's text by calling the tool exactly once. "
    "Use only information in the text; leave out fields it does not contain."
)


class ExtractInput(BaseModel):
    text: str = Field(min_length=1, max_length=500_000)
    schema_: dict[str, Any] = Field(
        alias="schema", description='A JSON Schema of type "object" with "properties": the shape of the result.'
    )
    model: str | None = Field(None, max_length=300)

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    @field_validator("schema_")
    @classmethod
    def _object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        if value.get("type") != "object" or not isinstance(value.get("properties"), dict) or not value["properties"]:
            raise ValueError('the schema must be of "type": "object" with "properties"')
        return value


class ExtractOutput(BaseModel):
    data: dict[str, Any]


class ExtractState(TypedDict, total=False):
    text: str
    schema: dict[str, Any]
    model: str | None
    data: dict[str, Any]


class ExtractionInvalid(ValueError):
    """The model's answer does not match the schema it was given."""


async def _extract(state: ExtractState, config: RunnableConfig) -> dict[str, Any]:
    from jsonschema import Draft202012Validator

    schema = {"title": "extract", "description": "The fields extracted from the text.", **state["schema"]}
    schema["title"] = re.sub(r"[^a-zA-Z0-9_-]", "_", str(schema["title"]))[:64] or "extract"
    llm = await chat_model(config, state.get("model"))
    structured = llm.with_structured_output(schema, method="function_calling")
    data = await structured.ainvoke([SystemMessage(EXTRACT_SYSTEM), HumanMessage(state["text"])], config)
    if not isinstance(data, dict):
        raise ExtractionInvalid("the model returned no structured result")
    errors = sorted(Draft202012Validator(state["schema"]).iter_errors(data), key=lambda error: list(error.path))
    if errors:
        where = "/".join(str(part) for part in errors[0].path) or "(root)"
        raise ExtractionInvalid(f"the model's answer does not match the schema at {where}: {errors[0].message}")
    return {"data": data}


def _build_extract() -> StateGraph:
    return (
        StateGraph(ExtractState)
        .add_sequence([("extract", _extract)])
        .add_edge(START, "extract")
        .add_edge("extract", END)
    )


def extract() -> ModelWorkflowSpec:
    return _model_workflow(
        "extract",
        "Structured output: the fields of a JSON Schema filled from a text by the organization's model.",
        _build_extract,
        (ExtractInput, ExtractOutput),
        timeout_seconds=300,
        to_state=lambda values: {"text": values["text"], "schema": values["schema"], "model": values.get("model")},
        to_output=lambda state: {"data": state["data"]},
    )
