"""HTML mail made safe to show in the inbox, and its text for mails that have no text part.

nh3 (the Ammonia sanitiser) keeps formatting tags and drops everything that runs or loads
code: scripts, event handlers, `<style>`, forms, frames, `javascript:` URLs. A few harmless
style properties stay so mail keeps its colours and alignment. Remote images stay as they
are (the inbox decides whether to load them); inline images keep their `cid:` address until
`sanitize_html` is given the URLs the parts were stored under.
"""

from __future__ import annotations

from collections.abc import Mapping

import html2text
import nh3

URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "cid"})
STYLE_PROPERTIES = frozenset(
    {
        "color",
        "background-color",
        "font-weight",
        "font-style",
        "font-size",
        "font-family",
        "text-align",
        "text-decoration",
    }
)
# html2text is pure Python: a huge HTML part gets its text from the first part only.
MAX_HTML_FOR_TEXT = 2_000_000

_ATTRIBUTES: dict[str, set[str]] = {
    tag: set(values) for tag, values in nh3.ALLOWED_ATTRIBUTES.items()
}
for _tag in nh3.ALLOWED_TAGS:
    _ATTRIBUTES.setdefault(_tag, set()).add("style")


def sanitize_html(html: str, inline_urls: Mapping[str, str] | None = None) -> str:
    """`html` with nothing that runs. With `inline_urls` (content id -> URL), `cid:` image
    sources become those URLs, and unknown ones are dropped."""

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if value[:4].lower() != "cid:":
            return value
        if tag != "img" or attribute != "src":
            return None
        if inline_urls is None:
            return value
        return inline_urls.get(value[4:].strip("<>"))

    return nh3.clean(
        html,
        attributes=_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties=set(STYLE_PROPERTIES),
    )


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text(bodywidth=0)
    converter.ignore_links = True
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.unicode_snob = True
    return converter.handle(html[:MAX_HTML_FOR_TEXT]).strip("\n")
