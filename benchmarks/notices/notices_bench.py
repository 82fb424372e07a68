"""Notices benchmark: matching one site change against 100,000 subscriptions (goal p95 < 200 ms) and
delivering 10,000 emails to a local aiosmtpd server (goal < 60 s), with the worker's throughput."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import text

from benchmarks.common import bench_database, percentiles, write_result
from service.auth import service as auth
from service.kit.db import make_engine, make_sessionmaker, session_scope
from service.notices import jobs, repository
from service.requests import service as requests
from service.requests.schemas import RequestWrite

SUBSCRIPTIONS = 100_000
EMAILS = 10_000
MATCH_GOAL_MS = 200.0
DELIVERY_GOAL_S = 60.0
console = Console()

SITE = {
    "title": "Kanalerneuerung Rüttenscheider Straße", "description": "Benchmark", "kind": "sewer",
    "impact": "full_closure", "modes": ["car", "cycle"],
    "geometry": {"type": "LineString", "coordinates": [[7.0001, 51.4402], [7.0012, 51.4371]]},
    "diversions": [{"type": "LineString", "coordinates": [[7.0030, 51.4405], [7.0041, 51.4368]]}],
    "earliest_start": "2027-03-01", "latest_end": "2027-09-30", "duration_days": 60,
    "contact": {"name": "Bauleitung", "phone": "+49 201 000000"},
}

# 100,000 subscriptions over the Ruhr (circles of 100 m to 3 km, every 10th with a kind filter, every 7th
# with a minimum impact, every 5th a street subscription over a city outline), 2 % of them around the site.
INSERT_SUBS = """
INSERT INTO subscriptions (id, email, token, status, confirmed_at, area_kind, area_input, area, street_norm,
                           kinds, min_impact_rank, modes, lead_days, delivery, language)
SELECT gen_random_uuid(), 'shop' || i || '@example.de', 'sub_bench_' || i, 'active', now(), 'circle', '{}',
       ST_Multi(ST_Transform(ST_Buffer(ST_Transform(ST_SetSRID(ST_MakePoint(
           CASE WHEN i % 50 = 0 THEN 7.0006 + (random() - 0.5) * 0.02 ELSE 6.6 + random() * 1.1 END,
           CASE WHEN i % 50 = 0 THEN 51.439 + (random() - 0.5) * 0.02 ELSE 51.3 + random() * 0.35 END),
           4326), 25832), 100 + random() * 2900, 8), 4326)),
       CASE WHEN i % 5 = 0 THEN 'rüttenscheiderstr' END,
       CASE WHEN i % 10 = 0 THEN ARRAY['gas', 'water']::varchar[] ELSE '{}'::varchar[] END,
       CASE WHEN i % 7 = 0 THEN 3 ELSE 0 END, '{}'::varchar[], 14, 'immediate', 'de'
FROM generate_series(1, :n) AS i
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The mail server runs in its own process (as a real one would); it prints how many messages it accepted
# when it is stopped.
SMTP_SERVER = """
import signal, sys, threading
from aiosmtpd.controller import Controller
class Count:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Count.n += 1
        return "250 OK"
c = Controller(Count(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
done.wait()
c.stop()
print(Count.n, flush=True)
"""


def _start_smtp(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SMTP_SERVER, str(port)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _stop_smtp(proc: subprocess.Popen) -> int:
    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    return int(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--subscriptions", type=int, default=SUBSCRIPTIONS)
    parser.add_argument("--emails", type=int, default=EMAILS)
    args = parser.parse_args(argv)
    with bench_database("notices") as base:
        port = _free_port()
        settings = base.model_copy(update={"smtp_port": port, "public_url": "https://baustellen.example"})
        engine = make_engine(settings)
        factory = make_sessionmaker(engine)
        with session_scope(factory) as s:
            org = auth.create_organisation(s, name="Stadt Essen", kind="city")
            key, _ = auth.create_key(s, org_id=org.id, role="submitter")
            principal = auth.Principal(org_id=org.id, org_name=org.name, org_kind="city", role="submitter",
                                       key_id=key.id)
            site, _ = requests.create(s, principal, RequestWrite.model_validate(SITE), settings)
            site_id = site.id
        started = time.perf_counter()
        with session_scope(factory) as s:
            s.execute(text(INSERT_SUBS), {"n": args.subscriptions})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE subscriptions"))
        console.print(f"{args.subscriptions} subscriptions stored in {time.perf_counter() - started:.1f} s")

        samples, matched = [], 0
        with session_scope(factory) as s:
            for _ in range(60):
                t = time.perf_counter()
                matched = len(repository.match_subscriptions(s, site_id))
                samples.append(time.perf_counter() - t)
            plan = "\n".join(r[0] for r in s.execute(text(
                "EXPLAIN SELECT s.id FROM site_requests r JOIN subscriptions s ON " + repository.MATCH_SQL
                + " WHERE r.id = :rid AND s.status = 'active'"), {"rid": site_id}))
        match = percentiles(samples[10:])
        uses_index = "idx_subscriptions_area_utm" in plan

        # The whole outbox step for that change: match and queue one notice per matching inbox.
        with session_scope(factory) as s:
            t = time.perf_counter()
            queued = jobs.process_events(s, settings)
            process_s = time.perf_counter() - t

        # 10,000 emails: notices for the first subscriptions, delivered by the worker's batch function.
        with session_scope(factory) as s:
            s.execute(text("DELETE FROM notice_deliveries"))
            s.execute(text("""
                WITH picked AS (SELECT id, email FROM subscriptions ORDER BY token LIMIT :n),
                notice AS (
                    INSERT INTO notices (id, subscription_id, kind, dedupe_key, request_id, payload, digest_pending)
                    SELECT gen_random_uuid(), p.id, 'request.created', 'bench', :rid,
                           (SELECT payload FROM notices LIMIT 1), false FROM picked p
                    ON CONFLICT DO NOTHING RETURNING id, subscription_id)
                INSERT INTO notice_deliveries (id, notice_id, channel, inbox, dedupe_key, status, attempts)
                SELECT gen_random_uuid(), n.id, 'email', p.email, 'bench', 'pending', 0
                FROM notice n JOIN picked p ON p.id = n.subscription_id
            """), {"n": args.emails, "rid": site_id})
        smtp = _start_smtp(port)
        received = 0
        try:
            delivered, t = 0, time.perf_counter()
            with Progress(TextColumn("deliver"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console) as bar:
                task = bar.add_task("deliver", total=args.emails)
                while True:
                    stats = jobs.deliver_batch(factory, settings, limit=500, chunk=100)
                    delivered += stats.delivered
                    bar.update(task, completed=delivered)
                    if not stats.claimed:
                        break
            deliver_s = time.perf_counter() - t
        finally:
            received = _stop_smtp(smtp)
        engine.dispose()

    result = {
        "subscriptions": args.subscriptions, "match": {**match, "matched": matched, "uses_gist_index": uses_index,
                                                       "goal_p95_ms": MATCH_GOAL_MS},
        "process_event": {"seconds": round(process_s, 3), "notices_queued": queued},
        "delivery": {"emails": delivered, "received": received, "seconds": round(deliver_s, 2),
                     "per_second": round(delivered / deliver_s, 1), "goal_s": DELIVERY_GOAL_S,
                     "chunk": 100, "smtp_connection": "one per deliver_batch call (500 messages)"},
    }
    write_result("notices", result)
    table = Table(title="notices")
    for col in ("measure", "value", "goal"):
        table.add_column(col)
    table.add_row(f"match 1 change vs {args.subscriptions} subs (p50/p95)",
                  f"{match['p50_ms']} / {match['p95_ms']} ms ({matched} matched, GiST: {uses_index})",
                  f"p95 < {MATCH_GOAL_MS:g} ms")
    table.add_row("outbox step for that change", f"{process_s * 1000:.0f} ms, {queued} notices", "")
    table.add_row(f"deliver {args.emails} emails", f"{deliver_s:.1f} s ({delivered / deliver_s:.0f}/s)",
                  f"< {DELIVERY_GOAL_S:g} s")
    console.print(table)
    ok = (match["p95_ms"] < MATCH_GOAL_MS and deliver_s < DELIVERY_GOAL_S and received >= args.emails
          and delivered == args.emails)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
