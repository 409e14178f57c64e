#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Dynamic DNS for real: pic-celld (under a systemd manager, in its namespace) keeps a
name at its uplink's address by telling a stand-in provider, an https server of the
test's own in a second namespace (python's http.server with a certificate made here
with openssl and passed as the trust anchor) that speaks each provider's documented
update protocol (duckdns, cloudflare API v4, noip and dyndns2, freedns) and records
what it was sent. The right request per provider; none while the address stays the
same (across a restart too) and one when it changes; backoff after errors; a "stop"
answer (abuse, KO) ends updates, survives a restart, and a settings change starts
again; an address learned from a "what is my address" URL; the token and passwords
in no log and no property."""

import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from gateway_client import ADMIN_PASSWORD, Client, Gateway  # noqa: E402

MANAGER = 'org.pic.Cell1.Manager'
ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.backup',
           'org.pic.cell1.manage-links', 'org.pic.cell1.authenticate']
N = os.getpid() % 200
CELL_IP, PROVIDER_IP, CELL_IP2 = '10.247.%d.1' % N, '10.247.%d.2' % N, '10.247.%d.3' % N
PORT, IMPOSTOR_PORT = 8443, 8444  # the second with a certificate the cell was not given
BASE = 'https://%s:%d' % (PROVIDER_IP, PORT)
OTHER_UPLINK_IP, OTHER_PROVIDER_IP = '10.249.%d.1' % N, '10.249.%d.2' % N  # a second way out
SERVICE_IP = '203.0.113.77'
PASSPHRASE = 'a long enough passphrase'  # what the stand-in "what is my address" service answers

DUCK_TOKEN = 'a7c4d0ad-114e-40ef-ba1d-d217904a50f2'
DUCK_TOKEN2 = 'b7c4d0ad-114e-40ef-ba1d-d217904a50f2'
CF_TOKEN = 'Zk3r9Q_x-Tq8vLm2Nw7Ys4Pd1Hc6Bg5Ja0Ue3Ri9'
FREEDNS_TOKEN = 'U2VjcmV0VG9rZW4xMjM0NTY3ODkw'
PASSWORDS = ['noip-pass-one', 'noip-pass-two', 'noip-pass-three', 'dyn2-secret-pw']
ZONE, RECORD = '023e105f4ecef8ad9ca31a8372d0c353', '372e67954025e0ba6aaa6d586b9e0b59'
SECRETS = [DUCK_TOKEN, DUCK_TOKEN2, CF_TOKEN, FREEDNS_TOKEN] + PASSWORDS

# The stand-in provider. Routes by path; an answer is taken from script.json when it
# has one for the route (each used once), else the route's success. Every request is
# appended to requests.jsonl. Nothing is logged: the URLs carry tokens.
SERVER = r'''
import http.server, json, os, ssl, sys, threading, time
addr, port, cert, key, state = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
lock = threading.Lock()

def route(path):
    for prefix, name in (('/update?', 'duckdns'), ('/nic/update?', 'noip'), ('/generic/update?', 'dyndns2'),
                         ('/client/v4/zones/', 'cloudflare'), ('/dynamic/update.php?', 'freedns'), ('/ip', 'ip')):
        if path.startswith(prefix):
            return name
    return 'unknown'

def success(name, path):
    if name == 'duckdns':
        return 200, 'OK\n\n\nUPDATED'
    if name in ('noip', 'dyndns2'):
        return 200, 'good'
    if name == 'cloudflare':
        return 200, json.dumps({'success': True, 'errors': [], 'messages': [], 'result': {}})
    if name == 'freedns':
        return 200, 'Updated 1 host(s) cell.mooo.com in 0.1 seconds'
    if name == 'ip':
        return 200, open(os.path.join(state, 'ip')).read()
    return 404, 'no such route'

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *args):
        pass
    def answer(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode() if length else None
        name = route(self.path)
        with lock:
            script_path = os.path.join(state, 'script.json')
            script = json.load(open(script_path)) if os.path.exists(script_path) else {}
            if script.get(name):
                status, text = script[name].pop(0)
                with open(script_path + '.tmp', 'w') as f:
                    json.dump(script, f)
                os.rename(script_path + '.tmp', script_path)
            else:
                status, text = success(name, self.path)
            with open(os.path.join(state, 'requests.jsonl'), 'a') as f:
                f.write(json.dumps({'t': time.monotonic(), 'route': name, 'method': self.command, 'path': self.path,
                                    'headers': {k.lower(): v for k, v in self.headers.items()},
                                    'body': body, 'status': status}) + '\n')
        data = text.encode()
        self.send_response(status)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_PATCH = do_POST = do_PUT = answer

server = http.server.ThreadingHTTPServer((addr, port), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
open(os.path.join(state, 'ready'), 'w').close()
server.serve_forever()
'''


def sv(d):
    return dbus.Dictionary(d, signature='sv')


def invite_cell(text):
    """The cell an invite describes (src/link/PROTOCOL.md: pic-invite1.PAYLOAD.SIGNATURE)."""
    payload = text.split('.')[1]
    return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))['cell']


# every credential key given ("" clears what the provider does not take)
CLEAR = {'DdnsToken': '', 'DdnsUsername': '', 'DdnsPassword': '', 'DdnsZoneId': '', 'DdnsRecordId': '',
         'DdnsServer': '', 'DdnsAddressSource': 'uplink'}


class DdnsWorld(h.SharedWorldTestCase):
    """The stand-ins and a set-up cell using them; EXTRA: more of pic-celld's arguments;
    FOLLOW_ROUTE: no --uplink, a default route through the provider's namespace instead."""
    EXTRA = []
    FOLLOW_ROUTE = False

    @classmethod
    def build_world(cls):
        w = cls.world
        cls.state = w.subdir('provider')
        cert, key = os.path.join(cls.state, 'cert.pem'), os.path.join(cls.state, 'key.pem')
        h.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
               '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=pic-ddns-stand-in',
               '-addext', 'subjectAltName=IP:%s' % PROVIDER_IP])
        with open(os.path.join(cls.state, 'ip'), 'w') as f:
            f.write(SERVICE_IP + '\n')
        server = os.path.join(cls.state, 'server.py')
        with open(server, 'w') as f:
            f.write(SERVER)

        cls.cell_ns, cls.provider_ns = h.Netns(world=w), h.Netns(world=w)
        cls.uplink, _ = h.veth(cls.cell_ns, cls.provider_ns, CELL_IP + '/24', PROVIDER_IP + '/24', world=w)
        cls.provider_ns.spawn(['/usr/bin/python3', server, PROVIDER_IP, PORT, cert, key, cls.state],
                              name='ddns-stand-in')
        h.wait_for(lambda: os.path.exists(os.path.join(cls.state, 'ready')), 10, what='the stand-in provider')
        cls.impostor = w.subdir('impostor')
        icert, ikey = os.path.join(cls.impostor, 'cert.pem'), os.path.join(cls.impostor, 'key.pem')
        h.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
               '-keyout', ikey, '-out', icert, '-days', '1', '-subj', '/CN=pic-ddns-stand-in',
               '-addext', 'subjectAltName=IP:%s' % PROVIDER_IP])
        cls.provider_ns.spawn(['/usr/bin/python3', server, PROVIDER_IP, IMPOSTOR_PORT, icert, ikey, cls.impostor],
                              name='ddns-impostor')
        h.wait_for(lambda: os.path.exists(os.path.join(cls.impostor, 'ready')), 10, what='the impostor')

        if cls.FOLLOW_ROUTE:  # the uplink is the default route's interface, followed as it changes
            cls.cell_ns.ip('route', 'add', 'default', 'via', PROVIDER_IP, 'dev', cls.uplink)
        args = [] if cls.FOLLOW_ROUTE else ['--uplink=' + cls.uplink]
        args += ['--log-level=debug', '--test-ddns-ca-file=' + cert,
                '--test-ddns-check-interval=0.5', '--test-ddns-backoff=1,8'] + cls.EXTRA
        args += ['--test-ddns-base=%s=%s' % (p, BASE) for p in ('duckdns', 'cloudflare', 'noip', 'freedns')]
        cls.cell = h.Cell(world=w, netns=cls.cell_ns, extra_args=args)
        cls.cell.polkit.set_allowed(ACTIONS)
        cls.cell.start()
        cls.cell.manager().Setup(sv({'Name': 'cell', 'Domain': 'cell.lan', 'VpnAddress': '10.248.%d.1/24' % N,
                                     'AdminPassword': ADMIN_PASSWORD}))
        cls.address = CELL_IP

    # ------------------------------------------------------------ helpers

    def props(self):
        return self.cell.properties(MANAGER)

    def prop(self, name):
        return self.props()[name]

    def requests(self, route=None):
        path = os.path.join(self.state, 'requests.jsonl')
        if not os.path.exists(path):
            return []
        with open(path) as f:
            reqs = [json.loads(line) for line in f if line.strip()]
        return [r for r in reqs if route is None or r['route'] == route]

    def script(self, **routes):
        path = os.path.join(self.state, 'script.json')
        with open(path + '.new', 'w') as f:
            json.dump(routes, f)
        os.rename(path + '.new', path)

    def configure(self, **settings):
        self.cell.manager().Configure(sv(settings))

    def wait_state(self, state, timeout=15):
        return h.wait_for(lambda: str(self.prop('DdnsState')) == state, timeout, 0.05,
                          'DdnsState %s (it is %s, %s)' % (state, self.prop('DdnsState'), self.prop('DdnsLastError')))

    def wait_requests(self, route, n, timeout=15):
        h.wait_for(lambda: len(self.requests(route)) >= n, timeout, 0.05, '%d %s requests' % (n, route))
        return self.requests(route)

    def move_uplink(self, to):
        self.cell_ns.ip('addr', 'del', self.address + '/24', 'dev', self.uplink)
        self.cell_ns.ip('addr', 'add', to + '/24', 'dev', self.uplink)
        self.__class__.address = to

    def assert_no_new(self, route, n, seconds=2.0):
        time.sleep(seconds)  # four check intervals
        self.assertEqual(len(self.requests(route)), n, self.requests(route)[n:])


class DdnsTest(DdnsWorld):
    def test_01_duckdns_once_while_the_address_stays(self):
        self.assertEqual(str(self.prop('DdnsState')), 'off')
        self.configure(DdnsProvider='duckdns', DdnsHostname='mycell.duckdns.org', DdnsToken=DUCK_TOKEN)
        self.wait_state('up-to-date')
        reqs = self.requests('duckdns')
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]['method'], 'GET')
        self.assertEqual(reqs[0]['path'], '/update?domains=mycell&token=%s&ip=%s&verbose=true' % (DUCK_TOKEN, CELL_IP))
        self.assertTrue(reqs[0]['headers']['user-agent'].startswith('pic-celld/'))
        p = self.props()
        self.assertEqual(str(p['DdnsAddress']), CELL_IP)
        self.assertEqual(str(p['DdnsProvider']), 'duckdns')
        self.assertEqual(str(p['DdnsHostname']), 'mycell.duckdns.org')
        self.assertEqual(str(p['DdnsLastError']), '')
        self.assertLess(abs(int(p['DdnsLastUpdate']) / 1e6 - time.time()), 60)
        st = os.stat(os.path.join(self.cell.state_dir, 'ddns.json'))
        self.assertEqual(st.st_mode & 0o7777, 0o600)

        self.assert_no_new('duckdns', 1)
        # what the provider took is remembered: a restart tells it nothing new
        self.cell.restart()
        self.wait_state('up-to-date')
        self.assert_no_new('duckdns', 1)

    def test_02_a_new_address_is_told(self):
        n = len(self.requests('duckdns'))
        self.move_uplink(CELL_IP2)
        reqs = self.wait_requests('duckdns', n + 1)
        self.assertIn('&ip=%s&' % CELL_IP2, reqs[n]['path'])
        h.wait_for(lambda: str(self.prop('DdnsAddress')) == CELL_IP2, 10, 0.05, 'DdnsAddress ' + CELL_IP2)
        self.assert_no_new('duckdns', n + 1)

    def test_03_each_providers_request(self):
        ip = self.address
        settings = {
            'noip': dict(DdnsHostname='cell.ddns.net', DdnsUsername='me@example.org', DdnsPassword=PASSWORDS[0]),
            'cloudflare': dict(DdnsHostname='cell.example.org', DdnsToken=CF_TOKEN, DdnsZoneId=ZONE,
                               DdnsRecordId=RECORD),
            'freedns': dict(DdnsHostname='cell.mooo.com', DdnsToken=FREEDNS_TOKEN),
            'dyndns2': dict(DdnsHostname='cell.example.net', DdnsUsername='bob', DdnsPassword=PASSWORDS[3],
                            DdnsServer=BASE + '/generic/update'),
        }
        for provider, given in settings.items():
            with self.subTest(provider=provider):
                n = len(self.requests(provider))
                self.configure(**dict(CLEAR, DdnsProvider=provider, **given))
                reqs = self.wait_requests(provider, n + 1)
                self.wait_state('up-to-date')
                r = reqs[n]
                if provider == 'noip':
                    self.assertEqual((r['method'], r['path']), ('GET', '/nic/update?hostname=cell.ddns.net&myip=' + ip))
                    self.assertEqual(r['headers']['authorization'],
                                     'Basic ' + base64.b64encode(b'me@example.org:' + PASSWORDS[0].encode()).decode())
                elif provider == 'cloudflare':
                    self.assertEqual((r['method'], r['path']),
                                     ('PATCH', '/client/v4/zones/%s/dns_records/%s' % (ZONE, RECORD)))
                    self.assertEqual(r['headers']['authorization'], 'Bearer ' + CF_TOKEN)
                    self.assertEqual(r['headers']['content-type'], 'application/json')
                    self.assertEqual(json.loads(r['body']), {'type': 'A', 'name': 'cell.example.org', 'content': ip})
                elif provider == 'freedns':
                    self.assertEqual((r['method'], r['path']),
                                     ('GET', '/dynamic/update.php?%s&address=%s' % (FREEDNS_TOKEN, ip)))
                    self.assertNotIn('authorization', r['headers'])
                else:
                    self.assertEqual((r['method'], r['path']),
                                     ('GET', '/generic/update?hostname=cell.example.net&myip=' + ip))
                    self.assertEqual(r['headers']['authorization'],
                                     'Basic ' + base64.b64encode(b'bob:' + PASSWORDS[3].encode()).decode())
                self.assertEqual(str(self.prop('DdnsProvider')), provider)
                self.assertEqual(str(self.prop('DdnsAddress')), ip)
                self.assert_no_new(provider, n + 1, 1.0)

    def test_04_backoff_after_errors(self):
        self.script(duckdns=[[503, 'busy']] * 3)
        n = len(self.requests('duckdns'))
        self.configure(**dict(CLEAR, DdnsProvider='duckdns', DdnsHostname='mycell.duckdns.org', DdnsToken=DUCK_TOKEN2))
        h.wait_for(lambda: len(self.requests('duckdns')) >= n + 2, 15, 0.05, 'a second attempt')
        self.wait_state('retrying', 2)  # the stand-in records a request before it answers
        self.assertIn('HTTP 503', str(self.prop('DdnsLastError')))
        reqs = self.wait_requests('duckdns', n + 4, 30)
        self.wait_state('up-to-date')
        self.assertEqual(str(self.prop('DdnsLastError')), '')
        t = [r['t'] for r in reqs[n:n + 4]]
        gaps = [b - a for a, b in zip(t, t[1:])]
        # 1 s, then twice that, then twice again (--test-ddns-backoff=1,8)
        self.assertGreaterEqual(gaps[0], 0.9, gaps)
        self.assertGreaterEqual(gaps[1], 1.8, gaps)
        self.assertGreaterEqual(gaps[2], 3.6, gaps)
        self.assertLess(gaps[2], 6.0, gaps)
        self.assert_no_new('duckdns', n + 4)

    def test_05_a_stop_answer_stops_until_the_settings_change(self):
        self.script(noip=[[200, 'abuse']])
        n = len(self.requests('noip'))
        self.configure(**dict(CLEAR, DdnsProvider='noip', DdnsHostname='cell.ddns.net', DdnsUsername='me@example.org',
                              DdnsPassword=PASSWORDS[1]))
        self.wait_state('stopped')
        self.assertIn('abuse', str(self.prop('DdnsLastError')))
        self.assertEqual(len(self.requests('noip')), n + 1)
        # not when the address changes, not after a restart
        self.move_uplink(CELL_IP if self.address != CELL_IP else CELL_IP2)
        self.assert_no_new('noip', n + 1)
        self.cell.restart()
        self.assertEqual(str(self.prop('DdnsState')), 'stopped')
        self.assertIn('abuse', str(self.prop('DdnsLastError')))
        self.assert_no_new('noip', n + 1)
        # new settings: updates again
        self.configure(DdnsPassword=PASSWORDS[2])
        reqs = self.wait_requests('noip', n + 2)
        self.wait_state('up-to-date')
        self.assertIn('myip=' + self.address, reqs[n + 1]['path'])
        self.assertEqual(str(self.prop('DdnsLastError')), '')

        # duckdns's KO likewise
        self.script(duckdns=[[200, 'KO']])
        self.configure(**dict(CLEAR, DdnsProvider='duckdns', DdnsHostname='mycell.duckdns.org', DdnsToken=DUCK_TOKEN))
        self.wait_state('stopped')
        self.assertIn('KO', str(self.prop('DdnsLastError')))

    def test_06_address_from_a_service(self):
        n = len(self.requests('freedns'))
        self.configure(**dict(CLEAR, DdnsProvider='freedns', DdnsHostname='cell.mooo.com', DdnsToken=FREEDNS_TOKEN,
                              DdnsAddressSource=BASE + '/ip'))
        reqs = self.wait_requests('freedns', n + 1)
        self.wait_state('up-to-date')
        self.assertTrue(reqs[n]['path'].endswith('&address=' + SERVICE_IP), reqs[n]['path'])
        self.assertEqual(str(self.prop('DdnsAddress')), SERVICE_IP)
        self.assertEqual(str(self.prop('DdnsAddressSource')), BASE + '/ip')
        self.assertGreater(len(self.requests('ip')), 0)

    def test_07_refusals_by_name(self):
        before = self.props()
        for settings, names in (
                (dict(DdnsProvider='dyndns'), 'DdnsProvider'),
                (dict(DdnsProvider='duckdns', DdnsHostname='mycell.example.org'), 'DdnsHostname'),
                (dict(CLEAR, DdnsProvider='duckdns', DdnsHostname='mycell.duckdns.org', DdnsToken=DUCK_TOKEN + 'Z'),
                 'DdnsToken'),
                (dict(CLEAR, DdnsProvider='noip', DdnsHostname='c.ddns.net', DdnsUsername='a:b',
                      DdnsPassword=PASSWORDS[0]), 'DdnsUsername'),
                (dict(DdnsAddressSource='http://%s/ip' % PROVIDER_IP), 'DdnsAddressSource'),
                (dict(CLEAR, DdnsProvider='cloudflare', DdnsHostname='c.example.org', DdnsToken=CF_TOKEN,
                      DdnsZoneId=ZONE), 'DdnsRecordId')):
            with self.subTest(names=names):
                with self.assertRaises(dbus.DBusException) as e:
                    self.configure(**settings)
                self.assertEqual(e.exception.get_dbus_name(), 'org.freedesktop.DBus.Error.InvalidArgs')
                self.assertIn(names, e.exception.get_dbus_message())
                for s in SECRETS:
                    self.assertNotIn(s, e.exception.get_dbus_message())
        self.assertEqual(self.props(), before)
        with self.assertRaises(dbus.DBusException):
            self.configure(DdnsProvider='', DdnsToken=DUCK_TOKEN)
        self.configure(DdnsProvider='')
        self.assertEqual(str(self.prop('DdnsState')), 'off')
        self.assertFalse(os.path.exists(os.path.join(self.cell.state_dir, 'ddns.json')))

    def test_08_an_untrusted_server_gets_nothing(self):
        self.configure(**dict(CLEAR, DdnsProvider='dyndns2', DdnsHostname='cell.example.net', DdnsUsername='bob',
                              DdnsPassword=PASSWORDS[3], DdnsServer='https://%s:%d/generic/update'
                              % (PROVIDER_IP, IMPOSTOR_PORT)))
        self.wait_state('retrying')
        self.assertIn('TLS certificate was not accepted', str(self.prop('DdnsLastError')))
        self.assertFalse(os.path.exists(os.path.join(self.impostor, 'requests.jsonl')))

    def backup(self, path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            self.cell.manager().Backup(dbus.types.UnixFd(fd), sv({'Passphrase': PASSPHRASE}), timeout=120)
        finally:
            os.close(fd)

    def restore(self, path):
        pid = self.cell.pid()
        fd = os.open(path, os.O_RDONLY)
        try:
            self.cell.manager().Restore(dbus.types.UnixFd(fd), sv({'Passphrase': PASSPHRASE, 'Replace': True}),
                                        timeout=120)
        finally:
            os.close(fd)
        h.wait_for(lambda: self.cell.bus.has_owner('org.pic.Cell1') and self.cell.pid() != pid, 30, 0.1,
                   'pic-celld back with the restored state')

    def test_09_backup_and_restore_carry_the_settings(self):
        without = os.path.join(self.world.path, 'without-ddns.backup')
        self.configure(DdnsProvider='')
        self.backup(without)

        n = len(self.requests('noip'))
        self.configure(**dict(CLEAR, DdnsProvider='noip', DdnsHostname='cell.ddns.net', DdnsUsername='me@example.org',
                              DdnsPassword=PASSWORDS[2]))
        self.wait_requests('noip', n + 1)
        self.wait_state('up-to-date')
        archive = os.path.join(self.world.path, 'ddns.backup')
        self.backup(archive)
        self.configure(DdnsProvider='')
        self.assertEqual(str(self.prop('DdnsState')), 'off')
        self.restore(archive)
        self.wait_state('up-to-date')
        self.assertEqual(str(self.prop('DdnsProvider')), 'noip')
        self.assertEqual(str(self.prop('DdnsAddress')), self.address)
        # what the provider took came back too: nothing to tell it
        self.assert_no_new('noip', n + 1)

        # a backup of the cell without dynamic DNS: restored, it is off again
        self.restore(without)
        self.assertEqual(str(self.prop('DdnsState')), 'off')
        self.assertEqual(str(self.prop('DdnsProvider')), '')
        self.assert_no_new('noip', n + 1)

    def test_10_an_endpoint_by_the_ddns_name_is_given_as_its_address(self):
        # linked cells' WireGuard takes an address, not a name: invites and pushes carry what the provider took
        self.configure(**dict(CLEAR, DdnsProvider='duckdns', DdnsHostname='mycell.duckdns.org', DdnsToken=DUCK_TOKEN2))
        self.wait_state('up-to-date')
        self.configure(Endpoint='mycell.duckdns.org:51820')
        text, _ = self.cell.manager().CreateInvite(sv({}))
        cell = invite_cell(str(text))
        self.assertEqual(cell['endpoint'], '%s:51820' % self.address)
        self.assertEqual(cell['pairing'], 'mycell.duckdns.org:8283')
        self.assertEqual(str(self.prop('Endpoint')), 'mycell.duckdns.org:51820')  # the setting stays the name
        self.configure(Endpoint='other.duckdns.org:51820')
        text, _ = self.cell.manager().CreateInvite(sv({}))
        self.assertEqual(invite_cell(str(text))['endpoint'], 'other.duckdns.org:51820')

    def test_11_secrets_in_no_log_and_no_property(self):
        text = json.dumps({str(k): str(v) for k, v in self.props().items()})
        logs = []
        for d, _, names in os.walk(self.world.path):
            if os.path.basename(d) == 'logs':
                for n in names:
                    with open(os.path.join(d, n), errors='replace') as f:
                        logs.append((n, f.read()))
        self.assertTrue(any('Dynamic DNS' in t for _, t in logs), [n for n, _ in logs])
        for s in SECRETS:
            self.assertNotIn(s, text)
            for name, t in logs:
                self.assertNotIn(s, t, name)
            for variant in (base64.b64encode(s.encode()).decode(),):
                for name, t in logs:
                    self.assertNotIn(variant, t, name)


    def test_12_picctl(self):
        token_file = os.path.join(self.world.path, 'duck-token')
        with open(token_file, 'w') as f:
            f.write(DUCK_TOKEN + '\n')
        self.configure(DdnsProvider='')
        n = len(self.requests('duckdns'))
        out = self.cell.picctl('ddns', check=True).stdout
        self.assertIn('State: off', out)
        self.assertIn('Dynamic DNS is off', out)

        r = self.cell.picctl('ddns', 'set', '--provider', 'duckdns', '--hostname', 'mycell.duckdns.org',
                             '--token-file', token_file, check=True)
        self.assertIn('settings changed', r.stdout)
        self.wait_requests('duckdns', n + 1)
        self.wait_state('up-to-date')
        self.assertIn('token=%s&' % DUCK_TOKEN, self.requests('duckdns')[n]['path'])
        out = self.cell.picctl('ddns', 'show', check=True).stdout
        for line in ('State: up-to-date', 'Provider: duckdns', 'Hostname: mycell.duckdns.org',
                     'Address from: uplink', 'Address told: ' + self.address):
            self.assertIn(line, out)
        shown = json.loads(self.cell.picctl('ddns', '--json', check=True).stdout)
        self.assertEqual(shown['DdnsProvider'], 'duckdns')
        self.assertEqual(shown['DdnsAddress'], self.address)
        self.assertGreater(shown['DdnsLastUpdate'], 0)

        # refusals: by the daemon, naming the setting, never quoting the secret; by picctl, naming the option
        bad = os.path.join(self.world.path, 'bad-token')
        with open(bad, 'w') as f:
            f.write(DUCK_TOKEN + 'Z\n')
        r = self.cell.picctl('ddns', 'set', '--token-file', bad)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('DdnsToken', r.stderr)
        self.assertNotIn(DUCK_TOKEN, r.stderr + r.stdout)
        r = self.cell.picctl('ddns', 'set', '--token-file', os.path.join(self.world.path, 'missing'))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('--token-file', r.stderr)
        r = self.cell.picctl('ddns', 'set')
        self.assertEqual(r.returncode, 2, r)
        r = self.cell.picctl('ddns', 'set', '--provider', 'noip', '--provider', 'duckdns')
        self.assertEqual(r.returncode, 2, r)
        self.assertIn('twice', r.stderr)
        self.assertEqual(str(self.prop('DdnsProvider')), 'duckdns')
        r = self.cell.picctl('ddns', 'set', '--provider', 'noip', as_nobody=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(str(self.prop('DdnsProvider')), 'duckdns')

        # a secret from standard input
        self.cell.picctl('ddns', 'set', '--token-file', '-', input=DUCK_TOKEN2 + '\n', check=True)
        reqs = self.wait_requests('duckdns', n + 2)
        self.assertIn('token=%s&' % DUCK_TOKEN2, reqs[n + 1]['path'])
        self.wait_state('up-to-date')

        self.cell.picctl('ddns', 'off', check=True)
        self.assertEqual(str(self.prop('DdnsState')), 'off')
        self.assertEqual(str(self.prop('DdnsProvider')), '')
        self.assertFalse(os.path.exists(os.path.join(self.cell.state_dir, 'ddns.json')))

    def test_13_rest(self):
        gw = Gateway(self.world, self.cell)
        admin = Client(gw)
        self.assertEqual(admin.login('admin', ADMIN_PASSWORD).status, 200)
        self.configure(DdnsProvider='')
        n = len(self.requests('freedns'))
        r = admin.patch('/api/cell', {'ddns_provider': 'freedns', 'ddns_hostname': 'cell.mooo.com',
                                      'ddns_token': FREEDNS_TOKEN})
        self.assertEqual(r.status, 200, r)
        cell = r.json()
        self.assertEqual((cell['ddns_provider'], cell['ddns_hostname'], cell['ddns_address_source']),
                         ('freedns', 'cell.mooo.com', 'uplink'))
        self.assertNotIn('ddns_token', cell)
        self.assertNotIn(FREEDNS_TOKEN, r.body.decode())
        self.wait_requests('freedns', n + 1)
        self.wait_state('up-to-date')
        cell = admin.get('/api/cell').json()
        self.assertEqual((cell['ddns_state'], cell['ddns_address'], cell['ddns_last_error']),
                         ('up-to-date', self.address, ''))
        self.assertGreater(cell['ddns_last_update'], 0)

        r = admin.patch('/api/cell', {'ddns_provider': 'cloudflare', 'ddns_hostname': 'c.example.org',
                                      'ddns_token': CF_TOKEN, 'ddns_zone_id': ZONE})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()['field'], 'ddns_record_id')
        self.assertNotIn(CF_TOKEN, r.body.decode())
        r = admin.patch('/api/cell', {'ddns_provider': 7})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()['field'], 'ddns_provider')
        self.assertEqual(Client(gw).patch('/api/cell', {'ddns_provider': ''}).status, 401)
        self.assertEqual(str(self.prop('DdnsProvider')), 'freedns')
        r = admin.patch('/api/cell', {'ddns_provider': ''})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['ddns_state'], 'off')


class DdnsRefreshTest(DdnsWorld):
    EXTRA = ['--test-ddns-refresh=3']  # a day, made 3 s

    def test_told_again_after_the_refresh_interval(self):
        self.configure(DdnsProvider='duckdns', DdnsHostname='mycell.duckdns.org', DdnsToken=DUCK_TOKEN)
        first = self.wait_requests('duckdns', 1)[0]
        self.wait_state('up-to-date')
        second = self.wait_requests('duckdns', 2, 10)[1]
        self.assertEqual(second['path'], first['path'])  # the same address, told again
        self.assertGreaterEqual(second['t'] - first['t'], 2.8)
        self.assertLess(second['t'] - first['t'], 5.0)
        self.wait_state('up-to-date')


class DdnsUplinkTest(DdnsWorld):
    FOLLOW_ROUTE = True
    EXTRA = ['--test-ddns-check-interval=60']  # only the route change can make it look again

    def test_a_new_uplink_is_looked_at_at_once(self):
        self.configure(DdnsProvider='duckdns', DdnsHostname='mycell.duckdns.org', DdnsToken=DUCK_TOKEN)
        first = self.wait_requests('duckdns', 1)[0]
        self.assertIn('&ip=%s&' % CELL_IP, first['path'])
        self.wait_state('up-to-date')
        # a second way out, then the default route moves to it
        if_cell, _ = h.veth(self.cell_ns, self.provider_ns, OTHER_UPLINK_IP + '/24', OTHER_PROVIDER_IP + '/24',
                            world=self.world)
        self.cell_ns.ip('route', 'replace', 'default', 'via', OTHER_PROVIDER_IP, 'dev', if_cell)
        second = self.wait_requests('duckdns', 2, 10)[1]
        self.assertIn('&ip=%s&' % OTHER_UPLINK_IP, second['path'])
        self.assertLess(second['t'] - first['t'], 30)
        h.wait_for(lambda: str(self.prop('DdnsAddress')) == OTHER_UPLINK_IP, 10, 0.05, 'DdnsAddress follows')
        self.assertEqual(str(self.prop('Uplink')), if_cell)


if __name__ == '__main__':
    h.main()
