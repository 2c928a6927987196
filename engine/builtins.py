"""The built-in workflows (registered as ``vetrai.workflows`` entry points in pyproject.toml).

``echo``, ``sleep``, ``approval`` and ``flaky`` exercise the engine (round trips, progress and
cancellation, interrupt/resume, retries); ``document_triage`` is a realistic multi-node
pipeline with a conditional edge that needs no network and no model weights.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vetrai.engine.spec import WorkflowSpec

VERSION = "1.0.0"


# --- echo ---------------------------------------------------------------------------------


class EchoInput(BaseModel):
    """Any JSON object."""

    model_config = ConfigDict(extra="allow")


class EchoOutput(BaseModel):
    """The same object."""

    model_config = ConfigDict(extra="allow")


class EchoState(TypedDict):
    payload: dict[str, Any]


async def _echo(state: EchoState) -> dict[str, Any]:
    return {"payload": state["payload"]}


def _build_echo() -> StateGraph[Any]:
    graph = StateGraph(EchoState)
    graph.add_node("echo", _echo)
    graph.add_edge(START, "echo")
    graph.add_edge("echo", END)
    return graph


def echo() -> WorkflowSpec:
    return WorkflowSpec(
        name="echo",
        version=VERSION,
        description="Any JSON object in, the same object out.",
        input_model=EchoInput,
        output_model=EchoOutput,
        build=_build_echo,
        timeout_seconds=30,
        max_attempts=1,
        to_state=lambda values: {"payload": values},
        to_output=lambda state: state["payload"],
    )


# --- sleep --------------------------------------------------------------------------------


class SleepInput(BaseModel):
    seconds: float = Field(1.0, ge=0, le=86_400, description="Total duration.")
    steps: int = Field(1, ge=1, le=10_000, description="Number of progress events (equal slices of the duration).")


class SleepOutput(BaseModel):
    slept_seconds: float
    steps: int


class SleepState(TypedDict, total=False):
    seconds: float
    steps: int
    done: int


async def _sleep(state: SleepState) -> dict[str, Any]:
    """One slice per graph step: each step is checkpointed, so a run that is cancelled,
    drained or loses its worker continues after the last finished slice."""
    steps = state["steps"]
    done = state.get("done", 0)
    await asyncio.sleep(state["seconds"] / steps)
    get_stream_writer()({"step": done + 1, "steps": steps})
    return {"done": done + 1}


def _more_sleep(state: SleepState) -> str:
    return "sleep" if state.get("done", 0) < state["steps"] else END


def _build_sleep() -> StateGraph[Any]:
    graph = StateGraph(SleepState)
    graph.add_node("sleep", _sleep)
    graph.add_edge(START, "sleep")
    graph.add_conditional_edges("sleep", _more_sleep, ["sleep", END])
    return graph


def sleep() -> WorkflowSpec:
    return WorkflowSpec(
        name="sleep",
        version=VERSION,
        description=(
            "Sleeps `seconds` in `steps` checkpointed slices with a progress event after each"
            " (for cancel and load tests)."
        ),
        input_model=SleepInput,
        output_model=SleepOutput,
        build=_build_sleep,
        timeout_seconds=3600,
        max_attempts=3,
        recursion_limit=10_100,
        to_state=lambda values: {**values, "done": 0},
        to_output=lambda state: {"slept_seconds": state["seconds"], "steps": state.get("done", 0)},
    )


# --- approval -----------------------------------------------------------------------------


class ApprovalInput(BaseModel):
    request: str = Field(min_length=1, max_length=10_000, description="What is to be approved.")


class ApprovalDecision(BaseModel):
    """The resume value of an approval; it becomes the job's output."""

    model_config = ConfigDict(extra="forbid")

    approved: bool
    comment: str | None = Field(None, max_length=10_000)


class ApprovalState(TypedDict, total=False):
    request: str
    approved: bool
    comment: str | None


async def _ask(state: ApprovalState) -> dict[str, Any]:
    # Runs again from its start on resume: nothing before interrupt() has side effects.
    answer = interrupt({"request": state["request"], "expects": ApprovalDecision.model_json_schema()})
    decision = ApprovalDecision.model_validate(answer)
    return {"approved": decision.approved, "comment": decision.comment}


def _build_approval() -> StateGraph[Any]:
    graph = StateGraph(ApprovalState)
    graph.add_node("ask", _ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph


def approval() -> WorkflowSpec:
    return WorkflowSpec(
        name="approval",
        version=VERSION,
        description=(
            "Waits for a human decision: interrupted until resumed with {approved, comment?}, which becomes the output."
        ),
        input_model=ApprovalInput,
        output_model=ApprovalDecision,
        build=_build_approval,
        timeout_seconds=60,
        max_attempts=1,
        resume_model=ApprovalDecision,
        to_output=lambda state: {"approved": state["approved"], "comment": state.get("comment")},
    )


# --- flaky --------------------------------------------------------------------------------


class FlakyInput(BaseModel):
    fail_times: int = Field(2, ge=0, le=100, description="How many first attempts raise.")


class FlakyOutput(BaseModel):
    attempts: int = Field(description="Tries it took, the successful one included.")


class FlakyState(TypedDict, total=False):
    fail_times: int
    attempts: int


class PlannedFailure(RuntimeError):
    """The failure flaky was asked for."""


async def _attempt(state: FlakyState, config: RunnableConfig) -> dict[str, Any]:
    attempt = int(config.get("configurable", {}).get("attempt", 1))
    if attempt <= state["fail_times"]:
        raise PlannedFailure(f"planned failure on attempt {attempt} of {state['fail_times']}")
    return {"attempts": attempt}


def _build_flaky() -> StateGraph[Any]:
    graph = StateGraph(FlakyState)
    graph.add_node("attempt", _attempt)
    graph.add_edge(START, "attempt")
    graph.add_edge("attempt", END)
    return graph


def flaky() -> WorkflowSpec:
    return WorkflowSpec(
        name="flaky",
        version=VERSION,
        description="Raises on the first `fail_times` attempts, then succeeds (retries with backoff).",
        input_model=FlakyInput,
        output_model=FlakyOutput,
        build=_build_flaky,
        timeout_seconds=60,
        max_attempts=5,
        retry_backoff_seconds=0.2,
        to_output=lambda state: {"attempts": state["attempts"]},
    )


# --- document triage ----------------------------------------------------------------------

CATEGORIES: dict[str, tuple[str, ...]] = {
    "billing": ("invoice", "payment", "refund", "charge", "billing", "price", "subscription"),
    "legal": ("contract", "agreement", "liability", "gdpr", "lawsuit", "terms", "compliance"),
    "incident": ("outage", "down", "error", "crash", "broken", "failure", "urgent", "security"),
    "support": ("help", "question", "how", "cannot", "unable", "account", "password", "login"),
}
URGENT = ("urgent", "asap", "immediately", "outage", "security", "breach", "lawsuit", "critical")
WORD = re.compile(r"[a-zA-Z][a-zA-Z'-]+")
STOPWORDS = frozenset(
    "the a an and or but if of to in on for with is are was were be been it this that we you i our your "
    "they them their at by from as not no can has have had will would should could please our us my me".split()
)


TRIAGE_MAX_CHARS = 50_000
TRIAGE_MAX_SECTIONS = 200
"""Each section is classified and streamed as an event: the work and the output grow with it."""


class TriageInput(BaseModel):
    title: str = Field("", max_length=500)
    text: str = Field(
        min_length=1,
        max_length=TRIAGE_MAX_CHARS,
        description=f"The document; paragraphs separated by blank lines (at most {TRIAGE_MAX_SECTIONS}).",
    )

    @field_validator("text")
    @classmethod
    def _bounded_sections(cls, value: str) -> str:
        sections = sum(1 for part in re.split(r"\n\s*\n", value) if part.strip())
        if sections > TRIAGE_MAX_SECTIONS:
            raise ValueError(f"at most {TRIAGE_MAX_SECTIONS} paragraphs (blank-line separated); got {sections}")
        return value


class TriageSection(BaseModel):
    index: int
    category: str
    scores: dict[str, int]
    first_sentence: str


class TriageOutput(BaseModel):
    category: str
    priority: Literal["normal", "high"]
    route: Literal["escalate", "standard"]
    sections: list[TriageSection]
    keywords: list[str]
    summary: str


class TriageState(TypedDict, total=False):
    title: str
    text: str
    sections: list[str]
    classified: list[dict[str, Any]]
    category: str
    priority: str
    route: str
    keywords: list[str]
    summary: str


def _split(state: TriageState) -> dict[str, Any]:
    parts = [part.strip() for part in re.split(r"\n\s*\n", state["text"]) if part.strip()]
    return {"sections": parts or [state["text"].strip()]}


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
    return sentence[:300]


def _classify(state: TriageState) -> dict[str, Any]:
    writer = get_stream_writer()
    classified: list[dict[str, Any]] = []
    for index, section in enumerate(state["sections"]):
        words = [word.lower() for word in WORD.findall(section)]
        scores = {name: sum(words.count(term) for term in terms) for name, terms in CATEGORIES.items()}
        best = max(scores, key=lambda name: (scores[name], name)) if any(scores.values()) else "general"
        classified.append(
            {"index": index, "category": best, "scores": scores, "first_sentence": _first_sentence(section)}
        )
        writer({"classified": index + 1, "of": len(state["sections"])})
    totals: Counter[str] = Counter()
    for item in classified:
        for name, score in item["scores"].items():
            totals[name] += score
    category = max(totals, key=lambda name: (totals[name], name)) if any(totals.values()) else "general"
    return {"classified": classified, "category": category}


def _needs_escalation(state: TriageState) -> str:
    text = (state.get("title", "") + " " + state["text"]).lower()
    if state["category"] in {"incident", "legal"} or any(term in text for term in URGENT):
        return "escalate"
    return "summarize"


def _escalate(state: TriageState) -> dict[str, Any]:
    return {"priority": "high", "route": "escalate"}


def _summarize(state: TriageState) -> dict[str, Any]:
    words = [word.lower() for word in WORD.findall(state.get("title", "") + " " + state["text"])]
    counts = Counter(word for word in words if word not in STOPWORDS and len(word) > 2)
    keywords = [word for word, _count in counts.most_common(5)]
    sentences = [item["first_sentence"] for item in state["classified"]][:3]
    summary = " ".join(sentences)
    if len(summary) > 600:
        summary = summary[:597] + "..."
    return {
        "keywords": keywords,
        "summary": summary,
        "priority": state.get("priority", "normal"),
        "route": state.get("route", "standard"),
    }


def _build_triage() -> StateGraph[Any]:
    graph = StateGraph(TriageState)
    graph.add_node("split", _split)
    graph.add_node("classify", _classify)
    graph.add_node("escalate", _escalate)
    graph.add_node("summarize", _summarize)
    graph.add_edge(START, "split")
    graph.add_edge("split", "classify")
    graph.add_conditional_edges("classify", _needs_escalation, {"escalate": "escalate", "summarize": "summarize"})
    graph.add_edge("escalate", "summarize")
    graph.add_edge("summarize", END)
    return graph


def document_triage() -> WorkflowSpec:
    return WorkflowSpec(
        name="document_triage",
        version=VERSION,
        description="Splits a document into sections, classifies them (billing, legal, incident, support), "
        "escalates urgent ones through a conditional edge and writes an extractive summary.",
        input_model=TriageInput,
        output_model=TriageOutput,
        build=_build_triage,
        timeout_seconds=120,
        max_attempts=3,
        to_output=lambda state: {
            "category": state["category"],
            "priority": state["priority"],
            "route": state["route"],
            "sections": state["classified"],
            "keywords": state["keywords"],
            "summary": state["summary"],
        },
    )
