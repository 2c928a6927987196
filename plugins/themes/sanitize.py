"""Validation and sanitizing of everything an organization can put on its public pages.

Colors and font families are validated strictly (anything else is refused); custom CSS and
page HTML are *cleaned*: unknown or dangerous parts are dropped and the safe rest is kept.
Nothing here does I/O, so the XSS corpus tests call these functions directly as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import nh3
import tinycss2

# --- colors -------------------------------------------------------------------------------

_HEX = re.compile(r"^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$")
_RGB = re.compile(
    r"^rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*(0|1|0?\.\d{1,4}|1\.0{1,4}|\d{1,3}%)\s*)?\)$"
)


def validate_color(value: str) -> str:
    """A hex (#rgb, #rgba, #rrggbb, #rrggbbaa) or rgb()/rgba() color, lower-cased; else ValueError."""
    color = value.strip().lower()
    if _HEX.match(color):
        return color
    match = _RGB.match(color)
    if match:
        if any(int(part) > 255 for part in match.groups()[:3]):
            raise ValueError("rgb() components must be between 0 and 255")
        alpha = match.group(4)
        if alpha and alpha.endswith("%") and int(alpha[:-1]) > 100:
            raise ValueError("alpha must be between 0 and 100%")
        return re.sub(r"\s+", "", color).replace(",", ", ")
    raise ValueError("expected a hex color (#1a2b3c) or rgb(r, g, b) / rgba(r, g, b, a)")


# --- font families ------------------------------------------------------------------------

GENERIC_FONTS = (
    "sans-serif",
    "serif",
    "monospace",
    "system-ui",
    "cursive",
    "ui-sans-serif",
    "ui-serif",
    "ui-monospace",
)
WEB_FONTS = (
    "Arial",
    "Helvetica",
    "Helvetica Neue",
    "Verdana",
    "Tahoma",
    "Trebuchet MS",
    "Georgia",
    "Times New Roman",
    "Times",
    "Courier New",
    "Courier",
    "Garamond",
    "Palatino",
    "Segoe UI",
    "Roboto",
    "Open Sans",
    "Lato",
    "Montserrat",
    "Inter",
    "Source Sans Pro",
    "Noto Sans",
    "Ubuntu",
    "Fira Sans",
    "-apple-system",
    "BlinkMacSystemFont",
)
SAFE_FONTS = {name.lower(): name for name in (*GENERIC_FONTS, *WEB_FONTS)}
_QUOTED_FONT = re.compile(r"""^(["'])([A-Za-z0-9][A-Za-z0-9 \-]{0,63})\1$""")
MAX_FONTS = 8


def validate_font_family(value: str) -> str:
    """A comma-separated list of safe-list fonts or quoted names (letters, digits, spaces, hyphens)."""
    families = [part.strip() for part in value.split(",")]
    if not families or len(families) > MAX_FONTS or any(not part for part in families):
        raise ValueError(f"expected 1 to {MAX_FONTS} comma-separated font families")
    out = []
    for family in families:
        quoted = _QUOTED_FONT.match(family)
        if quoted:
            name = re.sub(r"\s+", " ", quoted.group(2)).strip()
            out.append(f'"{name}"')
            continue
        known = SAFE_FONTS.get(re.sub(r"\s+", " ", family).lower())
        if known is None:
            raise ValueError(
                f"unknown font family {family[:40]!r}: use one of the generic families "
                f'({", ".join(GENERIC_FONTS)}), a common web font, or a quoted name such as "My Font"'
            )
        out.append(f'"{known}"' if " " in known else known)
    return ", ".join(out)


# --- custom CSS ----------------------------------------------------------------------------

ALLOWED_PROPERTIES = frozenset(
    """
    color background background-color background-image background-position background-size background-repeat
    background-attachment background-clip background-origin
    border border-color border-style border-width border-radius border-collapse border-spacing
    border-top border-right border-bottom border-left border-top-color border-right-color border-bottom-color
    border-left-color border-top-style border-right-style border-bottom-style border-left-style
    border-top-width border-right-width border-bottom-width border-left-width border-top-left-radius
    border-top-right-radius border-bottom-left-radius border-bottom-right-radius
    outline outline-color outline-style outline-width outline-offset box-shadow box-sizing
    margin margin-top margin-right margin-bottom margin-left
    padding padding-top padding-right padding-bottom padding-left
    width height min-width min-height max-width max-height aspect-ratio
    display flex flex-direction flex-wrap flex-flow flex-grow flex-shrink flex-basis order gap row-gap column-gap
    align-items align-content align-self justify-content justify-items justify-self place-items place-content
    grid-template-columns grid-template-rows grid-template-areas grid-column grid-row grid-area grid-auto-flow
    grid-auto-columns grid-auto-rows
    position top right bottom left inset z-index float clear overflow overflow-x overflow-y visibility opacity
    font font-family font-size font-weight font-style font-variant line-height letter-spacing word-spacing
    text-align text-decoration text-decoration-color text-decoration-style text-decoration-thickness text-transform
    text-indent text-shadow text-overflow white-space word-break overflow-wrap vertical-align hyphens
    list-style list-style-type list-style-position
    table-layout caption-side empty-cells
    transition transition-property transition-duration transition-timing-function transition-delay
    transform transform-origin animation animation-name animation-duration animation-timing-function
    animation-delay animation-iteration-count animation-direction animation-fill-mode
    cursor object-fit object-position filter backdrop-filter mix-blend-mode content quotes accent-color
    caret-color scroll-behavior user-select pointer-events
    """.split()
)
ALLOWED_FUNCTIONS = frozenset(
    """
    rgb rgba hsl hsla hwb calc var min max clamp
    linear-gradient radial-gradient conic-gradient repeating-linear-gradient repeating-radial-gradient
    translate translatex translatey rotate scale scalex scaley skew skewx skewy matrix
    cubic-bezier steps minmax repeat fit-content
    blur brightness contrast drop-shadow grayscale hue-rotate invert saturate sepia
    """.split()
)
SELECTOR_FUNCTIONS = frozenset(
    {"not", "is", "where", "has", "nth-child", "nth-last-child", "nth-of-type", "nth-last-of-type", "lang", "dir"}
)
SELECTOR_LITERALS = frozenset({".", ",", ">", "+", "~", "*", ":", "|", "=", "^=", "$=", "*=", "~=", "|="})
VALUE_LITERALS = frozenset({",", "/", "+", "-", "*", "%", ":"})
GROUPING_AT_RULES = frozenset({"media", "supports"})
KEYFRAMES_AT_RULES = frozenset({"keyframes"})
OWN_ASSET_URL = re.compile(r"^/p/[a-z0-9-]{1,100}/assets/[A-Za-z0-9_-]{1,100}\.(?:png|jpg|webp|ico)$")
_BAD_TEXT = re.compile(r"[<>\\\x00-\x1f\x7f]|javascript:|expression\s*\(|url\s*\(|@import", re.IGNORECASE)
_CUSTOM_PROPERTY = re.compile(r"^--[A-Za-z0-9_-]{1,64}$")
MAX_NESTING = 3
MAX_VALUE_LENGTH = 2000


def _significant(tokens: Iterable[Any]) -> list[Any]:
    return [token for token in tokens if token.type not in ("whitespace", "comment")]


def _url_allowed(url: str) -> bool:
    return bool(OWN_ASSET_URL.match(url.strip()))


def _text_allowed(text: str) -> bool:
    return not _BAD_TEXT.search(text)


def _value_allowed(tokens: Iterable[Any], *, allow_urls: bool) -> bool:
    for token in tokens:
        kind = token.type
        if kind in ("whitespace", "comment", "number", "percentage", "dimension", "hash"):
            continue
        if kind == "ident":
            if not _text_allowed(token.value) or token.lower_value in ("expression", "javascript"):
                return False
        elif kind == "string":
            if not _text_allowed(token.value):
                return False
        elif kind == "literal":
            if token.value not in VALUE_LITERALS:
                return False
        elif kind == "url":
            if not (allow_urls and _url_allowed(token.value)):
                return False
        elif kind == "function":
            name = token.lower_name
            if name == "url":
                arguments = _significant(token.arguments)
                if not (
                    allow_urls
                    and len(arguments) == 1
                    and arguments[0].type == "string"
                    and _url_allowed(arguments[0].value)
                ):
                    return False
            elif name not in ALLOWED_FUNCTIONS or not _value_allowed(token.arguments, allow_urls=allow_urls):
                return False
        elif kind == "() block":
            if not _value_allowed(token.content, allow_urls=allow_urls):
                return False
        else:  # blocks, at-keywords, unicode ranges, bad tokens, parse errors
            return False
    return True


def _declarations(
    tokens: Iterable[Any], *, allow_urls: bool = True, properties: frozenset[str] = ALLOWED_PROPERTIES
) -> list[str]:
    kept = []
    for declaration in tinycss2.parse_declaration_list(list(tokens), skip_comments=True, skip_whitespace=True):
        if declaration.type != "declaration":
            continue
        name = declaration.lower_name
        if name.startswith("--"):
            if not allow_urls or not _CUSTOM_PROPERTY.match(declaration.name):
                continue
            name = declaration.name
        elif name not in properties:
            continue
        if not _value_allowed(declaration.value, allow_urls=allow_urls):
            continue
        value = tinycss2.serialize(declaration.value).strip()
        if not value or len(value) > MAX_VALUE_LENGTH or "<" in value or "\\" in value:
            continue
        kept.append(f"{name}: {value}{' !important' if declaration.important else ''};")
    return kept


def _selector_allowed(tokens: Iterable[Any]) -> bool:
    significant = _significant(tokens)
    if not significant:
        return False
    for token in significant:
        kind = token.type
        if kind in ("ident", "hash", "number", "dimension", "percentage"):
            if kind in ("ident", "hash") and not _text_allowed(token.value):
                return False
            continue
        if kind == "literal":
            if token.value not in SELECTOR_LITERALS:
                return False
        elif kind == "[] block":
            for inner in _significant(token.content):
                if inner.type == "string" or inner.type == "ident":
                    if not _text_allowed(inner.value):
                        return False
                elif not (inner.type == "literal" and inner.value in SELECTOR_LITERALS):
                    return False
        elif kind == "function":
            if token.lower_name not in SELECTOR_FUNCTIONS or not _selector_allowed(token.arguments):
                return False
        else:
            return False
    return True


def _condition_allowed(tokens: Iterable[Any]) -> bool:
    """A @media/@supports prelude: idents, numbers, dimensions, ``(feature: value)`` groups."""
    for token in _significant(tokens):
        kind = token.type
        if kind in ("ident", "number", "dimension", "percentage"):
            if kind == "ident" and not _text_allowed(token.value):
                return False
        elif kind == "literal":
            if token.value not in {",", ":", "/", ">", "=", ">="}:  # never "<" (a </style> breakout)
                return False
        elif kind == "() block":
            if not _condition_allowed(token.content):
                return False
        else:
            return False
    return True


def _rules(rules: Iterable[Any], depth: int, *, keyframes: bool = False) -> list[str]:
    out: list[str] = []
    for rule in rules:
        if rule.type == "qualified-rule":
            if keyframes:
                allowed = all(
                    token.type == "percentage"
                    or (token.type == "ident" and token.lower_value in ("from", "to"))
                    or (token.type == "literal" and token.value == ",")
                    for token in _significant(rule.prelude)
                ) and bool(_significant(rule.prelude))
            else:
                allowed = _selector_allowed(rule.prelude)
            if not allowed:
                continue
            declarations = _declarations(rule.content)
            if declarations:
                out.append(f"{tinycss2.serialize(rule.prelude).strip()} {{ {' '.join(declarations)} }}")
        elif rule.type == "at-rule" and rule.content is not None and depth < MAX_NESTING and not keyframes:
            name = rule.lower_at_keyword
            prelude = tinycss2.serialize(rule.prelude).strip()
            if name in GROUPING_AT_RULES and _condition_allowed(rule.prelude) and "<" not in prelude:
                inner = _rules(
                    tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True), depth + 1
                )
                if inner:
                    out.append(f"@{name} {prelude} {{\n" + "\n".join(inner) + "\n}")
            elif name in KEYFRAMES_AT_RULES:
                names = _significant(rule.prelude)
                if len(names) == 1 and names[0].type == "ident" and _text_allowed(names[0].value):
                    inner = _rules(
                        tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True),
                        depth + 1,
                        keyframes=True,
                    )
                    if inner:
                        out.append(f"@keyframes {prelude} {{\n" + "\n".join(inner) + "\n}")
        # @import, @font-face, @namespace, @charset, @page, unknown at-rules and parse errors: dropped
    return out


@lru_cache(maxsize=64)
def sanitize_css(source: str) -> str:
    """Keep only allow-listed rules, selectors, properties and functions of ``source``.

    Dropped: @import and every at-rule except @media/@supports/@keyframes, url() except our
    own public asset URLs, expression(), behavior, -moz-binding, anything with ``<`` (no
    ``</style>`` breakout even if the CSS were ever inlined), backslash escapes, bad tokens.
    Pure, so the public theme.css route re-checks stored CSS through a small cache.
    """
    rules = tinycss2.parse_stylesheet(source, skip_comments=True, skip_whitespace=True)
    css = "\n".join(_rules(rules, 0))
    # Belt and braces: the output never contains these, whatever the serializer does.
    return css.replace("<", "").replace("\\", "")


# --- page HTML -----------------------------------------------------------------------------

HTML_TAGS = frozenset(
    """
    a abbr address article aside b bdi bdo blockquote br caption cite code col colgroup dd del details dfn div dl dt
    em figcaption figure footer h1 h2 h3 h4 h5 h6 header hr i img ins kbd li mark ol p pre q s samp section small
    span strong sub summary sup table tbody td tfoot th thead time tr u ul var wbr
    """.split()
)
HTML_CLEAN_CONTENT_TAGS = frozenset(
    {
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "form",
        "textarea",
        "select",
        "button",
        "noscript",
        "template",
        "svg",
        "math",
        "title",
        "xmp",
        "noembed",
        "noframes",
        "plaintext",
    }
)
HTML_ATTRIBUTES = {
    "*": {"title", "class", "lang", "dir", "style", "id"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height", "loading"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope", "abbr"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed", "type"},
    "time": {"datetime"},
    "q": {"cite"},
    "blockquote": {"cite"},
    "del": {"datetime", "cite"},
    "ins": {"datetime", "cite"},
    "details": {"open"},
}
HTML_URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
STYLE_PROPERTIES = frozenset(
    """
    color background-color text-align text-decoration text-transform font-weight font-style font-size line-height
    letter-spacing margin margin-top margin-right margin-bottom margin-left padding padding-top padding-right
    padding-bottom padding-left border border-color border-style border-width border-radius width height
    max-width min-width max-height vertical-align list-style-type white-space display float clear
    """.split()
)
ID_PREFIX = "content-"


def sanitize_style_attribute(value: str) -> str | None:
    """An inline ``style``: allow-listed properties whose values use no url() and no unsafe functions."""
    declarations = _declarations(
        tinycss2.parse_component_value_list(value), allow_urls=False, properties=STYLE_PROPERTIES
    )
    return " ".join(declarations) or None


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        return sanitize_style_attribute(value)
    if attribute in ("width", "height", "colspan", "rowspan", "span", "start"):
        return value if value.strip().isdigit() and len(value.strip()) <= 5 else None
    if attribute == "href" and value.startswith("#") and not value.startswith(f"#{ID_PREFIX}"):
        return f"#{ID_PREFIX}{value[1:]}"  # in-page links follow their prefixed ids
    if attribute == "loading":
        return value if value in ("lazy", "eager") else None
    return value


_cleaner = nh3.Cleaner(
    tags=set(HTML_TAGS),
    clean_content_tags=set(HTML_CLEAN_CONTENT_TAGS),
    attributes={tag: set(names) for tag, names in HTML_ATTRIBUTES.items()},
    attribute_filter=_attribute_filter,
    strip_comments=True,
    link_rel="noopener noreferrer",
    url_schemes=set(HTML_URL_SCHEMES),
    filter_style_properties=set(STYLE_PROPERTIES),
    id_prefix=ID_PREFIX,
)


def sanitize_html(source: str) -> str:
    """Allow-listed tags, attributes and URL schemes only; scripts, handlers, frames, forms gone."""
    return _cleaner.clean(source)


def plain_text(value: str) -> str:
    """A single line of text (titles, descriptions): control characters removed."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", value).strip()
