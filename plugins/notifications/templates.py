"""Jinja2 templates in a sandbox: compile-time checks, bounded rendering, and the shipped defaults.

Templates are written by organization admins, so they are untrusted code. They are compiled
in an immutable sandbox (no ``__class__``, no unsafe callables, no ``append``), checked
statically before being stored (no underscore attributes, no imports/includes/extends/blocks,
no ``attr`` filter), rendered with ``StrictUndefined`` (a missing variable is an error, never a
blank) and HTML bodies are autoescaped.

A template is also a program that may try to exhaust the server, so rendering is bounded:

* it runs in a small thread pool, never on the event loop, with a deadline that a trace
  function enforces on every line of the compiled template (a loop cannot outrun it);
* every operation that can turn a small expression into a large value (``*``, ``%``, ``~``,
  ``str.format``, ``center``/``ljust``, ``replace``, ``join``, ``indent``, ``wordwrap``,
  ``batch``, ``to_bytes``, ...) is checked before it allocates, and every intermediate
  value and the output have a size ceiling;
* nothing prints an object's address: methods reached from a template are proxies with a
  plain ``repr`` and generators are turned into lists.

A failure says what went wrong and where, never with the values of variables: a template
that fails on purpose must not be a way to read the secrets it was given.
"""

from __future__ import annotations

import asyncio
import functools
import html as html_lib
import re
import string
import sys
import threading
import time
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from types import FrameType, GeneratorType, TracebackType
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, UndefinedError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_TEMPLATE_CHARS = 100_000
MAX_OUTPUT_CHARS = 1_000_000
MAX_VALUE_SIZE = 1_000_000
"""Largest string, list or container (counted as the text it would print as) a template may build."""
MAX_FORMAT_WIDTH = 1_000
"""Largest width or precision in a ``%`` or ``str.format`` format string."""
RENDER_SECONDS = 2.0
"""Deadline of one notification's rendering (subject, text and HTML together)."""
RENDER_THREADS = 2
TEMPLATE_FILENAME = "<template>"
SECURITY_TEMPLATES = frozenset({"password_reset", "verify_email", "password_changed", "new_login"})
"""Security mail: rendered only from platform-owned templates, never from an organization's."""

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
    nodes.FilterBlock,
    nodes.AssignBlock,
)
_UNDEFINED_NAME = re.compile(r"'[A-Za-z_][A-Za-z0-9_]*' is undefined")
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?")


class TemplateProblem(ValueError):
    """A template that does not compile, uses a forbidden construct or fails to render.

    Its message never contains the value of a variable.
    """


class RenderTimeout(TemplateProblem):
    """The template ran past its deadline."""


# --- sizes -------------------------------------------------------------------------------


def _too_large(what: str = "value") -> TemplateProblem:
    return TemplateProblem(f"the {what} is too large (more than {MAX_VALUE_SIZE} characters or items)")


def weight(value: Any, budget: int = MAX_VALUE_SIZE) -> int:
    """About how many characters ``value`` prints as; counting stops once past ``budget``.

    Containers count their elements, so a list holding the same long string many times is
    as large as the text it turns into, even though the list itself is small.
    """
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes, bytearray)):
            total += len(item) + 2
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total <= budget:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(item)
            if total <= budget:
                stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 1
        else:
            total += 8
        if total > budget:
            return total
    return total


def check_weight(value: Any, what: str = "value") -> Any:
    if weight(value) > MAX_VALUE_SIZE:
        raise _too_large(what)
    return value


def _plain_iterator(value: Any) -> bool:
    return isinstance(value, GeneratorType) or (isinstance(value, Iterator) and type(value).__module__ == "builtins")


def _bounded(value: Any) -> Any:
    """A call's or filter's result: generators become lists; anything too large is refused."""
    if _plain_iterator(value):
        items = []
        total = 2
        for item in value:  # e.g. ``map``: each item was bounded, all of them together must be too
            items.append(item)
            total += 2 + weight(item)
            if total > MAX_VALUE_SIZE:
                raise _too_large("sequence")
        value = items
    try:
        size = len(value)
    except TypeError:
        return value
    if size > MAX_VALUE_SIZE:
        raise _too_large()
    return value


def check_format_string(text: str) -> None:
    """Refuse widths and precisions that would make a small format build a huge string."""
    for match in _PERCENT_FIELD.finditer(text):
        for part in match.groups():
            if part == "*" or (part and int(part) > MAX_FORMAT_WIDTH):
                raise TemplateProblem(f"format widths and precisions are limited to {MAX_FORMAT_WIDTH}")
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format will refuse it itself
    for _literal, _name, spec, _conversion in fields:
        if not spec:
            continue
        if "{" in spec:
            raise TemplateProblem("nested replacement fields are not allowed in format specifications")
        if any(int(number) > MAX_FORMAT_WIDTH for number in re.findall(r"\d+", spec)):
            raise TemplateProblem(f"format widths and precisions are limited to {MAX_FORMAT_WIDTH}")


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _predict_replace(text: Any, old: Any, new: Any, count: Any) -> None:
    if not isinstance(text, (str, bytes)):
        text = str(text)
    old = old if isinstance(old, type(text)) else str(old)
    new = new if isinstance(new, type(text)) else str(new)
    occurrences = len(text) + 1 if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        occurrences = min(occurrences, count)
    if len(text) + occurrences * (len(new) - len(old)) > MAX_VALUE_SIZE:
        raise _too_large("replacement result")


def _predict_join(items: Any, separator: Any) -> None:
    if isinstance(items, (list, tuple, str)):
        separators = max(len(items) - 1, 0) * len(str(separator))
        if separators + weight(items) > MAX_VALUE_SIZE:
            raise _too_large("joined text")


def _check_width(width: Any) -> None:
    if isinstance(width, int) and width > MAX_VALUE_SIZE:
        raise _too_large("padded text")


def _check_method(function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Pre-checks of the built-in methods that allocate in one C call far more than they get."""
    name = getattr(function, "__name__", "")
    owner = getattr(getattr(function, "__wrapped__", function), "__self__", None)
    if name in ("format", "format_map") and isinstance(owner, str):
        check_format_string(owner)
    if not isinstance(owner, (str, bytes, bytearray, int)) or isinstance(owner, bool):
        return
    if name in ("center", "ljust", "rjust", "zfill"):
        _check_width(_arg(args, kwargs, 0, "width", 0))
    elif name == "expandtabs" and isinstance(owner, (str, bytes)):
        tabsize = _arg(args, kwargs, 0, "tabsize", 8)
        tabs = owner.count("\t" if isinstance(owner, str) else b"\t")
        if isinstance(tabsize, int) and len(owner) + tabs * max(tabsize, 0) > MAX_VALUE_SIZE:
            raise _too_large("expanded text")
    elif name == "replace" and isinstance(owner, (str, bytes)):
        _predict_replace(
            owner,
            _arg(args, kwargs, 0, "old", ""),
            _arg(args, kwargs, 1, "new", ""),
            _arg(args, kwargs, 2, "count", -1),
        )
    elif name == "join" and isinstance(owner, (str, bytes)):
        _predict_join(_arg(args, kwargs, 0, "iterable", ()), owner)
    elif name == "translate" and isinstance(owner, str):
        table = _arg(args, kwargs, 0, "table", None)
        longest = (
            max((len(v) for v in table.values() if isinstance(v, str)), default=1) if isinstance(table, dict) else 1
        )
        if len(owner) * max(longest, 1) > MAX_VALUE_SIZE:
            raise _too_large("translated text")
    elif name == "to_bytes":
        _check_width(_arg(args, kwargs, 0, "length", 1))


# --- filters -----------------------------------------------------------------------------


def _check_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if name == "center":
        _check_width(_arg(args, kwargs, 0, "width", 80))
    elif name == "indent":
        width = _arg(args, kwargs, 0, "width", 4)
        per_line = width if isinstance(width, int) else len(str(width))
        text = str(value)
        if len(text) + (text.count("\n") + 1) * max(per_line, 0) > MAX_VALUE_SIZE:
            raise _too_large("indented text")
    elif name == "wordwrap":
        width = _arg(args, kwargs, 0, "width", 79)
        wrapstring = _arg(args, kwargs, 2, "wrapstring", None) or "\n"
        text = str(value)
        if isinstance(width, int) and width > 0:
            if len(text) + (len(text) // width + 1) * len(str(wrapstring)) > MAX_VALUE_SIZE:
                raise _too_large("wrapped text")
    elif name == "replace":
        _predict_replace(
            value,
            _arg(args, kwargs, 0, "old", ""),
            _arg(args, kwargs, 1, "new", ""),
            _arg(args, kwargs, 2, "count", None),
        )
    elif name == "join":
        _predict_join(value, _arg(args, kwargs, 0, "d", ""))
    elif name in ("batch", "slice"):
        _check_width(_arg(args, kwargs, 0, "linecount" if name == "batch" else "slices", 1))
    elif name == "format" and isinstance(value, str):
        check_format_string(value)
    elif name == "urlize":
        extra = [_arg(args, kwargs, index, key, None) for index, key in ((2, "target"), (3, "rel"))]
        if sum(len(str(item)) for item in extra if item) > MAX_FORMAT_WIDTH:
            raise TemplateProblem("urlize target and rel are limited")
    elif name == "tojson":
        indent = _arg(args, kwargs, 0, "indent", None)
        if isinstance(indent, int) and indent > MAX_FORMAT_WIDTH:
            raise TemplateProblem(f"tojson indent is limited to {MAX_FORMAT_WIDTH}")
    elif name == "sum":
        start = _arg(args, kwargs, 1, "start", 0)
        if not isinstance(start, (int, float, Decimal)):
            raise TemplateProblem("sum adds numbers only")


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    offset = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        value = args[offset] if len(args) > offset else None
        rest = args[offset + 1 :]
        check_weight(value)
        for item in (*rest, *kwargs.values()):
            check_weight(item)
        _check_filter(name, value, rest, kwargs)
        return _bounded(function(*args, **kwargs))

    return guarded


# --- the sandbox -------------------------------------------------------------------------


class BoundMethod:
    """A method reached from a template: callable through the sandbox, printed without an address."""

    __slots__ = ("function",)

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function

    def __repr__(self) -> str:
        return f"<method {getattr(self.function, '__name__', 'function')}>"

    __str__ = __repr__


class _CodeGenerator(CodeGenerator):
    """``a ~ b ~ c`` is checked for size before the strings are joined."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            func_name = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            func_name = "markup_join"
        else:
            func_name = "str_join"
        self.write(f"{func_name}(environment.checked_parts((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write(")))")


def _finalize(value: Any) -> Any:
    """What ``{{ value }}`` prints: bounded, and never an object's default repr (an address)."""
    if isinstance(value, Undefined | BoundMethod | bool | int | float | Decimal) or value is None:
        return value
    if _plain_iterator(value):
        value = _bounded(value)
    if isinstance(value, (str, list, tuple, dict, set, frozenset, bytes)):
        return check_weight(value, "printed value")
    if isinstance(value, (KeysView, ValuesView, ItemsView)):
        return check_weight(list(value), "printed value")
    return f"<{type(value).__name__}>"


class _Sandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_finalize, **options)
        self.filters = {name: _guard_filter(name, function) for name, function in self.filters.items()}

    def checked_parts(self, parts: tuple[Any, ...]) -> tuple[Any, ...]:
        if weight(parts) > MAX_VALUE_SIZE:
            raise _too_large("concatenated text")
        return parts

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and (abs(left) > 10_000 or abs(right) > 64):
            raise TemplateProblem("the power is too large")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, (str, bytes, list, tuple))
                    and isinstance(count, int)
                    and weight(sequence) * count > MAX_VALUE_SIZE
                ):
                    raise _too_large("repeated value")
        if operator == "%" and isinstance(left, str):
            check_format_string(left)
            check_weight(right)
        return _bounded(super().call_binop(context, operator, left, right))

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, Undefined) or isinstance(value, type) or not callable(value):
            return value
        return BoundMethod(value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self._wrap(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self._wrap(super().getitem(obj, argument))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        function = __obj.function if isinstance(__obj, BoundMethod) else __obj
        for item in (*args, *kwargs.values()):
            check_weight(item)
        _check_method(function, args, kwargs)
        return _bounded(super().call(__context, function, *args, **kwargs))


def _environment(autoescape: bool) -> _Sandbox:
    return _Sandbox(autoescape=autoescape, undefined=StrictUndefined, auto_reload=False, cache_size=0)


COMPILED_TEMPLATES = 512
TEXT_ENV = _environment(False)
HTML_ENV = _environment(True)


# --- static checks -----------------------------------------------------------------------


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
        if isinstance(node, nodes.Const) and isinstance(node.value, str):
            check_format_string(node.value)  # a literal format string with a huge width
        if isinstance(node, (nodes.Filter, nodes.Test)) and node.name in FORBIDDEN_FILTERS:
            raise TemplateProblem(f"the filter {node.name!r} is not allowed")
        if isinstance(node, nodes.Name) and node.name in FORBIDDEN_NAMES:
            raise TemplateProblem(f"the name {node.name!r} is not allowed")


def check_template(source: str | None, *, html: bool = False, field: str = "body") -> None:
    """Raise ``TemplateProblem`` (naming ``field``) unless ``source`` compiles and is allowed."""
    if source is None:
        return
    problem = _problem_of(source, html)
    if problem is not None:
        raise TemplateProblem(f"{field}: {problem}")


@functools.lru_cache(maxsize=COMPILED_TEMPLATES)
def _problem_of(source: str, html: bool) -> str | None:
    """What is wrong with ``source``, or None. Every render checks its templates again (a stored
    template may predate a rule); parsing and compiling each time was a fifth of a notification's
    cost, and the answer depends on the source alone."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return f"longer than {MAX_TEMPLATE_CHARS} characters"
    env = HTML_ENV if html else TEXT_ENV
    try:
        tree = env.parse(source)
        _check_tree(tree)
        env.compile(source)
    except TemplateProblem as exc:
        return str(exc)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        return f"does not compile{f' (line {line})' if line else ''}: {exc.message or exc}"
    except RecursionError:
        return "nested too deeply"
    return None


# --- rendering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One field of a message to render: its name, its template source, whether it is HTML."""

    field: str
    source: str
    html: bool = False


def _template_line(traceback: TracebackType | None) -> int | None:
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def describe_failure(field: str, exc: BaseException) -> TemplateProblem:
    """A failure as text without variable values: the error class, the line, a fixed message."""
    line = _template_line(exc.__traceback__)
    where = f" (line {line})" if line else ""
    if isinstance(exc, TemplateProblem):
        return TemplateProblem(f"{field}: {exc}{where}")
    message = getattr(exc, "message", None) or ""
    if isinstance(exc, UndefinedError) and _UNDEFINED_NAME.fullmatch(message):
        return TemplateProblem(f"{field}: {message}{where}")  # the name comes from the template itself
    if isinstance(exc, SecurityError):
        return TemplateProblem(f"{field}: SecurityError{where}: the template used a forbidden attribute or call")
    if isinstance(exc, UndefinedError):
        return TemplateProblem(f"{field}: UndefinedError{where}: an attribute or item that does not exist was used")
    if isinstance(exc, (MemoryError, RecursionError)):
        return TemplateProblem(f"{field}: {type(exc).__name__}{where}: the template needs too many resources")
    return TemplateProblem(f"{field}: {type(exc).__name__}{where}: the template failed to render")


@functools.lru_cache(maxsize=COMPILED_TEMPLATES)
def _compiled(source: str, html: bool) -> Template:
    """Parsing and compiling is most of a render's cost; a source compiles once per process
    (an edited template is another source, so nothing stale is ever used)."""
    return (HTML_ENV if html else TEXT_ENV).from_string(source)


def _render_one(part: Part, context: dict[str, Any]) -> str:
    template = _compiled(part.source, part.html)
    pieces: list[str] = []
    size = 0
    for piece in template.generate(context):
        size += len(piece)
        if size > MAX_OUTPUT_CHARS:
            raise TemplateProblem(f"renders to more than {MAX_OUTPUT_CHARS} characters")
        pieces.append(piece)
    return "".join(pieces)


def render_bounded(parts: list[Part], context: dict[str, Any], seconds: float = RENDER_SECONDS) -> list[str]:
    """Render ``parts`` in this thread under a deadline; any failure is a ``TemplateProblem``.

    The deadline is enforced by a trace function on the frames of compiled templates only,
    so it costs nothing outside them and stops any loop a template writes.
    """
    deadline = time.monotonic() + seconds

    def on_line(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise RenderTimeout(f"took longer than {seconds:g} seconds to render")
        return on_line

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        return on_line if frame.f_code.co_filename == TEMPLATE_FILENAME else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    results = []
    try:
        for part in parts:
            check_template(part.source, html=part.html, field=part.field)
            try:
                results.append(_render_one(part, context))
            except Exception as exc:  # every failure of untrusted code is the template's failure
                raise describe_failure(part.field, exc) from None
    finally:
        sys.settrace(previous)
    return results


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """A few dedicated threads: a slow template never occupies the default executor."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=RENDER_THREADS, thread_name_prefix="vetrai-template")
        return _pool


async def render_parts(parts: list[Part], context: dict[str, Any], seconds: float = RENDER_SECONDS) -> list[str]:
    """Render off the event loop; past the deadline (also while queued) it is a ``TemplateProblem``."""
    future = asyncio.get_running_loop().run_in_executor(_executor(), render_bounded, parts, context, seconds)
    try:
        return await asyncio.wait_for(future, seconds + 1.0)
    except TimeoutError:
        raise RenderTimeout(
            f"{parts[0].field if parts else 'body'}: took longer than {seconds:g} seconds to render"
        ) from None


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
