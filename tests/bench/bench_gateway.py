#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: pic-gatewayd on loopback, measured with wrk.

A cell (private bus, mock polkit) with N peers (added over the bus), the
gateway in front of it and an admin session:
  - GET /api/peers (all N peers as JSON: one GetManagedObjects per request)
  - POST /api/peers (a peer-create round trip: AddPeer, durable write,
    WireGuard, then GetAll for the 201 body)
  - GET /health (the HTTP path with one tiny bus call, for reference)
Prints requests/s, p50 and p99 latency per case as a table.

Usage: bench_gateway.py [--peers N] [--duration SEC] [--connections C]   (needs root and wrk)
"""

import argparse
import base64
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from gateway_client import ADMIN_PASSWORD, ALL_ACTIONS, Client, Gateway  # noqa: E402

CREATE_LUA = r'''
local counter = 0
request = function()
    counter = counter + 1
    local body = string.format('{"name": "wrk-%d"}', counter)
    return wrk.format("POST", "/api/peers", nil, body)
end
'''


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--peers', type=int, default=1000)
    ap.add_argument('--duration', type=int, default=10)
    ap.add_argument('--connections', type=int, default=8)
    args = ap.parse_args()
    h.require_root()
    if not shutil.which('wrk'):
        print('bench_gateway: wrk is not installed (apt-get install wrk)', file=sys.stderr)
        return 77

    with h.TempWorld() as world:
        cell = h.Cell(world=world)
        cell.polkit.set_allowed(ALL_ACTIONS)
        cell.start()
        gw = Gateway(world, cell, ['--log-level=warning'])
        r = gw.request('POST', '/api/setup', {'name': 'bench', 'domain': 'bench.lan', 'vpn_address': '10.83.0.1/16',
                                              'admin_password': ADMIN_PASSWORD})
        assert r.status == 200, r
        mgr = cell.manager()
        for i in range(args.peers):
            mgr.AddPeer('peer%04d' % i, dbus.Dictionary({'PublicKey': random_key()}, signature='sv'), timeout=60)
        admin = Client(gw)
        assert admin.login('admin', ADMIN_PASSWORD).status == 200
        base = 'http://127.0.0.1:%d' % gw.port
        cookie = {'Cookie': admin.cookie}
        assert len(admin.get('/api/peers').json()) == args.peers

        rows = []
        res = wrk(world, base + '/api/peers', cookie, args.duration, args.connections)
        rows.append(('GET /api/peers (%d peers)' % args.peers, args.connections, res))
        res = wrk(world, base + '/health', {}, args.duration, args.connections)
        rows.append(('GET /health', args.connections, res))
        create = {'Cookie': admin.cookie, 'X-CSRF-Token': admin.csrf, 'Content-Type': 'application/json'}
        create_seconds = max(3, args.duration // 2)
        res = wrk(world, base + '/api/peers', create, create_seconds, 1, CREATE_LUA)
        rows.append(('POST /api/peers (create round trip)', 1, res))
        created = len(admin.get('/api/peers').json()) - args.peers
        metrics = admin.get('/metrics').body.decode()
        bus_sum = float(re.search(r'^pic_bus_call_seconds_sum (\S+)', metrics, re.M).group(1))
        bus_count = int(re.search(r'^pic_bus_call_seconds_count (\S+)', metrics, re.M).group(1))

    print()
    print('pic-gatewayd on loopback, wrk -t1, %d s per case (create: %d s); %d peers created by wrk' % (
        args.duration, create_seconds, created))
    print('%-38s %5s %10s %10s %10s %9s' % ('case', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx'))
    for name, conns, res in rows:
        print('%-38s %5d %10.0f %10.2f %10.2f %9d' % (name, conns, res['rps'], res['p50'], res['p99'], res['errors']))
    print('bus calls: %d, mean %.2f ms (pic_bus_call_seconds)' % (bus_count, 1000 * bus_sum / max(1, bus_count)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
