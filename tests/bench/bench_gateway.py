#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: pic-gatewayd on loopback, measured with wrk, at 1,000 and 10,000 peers.

A cell (private bus, mock polkit) with N peers (AddPeers), the gateway in front of it and an
admin session. Per N, each case --repeat times (min / median / max):
  - GET /api/peers?limit=100 (one page from the gateway's copy), with a prefix, and with
    If-None-Match (304)
  - GET /api/peers (all N), with 8 connections and one at a time (one request's latency)
  - GET /api/cell (one bus call per request: the baseline the ratios are taken to)
  - GET /health
  - POST /api/peers (a create round trip: AddPeer, durable write, WireGuard, GetAll for the 201)
Then, at the largest N: 100 server-sent-event clients, a peer changed over the bus 50 times;
the time from the call (its signal goes out before its reply) to each client's event.

Usage: bench_gateway.py [--peers N,N...] [--duration SEC] [--connections C] [--repeat R]
(needs root and wrk)
"""

import argparse
import base64
import os
import re
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import dbus  # noqa: E402
import harness as h  # noqa: E402
import repeat  # noqa: E402
from gateway_client import ADMIN_PASSWORD, ALL_ACTIONS, Client, Gateway  # noqa: E402

# names unique across runs: wrk's Lua starts every run with the same random sequence
CREATE_LUA = r'''
local counter = 0
request = function()
    counter = counter + 1
    local body = string.format('{"name": "wrk-%s-%d"}', "RUN", counter)
    return wrk.format("POST", "/api/peers", nil, body)
end
'''
SSE_CLIENTS = 100
SSE_CHANGES = 50


def random_key():
    return base64.b64encode(os.urandom(32)).decode()


def to_ms(text):
    m = re.match(r'([\d.]+)(us|ms|s)$', text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == 'us' else value * 1000 if unit == 's' else value


def wrk(world, url, headers, duration, connections, script=None):
    argv = ['wrk', '-t1', '-c%d' % connections, '-d%ds' % duration, '--latency', '--timeout', '10s']
    for k, v in headers.items():
        argv += ['-H', '%s: %s' % (k, v)]
    if script:
        path = os.path.join(world.path, 'bench.lua')
        with open(path, 'w') as f:
            f.write(script)
        argv += ['-s', path]
    out = h.run(argv + [url], timeout=duration + 60).stdout
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    p50 = to_ms(re.search(r'^\s+50%\s+(\S+)', out, re.M).group(1))
    p99 = to_ms(re.search(r'^\s+99%\s+(\S+)', out, re.M).group(1))
    total = int(re.search(r'(\d+) requests in', out).group(1))
    non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    return {'rps': rps, 'p50': p50, 'p99': p99, 'requests': total, 'errors': int(non2xx.group(1)) if non2xx else 0}


def add_peers(mgr, n):
    for start in range(0, n, 1000):
        batch = dbus.Array([dbus.Dictionary({'Name': 'peer%05d' % i, 'PublicKey': random_key()}, signature='sv')
                            for i in range(start, min(n, start + 1000))], signature='a{sv}')
        mgr.AddPeers(batch, timeout=600)


def sse_latencies(gw, admin, cell, clients, changes):
    """Seconds from each SetEnabled call's start to each client's peer event for it."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(clients):
        s = socket.create_connection(('127.0.0.1', gw.port), timeout=15)
        s.sendall(('GET /api/events HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\n\r\n' % (gw.host, admin.cookie)).encode())
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
        socks.append(s)
    peer = dbus.Interface(cell.object(cell.manager().GetPeerByName('peer00000')), 'org.pic.Cell1.Peer')
    out = []
    try:
        time.sleep(1)   # every stream open (their headers read below, with the first event)
        for i in range(changes):
            enabled = i % 2 == 1   # it starts enabled
            want = b'"enabled":%s' % (b'true' if enabled else b'false')
            waiting = set(socks)
            t0 = time.monotonic()
            peer.SetEnabled(enabled)
            deadline = t0 + 10
            while waiting and time.monotonic() < deadline:
                for key, _ in sel.select(0.5):
                    buf = key.data
                    buf += key.fileobj.recv(65536)
                    now = time.monotonic()
                    # an event is complete at its blank line; ours names peer00000 with the new state
                    while b'\n\n' in buf:
                        ev, _, rest = bytes(buf).partition(b'\n\n')
                        buf[:] = rest
                        if b'event: peer\n' in ev and b'"name":"peer00000"' in ev and want in ev \
                                and key.fileobj in waiting:
                            waiting.discard(key.fileobj)
                            out.append(now - t0)
            if waiting:
                raise RuntimeError('%d SSE clients saw no event for change %d' % (len(waiting), i))
    finally:
        for s in socks:
            sel.unregister(s)
            s.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--peers', default='1000,10000', help='peer counts, comma-separated (default 1000,10000)')
    ap.add_argument('--duration', type=int, default=5, help='seconds per wrk run')
    ap.add_argument('--connections', type=int, default=8)
    repeat.add_argument(ap, default=3)
    args = ap.parse_args()
    h.require_root()
    if not shutil.which('wrk'):
        print('bench_gateway: wrk is not installed (apt-get install wrk)', file=sys.stderr)
        return 77
    counts = [int(n) for n in args.peers.split(',')]

    tables = []
    sse = None
    for n in counts:
        with h.TempWorld(prefix='pic-bench-') as world:
            cell = h.Cell(world=world)
            cell.polkit.set_allowed(ALL_ACTIONS)
            cell.start()
            # the SSE clients all come from 127.0.0.1: more than one client's usual share
            gw = Gateway(world, cell, ['--log-level=warning', '--connections-per-client=%d' % (SSE_CLIENTS + 16)])
            r = gw.request('POST', '/api/setup', {'name': 'bench', 'domain': 'bench.lan',
                                                  'vpn_address': '10.83.0.1/16', 'admin_password': ADMIN_PASSWORD})
            assert r.status == 200, r
            add_peers(cell.manager(), n)
            admin = Client(gw)
            assert admin.login('admin', ADMIN_PASSWORD).status == 200
            base = 'http://127.0.0.1:%d' % gw.port
            cookie = {'Cookie': admin.cookie}
            whole = admin.get('/api/peers')
            assert len(whole.json()) == n
            page = admin.get('/api/peers?limit=100')
            assert len(page.json()) == min(100, n) and bool(page.header('Link')) == (n > 100)
            tag = dict(cookie, **{'If-None-Match': page.header('ETag')})
            assert admin.get('/api/peers?limit=100', headers=tag).status == 304

            cases = [
                ('GET /api/peers?limit=100', base + '/api/peers?limit=100', cookie, args.connections, None),
                ('GET /api/peers?limit=100&prefix=peer005', base + '/api/peers?limit=100&prefix=peer005', cookie,
                 args.connections, None),
                ('GET /api/peers?limit=100, If-None-Match (304)', base + '/api/peers?limit=100', tag,
                 args.connections, None),
                ('GET /api/peers (all %d, %.1f MB)' % (n, len(whole.body) / 1e6), base + '/api/peers', cookie,
                 args.connections, None),
                ('GET /api/peers (all %d), one at a time' % n, base + '/api/peers', cookie, 1, None),
                ('GET /api/cell (one bus call: baseline)', base + '/api/cell', cookie, args.connections, None),
                ('GET /health', base + '/health', {}, args.connections, None),
                ('POST /api/peers (create round trip)', base + '/api/peers',
                 dict(cookie, **{'X-CSRF-Token': admin.csrf, 'Content-Type': 'application/json'}), 1, CREATE_LUA),
            ]
            results = {label: [] for label, *_ in cases}
            for run in range(args.repeat):
                for label, url, headers, conns, script in cases:
                    script = script and script.replace('"RUN"', '"r%d"' % run)
                    results[label].append(wrk(world, url, headers, args.duration, conns, script))
            tables.append((n, cases, results))
            if n == max(counts):
                sse = sse_latencies(gw, admin, cell, SSE_CLIENTS, SSE_CHANGES)

    print()
    print('pic-gatewayd on loopback, wrk -t1, %d s per run, %d runs per case (min / median / max of the runs)' % (
        args.duration, args.repeat))
    for n, cases, results in tables:
        print()
        base_rps = [x['rps'] for x in results['GET /api/cell (one bus call: baseline)']]
        rows = []
        for label, url, headers, conns, script in cases:
            res = results[label]
            rps = [x['rps'] for x in res]
            rows.append((label, conns, repeat.mmm(rps, repeat.PER_SECOND),
                         repeat.mmm([x['p50'] / 1000 for x in res], repeat.MS),
                         repeat.mmm([x['p99'] / 1000 for x in res], repeat.MS),
                         '%.2f' % repeat.ratio(rps, base_rps), sum(x['errors'] for x in res)))
        repeat.table(['%d peers' % n, 'conns', 'req/s', 'p50', 'p99', 'req/s ratio to GET /api/cell',
                      'non-2xx/3xx'], rows)
    if sse:
        print()
        repeat.table(['%d SSE clients, %d peer changes, %d peers' % (SSE_CLIENTS, SSE_CHANGES, max(counts)),
                      'events', 'p50', 'p99', 'max'],
                     [('from the SetEnabled call to the client\'s event', len(sse),
                       '%.1f ms' % (1000 * repeat.pct(sse, 50)), '%.1f ms' % (1000 * repeat.pct(sse, 99)),
                       '%.1f ms' % (1000 * max(sse)))])
    return 0


if __name__ == '__main__':
    sys.exit(main())
