#!/usr/bin/env bash
# Make sure PostgreSQL with PostGIS is reachable at BAUSTELLEN_DATABASE_URL and the database exists.
# Installs Debian's postgresql-<major>-postgis-3 when the extension is missing and we may (root + apt-get).
set -euo pipefail

URL="${BAUSTELLEN_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/baustellen}"
PGURL="${URL/postgresql+psycopg:/postgresql:}"
DBNAME="${PGURL##*/}"; DBNAME="${DBNAME%%\?*}"
ADMIN_URL="${PGURL%/*}/postgres"

fail() { echo "ERROR: $*" >&2; exit 1; }

command -v psql >/dev/null || fail "psql not found. Install PostgreSQL (Debian: apt-get install postgresql postgresql-15-postgis-3) or set BAUSTELLEN_DATABASE_URL to a reachable PostGIS server."

if ! psql "$ADMIN_URL" -tAc 'select 1' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1; then
    echo "PostgreSQL is not answering; starting the local cluster ..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    sleep 2
  fi
  psql "$ADMIN_URL" -tAc 'select 1' >/dev/null 2>&1 || fail "cannot connect to PostgreSQL at ${ADMIN_URL}. Start PostgreSQL or set BAUSTELLEN_DATABASE_URL=postgresql+psycopg://USER@HOST:PORT/DB."
fi

if [ "$(psql "$ADMIN_URL" -tAc "select count(*) from pg_available_extensions where name = 'postgis'")" != 1 ]; then
  major="$(psql "$ADMIN_URL" -tAc 'show server_version_num' | cut -c1-2)"
  pkg="postgresql-${major}-postgis-3"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "PostGIS is missing; installing ${pkg} ..."
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg"; } >/tmp/baustellen-apt.log 2>&1 \
      || fail "installing ${pkg} failed (see /tmp/baustellen-apt.log). Install it by hand: apt-get install ${pkg}"
  else
    fail "the PostGIS extension is not installed on the PostgreSQL server at ${ADMIN_URL}. Install it (Debian: sudo apt-get install ${pkg}) or point BAUSTELLEN_DATABASE_URL at a server with PostGIS (docker compose up db)."
  fi
fi

if [ "${1:-}" != "--no-create" ]; then
  if [ "$(psql "$ADMIN_URL" -tAc "select count(*) from pg_database where datname = '${DBNAME}'")" != 1 ]; then
    psql "$ADMIN_URL" -qc "create database \"${DBNAME}\"" || fail "cannot create database ${DBNAME}"
  fi
  psql "${PGURL}" -qc 'create extension if not exists postgis' || fail "cannot enable PostGIS in ${DBNAME} (needs a superuser once)."
fi
echo "PostGIS ready at ${PGURL%%@*}@…/${DBNAME}"
