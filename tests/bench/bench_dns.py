#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: the cell's DNS (issue 9's figures).

A cell under a real systemd manager (tests/integration/systemd_world.py) runs
its dnsmasq unit; a WireGuard peer in its own namespace asks through the
tunnel.
  - the time from AddPeer's reply to the new name answering through the
    tunnel, over N adds (default 1,000): p50, p99, max;
  - queries per second with dnsperf for cached peer names, through the tunnel
    next to the same dnsmasq asked from the cell's own namespace (no tunnel):
    the ratio is the tunnel's cost.

Usage: bench_dns.py [--adds N] [--seconds S]   (needs root; prints tables)
"""

import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from systemd_world import SystemdBus  # noqa: E402

N = os.getpid() % 200
CELL_LAN, CLIENT_LAN = '10.244.%d.1' % N, '10.244.%d.2' % N
VPN = '10.245.0.1/16'
CELL_IP = VPN.split('/')[0]

# Runs in the peer's namespace: for each "NAME T" line (T: the monotonic time of
# AddPeer's reply), asks CELL_IP for NAME every millisecond until it has an
# A record, then prints how long after T that was (ms).
WAITER = r'''
import os, socket, struct, sys, time
server = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.05)
def query(name, qid):
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for label in name.split('.'):
        q += bytes([len(label)]) + label.encode()
    return q + b'\0' + struct.pack('>HH', 1, 1)
qid = 0
for line in sys.stdin:
    name, t0 = line.split()
    t0 = float(t0)
    while True:
        qid = (qid + 1) & 0xffff
        s.sendto(query(name, qid), (server, 53))
        try:
            reply = s.recv(512)
        except socket.timeout:
            continue
        rid, flags, _, ancount = struct.unpack('>HHHH', reply[:8])
        if rid == qid and flags & 0xf == 0 and ancount > 0:
            break
        time.sleep(0.001)
    print('%.3f' % ((time.monotonic() - t0) * 1000), flush=True)
'''


def sv(d):
    return dbus.Dictionary(d, signature='sv')


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def dnsperf(netns, names_file, seconds):
    p = netns.run(['dnsperf', '-s', CELL_IP, '-d', names_file, '-l', str(seconds), '-c', '4', '-T', '2',
                   '-q', '64'], timeout=seconds + 60)
    m = re.search(r'Queries per second:\s+([\d.]+)', p.stdout)
    lost = re.search(r'Queries lost:\s+(\d+)', p.stdout)
    assert m, p.stdout
    return float(m.group(1)), int(lost.group(1)) if lost else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--adds', type=int, default=1000)
    ap.add_argument('--seconds', type=int, default=10)
    args = ap.parse_args()
    h.require_root()

    with h.TempWorld(prefix='pic-bench-') as world:
        cell_ns, client_ns = h.Netns(world=world), h.Netns(world=world)
        h.veth(cell_ns, client_ns, CELL_LAN + '/24', CLIENT_LAN + '/24', world=world)
        bus = SystemdBus(world=world)
        cell = h.Cell(world=world, bus=bus, netns=cell_ns, extra_args=['--stats-interval=3600',
                                                                      '--log-level=warning'])
        cell.polkit.set_allowed(['org.pic.cell1.configure', 'org.pic.cell1.manage-peers',
                                 'org.pic.cell1.read-secrets'])
        cell.start()
        mgr = cell.manager()
        mgr.Setup(sv({'Name': 'bench', 'Domain': 'bench.lan', 'VpnAddress': VPN,
                      'Endpoint': CELL_LAN + ':51820', 'DnsServers': dbus.Array([], signature='s')}))
        h.wait_for(lambda: str(cell.properties('org.pic.Cell1.Manager')['DnsState']) == 'running', 20, 0.05,
                   'the cell DNS')
        path = mgr.AddPeer('client', sv({'ServiceAccess': dbus.Array(['dns'], signature='s')}))
        config = str(cell.interface('org.pic.Cell1.Peer', path).GetConfig())
        client = h.WgClient(client_ns, world.unique('wgb'), config, world=world)
        h.wait_for(lambda: client.ping(CELL_IP), 15, 0.2, 'ping through the tunnel')

        waiter = subprocess.Popen(['ip', 'netns', 'exec', client_ns.name, sys.executable, '-c', WAITER, CELL_IP],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        latencies = []
        try:
            for i in range(args.adds):
                mgr.AddPeer('b%d' % i, sv({}))
                waiter.stdin.write('b%d.bench.lan %.6f\n' % (i, time.monotonic()))
                waiter.stdin.flush()
                latencies.append(float(waiter.stdout.readline()))
        finally:
            waiter.stdin.close()
            waiter.wait(10)

        names = os.path.join(world.path, 'names.txt')
        with open(names, 'w') as f:
            for i in range(args.adds):
                f.write('b%d.bench.lan A\n' % i)
        tunnel_qps, tunnel_lost = dnsperf(client_ns, names, args.seconds)
        direct_qps, direct_lost = dnsperf(cell_ns, names, args.seconds)

    print()
    print('| from AddPeer\'s reply to the name answering through the tunnel | n | p50 | p99 | max |')
    print('|---|---|---|---|---|')
    print('| pic-celld + dnsmasq (hostsdir, inotify) | %d | %.1f ms | %.1f ms | %.1f ms |' % (
        len(latencies), pct(latencies, 50), pct(latencies, 99), max(latencies)))
    print()
    print('| dnsperf, %d cached peer names, %d s | queries/s | lost | ratio to direct |' % (args.adds, args.seconds))
    print('|---|---|---|---|')
    print('| from a peer, through the WireGuard tunnel (wireguard-go) | %.0f | %d | %.2f |' % (
        tunnel_qps, tunnel_lost, tunnel_qps / direct_qps))
    print('| the same dnsmasq from the cell\'s own namespace (no tunnel) | %.0f | %d | 1.00 |' % (
        direct_qps, direct_lost))


if __name__ == '__main__':
    main()
