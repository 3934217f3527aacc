#!/usr/bin/env python3
"""Draws a new company's user activity, with attacks of a chosen strength, for judging
behavioural detection on data it was not tuned on.

Every seed is another company: its offices (3-6 cities of a pool of 20), its functions and
the resources each uses, its size, its share of night and evening shifts, every user's
devices, hours, volumes and habits. Days 1-30 are ordinary behaviour only; on days 31-42
attacks and hard negatives (legitimate but unusual behaviour) are planted, one scenario =
one user on one day, each event labelled as the shared UEBA set is (`normal`,
`attack:<kind>`, `benign:<kind>`), so `warden detect --labels` scores it directly.

--strength (0-1) sets how far each attack strays from the user's normal behaviour:

  kind                  strength 0 (subtle)                 strength 1 (blatant)
  impossible_travel     1,500 km/h between two cities       15,000 km/h
  unusual_time          2.5 h outside the user's hours      the middle of the user's night
  unusual_volume        3x the user's usual daily volume    40x
  unusual_resources     1 resource of another function      4, and one nobody uses
  account_takeover      new device in a domestic city,      new device abroad, a script
                        a browser, 2 sensitive downloads    client, 6 sensitive downloads
  credential_stuffing   4 failed logins, then a success     40

Only the events that make the scenario are labelled: the odd session of unusual_time, the
extra downloads of unusual_volume, the other functions' resources of unusual_resources (the
rest of those users' day is normal work, labelled normal). Warden's evaluator counts a
scenario per label, user and UTC day.

Hard negatives do not depend on the strength: a flight to another office at airliner
speed, a late night before a deadline, a new laptop, a change of role (another function's
resources from that day on), a big upload of work.

--cross-team P adds ordinary cross-team work to normal days: on a share P of them the user
opens one resource of another function once, labelled normal (what a first access to another
team's tool costs in false positives; off by default, and drawn apart, so the company is
otherwise the same).

Writes events.jsonl.gz, labels.jsonl.gz and meta.json to --out. Standard library only;
the same arguments give the same files.

Usage: bench/ueba_companies.py --out DIR [--seed N] [--strength S] [--users N] [--cross-team P]
"""
import argparse
import gzip
import json
import math
import os
import random
from datetime import datetime, timedelta, timezone

DAYS = 42
BASELINE_DAYS = 30
START = datetime(2026, 6, 1, tzinfo=timezone.utc)

# city -> (country, latitude, longitude, UTC offset in hours)
CITIES = {
    "Amsterdam": ("NL", 52.37, 4.90, 2), "Madrid": ("ES", 40.42, -3.70, 2),
    "Warsaw": ("PL", 52.23, 21.01, 2), "Stockholm": ("SE", 59.33, 18.07, 2),
    "Dublin": ("IE", 53.35, -6.26, 1), "Lisbon": ("PT", 38.72, -9.14, 1),
    "Chicago": ("US", 41.88, -87.63, -5), "Denver": ("US", 39.74, -104.99, -6),
    "Seattle": ("US", 47.61, -122.33, -7), "Boston": ("US", 42.36, -71.06, -4),
    "Mexico City": ("MX", 19.43, -99.13, -6), "Bogota": ("CO", 4.71, -74.07, -5),
    "Tokyo": ("JP", 35.68, 139.69, 9), "Seoul": ("KR", 37.57, 126.98, 9),
    "Mumbai": ("IN", 19.08, 72.88, 5.5), "Dubai": ("AE", 25.20, 55.27, 4),
    "Johannesburg": ("ZA", -26.20, 28.05, 2), "Melbourne": ("AU", -37.81, 144.96, 10),
    "Auckland": ("NZ", -36.85, 174.76, 12), "Montreal": ("CA", 45.50, -73.57, -4),
}
# Cities the company has nobody in: where attackers come from.
ABROAD = {
    "Minsk": ("BY", 53.90, 27.57, 3), "Tehran": ("IR", 35.69, 51.39, 3.5),
    "Pyongyang": ("KP", 39.04, 125.76, 9), "Caracas": ("VE", 10.48, -66.90, -4),
    "Lagos": ("NG", 6.52, 3.38, 1), "Hanoi": ("VN", 21.03, 105.85, 7),
    "Novosibirsk": ("RU", 55.01, 82.93, 7), "Tashkent": ("UZ", 41.30, 69.24, 5),
}
FUNCTIONS = {
    "engineering": ["repo", "build", "tracker", "staging", "registry", "observability", "feature-flags"],
    "sales": ["crm", "quotes", "contracts", "leads", "forecast"],
    "finance": ["ledger", "payroll", "treasury", "invoices", "tax-portal"],
    "people": ["hr-records", "hiring", "benefits", "reviews"],
    "it": ["directory", "mdm", "firewall-mgmt", "backups", "prod-cluster", "secrets"],
    "support": ["helpdesk", "knowledge", "status-page", "crm"],
    "legal": ["contracts", "case-files", "e-signature"],
    "marketing": ["cms", "analytics", "ad-accounts", "assets"],
}
SHARED = ["mail", "calendar", "chat", "intranet", "docs"]
NOBODY = ["db-export", "customer-archive", "key-escrow"]  # no function uses these
LAPTOPS = ["Latitude 7440", "MacBook Pro", "ThinkPad T14", "Surface Laptop", "EliteBook 840"]
PHONES = ["iPhone 15", "Pixel 8", "Galaxy S24"]
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0 Safari/537.36",
]
MOBILE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
SCRIPT_UAS = ["python-requests/2.32.3", "Go-http-client/1.1", "curl/8.8.0"]
ATTACKS = ["impossible_travel", "unusual_time", "unusual_volume", "unusual_resources",
           "account_takeover", "credential_stuffing"]
HARD_NEGATIVES = ["legit_travel", "late_night_deadline", "new_device_enrolled", "role_change",
                  "big_legit_upload"]


def lerp(a, b, s):
    return a + (b - a) * s


def distance_km(a, b):
    (lat1, lon1), (lat2, lon2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


def city_info(name):
    return CITIES.get(name) or ABROAD[name]


class Company:
    def __init__(self, rng, users):
        self.rng = rng
        self.offices = rng.sample(sorted(CITIES), rng.randint(3, 6))
        self.nets = {c: "%d.%d.%d" % (rng.randint(11, 223), rng.randint(0, 255), rng.randint(0, 255))
                     for c in self.offices}
        functions = rng.sample(sorted(FUNCTIONS), rng.randint(4, 7))
        self.roles = {}
        for f in functions:
            pool = FUNCTIONS[f]
            self.roles[f] = sorted(rng.sample(pool, rng.randint(min(3, len(pool)), len(pool))))
        self.shared = sorted(rng.sample(SHARED, rng.randint(2, 4)))
        weights = [rng.uniform(0.5, 3.0) for _ in functions]
        night_share = rng.uniform(0.03, 0.15)
        self.users = [self.new_user(i, rng.choices(functions, weights)[0], night_share)
                      for i in range(users)]

    def new_user(self, i, role, night_share):
        rng = self.rng
        shift = "night" if rng.random() < night_share else "day"
        start = rng.gauss(22.0 if shift == "night" else rng.uniform(7.0, 10.0), 0.3) % 24
        devices = [self.device("laptop")]
        if rng.random() < 0.6:
            devices.append(self.device("phone"))
        resources = sorted(set(self.roles[role] + self.shared))
        return {
            "id": "c%05d" % i, "role": role, "office": rng.choice(self.offices), "shift": shift,
            "start": start, "hours": rng.uniform(7.5, 9.5), "devices": devices,
            "resources": resources, "res_weights": [rng.uniform(0.3, 3.0) for _ in resources],
            "vol_mu": math.log(rng.uniform(0.01, 0.08)), "vol_sigma": rng.uniform(0.5, 1.0),
            "home_ip": "%d.%d.%d.%d" % (rng.randint(11, 223), rng.randint(0, 255),
                                        rng.randint(0, 255), rng.randint(2, 254)),
            "actions": rng.uniform(6, 20), "remote": rng.uniform(0.05, 0.4),
        }

    def device(self, kind):
        rng = self.rng
        if kind == "phone":
            return {"fp": "%032x" % rng.getrandbits(128), "name": rng.choice(PHONES), "ua": MOBILE_UA}
        return {"fp": "%032x" % rng.getrandbits(128), "name": rng.choice(LAPTOPS),
                "ua": rng.choice(BROWSERS)}


class Writer:
    """Collects events with their labels; sorted by time when written."""

    def __init__(self, rng):
        self.rng = rng
        self.rows = []

    def add(self, user, when, activity, resource, device, city, ip, gb, ok=True,
            label="normal", scenario=""):
        rng = self.rng
        _, lat, lon, _ = city_info(city)
        if activity in ("download", "upload"):
            seconds = max(1, int(gb * 1024 / rng.uniform(10, 80)))
        else:
            seconds = {"login": rng.randint(1, 4), "logout": rng.randint(0, 2),
                       "api_call": rng.randint(0, 3)}.get(activity, rng.randint(5, 600))
        self.rows.append((when, {
            "user_id": user["id"], "activity_type": activity,
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "location": "%s, %s" % (city, city_info(city)[0]),
            "latitude": round(lat + rng.gauss(0, 0.02), 4),
            "longitude": round(lon + rng.gauss(0, 0.02), 4),
            "device_fingerprint": device["fp"], "device_name": device["name"],
            "ip_address": ip, "resource_accessed": resource,
            "data_transferred_gb": round(gb, 6), "duration_seconds": seconds,
            "success": ok, "user_agent": device["ua"],
        }, label, scenario))

    def write(self, out):
        self.rows.sort(key=lambda r: r[0])
        with gzip.open(os.path.join(out, "events.jsonl.gz"), "wt") as ev, \
                gzip.open(os.path.join(out, "labels.jsonl.gz"), "wt") as lab:
            for n, (_, e, label, scenario) in enumerate(self.rows):
                e = {"event_id": "g%08d" % n, **e}
                ev.write(json.dumps(e, separators=(",", ":")) + "\n")
                lab.write(json.dumps({"event_id": e["event_id"], "user_id": e["user_id"],
                                      "label": label, "scenario": scenario}) + "\n")
        return len(self.rows)


def local_to_utc(day, city, hour):
    return START + timedelta(days=day - 1, hours=hour - city_info(city)[3])


def volume(rng, user, activity, scale=1.0):
    if activity in ("login", "logout"):
        return rng.uniform(0.0002, 0.001)
    shift = {"api_call": -2.0, "file_access": -0.8}.get(activity, 0.0)
    return min(2.0, rng.lognormvariate(user["vol_mu"] + shift, user["vol_sigma"])) * scale


def usual_ip(rng, company, user, city, remote):
    if remote:
        return user["home_ip"]
    return "%s.%d" % (company.nets.get(city, "10.0.0"), rng.randint(2, 254))


def session(company, w, user, day, city=None, start=None, hours=None, device=None,
            label="normal", scenario="", resources=None, extra=(), extra_label=None):
    """A working session: a login, the user's usual actions over their hours, a logout.
    `extra` are (hour offset, activity, resource, gb) planted inside it, labelled
    `extra_label` (the session's own label without one)."""
    rng = company.rng
    city = city or user["office"]
    start = user["start"] + rng.gauss(0, 0.4) if start is None else start
    hours = user["hours"] + rng.gauss(0, 0.5) if hours is None else hours
    device = device or user["devices"][0]
    remote = rng.random() < user["remote"]
    ip = usual_ip(rng, company, user, city, remote)
    when = local_to_utc(day, city, start)
    w.add(user, when, "login", rng.choice(company.shared), device, city, ip,
          volume(rng, user, "login"), label=label, scenario=scenario)
    if rng.random() < 0.01:  # a mistyped password now and then
        w.add(user, when - timedelta(seconds=20), "login", "sso", device, city, ip, 0.0,
              ok=False, label=label, scenario=scenario)
    pool = resources or user["resources"]
    weights = None if resources else user["res_weights"]
    n = max(1, int(rng.gauss(user["actions"], 2)))
    for _ in range(n):
        t = when + timedelta(hours=rng.uniform(0.05, max(0.1, hours)))
        act = rng.choices(["file_access", "download", "upload", "api_call"], (40, 18, 8, 34))[0]
        res = rng.choices(pool, weights)[0]
        w.add(user, t, act, res, device, city, ip, volume(rng, user, act),
              label=label, scenario=scenario)
    for off, act, res, gb in extra:
        w.add(user, when + timedelta(hours=off), act, res, device, city, ip, gb,
              label=extra_label or label, scenario=scenario)
    if rng.random() < 0.7:
        w.add(user, when + timedelta(hours=hours), "logout", rng.choice(company.shared), device,
              city, ip, volume(rng, user, "logout"), label=label, scenario=scenario)


def evening_phone(company, w, user, day):
    """Mail on the phone after work, on some evenings. A phone is first used in the
    baseline weeks: a first use later is a device enrolled, a hard negative of its own."""
    rng = company.rng
    phones = [d for d in user["devices"] if d["ua"] == MOBILE_UA]
    first_week = day <= 7 and not user.get("phone_used")
    if not phones or (rng.random() > 0.15 and not first_week):
        return
    user["phone_used"] = True
    hour = (user["start"] + user["hours"] + rng.uniform(1, 3)) % 24
    w.add(user, local_to_utc(day, user["office"], hour), "file_access", "mail", phones[0],
          user["office"], "%d.%d.%d.%d" % (100, rng.randint(0, 255), rng.randint(0, 255),
                                           rng.randint(2, 254)),
          volume(rng, user, "file_access"))


def normal_day(company, w, user, day):
    weekday = (START + timedelta(days=day - 1)).weekday()
    if weekday >= 5 and company.rng.random() > 0.08:
        return
    session(company, w, user, day)
    evening_phone(company, w, user, day)
    if company.cross_team and company.cross_rng.random() < company.cross_team:
        cross_team(company, w, user, day)


def cross_team(company, w, user, day):
    """Ordinary cross-team work (--cross-team): one resource of another function, opened
    once during the day's work and labelled normal. Drawn from a random stream of its own,
    so the rest of the company is the same with and without it."""
    rng = company.cross_rng
    others = sorted({r for role, rs in company.roles.items() if role != user["role"]
                     for r in rs} - set(user["resources"]))
    if not others:
        return
    hour = user["start"] + rng.uniform(0.5, max(0.6, user["hours"] - 0.5))
    act = rng.choice(["file_access", "download"])
    saved, w.rng = w.rng, rng
    w.add(user, local_to_utc(day, user["office"], hour), act, rng.choice(others),
          user["devices"][0], user["office"],
          usual_ip(rng, company, user, user["office"], False), volume(rng, user, act))
    w.rng = saved


def plant_attack(company, w, user, day, kind, s):
    rng = company.rng
    label, sc = "attack:" + kind, "%s-%s-%d" % (kind, user["id"], day)
    office = user["office"]
    if kind == "impossible_travel":
        session(company, w, user, day)
        here = city_info(office)[1:3]
        far = [c for c in list(CITIES) + list(ABROAD)
               if distance_km(here, city_info(c)[1:3]) > 2500 and c not in company.offices]
        city = rng.choice(far)
        km = distance_km(here, city_info(city)[1:3])
        speed = lerp(1500, 15000, s)
        when = local_to_utc(day, office, user["start"] + user["hours"] * 0.5) + timedelta(hours=km / speed)
        ip = "%d.%d.%d.%d" % (rng.randint(11, 223), rng.randint(0, 255), rng.randint(0, 255), 9)
        dev = user["devices"][0]
        for k, act in enumerate(["login", "file_access", "download"]):
            res = rng.choice(user["resources"])
            w.add(user, when + timedelta(minutes=4 * k), act, res, dev, city, ip,
                  volume(rng, user, act), label=label, scenario=sc)
    elif kind == "unusual_time":
        mid = user["start"] + user["hours"] / 2
        edge = user["start"] + user["hours"]
        start = lerp(edge + 2.5, mid + 12, s)  # local hours after the day's midnight
        session(company, w, user, day)  # the day's usual work
        session(company, w, user, day + int(start // 24), start=start % 24,
                hours=rng.uniform(0.5, 1.5), label=label, scenario=sc)
    elif kind == "unusual_volume":
        daily = math.exp(user["vol_mu"] + user["vol_sigma"] ** 2 / 2) * user["actions"] * 0.3
        total = daily * lerp(3, 40, s)
        parts = rng.randint(1, 3)
        res = rng.choice(user["resources"])
        extra = [(rng.uniform(0.5, 3), "download", res, total / parts) for _ in range(parts)]
        session(company, w, user, day, scenario=sc, extra=extra, extra_label=label)
    elif kind == "unusual_resources":
        others = sorted({r for role, rs in company.roles.items() if role != user["role"]
                         for r in rs} - set(user["resources"]))
        n = round(lerp(1, 4, s))
        chosen = rng.sample(others, min(n, len(others)))
        if s >= 0.5:
            chosen.append(rng.choice(NOBODY))
        extra = [(rng.uniform(0.5, 4), rng.choice(["file_access", "download"]), r,
                  volume(rng, user, "download")) for r in chosen]
        session(company, w, user, day, scenario=sc, extra=extra, extra_label=label)
    elif kind == "account_takeover":
        session(company, w, user, day)
        if s >= 0.5:
            city = rng.choice(sorted(ABROAD))
        else:
            country = city_info(office)[0]
            domestic = [c for c in CITIES if city_info(c)[0] == country and c != office]
            city = rng.choice(domestic or [c for c in CITIES if c not in company.offices])
        dev = {"fp": "%032x" % rng.getrandbits(128), "name": "unknown",
               "ua": rng.choice(SCRIPT_UAS) if s >= 0.5 else rng.choice(BROWSERS)}
        ip = "%d.%d.%d.%d" % (rng.randint(11, 223), rng.randint(0, 255), rng.randint(0, 255), 66)
        when = local_to_utc(day, office, user["start"] + user["hours"] + rng.uniform(2, 6))
        w.add(user, when, "login", "sso", dev, city, ip, 0.001, label=label, scenario=sc)
        sensitive = sorted({r for rs in company.roles.values() for r in rs})
        for k in range(round(lerp(2, 6, s))):
            w.add(user, when + timedelta(minutes=3 * (k + 1)), "download", rng.choice(sensitive),
                  dev, city, ip, volume(rng, user, "download", scale=lerp(1, 5, s)),
                  label=label, scenario=sc)
    elif kind == "credential_stuffing":
        city = rng.choice(sorted(ABROAD))
        dev = {"fp": "%032x" % rng.getrandbits(128), "name": "unknown", "ua": rng.choice(SCRIPT_UAS)}
        ip = "%d.%d.%d.%d" % (rng.randint(11, 223), rng.randint(0, 255), rng.randint(0, 255), 77)
        when = local_to_utc(day, office, rng.uniform(0, 24))
        tries = round(lerp(4, 40, s))
        for k in range(tries):
            w.add(user, when + timedelta(seconds=rng.uniform(5, 30) * k), "login", "sso", dev, city,
                  ip, 0.0, ok=False, label=label, scenario=sc)
        w.add(user, when + timedelta(seconds=30 * tries + 10), "login", "sso", dev, city, ip,
              0.001, label=label, scenario=sc)
        session(company, w, user, day)


def plant_benign(company, w, user, day, kind, role_changes):
    rng = company.rng
    label, sc = "benign:" + kind, "%s-%s-%d" % (kind, user["id"], day)
    if kind == "legit_travel":
        session(company, w, user, day)
        here = city_info(user["office"])[1:3]
        to = rng.choice([c for c in company.offices if c != user["office"]])
        km = distance_km(here, city_info(to)[1:3])
        # The next day's work at the other office, after a flight at airliner speed (plus
        # the airports); later than usual there when the flight is long.
        left = local_to_utc(day, user["office"], user["start"] + user["hours"] + 1)
        arrive = left + timedelta(hours=km / 750 + 3)
        start = max(local_to_utc(day + 1, to, user["start"]), arrive)
        local = start + timedelta(hours=city_info(to)[3]) - START
        session(company, w, user, local.days + 1, city=to, start=local.seconds / 3600,
                label=label, scenario=sc)
        return local.days + 1  # that day's work was at the other office
    elif kind == "late_night_deadline":
        session(company, w, user, day, hours=user["hours"] + rng.uniform(3, 4.5),
                label=label, scenario=sc)
    elif kind == "new_device_enrolled":
        user["devices"].insert(0, company.device("laptop"))
        session(company, w, user, day, label=label, scenario=sc)
    elif kind == "role_change":
        new_role = rng.choice([r for r in company.roles if r != user["role"]])
        user["role"] = new_role
        user["resources"] = sorted(set(company.roles[new_role] + company.shared))
        user["res_weights"] = [rng.uniform(0.3, 3.0) for _ in user["resources"]]
        role_changes.add(user["id"])
        session(company, w, user, day, label=label, scenario=sc)
    elif kind == "big_legit_upload":
        daily = math.exp(user["vol_mu"] + user["vol_sigma"] ** 2 / 2) * user["actions"] * 0.3
        extra = [(rng.uniform(1, 5), "upload", rng.choice(user["resources"]),
                  daily * rng.uniform(3, 6))]
        session(company, w, user, day, scenario=sc, extra=extra, extra_label=label)
    return None


def generate(seed, strength, users, attacks_per_kind, negatives_per_kind, cross_team=0.0):
    rng = random.Random(seed)
    company = Company(rng, users)
    company.cross_team = cross_team
    company.cross_rng = random.Random(seed * 7919 + 1)
    w = Writer(rng)
    order = list(company.users)
    rng.shuffle(order)
    plan = {}  # (user id, day) -> ("attack" | "benign", kind)
    picked = iter(order)
    for kind in ATTACKS:
        for _ in range(attacks_per_kind):
            plan[(next(picked)["id"], rng.randint(BASELINE_DAYS + 2, DAYS - 1))] = ("attack", kind)
    for kind in HARD_NEGATIVES:
        for _ in range(negatives_per_kind):
            plan[(next(picked)["id"], rng.randint(BASELINE_DAYS + 2, DAYS - 1))] = ("benign", kind)
    role_changes = set()
    away = set()  # (user id, day): worked elsewhere (a trip)
    for day in range(1, DAYS + 1):
        for user in company.users:
            what = plan.get((user["id"], day))
            if (user["id"], day) in away:
                continue
            if what is None:
                normal_day(company, w, user, day)
            elif what[0] == "attack":
                plant_attack(company, w, user, day, what[1], strength)
            else:
                elsewhere = plant_benign(company, w, user, day, what[1], role_changes)
                if elsewhere is not None:
                    away.add((user["id"], elsewhere))
    return company, w


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--strength", type=float, default=0.5)
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--attacks-per-kind", type=int, default=8)
    ap.add_argument("--negatives-per-kind", type=int, default=8)
    ap.add_argument("--cross-team", type=float, default=0.0,
                    help="share of working days on which a user opens one resource of "
                         "another function (ordinary cross-team work, labelled normal)")
    a = ap.parse_args()
    if not 0.0 <= a.strength <= 1.0:
        ap.error("--strength is between 0 and 1")
    if a.users < 6 * a.attacks_per_kind + 5 * a.negatives_per_kind:
        ap.error("too few users for one scenario each")
    os.makedirs(a.out, exist_ok=True)
    if not 0.0 <= a.cross_team <= 1.0:
        ap.error("--cross-team is between 0 and 1")
    company, w = generate(a.seed, a.strength, a.users, a.attacks_per_kind, a.negatives_per_kind,
                          a.cross_team)
    n = w.write(a.out)
    counts = {}
    for _, _, label, _ in w.rows:
        counts[label] = counts.get(label, 0) + 1
    meta = {"seed": a.seed, "strength": a.strength, "users": a.users, "days": DAYS,
            "baseline_end": (START + timedelta(days=BASELINE_DAYS)).isoformat(),
            "offices": company.offices, "functions": company.roles, "events": n,
            "label_counts": dict(sorted(counts.items()))}
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print("%d events, %d users, offices %s -> %s" % (n, a.users, ", ".join(company.offices), a.out))


if __name__ == "__main__":
    main()
