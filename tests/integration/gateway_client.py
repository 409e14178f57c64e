# SPDX-License-Identifier: LGPL-2.1-or-later
"""pic-gatewayd for tests and benchmarks: start it against a Cell's private bus
and talk HTTP to it (http.client, one connection per request)."""

import http.client
import json
import os
import socket

import harness as h

ALL_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets', 'org.pic.cell1.read-firewall',
               'org.pic.cell1.authenticate']
ADMIN_PASSWORD = 'correct horse battery'
EXIT_ACTIONS = ALL_ACTIONS + ['org.pic.cell1.manage-exits']
SETUP = {'name': 'home', 'domain': 'home.lan', 'vpn_address': '10.81.0.1/24',
         'endpoint': 'cell.example.org:51820', 'admin_password': ADMIN_PASSWORD}


def exit_wg_quick(private_key, server_public_key, extra_interface='', endpoint='127.0.0.1:51999'):
    """A VPN provider's wg-quick file for an exit whose server does not answer (the exit stays "starting")."""
    return ('[Interface]\nPrivateKey = %s\nAddress = 10.200.0.2/32\nDNS = 10.200.0.1\n%s\n'
            '[Peer]\nPublicKey = %s\nEndpoint = %s\nAllowedIPs = 0.0.0.0/0\n'
            % (private_key, extra_interface, server_public_key, endpoint))


def gatewayd_binary(build=None):
    return os.path.join(build or h.build_dir(), 'src', 'gateway', 'pic-gatewayd')


def free_port(count=1):
    """A loopback port that is free now, and the count - 1 after it too (a demo of several cells
    listens on consecutive ports: the kernel's choice alone says nothing of the next one)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        if port + count > 65536:
            continue
        socks = []
        try:
            for p in range(port, port + count):
                t = socket.socket()
                socks.append(t)
                t.bind(('127.0.0.1', p))
            return port
        except OSError:
            continue
        finally:
            for t in socks:
                t.close()
    raise RuntimeError('no %d consecutive free loopback ports' % count)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return '<%d %r>' % (self.status, self.body[:300])


class GatewayEndpoint:
    """Requests to a pic-gatewayd on 127.0.0.1:port (however it was started)."""

    def __init__(self, port):
        self.port = port
        self.host = '127.0.0.1:%d' % port

    def connection(self, timeout=30):
        return http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, raw=None, timeout=30):
        hdrs = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault('Content-Type', 'application/json')
        c = self.connection(timeout)
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            c.close()


class Gateway(GatewayEndpoint):
    """pic-gatewayd on 127.0.0.1:<free port> talking to cell's bus."""

    def __init__(self, world, cell, extra_args=(), build=None, as_nobody=None):
        """as_nobody: run as user nobody, as the shipped unit runs it as pic-gateway (not root);
        the default with the real polkitd in place of the mock (PIC_POLKIT=real)."""
        if as_nobody is None:
            as_nobody = getattr(cell.polkit, 'stands_in_for_mock', False)
        self.as_nobody = as_nobody
        self.world = world
        super().__init__(free_port())
        argv = [gatewayd_binary(build), '--listen=%s' % self.host,
                '--web-root=%s' % os.path.join(h.source_dir(), 'src', 'web'), '--log-level=debug'] + list(extra_args)
        if as_nobody:
            argv = h.NOBODY_PREFIX + argv
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cell.bus.address)
        self.proc = world.spawn(argv, name='pic-gatewayd', env=env)
        h.wait_for(self._answers, 15, what='pic-gatewayd answering on %s' % self.host)

    def _answers(self):
        if not self.proc.alive():
            raise RuntimeError('pic-gatewayd exited')
        return self.request('GET', '/health').status == 200


class Client:
    """A browser-like client: keeps the session cookie and CSRF token."""

    def __init__(self, gateway):
        self.gw = gateway
        self.cookie = None
        self.csrf = None

    def login(self, username, password):
        r = self.gw.request('POST', '/api/login', {'username': username, 'password': password})
        if r.status == 200:
            cookie = r.header('Set-Cookie')
            self.cookie = cookie.split(';', 1)[0]
            self.csrf = r.json()['csrf_token']
        return r

    def request(self, method, path, body=None, headers=None, **kwargs):
        hdrs = {}
        if self.cookie:
            hdrs['Cookie'] = self.cookie
        if self.csrf and method not in ('GET', 'HEAD'):
            hdrs['X-CSRF-Token'] = self.csrf
        hdrs.update(headers or {})
        return self.gw.request(method, path, body, hdrs, **kwargs)

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def post(self, path, body=None, **kw):
        return self.request('POST', path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request('PATCH', path, body, **kw)

    def delete(self, path, **kw):
        return self.request('DELETE', path, **kw)


def open_events(gw, client, add_cleanup):
    """GET /api/events as @client on a socket of its own; returns the stream (after the headers)
    and the headers (lower-case names). @add_cleanup: a test's addCleanup."""
    s = socket.create_connection(('127.0.0.1', gw.port), timeout=15)
    add_cleanup(s.close)
    s.sendall(('GET /api/events HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\n\r\n' % (gw.host, client.cookie)).encode())
    f = s.makefile('rb')
    add_cleanup(f.close)
    headers = {'status': f.readline().decode().strip()}
    while True:
        line = f.readline().decode().strip()
        if not line:
            return f, headers
        k, _, v = line.partition(':')
        headers[k.lower()] = v.strip()


def setup_body(cell, gw, **fields):
    """SETUP with @fields; with the setup code a gateway not running as root needs (its admin reads
    it as root: picctl setup-code)."""
    body = dict(SETUP, **fields)
    if gw.as_nobody and not cell.properties('org.pic.Cell1.Manager')['SetupComplete']:
        body['setup_code'] = str(cell.manager().GetSetupCode())
    return body


def setup_cell(world, extra_args=(), gateway_args=(), allowed=ALL_ACTIONS, setup=True):
    """A started cell (mock polkit allowing @allowed), a gateway, and — when @setup — a set-up cell."""
    cell = h.Cell(world=world, extra_args=extra_args)
    cell.polkit.set_allowed(allowed)
    cell.start()
    gw = Gateway(world, cell, gateway_args)
    if setup:
        r = gw.request('POST', '/api/setup', setup_body(cell, gw))
        if r.status != 200:
            raise RuntimeError('setup through the gateway failed: %r' % r)
    return cell, gw
