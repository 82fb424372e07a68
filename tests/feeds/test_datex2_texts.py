"""DATEX II's public comment: German dates in the German text, ISO dates in the English one."""

from __future__ import annotations

from datetime import date

from tests.feeds.validators import assert_datex_valid

NS = {"sit": "http://datex2.eu/schema/3/situation", "com": "http://datex2.eu/schema/3/common"}


def test_the_public_comment_writes_dates_as_each_language_does(client, make_site, city) -> None:  # noqa: ANN001
    site = make_site(city, slot=(date(2027, 4, 1), date(2027, 5, 30)))
    response = client.get("/feeds/datex2/situations.xml")
    assert response.status_code == 200
    doc = assert_datex_valid(response.content)
    [works] = doc.xpath(f"//sit:situation[@id='{site.id}']/sit:situationRecord[@id='{site.id}_works']",
                        namespaces=NS)
    values = works.findall("sit:generalPublicComment/sit:comment/com:values/com:value", NS)
    texts = {v.get("lang"): v.text for v in values}
    assert "01.04.2027 – 30.05.2027" in texts["de"]
    assert "2027-04-01 – 2027-05-30" in texts["en"] and "01.04.2027" not in texts["en"]
