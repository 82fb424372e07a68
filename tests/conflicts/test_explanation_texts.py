"""The German and English sentences of rule conflicts: nouns keep their capitals, every blackout limit reads
as a sentence (also "none"), and one site is one site."""

from __future__ import annotations

from datetime import date

import pytest

from service.conflicts.service import explain
from tests.conflicts.helpers import box, fixed, line
from tests.conftest import site_body

XMAS = (date(2027, 11, 20), date(2027, 12, 31))


def _post(client, caller, **overrides) -> str:  # noqa: ANN001, ANN003
    r = client.post("/v1/requests", json=site_body(**fixed(**overrides)), headers=caller.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _rule(client, coordinator, path: str, body: dict) -> None:  # noqa: ANN001
    assert client.post(f"/v1/{path}", json=body, headers=coordinator.headers).status_code == 201


def _explanations(client, caller, rid: str, kind: str) -> list[dict]:  # noqa: ANN001
    found = client.get(f"/v1/requests/{rid}/conflicts", headers=caller.headers).json()
    return [c["explanation"] for c in found if c["kind"] == kind]


def test_zone_and_corridor_sentences_keep_the_capitals_of_their_nouns(client, city, utility, coordinator) -> None:  # noqa: ANN001
    _rule(client, coordinator, "zones", {"name": "Rüttenscheid", "capacity": 1, "min_impact": "lane_reduction",
                                         "geometry": box(-2000, -2000, 2000, 2000)})
    _rule(client, coordinator, "corridors", {"name": "B224", "kind": "arterial", "geometry": line(-3000, 0, 6000),
                                             "max_concurrent": 1, "min_impact": "full_closure"})
    a = _post(client, city, geometry=line(-1500, 10))
    _post(client, utility, geometry=line(1500, -10), kind="water")
    [zone] = _explanations(client, city, a, "zone")
    assert zone["de"].startswith("In der Zone „Rüttenscheid“ ist höchstens 1 Baustelle ab einer "
                                 "Fahrstreifenreduzierung gleichzeitig erlaubt"), zone["de"]
    assert zone["en"].startswith("At most 1 site with a lane reduction or more is allowed at the same time in "
                                 "the zone “Rüttenscheid”"), zone["en"]
    [corridor] = _explanations(client, city, a, "corridor")
    assert corridor["de"].startswith("Auf dem Korridor „B224“ ist höchstens 1 Baustelle ab einer Vollsperrung"), \
        corridor["de"]


def test_a_zone_without_minimum_impact_counts_all_sites() -> None:
    text = explain("zone", {"rule": {"name": "Innenstadt", "capacity": 3, "min_impact": "none"}, "peak": 4},
                   None, None, None, date(2027, 4, 1), date(2027, 4, 30))
    assert text["de"] == ("In der Zone „Innenstadt“ sind höchstens 3 Baustellen gleichzeitig erlaubt; im Zeitraum "
                          "01.04.–30.04.2027 wären es 4.")
    assert text["en"] == ("At most 3 sites are allowed at the same time in the zone “Innenstadt”; during "
                          "1 Apr – 30 Apr 2027 there would be 4.")


def test_a_blackout_allowing_no_restriction_says_so(client, city, coordinator) -> None:  # noqa: ANN001
    _rule(client, coordinator, "blackouts", {"name": "Weihnachtsmarkt", "geometry": None, "start": "2027-11-20",
                                             "end": "2027-12-31", "max_impact": "none"})
    rid = _post(client, city, geometry=line(0, 0), earliest_start="2027-12-01", latest_end="2027-12-10",
                duration_days=10)
    [text] = _explanations(client, city, rid, "blackout")
    # the period named is the days the site would fall in the blackout, not the blackout's own (20.11.–31.12.)
    assert text["de"] == ("Im Zeitraum 01.12.–10.12.2027 fiele die Baustelle in die Sperrzeit „Weihnachtsmarkt“, in "
                          "der keine Baustellen mit Verkehrseinschränkungen zulässig sind; diese bringt eine "
                          "Vollsperrung mit sich.")
    assert text["en"] == ("During 1 Dec – 10 Dec 2027 the site would fall in the blackout “Weihnachtsmarkt”, when no "
                          "works that restrict traffic are allowed; this one brings a full closure.")
    assert "keiner" not in text["de"] and "no restriction" not in text["en"]


@pytest.mark.parametrize(("limit", "de", "en"), [
    ("footway", "bis zu einer Gehwegsperrung", "up to a footway closure"),
    ("lane_reduction", "bis zu einer Fahrstreifenreduzierung", "up to a lane reduction"),
    ("one_way", "bis zu einer Einbahnregelung", "up to one-way traffic"),
])
def test_every_blackout_limit_reads_as_a_sentence(limit: str, de: str, en: str) -> None:
    text = explain("blackout", {"rule": {"name": "Messe", "max_impact": limit}, "impact": "full_closure"},
                   None, None, None, *XMAS)
    assert text["de"] == (f"Im Zeitraum 20.11.–31.12.2027 fiele die Baustelle in die Sperrzeit „Messe“, in der nur "
                          f"Baustellen {de} zulässig sind; diese bringt eine Vollsperrung mit sich.")
    assert text["en"] == (f"During 20 Nov – 31 Dec 2027 the site would fall in the blackout “Messe”, when only works "
                          f"{en} are allowed; this one brings a full closure.")


def test_a_moratorium_names_the_days_the_site_would_dig_not_as_its_own_period() -> None:
    text = explain("moratorium", {"rule": {"name": "Neu asphaltiert", "reason": "Deckenerneuerung 2026"}},
                   None, None, None, date(2027, 4, 1), date(2027, 4, 10))
    assert text["de"] == ("Im Bereich „Neu asphaltiert“ gilt ein Aufbruchverbot (Deckenerneuerung 2026), in das die "
                          "Baustelle im Zeitraum 01.04.–10.04.2027 fiele; Aufgrabungen sind dort nur im Notfall "
                          "zulässig.")
    assert text["en"] == ("The area “Neu asphaltiert” is protected from excavation (Deckenerneuerung 2026), and the "
                          "site would dig there during 1 Apr – 10 Apr 2027; digging there is allowed only in an "
                          "emergency.")
