"""Slot explanations for people: the scheduler's findings (start-day ranges, task ids) turned into dates,
request ids and one sentence in German and one in English (``{"de": ..., "en": ...}``), as the conflicts API
does. Pure functions of a built problem and the scheduler's explanation dicts; no database access.

A blocker is ``{"kind", "ref", "starts_from", "starts_to"}`` (the start dates it rules out) plus:
``request_id`` for a conflict or a precedence partner; ``kind: "corridor"`` and ``ref: "corridor:<id>"`` when
the conflict is a corridor's one-site-at-a-time limit (``request_id`` names the other site on it);
``request_ids`` for a zone or corridor capacity: the placed requests that fill it on those days; and for a
precedence ``order`` (``after``: this request comes after ``request_id``; ``before``: it comes before it) with
``min_gap_days`` and ``max_gap_days``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from service.slots import adapter


def date_de(d: date) -> str:
    return f"{d:%d.%m.%Y}"


def date_en(d: date) -> str:
    return f"{d.day} {d:%b} {d.year}"


def _days(n: int) -> tuple[str, str]:
    return ("1 Tag", "1 day") if n == 1 else (f"{n} Tage", f"{n} days")


def _sites(n: int) -> tuple[str, str]:
    return ("1 Baustelle", "1 site") if n == 1 else (f"{n} Baustellen", f"{n} sites")


def _other_sites(n: int) -> tuple[str, str]:
    """Dative: "nach 1 anderen Baustelle"."""
    return ("1 anderen Baustelle", "1 other site") if n == 1 else (f"{n} anderen Baustellen", f"{n} other sites")


def blockers(built: adapter.Built, items: Iterable[dict], task_id: str | None = None) -> list[dict[str, Any]]:
    """Scheduler blockers (start-day ranges ``[a, b)``) of task ``task_id`` as dates; conflict refs are request
    ids (see above)."""
    out = []
    for b in items:
        a, z = b["days"]
        ref = adapter.rule_ref(str(b["ref"])) if b["kind"] == "zone" else str(b["ref"])  # a shift's resource: its rule
        item: dict[str, Any] = {"kind": b["kind"], "ref": ref, "starts_from": built.date(a).isoformat(),
                                "starts_to": built.date(z - 1).isoformat()}
        if b["kind"] in ("conflict", "precedence"):
            item["request_id"] = str(b["ref"])
        if b["kind"] == "precedence":
            for order, key in (("after", (str(b["ref"]), task_id)), ("before", (task_id, str(b["ref"])))):
                if key in built.gaps:
                    item["order"] = order
                    item["min_gap_days"], item["max_gap_days"] = built.gaps[key]
        via = str(b.get("via") or "")
        if b["kind"] == "conflict" and via.startswith("corridor:"):
            item["kind"], item["ref"] = "corridor", via
        if b.get("tasks") is not None:
            item["request_ids"] = [str(built.info[t].request_id) for t in b["tasks"] if t in built.info]
        if item not in out:  # the day and the night resource of one rule may block the same starts
            out.append(item)
    return out


def blocking_requests(items: Iterable[dict]) -> list[str]:
    """Every request id the (converted) blockers name, in order, once."""
    ids: list[str] = []
    for b in items:
        if "request_id" in b:
            ids.append(b["request_id"])
        ids += b.get("request_ids", [])
    return list(dict.fromkeys(ids))


def blocker_phrase(items: list[dict]) -> tuple[str, str] | None:
    """What the blockers are, in a few words each: ("Konflikte mit 2 Baustellen, …", "conflicts with 2 sites, …")."""
    conflicts = {b["request_id"] for b in items if b["kind"] == "conflict"}
    corridors = {b["ref"] for b in items if b["kind"] == "corridor"}
    zones = {b["ref"] for b in items if b["kind"] == "zone"}
    precedences = {order: {b["request_id"] for b in items if b["kind"] == "precedence" and b.get("order") == order}
                   for order in ("after", "before", None)}
    forbidden = list(dict.fromkeys(b["ref"] for b in items if b["kind"] == "forbidden"))
    window = any(b["kind"] == "window" for b in items)
    de: list[str] = []
    en: list[str] = []
    if conflicts:
        s_de, s_en = _sites(len(conflicts))
        de.append(f"Konflikte mit {s_de}" if len(conflicts) > 1 else "einen Konflikt mit 1 Baustelle")
        en.append(f"conflicts with {s_en}" if len(conflicts) > 1 else "a conflict with 1 site")
    if corridors:
        de.append("die Grenze von einer Baustelle zur Zeit auf " + ("einem Korridor" if len(corridors) == 1
                                                                  else f"{len(corridors)} Korridoren"))
        en.append("the one-site-at-a-time limit of " + ("a corridor" if len(corridors) == 1
                                                         else f"{len(corridors)} corridors"))
    if zones:
        de.append("die Kapazität " + ("einer Zone" if len(zones) == 1 else f"von {len(zones)} Zonen"))
        en.append("the capacity of " + ("a zone" if len(zones) == 1 else f"{len(zones)} zones"))
    for ref in forbidden:
        kind, _, name = ref.partition(":")
        if kind == "blackout":
            de.append(f"die Sperrzeit „{name}“")
            en.append(f"the blackout “{name}”")
        elif kind == "moratorium":
            de.append(f"das Aufbruchverbot „{name}“")
            en.append(f"the no-dig moratorium “{name}”")
        else:
            de.append(f"die Sperrzeit „{ref}“")
            en.append(f"the forbidden period “{ref}”")
    if precedences["after"]:
        s_de, s_en = _other_sites(len(precedences["after"]))
        de.append(f"die vorgegebene Reihenfolge (Beginn erst nach {s_de})")
        en.append(f"the required order (start only after {s_en})")
    if precedences["before"]:
        s_de, s_en = _other_sites(len(precedences["before"]))
        de.append(f"die vorgegebene Reihenfolge (fertig vor {s_de})")
        en.append(f"the required order (finish before {s_en})")
    if precedences[None]:
        s_de, s_en = _sites(len(precedences[None]))
        de.append(f"die Reihenfolge mit {s_de}")
        en.append(f"the required order with {s_en}")
    if window:
        de.append("das Zeitfenster des Antrags")
        en.append("the request's window")
    if not de:
        return None
    return ", ".join(de), ", ".join(en)


def placed_summary(start: date, preferred: date, items: list[dict], note: bool,
                   period: tuple[date, date] | None = None, duration: int = 1,
                   stated: bool = True) -> dict[str, str]:
    """Where the slot starts against the owner's preferred start, and what blocked the days in between (and
    whether the plan period itself left no room for the preferred dates). Without a stated preferred start
    (``stated`` false; ``preferred`` is then the earliest start) the slot is described from the earliest
    start instead: nobody wished for a date the slot could miss."""
    dev = (start - preferred).days
    if dev == 0:
        if not stated:
            return {"de": f"Am frühestmöglichen Beginn ({date_de(start)}) eingeplant.",
                    "en": f"Placed on the earliest possible start ({date_en(start)})."}
        return {"de": f"Am gewünschten Beginn ({date_de(start)}) eingeplant.",
                "en": f"Placed on the preferred start ({date_en(start)})."}
    n_de, n_en = _days(abs(dev))
    if stated:
        de = (f"{n_de} {'später' if dev > 0 else 'früher'} als gewünscht eingeplant: Beginn {date_de(start)} "
              f"statt {date_de(preferred)}.")
        en = (f"Placed {n_en} {'later' if dev > 0 else 'earlier'} than preferred: starts {date_en(start)} "
              f"instead of {date_en(preferred)}.")
    else:
        de = (f"Beginn {date_de(start)}, {n_de} {'nach' if dev > 0 else 'vor'} dem frühestmöglichen Beginn "
              f"({date_de(preferred)}); ein Wunschtermin war nicht angegeben.")
        en = (f"Starts {date_en(start)}, {n_en} {'after' if dev > 0 else 'before'} the earliest possible start "
              f"({date_en(preferred)}); no preferred start was given.")
    if period is not None and preferred < period[0]:
        de += f" Der Planungszeitraum beginnt erst am {date_de(period[0])}."
        en += f" The plan period begins only on {date_en(period[0])}."
    elif period is not None and (preferred - period[1]).days + duration - 1 > 0:
        de += (f" Der Planungszeitraum endet am {date_de(period[1])}: die gewünschten Tage passen nicht hinein."
               if stated else f" Der Planungszeitraum endet am {date_de(period[1])}.")
        en += (f" The plan period ends on {date_en(period[1])}: the preferred dates do not fit into it."
               if stated else f" The plan period ends on {date_en(period[1])}.")
    phrase = blocker_phrase(items)
    if phrase is not None:
        de += f" Dazwischen blockiert durch {phrase[0]}."
        en += f" The days in between are blocked by {phrase[1]}."
    if note:
        de += " Einige nähere Termine waren frei: die Baustelle wurde verschoben, um anderen Anträgen Platz zu machen."
        en += " Some closer starts were free: the site was moved to make room for other requests."
    return {"de": de, "en": en}


def placed_for(first: date, last: date) -> dict[str, str]:
    """The summary other organisations read of a slot placed after a counter-proposal: the dates, not the
    negotiation (what was wished, counter-proposed, met)."""
    de_window, en_window = _period(first, last)
    return {"de": f"Eingeplant: {de_window}.", "en": f"Placed: {en_window}."}


def counter_note(first: date, last: date, met: bool) -> dict[str, str]:
    """What became of a contested request's counter-proposal (the window ``first``..``last``) in a plan."""
    de_window, en_window = _period(first, last)
    if met:
        return {"de": f"Zeitraum laut Gegenvorschlag: {de_window}.",
                "en": f"Window as counter-proposed: {en_window}."}
    return {"de": (f"Der Gegenvorschlag ({de_window}) ließ sich nicht einhalten: eingeplant im ursprünglichen "
                   "Zeitfenster, so nah wie möglich an seinem Beginn."),
            "en": (f"The counter-proposal ({en_window}) could not be met: placed in the original window, as close "
                   "to its start as possible.")}


# What the request the incremental placement placed was, by its ``cause`` (``service.place_incrementally``): German
# (accusative, after "für"), English.
MOVED_FOR = {
    "new": ("einen neuen Antrag", "a newly submitted request"),
    "edited": ("einen geänderten Antrag", "a changed request"),
    "again": ("einen erneut eingeplanten Antrag", "a request placed again"),
}


def moved_for_summary(start: date, preferred: date, stated: bool = True, cause: str = "new") -> dict[str, str]:
    """A provisional slot the incremental placement moved to fit another request: a newly submitted one
    (``cause`` ``new``), an edited one (``edited``) or one placed again (``again``: its blocker gave its slot back,
    or its order with another request changed). Moved onto its preferred start (the repair of a request placed
    again, e.g. for a new order, can give a neighbour its wish back) it was not moved to make room: it was placed
    again."""
    out = placed_summary(start, preferred, [], False, stated=stated)
    if start == preferred:
        return {"de": out["de"] + " Neu eingeplant, als ein anderer Antrag eingeplant wurde.",
                "en": out["en"] + " Placed again when another request was placed."}
    what_de, what_en = MOVED_FOR.get(cause, MOVED_FOR["new"])
    return {"de": out["de"] + f" Verschoben, um Platz für {what_de} zu machen.",
            "en": out["en"] + f" Moved to make room for {what_en}."}


def window_part(part: tuple[date | None, date | None] | None) -> tuple[str, str]:
    """The window an unplaced reason speaks of: the whole window, or (``part``: where a plan period cut it, the
    period's first day and/or its last) the part of it inside the plan period."""
    first, last = part or (None, None)
    if first is not None and last is not None:
        p_de, p_en = _period(first, last)
        return (f"im Teil des Zeitfensters im Planungszeitraum ({p_de})",
                f"in the part of the window within the plan period ({p_en})")
    if first is not None:
        return (f"im Teil des Zeitfensters ab dem Beginn des Planungszeitraums ({date_de(first)})",
                f"in the part of the window from the start of the plan period ({date_en(first)})")
    if last is not None:
        return (f"im Teil des Zeitfensters bis zum Ende des Planungszeitraums ({date_de(last)})",
                f"in the part of the window up to the end of the plan period ({date_en(last)})")
    return "im Zeitfenster", "in the window"


def unplaced_reason(code: str | None, items: list[dict], free_from: date | None,
                    part: tuple[date | None, date | None] | None = None) -> dict[str, str]:
    """Why a request got no slot, from the scheduler explanation's ``code``. ``part``: the plan period cut the
    window (its first day, its last day, or both; None where it did not): the reason speaks of the part inside."""
    if code == "window_too_short":
        return {"de": "Das Zeitfenster ist kürzer als die Dauer der Arbeiten.",
                "en": "The window is shorter than the duration of the works."}
    if code == "window_passed" and free_from is not None:
        return {"de": (f"Vom Zeitfenster ist ab heute ({date_de(free_from)}) zu wenig übrig für die Dauer der "
                       "Arbeiten: bitte das Zeitfenster verlängern."),
                "en": (f"Too little of the window is left from today ({date_en(free_from)}) for the duration of "
                       "the works: please extend the window.")}
    if code == "left_out" and free_from is not None:
        return {"de": (f"Hätte am {date_de(free_from)} beginnen können, wurde aber zurückgestellt, damit "
                       "dringlichere oder umfangreichere Arbeiten Platz finden."),
                "en": (f"Could start on {date_en(free_from)}, but was left out to make room for more urgent or "
                       "more extensive works.")}
    where_de, where_en = window_part(part)
    phrase = blocker_phrase(items)
    if phrase is not None:
        return {"de": f"Kein Beginn {where_de} ist frei: blockiert durch {phrase[0]}.",
                "en": f"No start {where_en} is free: blocked by {phrase[1]}."}
    return {"de": f"{where_de[:1].upper()}{where_de[1:]} ist kein Beginn frei.", "en": f"No start {where_en} is free."}


SKIPPED = {
    adapter.SKIP_WINDOW: "Das Zeitfenster passt nicht in den Planungszeitraum.",
    adapter.SKIP_PREFERRED_AFTER: "Der gewünschte Beginn liegt nach dem Planungszeitraum.",
    adapter.SKIP_PREFERRED_BEFORE: "Der gewünschte Beginn liegt vor dem Planungszeitraum; der Antrag behält seinen "
                                   "Termin.",
    adapter.SKIP_BEYOND: "Das Zeitfenster reicht über den Planungszeitraum hinaus; der Antrag behält seinen Termin.",
}


def skipped_reason(reason: str) -> dict[str, str]:
    """Why a plan left a request of its scope out (``adapter.SKIP_*``), in German and English."""
    en = reason[:1].upper() + reason[1:] + "."
    if reason in (adapter.SKIP_PREFERRED_BEFORE, adapter.SKIP_BEYOND):
        en = en[:-1] + "; the request keeps its slot."
    return {"de": SKIPPED.get(reason, en), "en": en}


# The scheduler's own wording of why a task is unplaced (``Unplaced.reason`` and the explanation's ``reason``,
# parts joined by "; "): pattern, German, English (None: as it is). A start day the scheduler gives as a number
# (the pattern's group) is written as a date (``{date_de}``, ``{date_en}``).
SCHEDULER_DETAILS = (
    (r"blocked by earlier requests", "von früher eingereichten Anträgen blockiert", None),
    (r"blocked by other requests", "von anderen Anträgen blockiert", None),
    (r"no feasible start in the window", "kein zulässiger Beginn im Zeitfenster", None),
    (r"left out to make room for more valuable work", "zurückgestellt zugunsten umfangreicherer oder dringlicherer "
     "Arbeiten", None),
    (r"component proven infeasible", "die festen Termine der zusammenhängenden Anträge widersprechen sich", None),
    (r"the window is shorter than the duration", "das Zeitfenster ist kürzer als die Dauer", None),
    (r"could start on day (-?\d+), but was left out to make room for other requests",
     "hätte am {date_de} beginnen können, wurde aber für andere Anträge zurückgestellt",
     "could start on {date_en}, but was left out to make room for other requests"),
    (r"no start in the window is free of the listed blockers", "kein Beginn im Zeitfenster ist frei von den "
     "genannten Hindernissen", None),
    (r"window passed", "vom Zeitfenster ist ab heute zu wenig übrig", "too little of the window is left from today"),
    (r"not placed", "nicht eingeplant", None),
)


def detail_text(detail: str, day0: date | None = None) -> dict[str, str]:
    """The scheduler's English ``detail`` of an unplaced request in German and English, its day numbers (counted
    from ``day0``) as dates; a part it has no German for stays English in both."""
    de: list[str] = []
    en: list[str] = []
    for part in (p.strip() for p in detail.split(";")):
        for pattern, german, english in SCHEDULER_DETAILS:
            match = re.fullmatch(pattern, part)
            if match:
                day = day0 + timedelta(days=int(match.group(1))) if match.groups() and day0 else None
                de.append(german.format(date_de=date_de(day)) if day else german)
                en.append((english or part).format(date_en=date_en(day)) if day else english or part)
                break
        else:
            de.append(part)
            en.append(part)
    return {"de": _sentence("; ".join(de)), "en": _sentence("; ".join(en))}


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")) if text else text


def lock_released(old: tuple[date, date], window: tuple[date, date], duration: int) -> dict[str, str]:
    n_de = "1 Tag" if duration == 1 else f"{duration} Tagen"  # dative: "von 60 Tagen"
    n_en = _days(duration)[1]
    return {
        "de": (f"Sperre aufgehoben, weil der Antrag geändert wurde: der gesperrte Zeitraum {date_de(old[0])}–"
               f"{date_de(old[1])} passt nicht mehr zum Zeitfenster {date_de(window[0])}–{date_de(window[1])} "
               f"und zur Dauer von {n_de}."),
        "en": (f"Lock released because the request changed: the locked slot {date_en(old[0])} – "
               f"{date_en(old[1])} no longer fits the window {date_en(window[0])} – {date_en(window[1])} and "
               f"the duration of {n_en}."),
    }


def title_for(other: Any, reader_owner_id: Any) -> str:
    """The title of request ``other`` (anything with ``title``, ``public_title`` and ``owner_id``) as the owner
    ``reader_owner_id`` may read it in a text about one of its own requests: as written when it owns ``other``
    too, else as every other organisation reads it (the scrubbed ``public_title``: no names, phone numbers or
    e-mail addresses). Texts generated about ``other`` and kept on another organisation's request (its history,
    its slot's explanation, its unplaced reason) or put in an answer about it use this."""
    if other.owner_id == reader_owner_id:
        return other.title
    return other.public_title or ""


def moved_for(title: str) -> dict[str, str]:
    """The history reason of a provisional slot the incremental placement moved to make room for “title”."""
    return {"de": f"Verschoben für „{title}“", "en": f"Moved for “{title}”"}


def displaced_summary(title: str, start: date | None, previous: date | None) -> dict[str, str]:
    """A slot an emergency took: where the site went instead (or that no start is left)."""
    if start is None:
        return {"de": (f"Die Notfall-Baustelle „{title}“ belegt den Zeitraum; im Zeitfenster ist danach kein Beginn "
                       "mehr frei. Der Antrag wartet auf eine neue Entscheidung."),
                "en": (f"The emergency works “{title}” take the period; no start is left in the window after them. "
                       "The request waits for a new decision.")}
    was_de = f" statt {date_de(previous)}" if previous else ""
    was_en = f" instead of {date_en(previous)}" if previous else ""
    return {"de": f"Wegen der Notfall-Baustelle „{title}“ verschoben: Beginn {date_de(start)}{was_de}.",
            "en": f"Moved for the emergency works “{title}”: starts {date_en(start)}{was_en}."}


def _period(start: date, end: date) -> tuple[str, str]:
    return f"{date_de(start)}–{date_de(end)}", f"{date_en(start)} – {date_en(end)}"


# What ends a sentence already: a person's reason ending so gets no second full stop. Closing quotes and
# brackets after it are looked through ('… „fertig!“').
SENTENCE_ENDS = (".", "!", "?", "…")
CLOSERS = "\"'“”‘’»«›‹)]"


def reason_sentence(reason: str | None, label: tuple[str, str] = ("Begründung", "Reason"),
                    ) -> tuple[str, str] | None:
    """A person's own reason as a sentence of a generated text, German and English: ``Begründung: „…“.`` /
    ``Reason: “…”.`` (or another ``label``) — quoted as the texts quote titles and rule names, its whitespace
    collapsed to one line, and closed with a full stop unless it ends a sentence itself (``.``, ``!``, ``?``,
    ``…``; then the quote closes it). ``None`` for no reason (or only blanks)."""
    text = " ".join((reason or "").split())
    if not text:
        return None
    stop = "" if text.rstrip(CLOSERS).endswith(SENTENCE_ENDS) else "."
    return f"{label[0]}: „{text}“{stop}", f"{label[1]}: “{text}”{stop}"


def change_kind(previous: tuple[date, date] | None, new: tuple[date, date], *, area_changed: bool) -> str:
    """What an approved change did to the slot: ``extended`` (same start, ends later), ``shortened`` (same start,
    ends earlier), ``moved`` (another start: later, or earlier whatever the end, so a start moved earlier is
    never hidden under "extended"), ``area`` (same dates, new area) or ``window`` (same dates and area: only the
    window changed). A new area with new dates is said by the caller (``area_changed``), not by the kind."""
    if previous is None or previous == new:
        return "area" if area_changed else "window"
    if new[0] == previous[0]:
        return "extended" if new[1] > previous[1] else "shortened"
    return "moved"


CHANGE_WORDS = {"extended": ("Verlängert", "Extended"), "shortened": ("Verkürzt", "Shortened"),
                "moved": ("Verschoben", "Moved")}


# The works' effects on traffic a change after approval may alter, as its summary names them (German, English).
EFFECT_WORDS = {"impact": ("Verkehrseinschränkung", "impact"), "modes": ("betroffene Verkehrsarten", "modes affected"),
                "shift": ("Arbeitszeiten", "working hours"), "diversions": ("Umleitungen", "diversions"),
                "replacement_routes": ("Ersatzverkehr", "replacement routes")}


def change_summary(previous: tuple[date, date] | None, new: tuple[date, date], *, area_changed: bool,
                   reason: str | None, effect: Sequence[str] = ()) -> dict[str, str]:
    """The slot an approved change after approval gave a site: what the change did (extended, shortened,
    moved, new area), the new and the previous dates, which of the works' effects on traffic it changed
    (:data:`EFFECT_WORDS`), and the owner's reason."""
    p_de, p_en = _period(*new)
    what = change_kind(previous, new, area_changed=area_changed)
    if previous is None or what in ("area", "window"):
        what_de, what_en = ("Bereich geändert", "Area changed") if area_changed else ("Geändert", "Changed")
        de = f"{what_de} durch die genehmigte Änderung; Termine unverändert: {p_de}."
        en = f"{what_en} by the approved change; dates unchanged: {p_en}."
    else:
        what_de, what_en = CHANGE_WORDS[what]
        if area_changed:
            what_de, what_en = f"{what_de} und Bereich geändert", f"{what_en}, with a new area,"
        was_de, was_en = _period(*previous)
        de = f"{what_de} durch die genehmigte Änderung: {p_de} (bisher {was_de})."
        en = f"{what_en} by the approved change: {p_en} (was {was_en})."
    if effect:
        de += f" Geänderte Angaben: {', '.join(EFFECT_WORDS[k][0] for k in effect)}."
        en += f" Changed details: {', '.join(EFFECT_WORDS[k][1] for k in effect)}."
    said = reason_sentence(reason)
    if said is not None:
        de += f" {said[0]}"
        en += f" {said[1]}"
    return {"de": de, "en": en}


MANUAL_LEADS = {
    "propose": ("Von der Koordinierungsstelle manuell vorgeschlagen", "Proposed manually by the coordination office"),
    "approve": ("Von der Koordinierungsstelle mit diesem Termin genehmigt",
                "Approved with these dates by the coordination office"),
}


def manual_summary(start: date, end: date, preferred: date, stated: bool, reason: str | None,
                   rule_conflicts: list[dict[str, str]], action: str = "propose") -> dict[str, str]:
    """A slot the coordination office chose by hand (a manual proposal, or an approval with another start):
    the dates against the owner's wish, the coordinator's reason, and the blackouts and moratoriums it lies in."""
    p_de, p_en = _period(start, end)
    lead_de, lead_en = MANUAL_LEADS[action]
    de = f"{lead_de}: {p_de}."
    en = f"{lead_en}: {p_en}."
    dev = (start - preferred).days
    n_de, n_en = _days(abs(dev))
    if stated and dev:
        de += f" {n_de} {'später' if dev > 0 else 'früher'} als gewünscht ({date_de(preferred)})."
        en += f" {n_en} {'later' if dev > 0 else 'earlier'} than preferred ({date_en(preferred)})."
    elif stated:
        de += " Das ist der gewünschte Beginn."
        en += " That is the preferred start."
    for rc in rule_conflicts:
        de += f" Achtung: {rc['de']}"
        en += f" Note: {rc['en']}"
    said = reason_sentence(reason)
    if said is not None:
        de += f" {said[0]}"
        en += f" {said[1]}"
    return {"de": de, "en": en}


def rule_conflict_text(kind: str, name: str, start: date, end: date) -> dict[str, str]:
    """A blackout or moratorium a slot lies in, in one short sentence each."""
    p_de, p_en = _period(start, end)
    if kind == "moratorium":
        return {"de": f"Der Zeitraum liegt im Aufbruchverbot „{name}“ ({p_de}).",
                "en": f"The slot lies in the no-dig moratorium “{name}” ({p_en})."}
    return {"de": f"Der Zeitraum liegt in der Sperrzeit „{name}“ ({p_de}).",
            "en": f"The slot lies in the blackout “{name}” ({p_en})."}


def emergency_summary(start: date, end: date) -> dict[str, str]:
    p_de, p_en = _period(start, end)
    return {"de": f"Notfall: sofort eingerichtet und genehmigt, {p_de}.",
            "en": f"Emergency: in place and approved at once, {p_en}."}


def completed_early_summary(start: date, end: date, planned_end: date) -> dict[str, str]:
    """Works finished before their slot ended: the slot now ends on the day they did."""
    p_de, p_en = _period(start, end)
    return {"de": f"Früher fertig: {p_de} (geplant bis {date_de(planned_end)}); die übrigen Tage sind frei.",
            "en": f"Finished early: {p_en} (planned until {date_en(planned_end)}); the remaining days are free."}


def blocker_released(title: str, status: str, placed: bool = True) -> dict[str, str]:
    """A request that blocked this one was withdrawn or rejected: it was placed again at once, or (during the
    conversation, when only a plan run proposes) waits for the next plan run."""
    de_what = "zurückgezogen" if status == "withdrawn" else "abgelehnt"
    en_what = "withdrawn" if status == "withdrawn" else "rejected"
    if placed:
        return {"de": f"Neu eingeplant: der blockierende Antrag „{title}“ wurde {de_what} und gab seinen Zeitraum "
                      "frei.",
                "en": f"Placed again: the blocking request “{title}” was {en_what} and gave its slot back."}
    return {"de": (f"Der blockierende Antrag „{title}“ wurde {de_what} und gab seinen Zeitraum frei; der nächste "
                   "Planungslauf sucht einen neuen Termin."),
            "en": (f"The blocking request “{title}” was {en_what} and gave its slot back; the next plan run "
                   "looks for new dates.")}


def reordered_by(title: str) -> dict[str, str]:
    """A provisional slot placed again because another request's order with it (``after``) changed."""
    return {"de": f"Neu eingeplant: die Reihenfolge mit „{title}“ wurde festgelegt, der bisherige vorläufige Zeitraum "
                  "passte nicht mehr dazu.",
            "en": f"Placed again: the order with “{title}” was set and the previous provisional slot no longer "
                  "fitted it."}


# How a coordinator (or the coordinator's silence) set the dates a provisional slot was placed again around
# (:func:`dates_set`): German and English, as in "the dates of … were approved".
_DATES_SET_HOW = {"approved": ("genehmigt wurde", "were approved"),
                  "proposed": ("vorgeschlagen wurde", "were proposed"),
                  "locked": ("festgelegt wurde", "were locked"),
                  "deemed_approved": ("nach Ablauf der Frist als genehmigt gilt", "were deemed approved when the "
                                      "deadline passed")}


def dates_set(title: str, how: str) -> dict[str, str]:
    """A provisional slot placed again because the dates of “title” were set (``how``: ``approved``,
    ``proposed`` or ``locked`` by a coordinator, or ``deemed_approved`` when the coordinator's deadline passed)
    and the previous provisional slot clashed with them or broke the order with them."""
    de_what, en_what = _DATES_SET_HOW[how]
    return {"de": f"Neu eingeplant, weil der Termin von „{title}“ {de_what}: der bisherige vorläufige "
                  "Zeitraum kollidierte damit oder passte nicht zur Reihenfolge.",
            "en": f"Placed again because the dates of “{title}” {en_what}: the previous provisional slot "
                  "clashed with them or broke the order with them."}


def precedence_warnings(explanation: dict[str, Any] | None) -> list[str]:
    """The precedences a slot breaks against proposed slots, as the step that set it found them (its
    explanation's ``precedence_warnings``), one "German / English" line each: what a lock, proposal or approval
    answer warns of."""
    return [f"{b['de']} / {b['en']}" for b in (explanation or {}).get("precedence_warnings") or []]
