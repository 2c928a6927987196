"""Jinja2 templates in a sandbox: compile-time checks, rendering, and the shipped defaults.

Templates are written by organization admins, so they are untrusted code: they are compiled
in ``SandboxedEnvironment`` (no ``__class__``, no unsafe callables), checked statically
before being stored (no underscore attributes, no imports/includes/extends, no ``attr``
filter), rendered with ``StrictUndefined`` (a missing variable is an error, never a blank)
and HTML bodies are autoescaped.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 1_000_000
FORBIDDEN_NAMES = frozenset({"self", "cycler", "joiner", "namespace", "lipsum", "range", "loop_controls"})
FORBIDDEN_FILTERS = frozenset({"attr", "xmlattr"})
FORBIDDEN_NODES = (
    nodes.Import,
    nodes.FromImport,
    nodes.Include,
    nodes.Extends,
    nodes.Block,
    nodes.Macro,
    nodes.CallBlock,
)


class TemplateProblem(ValueError):
    """A template that does not compile, uses a forbidden construct or fails to render."""


class _Sandbox(SandboxedEnvironment):
    """The sandbox, plus limits on ``*`` and ``**`` so a template cannot build huge values."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and (abs(left) > 10_000 or abs(right) > 64):
            raise TemplateProblem("the power is too large")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, (str, list, tuple))
                    and isinstance(count, int)
                    and len(sequence) * count > MAX_OUTPUT_CHARS
                ):
                    raise TemplateProblem("the repeated value is too large")
        return super().call_binop(context, operator, left, right)


def _environment(autoescape: bool) -> SandboxedEnvironment:
    return _Sandbox(autoescape=autoescape, undefined=StrictUndefined, auto_reload=False, cache_size=0)


TEXT_ENV = _environment(False)
HTML_ENV = _environment(True)


def _check_tree(tree: nodes.Node) -> None:
    for node in tree.find_all(nodes.Node):
        if isinstance(node, FORBIDDEN_NODES):
            raise TemplateProblem(f"{type(node).__name__.lower()} is not allowed in notification templates")
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            raise TemplateProblem(f"access to the attribute {node.attr!r} is not allowed")
        if (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and str(node.arg.value).startswith("_")
        ):
            raise TemplateProblem(f"access to the item {node.arg.value!r} is not allowed")
        if isinstance(node, nodes.Const) and isinstance(node.value, str) and "__" in node.value:
            raise TemplateProblem("strings containing '__' are not allowed")
        if isinstance(node, (nodes.Filter, nodes.Test)) and node.name in FORBIDDEN_FILTERS:
            raise TemplateProblem(f"the filter {node.name!r} is not allowed")
        if isinstance(node, nodes.Name) and node.name in FORBIDDEN_NAMES:
            raise TemplateProblem(f"the name {node.name!r} is not allowed")


def check_template(source: str | None, *, html: bool = False, field: str = "body") -> None:
    """Raise ``TemplateProblem`` (naming ``field``) unless ``source`` compiles and is allowed."""
    if source is None:
        return
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateProblem(f"{field}: longer than {MAX_TEMPLATE_CHARS} characters")
    env = HTML_ENV if html else TEXT_ENV
    try:
        tree = env.parse(source)
        _check_tree(tree)
        env.compile(source)
    except TemplateProblem as exc:
        raise TemplateProblem(f"{field}: {exc}") from None
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        raise TemplateProblem(
            f"{field}: does not compile{f' (line {line})' if line else ''}: {exc.message or exc}"
        ) from None


def render(source: str, context: dict[str, Any], *, html: bool = False, field: str = "body") -> str:
    """Render checked ``source``; any undefined variable or sandbox violation is a ``TemplateProblem``."""
    check_template(source, html=html, field=field)
    env = HTML_ENV if html else TEXT_ENV
    try:
        output = env.from_string(source).render(context)
    except TemplateError as exc:  # UndefinedError and SecurityError are TemplateErrors
        raise TemplateProblem(f"{field}: {exc.message or exc}") from None
    except TemplateProblem as exc:
        raise TemplateProblem(f"{field}: {exc}") from None
    except Exception as exc:  # e.g. a division by zero inside the template
        raise TemplateProblem(f"{field}: {type(exc).__name__}: {exc}") from None
    if len(output) > MAX_OUTPUT_CHARS:
        raise TemplateProblem(f"{field}: renders to more than {MAX_OUTPUT_CHARS} characters")
    return output


def text_to_html(text: str) -> str:
    """A minimal HTML version of a text body: escaped paragraphs, links left as text."""
    paragraphs = [part.strip() for part in text.split("\n\n") if part.strip()]
    body = "".join(f"<p>{html_lib.escape(part).replace(chr(10), '<br>')}</p>" for part in paragraphs)
    return f"<!DOCTYPE html><html><body>{body}</body></html>"


@dataclass(frozen=True)
class DefaultTemplate:
    name: str
    channel: str
    subject: str | None
    body: str
    html: str | None = None


_FOOTER = "\n\n-- \n{{ app_name }} · {{ app_url }}"

DEFAULT_TEMPLATES: tuple[DefaultTemplate, ...] = (
    DefaultTemplate(
        "welcome",
        "email",
        "Welcome to {{ app_name }}",
        "Hello {{ user.name }},\n\nyour account {{ email }} is ready. Sign in at {{ app_url }}." + _FOOTER,
    ),
    DefaultTemplate(
        "verify_email",
        "email",
        "Confirm your email address",
        "Hello {{ user.name }},\n\nplease confirm your email address by opening this link:\n{{ verify_url }}\n\n"
        "If you did not create an account, ignore this message." + _FOOTER,
        "<!DOCTYPE html><html><body><p>Hello {{ user.name }},</p><p>please confirm your email address:</p>"
        '<p><a href="{{ verify_url }}">Confirm {{ email }}</a></p>'
        "<p>If you did not create an account, ignore this message.</p></body></html>",
    ),
    DefaultTemplate(
        "password_reset",
        "email",
        "Reset your password",
        "Hello {{ user.name }},\n\nsomeone (hopefully you) asked to reset the password of {{ email }}. "
        "Open this link to choose a new one:\n{{ reset_url }}\n\nIf it was not you, ignore this message; "
        "your password stays unchanged." + _FOOTER,
        "<!DOCTYPE html><html><body><p>Hello {{ user.name }},</p><p>someone (hopefully you) asked to reset the "
        'password of {{ email }}.</p><p><a href="{{ reset_url }}">Choose a new password</a></p>'
        "<p>If it was not you, ignore this message; your password stays unchanged.</p></body></html>",
    ),
    DefaultTemplate(
        "password_changed",
        "email",
        "Your password was changed",
        "Hello {{ user.name }},\n\nthe password of {{ email }} was just changed. If this was not you, "
        "reset it at once and contact your administrator." + _FOOTER,
    ),
    DefaultTemplate(
        "ticket_update",
        "email",
        "[Ticket] {{ subject }}: {{ change }}",
        'Hello {{ user.name }},\n\nticket "{{ subject }}" {{ change }} (status: {{ status }}).\n'
        "{{ app_url }}/support/tickets/{{ ticket_id }}" + _FOOTER,
    ),
    DefaultTemplate(
        "ticket_update", "in_app", "Ticket {{ change }}", '"{{ subject }}" {{ change }} (status: {{ status }}).'
    ),
    DefaultTemplate(
        "job_finished",
        "email",
        "Job {{ template }} {{ status }}",
        "Hello {{ user.name }},\n\nyour job {{ job_id }} ({{ template }}) finished with status {{ status }}."
        "{% if error is defined and error %}\nError: {{ error }}{% endif %}" + _FOOTER,
    ),
    DefaultTemplate(
        "job_finished",
        "in_app",
        "Job {{ template }} {{ status }}",
        "Job {{ job_id }} finished: {{ status }}{% if error is defined and error %} ({{ error }}){% endif %}.",
    ),
    DefaultTemplate(
        "payment_failed",
        "email",
        "Payment failed for {{ organization.name }}",
        "Hello {{ user.name }},\n\na payment of {{ amount }} {{ currency | upper }} for {{ organization.name }} failed "
        "(invoice {{ invoice_id }}). Please update the payment method to keep your plan." + _FOOTER,
    ),
    DefaultTemplate(
        "payment_failed",
        "in_app",
        "Payment failed",
        "A payment of {{ amount }} {{ currency | upper }} failed (invoice {{ invoice_id }}).",
    ),
)

for _template in DEFAULT_TEMPLATES:  # the shipped templates obey the same rules as everyone's
    check_template(_template.subject, field="subject")
    check_template(_template.body)
    check_template(_template.html, html=True, field="html")
