"""Street names for WZDx ``road_names`` and DATEX II ``roadName``, found in titles by a heuristic (pure)."""

from __future__ import annotations

import pytest

from service.feeds.common import road_names


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
