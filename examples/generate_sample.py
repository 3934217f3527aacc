#!/usr/bin/env python3
"""Generate the Warden example data set: ``activity.jsonl`` and ``labels.jsonl``.

The sample covers 35 days (from 2026-04-01, office local time) of user activity
in a small organisation with offices in six cities.  Days 1-28 hold normal
behaviour only; days 29-35 add six planted attacks (label ``attack:<kind>``)
and three hard negatives (``benign:<kind>``) that look odd but are legitimate.

Both output files are committed to the repository so that the README quick
start (``warden detect examples/activity.jsonl``) works out of the box.  Only
the standard library and a fixed seed are used, so re-running the script with
the same arguments reproduces the committed files byte for byte:

    python3 examples/generate_sample.py [--out-dir DIR] [--seed N]
"""
import argparse
import json
import math
import os
import random
from datetime import datetime, timedelta

START = datetime(2026, 4, 1)
DAYS = 35
DEFAULT_SEED = 20260401
FAILED_LOGIN_RATE = 0.004  # share of all events that are failed (mistyped) logins
FIELDS = ["event_id", "user_id", "activity_type", "timestamp", "location", "latitude",
          "longitude", "device_fingerprint", "device_name", "ip_address", "resource_accessed",
          "data_transferred_gb", "duration_seconds", "success", "user_agent"]

# city -> country, centre lat/lon, UTC offset in April-May, office /24, home ISP /16, mobile /16
OFFICES = {
    "London": ("GB", 51.5074, -0.1278, 1, "81.2.69", "86.12", "31.94"),
    "New York": ("US", 40.7128, -74.0060, -4, "38.104.12", "71.190", "172.58"),
    "Berlin": ("DE", 52.5200, 13.4050, 2, "85.214.30", "91.64", "80.187"),
    "Singapore": ("SG", 1.3521, 103.8198, 8, "116.12.48", "118.200", "111.65"),
    "Toronto": ("CA", 43.6532, -79.3832, -4, "99.229.7", "174.112", "142.198"),
    "Sydney": ("AU", -33.8688, 151.2093, 10, "203.12.160", "101.188", "1.136"),
}
# Cities nobody in the organisation works from: city -> country, lat, lon, attacker /16.
FOREIGN = {
    "Lagos": ("NG", 6.5244, 3.3792, "105.112"),
    "Sao Paulo": ("BR", -23.5505, -46.6333, "177.54"),
    "Ho Chi Minh City": ("VN", 10.8231, 106.6297, "113.161"),
}
SHARED = ["email", "chat", "wiki"]
ROLE_RESOURCES = {
    "engineer": ["git", "ci", "jira", "wiki", "k8s-dev", "artifact-repo"],
    "sales": ["crm", "quote-tool", "email", "docs"],
    "finance": ["erp", "payroll-db", "bank-portal", "expense"],
    "hr": ["hris", "recruiting", "email", "docs"],
    "admin": ["ad-console", "vpn-admin", "siem", "backup-vault", "k8s-prod"],
    "support": ["ticketing", "kb", "chat", "crm"],
}
ACTIONS = ["file_access", "download", "upload", "api_call"]
ACTION_WEIGHTS = {"engineer": (30, 15, 10, 45), "admin": (30, 15, 10, 45)}  # others: default
DEFAULT_ACTION_WEIGHTS = (45, 18, 10, 27)
TAKEOVER_RESOURCES = ["backup-vault", "payroll-db", "secrets-vault"]
OFF_ROLE_RESOURCES = ["customer-db-dump", "finance-reports", "legal-hold-archive"]  # nobody else

_WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko)"
_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"
_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64"
_CHROME_MAC = "%s %s Chrome/124.0.0.0 Safari/537.36" % (_MAC, _WEBKIT)
_SAFARI_MAC = _MAC + " AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15"
_CHROME_WIN = "%s) %s Chrome/124.0.0.0 Safari/537.36" % (_WIN, _WEBKIT)
_EDGE_WIN = _CHROME_WIN + " Edg/124.0.2478.67"
_FIREFOX_WIN = _WIN + "; rv:125.0) Gecko/20100101 Firefox/125.0"
_FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
LAPTOPS = {
    "MacBook Pro": [_CHROME_MAC, _SAFARI_MAC],
    "MacBook Air": [_SAFARI_MAC, _CHROME_MAC],
    "ThinkPad X1": [_FIREFOX_LINUX, _EDGE_WIN, _FIREFOX_WIN],
    "Dell XPS 13": [_CHROME_WIN, _EDGE_WIN],
    "Surface Laptop 5": [_EDGE_WIN],
}
PHONES = {
    "iPhone 15": ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
                  "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"],
    "Pixel 8": ["Mozilla/5.0 (Linux; Android 14; Pixel 8) %s Chrome/124.0.6367.82 Mobile "
                "Safari/537.36" % _WEBKIT],
    "Galaxy S23": ["Mozilla/5.0 (Linux; Android 14; SM-S911B) %s Chrome/124.0.6367.82 Mobile "
                   "Safari/537.36" % _WEBKIT],
}
# user_id, office, role, shift ("day" or "evening")
ROSTER = [
    ("alice.martin", "London", "engineer", "day"), ("oliver.hughes", "London", "finance", "day"),
    ("james.carter", "New York", "sales", "day"),
    ("maria.gonzalez", "New York", "support", "evening"),
    ("lena.fischer", "Berlin", "engineer", "day"), ("jonas.weber", "Berlin", "admin", "day"),
    ("wei.tan", "Singapore", "support", "evening"),
    ("ethan.roy", "Toronto", "hr", "day"), ("sophie.tremblay", "Toronto", "finance", "day"),
    ("chloe.nguyen", "Sydney", "sales", "day"),
]
# kind -> (day number, user): one user and one day per scenario, all on days 29-35.
SCENARIOS = {
    "legit_travel": (29, "alice.martin"),
    "impossible_travel": (30, "james.carter"),
    "new_device_enrolled": (30, "jonas.weber"),
    "unusual_volume": (31, "lena.fischer"),
    "credential_stuffing": (32, "sophie.tremblay"),
    "account_takeover": (33, "ethan.roy"),
    "unusual_time": (34, "oliver.hughes"),
    "late_night_deadline": (34, "chloe.nguyen"),
    "unusual_resources": (35, "maria.gonzalez"),
}
BENIGN = {"legit_travel", "new_device_enrolled", "late_night_deadline"}


def new_device(rng, name, models, from_day=1):
    """A device with a stable fingerprint and browser user agent."""
    return {"fp": "%032x" % rng.getrandbits(128), "name": name,
            "ua": rng.choice(models[name]), "from": from_day, "until": DAYS}


def make_users(rng):
    users = []
    for uid, office, role, shift in ROSTER:
        devices = [new_device(rng, rng.choice(sorted(LAPTOPS)), LAPTOPS)]
        for models in [PHONES, LAPTOPS][:rng.choice([0, 1, 1, 2])]:
            devices.append(new_device(rng, rng.choice(sorted(models)), models))
        resources = sorted(set(ROLE_RESOURCES[role] + SHARED))
        users.append({
            "id": uid, "office": office, "role": role, "shift": shift, "devices": devices,
            "resources": resources, "res_weights": [rng.uniform(0.3, 3.0) for _ in resources],
            "home_ip": "%s.%d.%d" % (OFFICES[office][5], rng.randint(0, 255), rng.randint(2, 254)),
            "mobile_net": "%s.%d" % (OFFICES[office][6], rng.randint(0, 255)),
            "vol_mu": math.log(rng.uniform(0.015, 0.05)), "vol_sigma": rng.uniform(0.7, 1.0),
            "remote_rate": rng.uniform(0.1, 0.4),
        })
    return users


def devices_on(user, day, phone):
    return [d for d in user["devices"]
            if d["from"] <= day <= d["until"] and (d["name"] in PHONES) == phone]


def utc(day, offset, local_seconds):
    """UTC time of a moment given in seconds after local midnight of a day (1-based)."""
    return START + timedelta(days=day - 1, seconds=int(local_seconds) - offset * 3600)


def place(rng, city):
    """Location name and coordinates with a few km of jitter around the city centre."""
    country, lat, lon = (OFFICES.get(city) or FOREIGN[city])[:3]
    return ("%s, %s" % (city, country), round(lat + rng.gauss(0, 0.02), 4),
            round(lon + rng.gauss(0, 0.02 / max(0.2, math.cos(math.radians(lat)))), 4))


def foreign(rng, city):
    """Location and IP address of an attacker in a city nobody in the organisation uses."""
    ip = "%s.%d.%d" % (FOREIGN[city][3], rng.randint(0, 255), rng.randint(1, 254))
    return place(rng, city), ip


def mobile_ip(rng, user):
    return "%s.%d" % (user["mobile_net"], rng.randint(1, 254))


def volume(rng, user, activity):
    if activity in ("login", "logout", "vpn_connect"):
        return rng.uniform(0.0002, 0.001)
    shift = {"api_call": -2.0, "file_access": -0.7}.get(activity, 0.0)
    return min(0.45, max(0.0002, rng.lognormvariate(user["vol_mu"] + shift, user["vol_sigma"])))


def duration(rng, activity, gb):
    if activity in ("download", "upload"):
        return max(1, int(gb * 1024 / rng.uniform(8, 60))) + rng.randint(0, 4)
    lo, hi = {"login": (1, 4), "logout": (0, 2), "vpn_connect": (2, 9),
              "api_call": (0, 3), "file_access": (5, 900)}[activity]
    return rng.randint(lo, hi)


def event(rng, user, when, activity, resource, device, loc, ip, gb=None, ok=True):
    gb = volume(rng, user, activity) if gb is None else gb
    return {
        "_t": when, "_label": "normal", "_scenario": "", "user_id": user["id"],
        "activity_type": activity, "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "location": loc[0], "latitude": loc[1], "longitude": loc[2],
        "device_fingerprint": device["fp"], "device_name": device["name"], "ip_address": ip,
        "resource_accessed": resource, "data_transferred_gb": round(gb, 6),
        "duration_seconds": duration(rng, activity, gb), "success": ok, "user_agent": device["ua"],
    }


def action(rng, user, when, device, loc, ip):
    """One ordinary action of the user on one of their usual resources."""
    weights = ACTION_WEIGHTS.get(user["role"], DEFAULT_ACTION_WEIGHTS)
    res = rng.choices(user["resources"], weights=user["res_weights"])[0]
    return event(rng, user, when, rng.choices(ACTIONS, weights)[0], res, device, loc, ip)


def workday(rng, user, day, city=None, start_h=None, end_h=None, remote=None, login=None):
    """One working session: usually a login, a few actions, sometimes a logout."""
    city = city or user["office"]
    offset, office_net = OFFICES[city][3:5]
    if start_h is None:
        start_h = rng.uniform(7.5, 9.5) if user["shift"] == "day" else rng.uniform(14.0, 15.5)
    end_h = end_h or start_h + rng.uniform(7.5, 9.0)
    remote = rng.random() < user["remote_rate"] if remote is None else remote
    ip = user["home_ip"] if remote else "%s.%d" % (office_net, rng.randint(10, 250))
    laptops, phones = devices_on(user, day, False), devices_on(user, day, True)
    laptop = laptops[1] if len(laptops) > 1 and rng.random() < 0.2 else laptops[0]
    events = []
    if login or (login is None and rng.random() < 0.7):  # otherwise the SSO session is still valid
        events.append(event(rng, user, utc(day, offset, start_h * 3600), "login", "sso", laptop,
                            place(rng, city), ip))
    if remote:
        events.append(event(rng, user, utc(day, offset, start_h * 3600 + rng.randint(20, 90)),
                            "vpn_connect", "vpn-gateway", laptop, place(rng, city), ip))
    times = sorted(rng.uniform(start_h + 0.1, end_h) * 3600 for _ in range(rng.choice([1, 2, 2])))
    for when, loc in ((utc(day, offset, t), place(rng, city)) for t in times):
        if phones and rng.random() < 0.15:
            act, res = rng.choice(["file_access", "api_call"]), rng.choice(["email", "chat"])
            events.append(event(rng, user, when, act, res, phones[0], loc, mobile_ip(rng, user)))
        else:
            events.append(action(rng, user, when, laptop, loc, ip))
    if rng.random() < 0.15:
        events.append(event(rng, user, utc(day, offset, end_h * 3600 + rng.randint(60, 600)),
                            "logout", "sso", laptop, place(rng, city), ip))
    return events


def weekend(rng, user, day):
    """A quick look at email or chat from home, on a phone if the user has one."""
    offset = OFFICES[user["office"]][3]
    dev = (devices_on(user, day, True) or devices_on(user, day, False))[0]
    t = rng.uniform(10, 20) * 3600
    return [event(rng, user, utc(day, offset, t + i * rng.randint(60, 900)),
                  rng.choice(["file_access", "api_call"]), rng.choice(["email", "chat"]), dev,
                  place(rng, user["office"]), user["home_ip"]) for i in range(rng.randint(1, 2))]


def tag(events, kind):
    for e in events:
        e["_label"] = "%s:%s" % ("benign" if kind in BENIGN else "attack", kind)
        e["_scenario"] = kind
    return events


def plant_benign(rng, kind, user, day):
    """A legitimate but unusual day; only the unusual events carry the benign label."""
    office, offset = user["office"], OFFICES[user["office"]][3]
    if kind == "legit_travel":  # phone check at home at 06:00, flight, afternoon in Berlin
        dev = (devices_on(user, day, True) or devices_on(user, day, False))[0]
        early = event(rng, user, utc(day, offset, rng.uniform(5.9, 6.3) * 3600), "api_call",
                      "email", dev, place(rng, office), mobile_ip(rng, user))
        berlin = workday(rng, user, day, "Berlin", start_h=rng.uniform(11.5, 12.0), end_h=18.0,
                         remote=False, login=True)
        return [early] + tag(berlin, kind)
    if kind == "new_device_enrolled":  # a new primary laptop replaces the old one from today on
        devices_on(user, day, False)[0]["until"] = day - 1
        user["devices"].insert(0, new_device(rng, "MacBook Pro", LAPTOPS, from_day=day))
        user["enrolled"] = user["devices"][0]["fp"]  # its events are tagged in generate()
        return workday(rng, user, day, remote=False, login=True)
    # late_night_deadline: the usual day, then a few more hours of work until about 22:00
    events = workday(rng, user, day, end_h=rng.uniform(21.7, 22.1), login=True)
    laptop = devices_on(user, day, False)[0]
    for _ in range(rng.randint(2, 3)):
        t = utc(day, offset, rng.uniform(18.7, 21.7) * 3600)
        events.append(action(rng, user, t, laptop, place(rng, office), events[0]["ip_address"]))
    tag([e for e in events if e["_t"] >= utc(day, offset, 18.5 * 3600)], kind)
    return events


def plant_attack(rng, kind, user, day):
    """The attack events for one scenario, plus the victim's own normal day where there is one."""
    office, offset = user["office"], OFFICES[user["office"]][3]
    stranger = {"fp": "%032x" % rng.getrandbits(128), "name": "unknown"}
    if kind == "credential_stuffing":  # a burst of failures 20 s apart from one IP, then a success
        (loc, ip), dev = foreign(rng, "Ho Chi Minh City"), dict(stranger, ua="okhttp/4.12.0")
        t0, n = utc(day, offset, rng.uniform(1.0, 4.0) * 3600), rng.randint(20, 30)
        return tag([event(rng, user, t0 + timedelta(seconds=20 * i), "login", "sso", dev, loc, ip,
                          ok=i == n) for i in range(n + 1)], kind)
    if kind == "account_takeover":  # scripted bulk download of sensitive data at night
        (loc, ip), dev = foreign(rng, "Sao Paulo"), dict(stranger, ua="python-requests/2.31.0")
        t = utc(day, offset, rng.uniform(1.0, 3.0) * 3600)
        events = [event(rng, user, t, "login", "sso", dev, loc, ip)]
        for res in TAKEOVER_RESOURCES:
            t += timedelta(seconds=rng.randint(40, 200))
            gb = rng.uniform(0.3, 0.5)
            events.append(event(rng, user, t, "download", res, dev, loc, ip, gb=gb))
        return tag(events, kind)
    events = workday(rng, user, day, login=True,
                     remote=False if kind in ("impossible_travel", "unusual_volume") else None)
    laptop, ip, loc = devices_on(user, day, False)[0], events[0]["ip_address"], place(rng, office)
    if kind == "impossible_travel":  # a Lagos login minutes after activity at the office
        anchor = events[1]["_t"] + timedelta(minutes=rng.randint(8, 15))
        dev, (loc, ip) = dict(stranger, name="Dell XPS 13", ua=_CHROME_WIN), foreign(rng, "Lagos")
        steps = [("login", "sso"), ("file_access", "crm"), ("download", "quote-tool")]
        attack = [event(rng, user, anchor + timedelta(seconds=i * rng.randint(60, 300)), act, res,
                        dev, loc, ip) for i, (act, res) in enumerate(steps)]
    elif kind == "unusual_volume":  # multi-GB downloads of a usual resource at usual hours
        res = "artifact-repo" if user["role"] == "engineer" else user["resources"][0]
        attack = [event(rng, user, events[0]["_t"] + timedelta(hours=rng.uniform(2.0, 6.0)),
                        "download", res, laptop, loc, ip, gb=rng.uniform(3.0, 5.0))
                  for _ in range(rng.randint(1, 2))]
    elif kind == "unusual_time":  # a few events in the small hours, from home, on the usual laptop
        times = sorted(rng.uniform(0.2, 3.4) * 3600 for _ in range(rng.randint(2, 4)))
        attack = [action(rng, user, utc(day, offset, t), laptop, loc, user["home_ip"])
                  for t in times]
    else:  # unusual_resources: three resources outside the role, nobody else uses, within minutes
        t = events[1]["_t"] + timedelta(minutes=rng.randint(20, 60))
        attack = []
        for i, res in enumerate(OFF_ROLE_RESOURCES):
            t += timedelta(seconds=rng.randint(90, 240) * (i > 0))
            act = "file_access" if i == 1 else "download"
            attack.append(event(rng, user, t, act, res, laptop, place(rng, office), ip))
    return events + tag(attack, kind)


def add_failed_logins(rng, events):
    """Insert mistyped-password failures before a few randomly chosen normal logins."""
    logins = [e for e in events if e["activity_type"] == "login" and e["_label"] == "normal"]
    failed = []
    for e in rng.sample(logins, round(FAILED_LOGIN_RATE * len(events))):
        when = e["_t"] - timedelta(seconds=rng.randint(15, 90))
        failed.append(dict(e, _t=when, timestamp=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           success=False, duration_seconds=rng.randint(1, 3)))
    return events + failed


def generate(seed):
    rng = random.Random(seed)
    users = make_users(rng)
    planned = {(day, uid): kind for kind, (day, uid) in SCENARIOS.items()}
    events = []
    for day in range(1, DAYS + 1):
        weekday = (START + timedelta(days=day - 1)).weekday() < 5
        for user in users:
            kind = planned.get((day, user["id"]))
            if kind:
                events += (plant_benign if kind in BENIGN else plant_attack)(rng, kind, user, day)
            elif weekday:
                events += workday(rng, user, day)
            elif rng.random() < 0.12:
                events += weekend(rng, user, day)
    enrolled = {u["enrolled"] for u in users if "enrolled" in u}
    tag([e for e in events if e["device_fingerprint"] in enrolled], "new_device_enrolled")
    events = add_failed_logins(rng, events)
    events.sort(key=lambda e: (e["_t"], e["user_id"]))  # stable: ties keep generation order
    for i, e in enumerate(events, 1):
        e["event_id"] = "ex%06d" % i
    return events


def write(out_dir, events):
    def dump(obj):
        return json.dumps(obj, separators=(",", ":")) + "\n"
    with open(os.path.join(out_dir, "activity.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        f.writelines(dump({k: e[k] for k in FIELDS}) for e in events)
    with open(os.path.join(out_dir, "labels.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        f.writelines(dump({"event_id": e["event_id"], "user_id": e["user_id"],
                           "label": e["_label"], "scenario": e["_scenario"]}) for e in events)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=os.path.dirname(os.path.abspath(__file__)),
                        help="where to write activity.jsonl and labels.jsonl (default: here)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    args = parser.parse_args()
    events = generate(args.seed)
    write(args.out_dir, events)
    print("wrote %d events to %s" % (len(events), args.out_dir))


if __name__ == "__main__":
    main()
