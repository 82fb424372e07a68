"""Free text is published without the names of private persons (GDPR): a name after a salutation or a contact
label becomes "[…]", as e-mail addresses and telephone numbers do; streets, organisations and ordinary words stay."""

from __future__ import annotations

import json

import pytest
from geoalchemy2.shape import from_shape
from google.transit import gtfs_realtime_pb2 as rt
from shapely.geometry import LineString

from service.conflicts.models import Corridor
from service.feeds.common import road_names, scrub
from tests.feeds.validators import assert_datex_valid, wzdx_errors


@pytest.mark.parametrize(
    ("text", "published"),
    [
        # German salutations and contact labels
        ("Ansprechpartner: Herr Müller", "Ansprechpartner: […]"),
        ("Bauleitung Frau Dr. Anna Schmidt-Weber, Tel. 0201 1234567", "Bauleitung […], Tel. […]"),
        ("Kontakt: M. Yılmaz", "Kontakt: […]"),
        ("Rückfragen an Hr. Krause", "Rückfragen an […]"),
        ("Polier: Jens Becker", "Polier: […]"),
        ("Der Polier Becker ist täglich vor Ort.", "Der Polier […] ist täglich vor Ort."),
        ("Ansprechpartnerin vor Ort: Frau von der Heyden (Stadtwerke Essen)",
         "Ansprechpartnerin vor Ort: […] (Stadtwerke Essen)"),
        ("Bauleiter ist Herr Döring, erreichbar Mo.–Fr. 7–16 Uhr.", "Bauleiter ist […], erreichbar Mo.–Fr. 7–16 Uhr."),
        ("Rückfragen: Jens Becker, jens.becker@firma.example", "Rückfragen: […], […]"),
        ("Projektleiterin: Frau Prof. Dr. Ingrid Lange, Emschergenossenschaft",
         "Projektleiterin: […], Emschergenossenschaft"),
        ("Bei Fragen wenden Sie sich bitte an Frau Özdemir.", "Bei Fragen wenden Sie sich bitte an […]."),
        ("Kontakt: H.-J. Kowalski", "Kontakt: […]"),
        ("Ansprechpartner/in: Herr Müller 0171 2345678", "Ansprechpartner/in: […]"),
        ("Bauleiter Tiefbau: Herrn Dipl.-Ing. Paulsen anrufen", "Bauleiter Tiefbau: […] anrufen"),
        ("Zuständig: Frau Hering", "Zuständig: […]"),
        ("Mit freundlichen Grüßen, i. A. Thomas Weber", "Mit freundlichen Grüßen, i. A. […]"),
        ("Herr Krause vom Tiefbauamt koordiniert die Arbeiten.", "[…] vom Tiefbauamt koordiniert die Arbeiten."),
        # a name before its role
        ("Jens Becker, Bauleiter, Tel. 0201 123456", "[…], Bauleiter, Tel. […]"),
        ("Kanalbau Rüttenscheider Straße. M. Yılmaz (Polier)", "Kanalbau Rüttenscheider Straße. […] (Polier)"),
        ("Die Arbeiten leitet Anna Lange – Projektleitung Emschergenossenschaft.",
         "Die Arbeiten leitet […] – Projektleitung Emschergenossenschaft."),
        ("Sarah O'Connor (site manager) is on site daily.", "[…] (site manager) is on site daily."),
        # English
        ("Site manager: Sarah O'Connor, phone +44 20 7946 0958", "Site manager: […], phone […]"),
        ("Contact: Dr. Priya Patel", "Contact: […]"),
        ("Enquiries to Mr. John Smith.", "Enquiries to […]."),
        ("Foreman: Łukasz Nowak", "Foreman: […]"),
        ("Mrs Jones (site foreman) is on site daily.", "[…] (site foreman) is on site daily."),
        ("Please contact Ms Chen for access to driveways.", "Please contact […] for access to driveways."),
        # street names, organisations and ordinary words stay
        ("Kanalerneuerung Frau-Bertha-Krupp-Straße", "Kanalerneuerung Frau-Bertha-Krupp-Straße"),
        ("Fahrbahnsanierung Herrenstraße", "Fahrbahnsanierung Herrenstraße"),
        ("Deckenerneuerung Dr.-Hammacher-Straße (Hafenzufahrt Ruhrort)",
         "Deckenerneuerung Dr.-Hammacher-Straße (Hafenzufahrt Ruhrort)"),
        ("Gasleitung Am Herrenhaus", "Gasleitung Am Herrenhaus"),
        ("Kontakt: Stadtwerke Essen AG", "Kontakt: Stadtwerke Essen AG"),
        ("Kontakt: Ruhrbahn Kundencenter, Tel. 0201 826 1234", "Kontakt: Ruhrbahn Kundencenter, Tel. […]"),
        ("Bauleitung: Tiefbauamt Essen", "Bauleitung: Tiefbauamt Essen"),
        ("Kontakt: Becker Tiefbau GmbH", "Kontakt: Becker Tiefbau GmbH"),  # a firm's trade name
        ("Kontakt: DB Netz AG", "Kontakt: DB Netz AG"),
        ("Kontakt: Alfredstraße 12", "Kontakt: Alfredstraße 12"),
        ("Vollsperrung Mo.–Fr. Nachtarbeit", "Vollsperrung Mo.–Fr. Nachtarbeit"),  # Friday, not "Frau"
        ("Sperrung Mo., Mi. und Fr. Vormittag", "Sperrung Mo., Mi. und Fr. Vormittag"),
        ("Kontakt zur Bauleitung über das Bürgertelefon", "Kontakt zur Bauleitung über das Bürgertelefon"),
        ("Die Bauleitung Essen informiert die Anwohner.", "Die Bauleitung Essen informiert die Anwohner."),
        ("Der Bauherr Stadt Essen ist Herr des Verfahrens.", "Der Bauherr Stadt Essen ist Herr des Verfahrens."),
        ("Zuständige Stellen werden informiert.", "Zuständige Stellen werden informiert."),
        ("Kontaktdaten siehe Aushang an der Baustelle.", "Kontaktdaten siehe Aushang an der Baustelle."),
        ("Please contact the site office.", "Please contact the site office."),
        # places, streets and organisations before a role stay
        ("Arbeiten in Essen Kray, Bauleitung vor Ort", "Arbeiten in Essen Kray, Bauleitung vor Ort"),
        ("Rüttenscheider Straße, Bauleiter vor Ort", "Rüttenscheider Straße, Bauleiter vor Ort"),
        ("Stadtwerke Essen AG, Bauleitung", "Stadtwerke Essen AG, Bauleitung"),
        ("Kontakt Hauptbahnhof, Bauleitung", "Kontakt Hauptbahnhof, Bauleitung"),
        ("Gelsenkirchen Buer, Bauleiter Jens Becker", "Gelsenkirchen Buer, Bauleiter […]"),
        ("Contact Ruhrbahn customer service for replacement buses.",
         "Contact Ruhrbahn customer service for replacement buses."),
    ],
)
def test_names_after_salutations_and_contact_labels_are_removed_streets_and_organisations_stay(
        text: str, published: str) -> None:
    assert scrub(text) == published


def test_street_names_survive_for_the_feeds_road_names() -> None:
    title = scrub("Kanal Frau-Bertha-Krupp-Straße / Dr.-Hammacher-Straße, Bauleitung: Herr Krause")
    assert road_names(title) == ["Frau-Bertha-Krupp-Straße", "Dr.-Hammacher-Straße"]
    assert "Krause" not in title


# Rüttenscheider Straße, Essen (the default site of site_body): a bus line along it.
RUETTENSCHEID_BUS = [[7.0003, 51.4400], [7.0010, 51.4375]]
PEOPLE = ("Schmidt-Weber", "Anna", "Yılmaz", "Krause", "Jens", "Becker")


def test_no_feed_names_the_persons_a_site_description_names(client, make_site, city, db) -> None:  # noqa: ANN001
    db.add(Corridor(name="Bus 160", kind="bus", buffer_m=30.0, routes=["160"], stops=[],
                    geom=from_shape(LineString(RUETTENSCHEID_BUS), srid=4326)))
    db.flush()
    site = make_site(
        city, title="Kanalerneuerung Rüttenscheider Straße – Polier: Jens Becker",
        description="Bauleitung Frau Dr. Anna Schmidt-Weber, Tel. 0201 1234567. Kontakt: M. Yılmaz. "
                    "Rückfragen an Hr. Krause. Kontakt: Stadtwerke Essen AG.")

    datex = client.get("/feeds/datex2/situations.xml")
    wzdx = client.get("/feeds/wzdx.geojson")
    gtfs = client.get("/feeds/gtfs-rt/alerts.pb", params={"format": "json"})
    pb = client.get("/feeds/gtfs-rt/alerts.pb")
    for response in (datex, wzdx, gtfs, pb):
        assert response.status_code == 200
        for name in PEOPLE:
            assert name.encode() not in response.content, (response.url, name)
    assert_datex_valid(datex.content)
    doc = wzdx.json()
    assert wzdx_errors(doc) == []
    [feature] = [f for f in doc["features"] if f["id"] == str(site.id)]
    core = feature["properties"]["core_details"]
    assert core["name"] == "Kanalerneuerung Rüttenscheider Straße – Polier: […]"
    assert core["description"] == ("Bauleitung […], Tel. […]. Kontakt: […]. Rückfragen an […]. "
                                   "Kontakt: Stadtwerke Essen AG.")
    assert core["road_names"] == ["Rüttenscheider Straße"]
    feed = rt.FeedMessage()
    feed.ParseFromString(pb.content)
    [alert] = [e.alert for e in feed.entity if e.id.startswith(str(site.id))]
    assert "Kontakt: Stadtwerke Essen AG." in {t.language: t.text for t in alert.description_text.translation}["de"]
    assert json.loads(gtfs.content)["entity"]
