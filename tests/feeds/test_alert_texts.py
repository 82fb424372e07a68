"""GTFS-RT alert texts speak to the riders of the affected mode: trains and trams are stopped or restricted (with
the replacement buses where the request has replacement routes), buses are diverted; the road's closure and the
road's diversion are never told to train or tram passengers, the trains' replacement never to bus riders."""

from __future__ import annotations

from geoalchemy2.shape import from_shape
from google.transit import gtfs_realtime_pb2 as rt
from shapely.geometry import LineString

from service.conflicts.models import Corridor
from tests.feeds.validators import DATEX_NS, assert_datex_valid

# A DB bridge over Hachestraße, Essen: the S-Bahn runs east-west over it, a bus line north-south under it.
S_BAHN_LINE = [[7.0200, 51.4600], [7.0500, 51.4600]]
S_BAHN_STOPS = [{"id": "west", "lon": 7.0250, "lat": 51.4600}, {"id": "east", "lon": 7.0450, "lat": 51.4600}]
BUS_LINE = [[7.0350, 51.4640], [7.0350, 51.4560]]
BRIDGE = {"type": "LineString", "coordinates": [[7.0340, 51.4600], [7.0360, 51.4600]]}
STREET_DIVERSION = [{"type": "LineString", "coordinates": [[7.0370, 51.4640], [7.0370, 51.4560]]}]
REPLACEMENT_BUS = [{"type": "LineString", "coordinates": [[7.0250, 51.4590], [7.0450, 51.4590]]}]
# Rüttenscheider Straße (the default site of site_body): a tram line with a stop at the site, and a bus line.
TRAM_LINE = [[7.0000, 51.4405], [7.0013, 51.4368]]
RUETTENSCHEID_BUS = [[7.0003, 51.4400], [7.0010, 51.4375]]
STERN = {"id": "stern", "lon": 7.0006, "lat": 51.4390}

ROAD_WORDS = ("Vollsperrung", "Road closed", "Umleitung", "diversion")


def _corridor(db, name: str, kind: str, coords, routes, stops) -> None:  # noqa: ANN001
    db.add(Corridor(name=name, kind=kind, buffer_m=30.0, routes=routes, stops=stops,
                    geom=from_shape(LineString(coords), srid=4326)))
    db.flush()


def _descriptions(client) -> dict[str, tuple[int, dict[str, str]]]:  # noqa: ANN001
    """entity id → (effect, description by language), checking that German comes first, English second."""
    feed = rt.FeedMessage()
    feed.ParseFromString(client.get("/feeds/gtfs-rt/alerts.pb").content)
    out = {}
    for entity in feed.entity:
        for text in (entity.alert.header_text, entity.alert.description_text):
            assert [t.language for t in text.translation] == ["de", "en"]
        out[entity.id] = (entity.alert.effect, {t.language: t.text for t in entity.alert.description_text.translation})
    return out


def test_a_rail_bridge_tells_train_passengers_of_replacement_buses_and_bus_riders_of_the_diversion(
        client, make_site, city, db) -> None:  # noqa: ANN001
    _corridor(db, "S1 Essen–Bochum", "rail", S_BAHN_LINE, ["S1"], S_BAHN_STOPS)
    _corridor(db, "Bus 145 Hachestraße", "bus", BUS_LINE, ["145"], [])
    bridge = make_site(city, title="Erneuerung Eisenbahnbrücke Hachestraße (DB)", kind="bridge",
                       impact="full_closure", modes=["car", "cycle", "pedestrian", "rail"], geometry=BRIDGE,
                       diversions=STREET_DIVERSION, replacement_routes=REPLACEMENT_BUS)

    alerts = _descriptions(client)
    effect, train = alerts[f"{bridge.id}:no_service"]
    assert effect == rt.Alert.NO_SERVICE
    assert "Kein Zugverkehr im Baustellenbereich. Ersatzverkehr mit Bussen ist eingerichtet." in train["de"]
    assert "No trains run through the works area. Replacement buses are running." in train["en"]
    assert "Streckensperrung" in train["de"] and "Line closed" in train["en"]
    for word in ROAD_WORDS:
        assert word not in train["de"] and word not in train["en"], word

    effect, bus = alerts[f"{bridge.id}:detour"]
    assert effect == rt.Alert.DETOUR
    assert "Vollsperrung. Die Buslinie wird umgeleitet." in bus["de"]
    assert "Road closed. The bus route is diverted." in bus["en"]
    assert "Ersatzverkehr" not in bus["de"] and "eplacement" not in bus["en"]


def test_trams_are_stopped_not_diverted_and_replacement_is_named_only_where_there_is_one(
        client, make_site, city, db) -> None:  # noqa: ANN001
    _corridor(db, "Straßenbahn 107", "tram", TRAM_LINE, ["107"], [STERN])
    _corridor(db, "Bus 160", "bus", RUETTENSCHEID_BUS, ["160", "161"], [])
    # tram track works in the street with a road diversion (site_body has one), no replacement buses
    street = make_site(city, title="Gleiserneuerung Rüttenscheider Straße", kind="tram_track",
                       modes=["car", "cycle", "tram", "bus"])
    # the QA case: a track bed shared with buses, the buses diverted
    shared_bed = make_site(city, title="Gleiserneuerung ÖPNV-Trasse", kind="tram_track", modes=["tram", "bus"])

    alerts = _descriptions(client)
    for site in (street, shared_bed):
        effect, tram = alerts[f"{site.id}:no_service"]
        assert effect == rt.Alert.NO_SERVICE
        assert "Streckensperrung. Kein Straßenbahnverkehr im Baustellenbereich." in tram["de"]
        assert "Line closed. No trams run through the works area." in tram["en"]
        for word in (*ROAD_WORDS, "Ersatzverkehr", "eplacement"):
            assert word not in tram["de"] and word not in tram["en"], (site.title, word)
        effect, bus = alerts[f"{site.id}:detour"]
        assert effect == rt.Alert.DETOUR
        assert "Die Buslinien werden umgeleitet." in bus["de"] and "The bus routes are diverted." in bus["en"]
        assert "Ersatzverkehr" not in bus["de"] and "eplacement" not in bus["en"]


def test_reduced_service_is_worded_for_the_mode(client, make_site, city, db) -> None:  # noqa: ANN001
    _corridor(db, "Straßenbahn 107", "tram", TRAM_LINE, ["107"], [STERN])
    _corridor(db, "Bus 160", "bus", RUETTENSCHEID_BUS, ["160"], [])
    single_track = make_site(city, title="Weichentausch Stadtbahn", kind="tram_track", impact="one_way",
                             modes=["tram"], diversions=[])
    bus_lane = make_site(city, title="Kanal in der Busspur", impact="lane_reduction", modes=["bus"], diversions=[])
    # a lane closure with replacement buses for the trams: the replacement is no detour, for trams and buses alike
    replaced = make_site(city, title="Gleisbau mit SEV", kind="tram_track", impact="lane_reduction",
                         modes=["car", "tram", "bus"], diversions=[], replacement_routes=REPLACEMENT_BUS)

    alerts = _descriptions(client)
    effect, tram = alerts[f"{single_track.id}:reduced_service"]
    assert effect == rt.Alert.REDUCED_SERVICE
    assert "Eingleisiger Betrieb. Eingeschränkter Straßenbahnverkehr." in tram["de"]
    assert "Single-track operation. Reduced tram service." in tram["en"]
    effect, bus = alerts[f"{bus_lane.id}:reduced_service"]
    assert effect == rt.Alert.REDUCED_SERVICE
    assert "Busspur eingeschränkt. Eingeschränkter Busverkehr." in bus["de"]  # only the bus lane, not the road
    assert "Bus lane restricted. Reduced bus service." in bus["en"]
    effect, both = alerts[f"{replaced.id}:reduced_service"]
    assert effect == rt.Alert.REDUCED_SERVICE
    # no diversion: the buses are not said to be diverted; the replacement buses are the trams'
    assert ("Eingeschränkter Straßenbahnverkehr. Eingeschränkter Busverkehr. "
            "Ersatzverkehr mit Bussen ist eingerichtet.") in both["de"]
    assert "Reduced tram service. Reduced bus service. Replacement buses are running." in both["en"]
    assert "umgeleitet" not in both["de"] and "diverted" not in both["en"]


def test_a_scrubbed_description_is_a_sentence_of_its_own(client, make_site, city, db) -> None:  # noqa: ANN001
    _corridor(db, "Bus 160", "bus", RUETTENSCHEID_BUS, ["160"], [])
    site = make_site(city, description="Rückfragen: bau@firma.example oder 0201 1234567")

    _, texts = _descriptions(client)[f"{site.id}:detour"]
    assert "Rückfragen: […] oder […]. Herausgeber: " in texts["de"]
    doc = assert_datex_valid(client.get("/feeds/datex2/situations.xml").content)
    comments = doc.xpath(f"//sit:situationRecord[@id='{site.id}_works']/sit:generalPublicComment//com:value[@lang='de']"
                         "/text()", namespaces=DATEX_NS)
    assert comments and comments[0].endswith("Rückfragen: […] oder […].")
