#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Pairing for real: three cells, each with its own bus, pic-celld and gateway
(its pairing listener on the cell's LAN address, in the cell's namespace),
joined by veth links. A adds B's invite: B's gateway hands the request to
B's AcceptPairing, B answers signed, both sides get a link object, a
WireGuard peer for the other's subnet (the tunnel handshakes: "connected")
and a DNS forward for its domain; the invite is used up. Then what must be
refused is refused by name, with nothing changed: a used invite, a revoked
one, a tampered one, a colliding subnet or domain (on either side), a second
link with the same cell, an invite of the cell itself."""

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from gateway_client import gatewayd_binary  # noqa: E402

N = os.getpid() % 200
LAN = {'a': '10.244.%d.1' % N, 'b': '10.244.%d.2' % N, 'c': '10.244.%d.3' % N}
LAPTOP_LAN = '10.244.%d.10' % N
VPN = {'a': '10.72.%d.1/24' % N, 'b': '10.73.%d.1/24' % N, 'c': '10.74.%d.1/24' % N}
ALLOWED = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.manage-links', 'org.pic.cell1.read-secrets',
           'org.pic.cell1.peer-sync']
MANAGER = 'org.pic.Cell1.Manager'
LINK = 'org.pic.Cell1.Link'
ERR = 'org.pic.Cell1.Error.'


def sv(d):
    return dbus.Dictionary(d, signature='sv')


def net(vpn):
    a, prefix = vpn.split('/')
    return '%s.0/%s' % (a.rsplit('.', 1)[0], prefix)


CELL_ARGS = ['--stats-interval=0.3', '--link-confirm-timeout=4', '--log-level=debug']


def build_cells(cls, names=('a', 'b', 'c'), allowed=ALLOWED, lan=LAN, vpn=VPN, before_start=None, args=CELL_ARGS):
    """cls.cells: pic-celld with its gateway (pairing on its LAN address) per name, set up, on one
    bridge in cls.hub (the "internet"); cls.start_gateway must exist. lan, vpn: each name's
    addresses; before_start(name, cell): a last word before the cell starts; args: pic-celld's
    (and --test-failure-file). Returns the hub."""
    w = cls.world
    cls.cells = {}
    hub = h.Netns(world=w)  # the "internet": a bridge the cells' LANs hang off
    hub.ip('link', 'add', 'br0', 'type', 'bridge')
    hub.ip('link', 'set', 'br0', 'up')
    for name in names:
        cell = h.Cell(world=w, name=name,
                      extra_args=list(args) + ['--test-failure-file=%s/fail-%s' % (w.path, name)])
        if_cell, if_hub = h.veth(cell.netns, hub, lan[name] + '/24', None, world=w)
        hub.ip('link', 'set', if_hub, 'master', 'br0')
        hub.ip('link', 'set', if_hub, 'up')
        cell.polkit.set_allowed(allowed)
        # what the shipped sysctl.d/50-pic.conf does on a real system
        cell.netns.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
        if before_start:
            before_start(name, cell)
        cell.start()
        cls.cells[name] = cell
        # its gateway in its namespace: pairing requests on its LAN address only
        cls.start_gateway(name)
        cell.manager().Setup(sv({'Name': name, 'Domain': name + '.lan', 'VpnAddress': vpn[name],
                                 'Endpoint': lan[name] + ':51820'}))
    for name, cell in cls.cells.items():
        h.wait_for(lambda: cell.netns.run(['ss', '-Htln', 'sport = :8283'], check=False).stdout.strip(), 10, 0.05,
                   'the gateway of %s listening' % name)
    return hub


class PairingWorld(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        w = cls.world
        hub = build_cells(cls)
        # a device of a's people, on the same "internet", and b's web (a stand-in on b's VPN address)
        cls.laptop_ns = h.Netns(world=w)
        _, if_hub = h.veth(cls.laptop_ns, hub, LAPTOP_LAN + '/24', None, world=w)
        hub.ip('link', 'set', if_hub, 'master', 'br0')
        hub.ip('link', 'set', if_hub, 'up')
        cls.cells['b'].netns.spawn(['socat', 'TCP-LISTEN:80,bind=%s,reuseaddr,fork' % VPN['b'].split('/')[0],
                                    'SYSTEM:echo web of b'], name='web-b')

    @classmethod
    def start_gateway(cls, name):
        cell = cls.cells[name]
        cell.netns.spawn([gatewayd_binary(), '--listen=127.0.0.1:%d' % (8400 + N), '--pairing-listen=%s:8283' % LAN[name],
                          '--log-level=debug'], name='gateway-' + name,
                         env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cell.bus.address))

    def stop_gateway(self, name):
        netns = self.cells[name].netns
        for pid in h.run(['ip', 'netns', 'pids', netns.name]).stdout.split():
            if h.process_name(int(pid)) == 'pic-gatewayd':
                os.kill(int(pid), signal.SIGTERM)
        h.wait_for(lambda: not netns.run(['ss', '-Htln', 'sport = :8283'], check=False).stdout.strip(), 10, 0.05,
                   'the gateway of %s gone' % name)

    def mgr(self, name):
        return self.cells[name].manager()

    def links(self, name):
        """{link name: properties} as the cell's bus shows them."""
        out = {}
        for path, ifaces in self.cells[name].managed_objects().items():
            if LINK in ifaces:
                out[str(ifaces[LINK]['Name'])] = {k: (str(v) if isinstance(v, dbus.String) else v)
                                                  for k, v in ifaces[LINK].items()}
        return out

    def invite(self, name, **options):
        return str(self.mgr(name).CreateInvite(sv(options))[0])

    def assertRefused(self, name, words, fn, *args):
        with self.assertRaises(dbus.DBusException) as cm:
            fn(*args, timeout=30)
        self.assertEqual(cm.exception.get_dbus_name(), name, cm.exception)
        self.assertIn(words, cm.exception.get_dbus_message())

    def state_files(self, name):
        """Every file of the cell's state but the invites (which these calls may add or use), with its bytes."""
        out = {}
        root = self.cells[name].state_dir
        for d, _, files in os.walk(root):
            for f in files:
                path = os.path.join(d, f)
                with open(path, 'rb') as fh:
                    out[os.path.relpath(path, root)] = hashlib.sha256(fh.read()).hexdigest()
        return {k: v for k, v in out.items() if not k.startswith('invites/')}

    def uapi_peers(self, name):
        return {p['public_key']: p for p in h.uapi_get(self.cells[name].uapi_socket)['peers']}

    def test_1_pairing(self):
        text = self.invite('b')
        invite_id = [str(i) for i, _, _ in self.mgr('b').ListInvites()][0]
        path = str(self.mgr('a').AddLink(text, sv({}), timeout=30))
        self.assertEqual(path, '/org/pic/Cell1/link/b')

        on_a, on_b = self.links('a')['b'], self.links('b')['a']
        self.assertEqual((on_a['Domain'], on_a['VpnSubnet'], on_a['DnsAddress'], on_a['Endpoint']),
                         ('b.lan', net(VPN['b']), VPN['b'].split('/')[0], LAN['b'] + ':51820'))
        self.assertEqual((on_b['Domain'], on_b['VpnSubnet'], on_b['Endpoint']),
                         ('a.lan', net(VPN['a']), LAN['a'] + ':51820'))
        self.assertEqual(on_a['PublicKey'], str(self.cells['b'].properties(MANAGER)['PublicKey']))
        self.assertEqual(on_b['PublicKey'], str(self.cells['a'].properties(MANAGER)['PublicKey']))
        # used up: gone from the list and from the disk
        self.assertNotIn(invite_id, [str(i) for i, _, _ in self.mgr('b').ListInvites()])
        self.assertFalse(os.path.exists(os.path.join(self.cells['b'].state_dir, 'invites', invite_id + '.json')))

        # each is a WireGuard peer of the other, for the other's subnet; the tunnel comes up
        b_key = base64.b64decode(on_a['PublicKey']).hex()
        self.assertEqual(self.uapi_peers('a')[b_key]['allowed_ip'], [net(VPN['b'])])
        h.wait_for(lambda: self.links('a')['b']['State'] == 'connected' and
                   self.links('b')['a']['State'] == 'connected', 20, 0.2, 'both sides connected')
        self.assertGreater(self.links('a')['b']['LatestHandshake'], 0)
        # each routes the other's subnet into the tunnel: the cells reach each other
        route = self.cells['a'].netns.run(['ip', '-4', 'route', 'show', net(VPN['b'])]).stdout
        self.assertIn('dev %s proto 165' % self.cells['a'].ifname, route)
        self.assertEqual(self.cells['a'].netns.run(['ping', '-c1', '-W3', VPN['b'].split('/')[0]],
                                                   check=False).returncode, 0)
        self.assertEqual(self.cells['b'].netns.run(['ping', '-c1', '-W3', VPN['a'].split('/')[0]],
                                                   check=False).returncode, 0)
        # the other's domain is forwarded to its DNS address
        forwards = [(str(d), str(s)) for d, s in self.cells['a'].properties(MANAGER)['DnsForwards']]
        self.assertIn(('b.lan', VPN['b'].split('/')[0]), forwards)
        # stored, 0600, and back after a restart
        stored = os.path.join(self.cells['a'].state_dir, 'links', 'b.json')
        self.assertEqual(os.stat(stored).st_mode & 0o777, 0o600)
        self.cells['a'].restart()
        self.assertEqual(self.links('a')['b']['VpnSubnet'], net(VPN['b']))

    def test_2_refusals_change_nothing(self):
        # c's signing key is made on first use (like a host key), so make that use first
        self.invite('c')
        before = {n: self.state_files(n) for n in self.cells}
        b_invite = self.invite('b')
        self.mgr('b').RevokeInvite([str(i) for i, _, _ in self.mgr('b').ListInvites()][-1])
        self.assertRefused(ERR + 'InviteUnknown', 'Cell b refused', self.mgr('c').AddLink, b_invite, sv({}))

        # tampered on the way: one changed character of the payload
        b_invite = self.invite('b')
        prefix, payload, sig = b_invite.split('.')
        raw = bytearray(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))
        raw[raw.index(b'"b.lan"') + 1] = ord('x')
        forged = '.'.join([prefix, base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('='), sig])
        self.assertRefused(ERR + 'Forged', 'signature', self.mgr('c').AddLink, forged, sv({}))
        self.assertRefused(ERR + 'InvalidInvite', 'does not start with', self.mgr('c').AddLink, 'hello', sv({}))

        # a cell's own invite
        self.assertRefused(ERR + 'Conflict', 'own invite', self.mgr('b').AddLink, b_invite, sv({}))
        for n in self.cells:
            self.assertEqual(self.state_files(n), before[n], n)
        # b's invite is still open after all that: nothing used it
        self.assertEqual(len(self.mgr('b').ListInvites()), 1)

    def test_3_conflicts_on_either_side(self):
        before = {n: self.state_files(n) for n in self.cells}
        # c takes a's domain: b (linked with a) refuses c by name
        self.mgr('c').Configure(sv({'Domain': 'a.lan'}))
        before['c'] = self.state_files('c')
        self.assertRefused(ERR + 'Conflict', 'Cell b refused: Cell c uses domain a.lan, as linked cell a does',
                           self.mgr('c').AddLink, self.invite('b'), sv({}))
        # and c refuses a, whose domain it uses, before sending anything
        self.assertRefused(ERR + 'Conflict', 'uses this cell\'s own domain a.lan', self.mgr('c').AddLink,
                           self.invite('a'), sv({}))
        for n in self.cells:
            self.assertEqual(self.state_files(n), before[n], n)
        self.mgr('c').Configure(sv({'Domain': 'c.lan'}))

    def test_4_remove(self):
        self.mgr('a').AddLink(self.invite('c'), sv({}), timeout=30)
        self.assertIn('c', self.links('c') and self.links('a'))
        link = self.cells['a'].interface(LINK, '/org/pic/Cell1/link/c')
        c_key = base64.b64decode(self.links('a')['c']['PublicKey']).hex()
        self.assertIn(c_key, self.uapi_peers('a'))
        link.Remove()
        self.assertNotIn('c', self.links('a'))
        self.assertEqual(self.cells['a'].netns.run(['ip', '-4', 'route', 'show', net(VPN['c'])]).stdout, '')
        self.assertNotIn(c_key, self.uapi_peers('a'))
        self.assertFalse(os.path.exists(os.path.join(self.cells['a'].state_dir, 'links', 'c.json')))
        # a told c (a signed "unlink"): c drops its side too
        h.wait_for(lambda: 'a' not in self.links('c'), 10, 0.02, "c's side of the link gone")

    def test_5_picctl(self):
        c = self.cells['c']
        p = c.picctl('link', 'add', '-', input=self.invite('b') + '\n', timeout=40)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, 'Linked: /org/pic/Cell1/link/b'), p)
        p = c.picctl('link', 'add', 'pic-invite1.nope.nope')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('cut short', p.stderr)

        h.wait_for(lambda: self.links('c')['b']['State'] == 'connected', 20, 0.2, 'c-b connected')
        p = c.picctl('link', 'list')
        self.assertEqual(p.returncode, 0, p)
        self.assertRegex(p.stdout, r'\nb +connected +%s +b\.lan +\d+ s ago' % net(VPN['b']).replace('.', r'\.'))
        listed = json.loads(c.picctl('link', 'list', '--json').stdout)
        self.assertEqual([(x['Name'], x['State']) for x in listed], [('b', 'connected')])
        p = c.picctl('link', 'show', 'b')
        self.assertIn('VpnSubnet: %s' % net(VPN['b']), p.stdout)
        self.assertIn('SigningKey: %s' % self.links('c')['b']['SigningKey'], p.stdout)
        self.assertEqual(json.loads(c.picctl('link', 'show', 'b', '--json').stdout)['Domain'], 'b.lan')
        p = c.picctl('link', 'show', 'zz')
        self.assertNotEqual(p.returncode, 0)
        p = c.picctl('link', 'remove', 'b')
        self.assertEqual((p.returncode, p.stderr), (0, ''), p)
        self.assertIn('No linked cells', c.picctl('link', 'list').stdout)
        h.wait_for(lambda: 'c' not in self.links('b'), 10, 0.02, "b's side of the link gone")

    def test_6_pairing_again_heals_a_half_link(self):
        # a removes its side while b's gateway is away: b is not told and keeps its half
        self.stop_gateway('b')
        self.cells['a'].interface(LINK, '/org/pic/Cell1/link/b').Remove()
        self.start_gateway('b')
        h.wait_for(lambda: self.cells['b'].netns.run(['ss', '-Htln', 'sport = :8283'], check=False).stdout.strip(),
                   10, 0.05, "b's gateway back")
        self.assertIn('a', self.links('b'))
        path = str(self.mgr('a').AddLink(self.invite('b'), sv({}), timeout=30))
        self.assertEqual(path, '/org/pic/Cell1/link/b')
        self.assertIn('a', self.links('b'))  # its side, replaced in place
        h.wait_for(lambda: self.links('a')['b']['State'] == 'connected' and
                   self.links('b')['a']['State'] == 'connected', 20, 0.2, 'a-b connected again')
        self.assertEqual(self.cells['a'].netns.run(['ping', '-c1', '-W3', VPN['b'].split('/')[0]],
                                                   check=False).returncode, 0)

    def test_7_a_pairing_that_never_handshakes_leaves_nothing(self):
        # c's WireGuard traffic is dropped (in c's namespace): the pairing itself (HTTP) works, no tunnel does
        c = self.cells['c']
        c.netns.run(['nft', '-f', '-'], input='table inet pic_test_block {\n'
                    ' chain out { type filter hook output priority 0; udp dport 51820 drop; }\n'
                    ' chain in { type filter hook input priority 0; udp dport 51820 drop; }\n}\n')
        try:
            self.mgr('c').AddLink(self.invite('b'), sv({}), timeout=30)
            self.assertEqual(self.links('c')['b']['State'], 'pairing')
            self.assertEqual(self.links('b')['c']['State'], 'pairing')
            # --link-confirm-timeout=4: both sides drop it, file and object
            h.wait_for(lambda: 'b' not in self.links('c') and 'c' not in self.links('b'), 15, 0.2,
                       'the unconfirmed link dropped on both sides')
            for cell, other in (('c', 'b'), ('b', 'c')):
                self.assertFalse(os.path.exists(os.path.join(self.cells[cell].state_dir, 'links', other + '.json')))
        finally:
            c.netns.run(['nft', 'delete', 'table', 'inet', 'pic_test_block'], check=False)

    def fetch_web_of_b(self):
        p = self.laptop.run(['socat', '-T2', '-', 'TCP:%s:80,connect-timeout=2' % VPN['b'].split('/')[0]],
                            check=False, timeout=10)
        return p.stdout.strip()

    def test_8_sharing(self):
        # a's laptop may open connections out of a's tunnel ("peers"): its config routes b's subnet too
        path = self.mgr('a').AddPeer('laptop', sv({'NetworkAccess': dbus.Array(['peers'], signature='s')}))
        config = str(self.cells['a'].interface('org.pic.Cell1.Peer', path).GetConfig())
        self.assertIn('AllowedIPs = %s, %s' % (net(VPN['a']), net(VPN['b'])), config)
        self.__class__.laptop = h.WgClient(self.laptop_ns, self.world.unique('wgl'), config, world=self.world)
        h.wait_for(lambda: self.laptop.ping(VPN['a'].split('/')[0]), 15, 0.2, 'the laptop in a\'s tunnel')

        self.assertEqual(self.fetch_web_of_b(), '', 'nothing is shared by default')
        p = self.cells['b'].picctl('link', 'share', 'a', '+web', '+files', '-files')
        self.assertEqual((p.returncode, p.stdout.strip()), (0, 'Shared with a: web'), p)
        self.assertEqual(list(self.links('b')['a']['Shared']), ['web'])
        self.assertIn('Shared: web', self.cells['b'].picctl('link', 'show', 'a').stdout)
        self.assertEqual(self.fetch_web_of_b(), 'web of b')
        # stored: a restart of b keeps it
        self.cells['b'].restart()
        self.assertEqual(list(self.links('b')['a']['Shared']), ['web'])
        self.assertEqual(self.fetch_web_of_b(), 'web of b')
        # taken back: the next connection is refused
        self.cells['b'].interface(LINK, '/org/pic/Cell1/link/a').SetShared(dbus.Array([], signature='s'))
        self.assertEqual(self.fetch_web_of_b(), '')
        for bad, words in ((['telnet'], "'telnet' is not a service"), (['web', 'web'], "'web' is given twice")):
            self.assertRefused('org.freedesktop.DBus.Error.InvalidArgs', words,
                               self.cells['b'].interface(LINK, '/org/pic/Cell1/link/a').SetShared,
                               dbus.Array(bad, signature='s'))

    def test_9_a_crash_before_the_answer_leaves_no_half_link(self):
        b, c = self.cells['b'], self.cells['c']
        invite = self.invite('b')
        with open(os.path.join(self.world.path, 'fail-b'), 'w') as f:
            f.write('pairing-crash 0\n')
        try:
            # b stores its side of the link and the used invite, then dies before it answers
            self.assertRefused(ERR + 'Unreachable', 'Cell b', self.mgr('c').AddLink, invite, sv({}))
        finally:
            os.unlink(os.path.join(self.world.path, 'fail-b'))
        self.assertNotIn('b', self.links('c'))
        b.start()  # bus activation brings it back, from its files
        self.assertEqual(self.links('b')['c']['State'], 'pairing')
        # the invite stays used: it can never be used twice
        self.assertRefused(ERR + 'InviteUnknown', 'Cell b refused', self.mgr('c').AddLink, invite, sv({}))
        # no handshake ever comes (c has no such link): b drops its half on its own
        h.wait_for(lambda: 'c' not in self.links('b'), 15, 0.2, "b's half link dropped")
        self.assertFalse(os.path.exists(os.path.join(b.state_dir, 'links', 'c.json')))
        # and pairing with a fresh invite works
        self.mgr('c').AddLink(self.invite('b'), sv({}), timeout=30)
        h.wait_for(lambda: self.links('c')['b']['State'] == 'connected', 20, 0.2, 'c-b connected')

    # ---- messages after pairing, made here as cell b would (its signing key is in its state)

    def key_of(self, name):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        with open(os.path.join(self.cells[name].state_dir, 'signing.key')) as f:
            raw = base64.urlsafe_b64decode(f.read().strip() + '==')
        return Ed25519PrivateKey.from_private_bytes(raw[:32]), raw[32:]

    @staticmethod
    def fingerprint(public):
        return base64.urlsafe_b64encode(hashlib.blake2b(public, digest_size=16).digest()).decode().rstrip('=')

    def message(self, sender, to, counter, type, body, signer=None):
        key, public = self.key_of(sender)
        payload = json.dumps({'v': 1, 'from': self.fingerprint(public), 'to': to, 'counter': counter, 'type': type,
                              'body': body}, separators=(',', ':')).encode()
        sig = (signer or key).sign(b'pic message v1\n' + payload)
        b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip('=')  # noqa: E731
        return 'pic-msg1.%s.%s' % (b64(payload), b64(sig))

    def post(self, to_cell, text):
        """POST /cell/v1/message to @to_cell's pairing listener, from the "internet": (status, body)."""
        script = ('import sys, urllib.request, urllib.error\n'
                  'req = urllib.request.Request(sys.argv[1], data=sys.stdin.buffer.read(), method="POST")\n'
                  'try:\n    r = urllib.request.urlopen(req, timeout=10); print(r.status); print(r.read().decode())\n'
                  'except urllib.error.HTTPError as e:\n    print(e.code); print(e.read().decode())\n')
        p = self.laptop_ns.run(['/usr/bin/python3', '-c', script, 'http://%s:8283/cell/v1/message' % LAN[to_cell]],
                               input=text)
        status, _, body = p.stdout.partition('\n')
        return int(status), body.strip()

    def test_9b_messages_from_a_linked_cell(self):
        a_fp = self.links('b')['a']['SigningKey']  # b's view of a's key: whom b writes to
        link_file = os.path.join(self.cells['a'].state_dir, 'links', 'b.json')
        # counters from 1000: b's own pushes (test_8's sharing) used the first ones
        text = self.message('b', a_fp, 1000, 'shared', {'services': ['web']})
        self.assertEqual(self.post('a', text), (204, ''))
        self.assertEqual(list(self.links('a')['b']['RemoteShared']), ['web'])
        with open(link_file, 'rb') as f:
            stored = f.read()

        refused = [
            (text, 409, 'Replayed'),                                                       # the same again
            (self.message('b', a_fp, 999, 'shared', {'services': []}), 409, 'Replayed'),   # counter not newer
            (self.message('b', a_fp, 1005, 'shared', {'services': []}, signer=self.key_of('c')[0]), 403, 'Forged'),
            (self.message('c', self.links('c')['b']['SigningKey'], 1005, 'shared', {'services': []}), 404, 'UnknownCell'),
            (self.message('b', self.links('c')['b']['SigningKey'], 1005, 'shared', {'services': []}), 400,
             'InvalidMessage'),                                                            # for another cell
            (self.message('b', a_fp, 1005, 'shared', {'services': ['telnet']}), 400, 'InvalidMessage'),
            (self.message('b', a_fp, 1005, 'reboot', {}), 400, 'InvalidMessage'),
            ('pic-msg1.nonsense', 400, 'InvalidMessage'),
        ]
        counted = int(self.cells['a'].properties(MANAGER)['RefusedMessages'])
        for body, status, error in refused:
            got_status, got = self.post('a', body)
            self.assertEqual((got_status, json.loads(got)['error']), (status, ERR + error), (body[:40], got))
        # counted: every refusal on the cell, those naming b's key on the link too
        self.assertEqual(int(self.cells['a'].properties(MANAGER)['RefusedMessages']), counted + len(refused))
        self.assertEqual(self.links('a')['b']['RefusedMessages'], 6)
        with open(link_file, 'rb') as f:
            self.assertEqual(f.read(), stored, 'refused messages change nothing')

        # b removed the link: a drops its side too
        self.assertEqual(self.post('a', self.message('b', a_fp, 1006, 'unlink', {})), (204, ''))
        self.assertNotIn('b', self.links('a'))

    def test_9c_sharing_is_told_and_retried(self):
        b_to_c = self.cells['b'].interface(LINK, '/org/pic/Cell1/link/c')
        self.cells['b'].picctl('link', 'share', 'c', '+files')
        h.wait_for(lambda: list(self.links('c')['b']['RemoteShared']) == ['files'], 10, 0.02, 'c told of files')
        self.assertFalse(self.links('b')['c']['PendingPush'])
        self.assertGreater(self.links('b')['c']['LastPushTime'], 0)

        # c's gateway away: the change waits, stored, with the reason; retried with backoff
        self.stop_gateway('c')
        b_to_c.SetShared(dbus.Array(['web'], signature='s'))
        h.wait_for(lambda: self.links('b')['c']['LastPushError'] != '', 10, 0.05, 'the failed push shown')
        self.assertTrue(self.links('b')['c']['PendingPush'])
        self.assertIn('did not answer', self.links('b')['c']['LastPushError'])
        with open(os.path.join(self.cells['b'].state_dir, 'links', 'c.json')) as f:
            self.assertTrue(json.load(f)['push_pending'])
        # b restarts meanwhile: what is pending survives; c's gateway comes back: told
        self.cells['b'].restart()
        self.start_gateway('c')
        h.wait_for(lambda: list(self.links('c')['b']['RemoteShared']) == ['web'], 15, 0.1, 'c told of web')
        h.wait_for(lambda: not self.links('b')['c']['PendingPush'], 5, 0.05, 'nothing pending on b')
        self.assertEqual(self.links('b')['c']['LastPushError'], '')

    def test_9d_healing(self):
        """b moves (a new VPN subnet, a new domain): a and c follow in place, nothing paired again."""
        a, b = self.cells['a'], self.cells['b']
        self.mgr('a').AddLink(self.invite('b'), sv({}), timeout=30)  # a dropped its side in test_9b
        b.picctl('link', 'share', 'a', '+web')
        h.wait_for(lambda: self.links('a')['b']['State'] == 'connected', 20, 0.2, 'a-b connected')
        self.assertEqual(self.fetch_web_of_b(), 'web of b')

        # refused, each naming the linked cell, nothing changed
        before = self.state_files('b')
        for settings, words in (({'VpnAddress': '10.72.%d.200/24' % N}, "overlaps linked cell a's subnet"),
                                ({'Domain': 'c.lan'}, 'linked cell c uses c.lan'),
                                ({'Name': 'bee'}, 'know this cell as b')):
            self.assertRefused(ERR + 'Conflict', words, self.mgr('b').Configure, sv(settings))
        self.assertEqual(self.state_files('b'), before)

        # a new subnet, applied: a and c follow (peer, route, DNS forward), a's laptop reaches b there
        moved = '10.75.%d.1/24' % N
        self.mgr('b').Configure(sv({'VpnAddress': moved}))
        self.mgr('b').Apply(timeout=30)
        b.netns.spawn(['socat', 'TCP-LISTEN:80,bind=%s,reuseaddr,fork' % moved.split('/')[0],
                       'SYSTEM:echo web of b'], name='web-b-moved')
        for cell in ('a', 'c'):
            h.wait_for(lambda: self.links(cell)['b']['VpnSubnet'] == net(moved), 10, 0.02, '%s follows b' % cell)
            self.assertEqual(self.links(cell)['b']['DnsAddress'], moved.split('/')[0])
            self.assertIn(('b.lan', moved.split('/')[0]),
                          [(str(d), str(s)) for d, s in self.cells[cell].properties(MANAGER)['DnsForwards']])
        self.assertEqual(self.links('a')['b']['State'], 'connected')  # kept: no pairing again
        self.assertFalse(self.links('b')['a']['PendingPush'])
        h.wait_for(lambda: a.netns.run(['ping', '-c1', '-W1', moved.split('/')[0]], check=False).returncode == 0,
                   10, 0.1, 'a reaches b at its new address')
        # the laptop's configuration routes the new subnet (re-imported: its AllowedIPs)
        path = self.mgr('a').GetPeerByName('laptop')
        config = str(a.interface('org.pic.Cell1.Peer', path).GetConfig())
        self.assertIn(net(moved), config)
        self.laptop.set_allowed_ips(config)
        h.wait_for(lambda: self.laptop.run(['socat', '-T2', '-', 'TCP:%s:80,connect-timeout=2' % moved.split('/')[0]],
                                           check=False, timeout=10).stdout.strip() == 'web of b', 10, 0.2,
                   "a's laptop reaches b's web at its new address")

        # a new domain while a's gateway is away: stored, across a restart of b, told when a is back
        self.stop_gateway('a')
        self.mgr('b').Configure(sv({'Domain': 'bee.lan'}))
        h.wait_for(lambda: self.links('b')['a']['LastPushError'] != '', 10, 0.05, 'the failed push shown')
        self.assertTrue(self.links('b')['a']['PendingPush'])
        b.restart()
        self.start_gateway('a')
        h.wait_for(lambda: self.links('a')['b']['Domain'] == 'bee.lan', 15, 0.1, 'a follows the new domain')
        forwards = [(str(d), str(s)) for d, s in a.properties(MANAGER)['DnsForwards']]
        self.assertIn(('bee.lan', moved.split('/')[0]), forwards)
        self.assertNotIn('b.lan', [d for d, _ in forwards])
        h.wait_for(lambda: not self.links('b')['a']['PendingPush'], 5, 0.05, 'nothing pending on b')

        # Resync tells again, now: a newer message arrives (a stores its counter)
        with open(os.path.join(a.state_dir, 'links', 'b.json')) as f:
            counter = json.load(f)['rx_counter']
        p = b.picctl('link', 'resync', 'a')
        self.assertEqual((p.returncode, p.stderr), (0, ''), p)

        def rx_counter():
            with open(os.path.join(a.state_dir, 'links', 'b.json')) as f:
                return json.load(f)['rx_counter']
        h.wait_for(lambda: rx_counter() >= counter + 2, 10, 0.05, 'identity and sharing told again')

    def test_9d_healing_when_the_older_move_is_answered_during_an_apply(self):
        """b moves twice; its message of the first move is still on its way to a (a's gateway is
        stopped) when the second Apply starts, and is answered while that Apply writes its files:
        a is still told of the second move (the answer cleared the mark: a stayed behind)."""
        a, b = self.cells['a'], self.cells['b']
        first, second = '10.76.%d.1/24' % N, '10.77.%d.1/24' % N
        gateway = [int(pid) for pid in h.run(['ip', 'netns', 'pids', a.netns.name]).stdout.split()
                   if h.process_name(int(pid)) == 'pic-gatewayd']
        self.assertEqual(len(gateway), 1)
        failures = os.path.join(self.world.path, 'fail-b')
        b_log = os.path.join(self.world.path, 'logs', 'unit-b-pic-celld.service.log')
        os.kill(gateway[0], signal.SIGSTOP)
        try:
            self.mgr('b').Configure(sv({'VpnAddress': first}))
            self.mgr('b').Apply(timeout=30)
            h.wait_for(lambda: self.links('c')['b']['VpnSubnet'] == net(first), 10, 0.02, 'c follows the first move')
            self.assertNotEqual(self.links('a')['b']['VpnSubnet'], net(first))  # held by its stopped gateway
            self.mgr('b').Configure(sv({'VpnAddress': second}))
            with open(failures, 'w') as f:
                f.write('apply-delay 3000\n')
            with open(b_log) as f:
                applies = f.read().count('Applying the pending settings')
            apply = subprocess.Popen(['busctl', '--address=' + b.bus.address, 'call', '--timeout=30', h.CELL_BUS_NAME,
                                      '/org/pic/Cell1', MANAGER, 'Apply'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            h.wait_for(lambda: open(b_log).read().count('Applying the pending settings') > applies, 10, 0.02,
                       "b's second Apply writing its files")
        finally:
            os.kill(gateway[0], signal.SIGCONT)
        h.wait_for(lambda: self.links('a')['b']['VpnSubnet'] == net(first), 10, 0.02, 'a told of the first move')
        self.assertIsNone(apply.poll(), 'the second Apply ended before the first move was answered')
        self.assertEqual(apply.wait(30), 0, apply.stdout.read())
        os.unlink(failures)
        for cell in ('a', 'c'):
            h.wait_for(lambda: self.links(cell)['b']['VpnSubnet'] == net(second), 10, 0.02,
                       '%s follows the second move' % cell)
        h.wait_for(lambda: not self.links('b')['a']['PendingPush'], 10, 0.05, 'nothing pending on b')

    def test_9e_a_cell_that_dropped_the_link_refuses(self):
        # a drops its side without b hearing of it (the "unlink" made here as b would send it)
        a_fp = self.links('b')['a']['SigningKey']
        with open(os.path.join(self.cells['a'].state_dir, 'links', 'b.json')) as f:
            counter = json.load(f)['rx_counter']
        self.assertEqual(self.post('a', self.message('b', a_fp, counter + 1000, 'unlink', {})), (204, ''))
        # b's next message is answered "no such link": its side says so, and how to heal it
        self.cells['b'].picctl('link', 'resync', 'a')
        h.wait_for(lambda: self.links('b')['a']['State'] == 'refused', 10, 0.05, "b's link refused")
        self.assertIn('pair again', self.links('b')['a']['LastPushError'])
        self.assertIn('refused', self.cells['b'].picctl('link', 'list').stdout)
        # pairing again heals it
        self.mgr('a').AddLink(self.invite('b'), sv({}), timeout=30)
        h.wait_for(lambda: self.links('b')['a']['State'] == 'connected', 20, 0.1, 'b-a connected again')


if __name__ == '__main__':
    h.main()
