#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pic-gatewayd behind a real TLS proxy (issue 8, --trusted-proxy): Debian's nginx in front of it,
with a certificate made now by openssl, setting X-Forwarded-For ($proxy_add_x_forwarded_for),
-Proto and -Host, as the README shows. nginx reaches the gateway from 127.0.0.2 (proxy_bind),
the only trusted proxy; clients reach nginx from other loopback addresses, so the gateway can
tell them apart only through the header, and a client's own X-Forwarded-For is seen to count for
nothing. Through nginx over https: the session cookie is Secure, writes with Origin
https://HOST:PORT pass and http:// is refused, the login limit counts per client, /metrics
answers only the scrape token; a direct request carrying X-Forwarded-* from an address that is
not a trusted proxy changes nothing; a malformed one from the trusted proxy is refused by name.
At the end headless Chromium signs in through nginx and adds a peer (tests/browser/proxy-test.mjs)."""

import base64
import hashlib
import http.client
import os
import re
import shutil
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from gateway_client import ADMIN_PASSWORD, GatewayEndpoint, free_port, setup_cell  # noqa: E402

PROXY_ADDRESS = '127.0.0.2'     # nginx's side of its connections to the gateway
HOST = 'pic.test'               # the name clients reach nginx by
NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
OPENSSL = shutil.which('openssl') or '/usr/bin/openssl'
TOKEN = 'scrape-token-for-the-proxy-test'

NGINX_CONF = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {error_log} info;
events {{ worker_connections 128; }}
http {{
    access_log {access_log};
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        location / {{
            proxy_pass http://127.0.0.1:{gateway_port};
            proxy_bind {proxy_address};
            proxy_http_version 1.1;
            proxy_buffering off;          # /api/events streams
            proxy_read_timeout 1h;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
        }}
    }}
}}
"""


class Nginx:
    """nginx in the foreground with everything under the world's nginx/ directory, its logs in logs/."""

    def __init__(self, world, port, gateway_port):
        self.dir = world.subdir('nginx')
        self.port = port
        self.host = '%s:%d' % (HOST, self.port)
        self.url = 'https://' + self.host
        self.cert = os.path.join(self.dir, 'cert.pem')
        h.run([OPENSSL, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
               '-days', '1', '-subj', '/CN=' + HOST, '-addext', 'subjectAltName=DNS:%s,IP:127.0.0.1' % HOST,
               '-keyout', os.path.join(self.dir, 'key.pem'), '-out', self.cert])
        # the certificate's public key as Chromium pins it (--ignore-certificate-errors-spki-list):
        # base64 of the SHA-256 of its DER SubjectPublicKeyInfo, which the PEM body is
        pem = h.run([OPENSSL, 'x509', '-pubkey', '-noout', '-in', self.cert]).stdout
        der = base64.b64decode(''.join(l for l in pem.splitlines() if l and not l.startswith('-----')))
        self.spki = base64.b64encode(hashlib.sha256(der).digest()).decode()
        conf = os.path.join(self.dir, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=self.port, gateway_port=gateway_port,
                                      proxy_address=PROXY_ADDRESS, error_log=world.log_path('nginx-error'),
                                      access_log=world.log_path('nginx-access')))
        self.proc = world.spawn([NGINX, '-p', self.dir + '/', '-c', conf, '-e', world.log_path('nginx-error'),
                                 '-g', 'daemon off;'], name='nginx')
        world.add_cleanup(self.proc.stop_tree)   # after the master: its workers
        self.context = ssl.create_default_context(cafile=self.cert)
        h.wait_for(self._answers, 15, 0.1, 'nginx answering on 127.0.0.1:%d' % self.port)

    def _answers(self):
        if not self.proc.alive():
            raise RuntimeError('nginx exited')
        try:
            return self.request('GET', '/health').status == 200
        except OSError:
            return False

    def request(self, method, path, body=None, headers=None, source='127.0.0.1'):
        """One request over https to nginx from the loopback address @source, Host pic.test:PORT."""
        return Endpoint(self.port, self.host, source, self.context).request(method, path, body, headers)


class Endpoint(GatewayEndpoint):
    """Requests to 127.0.0.1:port from the loopback address @source with Host @host (unless the
    headers give one), over https when given an SSL context."""

    def __init__(self, port, host, source='127.0.0.1', context=None):
        super().__init__(port)
        self.host, self.source, self.context = host, source, context

    def connection(self, timeout=30):
        if self.context:
            return http.client.HTTPSConnection('127.0.0.1', self.port, context=self.context, timeout=timeout,
                                               source_address=(self.source, 0))
        return http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout, source_address=(self.source, 0))

    def request(self, method, path, body=None, headers=None, **kwargs):
        return super().request(method, path, body, dict({'Host': self.host}, **(headers or {})), **kwargs)


def plain_request(port, method, path, body=None, headers=None, source='127.0.0.1'):
    """One request straight to the gateway from @source, Host 127.0.0.1:PORT unless given."""
    return Endpoint(port, '127.0.0.1:%d' % port, source).request(method, path, body, headers)


def raw_status(port, text, source):
    """Bytes as given to the gateway from @source; the status code and the body."""
    with socket.create_connection(('127.0.0.1', port), timeout=30, source_address=(source, 0)) as s:
        s.sendall(text.encode())
        answer = b''
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b'\r\n\r\n')
    return int(head.split(b' ', 2)[1]), body


def session_of(r):
    """(Cookie header value, CSRF token) from a login's answer."""
    return r.header('Set-Cookie').split(';', 1)[0], r.json()['csrf_token']


class GatewayProxyTest(h.HarnessTestCase):
    def setUp(self):
        super().setUp()
        missing = [p for p in (NGINX, OPENSSL) if not os.access(p, os.X_OK)]
        if missing:
            self.skipTest('missing: ' + ', '.join(missing))
        token_file = os.path.join(self.world.path, 'metrics-token')
        with open(token_file, 'w') as f:
            f.write(TOKEN + '\n')
        nginx_port = free_port()
        self.cell, self.gw = setup_cell(self.world, gateway_args=[
            '--trusted-proxy=%s' % PROXY_ADDRESS, '--trusted-proxy=fd00::/8',
            '--allowed-host=%s:%d' % (HOST, nginx_port), '--metrics-token-file=%s' % token_file,
            '--login-attempts=2'])
        self.nginx = Nginx(self.world, nginx_port, self.gw.port)

    def login(self, password=ADMIN_PASSWORD, source='127.0.0.1', headers=None, user='admin'):
        return self.nginx.request('POST', '/api/login', {'username': user, 'password': password},
                                  headers=headers, source=source)

    def gateway_log(self):
        with open(self.gw.proc.log, errors='replace') as f:
            return f.read()

    def assertError(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.json()['error'], code, r)
        return r.json()

    def test_through_nginx(self):
        n = self.nginx
        origin = 'https://' + n.host

        # https: the session cookie is Secure
        r = self.login(source='127.0.0.10', headers={'Origin': origin})
        self.assertEqual(r.status, 200, r)
        attrs = [a.strip() for a in r.header('Set-Cookie').split(';')]
        self.assertIn('Secure', attrs)
        self.assertIn('HttpOnly', attrs)
        cookie, csrf = session_of(r)
        auth = {'Cookie': cookie, 'X-CSRF-Token': csrf}

        # a write from the page's own origin (https, the proxy's name and port) passes ...
        r = n.request('POST', '/api/peers', {'name': 'laptop'}, headers=dict(auth, Origin=origin))
        self.assertEqual(r.status, 201, r)
        # ... http:// (what the gateway itself speaks), another port or name do not
        for other in ('http://' + n.host, 'https://%s:%d' % (HOST, n.port + 1), 'https://' + HOST,
                      'https://evil.example:%d' % n.port, 'http://127.0.0.1:%d' % self.gw.port):
            self.assertError(n.request('POST', '/api/peers', {'name': 'tablet'}, headers=dict(auth, Origin=other)),
                             403, 'csrf')
        self.assertEqual(n.request('GET', '/api/peers/tablet', headers=auth).status, 404)
        # the Host check takes the name the client asked nginx for (nginx itself sends Host 127.0.0.1:GATEWAY)
        self.assertError(n.request('GET', '/health', headers={'Host': 'evil.example:%d' % n.port}), 421, 'misdirected')
        self.assertEqual(n.request('GET', '/health', headers={'Host': 'PIC.test:%d' % n.port}).status, 200)

        # /metrics through the proxy: the scrape token, nothing else (not even the admin's session)
        self.assertError(n.request('GET', '/metrics'), 401, 'unauthenticated')
        self.assertError(n.request('GET', '/metrics', headers=auth), 401, 'unauthenticated')
        self.assertError(n.request('GET', '/metrics', headers={'Authorization': 'Bearer wrong'}), 401, 'unauthenticated')
        r = n.request('GET', '/metrics', headers={'Authorization': 'Bearer ' + TOKEN})
        self.assertEqual(r.status, 200, r)
        self.assertIn(b'pic_peer_rx_bytes{peer="laptop"}', r.body)

        # logout over https clears the cookie with Secure too
        r = n.request('POST', '/api/logout', headers=dict(auth, Origin=origin))
        self.assertEqual(r.status, 204, r)
        self.assertIn('Secure', [a.strip() for a in r.header('Set-Cookie').split(';')])

    def test_login_limit_per_forwarded_client(self):
        # --login-attempts=2: the third wrong password for admin from one client is held back
        for _ in range(2):
            self.assertError(self.login('wrong', source='127.0.0.20'), 401, 'unauthenticated')
        self.assertError(self.login('wrong', source='127.0.0.20'), 429, 'rate_limited')
        # the client's own X-Forwarded-For (nginx appends the real address to it) changes nothing
        for claim in ('127.0.0.21', '192.0.2.7', '127.0.0.21, 127.0.0.2', 'garbage'):
            self.assertError(self.login(ADMIN_PASSWORD, source='127.0.0.20', headers={'X-Forwarded-For': claim}),
                             429, 'rate_limited')
        # another client through the same proxy has its own count
        self.assertError(self.login('wrong', source='127.0.0.21'), 401, 'unauthenticated')
        self.assertEqual(self.login(ADMIN_PASSWORD, source='127.0.0.21',
                                    headers={'X-Forwarded-For': '127.0.0.20'}).status, 200)
        log = self.gateway_log()
        self.assertIn('Failed login from 127.0.0.20.', log)
        self.assertIn('Failed login from 127.0.0.21.', log)
        self.assertIn('Login: admin from 127.0.0.21.', log)
        self.assertNotIn('from %s.' % PROXY_ADDRESS, log)
        self.assertNotIn('from 192.0.2.7', log)

    def test_untrusted_peer_changes_nothing(self):
        port = self.gw.port
        forged = {'X-Forwarded-For': '192.0.2.1', 'X-Forwarded-Proto': 'https',
                  'X-Forwarded-Host': 'evil.example:%d' % self.nginx.port}
        # from 127.0.0.1 (not a trusted proxy): the Host header counts, not X-Forwarded-Host
        self.assertEqual(plain_request(port, 'GET', '/health', headers=forged).status, 200)
        self.assertError(plain_request(port, 'GET', '/health', headers=dict(forged, **{
            'Host': 'evil.example:%d' % port, 'X-Forwarded-Host': self.nginx.host})), 421, 'misdirected')
        # no Secure cookie for a claimed https
        r = plain_request(port, 'POST', '/api/login', {'username': 'admin', 'password': ADMIN_PASSWORD}, headers=forged)
        self.assertEqual(r.status, 200, r)
        self.assertNotIn('Secure', [a.strip() for a in r.header('Set-Cookie').split(';')])
        cookie, csrf = session_of(r)
        auth = dict(forged, Cookie=cookie, **{'X-CSRF-Token': csrf})
        # Origin: http://<an allowed host> as before; the forwarded one is not believed
        self.assertError(plain_request(port, 'POST', '/api/peers', {'name': 'laptop'},
                                       headers=dict(auth, Origin='https://' + self.nginx.host)), 403, 'csrf')
        r = plain_request(port, 'POST', '/api/peers', {'name': 'laptop'},
                          headers=dict(auth, Origin='http://127.0.0.1:%d' % port))
        self.assertEqual(r.status, 201, r)
        # /metrics: an admin session still does here (the request is not proxied)
        self.assertEqual(plain_request(port, 'GET', '/metrics', headers=auth).status, 200)
        # malformed X-Forwarded-* from an untrusted peer are not even read
        bad = {'X-Forwarded-For': 'garbage', 'X-Forwarded-Proto': 'gopher', 'X-Forwarded-Host': 'a b'}
        self.assertEqual(plain_request(port, 'GET', '/health', headers=bad).status, 200)
        # the login limit counts the peer's address, whatever X-Forwarded-For it claims
        for i in range(2):
            self.assertError(plain_request(port, 'POST', '/api/login', {'username': 'admin', 'password': 'wrong'},
                                           headers={'X-Forwarded-For': '192.0.2.%d' % (10 + i)}), 401, 'unauthenticated')
        self.assertError(plain_request(port, 'POST', '/api/login', {'username': 'admin', 'password': 'wrong'},
                                       headers={'X-Forwarded-For': '192.0.2.99'}), 429, 'rate_limited')
        self.assertNotIn('from 192.0.2.', self.gateway_log())

    def test_malformed_from_the_trusted_proxy(self):
        port = self.gw.port
        # what a misconfigured proxy at the trusted address could send: refused, naming the header
        for name, value in (('X-Forwarded-For', 'not-an-address'), ('X-Forwarded-For', '192.0.2.1:443'),
                            ('X-Forwarded-For', '192.0.2.1,'), ('X-Forwarded-For', 'x' * 200),
                            ('X-Forwarded-Proto', 'gopher'), ('X-Forwarded-Proto', 'https, http'),
                            ('X-Forwarded-Host', 'a.example, b.example'), ('X-Forwarded-Host', 'a.example:0')):
            r = plain_request(port, 'GET', '/health', headers={name: value}, source=PROXY_ADDRESS)
            body = self.assertError(r, 400, 'invalid')
            self.assertIn(name, body['message'])
        # one of each: a header given twice is refused
        status, body = raw_status(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Forwarded-For: 192.0.2.1\r\n'
                                  'X-Forwarded-For: 192.0.2.2\r\nConnection: close\r\n\r\n' % port, PROXY_ADDRESS)
        self.assertEqual(status, 400, body)
        self.assertIn(b'X-Forwarded-For', body)
        # well-formed from there: believed (the forwarded host is checked, the client is the one named)
        self.assertError(plain_request(port, 'GET', '/health', headers={'X-Forwarded-Host': 'evil.example'},
                                       source=PROXY_ADDRESS), 421, 'misdirected')
        self.assertEqual(plain_request(port, 'GET', '/health', source=PROXY_ADDRESS,
                                       headers={'X-Forwarded-Host': self.nginx.host, 'X-Forwarded-Proto': 'https',
                                                'X-Forwarded-For': '198.51.100.4'}).status, 200)
        self.assertTrue(re.search(r'GET /health from 198\.51\.100\.4 → 200', self.gateway_log()))

    def test_browser_signs_in_and_adds_a_peer_over_https(self):
        from test_web_ui import BrowserTest
        browser = BrowserTest()
        missing = browser.missing(browser.build)
        if missing:
            self.skipTest('missing: ' + ', '.join(missing))
        p = browser.run_script('proxy-test.mjs', self.world, subdir='proxy', PIC_UI_URL=self.nginx.url,
                               PIC_UI_PASSWORD=ADMIN_PASSWORD, PIC_UI_HOST_RULES='MAP %s 127.0.0.1' % HOST,
                               PIC_UI_CERT_SPKI=self.nginx.spki)
        self.assertEqual(p.returncode, 0, 'proxy-test.mjs failed: %s' % p.stderr.strip())
        peers = sorted(str(ifaces['org.pic.Cell1.Peer']['Name'])
                       for ifaces in self.cell.managed_objects().values() if 'org.pic.Cell1.Peer' in ifaces)
        self.assertEqual(peers, ['phone'])
        # the browser came through nginx: the gateway saw its login from 127.0.0.1, forwarded
        self.assertIn('Login: admin from 127.0.0.1.', self.gateway_log())
        self.assertRegex(self.gateway_log(), r'POST /api/peers from 127\.0\.0\.1 → 201')


if __name__ == '__main__':
    h.main()
