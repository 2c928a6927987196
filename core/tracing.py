"""OpenTelemetry tracing: a span per HTTP request, and spans linked across server and worker.

Off by default: without ``VETRAI_OTEL_ENDPOINT`` no provider is installed and every span is
OpenTelemetry's non-recording span (a few attribute look-ups per request). With it, spans are
batched to that OTLP/HTTP endpoint (``http://collector:4318/v1/traces``).

A request's span continues an incoming W3C ``traceparent`` header. To follow work into
another process, store ``inject()``'s carrier with the work (a run row, a task argument) and
open the worker's span with ``start_span(name, parent_carrier=carrier)``: both land in one
trace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from vetrai import __version__

if TYPE_CHECKING:
    from vetrai.core.config import Settings

log = logging.getLogger("vetrai.tracing")
INSTRUMENTATION = "vetrai"
_propagator = TraceContextTextMapPropagator()
_provider: trace.TracerProvider | None = None


def configure(settings: Settings) -> trace.TracerProvider | None:
    """Install the OTLP exporter once per process when ``VETRAI_OTEL_ENDPOINT`` is set."""
    global _provider
    if not settings.otel_endpoint or _provider is not None:
        return _provider
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.otel_service_name, "service.version": __version__})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otel_endpoint)))
    _provider = provider
    log.info("exporting traces to %s", settings.otel_endpoint)
    return provider


def use_provider(provider: trace.TracerProvider | None) -> trace.TracerProvider | None:
    """Send spans to ``provider`` (tests: an in-memory exporter); returns the previous one."""
    global _provider
    previous, _provider = _provider, provider
    return previous


def tracer() -> trace.Tracer:
    if _provider is not None:
        return _provider.get_tracer(INSTRUMENTATION, __version__)
    return trace.get_tracer(INSTRUMENTATION, __version__)


def extract(carrier: Mapping[str, str] | None) -> context.Context | None:
    """The remote parent in a carrier (``traceparent``, ``tracestate``), or None."""
    if not carrier:
        return None
    return _propagator.extract(carrier=dict(carrier))


def inject() -> dict[str, str]:
    """The current span's context as a carrier to store with work another process continues."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


@contextmanager
def start_span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    parent_carrier: Mapping[str, str] | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
) -> Iterator[Span]:
    """A span, current inside the block, child of ``parent_carrier``'s span or of the current one.

    An exception leaving the block is recorded on the span, which ends with an error status.
    """
    with tracer().start_as_current_span(
        name, context=extract(parent_carrier), kind=kind, attributes=dict(attributes or {})
    ) as span:
        yield span


def request_span_needed(headers: Mapping[str, str]) -> bool:
    """False when a request span would be a no-op: no tracer provider anywhere (a span of the
    API's default provider records nothing) and no ``traceparent`` to carry on. Skipping it is
    a fifth of a bare request's cost."""
    if _provider is not None or not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return True
    return any(key.lower() == "traceparent" for key in headers.keys())


def start_request_span(
    method: str, route: str, headers: Mapping[str, str], attributes: Mapping[str, Any]
) -> tuple[Span, object]:
    """Open an HTTP server span continuing the caller's ``traceparent``; make it current.

    Returns the span and the token ``end_request_span`` needs to restore the context.
    """
    parent = extract(
        {key.lower(): value for key, value in headers.items() if key.lower() in ("traceparent", "tracestate")}
    )
    span = tracer().start_span(f"{method} {route}", context=parent, kind=SpanKind.SERVER, attributes=dict(attributes))
    token = context.attach(trace.set_span_in_context(span))
    return span, token


def end_request_span(span: Span, token: object, status_code: int | None, error: BaseException | None = None) -> None:
    if status_code is not None:
        span.set_attribute("http.response.status_code", status_code)
        if status_code >= 500:
            span.set_status(Status(StatusCode.ERROR))
    if error is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.end()
    try:
        context.detach(token)  # type: ignore[arg-type]
    except ValueError:
        pass  # ended from another context (a streamed response): nothing to restore there
