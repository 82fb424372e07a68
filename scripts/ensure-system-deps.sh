#!/usr/bin/env bash
# Debian packages the test suite needs besides PostGIS. Each domain adds what it needs to PACKAGES.
set -euo pipefail
PACKAGES=(chromium gdal-bin)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} ..."
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/tmp/baustellen-apt.log 2>&1 \
    || { echo "ERROR: installing ${missing[*]} failed (see /tmp/baustellen-apt.log)" >&2; exit 1; }
else
  echo "ERROR: missing Debian packages: ${missing[*]}. Install them: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
