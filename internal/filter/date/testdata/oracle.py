#!/usr/bin/env python3
"""Generate oracle.jsonl: what Fail2ban's own date detector answers for a set
of lines, for date_test.go to compare with. Needs an unpacked fail2ban package:

  PYTHONPATH=/path/to/usr/lib/python3/dist-packages TZ=CET-01CEST-02,M3.5.0,M10.5.0 \
      python3 oracle.py /path/to/fail2ban/tests/files/logs > oracle.jsonl

Each output line is one group of log lines run through one fresh detector in
order (the detector adapts to the stream): {"name", "pattern", "lines":
[{"line", "span": [start, end] in UTF-8 bytes or null, "time": unix or null}]}.
"""
import glob, json, os, sys, time
time.tzset()
from fail2ban.server.mytime import MyTime
from fail2ban.server.datedetector import DateDetector

MyTime.setTime(1124013600)

def detector(pattern):
    dd = DateDetector()
    if pattern:
        for p in [p.strip() for p in pattern.split('\n') if p.strip()]:
            dd.appendTemplate(p)
    return dd

def group(name, pattern, lines):
    dd = detector(pattern)
    out = []
    for line in lines:
        m, tmpl = dd.matchTime(line)
        span = tm = None
        if m:
            s, e = m.start(1), m.end(1)
            span = [len(line[:s].encode()), len(line[:e].encode())]
            if s != e:
                try:
                    r = dd.getTime(line, (m, tmpl))
                    tm = r[0] if r else None
                except Exception:
                    tm = None
        out.append({"line": line, "span": span, "time": tm})
    print(json.dumps({"name": name, "pattern": pattern, "lines": out}, ensure_ascii=False))

various = ["Jan 23 21:59:59", "Sun Jan 23 21:59:59 2005", "Sun Jan 23 21:59:59", "Sun Jan 23 2005 21:59:59",
    "2005/01/23 21:59:59", "2005.01.23 21:59:59", "23/01/2005 21:59:59", "23/01/05 21:59:59",
    "23/Jan/2005:21:59:59", "23/Jan/2005:21:59:59 +0100", "01/23/2005:21:59:59", "2005-01-23 21:59:59",
    "2005-01-23 21:59:59,000", "23-Jan-2005 21:59:59", "23-Jan-2005 21:59:59.02", "23-Jan-2005 21:59:59 +0100",
    "23-01-2005 21:59:59", "1106513999", "01-23-2005 21:59:59.252", "@4000000041f4104f00000000",
    "2005-01-23T20:59:59.252Z", "2005-01-23T15:59:59-05:00", "20050123T215959", "20050123 215959",
    "<01/23/05@21:59:59>", "050123 21:59:59", "Jan-23-05 21:59:59", "Jan 23, 2005 9:59:59 PM",
    "1106513999.000", "[1106513999.000]", "audit(1106513999.000:987)", "no date line",
    "2026-11-24T14:55:01.123456+00:00", "2026-11-24T14:55:01.1234567 x", "2005-01-23  8:59:59", "Nov  4 14:55:01 host",
    "Aug 8 11:25:50 20030f2329b8 Authentication", "[Aug 8 11:25:50] 20030f2329b8", "Aug 8 11:25:50 2014 20030f2329b8",
    "Test failure TestJan 23 21:59:59.011 2015 for 192.0.2.1", "Test failure Jan 23 21:59:59123456789 for",
    "PDT Apr 16 21:05:29 host", "+00:00 Jan 23 21:59:59.011 2005 x", "21:59:59 only time", "text:200333 010203 | date:20031230 010203",
    "0000-12-30 00:00:00 - 2003-12-30 00:00:00", "2005-02-30 10:00:00 bad day", "2005-13-01 10:00:00 bad month",
    "Feb 29 10:00:00 no leap", "Dec 31 23:59:59 last year", "Aug 15 11:00:00 tomorrow", "Aug 15 13:00:00 over a day",
    "2005-01-23T21:59:59 UTC x", "2005-01-23T21:59:59 GMT x", "2005-01-23T21:59:59+0530 x", "2005-01-23T21:59:59-05 x",
    "2005-01-23T21:59:59+05:x", "2005-01-23T21:59:59Zulu", "2005-01-23T21:59:59 Zulu", "##2005-01-23T21:59:59 x",
    "###2005-01-23T21:59:59 x", "Sun Jan 23 21:59:59 2005x", "sun JAN 23 21:59:59", "Jan 23 24:00:00", "Jan 23 23:59:60",
    "Jan 23 21:59:59.123456789", "\u00e9Jan 23 21:59:59", "\u00ab2005-01-23T21:59:59 x", "2005-01-23T21:59:59\u00e9",
    "Jan 31 21:59:59 x", "Jan 3 1:59:59 x", "Jan 03 21:59:59 x", "Jan 32 21:59:59", "Jan 23  1:59:59 x",
]
for prefix, suffix in (("", "[sshd] error: PAM: Authentication failure"), ("bogus-prefix ", "[sshd] error"), ("word-boundary", "[sshd] x"), ("", " x")):
    lines = [prefix + s + suffix for s in various]
    for pat in ("", "{^LN-BEG}"):
        for i, l in enumerate(lines):
            group("various/%s/%r/%d" % (pat or "default", prefix, i), pat, [l])
        group("various-stream/%s/%r" % (pat or "default", prefix), pat, lines)

# random edits of the examples, each line on a fresh detector
import random
rng = random.Random(42)
alphabet = "0123456789 :-/.,TZ+_[]()@<>aJnNovSatUTCGMTPM\t\u00e9"
mutated = []
for s in various:
    for _ in range(12):
        b = list(s + " x")
        for _ in range(rng.randint(1, 3)):
            i = rng.randint(0, len(b))
            op = rng.randint(0, 2)
            if op == 0 and i < len(b):
                b[i] = rng.choice(alphabet)
            elif op == 1:
                b.insert(i, rng.choice(alphabet))
            elif i < len(b):
                del b[i]
        mutated.append("".join(b))
for pat in ("", "{^LN-BEG}"):
    for i, l in enumerate(mutated):
        group("mutated/%s/%d" % (pat or "default", i), pat, [l])
    group("mutated-stream/%s" % (pat or "default"), pat, mutated)

# the adaptive order: shortest distance, collisions, format changes
ambiguous = [
    ("some free text 030324  0:03:59 -- 2003-03-07 17:05:01 ...", 1),
    ("some free text 2003-03-07 17:05:01 test ...", 15),
    ("server mysqld[1000]: 030324  0:04:00 [Warning] Access denied ... foreign-input just some free text 2003-03-07 17:05:01 test", 10),
    ("server mysqld[1020]: Sep 16 21:30:26 server mysqld: 030916 21:30:26 [Warning] Access denied", 15),
    ("server mysqld[5906]: 2005-10-07 06:09:42 5907 [Warning] Access denied", 20),
    ("server mysqld[5906]: 2005-10-08T15:26:18.237955 6 [Note] Access denied", 20),
    ("server mysqld[1000]: 051009 10:05:30 [Warning] Access denied ...", 50),
]
group("ambiguous-stream", "", [l for l, n in ambiguous for _ in range(n)])
gh130 = ['2012/10/11 02:37:17 [error] 18434#0'] + ['11/10/2012 02:37:17 [error] 18434#0'] * 10 + ['2012/10/11 02:37:17 [error] 18434#0']
group("gh130", "", gh130)
collide = []
for fmt in ('%s test', '%8s test', 'test %s', 'test %8s'):
    for dt in ('00:01:02', '00:01:2', '00:1:2', '0:1:2', '00:1:2', '00:01:2', '00:01:02', '0:1:2', '00:01:02'):
        collide.append(fmt % dt)
group("collision/HMS", "%H:%M:%S", collide)
group("collision/UNB", "{UNB}%H:%M:%S", collide)

custom = [
    (r'%H:%M:%S %d.%m.%Y$', '192.0.2.1 at 20:00:00 01.02.2003'),
    (r'\[%H:%M:%S %d.%m.%Y\]', '192.0.2.1[20:00:00 01.02.2003]'),
    (r'\[%H:%M:%S %d.%m.%Y\]', '[20:00:00 01.02.2003]192.0.2.1'),
    (r'\[%H:%M:%S %d.%m.%Y\]$', '192.0.2.1[20:00:00 01.02.2003]'),
    (r'^\[%H:%M:%S %d.%m.%Y\]', '[20:00:00 01.02.2003]192.0.2.1'),
    (r'^\[%d/%b/%Y %H:%M:%S\]', '[17/Jun/2011 17:00:45] Attempt, IP address 192.0.2.1'),
    (r'\[%d/%b/%Y %H:%M:%S\]', 'Attempt [17/Jun/2011 17:00:45] IP address 192.0.2.1'),
    (r'\[%d/%b/%Y %H:%M:%S\]', 'Attempt IP address 192.0.2.1, date: [17/Jun/2011 17:00:45]'),
    (r'%H:%M:%S %d.%m.%Y', '192.0.2.1x20:00:00 01.02.2003'),
    (r'%H:%M:%S %d.%m.%Y', '20:00:00 01.02.2003x192.0.2.1'),
    (r'**%H:%M:%S %d.%m.%Y**', '192.0.2.1x20:00:00 01.02.2003'),
    (r'**%H:%M:%S %d.%m.%Y**', '20:00:00 01.02.2003x192.0.2.1'),
    (r'\**%H:%M:%S %d.%m.%Y\**', 'test*20:00:00 01.02.2003*test'),
    (r'%H:%M:%S %d.%m.%Y', '192.0.2.1 20:00:00 01.02.2003'),
    (r'%H:%M:%S %d.%m.%Y', '20:00:00 01.02.2003 192.0.2.1'),
    (r'%ExY-%Exm-%Exd %ExH:%ExM:%ExS', "0000-12-30 00:00:00 - 2003-12-30 00:00:00"),
    (r'%Y%m%d %H%M%S', "text:200333 010203 | date:20031230 010203"),
    (r'%ExY%Exm%Exd %ExH%ExM%ExS', "text:200333 010203 | date:20031230 010203"),
    ("%ExY%Exm%Exd %ExH%ExM%ExS", "00001230 010203 - 20030101 000000"),
    ("{^LN-BEG}%ExY%Exm%Exd %ExH%ExM%ExS", "00001230 010203 - 20030101 000000"),
    ("{^LN-BEG}%ExY%Exm%Exd %ExH%ExM%ExS", "20031230 010203 - 20030101 000000"),
    ("{^LN-BEG}%ExY%Exm%Exd%ExH%ExM%ExS**", "2003123001020320030101000000"),
    ("{^LN-BEG}%ExY%Exm%Exd%ExH%ExM%ExS**", "#2003123001020320030101000000"),
    ("{^LN-BEG}%ExY%Exm%Exd%ExH%ExM%ExS**", "##2003123001020320030101000000"),
    ("{^LN-BEG}%ExY%Exm%Exd%ExH%ExM%ExS", "[20031230010203]20030101000000"),
    ("{^LN-BEG}%ExY-%Exm-%Exd %ExH:%ExM:%ExS(?: %z)?", "[2003-12-30 01:02:03] server ..."),
    ("{^LN-BEG}%ExY-%Exm-%Exd %ExH:%ExM:%ExS(?: %Z)?", "[2003-12-30 01:02:03] server ..."),
    ("{^LN-BEG}%ExY-%Exm-%Exd %ExH:%ExM:%ExS(?: %z)?", "[2003-12-30 01:02:03 UTC] server ..."),
    ("{^LN-BEG}%ExY-%Exm-%Exd %ExH:%ExM:%ExS(?: %Z)?", "[2003-12-30 01:02:03 UTC] server ..."),
    ("{^LN-BEG}%ExY-%Exm-%Exd %ExH:%ExM:%ExS(?: %z)?", "[2003-12-30 01:02:03 Z] server ..."),
    ("{^LN-BEG}%ExY-%Exm-%Exd %ExH:%ExM:%ExS(?: %z)?", "[2003-12-30 01:02:03 +0000] server ..."),
    ("{^LN-BEG}%ExY-%Exm-%Exd %ExH:%ExM:%ExS(?: %Z)?", "[2003-12-30 01:02:03 Z] server ..."),
    ("{^LN-BEG}%ExY-%Exm-%Exd %ExH:%ExM:%ExS(?: %Z)?", "[2003-12-30 01:02:03 CEST] server ..."),
    ("^%B %Exd %I:%ExM:%ExS**", 'January 23 12:59:59'),
    ("^%y %U %A %ExH:%ExM:%ExS**", '01 11 Wednesday 21:59:59'),
    ("^%y %W %A %ExH:%ExM:%ExS**", '01 11 Wednesday 21:59:59'),
    ("^%y %W %w %ExH:%ExM:%ExS**", '01 11 0 21:59:59'),
    ("^%y %W %w %ExH:%ExM:%ExS**", '01 11 6 21:59:59'),
    ("^%ExH:%ExM:%ExS**", '21:59:59'),
    ("^%ExH:%ExM:%ExS**", '00:00:01'),
    ("^%m/%d %ExH:%ExM:%ExS**", '09/01 21:59:59'),
    ("^%Y-%m-%d**", '2004-09-01'),
    ("^%Y-%m-%d%z**", '2004-09-01Z'),
    ("^%ExY-%Exm-%Exd %H:%M:%S(?: ?%Exz)?", "2017-01-23 15:00:00 CET+0130"),
    ("^%ExY-%Exm-%Exd %H:%M:%S(?: ?%Exz)?", "2017-01-23 15:00:00 -10:45"),
    ("^%j %Y %H:%M:%S", "023 2005 21:59:59 x"),
    ("^%b %d %I:%M:%S %p", "Jan 23 12:59:59 AM x"),
    ("^%b %d %I:%M:%S %p", "jan 23 12:59:59 pm x"),
    ("^%b %d %I:%M:%S %p", "Jan 23 01:59:59 PM x"),
    ('EPOCH', '1138049999 [sshd] error'), ('EPOCH', '[1138049999.555] x'), ('EPOCH', 'audit(1138049999.555:101) x'),
    ('EPOCH', '32535244799 x'), ('EPOCH', '123456789 x'), ('EPOCH', '9999999999999999 x'), ('EPOCH', '1138049999A x'),
    ('EPOCH', 'A1138049999 x'), ('LEPOCH', '1138049999000 x'), ('LEPOCH', '[1138049999000000] x'),
    ('LEPOCH', 'audit(1138049999000:101) x'), ('LEPOCH', '1138049999123.456 x'), ('LEPOCH', '999999999999999999 x'),
    ('{^LN-BEG}EPOCH', 'x 1138049999 y'), ('{^LN-BEG}Epoch', '1138049999 y'), ('{^LN-BEG}TAI64N', '@4000000041f4104f00000000 y'),
    ('TAI64N', 'x @4000000041f4104f00000000 y'),
    (r'(?<=\|\s){LEPOCH}(?=\s\|)', 'auth-error | 1138049999000 | invalid password'),
    (r'(?<=\|\s){LEPOCH}(?=\s\|)', 'test-right | 1138049999000test'),
    (r'(?<=\|\s){EPOCH}(?=\s\|)', 'auth-error | 1138049999 | invalid password'),
    ('{NONE}', 'no date here'),
    ('^<\\d+>\\d+\\s+{DATE}', '<34>1 2005-01-23T21:59:59.003Z mymachine su - ID47 - x'),
    ('^<\\d+>\\d+\\s+{DATE}', '<34>1 1106513999 mymachine'),
    ('^[^\\[]*\\[({DATE})\n{^LN-BEG}', '192.0.2.1 - - [23/Jan/2005:21:59:59 +0100] "GET / HTTP/1.1"'),
    ('^[^\\[]*\\[({DATE})\n{^LN-BEG}', '[Sun Jan 23 21:59:59.123456 2005] [error] x'),
    ('^[^\\[]*\\[({DATE})\n{^LN-BEG}', 'Jan 23 21:59:59 host x'),
    ('^[^\\[]*(\\[{DATE}\\s*\\])\n{^LN-BEG}', '192.0.2.1 - - [23/Jan/2005:21:59:59 +0100] "GET"'),
    ('^(?:=[^=]+={3,} )?(%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?)\n^I\\(()**', '=INFO REPORT==== 2005-01-23 21:59:59 ==='),
    ('^(?:=[^=]+={3,} )?(%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?)\n^I\\(()**', 'I(<0.1.0>:x) auth failed'),
    ('^%b %d, %ExY %I:%M:%S %p\n^WARNING:()**\n{^LN-BEG}', 'WARNING: something'),
    ('^%b %d, %ExY %I:%M:%S %p\n^WARNING:()**\n{^LN-BEG}', 'Jan 23, 2005 9:59:59 PM org.x'),
    ('%d/%b[^/]*/%Y:%H:%M:%S %z', '23/Jan/2005:21:59:59 +0100 x'),
    ('^t=%Y-%m-%dT%H:%M:%S%z', 't=2005-01-23T21:59:59+0100 lvl=eror'),
    ('^L %d/%m/%Y - %H:%M:%S', 'L 23/01/2005 - 21:59:59: "x"'),
    ('{^LN-BEG}%b-%d-%Exy %H:%M:%S\n{^LN-BEG}', 'Jan-23-05 21:59:59 [x]'),
    ('^<W>{DATE}', '<W>2005-01-23 21:59:59.123 1 => x'),
    ('^<co ts="{DATE}"\\s+', '<co ts="2005-01-23T21:59:59.123+01:00" x'),
    ('^[^-]+ -- [^-]+ -- - ({DATE})\n{^LN-BEG}', 'abc -- def -- - 2005-01-23T21:59:59+00:00 x'),
    ('^{DATE}', '2005-01-23 21:59:59,123 fail2ban.actions x'),
    ('^(?:%Y-)?%m-%d[ T]%H:%M:%S(?:\\.%f)?\n{^LN-BEG}', '01-23 21:59:59.123 x'),
    ('^%H:%M:%S.%f', '21:59:59.123 [x]'),
]
for i, (pat, line) in enumerate(custom):
    group("custom/%d" % i, pat, [line])

logs = sys.argv[1] if len(sys.argv) > 1 else None
if logs:
    for f in sorted(glob.glob(os.path.join(logs, '*'))):
        if not os.path.isfile(f):
            continue
        with open(f, encoding='utf-8', errors='replace') as fh:
            lines = [l.rstrip('\n') for l in fh if not l.startswith('#') and l.strip()]
        name = os.path.basename(f)
        group("log/%s/default" % name, "", lines)
        group("log/%s/lnbeg" % name, "{^LN-BEG}", lines)

# each filter's own datepattern over its sample log
filters = sys.argv[2] if len(sys.argv) > 2 else None
if logs and filters:
    import configparser
    for f in sorted(glob.glob(os.path.join(filters, '*.conf'))):
        name = os.path.basename(f)[:-5]
        log = os.path.join(logs, name)
        if not os.path.isfile(log):
            continue
        cp = configparser.RawConfigParser(strict=False)
        cp.optionxform = str
        cp.read(f)
        for s in cp.sections():
            if not cp.has_option(s, 'datepattern'):
                continue
            pat = cp.get(s, 'datepattern').strip()
            if '%(' in pat or pat.startswith('<'):
                continue
            pat = pat.replace('%%', '%')
            with open(log, encoding='utf-8', errors='replace') as fh:
                lines = [l.rstrip('\n') for l in fh if not l.startswith('#') and l.strip()]
            group("filter/%s[%s]" % (name, s), pat, lines)
