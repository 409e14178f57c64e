#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A bus-wide sweep of org.pic.Cell1 (issue 13; dfuzzer is not packaged for Debian 12).

It walks the introspection of every object the daemon serves (the Manager at
/org/pic/Cell1, its peers, links and exits, the nodes between them) and calls
every method it finds, standard interfaces included, with arguments made from
the introspected signature by a small generator per D-Bus type code: empty,
boundary and maximum values, huge strings and arrays, known names and keys
(src/daemon/cell-bus.c, peer-options.c, invite-bus.c, link-pairing.c,
exit-bus.c) with right and wrong value types, duplicate keys, nested variants,
embedded NUL where the type allows it (ay; D-Bus strings cannot carry NUL and
invalid UTF-8 cannot be sent, so neither is tried), file descriptors, and
wrong signatures (random ones, one argument of another type, one too few or
too many). The calls are made by a process of their own (as root, or as
nobody through setpriv) from GVariant bytes, so any signature can be sent.

Throughout it checks what a user would notice:
  - the daemon keeps its PID and its bus connection (a pinger process pings the
    unique name it had at the start, org.freedesktop.DBus.Peer.Ping, every
    10 ms; each answer must come within 50 ms);
  - every refused call (an error reply) leaves the state directory (every
    file's bytes and mode, every directory) exactly as it was; a call that
    succeeds may change it and gives the next baseline.

Destructive calls that succeed are fine; after each success in a phase where
polkit allows everything, the world is put back (the peers sweep-a/b/c, the
exit vpn of type wireguard that stays "starting" because its server is
unreachable, sweep-a using it; extra peers and exits beyond a few removed).
Skipped, because nothing in the sweep can undo them: a well-typed
Link.Remove while polkit allows it (a link needs another cell, or a restart
of the daemon with a state file, to come back); it is still sent with wrong
signatures and while polkit denies everything. The link "far" is seeded as a
state file before the daemon's last start (build_world).

Usage: bus_sweep.py [--seconds N] [--seed S] [--user root|nobody|both]
                    [--polkit both|allowed|denied]
builds a fresh world, sweeps, prints the summary table; exit 1 on a broken
invariant.
"""

import argparse
import base64
import collections
import json
import os
import random
import select
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from gi.repository import Gio, GLib  # noqa: E402

BUS_NAME = 'org.pic.Cell1'
ROOT_PATH = '/org/pic/Cell1'
ALL_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets',
               'org.pic.cell1.read-firewall', 'org.pic.cell1.authenticate', 'org.pic.cell1.manage-links',
               'org.pic.cell1.manage-exits', 'org.pic.cell1.backup', 'org.pic.cell1.peer-sync']
PING_LIMIT = 0.050
CALL_TIMEOUT_MS = 10000  # the slowest legitimate call (AddLink's pairing) gives up after 8 s
BASE_PEERS = ['sweep-a', 'sweep-b', 'sweep-c']
EXIT_NAME = 'vpn'
LINK_NAME = 'far'
PEERS_MAX = 24
EXITS_MAX = 3
VPN = '10.93.0.1/24'
UNREACHABLE_SERVER = '198.18.77.1'  # nothing answers there: the exit stays "starting"
FAR = '198.18.77.2'                 # the linked cell's gateway: a stand-in that takes every message
SETTLE = 0.05                       # a success's aftermath (a link's push) is over when nothing moved this long

# The linked cell's gateway: every message taken (204), so that a push after SetShared or OfferExit
# is done at once instead of retried (each attempt stores its counter: a change nobody asked for).
FAR_GATEWAY = r'''
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self.send_response(204)
        self.end_headers()
http.server.ThreadingHTTPServer((sys.argv[1], 8283), H).serve_forever()
'''

# ---------------------------------------------------------------- the caller process

# Reads requests (a JSON header line, then the body's GVariant bytes) on stdin, makes each
# call on its own connection and answers with a JSON line. Runs as root or as nobody.
CALLER = r'''
import json, os, sys
from gi.repository import Gio, GLib
conn = Gio.DBusConnection.new_for_address_sync(sys.argv[1],
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
inp, out = sys.stdin.buffer, sys.stdout
print(json.dumps({'unique': conn.get_unique_name(), 'uid': os.geteuid()}), flush=True)
devnull = os.open('/dev/null', os.O_RDONLY)
while True:
    line = inp.readline()
    if not line:
        break
    req = json.loads(line)
    data = inp.read(req['size'])
    msg = Gio.DBusMessage.new_method_call(req['dest'], req['path'], req['iface'], req['method'])
    if req['type']:
        msg.set_body(GLib.Variant.new_from_bytes(GLib.VariantType.new(req['type']), GLib.Bytes.new(data), False))
    if req['fds']:
        fds = Gio.UnixFDList.new()
        for _ in range(req['fds']):
            fds.append(devnull)
        msg.set_unix_fd_list(fds)
    try:
        reply, _ = conn.send_message_with_reply_sync(msg, Gio.DBusSendMessageFlags.NONE, req['timeout'], None)
    except GLib.Error as e:
        print(json.dumps({'outcome': 'local: ' + e.message[:80]}), flush=True)
        continue
    if reply.get_message_type() == Gio.DBusMessageType.ERROR:
        body = reply.get_body()
        text = body.unpack()[0] if body is not None and body.get_type_string().startswith('(s') else ''
        print(json.dumps({'outcome': reply.get_error_name(), 'message': text[:300]}), flush=True)
    else:
        body = reply.get_body()
        print(json.dumps({'outcome': 'ok', 'reply': body.unpack() if body is not None else None}, default=str),
              flush=True)
'''

# Pings the daemon's unique name every 10 ms until stdin closes, then prints what it saw.
PINGER = r'''
import json, select, sys, time
from gi.repository import Gio, GLib
conn = Gio.DBusConnection.new_for_address_sync(sys.argv[1],
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
target, limit = sys.argv[2], float(sys.argv[3])
print('ready', flush=True)
count, slowest, slowest_at, late, failed = 0, 0.0, 0.0, [], []
bus_slowest = 0.0
while not select.select([sys.stdin], [], [], 0.01)[0]:
    t0 = time.monotonic()
    conn.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId', None, None,
                   Gio.DBusCallFlags.NONE, 5000, None)
    bus_slowest = max(bus_slowest, time.monotonic() - t0)
    t0 = time.monotonic()
    try:
        conn.call_sync(target, '/org/pic/Cell1', 'org.freedesktop.DBus.Peer', 'Ping', None, None,
                       Gio.DBusCallFlags.NONE, 5000, None)
    except GLib.Error as e:
        failed.append((t0, e.message[:120]))
        continue
    dt = time.monotonic() - t0
    count += 1
    if dt > slowest:
        slowest, slowest_at = dt, t0
    if dt > limit / 2:
        late.append((t0, dt))
late.sort(key=lambda x: -x[1])
print(json.dumps({'count': count, 'slowest': slowest, 'bus_slowest': bus_slowest, 'slowest_at': slowest_at, 'late': late[:10],
                  'late_count': sum(1 for _, dt in late if dt > limit), 'failed': failed[:20], 'failed_count': len(failed)}), flush=True)
'''


class Caller:
    """A process making calls on a connection of its own, as root or as nobody."""

    def __init__(self, cell, as_user):
        prefix = h.NOBODY_PREFIX if as_user == 'nobody' else []
        self.proc = cell.world.spawn(prefix + [h.PYTHON, '-c', CALLER, cell.bus.address], name='sweep-caller-' + as_user,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.popen = self.proc.popen
        hello = self._read(30)
        self.unique, self.uid = hello['unique'], hello['uid']

    def _read(self, timeout):
        ready, _, _ = select.select([self.popen.stdout], [], [], timeout)
        line = self.popen.stdout.readline() if ready else b''
        if not line:
            raise RuntimeError('the sweep caller did not answer within %d s' % timeout)
        return json.loads(line)

    def call(self, path, iface, method, body, fds=0, timeout_ms=CALL_TIMEOUT_MS):
        """body: a tuple GVariant or None. Returns {'outcome': 'ok'|error name|'local: …', …}."""
        data = body.get_data_as_bytes().get_data() if body is not None else b''
        head = {'dest': BUS_NAME, 'path': path, 'iface': iface, 'method': method, 'size': len(data),
                'type': body.get_type_string() if body is not None else '', 'fds': fds, 'timeout': timeout_ms}
        self.popen.stdin.write(json.dumps(head).encode() + b'\n' + data)
        self.popen.stdin.flush()
        return self._read(timeout_ms / 1000 + 30)

    def stop(self):
        try:
            self.popen.stdin.close()
        except OSError:
            pass
        self.proc.stop()


class Pinger:
    def __init__(self, cell, target):
        self.proc = cell.world.spawn([h.PYTHON, '-c', PINGER, cell.bus.address, target, str(PING_LIMIT)],
                                     name='sweep-pinger', stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        ready, _, _ = select.select([self.proc.popen.stdout], [], [], 30)
        if not ready or self.proc.popen.stdout.readline().strip() != b'ready':
            raise RuntimeError('the pinger did not start')

    def finish(self):
        self.proc.popen.stdin.close()
        ready, _, _ = select.select([self.proc.popen.stdout], [], [], 30)
        out = json.loads(self.proc.popen.stdout.readline()) if ready else None
        self.proc.stop()
        if out is None:
            raise RuntimeError('the pinger did not report')
        return out


# ---------------------------------------------------------------- the state directory

def snapshot(root):
    """{relative path: ('dir', mode) | ('file', mode, bytes) | ('link', target)} for the whole tree."""
    out = {}
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        out[rel] = ('dir', stat.S_IMODE(os.lstat(d).st_mode))
        for f in files:
            p = os.path.join(d, f)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[os.path.join(rel, f)] = ('link', os.readlink(p))
                continue
            try:
                with open(p, 'rb') as fh:
                    out[os.path.join(rel, f)] = ('file', stat.S_IMODE(st.st_mode), fh.read())
            except FileNotFoundError:  # went away while we looked: a change all the same
                out[os.path.join(rel, f)] = ('gone',)
    return out


def settle(root, last, timeout=3):
    """The state once nothing has moved for SETTLE seconds (what a success set going is done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(SETTLE)
        now = snapshot(root)
        if now == last:
            return now
        last = now
    return last


def objects_changed(before, after):
    """Whether the files naming peers, exits or links came or went."""
    names = lambda snap: {k for k in snap if k.split('/')[0] in ('peers', 'exits', 'links')}  # noqa: E731
    return names(before) != names(after)


def snapshot_diff(before, after):
    lines = []
    for k in sorted(set(before) | set(after)):
        a, b = before.get(k), after.get(k)
        if a == b:
            continue
        if a is None:
            lines.append('+ %s' % k)
        elif b is None:
            lines.append('- %s' % k)
        elif a[0] == 'file' and b[0] == 'file' and a[2] == b[2]:
            lines.append('~ %s mode %o -> %o' % (k, a[1], b[1]))
        else:
            lines.append('~ %s' % k)
    return lines


# ---------------------------------------------------------------- signatures

BASIC = 'ybnqiuxtdsogh'
INT_RANGES = {'y': (0, 255), 'n': (-2 ** 15, 2 ** 15 - 1), 'q': (0, 2 ** 16 - 1), 'i': (-2 ** 31, 2 ** 31 - 1),
              'u': (0, 2 ** 32 - 1), 'x': (-2 ** 63, 2 ** 63 - 1), 't': (0, 2 ** 64 - 1), 'h': (0, 2 ** 31 - 1)}
NEAR = {'s': ['o', 'g', 'as', 'ay'], 'o': ['s'], 'g': ['s'], 'q': ['u', 'n', 'i', 'y'], 'u': ['q', 'i', 't', 'x'],
        't': ['x', 'u'], 'b': ['y', 'u', 's'], 'y': ['b', 'q'], 'i': ['u'], 'n': ['q'], 'x': ['t'], 'd': ['t'],
        'h': ['u'], 'v': ['s']}


def split_types(sig):
    """'sa{sv}(ii)' -> ['s', 'a{sv}', '(ii)']"""
    out, i = [], 0
    while i < len(sig):
        j = _type_end(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def _type_end(sig, i):
    c = sig[i]
    if c == 'a':
        return _type_end(sig, i + 1)
    if c in '({':
        close = ')' if c == '(' else '}'
        i += 1
        while sig[i] != close:
            i = _type_end(sig, i)
        return i + 1
    return i + 1


def random_type(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.55:
        return rng.choice(BASIC + 'v')
    if r < 0.75:
        return 'a' + random_type(rng, depth + 1)
    if r < 0.87:
        return 'a{%s%s}' % (rng.choice(BASIC), random_type(rng, depth + 1))
    return '(%s)' % ''.join(random_type(rng, depth + 1) for _ in range(rng.randint(1, 3)))


# ---------------------------------------------------------------- the argument generator

SERVICES = ['dns', 'web', 'mail', 'calendar', 'files', 'webdav']
NETWORKS = ['internet', 'lan', 'peers']
IFACES = ['org.pic.Cell1.Manager', 'org.pic.Cell1.Peer', 'org.pic.Cell1.Exit', 'org.pic.Cell1.Link',
          'org.freedesktop.DBus.Properties', 'org.freedesktop.DBus.Peer', 'org.freedesktop.DBus.Introspectable',
          'org.freedesktop.DBus.ObjectManager']
ODD = ['', ' ', '\t', '\n', '-', '_', '.', '..', '../../etc/passwd', '/', 'a/b', '%s%s%n', '%99999999d', '\\',
       '"', "'", '{}', '[]', 'null', 'true', '0', '-1', '4294967296', '1e309', 'NaN', '\x01', '\x7f', 'é',
       '\u202e', '\U0001f600', '\ufeff', 'A' * 33, 'a' * 32, 'a' * 63, 'a' * 64, 'x' * 253, 'x' * 254,
       '*', '?', 'con', 'peer', 'cell', 'link', 'exit', '10.93.0.1', '10.93.0.255', '0.0.0.0', '::1',
       '255.255.255.255/32', 'host:99999', '[::1]:0', 'pic-invite1.', 'pic-invite1.a.b', 'pic-msg1.a.b',
       'pic-msg1.' + 'A' * 4000]
# a multi-byte character across the places where messages cut what they quote ('%.64s' …)
CUT = [c * (n - 1) + m for n in (16, 32, 40, 64, 80) for c, m in (('a', 'é'), ('1', '€'), ('x', '\U0001f600'))]
HUGE = [255, 256, 1024, 1025, 4096, 65536, 1 << 20]
MAX_BODY = 4 << 20  # bytes: bigger bodies measure the bus more than the daemon


def wg_key(rng):
    return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(32))).decode()


def exit_config(private_key, server_public, server=UNREACHABLE_SERVER, port=51999):
    return ('[Interface]\nPrivateKey = %s\nAddress = 10.64.0.2/32\nDNS = 10.64.0.1\n[Peer]\nPublicKey = %s\n'
            'Endpoint = %s:%d\nAllowedIPs = 0.0.0.0/0, ::/0\n' % (private_key, server_public, server, port))


class Gen:
    """Arguments for one call: values by type code, names and keys the daemon knows."""

    def __init__(self, rng, world_state, max_body=None):
        self.rng = rng
        self.ws = world_state
        self.max_body = max_body or MAX_BODY
        self.big = 1  # huge things left for this body: one per call, so a body stays below a few MiB

    def huge(self, choices):
        if self.big <= 0:
            return None
        self.big -= 1
        return self.rng.choice(choices)

    # -- strings the daemon knows
    def peer_name(self):
        r = self.rng
        return r.choice(self.ws.peers + BASE_PEERS + ['p%d' % r.randint(0, 99), 'x', 'Z9_-z', '-bad', 'bad.name',
                                                      'a' * 32, 'a' * 33, ''])

    def exit_name(self):
        return self.rng.choice(self.ws.exits + [EXIT_NAME, LINK_NAME, 'e%d' % self.rng.randint(0, 9), '', 'nowhere'])

    def address(self):
        r = self.rng
        return r.choice(['10.93.0.%d' % r.randint(0, 255), '10.93.0.%d/32' % r.randint(0, 255), '10.93.0.7/24',
                         '10.94.0.2', '8.8.8.8', '10.93.0.1', '10.93.0.0', '10.93.0.255', 'fd00::1', '10.93.0'])

    def cidr(self):
        r = self.rng
        return r.choice(['10.%d.%d.1/24' % (r.randint(0, 255), r.randint(0, 255)), VPN, '192.168.%d.1/16' % r.randint(0, 255),
                         '8.8.8.1/24', '10.0.0.1/31', '10.0.0.1/32', '10.0.0.1/0', '10.0.0.0/24', '172.16.0.1/12'])

    def endpoint(self):
        r = self.rng
        return r.choice(['vpn.example.org:51820', '[fd00::1]:1', '', 'host:0', 'host:65536', '10.1.2.3:%d' % r.randint(0, 70000),
                         'a' * 254 + ':1', 'vpn.example.org', ':51820'])

    def strings_for(self, name, method):
        """Plausible values for an argument or option called name (a few wrong ones among them)."""
        r, n = self.rng, name.lower()
        if n in ('name', 'username'):
            if method in ('AddExit',):
                return self.exit_name()
            if method in ('Setup', 'Configure'):
                return r.choice(['home', 'cell-%d' % r.randint(0, 9), 'a' * 63, 'a' * 64, '-x', 'Home', 'x'])
            return r.choice([self.peer_name(), 'admin'])
        if n == 'type':
            return r.choice(['wireguard', 'openvpn', 'tor', 'cell', 'bogus', '', 'WireGuard'])
        if n == 'domain':
            return r.choice(['home.lan', 'x.y', 'a.' * 126 + 'b', 'bad..lan', '-x.lan', 'far.lan', 'lan'])
        if n in ('vpnaddress',):
            return self.cidr()
        if n in ('endpoint', 'pairingaddress', 'testtarget'):
            return self.endpoint() if n != 'testtarget' else r.choice(
                ['1.1.1.1:443', '198.18.9.9:%d' % r.randint(0, 70000), 'example.com:80', ':0', '1.1.1.1'])
        if n in ('adminpassword', 'old_password', 'new_password', 'password'):
            return r.choice(['x' * 7, 'x' * 8, 'correct horse battery', 'y' * 1024, 'y' * 1025, ''])
        if n in ('publickey', 'presharedkey'):
            return r.choice([wg_key(r), 'A' * 43 + '=', 'A' * 43, 'not base64!', ''])
        if n == 'address':
            return self.address()
        if n == 'exit':
            return self.exit_name()
        if n == 'config':
            return r.choice([exit_config(wg_key(r), wg_key(r)),
                             exit_config(wg_key(r), wg_key(r)).replace('0.0.0.0/0, ', ''),
                             exit_config(wg_key(r), wg_key(r)) + 'PostUp = touch /tmp/pwned\n',
                             exit_config(wg_key(r), wg_key(r)) * 2, '[Interface]\n', 'client\nremote x 1\n',
                             '[Interface]\nPrivateKey = ' + 'A' * 100000 + '\n'])
        if n in ('id',):
            return r.choice(self.ws.invite_ids + ['', 'AAAA', 'x' * 64])
        if n in ('invite',):
            return r.choice(self.ws.invites + ['pic-invite1.a.b', 'hello', ''])
        if n in ('interface_name', 'interface'):
            return r.choice(IFACES + ['org.pic.Cell1', ''])
        if n in ('property_name',):
            return r.choice(['Name', 'State', 'PendingChanges', 'Exit', 'Shared', 'Version', 'NoSuch', ''])
        return None

    def string(self, hint=None, method=None):
        r = self.rng
        if hint and r.random() < 0.6:
            s = self.strings_for(hint, method)
            if s is not None:
                if r.random() < 0.15 and s:  # a known value with a multi-byte character where it gets cut
                    i = r.choice([n for n in (15, 16, 31, 32, 39, 40, 63, 64, 79, 80) if n <= len(s)] or [len(s)])
                    s = s[:i - 1] + r.choice(['é', '€', '\U0001f600']) + s[i:]
                return s
        x = r.random()
        if x < 0.27:
            return r.choice(ODD)
        if x < 0.35:
            return r.choice(CUT)
        if x < 0.5:
            return r.choice(SERVICES + NETWORKS + BASE_PEERS + self.ws.peers + [EXIT_NAME, 'admin'])
        if x < 0.6:
            n = self.huge(HUGE) or r.choice(HUGE[:4])
            return r.choice('abcxyz/ -_.é\u202e') * min(n, self.max_body // 4)
        if x < 0.8:
            return ''.join(chr(r.choice([r.randint(1, 0x7f), r.randint(0x80, 0xd7ff), r.randint(0xe000, 0x10ffff)]))
                           for _ in range(r.randint(0, 40)))
        for hint2 in ('name', 'address', 'endpoint', 'publickey', 'config', 'invite'):
            if r.random() < 0.3:
                return self.strings_for(hint2, method)
        return self.peer_name()

    def object_path(self):
        r = self.rng
        x = r.random()
        if x < 0.6 and self.ws.paths:
            return r.choice(self.ws.paths)
        return r.choice(['/', ROOT_PATH, ROOT_PATH + '/peer/nosuch', ROOT_PATH + '/peer/_2e_2e', ROOT_PATH + '/exit/_',
                         '/org', '/a' * r.choice([1, 100, 4000]), ROOT_PATH + '/peer/' + 'a' * 300])

    def signature(self):
        r = self.rng
        return r.choice(['', 's', 'a{sv}', 'aa{sv}', 'y' * 255, ''.join(random_type(r) for _ in range(r.randint(1, 4)))])

    # -- values by type
    def value(self, t, hint=None, method=None, depth=0):
        """A GLib.Variant of type t."""
        r = self.rng
        c = t[0]
        if c in INT_RANGES and c != 'h':
            lo, hi = INT_RANGES[c]
            v = r.choice([lo, hi, 0, 1, hi - 1, r.randint(lo, hi), r.randint(0, min(hi, 70000)), 51820, 25, 60, 604800])
            v = min(max(v, lo), hi)
            return GLib.Variant(c, v)
        if c == 'h':
            return GLib.Variant('h', r.choice([0, 0, 0, 1, 7, 2 ** 31 - 1]))
        if c == 'b':
            return GLib.Variant('b', r.random() < 0.5)
        if c == 'd':
            return GLib.Variant('d', r.choice([0.0, -0.0, 1e308, -1e308, float('inf'), float('nan'), 5e-324, 0.5]))
        if c == 's':
            return GLib.Variant('s', self.string(hint, method))
        if c == 'o':
            return GLib.Variant('o', self.object_path())
        if c == 'g':
            return GLib.Variant('g', self.signature())
        if c == 'v':
            inner = random_type(r, 2) if depth < 3 else 's'
            if r.random() < 0.1 and depth < 4:
                inner = 'v'  # a variant in a variant
            return GLib.Variant.new_variant(self.value(inner, hint, method, depth + 1))
        if t == 'ay':
            data = r.choice([b'', b'a\0b', b'\0', b'\xff\xfe', b'laptop\0', bytes(min(self.huge(HUGE) or 300, self.max_body))])
            return GLib.Variant.new_from_bytes(GLib.VariantType.new('ay'), GLib.Bytes.new(data), True)
        if t == 'a{sv}':
            return self.options(method, depth)
        if t == 'aa{sv}':
            return self.option_list(method, depth)
        if c == 'a':
            elem = t[1:]
            if elem[0] == '{':
                kt, vt = split_types(elem[1:-1])
                n = self.length(depth, elem)
                return GLib.Variant.new_array(GLib.VariantType.new(elem), [
                    GLib.Variant.new_dict_entry(self.value(kt, hint, method, depth + 1), self.value(vt, hint, method, depth + 1))
                    for _ in range(n)]) if n else GLib.Variant(t, {})
            n = self.length(depth, elem)
            if elem == 's' and hint and hint.lower() in ('services', 'serviceaccess', 'networkaccess', 'dnsservers'):
                pool = {'services': SERVICES, 'serviceaccess': SERVICES, 'networkaccess': NETWORKS,
                        'dnsservers': ['1.1.1.1', '9.9.9.9#53', '::1', 'fd00::1#5353', '1.1.1.1#0', 'dns.example']}[hint.lower()]
                if r.random() < 0.7:
                    return GLib.Variant('as', [r.choice(pool + ['bogus', '']) for _ in range(min(n, 12))])
            if n > 50:  # one element, many times (building each one in Python is slow)
                one = self.value(elem, hint, method, depth + 1)
                n = min(n, max(1, self.max_body // max(1, one.get_size())))
                return GLib.Variant.new_array(GLib.VariantType.new(elem), [one] * n)
            return GLib.Variant.new_array(GLib.VariantType.new(elem), [self.value(elem, hint, method, depth + 1)
                                                                       for _ in range(n)]) if n else \
                GLib.Variant.new_array(GLib.VariantType.new(elem), [])
        if c == '(':
            return GLib.Variant.new_tuple(*[self.value(x, hint, method, depth + 1) for x in split_types(t[1:-1])])
        raise ValueError('no generator for %r' % t)

    def length(self, depth, elem):
        r = self.rng.random()
        if r < 0.25:
            return 0
        if r < 0.8:
            return self.rng.randint(1, 4)
        if r < 0.95 or depth > 0:
            return self.rng.randint(5, 64)
        simple = elem in ('s', 'o', 'y', 'u', 'b', 'q', 't', 'i')
        return self.huge([65536, 65537, 200000] if simple else [300, 2000]) or 64

    # -- a{sv} with the daemon's keys
    KEYS = {
        'Setup': {'Name': 's', 'Domain': 's', 'VpnAddress': 's', 'ListenPort': 'q', 'Endpoint': 's',
                  'AdminPassword': 's', 'DnsServers': 'as'},
        'Configure': {'Name': 's', 'Domain': 's', 'VpnAddress': 's', 'ListenPort': 'q', 'Endpoint': 's',
                      'DnsServers': 'as'},
        'AddPeer': {'PublicKey': 's', 'Address': 's', 'ServiceAccess': 'as', 'NetworkAccess': 'as',
                    'PersistentKeepalive': 'q', 'PresharedKey': ('s', 'b')},
        'AddPeers': {'Name': 's', 'PublicKey': 's', 'Address': 's', 'ServiceAccess': 'as', 'NetworkAccess': 'as',
                     'PersistentKeepalive': 'q', 'PresharedKey': ('s', 'b')},
        'Update': {'Address': 's', 'ServiceAccess': 'as', 'NetworkAccess': 'as', 'PersistentKeepalive': 'q',
                   'PublicKey': 's', 'PresharedKey': ('s', 'b'), 'Exit': 's', 'Config': 's', 'TestTarget': 's'},
        'CreateInvite': {'Lifetime': 'u', 'PairingAddress': 's'},
        'AddLink': {'PairingAddress': 's'},
        'AddExit': {'Config': 's', 'TestTarget': 's'},
    }

    def options(self, method, depth=0):
        r = self.rng
        keys = self.KEYS.get(method) or {k: v for m in self.KEYS.values() for k, v in m.items()}
        entries = []
        n = r.choice([0, 1, 1, 2, 3, len(keys)]) if r.random() < 0.95 or depth else (self.huge([1000, 20000]) or 3)
        for _ in range(min(n, 16)):
            x = r.random()
            if x < 0.85 or n > 50:
                key = r.choice(list(keys))
            else:
                key = r.choice(['', 'name', 'NAME', 'Bogus', 'Name\u00e9', 'x' * 300])
            want = keys.get(key, 's')
            want = r.choice(want) if isinstance(want, tuple) else want
            y = r.random()
            if y < 0.6:
                val = self.value(want, key, method, depth + 1)
            elif y < 0.8:
                val = self.value(r.choice(NEAR.get(want, ['s', 'b', 'a{sv}'])), key, method, depth + 1)
            elif y < 0.9:
                val = GLib.Variant.new_variant(self.value(want, key, method, depth + 1))  # one variant too deep
            else:
                val = self.value(random_type(r, 1), key, method, depth + 1)
            entries.append(GLib.Variant.new_dict_entry(GLib.Variant('s', key), GLib.Variant.new_variant(val)))
        if n > len(entries):  # many entries: the few made, over and over
            n = min(n, max(1, self.max_body // max(1, sum(e.get_size() for e in entries) // len(entries))))
            entries = (entries * (n // len(entries) + 1))[:n]
        elif entries and r.random() < 0.1:
            entries.append(entries[0])  # a key twice
        return GLib.Variant.new_array(GLib.VariantType.new('{sv}'), entries)

    def option_list(self, method, depth=0):
        r = self.rng
        n = r.choice([0, 1, 2, 3, 5]) if r.random() < 0.93 else (self.huge([300, 65537]) or 5)
        if n > 50:  # many copies of one entry: the check names one of them
            one = self.options(method, depth + 1)
            n = min(n, max(1, self.max_body // max(1, one.get_size())))
            return GLib.Variant.new_array(GLib.VariantType.new('a{sv}'), [one] * n)
        return GLib.Variant.new_array(GLib.VariantType.new('a{sv}'), [self.options(method, depth + 1) for _ in range(n)])

    # -- a whole body
    def body(self, method, in_args):
        """(body tuple or None, how, fds). in_args: [(name, type)] from introspection."""
        for _ in range(5):
            made = self._body(method, in_args)
            if made[0] is None or made[0].get_size() <= 2 * self.max_body:
                break
        return made

    def _body(self, method, in_args):
        r = self.rng
        types = [t for _, t in in_args]
        names = [n for n, _ in in_args]
        x = r.random()
        how = 'typed'
        if x < 0.12:
            how, types, names = 'random-signature', [random_type(r) for _ in range(r.randint(0, 4))], []
        elif x < 0.22 and types:
            i = r.randrange(len(types))
            near = NEAR.get(types[i], ['s', 'a{ss}', 'as', 'v', 'aa{sv}', 'a{sv}'])
            types = types[:i] + [r.choice([x for x in near if x != types[i]])] + types[i + 1:]
            how = 'one-wrong-type'
        elif x < 0.27:
            how = 'one-too-few' if types else 'one-too-many'
            types = types[:-1] if types else [random_type(r)]
        elif x < 0.31:
            how, types = 'one-too-many', types + [random_type(r)]
        self.big = 1
        values = [self.value(t, names[i] if i < len(names) else None, method) for i, t in enumerate(types)]
        fds = 0
        sig = ''.join(types)
        if 'h' in sig:
            fds = r.choice([0, 1, 2])
        if not values:
            return (None if r.random() < 0.8 else GLib.Variant.new_tuple()), how, fds
        return GLib.Variant.new_tuple(*values), how, fds


# ---------------------------------------------------------------- the world

class WorldState:
    """What the sweep knows exists: object paths and their methods, peers, exits, invites."""

    def __init__(self):
        self.paths = []
        self.methods = []      # (path, iface, method, [(arg name, type)])
        self.peers, self.exits, self.links = [], [], []
        self.invites, self.invite_ids = [], []


def introspect_all(conn):
    """Every node under / and every method on it, from Introspect."""
    import xml.etree.ElementTree as ET
    paths, methods, todo = [], [], ['/']
    while todo:
        path = todo.pop()
        xml = conn.call_sync(BUS_NAME, path, 'org.freedesktop.DBus.Introspectable', 'Introspect', None,
                             GLib.VariantType.new('(s)'), Gio.DBusCallFlags.NONE, 10000, None).unpack()[0]
        node = ET.fromstring(xml)
        paths.append(path)
        for iface in node.findall('interface'):
            for m in iface.findall('method'):
                args = [(a.get('name') or 'arg%d' % i, a.get('type')) for i, a in enumerate(m.findall('arg'))
                        if a.get('direction', 'in') == 'in']
                methods.append((path, iface.get('name'), m.get('name'), args))
        for child in node.findall('node'):
            todo.append(path.rstrip('/') + '/' + child.get('name'))
    return paths, methods


def gio_connect(address):
    return Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None, None)


def sv(d):
    return dbus.Dictionary(d, signature='sv')


def link_state_file(rng):
    """A confirmed link with a cell "far" that does not exist (nothing answers at its addresses)."""
    sign = base64.urlsafe_b64encode(bytes(rng.getrandbits(8) for _ in range(32))).decode().rstrip('=')
    return json.dumps({
        'schema': 1, 'created': int(time.time() * 1e6), 'tx_counter': 0, 'rx_counter': 0, 'confirmed': True,
        'push_pending': False, 'identity_pending': False, 'shared': ['web'], 'remote_shared': [],
        'cell': {'name': LINK_NAME, 'domain': 'far.lan', 'subnet': '10.95.0.0/24', 'dns': '10.95.0.1',
                 'endpoint': FAR + ':51820', 'pairing': FAR + ':8283', 'wg': h.wg_genkey()[1],
                 'sign': sign}}, indent=2)


def build_world(world, seed=0):
    """A cell set up, with peers sweep-a/b/c, the exit vpn (wireguard, server unreachable: it stays
    "starting") used by sweep-a, and a link far seeded as a state file. Returns the Cell."""
    rng = random.Random(seed)
    cell = h.Cell(world=world, extra_args=['--exit-ifname-prefix=pic-x'])
    cell.polkit.set_allowed(ALL_ACTIONS)
    cell.start()
    cell.manager().Setup(sv({'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': VPN,
                             'ListenPort': dbus.UInt16(51820), 'Endpoint': '198.18.77.3:51820'}))
    cell.stop()
    cell.netns.ip('link', 'set', 'lo', 'up')
    cell.netns.ip('addr', 'add', FAR + '/32', 'dev', 'lo')
    cell.netns.spawn([h.PYTHON, '-c', FAR_GATEWAY, FAR], name='far-gateway')
    os.makedirs(os.path.join(cell.state_dir, 'links'), mode=0o700, exist_ok=True)
    path = os.path.join(cell.state_dir, 'links', LINK_NAME + '.json')
    with open(path, 'w') as f:
        f.write(link_state_file(rng))
    os.chmod(path, 0o600)
    cell.start()
    ensure_world(cell.bus.connection(), rng)
    cell.manager().CreateInvite(sv({}))  # makes the signing key a real link would have been paired with
    return cell


def ensure_world(conn, rng):
    """Put back what the sweep needs (dbus-python, as root; polkit must allow it)."""
    def obj(path, iface):
        return dbus.Interface(conn.get_object(BUS_NAME, path, introspect=False), iface)
    mgr = obj(ROOT_PATH, 'org.pic.Cell1.Manager')
    managed = obj(ROOT_PATH, 'org.freedesktop.DBus.ObjectManager').GetManagedObjects()
    peers = {str(p['org.pic.Cell1.Peer']['Name']): path for path, p in managed.items() if 'org.pic.Cell1.Peer' in p}
    exits = {str(p['org.pic.Cell1.Exit']['Name']): (path, str(p['org.pic.Cell1.Exit']['Type']))
             for path, p in managed.items() if 'org.pic.Cell1.Exit' in p}
    changed = False
    extra_peers = [n for n in peers if n not in BASE_PEERS]
    for name in extra_peers[:max(0, len(peers) - PEERS_MAX)]:
        obj(peers.pop(name), 'org.pic.Cell1.Peer').Remove()
        changed = True
    for name in BASE_PEERS:
        if name not in peers:
            peers[name] = mgr.AddPeer(name, sv({}))
            changed = True
    extra_exits = [n for n, (_, t) in exits.items() if n != EXIT_NAME and t != 'cell']
    for name in extra_exits[:max(0, len(exits) - EXITS_MAX)]:
        for pname, ppath in peers.items():  # a used exit is not removed: free it first
            if str(obj(ppath, 'org.freedesktop.DBus.Properties').Get('org.pic.Cell1.Peer', 'Exit')) == name:
                obj(ppath, 'org.pic.Cell1.Peer').Update(sv({'Exit': ''}))
        obj(exits.pop(name)[0], 'org.pic.Cell1.Exit').Remove()
        changed = True
    if EXIT_NAME not in exits:
        mgr.AddExit(EXIT_NAME, 'wireguard', sv({'Config': exit_config(h.wg_genkey()[0], h.wg_genkey()[1])}))
        changed = True
    a = obj(peers['sweep-a'], 'org.freedesktop.DBus.Properties')
    if str(a.Get('org.pic.Cell1.Peer', 'Exit')) != EXIT_NAME:
        obj(peers['sweep-a'], 'org.pic.Cell1.Peer').Update(sv({'Exit': EXIT_NAME}))
        changed = True
    return changed


# ---------------------------------------------------------------- the sweep

class Result:
    def __init__(self, seed, as_user):
        self.seed, self.as_user = seed, as_user
        self.outcomes = collections.Counter()
        self.by_method = collections.defaultdict(collections.Counter)
        self.violations = []     # (what, call description, detail)
        self.no_reply = []       # the same, for calls that never got a reply
        self.calls = 0
        self.phases = []         # (polkit, seconds, calls)
        self.pings = None
        self.pid_before = self.pid_after = None
        self.slowest_call = None
        self.log = []            # (t0, t1, call) for finding what ran during the slowest ping
        self.restored = 0
        self.skipped = collections.Counter()

    def ok(self):
        return not self.violations

    def table(self):
        out = ['bus sweep of org.pic.Cell1 as %s, seed %d' % (self.as_user, self.seed)]
        for polkit, secs, calls in self.phases:
            out.append('  polkit %-8s %6.1f s %8d calls' % (polkit, secs, calls))
        out.append('%-52s %10s' % ('outcome', 'calls'))
        for name, n in sorted(self.outcomes.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append('%-52s %10d' % (name, n))
        out.append('%-52s %10d' % ('total', self.calls))
        p = self.pings or {}
        during = ''
        if p.get('slowest_at'):
            for t0, t1, what in self.log:
                if t0 <= p['slowest_at'] + p['slowest'] and t1 >= p['slowest_at']:
                    during = ' (during %s)' % what
                    break
        out.append('%-52s %10d' % ('pings answered', p.get('count', 0)))
        out.append('%-52s %10.1f ms%s' % ('slowest ping', 1000 * p.get('slowest', 0), during))
        out.append('%-52s %10.1f ms' % ('slowest GetId of the bus itself (dbus-daemon)', 1000 * p.get('bus_slowest', 0)))
        out.append('%-52s %10d' % ('pings over %d ms' % (PING_LIMIT * 1000), p.get('late_count', 0)))
        out.append('%-52s %10d' % ('pings failed', p.get('failed_count', 0)))
        out.append('%-52s %10s' % ('daemon PID before -> after', '%s -> %s' % (self.pid_before, self.pid_after)))
        refused_changes = sum(1 for v in self.violations if v[0] == 'refused call changed the state')
        out.append('%-52s %10d' % ('state changes on refusal', refused_changes))
        out.append('%-52s %10d' % ('world restored after a destructive success', self.restored))
        for what, n in self.skipped.items():
            out.append('%-52s %10d' % ('skipped: ' + what, n))
        if self.slowest_call:
            out.append('%-52s %10.1f ms (%s)' % ('slowest call', self.slowest_call[0] * 1000, self.slowest_call[1]))
        out.append('seed %d' % self.seed)
        for t0, dt in p.get('late', [])[:5]:
            during = [what for a, b, what in self.log if a <= t0 + dt and b >= t0]
            out.append('  a ping of %.1f ms during: %s' % (dt * 1000, '; '.join(during[:3]) or 'no call'))
        out.append('%-52s %10d' % ('calls left without a reply', len(self.no_reply)))
        for what, call, detail in self.violations[:20]:
            out.append('VIOLATION %s: %s\n    %s' % (what, call, detail))
        for what, call, detail in self.no_reply[:5]:
            out.append('NO REPLY (a bug, not an invariant): %s\n    %s' % (call, detail))
        return '\n'.join(out)


def describe(path, iface, method, body, how, fds, limit=300):
    """The call in words, and (when small) as a reproducer: the argv of `bus_sweep.py --replay`."""
    text = body.print_(True) if body is not None else '()'
    if len(text) > limit:
        text = text[:limit] + '… (%d chars)' % len(text)
    out = '%s %s.%s [%s, %s%s] %s' % (path, iface, method, how, body.get_type_string() if body else '',
                                       ', %d fds' % fds if fds else '', text)
    data = body.get_data_as_bytes().get_data() if body is not None else b''
    if len(data) <= 4096:
        out += '\n    replay: --replay %s %s %s %s %s' % (path, iface, method, body.get_type_string() if body else '-',
                                                         base64.b64encode(data).decode() or '-')
    return out


def sweep(cell, seconds, seed, as_user='root', polkit='both', verbose=False, max_body=MAX_BODY):
    """Sweep for `seconds` (split in halves for polkit='both': everything allowed, then nothing);
    returns a Result (result.ok() is False when an invariant broke; result.table() says which).
    Calls left without a reply are listed apart (result.no_reply): a bug, but not one of the
    invariants (the daemon lives, answers Ping and keeps its state)."""
    rng = random.Random(seed)
    res = Result(seed, as_user)
    phases = [('allowed', seconds / 2), ('denied', seconds / 2)] if polkit == 'both' else [(polkit, seconds)]
    root = gio_connect(cell.bus.address)
    dconn = cell.bus.connection()
    ws = WorldState()
    gen = Gen(rng, ws, max_body)
    res.pid_before = cell.pid()
    owner = root.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetNameOwner',
                           GLib.Variant('(s)', (BUS_NAME,)), None, Gio.DBusCallFlags.NONE, 5000, None).unpack()[0]
    caller = Caller(cell, as_user)
    pinger = Pinger(cell, owner)

    def refresh():
        ws.paths, ws.methods = introspect_all(root)
        managed = dbus.Interface(dconn.get_object(BUS_NAME, ROOT_PATH, introspect=False),
                                 'org.freedesktop.DBus.ObjectManager').GetManagedObjects()
        ws.peers = [str(p['org.pic.Cell1.Peer']['Name']) for p in managed.values() if 'org.pic.Cell1.Peer' in p]
        ws.exits = [str(p['org.pic.Cell1.Exit']['Name']) for p in managed.values() if 'org.pic.Cell1.Exit' in p]
        ws.links = [str(p['org.pic.Cell1.Link']['Name']) for p in managed.values() if 'org.pic.Cell1.Link' in p]

    try:
        for phase, secs in phases:
            cell.polkit.set_allowed(ALL_ACTIONS if phase == 'allowed' else [])
            if phase == 'allowed':
                cell.polkit.set_allowed(ALL_ACTIONS)
                if ensure_world(dconn, rng):
                    res.restored += 1
            refresh()
            base = snapshot(cell.state_dir)
            start, calls0 = time.monotonic(), res.calls
            while time.monotonic() - start < secs:
                path, iface, method, in_args = rng.choice(ws.methods)
                if rng.random() < 0.03:  # a method or an object that is not there
                    method = rng.choice([method + 'X', 'NoSuchMethod', ''.join(rng.choice('ab') for _ in range(3))])
                    if rng.random() < 0.5:
                        path = gen.object_path()
                tg = time.monotonic()
                body, how, fds = gen.body(method, in_args)
                tg = time.monotonic() - tg
                well_typed = how == 'typed' and (body.get_type_string() if body is not None else '()') == \
                    '(%s)' % ''.join(t for _, t in in_args)
                if phase == 'allowed' and well_typed and iface == 'org.pic.Cell1.Link' and method == 'Remove':
                    res.skipped['Link.Remove while allowed (nothing brings a link back)'] += 1
                    continue
                what = '%s.%s' % (iface.rsplit('.', 1)[-1], method)
                t0 = time.monotonic()
                reply = caller.call(path, iface, method, body, fds)
                t1 = time.monotonic()
                res.log.append((t0, t1, '%s %s %d bytes' % (what, how, body.get_size() if body is not None else 0)))
                if not res.slowest_call or t1 - t0 > res.slowest_call[0]:
                    res.slowest_call = (t1 - t0, what)
                outcome = reply['outcome']
                res.calls += 1
                res.outcomes[outcome] += 1
                res.by_method[what][outcome] += 1
                after = snapshot(cell.state_dir)
                if verbose:
                    print('gen %6.3f call %6.3f %-28s %-16s %-8d %s' % (
                        tg, t1 - t0, what, how, body.get_size() if body is not None else 0, outcome), file=sys.stderr)
                if outcome == 'ok':
                    if method == 'CreateInvite' and reply.get('reply'):
                        ws.invites.append(str(reply['reply'][0]))
                    if method == 'ListInvites' and reply.get('reply'):
                        ws.invite_ids = [str(i[0]) for i in reply['reply'][0]]
                    after = settle(cell.state_dir, after)
                    if after != base or method.startswith(('Add', 'Remove', 'Setup', 'Apply')):
                        if phase == 'allowed' and ensure_world(dconn, rng):
                            res.restored += 1
                            after = settle(cell.state_dir, snapshot(cell.state_dir))
                        if objects_changed(base, after):
                            refresh()
                    base = after
                elif outcome.startswith('local: '):
                    res.no_reply.append(('no reply', describe(path, iface, method, body, how, fds), outcome))
                    base = settle(cell.state_dir, after)
                elif after != base:
                    res.violations.append(('refused call changed the state',
                                           describe(path, iface, method, body, how, fds),
                                           '%s: %s; %s' % (outcome, reply.get('message', '')[:120],
                                                           ', '.join(snapshot_diff(base, after)[:8]))))
                    base = after
            res.phases.append((phase, time.monotonic() - start, res.calls - calls0))
    finally:
        caller.stop()
        res.pings = pinger.finish()
        cell.polkit.set_allowed(ALL_ACTIONS)
        root.close_sync(None)
    try:
        res.pid_after = cell.pid()
    except dbus.DBusException as e:
        res.pid_after = 'gone (%s)' % e.get_dbus_name()
    if res.pid_after != res.pid_before:
        res.violations.append(('daemon PID changed', '', '%s -> %s' % (res.pid_before, res.pid_after)))
    p = res.pings
    if p['late_count']:
        res.violations.append(('Ping slower than %d ms' % (PING_LIMIT * 1000), '',
                               '%d times, slowest %.1f ms' % (p['late_count'], p['slowest'] * 1000)))
    if p['failed_count']:
        res.violations.append(('Ping failed', '', '%d times: %s' % (p['failed_count'], p['failed'][:3])))
    if p['count'] == 0:
        res.violations.append(('no Ping answered', '', ''))
    return res


def replay(args):
    path, iface, method, vtype, data = args.replay
    body = None if vtype == '-' else GLib.Variant.new_from_bytes(
        GLib.VariantType.new(vtype), GLib.Bytes.new(b'' if data == '-' else base64.b64decode(data)), False)
    with h.TempWorld() as world:
        cell = build_world(world, args.seed or 0)
        if args.polkit == 'denied':
            cell.polkit.set_allowed([])
        before = snapshot(cell.state_dir)
        caller = Caller(cell, 'nobody' if args.user == 'nobody' else 'root')
        t0 = time.monotonic()
        reply = caller.call(path, iface, method, body, 1 if 'h' in vtype else 0)
        print('%.3f s: %s' % (time.monotonic() - t0, reply))
        print('state changed: %s' % (', '.join(snapshot_diff(before, snapshot(cell.state_dir))) or 'no'))
        caller.stop()
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--seconds', type=float, default=60, help='per user (default 60)')
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--user', choices=['root', 'nobody', 'both'], default='both')
    ap.add_argument('--polkit', choices=['both', 'allowed', 'denied'], default='both')
    ap.add_argument('--verbose', action='store_true', help='print each call')
    ap.add_argument('--max-body', type=int, default=MAX_BODY, help='bytes of arguments per call at most (about)')
    ap.add_argument('--replay', nargs=5, metavar=('PATH', 'IFACE', 'METHOD', 'TYPE', 'BASE64'),
                    help='build the world, make this one call (as a violation prints it) as --user, print the reply')
    args = ap.parse_args(argv)
    if args.replay:
        return replay(args)
    h.require_root()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2 ** 32)
    users = ['root', 'nobody'] if args.user == 'both' else [args.user]
    failed = False
    with h.TempWorld() as world:
        try:
            cell = build_world(world, seed)
            for i, user in enumerate(users):
                res = sweep(cell, args.seconds, seed + i, user, args.polkit, args.verbose, args.max_body)
                print(res.table(), flush=True)
                print(flush=True)
                failed |= not res.ok()
        except BaseException:
            world.dump_logs()
            raise
        if failed:
            world.dump_logs()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
