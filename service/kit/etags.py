"""Entity tags in conditional requests (RFC 9110, section 13.1.1)."""

from __future__ import annotations

import re

# One element of an If-Match list: an entity tag (optional weakness indicator, opaque string in double quotes),
# then the next comma or the end. Empty elements (", ,") are allowed by the list syntax.
_ELEMENT = re.compile(r'[ \t,]*((?:W/)?"[^"]*")[ \t]*(?:,|$)')
_SEPARATORS = re.compile(r"[ \t,]*$")


def if_match_wellformed(header: str) -> bool:
    """Whether an ``If-Match`` value is ``*`` or a comma-separated list of entity tags (each in double quotes,
    ``"v3"``, optionally weak ``W/"v3"``), as RFC 9110 writes it; ``v3`` without the quotes or ``garbage`` is not."""
    value = header.strip()
    if value == "*":
        return True
    pos, tags = 0, 0
    while not _SEPARATORS.match(value, pos):
        element = _ELEMENT.match(value, pos)
        if element is None:
            return False
        tags, pos = tags + 1, element.end()
    return tags > 0


def if_match_allows(header: str, current: str) -> bool:
    """Whether an ``If-Match`` value admits the resource whose ETag is ``current`` (a quoted strong tag such
    as ``"v3"``): ``*``, or a comma-separated list of entity tags of which one is ``current``. If-Match uses
    the strong comparison (RFC 9110, 13.1.1), so a weak tag (``W/"v3"``) matches nothing; nor does a
    malformed value."""
    value = header.strip()
    if value == "*":
        return True
    tags, pos = [], 0
    while not _SEPARATORS.match(value, pos):
        element = _ELEMENT.match(value, pos)
        if element is None:
            return False
        tags.append(element.group(1))
        pos = element.end()
    return current in tags


def if_none_match_matches(header: str | None, current: str) -> bool:
    """Whether an ``If-None-Match`` value names the resource whose ETag is ``current``: ``*``, or a list of entity
    tags of which one is ``current`` by the weak comparison If-None-Match uses (RFC 9110, 13.1.2: ``W/"v3"`` and
    ``"v3"`` match each other). Read with the parser of ``If-Match``; a malformed value names nothing (the GET
    then answers 200)."""
    if header is None:
        return False
    opaque = current.removeprefix("W/")
    return any(if_match_allows(header, tag) for tag in (opaque, "W/" + opaque))
