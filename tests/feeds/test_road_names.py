"""Street names for WZDx ``road_names`` and DATEX II ``roadName``, found in titles by a heuristic (pure)."""

from __future__ import annotations

import pytest

from service.feeds.common import road_names, scrub


@pytest.mark.parametrize(
    ("title", "names"),
    [
        # hyphenated names (after people, with particles and abbreviations)
        ("Kanalerneuerung Friedrich-Ebert-Straße", ["Friedrich-Ebert-Straße"]),
        ("Umgestaltung Willy-Brandt-Platz / Hauptbahnhof Nord", ["Willy-Brandt-Platz"]),
        ("Leitungsbau Von-der-Tann-Str. 12", ["Von-der-Tann-Str."]),
        ("Deckenerneuerung Dr.-Hammacher-Straße (Hafenzufahrt Ruhrort)", ["Dr.-Hammacher-Straße"]),
        ("Instandsetzung Friedrich-Ebert-Brücke (Ruhrort – Homberg)", ["Friedrich-Ebert-Brücke"]),
        ("Fernwärme Kurt-Schumacher-Platz und Hans-Böckler-Straße", ["Kurt-Schumacher-Platz", "Hans-Böckler-Straße"]),
        ("Neugestaltung Dr.-Ruer-Platz", ["Dr.-Ruer-Platz"]),
        ("Kanal Graf-von-Galen-Straße", ["Graf-von-Galen-Straße"]),
        (
            "B 1 Westfalendamm, BA 2 (Märkische Straße – Max-Eyth-Straße)",
            ["B 1", "Westfalendamm", "Märkische Straße", "Max-Eyth-Straße"],
        ),
        # prepositional names
        ("Kanalbau Am Anger", ["Am Anger"]),
        ("Pflaster Am Alten Markt", ["Am Alten Markt"]),
        ("Gasleitungserneuerung Am Hauptbahnhof.", ["Am Hauptbahnhof"]),
        ("Hausanschluss An der Reichsbank", ["An der Reichsbank"]),
        # one word, adjective + street word, road numbers
        (
            "Fahrbahnerneuerung Leineweberstraße (Ruhrstraße – Kaiserplatz)",
            ["Leineweberstraße", "Ruhrstraße", "Kaiserplatz"],
        ),
        ("Umbau Königswall, BA 1 (Hoher Wall – Katharinenstraße)", ["Königswall", "Hoher Wall", "Katharinenstraße"]),
        ("Fahrbahn Rüttenscheider Str. und Wittener Straße", ["Rüttenscheider Str.", "Wittener Straße"]),
        ("A 40 Ruhrschnellweg: Fahrbahnerneuerung", ["A 40", "Ruhrschnellweg"]),
        # leading adjectives and abbreviations are part of the name (they were dropped: "Karlsruher Straße",
        # "Postweg", "Grüngürtelstraße", "Kirchstraße", "Georgstraße", "An der Alten")
        ("Kanalerneuerung Alte Karlsruher Straße", ["Alte Karlsruher Straße"]),
        ("Gasleitung Alter Postweg", ["Alter Postweg"]),
        ("Fernwärme Äußere Grüngürtelstraße", ["Äußere Grüngürtelstraße"]),
        ("Sperrung Kleine Kirchstraße", ["Kleine Kirchstraße"]),
        ("Hausanschlüsse St. Georgstraße", ["St. Georgstraße"]),
        ("Hausanschluss An der Alten Kirche", ["An der Alten Kirche"]),
        ("Kanal Am Hohen Stein und Zur Alten Post", ["Am Hohen Stein", "Zur Alten Post"]),
        ("Große Straße / Lange Kirchstraße", ["Große Straße", "Lange Kirchstraße"]),
        # ... but only adjectives of street names: any other word before a one-word name is not part of it
        ("Baustelle Kirchstraße", ["Kirchstraße"]),
        ("Kanalerneuerung Hohe Straße", ["Hohe Straße"]),
    ],
)
def test_real_ruhr_street_names_are_found(title: str, names: list[str]) -> None:
    assert road_names(title) == names


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("In der Steeler Straße wird gebaut", ["Steeler Straße"]),  # not "In der Steeler"
        ("Im Bereich der Kreuzung", []),
        ("In Essen wird gebaut", []),
        ("Auf Höhe der Einmündung", []),
        ("Neugestaltung Platz", []),  # a noun before "Platz", not an adjective
        ("S1: Gleis- und Weichenerneuerung Essen Hbf – Essen-Steele (Sperrpause)", []),
    ],
)
def test_prose_is_not_taken_for_a_street(text: str, names: list[str]) -> None:
    assert road_names(text, fallback=False) == names
    assert road_names(text) == (names or [text])  # the title itself when nothing is found


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        # a surname that is also a street's leading adjective is still a name, and the street after it stays
        ("Rückfragen an Herrn Lange Kirchstraße 5", "Rückfragen an […] Kirchstraße 5"),
        ("Bauleitung: Frau Kleine, Tel. 0201 1234567", "Bauleitung: […], Tel. […]"),
        ("Kontakt: Hohe Straße 5", "Kontakt: Hohe Straße 5"),  # an address, no name
    ],
)
def test_leading_adjectives_of_streets_leave_the_scrubbing_of_names_as_it_was(text: str, scrubbed: str) -> None:
    assert scrub(text) == scrubbed
