"""Content negotiation for the few pages that answer browsers and API clients alike (RFC 9110, section 12.5.1)."""

from __future__ import annotations

HTML_TYPES = ("text/html", "application/xhtml+xml", "text/*")
JSON_TYPES = ("application/json", "application/problem+json", "application/*")


def prefers_html(accept: str) -> bool:
    """A browser (it asks for ``text/html``) rather than an API client: HTML when the Accept header names an
    HTML type at least as strongly as JSON. Without a preference (no header, ``*/*``) the API's JSON."""
    best = {"html": 0.0, "json": 0.0}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        for key, types in (("html", HTML_TYPES), ("json", JSON_TYPES)):
            if media.lower() in types:
                best[key] = max(best[key], q)
    return best["html"] > 0 and best["html"] >= best["json"]
