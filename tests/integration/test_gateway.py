#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pic-gatewayd against a real pic-celld on a private bus: every route and
error code of the REST contract (exits included: their private key never comes
back), the auth-bypass attempts refused with no data, a peer session that sees
only itself, login rate limiting, server-sent events fed by bus signals, and
openapi.json matching the served routes."""

import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from gateway_client import (ADMIN_PASSWORD, ALL_ACTIONS, EXIT_ACTIONS, Client, Gateway,  # noqa: E402
                            exit_wg_quick, free_port, gatewayd_binary, open_events, setup_body, setup_cell)

ERROR_KEYS = {'error', 'message', 'field'}
PEER_KEYS = {'name', 'public_key', 'address', 'service_access', 'network_access', 'persistent_keepalive',
             'has_preshared_key',
             'enabled', 'created', 'latest_handshake', 'rx_bytes', 'tx_bytes', 'endpoint',
             'has_login', 'exit'}
EXIT_KEYS = {'name', 'type', 'state', 'last_error', 'unit', 'interface', 'mark', 'table', 'address', 'endpoint',
             'dns_servers', 'test_target', 'created', 'latest_handshake', 'rx_bytes', 'tx_bytes', 'peer_count'}
CELL_KEYS = {'name', 'domain', 'vpn_address', 'listen_port', 'public_key', 'endpoint', 'setup_complete',
             'pending_changes', 'peer_count', 'version', 'interface_name', 'wireguard_backend', 'uplink',
             'dns_state', 'dns_servers', 'ddns_state', 'ddns_address', 'ddns_last_update', 'ddns_last_error',
             'ddns_provider', 'ddns_hostname', 'ddns_address_source', 'ddns_server', 'ddns_zone_id', 'ddns_record_id'}


def ssh_keygen(world, name, passphrase):
    """An ed25519 key made now by ssh-keygen, as its file holds it (name.pub: the public half)."""
    path = os.path.join(world.subdir('ssh-keys'), name.replace('.pub', ''))
    if not os.path.exists(path):
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', passphrase, '-C', 'pic', '-f', path], check=True)
    with open(os.path.join(os.path.dirname(path), name)) as f:
        return f.read().strip() if name.endswith('.pub') else f.read()


class GatewayTestCase(h.HarnessTestCase):
    def assertError(self, r, status, code, field=None):
        """An error answer: the status, a JSON body with only error/message/field, nothing else."""
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header('Content-Type'), 'application/json', r)
        body = r.json()
        self.assertLessEqual(set(body), ERROR_KEYS, r)
        self.assertEqual(body['error'], code, r)
        self.assertIsInstance(body['message'], str)
        if field is not None:
            self.assertEqual(body.get('field'), field, r)
        return body

    def log_text(self, gw):
        with open(gw.proc.log) as f:
            return f.read()

    def admin(self, gw):
        c = Client(gw)
        r = c.login('admin', ADMIN_PASSWORD)
        self.assertEqual(r.status, 200, r)
        return c


# ---------------------------------------------------------------- the route table and the document

class OpenApiTest(GatewayTestCase):
    def test_document_lists_exactly_the_served_routes(self):
        p = subprocess.run([gatewayd_binary(), '--list-routes'], capture_output=True, text=True, check=True)
        served = {tuple(line.split(' ', 1)) for line in p.stdout.splitlines() if line}
        with open(os.path.join(h.source_dir(), 'src', 'gateway', 'openapi.json')) as f:
            doc = json.load(f)
        self.assertTrue(doc['openapi'].startswith('3.'))
        documented = {(m.upper(), path) for path, item in doc['paths'].items()
                      for m in item if m in ('get', 'put', 'post', 'delete', 'patch', 'head', 'options')}
        self.assertEqual(served - documented, set(), 'served but not in openapi.json')
        self.assertEqual(documented - served, set(), 'in openapi.json but not served')
        self.assertGreaterEqual(len(served), 20)
        # every {param} in a path is declared
        for path, item in doc['paths'].items():
            for param in re.findall(r'{(\w+)}', path):
                declared = [x['name'] for x in item.get('parameters', [])]
                for m in item:
                    if isinstance(item[m], dict):
                        declared += [x['name'] for x in item[m].get('parameters', [])]
                self.assertIn(param, declared, path)


# ---------------------------------------------------------------- before setup

class BeforeSetupTest(GatewayTestCase):
    def test_only_setup_routes_answer_then_setup(self):
        cell, gw = setup_cell(self.world, setup=False)

        r = gw.request('GET', '/health')
        self.assertEqual((r.status, r.json()), (200, {'status': 'ok', 'setup_complete': False, 'bus': 'ok'}))
        r = gw.request('GET', '/api/openapi.json')
        self.assertEqual(r.status, 200)
        with open(os.path.join(h.source_dir(), 'src', 'gateway', 'openapi.json')) as f:
            self.assertEqual(r.json(), json.load(f))
        self.assertError(gw.request('GET', '/api/session'), 401, 'unauthenticated')
        for method, path in (('GET', '/api/cell'), ('GET', '/api/peers'), ('GET', '/api/peers/x'),
                             ('POST', '/api/login'), ('PATCH', '/api/cell'), ('GET', '/api/events'),
                             ('POST', '/api/peers'), ('GET', '/api/peers/x/config')):
            self.assertError(gw.request(method, path, {}), 428, 'setup_required')

        # static UI files answer, nothing outside the web root
        r = gw.request('GET', '/')
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header('Content-Type').startswith('text/html'))
        r = gw.request('GET', '/static/app.js')
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header('Content-Type').startswith('text/javascript'))
        for path in ('/static/../meson.build', '/static/.hidden', '/static/%2e%2e/x', '/static/nope.js'):
            self.assertError(gw.request('GET', path), 404, 'not_found')
        self.assertError(gw.request('GET', '/nowhere'), 404, 'not_found')
        r = gw.request('PUT', '/api/cell', {})
        self.assertError(r, 405, 'method_not_allowed')
        self.assertIn('GET', r.header('Allow'))

        # setup: bad input names its field, then it works once
        self.assertError(gw.request('POST', '/api/setup', setup_body(cell, gw, admin_password='')), 400, 'invalid',
                         'admin_password')
        self.assertError(gw.request('POST', '/api/setup', setup_body(cell, gw, listen_port='x')), 400, 'invalid',
                         'listen_port')
        self.assertError(gw.request('POST', '/api/setup', setup_body(cell, gw, vpn_address='8.8.8.8/24')), 400, 'invalid',
                         'vpn_address')
        self.assertError(gw.request('POST', '/api/setup', setup_body(cell, gw, colour='red')), 400, 'invalid', 'colour')
        self.assertError(gw.request('POST', '/api/setup', raw=b'{not json'), 400, 'invalid')
        self.assertError(gw.request('POST', '/api/setup', {'name': 'x'}, headers={'Origin': 'http://evil.example'}),
                         403, 'csrf')
        r = gw.request('POST', '/api/setup', setup_body(cell, gw))
        self.assertEqual(r.status, 200, r)
        cell_json = r.json()
        self.assertEqual(set(cell_json), CELL_KEYS)
        self.assertNotIn('admin_password', r.body.decode())
        self.assertEqual((cell_json['name'], cell_json['vpn_address'], cell_json['setup_complete']),
                         ('home', '10.81.0.1/24', True))
        self.assertError(gw.request('POST', '/api/setup', setup_body(cell, gw)), 409, 'conflict')
        self.assertEqual(gw.request('GET', '/health').json()['setup_complete'], True)
        # after setup: no session, no data
        self.assertError(gw.request('GET', '/api/cell'), 401, 'unauthenticated')
        self.assertNotIn(ADMIN_PASSWORD, self.log_text(gw))


# ---------------------------------------------------------------- the admin's API, route by route

class AdminTest(GatewayTestCase):
    def test_every_admin_route(self):
        cell, gw = setup_cell(self.world)
        self.assertError(Client(gw).login('admin', 'wrong password'), 401, 'unauthenticated')
        self.assertError(gw.request('POST', '/api/login', {'username': 'admin'}), 400, 'invalid', 'password')
        c = Client(gw)
        r = c.login('admin', ADMIN_PASSWORD)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(r.json()), {'role', 'peer', 'csrf_token'})
        self.assertEqual((r.json()['role'], r.json()['peer']), ('admin', None))
        cookie = r.header('Set-Cookie')
        self.assertRegex(cookie, r'^pic_session=[A-Za-z0-9_-]{43}; ')
        for attr in ('HttpOnly', 'SameSite=Strict', 'Path=/'):
            self.assertIn(attr, cookie.split('; '))
        self.assertEqual(c.get('/api/session').json(), r.json())

        # cell
        r = c.get('/api/cell')
        self.assertEqual(r.status, 200)
        self.assertEqual(set(r.json()), CELL_KEYS)
        self.assertEqual(r.json()['pending_changes'], {})
        r = c.patch('/api/cell', {'domain': 'home2.lan', 'listen_port': 51999})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()['domain'], 'home2.lan')
        self.assertEqual(r.json()['pending_changes'], {'listen_port': 51999})
        r = c.post('/api/cell/discard')
        self.assertEqual((r.status, r.json()['pending_changes']), (200, {}))
        r = c.patch('/api/cell', {'listen_port': 51998})
        r = c.post('/api/cell/apply')
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()['listen_port'], r.json()['pending_changes']), (51998, {}))
        self.assertError(c.patch('/api/cell', {'listen_port': 'x'}), 400, 'invalid', 'listen_port')
        self.assertError(c.patch('/api/cell', {'listen_port': 70000}), 400, 'invalid', 'listen_port')
        self.assertError(c.patch('/api/cell', {'vpn_address': '300.1.1.1/24'}), 400, 'invalid', 'vpn_address')
        self.assertError(c.patch('/api/cell', {'admin_password': 'x'}), 400, 'invalid', 'admin_password')
        self.assertError(c.patch('/api/cell', raw=b'[1]'), 400, 'invalid')
        # DNS: upstreams through PATCH, the whole picture through /api/dns (the cell's dnsmasq runs
        # under the test's service manager)
        r = c.patch('/api/cell', {'dns_servers': ['192.0.2.53', '2001:db8::53#5353']})
        self.assertEqual((r.status, r.json()['dns_servers']), (200, ['192.0.2.53', '2001:db8::53#5353']), r)
        self.assertError(c.patch('/api/cell', {'dns_servers': ['192.0.2.53', 'dns.example']}), 400, 'invalid',
                         'dns_servers')
        self.assertError(c.patch('/api/cell', {'dns_servers': '192.0.2.53'}), 400, 'invalid', 'dns_servers')
        r = c.get('/api/dns')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(r.json()), {'state', 'servers', 'forwards', 'records'})
        self.assertIn(r.json()['state'], ('running', 'starting'), r.json())
        self.assertEqual(r.json()['servers'], ['192.0.2.53', '2001:db8::53#5353'])
        self.assertEqual(r.json()['forwards'], [])
        cell_name = c.get('/api/cell').json()
        self.assertIn({'name': '%s.%s' % (cell_name['name'], cell_name['domain']),
                       'address': cell_name['vpn_address'].split('/')[0]}, r.json()['records'])
        self.assertError(c.patch('/api/cell', raw=b'x' * (200 * 1024)), 413, 'too_large')

        # peers
        r = c.post('/api/peers', {'name': 'laptop', 'service_access': ['dns', 'web'], 'preshared_key': True})
        self.assertEqual(r.status, 201, r)
        laptop = r.json()
        self.assertEqual(set(laptop), PEER_KEYS)
        self.assertEqual((laptop['name'], laptop['service_access'], laptop['has_preshared_key'], laptop['enabled']),
                         ('laptop', ['dns', 'web'], True, True))
        self.assertError(c.post('/api/peers', {'name': 'laptop'}), 409, 'conflict')
        self.assertError(c.post('/api/peers', {'name': 'Bad Name!'}), 400, 'invalid')
        self.assertError(c.post('/api/peers', {}), 400, 'invalid', 'name')
        self.assertError(c.post('/api/peers', {'name': 'phone', 'address': '192.168.1.1'}), 400, 'invalid', 'address')
        self.assertError(c.post('/api/peers', {'name': 'phone', 'service_access': 'web'}), 400, 'invalid',
                         'service_access')
        r = c.post('/api/peers', {'name': 'phone', 'persistent_keepalive': 25})
        self.assertEqual(r.status, 201, r)
        r = c.get('/api/peers')
        self.assertEqual([p['name'] for p in r.json()], ['laptop', 'phone'])
        self.assertEqual(c.get('/api/peers/laptop').json(), laptop)
        self.assertError(c.get('/api/peers/ghost'), 404, 'not_found')
        r = c.patch('/api/peers/laptop', {'service_access': ['dns'], 'enabled': False})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()['service_access'], r.json()['enabled']), (['dns'], False))
        r = c.patch('/api/peers/laptop', {'enabled': True})
        self.assertEqual((r.status, r.json()['enabled']), (200, True))
        self.assertError(c.patch('/api/peers/laptop', {'enabled': 'yes'}), 400, 'invalid', 'enabled')
        self.assertError(c.patch('/api/peers/laptop', {'persistent_keepalive': -1}), 400, 'invalid',
                         'persistent_keepalive')
        self.assertError(c.patch('/api/peers/ghost', {'enabled': False}), 404, 'not_found')
        r = c.post('/api/peers/laptop/rotate-keys')
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.json()['public_key'], laptop['public_key'])
        r = c.get('/api/peers/laptop/config')
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header('Content-Type').startswith('text/plain'))
        self.assertIn('[Interface]', r.body.decode())
        self.assertIn('PrivateKey', r.body.decode())
        r = c.get('/api/peers/laptop/config.svg')
        self.assertEqual((r.status, r.header('Content-Type')), (200, 'image/svg+xml'))
        self.assertIn(b'<svg', r.body)
        self.assertError(c.get('/api/peers/ghost/config'), 404, 'not_found')
        r = c.post('/api/peers/phone/login')
        self.assertEqual(r.status, 200, r)
        self.assertGreaterEqual(len(r.json()['password']), 12)
        self.assertEqual(c.delete('/api/peers/phone').status, 204)
        self.assertError(c.get('/api/peers/phone'), 404, 'not_found')
        self.assertError(c.delete('/api/peers/phone'), 404, 'not_found')

        # metrics: admin session
        r = c.get('/metrics')
        self.assertEqual(r.status, 200)
        text = r.body.decode()
        self.assertIn('pic_peers 1\n', text)
        self.assertIn('pic_peer_rx_bytes{peer="laptop"} 0', text)
        self.assertIn('pic_peer_tx_bytes{peer="laptop"}', text)
        self.assertIn('pic_bus_call_seconds_bucket{le="+Inf"}', text)
        self.assertRegex(text, r'pic_bus_call_seconds_count [1-9]')

        # password: wrong old refused; changed; other admin sessions end; old password no longer works
        other = self.admin(gw)
        self.assertError(c.post('/api/password', {'old_password': 'nope', 'new_password': 'another one 1'}),
                         403, 'forbidden')
        self.assertError(c.post('/api/password', {'old_password': ADMIN_PASSWORD}), 400, 'invalid', 'new_password')
        r = c.post('/api/password', {'old_password': ADMIN_PASSWORD, 'new_password': 'another one 1'})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(c.get('/api/session').status, 200)
        self.assertError(other.get('/api/cell'), 401, 'unauthenticated')
        self.assertError(Client(gw).login('admin', ADMIN_PASSWORD), 401, 'unauthenticated')
        self.assertEqual(Client(gw).login('admin', 'another one 1').status, 200)

        # logout
        self.assertEqual(c.post('/api/logout').status, 204)
        self.assertError(c.get('/api/session'), 401, 'unauthenticated')
        self.assertError(c.get('/api/cell'), 401, 'unauthenticated')
        self.assertNotIn(ADMIN_PASSWORD, self.log_text(gw))
        self.assertNotIn('another one 1', self.log_text(gw))


# ---------------------------------------------------------------- exits

class ExitsTest(GatewayTestCase):
    def test_exit_routes(self):
        cell, gw = setup_cell(self.world, allowed=EXIT_ACTIONS)
        c = self.admin(gw)
        self.assertEqual(c.get('/api/exits').json(), [])
        private, _ = h.wg_genkey()
        _, server = h.wg_genkey()
        config = exit_wg_quick(private, server)
        vpn = {'name': 'vpn', 'type': 'wireguard', 'config': config, 'test_target': '192.0.2.1:443'}

        # refused by the field at fault, by the gateway or the cell, and nothing made
        for body, field in ((dict(vpn, name='Bad Name!'), 'name'), (dict(vpn, name=7), 'name'),
                            (dict(vpn, type='bogus'), 'type'), (dict(vpn, type=['wireguard']), 'type'),
                            ({k: v for k, v in vpn.items() if k != 'config'}, 'config'),
                            (dict(vpn, config=''), 'config'), (dict(vpn, config=7), 'config'),
                            (dict(vpn, config=config + '#' * (64 * 1024)), 'config'),
                            (dict(vpn, config=config + 'PostUp = touch /tmp/pwned\n'), 'config'),
                            (dict(vpn, config=config.replace('0.0.0.0/0', '10.0.0.0/8')), 'config'),
                            (dict(vpn, test_target='somewhere'), 'test_target'),
                            (dict(vpn, test_target=443), 'test_target'), (dict(vpn, colour='red'), 'colour'),
                            (dict(vpn, type='cell'), 'type')):   # a cell exit appears when a linked cell offers one
            body_text = self.assertError(c.post('/api/exits', body), 400, 'invalid', field)
            self.assertNotIn(private, json.dumps(body_text))
        self.assertError(c.post('/api/exits', raw=b'{"name": "vpn", "name": "x"}',
                                headers={'Content-Type': 'application/json'}), 400, 'invalid')
        # a proxy exit's URL and resolvers, bounded by the gateway; the password never repeated
        secret = 'hunter2-proxy-secret'
        px = {'name': 'px', 'type': 'proxy', 'proxy': 'socks5://me:%s@192.0.2.10:1080' % secret}
        for body, field in ((dict(px, proxy=''), 'proxy'), (dict(px, proxy=7), 'proxy'),
                            (dict(px, proxy=None), 'proxy'), (dict(px, proxy=[px['proxy']]), 'proxy'),
                            (dict(px, proxy=px['proxy'] + '/' * 1024), 'proxy'),
                            (dict(px, dns_servers=[]), 'dns_servers'),
                            (dict(px, dns_servers='192.0.2.53'), 'dns_servers'),
                            (dict(px, dns_servers=['192.0.2.53'] * 5), 'dns_servers'),
                            (dict(px, dns_servers=[53]), 'dns_servers'), (dict(px, dns_servers=['']), 'dns_servers'),
                            (dict(px, dns_servers=['192.0.2.53' + '0' * 6]), 'dns_servers'),
                            (dict(px, dns_servers=None), 'dns_servers')):
            for r in (c.post('/api/exits', body), c.patch('/api/exits/ghost', {k: body[k] for k in body
                                                                              if k in ('proxy', 'dns_servers')})):
                self.assertNotIn(secret, json.dumps(self.assertError(r, 400, 'invalid', field)))
        self.assertEqual(c.get('/api/exits').json(), [])

        r = c.post('/api/exits', vpn)
        self.assertEqual(r.status, 201, r)
        made = r.json()
        self.assertEqual(set(made), EXIT_KEYS)
        self.assertEqual((made['name'], made['type'], made['endpoint'], made['test_target'], made['peer_count']),
                         ('vpn', 'wireguard', '127.0.0.1:51999', '192.0.2.1:443', 0))
        self.assertTrue(made['address'].startswith('10.200.0.2'), made)
        self.assertEqual(made['dns_servers'], ['10.200.0.1'])
        self.assertIn(made['state'], ('starting', 'down', 'failed'), made)
        self.assertGreater(made['created'], 0)
        self.assertError(c.post('/api/exits', vpn), 409, 'conflict')
        # the private key went in and never comes out
        for path in ('/api/exits', '/api/exits/vpn', '/metrics'):
            r = c.get(path)
            self.assertEqual(r.status, 200, r)
            self.assertNotIn(private, r.body.decode(), path)
        self.assertNotIn(private, self.log_text(gw))
        self.assertEqual([e['name'] for e in c.get('/api/exits').json()], ['vpn'])
        self.assertEqual(c.get('/api/exits/vpn').json()['name'], 'vpn')
        for path in ('/api/exits/ghost', '/api/exits/Bad!', '/api/exits/%s' % ('x' * 80)):
            self.assertError(c.get(path), 404, 'not_found')

        # change it in place
        r = c.patch('/api/exits/vpn', {'test_target': '192.0.2.2:80'})
        self.assertEqual((r.status, r.json()['test_target']), (200, '192.0.2.2:80'), r)
        r = c.patch('/api/exits/vpn', {'config': config.replace('10.200.0.2/32', '10.200.0.3/32')})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json()['address'].startswith('10.200.0.3'), r.json())
        self.assertError(c.patch('/api/exits/vpn', {}), 400, 'invalid')
        self.assertError(c.patch('/api/exits/vpn', {'config': 7}), 400, 'invalid', 'config')
        self.assertError(c.patch('/api/exits/vpn', {'config': '[Interface]\nPreUp = reboot\n'}), 400, 'invalid',
                         'config')
        self.assertError(c.patch('/api/exits/vpn', {'name': 'other'}), 400, 'invalid', 'name')
        self.assertError(c.patch('/api/exits/ghost', {'test_target': '192.0.2.2:80'}), 404, 'not_found')
        self.assertEqual(c.get('/api/exits/vpn').json()['test_target'], '192.0.2.2:80')

        # a peer through it: the exit counts it and cannot go while it does
        self.assertEqual(c.post('/api/peers', {'name': 'laptop'}).json()['exit'], '')
        self.assertError(c.patch('/api/peers/laptop', {'exit': 'ghost'}), 400, 'invalid', 'exit')
        self.assertError(c.patch('/api/peers/laptop', {'exit': 5}), 400, 'invalid', 'exit')
        r = c.patch('/api/peers/laptop', {'exit': 'vpn'})
        self.assertEqual((r.status, r.json()['exit']), (200, 'vpn'), r)
        self.assertEqual(c.get('/api/peers/laptop').json()['exit'], 'vpn')
        self.assertEqual(c.get('/api/exits/vpn').json()['peer_count'], 1)
        r = c.post('/api/peers', {'name': 'phone', 'exit': 'vpn'})
        self.assertEqual((r.status, r.json()['exit']), (201, 'vpn'), r)
        self.assertIn('laptop', self.assertError(c.delete('/api/exits/vpn'), 409, 'conflict')['message'])

        # the server does not answer: the test says so, in bounded time
        start = time.monotonic()
        body = self.assertError(c.post('/api/exits/vpn/test'), 502, 'unreachable')
        self.assertIn('192.0.2.2:80', body['message'])
        self.assertLess(time.monotonic() - start, 9)
        self.assertError(c.post('/api/exits/ghost/test'), 404, 'not_found')

        for peer in ('laptop', 'phone'):
            r = c.patch('/api/peers/%s' % peer, {'exit': ''})
            self.assertEqual((r.status, r.json()['exit']), (200, ''), r)
        self.assertEqual(c.delete('/api/exits/vpn').status, 204)
        self.assertError(c.get('/api/exits/vpn'), 404, 'not_found')
        self.assertError(c.delete('/api/exits/vpn'), 404, 'not_found')
        self.assertEqual(c.get('/api/exits').json(), [])

        # tor takes no config, and refuses one
        self.assertError(c.post('/api/exits', {'name': 'tor', 'type': 'tor', 'config': config}), 400, 'invalid', 'config')
        r = c.post('/api/exits', {'name': 'tor', 'type': 'tor'})
        self.assertEqual((r.status, r.json()['type']), (201, 'tor'), r)
        self.assertError(c.patch('/api/exits/tor', {'config': config}), 400, 'invalid', 'config')
        self.assertEqual(c.delete('/api/exits/tor').status, 204)

    def test_proxy_exit_routes(self):
        """An exit of type proxy: its URL goes in and its password never comes out; its resolvers; what
        only another type takes is refused by the cell, naming the field."""
        cell, gw = setup_cell(self.world, allowed=EXIT_ACTIONS)
        c = self.admin(gw)
        secret = 'hunter2-proxy-secret'
        px = {'name': 'px', 'type': 'proxy', 'proxy': 'socks5://me:%s@192.0.2.10:1080' % secret,
              'test_target': '192.0.2.1:443'}
        config = exit_wg_quick(h.wg_genkey()[0], h.wg_genkey()[1])
        for body, field in ((dict(px, proxy='socks5://me:%s@proxy.example:1080' % secret), 'proxy'),
                            (dict(px, proxy='https://me:%s@192.0.2.10:1080' % secret), 'proxy'),
                            (dict(px, proxy='socks5://me:%s@192.0.2.10:0' % secret), 'proxy'),
                            ({k: v for k, v in px.items() if k != 'proxy'}, 'proxy'),
                            (dict(px, dns_servers=['dns.example']), 'dns_servers'),
                            (dict(px, config=config), 'config'),
                            (dict(px, type='wireguard', config=config), 'proxy'),
                            ({'name': 'px', 'type': 'tor', 'dns_servers': ['192.0.2.53']}, 'dns_servers')):
            self.assertNotIn(secret, json.dumps(self.assertError(c.post('/api/exits', body), 400, 'invalid', field)))
        self.assertEqual(c.get('/api/exits').json(), [])

        r = c.post('/api/exits', px)
        self.assertEqual(r.status, 201, r)
        made = r.json()
        self.assertEqual(set(made), EXIT_KEYS)
        self.assertEqual((made['name'], made['type'], made['endpoint'], made['dns_servers'], made['test_target']),
                         ('px', 'proxy', '192.0.2.10:1080', ['1.1.1.1', '9.9.9.9'], '192.0.2.1:443'))
        r = c.post('/api/exits', {'name': 'web', 'type': 'proxy', 'proxy': 'http://192.0.2.11:3128',
                                  'dns_servers': ['192.0.2.53', '192.0.2.54']})
        self.assertEqual((r.status, r.json()['endpoint'], r.json()['dns_servers']),
                         (201, '192.0.2.11:3128', ['192.0.2.53', '192.0.2.54']), r)
        self.assertEqual([(e['name'], e['type']) for e in c.get('/api/exits').json()],
                         [('px', 'proxy'), ('web', 'proxy')])
        # the password went in and never comes out
        for path in ('/api/exits', '/api/exits/px', '/metrics'):
            r = c.get(path)
            self.assertEqual(r.status, 200, r)
            self.assertNotIn(secret, r.body.decode(), path)

        # its resolvers, then its proxy (the resolvers stay)
        r = c.patch('/api/exits/px', {'dns_servers': ['192.0.2.53']})
        self.assertEqual((r.status, r.json()['dns_servers']), (200, ['192.0.2.53']), r)
        r = c.patch('/api/exits/px', {'proxy': 'http://other:%s@192.0.2.12:8080' % secret})
        self.assertEqual((r.status, r.json()['endpoint'], r.json()['dns_servers']),
                         (200, '192.0.2.12:8080', ['192.0.2.53']), r)
        self.assertNotIn(secret, r.body.decode())
        for body, field in (({'config': config}, 'config'), ({'dns_servers': ['dns.example']}, 'dns_servers'),
                            ({'proxy': 'socks5://me:%s@192.0.2.10:0' % secret}, 'proxy')):
            body_text = self.assertError(c.patch('/api/exits/px', body), 400, 'invalid', field)
            self.assertNotIn(secret, json.dumps(body_text))
        self.assertEqual(c.post('/api/exits', {'name': 'vpn', 'type': 'wireguard', 'config': config}).status, 201)
        self.assertError(c.patch('/api/exits/vpn', {'proxy': 'socks5://192.0.2.10:1080'}), 400, 'invalid', 'proxy')
        self.assertError(c.patch('/api/exits/vpn', {'dns_servers': ['192.0.2.53']}), 400, 'invalid', 'dns_servers')
        self.assertEqual(c.get('/api/exits/px').json()['endpoint'], '192.0.2.12:8080')
        self.assertNotIn(secret, self.log_text(gw))

        for name in ('px', 'web', 'vpn'):
            self.assertEqual(c.delete('/api/exits/%s' % name).status, 204)
        self.assertEqual(c.get('/api/exits').json(), [])

    def test_sshuttle_exit_routes(self):
        """An exit of type sshuttle: target, ssh_key and host_key bounded by the gateway and read by the cell,
        each refusal naming its field; the private key goes in and never comes out."""
        cell, gw = setup_cell(self.world, allowed=EXIT_ACTIONS)
        c = self.admin(gw)
        key, other_key, host, locked = (ssh_keygen(self.world, n, p) for n, p in (
            ('key', ''), ('other', ''), ('host.pub', ''), ('locked', 'a passphrase')))
        secrets = [k.splitlines()[1] for k in (key, other_key, locked)]

        def refused(r, field):
            text = json.dumps(self.assertError(r, 400, 'invalid', field))
            for secret in secrets:
                self.assertNotIn(secret, text)
            return text

        ssh = {'name': 'ssh', 'type': 'sshuttle', 'target': 'pic@192.0.2.10:2222', 'ssh_key': key, 'host_key': host,
               'test_target': '192.0.2.1:443'}
        # bounded by the gateway, for POST and PATCH alike
        for field, bad in (('target', ''), ('target', 7), ('target', None), ('target', 'pic@' + '1' * 300),
                           ('ssh_key', ''), ('ssh_key', 7), ('ssh_key', [key]), ('ssh_key', key + '\n' * 16384),
                           ('host_key', ''), ('host_key', {}), ('host_key', 'ssh-ed25519 ' + 'A' * 2048)):
            refused(c.post('/api/exits', dict(ssh, **{field: bad})), field)
            refused(c.patch('/api/exits/ghost', {field: bad}), field)
        # read by the cell
        for body, field, word in ((dict(ssh, ssh_key=locked), 'ssh_key', 'passphrase'),
                                  (dict(ssh, ssh_key=host), 'ssh_key', 'OpenSSH private key'),
                                  (dict(ssh, target='pic@ssh.example:22'), 'target', 'IPv4'),
                                  (dict(ssh, target='192.0.2.10'), 'target', 'user@address'),
                                  (dict(ssh, host_key='ssh-rsa ' + host.split()[1]), 'host_key', 'ssh-rsa'),
                                  ({k: v for k, v in ssh.items() if k != 'host_key'}, 'host_key', 'required'),
                                  (dict(ssh, dns_servers=['192.0.2.53', '192.0.2.54']), 'dns_servers', 'one'),
                                  (dict(ssh, proxy='socks5://192.0.2.10:1080'), 'proxy', 'only a proxy exit'),
                                  ({'name': 'tor', 'type': 'tor', 'ssh_key': key}, 'ssh_key', 'only an sshuttle')):
            self.assertIn(word, refused(c.post('/api/exits', body), field))
        self.assertEqual(c.get('/api/exits').json(), [])

        r = c.post('/api/exits', ssh)
        made = r.json()
        self.assertEqual((r.status, set(made)), (201, EXIT_KEYS), r)
        self.assertEqual((made['name'], made['type'], made['endpoint'], made['dns_servers'], made['test_target']),
                         ('ssh', 'sshuttle', '192.0.2.10:2222', [], '192.0.2.1:443'))
        r = c.post('/api/exits', {'name': 'ssh2', 'type': 'sshuttle', 'target': 'pic@192.0.2.11', 'ssh_key': other_key,
                                  'host_key': host, 'dns_servers': ['192.0.2.53']})
        self.assertEqual((r.status, r.json()['endpoint'], r.json()['dns_servers']), (201, '192.0.2.11:22', ['192.0.2.53']), r)

        # changed in place, one setting at a time; refusals change nothing
        for body, shown in (({'target': 'root@192.0.2.12'}, ('192.0.2.12:22', [])),
                            ({'dns_servers': ['192.0.2.53']}, ('192.0.2.12:22', ['192.0.2.53'])),
                            ({'ssh_key': other_key, 'host_key': host + '\n'}, ('192.0.2.12:22', ['192.0.2.53']))):
            r = c.patch('/api/exits/ssh', body)
            self.assertEqual((r.status, (r.json()['endpoint'], r.json()['dns_servers'])), (200, shown), r)
        for body, field in (({'ssh_key': locked}, 'ssh_key'), ({'target': 'pic@192.0.2.13:0'}, 'target'),
                            ({'host_key': 'ssh-ed25519 AAAA'}, 'host_key'), ({'config': 'x'}, 'config'),
                            ({'proxy': 'socks5://192.0.2.10:1080'}, 'proxy')):
            refused(c.patch('/api/exits/ssh', body), field)
        self.assertEqual(c.get('/api/exits/ssh').json()['endpoint'], '192.0.2.12:22')
        self.assertEqual(c.post('/api/exits', {'name': 'tor', 'type': 'tor'}).status, 201)
        for field in ('target', 'ssh_key', 'host_key'):
            refused(c.patch('/api/exits/tor', {field: ssh[field]}), field)

        # the private keys went in and never come out
        bodies = [c.get(path).body.decode() for path in ('/api/exits', '/api/exits/ssh', '/api/exits/ssh2', '/metrics')]
        for secret in secrets:
            self.assertNotIn(secret, '\n'.join(bodies + [self.log_text(gw)]))
        self.assertEqual([c.delete('/api/exits/%s' % name).status for name in ('ssh', 'ssh2', 'tor')], [204] * 3)
        self.assertEqual(c.get('/api/exits').json(), [])

    def test_exits_need_their_action(self):
        cell, gw = setup_cell(self.world)   # no org.pic.cell1.manage-exits
        c = self.admin(gw)
        private, _ = h.wg_genkey()
        _, server = h.wg_genkey()
        self.assertError(c.post('/api/exits', {'name': 'vpn', 'type': 'wireguard',
                                               'config': exit_wg_quick(private, server)}), 403, 'forbidden')
        self.assertEqual(c.get('/api/exits').json(), [])


    def test_offer_exit_to_a_linked_cell(self):
        """POST /api/links/{name}/offer-exit as one cell can see it (test_cell_exits and the two-cell browser
        test offer for real): a strict body, checked before the link is looked up, then 404 for no link."""
        cell, gw = setup_cell(self.world, allowed=EXIT_ACTIONS + ['org.pic.cell1.manage-links'])
        c = self.admin(gw)
        json_type = {'Content-Type': 'application/json'}
        for body, field in (({}, 'offer'), ({'offer': 'yes'}, 'offer'), ({'offer': 1}, 'offer'), ({'offer': None}, 'offer'),
                            ({'offer': [True]}, 'offer'), ({'Offer': True}, 'offer'), ({'offer': True, 'to': 'b'}, None)):
            body = self.assertError(c.post('/api/links/b/offer-exit', body), 400, 'invalid', field)
            if field is None:
                self.assertNotIn('field', body)
        for raw in (b'', b'true', b'[true]', b'{"offer": true, "offer": false}', b'{"offer": true} x'):
            self.assertError(c.post('/api/links/b/offer-exit', raw=raw, headers=json_type), 400, 'invalid')
        for name in ('b', 'Bad!', 'x' * 64):
            self.assertError(c.post('/api/links/%s/offer-exit' % name, {'offer': True}), 404, 'not_found')
        self.assertError(c.get('/api/links/b/offer-exit'), 405, 'method_not_allowed')
        self.assertEqual(c.get('/api/links').json(), [])


# ---------------------------------------------------------------- auth bypass attempts

DATA_ROUTES = [('GET', '/api/cell'), ('GET', '/api/peers'), ('GET', '/api/peers/laptop'), ('GET', '/api/exits'),
               ('GET', '/api/exits/vpn'),
               ('GET', '/api/peers/laptop/config'), ('GET', '/api/peers/laptop/config.svg'), ('GET', '/api/events'),
               ('GET', '/api/session')]
MUTATING_ROUTES = [('PATCH', '/api/cell', {'domain': 'evil.lan'}), ('POST', '/api/cell/apply', None),
                   ('POST', '/api/cell/discard', None), ('POST', '/api/peers', {'name': 'evil'}),
                   ('PATCH', '/api/peers/laptop', {'enabled': False}), ('DELETE', '/api/peers/laptop', None),
                   ('POST', '/api/peers/laptop/rotate-keys', None), ('POST', '/api/peers/laptop/login', None),
                   ('POST', '/api/password', {'old_password': ADMIN_PASSWORD, 'new_password': 'hijacked 123'}),
                   ('POST', '/api/exits', {'name': 'evil', 'type': 'wireguard', 'config': '[Interface]'}),
                   ('PATCH', '/api/exits/vpn', {'test_target': '192.0.2.9:80'}), ('DELETE', '/api/exits/vpn', None),
                   ('POST', '/api/exits/vpn/test', None), ('POST', '/api/links/b/offer-exit', {'offer': True}),
                   ('POST', '/api/logout', None)]


class AuthBypassTest(GatewayTestCase):
    def assertUnchanged(self, admin, laptop):
        self.assertEqual(admin.get('/api/peers/laptop').json()['public_key'], laptop['public_key'])
        self.assertEqual([p['name'] for p in admin.get('/api/peers').json()], ['laptop'])
        self.assertEqual(admin.get('/api/cell').json()['domain'], 'home.lan')

    def test_refused_without_valid_session_or_csrf(self):
        cell, gw = setup_cell(self.world)
        admin = self.admin(gw)
        laptop = admin.post('/api/peers', {'name': 'laptop'}).json()

        forged = Client(gw)
        forged.cookie = 'pic_session=' + 'A' * 43
        forged.csrf = admin.csrf
        nocookie = Client(gw)
        nocookie.csrf = admin.csrf
        for who in (Client(gw), nocookie, forged):
            for method, path in DATA_ROUTES:
                self.assertError(who.request(method, path), 401, 'unauthenticated')
            for method, path, body in MUTATING_ROUTES:
                self.assertError(who.request(method, path, body), 401, 'unauthenticated')
        # a real cookie without (or with a wrong) CSRF token changes nothing
        for token in (None, 'B' * 43, admin.csrf[:-1] + ('x' if admin.csrf[-1] != 'x' else 'y'), ''):
            c = Client(gw)
            c.cookie = admin.cookie
            headers = {'X-CSRF-Token': token} if token is not None else {}
            for method, path, body in MUTATING_ROUTES:
                self.assertError(c.request(method, path, body, headers=headers), 403, 'csrf')
        # a foreign Origin is refused even with cookie and token
        for origin in ('http://evil.example', 'http://127.0.0.1:1', 'null', 'https://' + gw.host):
            for method, path in DATA_ROUTES:
                self.assertError(admin.request(method, path, headers={'Origin': origin}), 403, 'csrf')
            for method, path, body in MUTATING_ROUTES:
                self.assertError(admin.request(method, path, body, headers={'Origin': origin}), 403, 'csrf')
            self.assertError(gw.request('POST', '/api/login', {'username': 'admin', 'password': ADMIN_PASSWORD},
                                        headers={'Origin': origin}), 403, 'csrf')
        # the gateway's own origin is fine
        self.assertEqual(admin.get('/api/cell', headers={'Origin': 'http://' + gw.host}).status, 200)
        self.assertUnchanged(admin, laptop)
        # /metrics: an admin session or the scrape token, not any local process (test_gateway_hardening)
        self.assertError(gw.request('GET', '/metrics'), 401, 'unauthenticated')

    def test_expired_session(self):
        cell, gw = setup_cell(self.world, gateway_args=['--session-idle=1'])
        admin = self.admin(gw)
        self.assertEqual(admin.get('/api/cell').status, 200)
        time.sleep(1.5)
        self.assertError(admin.get('/api/cell'), 401, 'unauthenticated')
        self.assertError(admin.get('/api/session'), 401, 'unauthenticated')
        self.assertError(admin.post('/api/peers', {'name': 'late'}), 401, 'unauthenticated')
        # a fresh login works again
        self.assertEqual(self.admin(gw).get('/api/peers').json(), [])


# ---------------------------------------------------------------- a peer's session

class PeerSessionTest(GatewayTestCase):
    def test_peer_sees_only_itself(self):
        cell, gw = setup_cell(self.world)
        admin = self.admin(gw)
        admin.post('/api/peers', {'name': 'laptop'})
        admin.post('/api/peers', {'name': 'phone'})
        password = admin.post('/api/peers/laptop/login').json()['password']
        self.assertError(Client(gw).login('laptop', 'wrong password'), 401, 'unauthenticated')
        self.assertError(Client(gw).login('phone', password), 401, 'unauthenticated')

        p = Client(gw)
        r = p.login('laptop', password)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()['role'], r.json()['peer']), ('peer', 'laptop'))
        self.assertEqual(p.get('/api/session').json()['peer'], 'laptop')
        self.assertEqual([x['name'] for x in p.get('/api/peers').json()], ['laptop'])
        self.assertEqual(p.get('/api/peers/laptop').json()['name'], 'laptop')
        self.assertEqual(p.get('/api/peers/laptop/config').status, 200)
        self.assertEqual(p.get('/api/peers/laptop/config.svg').status, 200)
        for method, path in (('GET', '/api/peers/phone'), ('GET', '/api/peers/phone/config'),
                             ('GET', '/api/peers/phone/config.svg'), ('GET', '/api/cell'), ('GET', '/api/events'),
                             ('GET', '/api/peers/ghost')):
            self.assertError(p.request(method, path), 403, 'forbidden')
        for method, path, body in MUTATING_ROUTES:
            if path == '/api/logout':
                continue
            self.assertError(p.request(method, path, body), 403, 'forbidden')
        # logging out ends the session
        q = Client(gw)
        self.assertEqual(q.login('laptop', password).status, 200)
        self.assertEqual(q.post('/api/logout').status, 204)
        self.assertError(q.get('/api/peers'), 401, 'unauthenticated')
        # a new password replaces the old one, and ends the sessions it granted (test_gateway_hardening)
        admin.post('/api/peers/laptop/login')
        self.assertError(Client(gw).login('laptop', password), 401, 'unauthenticated')
        h.wait_for(lambda: p.get('/api/peers').status == 401, 5, 0.02, 'the old login\'s session ended')


# ---------------------------------------------------------------- rate limit, timeouts

class StrictInputTest(GatewayTestCase):
    """Issue 8's reproductions: what was silently cut or rewritten is refused by name."""

    def test_json_and_paths_are_refused_not_rewritten(self):
        cell, gw = setup_cell(self.world)
        admin = self.admin(gw)
        json_type = {'Content-Type': 'application/json'}
        cases = [
            (b'{"name":"ab\\u0000cd"}', '\\u0000'),      # created peer "ab" before
            (b'{"name":"laptop"} trailing', 'after the JSON value'),
            (b'{"name":"laptop"}{"name":"phone"}', 'after the JSON value'),
            (b'{"name":"caf\xff"}', 'Not UTF-8'),          # answered 500 "Out of memory." before
            (b'{"name":"laptop","name":"phone"}', "'name' is given twice"),
        ]
        for raw, words in cases:
            body = self.assertError(admin.post('/api/peers', raw=raw, headers=json_type), 400, 'invalid')
            self.assertIn(words, body['message'], raw)
            if 'given twice' in words:
                self.assertEqual(body.get('field'), 'name', 'a member given twice is named as the field')
        self.assertEqual(admin.get('/api/peers').json(), [], 'no peer was made')
        # logging in as "admin\u0000x" worked before
        r = gw.request('POST', '/api/login', raw=b'{"username":"admin\\u0000x","password":"%s"}'
                       % ADMIN_PASSWORD.encode(), headers=json_type)
        self.assertError(r, 400, 'invalid')
        # a NUL in the path cut it short: /static/app.js%00.html served app.js
        self.assertEqual(gw.request('GET', '/static/app.js').status, 200)
        for path in ('/static/app.js%00.html', '/static/app.js%0a', '/api/peers%00'):
            self.assertError(gw.request('GET', path), 400, 'invalid')
        self.assertEqual(gw.request('GET', '/static/app.js%2Ejs').status, 404)  # a plain escape still decodes


class LimitsTest(GatewayTestCase):
    def test_failed_logins_rate_limited(self):
        cell, gw = setup_cell(self.world, gateway_args=['--login-attempts=3'])
        for _ in range(3):
            self.assertError(Client(gw).login('admin', 'guess'), 401, 'unauthenticated')
        r = Client(gw).login('admin', ADMIN_PASSWORD)   # even the right password, for now
        self.assertError(r, 429, 'rate_limited')
        self.assertTrue(1 <= int(r.header('Retry-After')) <= 60, r.header('Retry-After'))
        # another user from here: the address allows four times as many (test_gateway_hardening)
        self.assertError(Client(gw).login('someone', 'guess'), 401, 'unauthenticated')

    def test_refused_change_gives_500(self):
        failure_file = os.path.join(self.world.path, 'fail-firewall')
        cell, gw = setup_cell(self.world, extra_args=['--test-firewall-failure-file=%s' % failure_file])
        admin = self.admin(gw)
        open(failure_file, 'w').close()
        self.assertError(admin.post('/api/peers', {'name': 'laptop'}), 500, 'failed')
        os.unlink(failure_file)
        self.assertEqual(admin.get('/api/peers').json(), [])
        self.assertEqual(admin.post('/api/peers', {'name': 'laptop'}).status, 201)

    def test_slow_cell_gives_504_in_bounded_time(self):
        cell, _ = setup_cell(self.world)  # set up without the short timeout: Setup may take a second here
        gw = Gateway(self.world, cell, ['--bus-timeout=1'])
        admin = self.admin(gw)
        cell.polkit.set_delay(3)
        start = time.monotonic()
        self.assertError(admin.patch('/api/cell', {'domain': 'slow.lan'}), 504, 'timeout')
        self.assertLess(time.monotonic() - start, 2.5)
        # the gateway kept serving meanwhile and afterwards
        self.assertEqual(gw.request('GET', '/health').status, 200)
        cell.polkit.set_delay(0)
        h.wait_for(lambda: admin.get('/api/cell').status == 200, 10, 0.1, 'the gateway answering from the cell again')


# ---------------------------------------------------------------- server-sent events

class EventsTest(GatewayTestCase):
    def read_events(self, sock_file, want, timeout=10, match=lambda data: True):
        """Reads SSE lines until an event named @want whose data @match arrives; returns the data (parsed)."""
        deadline = time.monotonic() + timeout
        event = None
        while time.monotonic() < deadline:
            line = sock_file.readline()
            if not line:
                raise EOFError('stream ended')
            line = line.decode().rstrip('\r\n')
            if line.startswith('event: '):
                event = line[7:]
            elif line.startswith('data: ') and event == want and match(json.loads(line[6:])):
                return json.loads(line[6:])
        raise TimeoutError('no %s event' % want)

    def test_events_follow_the_bus(self):
        cell, gw = setup_cell(self.world, gateway_args=['--sse-keepalive=0.5'])
        admin = self.admin(gw)
        f, headers = open_events(gw, admin, self.addCleanup)
        self.assertIn(' 200 ', headers['status'])
        self.assertEqual(headers['content-type'], 'text/event-stream')

        self.assertEqual(admin.post('/api/peers', {'name': 'tablet'}).status, 201)
        data = self.read_events(f, 'peer')
        self.assertEqual(data['name'], 'tablet')
        self.assertEqual(set(data), PEER_KEYS)
        admin.patch('/api/cell', {'domain': 'events.lan'})
        data = self.read_events(f, 'cell', match=lambda d: d['domain'] == 'events.lan')
        self.assertEqual(set(data), CELL_KEYS)
        self.assertEqual(admin.delete('/api/peers/tablet').status, 204)
        self.assertEqual(self.read_events(f, 'peer-removed'), {'name': 'tablet'})
        # keepalive comments keep coming while nothing happens
        deadline = time.monotonic() + 5
        seen = False
        while time.monotonic() < deadline and not seen:
            seen = f.readline().startswith(b': keepalive')
        self.assertTrue(seen)


# ---------------------------------------------------------------- systemd socket activation

class SocketActivationTest(GatewayTestCase):
    def test_serves_the_socket_from_systemd(self):
        if not shutil.which('systemd-socket-activate'):
            self.skipTest('systemd-socket-activate missing')
        cell = h.Cell(world=self.world)
        cell.polkit.set_allowed(ALL_ACTIONS)
        cell.start()
        port = free_port()
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cell.bus.address)
        # --listen names an address we cannot bind: only the passed socket can work
        self.world.spawn(['systemd-socket-activate', '-E', 'DBUS_SYSTEM_BUS_ADDRESS', '-E', h.WORLD_MARKER,
                          '-l', '127.0.0.1:%d' % port, gatewayd_binary(),
                          '--listen=192.0.2.1:1'], name='pic-gatewayd', env=env)
        gw = Gateway.__new__(Gateway)
        gw.port, gw.host = port, '127.0.0.1:%d' % port
        r = h.wait_for(lambda: gw.request('GET', '/health'), 15, what='the socket-activated gateway')
        self.assertEqual(r.json(), {'status': 'ok', 'setup_complete': False, 'bus': 'ok'})


if __name__ == '__main__':
    h.main()
