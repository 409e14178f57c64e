#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: the cell's firewall (table inet pic: per-peer access in sets)
next to the same policy as one iptables rule per peer (iptables-nft, a linear
chain), in namespaces:  peer ── cell ── svc.

1. Classification: TCP connects/s from the LAST peer to a service port, with
   10 and with 10,000 peers granted. Only a connection's first packet walks the
   rules (established traffic is accepted first in both).
2. Applying 10,000 peers' access at start-up: one transaction (pic) next to one
   `nft add rule` process per peer.

Usage: bench_firewall.py [--peers N] [--connects N]   (root; prints tables)
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import harness as h  # noqa: E402

SUBNET = '10.100.0.0/16'
CELL_VPN = '10.100.0.1'
CELL_UPLINK = '10.101.0.1'
SVC = '10.101.0.2'
PORT = 445  # the "files" service

CONNECT_LOOP = r'''
import socket, sys, time
src, dst, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t0 = time.monotonic()
for _ in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\1\0\0\0\0\0\0\0')  # RST on close: no TIME_WAIT pile-up
    s.bind((src, 0))
    s.connect((dst, port))
    s.close()
print(n / (time.monotonic() - t0))
'''

ACCEPT_LOOP = r'''
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(512)
print('ready', flush=True)
while True:
    c, _ = s.accept()
    c.close()
'''


def peer_address(i):
    """The i-th peer (i from 0): 10.100.0.2 onwards."""
    n = i + 2
    return '10.100.%d.%d' % (n // 256, n % 256)


def tool():
    return os.path.join(h.build_dir(), 'src', 'nft', 'pic-firewall-test-tool')


class World:
    def __init__(self, world):
        self.world = world
        self.peer = h.Netns(world=world)
        self.cell = h.Netns(world=world)
        self.svc = h.Netns(world=world)
        self.wg_if, peer_if = h.veth(self.cell, self.peer, CELL_VPN + '/16', None, world=world)
        self.uplink_if, _ = h.veth(self.cell, self.svc, CELL_UPLINK + '/24', SVC + '/24', world=world)
        self.peer_if = peer_if
        self.cell.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
        script = os.path.join(world.path, 'accept.py')
        with open(script, 'w') as f:
            f.write(ACCEPT_LOOP)
        self.svc.spawn([h.PYTHON, script, SVC, PORT], name='accept')
        h.wait_for(lambda: ':%d ' % PORT in self.svc.run(['ss', '-ltn']).stdout, 10, 0.1, 'listener')
        self.connect_script = os.path.join(world.path, 'connect.py')
        with open(self.connect_script, 'w') as f:
            f.write(CONNECT_LOOP)
        self.measured = None

    def use_peer(self, address):
        """The peer namespace sends from `address` (the last granted peer)."""
        if self.measured:
            self.peer.ip('addr', 'del', self.measured + '/16', 'dev', self.peer_if)
        self.peer.ip('addr', 'add', address + '/16', 'dev', self.peer_if)
        self.peer.ip('route', 'replace', 'default', 'via', CELL_VPN)
        self.measured = address

    def reset_firewall(self):
        self.cell.run(['nft', 'flush', 'ruleset'])

    def pic_apply(self, peers):
        argv = [tool(), '--wg', self.wg_if, '--uplink', self.uplink_if, '--subnet', SUBNET,
                '--vpn-address', CELL_VPN, '--service=files=%s:tcp/%d' % (SVC, PORT), 'apply'] + \
               ['%s=files' % peer_address(i) for i in range(peers)]
        t0 = time.monotonic()
        self.cell.run(argv, timeout=600)
        return time.monotonic() - t0

    def iptables_apply(self, peers):
        lines = ['*nat', '-A POSTROUTING -o %s -s %s -j MASQUERADE' % (self.uplink_if, SUBNET), 'COMMIT',
                 '*filter', ':FORWARD ACCEPT [0:0]',
                 '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT']
        lines += ['-A FORWARD -i %s -s %s -d %s -p tcp --dport %d -j ACCEPT' % (self.wg_if, peer_address(i), SVC, PORT)
                  for i in range(peers)]
        lines += ['-A FORWARD -i %s -d %s -p tcp --dport %d -j DROP' % (self.wg_if, SVC, PORT),
                  '-A FORWARD -i %s -j ACCEPT' % self.wg_if, 'COMMIT', '']
        self.cell.run(['iptables-nft-restore'], input='\n'.join(lines), timeout=600)

    def connects_per_second(self, n):
        out = self.peer.run([h.PYTHON, self.connect_script, self.measured, SVC, PORT, n], timeout=600).stdout
        return float(out.strip())

    def nft_process_per_rule(self, peers):
        self.reset_firewall()
        self.cell.run(['nft', 'add table inet base; add chain inet base peers { type filter hook forward priority 0; }'])
        script = os.path.join(self.world.path, 'rules.sh')
        with open(script, 'w') as f:
            f.write('set -e\n')
            for i in range(peers):
                f.write('nft add rule inet base peers iifname %s ip saddr %s ip daddr %s tcp dport %d accept\n'
                        % (self.wg_if, peer_address(i), SVC, PORT))
        t0 = time.monotonic()
        self.cell.run(['bash', script], timeout=3600)
        return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--peers', type=int, default=10000)
    ap.add_argument('--connects', type=int, default=3000)
    args = ap.parse_args()
    h.require_root()
    if not os.access(tool(), os.X_OK):
        sys.exit('build first: %s is missing' % tool())

    results = {}
    with h.TempWorld(prefix='pic-bench-fw-') as world:
        w = World(world)
        host_before = h.run(['nft', 'list', 'ruleset']).stdout
        for kind in ('pic', 'iptables'):
            for n in (10, args.peers):
                w.reset_firewall()
                if kind == 'pic':
                    w.pic_apply(n)
                else:
                    w.iptables_apply(n)
                w.use_peer(peer_address(n - 1))
                w.connects_per_second(200)  # warm up (ARP, conntrack)
                results[(kind, n)] = w.connects_per_second(args.connects)
        w.reset_firewall()
        pic_apply = w.pic_apply(args.peers)
        nft_each = w.nft_process_per_rule(args.peers)
        assert h.run(['nft', 'list', 'ruleset']).stdout == host_before, "the host's ruleset changed"

    n = args.peers
    print()
    print('| ruleset | connects/s, 10 peers | connects/s, %d peers | ratio (%d / 10) |' % (n, n))
    print('|---|---|---|---|')
    for kind, label in (('pic', 'pic-celld: table inet pic, access in sets'),
                        ('iptables', 'one iptables rule per peer (iptables-nft, linear chain)')):
        a, b = results[(kind, 10)], results[(kind, n)]
        print('| %s | %.0f | %.0f | %.2f |' % (label, a, b, b / a))
    print()
    print('| applying %d peers\' access | time | ratio (pic / nft per rule) |' % n)
    print('|---|---|---|')
    print('| pic-celld: one transaction (firewall_apply, whole table) | %.3f s | %.4f |' % (pic_apply, pic_apply / nft_each))
    print('| one `nft add rule` process per peer | %.3f s | 1 |' % nft_each)
    print()
    print('Connects come from the last granted peer; each connect is SYN, SYN-ACK, ACK, RST through the cell.')


if __name__ == '__main__':
    main()
