#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pic-exit-proxy for real, without pic-celld: in an "exit" namespace it runs a
stand-in program (sleep) as its child and relays DNS over UDP through a SOCKS5
proxy (microsocks) or an HTTP CONNECT proxy (a small one of the test's own) to
a dnsmasq that answers over TCP in an "internet" namespace. It says "up" and
answers while the proxy serves; "down <reason>" (never the password) and stops
answering when the proxy is gone or refuses; it ends with its child (status 1)
and ends its child on SIGTERM (status 0)."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

N = os.getpid() % 200
INET, EXIT = '10.251.%d.1' % N, '10.251.%d.2' % N
SOCKS_PORT, HTTP_PORT, LISTEN_PORT = 1080, 3128, 5353
ANSWER = '192.0.2.77'
PASSWORD = 'Pw-7f3c-secret'

# Sends one DNS query for argv[3] over UDP to argv[1]:argv[2] and prints the A
# records of the answer, "timeout" or "refused". Run inside a namespace.
QUERY = r'''
import socket, struct, sys, time
addr, port, name, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
burst = int(sys.argv[5]) if len(sys.argv) > 5 else 0
def query(qid):
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    return q + b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0' + struct.pack('>HH', 1, 1)
qid = 0x5a17
q = query(qid)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(timeout)
s.connect((addr, port))
if burst:  # that many at once, IDs 1..burst: prints how many came back, each to its own ID
    for i in range(1, burst + 1):
        s.send(query(i))
    seen, end = set(), time.monotonic() + timeout
    while len(seen) < burst and time.monotonic() < end:
        try:
            a = s.recv(65536)
        except (socket.timeout, ConnectionRefusedError):
            break
        rid = struct.unpack('>H', a[:2])[0]
        if rid in seen or not 1 <= rid <= burst or socket.inet_aton(sys.argv[6]) not in a:
            print('bad answer'); sys.exit(0)
        seen.add(rid)
    print(len(seen)); sys.exit(0)
try:
    s.send(q)
    a = s.recv(65536)
except socket.timeout:
    print('timeout'); sys.exit(0)
except ConnectionRefusedError:
    print('refused'); sys.exit(0)
rid, flags, qd, an, ns, ar = struct.unpack('>HHHHHH', a[:12])
if rid != qid:
    print('wrong-id'); sys.exit(0)
def skip_name(p):
    while True:
        n = a[p]
        if n & 0xc0 == 0xc0:
            return p + 2
        if n == 0:
            return p + 1
        p += 1 + n
p = 12
for _ in range(qd):
    p = skip_name(p) + 4
out = []
for _ in range(an):
    p = skip_name(p)
    rtype, rclass, ttl, rdlen = struct.unpack('>HHIH', a[p:p + 10])
    p += 10
    if rtype == 1 and rdlen == 4:
        out.append(socket.inet_ntoa(a[p:p + 4]))
    p += rdlen
print(' '.join(out) if out else 'no-address')
'''

# An HTTP CONNECT proxy that wants Basic credentials argv[3]:argv[4] (none when
# empty), listening on argv[1]:argv[2]. Run inside a namespace.
HTTP_PROXY = r'''
import base64, socket, sys, threading
addr, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
want = base64.b64encode(('%s:%s' % (user, password)).encode()).decode() if user else None
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def serve(c):
    head = b''
    while b'\r\n\r\n' not in head:
        d = c.recv(4096)
        if not d:
            c.close(); return
        head += d
    lines = head.split(b'\r\n\r\n')[0].decode().split('\r\n')
    method, target, _ = lines[0].split(' ')
    fields = dict(l.split(': ', 1) for l in lines[1:] if ': ' in l)
    if want and fields.get('Proxy-Authorization') != 'Basic ' + want:
        c.sendall(b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="t"\r\n\r\n')
        c.close(); return
    host, p = target.rsplit(':', 1)
    try:
        u = socket.create_connection((host, int(p)), timeout=3)
    except OSError:
        c.sendall(b'HTTP/1.1 502 Bad Gateway\r\n\r\n'); c.close(); return
    c.sendall(b'HTTP/1.1 200 Connection established\r\nVia: test\r\n\r\n')
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
    pipe(c, u)
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((addr, port))
l.listen(16)
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'''


def exit_proxy_binary():
    return os.path.join(h.build_dir(), 'src', 'exit', 'pic-exit-proxy')


def children(pid):
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class ExitProxyProgram(h.HarnessTestCase):
    def setUp(self):
        super().setUp()
        w = self.world
        self.inet = h.Netns('pic-pxy-%d-i%d' % (os.getpid(), h.Netns._next()), world=w)
        self.exit = h.Netns('pic-pxy-%d-e%d' % (os.getpid(), h.Netns._next()), world=w)
        self.inet_if, _ = h.veth(self.inet, self.exit, INET + '/24', EXIT + '/24',
                                 names=(w.unique('pxi'), w.unique('pxe')), world=w)
        # the resolver behind the proxy: answers probe.test itself, over TCP too
        self.dnsmasq = self.start_dnsmasq(INET)
        self.status_file = os.path.join(w.path, 'run', 'exit.proxy-status')
        os.makedirs(os.path.dirname(self.status_file))

    # ---- helpers

    def start_dnsmasq(self, address):
        w = self.world
        return self.inet.spawn(['/usr/sbin/dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null',
                                '--no-resolv', '--no-hosts', '--port=53', '--listen-address=' + address,
                                '--bind-interfaces', '--pid-file=' + os.path.join(w.path, 'dnsmasq-%s.pid' % address),
                                '--log-facility=-', '--address=/probe.test/' + ANSWER], name='dnsmasq-' + address)

    def start_socks(self, user=None, password=None):
        argv = ['/usr/bin/microsocks', '-i', INET, '-p', SOCKS_PORT]
        if user:
            argv += ['-u', user, '-P', password]
        proc = self.inet.spawn(argv, name='microsocks')
        self.wait_listening(SOCKS_PORT)
        return proc

    def start_http_proxy(self, user='', password=''):
        path = os.path.join(self.world.path, 'http-proxy.py')
        with open(path, 'w') as f:
            f.write(HTTP_PROXY)
        proc = self.inet.spawn([h.PYTHON, path, INET, HTTP_PORT, user, password], name='http-proxy')
        self.wait_listening(HTTP_PORT)
        return proc

    def wait_listening(self, port):
        h.wait_for(lambda: ':%d ' % port in self.inet.run(['ss', '-Htln']).stdout, 10, 0.05,
                   'a listener on port %d' % port)

    def start_exit_proxy(self, url, resolvers=(INET,), listen=EXIT):
        proxy_file = os.path.join(self.world.path, 'run', 'exit.proxy')
        fd = os.open(proxy_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(url + '\n')
        argv = [exit_proxy_binary(), '--listen', '%s:%d' % (listen, LISTEN_PORT), '--proxy-file', proxy_file,
                '--status-file', self.status_file]
        for r in resolvers:
            argv += ['--resolver', r]
        argv += ['--', '/bin/sleep', '1000']
        proc = self.exit.spawn(argv, name='pic-exit-proxy')
        self.child = h.wait_for(lambda: children(proc.pid), 5, 0.02, 'the child of pic-exit-proxy')[0]
        return proc

    def status(self):
        try:
            with open(self.status_file) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def wait_status(self, prefix, timeout=10):
        return h.wait_for(lambda: (self.status() or '').startswith(prefix) and self.status(), timeout, 0.05,
                          'status %r (it is %r)' % (prefix, self.status()))

    def query(self, timeout=3, burst=None):
        path = os.path.join(self.world.path, 'query.py')
        with open(path, 'w') as f:
            f.write(QUERY)
        argv = [h.PYTHON, path, EXIT, LISTEN_PORT, 'probe.test', timeout]
        if burst:
            argv += [burst, ANSWER]
        return self.exit.run(argv, timeout=timeout + 10).stdout.strip()

    def check_status_text(self, text):
        self.assertTrue(text.endswith('\n') and text.count('\n') == 1, repr(text))
        self.assertLessEqual(len(text), 256)
        self.assertTrue(all(0x20 <= ord(ch) < 0x7f for ch in text[:-1]), repr(text))
        self.assertNotIn(PASSWORD, text)

    def logs(self):
        with open(self.world.log_path('pic-exit-proxy'), errors='replace') as f:
            return f.read()

    # ---- tests

    def test_socks5_up_answers_then_down_when_the_proxy_goes(self):
        socks = self.start_socks()
        px = self.start_exit_proxy('socks5://%s:%d' % (INET, SOCKS_PORT))
        self.assertEqual(self.wait_status('up'), 'up\n')
        self.assertEqual(self.query(), ANSWER)
        self.assertEqual(self.query(), ANSWER)

        socks.stop()
        started = time.monotonic()
        # a query that finds the proxy gone has the probe run at once, not in 30 s
        self.assertIn(self.query(timeout=2), ('timeout', 'refused'))
        text = self.wait_status('down', timeout=6)
        print('down %.1f s after the proxy was killed: %r' % (time.monotonic() - started, text), file=sys.stderr)
        self.assertEqual(text, 'down proxy %s:%d: connection refused\n' % (INET, SOCKS_PORT))
        self.check_status_text(text)
        # the relay's port is closed: nothing answers there
        self.assertIn(self.query(timeout=2), ('timeout', 'refused'))
        self.assertTrue(px.alive())

        # the proxy back: up again within a probe interval (5 s while failing)
        self.start_socks()
        self.wait_status('up', timeout=8)
        self.assertEqual(self.query(), ANSWER)
        self.assertNotIn('probe.test', self.logs())  # no peer's look-up in the log

    def test_down_before_up_and_a_dead_resolver(self):
        # no proxy yet: down from the start, and no answers
        px = self.start_exit_proxy('socks5://%s:%d' % (INET, SOCKS_PORT), resolvers=('10.251.%d.9' % N, INET))
        text = self.wait_status('down')
        self.assertEqual(text, 'down proxy %s:%d: connection refused\n' % (INET, SOCKS_PORT))
        self.assertIn(self.query(timeout=2), ('timeout', 'refused'))
        # the proxy comes: the probe goes to the first resolver, which does not exist
        self.start_socks()
        text = self.wait_status('down proxy %s:%d: SOCKS5 reply' % (INET, SOCKS_PORT), timeout=15)
        print('with a dead first resolver: %r' % text, file=sys.stderr)
        self.check_status_text(text)
        self.assertTrue(px.alive())

    def test_second_resolver_when_the_first_is_gone(self):
        second = '10.251.%d.3' % N
        self.inet.ip('addr', 'add', second + '/24', 'dev', self.inet_if)
        self.start_dnsmasq(second)
        self.start_socks()
        self.start_exit_proxy('socks5://%s:%d' % (INET, SOCKS_PORT), resolvers=(INET, second))
        self.wait_status('up')
        self.dnsmasq.stop()
        # the first refuses (through the proxy): the second answers the same query
        self.assertEqual(self.query(), ANSWER)

    def test_a_burst_of_queries(self):
        self.start_socks()
        self.start_exit_proxy('socks5://%s:%d' % (INET, SOCKS_PORT))
        self.wait_status('up')
        # 40 in flight at once, each answered to its own ID
        self.assertEqual(self.query(timeout=5, burst=40), '40')
        # more than 64 at once: some are dropped, every answer still goes to its own ID
        answered = int(self.query(timeout=5, burst=200))
        print('200 at once: %d answered' % answered, file=sys.stderr)
        self.assertGreaterEqual(answered, 64)
        self.assertEqual(self.query(), ANSWER)

    def test_cannot_listen(self):
        self.start_socks()
        elsewhere = '10.251.%d.8' % N  # not an address of the exit's namespace
        px = self.start_exit_proxy('socks5://%s:%d' % (INET, SOCKS_PORT), listen=elsewhere)
        self.assertEqual(self.wait_status('down'),
                         'down cannot listen on %s:%d: cannot assign requested address\n' % (elsewhere, LISTEN_PORT))
        self.assertTrue(px.alive())

    def test_socks5_credentials(self):
        self.start_socks('pic', PASSWORD)
        self.start_exit_proxy('socks5://pic:%s@%s:%d' % (PASSWORD, INET, SOCKS_PORT))
        self.assertEqual(self.wait_status('up'), 'up\n')
        self.assertEqual(self.query(), ANSWER)

    def test_socks5_wrong_credentials(self):
        self.start_socks('pic', PASSWORD)
        wrong = PASSWORD + 'x'
        px = self.start_exit_proxy('socks5://pic:%s@%s:%d' % (wrong, INET, SOCKS_PORT))
        text = self.wait_status('down')
        self.check_status_text(text)
        self.assertEqual(text, 'down proxy %s:%d: proxy refused the credentials\n' % (INET, SOCKS_PORT))
        self.assertNotIn(wrong, text)
        self.assertIn(self.query(timeout=2), ('timeout', 'refused'))
        self.assertTrue(px.alive())
        self.assertNotIn(PASSWORD, self.logs())

    def test_http_connect(self):
        self.start_http_proxy('pic', PASSWORD)
        self.start_exit_proxy('http://pic:%s@%s:%d' % (PASSWORD, INET, HTTP_PORT))
        self.assertEqual(self.wait_status('up'), 'up\n')
        self.assertEqual(self.query(), ANSWER)

    def test_http_connect_wrong_credentials(self):
        self.start_http_proxy('pic', PASSWORD)
        self.start_exit_proxy('http://pic:%s@%s:%d' % ('nope' + PASSWORD, INET, HTTP_PORT))
        text = self.wait_status('down')
        self.check_status_text(text)
        self.assertEqual(text, 'down proxy %s:%d: HTTP proxy answered 407 (it refused the credentials)\n'
                         % (INET, HTTP_PORT))
        self.assertNotIn(PASSWORD, self.logs())

    def test_child_exit_ends_it_with_1(self):
        self.start_socks()
        px = self.start_exit_proxy('socks5://%s:%d' % (INET, SOCKS_PORT))
        self.wait_status('up')
        os.kill(self.child, signal.SIGKILL)
        self.assertEqual(px.popen.wait(timeout=5), 1)
        self.assertIn('/bin/sleep was killed by signal', self.logs())

    def test_sigterm_ends_child_and_exits_0(self):
        self.start_socks()
        px = self.start_exit_proxy('socks5://%s:%d' % (INET, SOCKS_PORT))
        self.wait_status('up')
        child = h.Proc(self.child, 'sleep')
        px.signal(signal.SIGTERM)
        self.assertEqual(px.popen.wait(timeout=5), 0)
        self.assertTrue(child.wait(2), 'the child outlived pic-exit-proxy')

    def test_refuses_bad_settings(self):
        exe = exit_proxy_binary()
        big = os.path.join(self.world.path, 'big')
        with open(big, 'w') as f:
            f.write('socks5://%s:%d/' % (INET, SOCKS_PORT) + 'x' * 1100 + '\n')
        bad = os.path.join(self.world.path, 'bad')
        with open(bad, 'w') as f:
            f.write('socks5://pic:%s@proxy.example:1080\n' % PASSWORD)
        good = os.path.join(self.world.path, 'good')
        with open(good, 'w') as f:
            f.write('socks5://%s:%d' % (INET, SOCKS_PORT))
        base = ['--listen', '%s:%d' % (EXIT, LISTEN_PORT), '--status-file', self.status_file]
        for args, words in (
                ([*base, '--proxy-file', big, '--resolver', INET, '--', '/bin/true'], 'larger than 1025 bytes'),
                ([*base, '--proxy-file', bad, '--resolver', INET, '--', '/bin/true'], 'IPv4 address'),
                ([*base, '--proxy-file', good, '--', '/bin/true'], 'Either --proxy-file and a resolver'),
                ([*base, '--dns-from-child', EXIT, '--proxy-file', good, '--', '/bin/true'],
                 'or --dns-from-child'),
                ([*base, '--dns-from-child', 'ns.example', '--', '/bin/true'], 'takes an IPv4 address'),
                ([*base, '--proxy-file', good, '--resolver', INET], 'program to run is missing'),
                ([*base, '--proxy-file', good] + ['--resolver', INET] * 5 + ['--', '/bin/true'], 'At most 4'),
                (['--listen', EXIT, '--proxy-file', good, '--status-file', self.status_file, '--resolver', INET,
                  '--', '/bin/true'], '--listen takes'),
        ):
            p = h.run([exe] + args, check=False)
            self.assertEqual(p.returncode, 1, (args, p.stderr))
            self.assertIn(words, p.stderr)
            self.assertNotIn(PASSWORD, p.stderr)
        self.assertIsNone(self.status())


if __name__ == '__main__':
    h.main()
