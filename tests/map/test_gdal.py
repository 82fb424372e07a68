"""GDAL's OAPIF driver (Debian gdal-bin) reads every collection of a real server."""

from __future__ import annotations

import re
import subprocess

from service.map.service import COLLECTIONS


def _ogrinfo(*args: str) -> str:
    done = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120,
                          env={"GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "OFF", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_ogrinfo_reads_every_collection(live_server, ruhr) -> None:  # noqa: ANN001
    listing = _ogrinfo(f"OAPIF:{live_server}/ogc")
    for cid in COLLECTIONS:
        assert re.search(rf"^\d+: {cid}\b", listing, re.M), listing
    for cid in COLLECTIONS:
        out = _ogrinfo("-al", "-so", f"OAPIF:{live_server}/ogc", cid)
        assert f"Layer name: {cid}" in out, out
        count = int(re.search(r"Feature Count: (\d+)", out).group(1))
        expected = {"sites": len(ruhr.ids), "conflicts": 1, "zones": 1}.get(cid)
        if expected is not None:
            assert count == expected, out
    sites = _ogrinfo("-al", "-so", f"OAPIF:{live_server}/ogc", "sites")
    for prop in ("title", "status", "impact", "owner", "start", "end"):
        assert re.search(rf"^{prop}: ", sites, re.M), sites
    # every feature readable through paging (limit smaller than the collection)
    full = _ogrinfo("-al", "-q", "-oo", "PAGE_SIZE=10", f"OAPIF:{live_server}/ogc", "sites")
    assert full.count("OGRFeature(sites)") == len(ruhr.ids)
