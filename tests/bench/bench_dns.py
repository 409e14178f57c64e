#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: the cell's DNS (issue 9's figures).

A cell under a real systemd manager (tests/integration/systemd_world.py) runs
its dnsmasq unit; a WireGuard peer in its own namespace asks through the
tunnel.
  - the time from AddPeer's reply to the new name answering through the
    tunnel, over N adds a run (default 300): p50, p99, max; next to a hosts
    file written by hand into the same dnsmasq's hostsdir (the mechanism
    pic-celld uses, with nothing else around it);
  - queries per second with dnsperf for cached peer names, through the tunnel
    next to the same dnsmasq asked from the cell's own namespace (no tunnel):
    the ratio is the tunnel's cost.
Every case runs --repeat times (default 3); tables show min / median / max of
the runs and the ratio of the medians.

Usage: bench_dns.py [--adds N] [--seconds S] [--repeat R]   (needs root; prints tables)
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
import repeat  # noqa: E402
from systemd_world import SystemdBus  # noqa: E402

N = os.getpid() % 200
CELL_LAN, CLIENT_LAN = '10.244.%d.1' % N, '10.244.%d.2' % N
VPN = '10.245.0.1/16'
CELL_IP = VPN.split('/')[0]

# Runs in the peer's namespace: for each "NAME T" line (T: the monotonic time of
# AddPeer's reply), asks CELL_IP for NAME every millisecond until it has an
# A record, then prints how long after T that was (ms). An answer that comes
# after its query timed out is skipped (it once made every later read one behind).
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
    found = False
    while not found:
        qid = (qid + 1) & 0xffff
        s.sendto(query(name, qid), (server, 53))
        while True:  # this query's answer: a late one to an earlier query is skipped, not taken for it
            try:
                reply = s.recv(512)
            except socket.timeout:
                break
            rid, flags, _, ancount = struct.unpack('>HHHH', reply[:8])
            if rid == qid:
                found = flags & 0xf == 0 and ancount > 0
                break
        if not found:
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


def hosts_file(dns_dir, name, address):
    """The baseline's way: a hosts file written by hand into dnsmasq's hostsdir (temp file, rename)."""
    tmp = os.path.join(dns_dir, '.bench-tmp')
    with open(tmp, 'w') as f:
        f.write('%s %s\n' % (address, name))
    os.chmod(tmp, 0o644)
    os.rename(tmp, os.path.join(dns_dir, 'bench-' + name.split('.')[0]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--adds', type=int, default=300, help='adds per run')
    ap.add_argument('--seconds', type=int, default=5, help='each dnsperf run')
    repeat.add_argument(ap, default=3)
    args = ap.parse_args()
    h.require_root()

    lat = {'ours': [], 'base': []}  # per run: [ms, ...]
    qps = {'tunnel': [], 'direct': []}
    lost = {'tunnel': [], 'direct': []}
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
        dns_dir = cell.state_dir.rstrip('/') + '-dns'
        assert os.path.isdir(dns_dir), dns_dir
        path = mgr.AddPeer('client', sv({'ServiceAccess': dbus.Array(['dns'], signature='s')}))
        config = str(cell.interface('org.pic.Cell1.Peer', path).GetConfig())
        client = h.WgClient(client_ns, world.unique('wgb'), config, world=world)
        h.wait_for(lambda: client.ping(CELL_IP), 15, 0.2, 'ping through the tunnel')

        waiter = subprocess.Popen(['ip', 'netns', 'exec', client_ns.name, sys.executable, '-c', WAITER, CELL_IP],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

        def answered(name, t0):
            waiter.stdin.write('%s %.6f\n' % (name, t0))
            waiter.stdin.flush()
            return float(waiter.stdout.readline())

        names = []
        try:
            for run in range(args.repeat):
                ours, base = [], []
                for i in range(args.adds):
                    mgr.AddPeer('r%db%d' % (run, i), sv({}))
                    ours.append(answered('r%db%d.bench.lan' % (run, i), time.monotonic()))
                    names.append('r%db%d.bench.lan' % (run, i))
                    hosts_file(dns_dir, 'r%dh%d.bench.lan' % (run, i), '10.250.%d.%d' % (i // 250, 1 + i % 250))
                    base.append(answered('r%dh%d.bench.lan' % (run, i), time.monotonic()))
                lat['ours'].append(ours)
                lat['base'].append(base)
        finally:
            waiter.stdin.close()
            waiter.wait(10)

        names_file = os.path.join(world.path, 'names.txt')
        with open(names_file, 'w') as f:
            f.write(''.join('%s A\n' % n for n in names))
        for _ in range(args.repeat):
            for where, ns in (('tunnel', client_ns), ('direct', cell_ns)):
                q, n_lost = dnsperf(ns, names_file, args.seconds)
                qps[where].append(q)
                lost[where].append(n_lost)

    stat = lambda runs, f: [f(r) for r in runs]  # noqa: E731
    MS = ('%.1f ms', 1)
    print()
    repeat.compare_table('from the reply (or the file in place) to the name answering through the tunnel, '
                         'each run\'s figure over %d adds' % args.adds, 'pic-celld AddPeer',
                         'a hosts file by hand', [
                             ('p50', stat(lat['ours'], lambda v: pct(v, 50)), stat(lat['base'], lambda v: pct(v, 50)),
                              MS),
                             ('p99', stat(lat['ours'], lambda v: pct(v, 99)), stat(lat['base'], lambda v: pct(v, 99)),
                              MS),
                             ('max', stat(lat['ours'], max), stat(lat['base'], max), MS),
                         ])
    print()
    print('Both go to the same dnsmasq (hostsdir, inotify). pic-celld writes the hosts files 20 ms after the '
          'first change (src/daemon/dns.c WRITE_DELAY_USEC: a burst of AddPeers rewrites each file once), so '
          'that wait is in its figure; the baseline writes one file (temp + rename) into the directory at once.')
    print()
    repeat.compare_table('dnsperf, %d cached peer names, %d s a run' % (len(names), args.seconds),
                         'from a peer, through the tunnel', 'from the cell\'s own namespace', [
                             ('queries/s', qps['tunnel'], qps['direct'], repeat.PER_SECOND),
                             ('queries lost', lost['tunnel'], lost['direct'], ('%d', 1)),
                         ])
    print()
    print('The same dnsmasq either way; the tunnel is wireguard-go (this kernel has no WireGuard).')


if __name__ == '__main__':
    main()
