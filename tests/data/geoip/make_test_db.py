#!/usr/bin/env python3
"""Writes city-asn-test.mmdb, the small MaxMind DB the geolocation tests read, with a
writer Warden does not share code with (PyPI: mmdb-writer, netaddr).

    pip install mmdb-writer && python3 tests/data/geoip/make_test_db.py
"""

import os

from mmdb_writer import MMDBWriter
from netaddr import IPSet

HERE = os.path.dirname(os.path.abspath(__file__))

PLACES = [
    # network, city, country code, country, latitude, longitude, ASN, AS organisation
    ("81.2.69.0/24", "London", "GB", "United Kingdom", 51.5142, -0.0931, 20712, "Andrews & Arnold Ltd"),
    ("1.1.1.0/24", "Sydney", "AU", "Australia", -33.8688, 151.209, 13335, "Cloudflare, Inc."),
    ("41.58.0.0/16", "Lagos", "NG", "Nigeria", 6.4273, 3.4211, None, None),
    ("8.8.8.0/24", None, "US", "United States", 37.751, -97.822, 15169, "Google LLC"),
]

w = MMDBWriter(ip_version=4, database_type="Warden-Test-City-ASN", languages=["en"],
               description="Warden's geolocation test database")
for net, city, cc, country, lat, lon, asn, org in PLACES:
    record = {
        "country": {"iso_code": cc, "names": {"en": country}},
        "location": {"latitude": lat, "longitude": lon},
    }
    if city:
        record["city"] = {"names": {"en": city}}
    if asn:
        record["autonomous_system_number"] = asn
        record["autonomous_system_organization"] = org
    w.insert_network(IPSet([net]), record)
w.to_db_file(os.path.join(HERE, "city-asn-test.mmdb"))
