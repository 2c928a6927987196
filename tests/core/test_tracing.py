"""OpenTelemetry: a span per request continuing the caller's trace, and a run linked across processes."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

from vetrai.core import tracing

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


async def test_every_request_has_a_server_span_continuing_the_callers_trace(client, exporter):
    response = await client.get("/health", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
    assert response.status_code == 200
    missing = await client.get("/api/v1/me")
    assert missing.status_code == 401
    spans = {span.name: span for span in exporter.get_finished_spans()}
    health = spans["GET /health"]
    assert health.kind is SpanKind.SERVER
    assert health.attributes["http.route"] == "/health" and health.attributes["http.response.status_code"] == 200
    assert format(health.context.trace_id, "032x") == CALLER_TRACE
    assert format(health.parent.span_id, "016x") == CALLER_SPAN
    me = spans["GET /api/v1/me"]
    assert me.attributes["http.response.status_code"] == 401 and me.parent is None
    assert me.context.trace_id != health.context.trace_id


def test_a_span_continues_in_another_process_through_the_stored_carrier(exporter):
    with tracing.start_span("run.submit", {"run.id": "r-1"}) as submitted:
        carrier = tracing.inject()  # what the server stores on the run
    assert carrier["traceparent"].startswith("00-")
    with tracing.start_span("run.execute", {"run.id": "r-1"}, parent_carrier=carrier) as executed:
        with tracing.start_span("node.echo") as node:
            pass
    assert executed.context.trace_id == submitted.context.trace_id
    assert executed.parent.span_id == submitted.context.span_id
    assert node.parent.span_id == executed.context.span_id
    assert [span.name for span in exporter.get_finished_spans()] == ["run.submit", "node.echo", "run.execute"]


def test_an_exception_is_recorded_on_the_span(exporter):
    with pytest.raises(RuntimeError), tracing.start_span("fails"):
        raise RuntimeError("boom")
    [span] = exporter.get_finished_spans()
    assert not span.status.is_ok and span.events[0].name == "exception"


def test_tracing_is_off_without_an_endpoint_and_exports_over_otlp_with_one(settings_factory):
    previous = tracing.use_provider(None)
    try:
        assert tracing.configure(settings_factory()) is None
        with tracing.start_span("nothing") as span:
            assert not span.is_recording()
            assert tracing.inject() == {}
        provider = tracing.configure(settings_factory(otel_endpoint="http://127.0.0.1:4318/v1/traces"))
        assert isinstance(provider, TracerProvider)
        processors = provider._active_span_processor._span_processors
        assert [type(processor) for processor in processors] == [BatchSpanProcessor]
        assert type(processors[0].span_exporter).__name__ == "OTLPSpanExporter"
        provider.shutdown()
    finally:
        tracing.use_provider(previous)
