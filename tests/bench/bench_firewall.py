#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: the cell's firewall (table inet pic: per-peer access in sets)
next to the same policy as one iptables rule per peer (iptables-nft, a linear
chain), in namespaces:  peer ── cell ── svc.

1. Classification: TCP connects/s from the LAST peer to a service port, with
   10 and with 10,000 peers granted. Only a connection's first packet walks the
   rules (established traffic is accepted first in both).
2. Applying 10,000 peers' access at start-up: pic's one transaction (the
   firewall tool, a process as nft is) next to `nft -f` of the very ruleset it
   made (read back with `nft list ruleset`) and to `iptables-nft-restore` of the
   same policy as one rule per peer, each into an empty ruleset.

Every case is repeated (--repeat): tables show min / median / max and the
ratio of the medians, all from the same run.

Usage: bench_firewall.py [--peers N] [--connects N] [--repeat R]   (root; prints tables)
"""

import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import harness as h  # noqa: E402
import repeat  # noqa: E402

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
        return repeat.timed(self.cell.run, argv, timeout=600)

    def iptables_rules(self, peers):
        lines = ['*nat', '-A POSTROUTING -o %s -s %s -j MASQUERADE' % (self.uplink_if, SUBNET), 'COMMIT',
                 '*filter', ':FORWARD ACCEPT [0:0]',
                 '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT']
        lines += ['-A FORWARD -i %s -s %s -d %s -p tcp --dport %d -j ACCEPT' % (self.wg_if, peer_address(i), SVC, PORT)
                  for i in range(peers)]
        lines += ['-A FORWARD -i %s -d %s -p tcp --dport %d -j DROP' % (self.wg_if, SVC, PORT),
                  '-A FORWARD -i %s -j ACCEPT' % self.wg_if, 'COMMIT', '']
        return '\n'.join(lines)

    def iptables_apply(self, peers):
        path = os.path.join(self.world.path, 'iptables-%d.rules' % peers)
        with open(path, 'w') as f:
            f.write(self.iptables_rules(peers))
        return repeat.timed(self.cell.run, ['iptables-nft-restore', path], timeout=600)

    def nft_file_apply(self, path):
        return repeat.timed(self.cell.run, ['nft', '-f', path], timeout=600)

    def save_ruleset(self, name):
        """The namespace's ruleset as `nft list ruleset` prints it, made loadable, in a file.

        nft prints two things of pic's ruleset that its own parser refuses: comments holding
        double quotes (they become single quotes here), and the seven rules whose @peer_grants
        lookup key is the peer's address joined with a constant (the grant's bit), which nft's
        language cannot write: they are loaded keyed with `meta mark` in place of the constant,
        one load for one load. Sets, elements, chains and rule count are the same (checked)."""
        text = self.cell.run(['nft', 'list', 'ruleset']).stdout
        text = re.sub(r'\. 0x[0-9a-f]+ \[invalid type\]', '. meta mark', text)
        text = re.sub(r'comment "(.*)"$', lambda m: 'comment "%s"' % m.group(1).replace('"', "'"), text, flags=re.M)
        path = os.path.join(self.world.path, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def ruleset_shape(self):
        """{(family, table, set): elements} and {(family, table, chain): rules} of the namespace's ruleset."""
        shape = {}
        for item in json.loads(self.cell.run(['nft', '-j', 'list', 'ruleset']).stdout)['nftables']:
            kind, obj = next(iter(item.items()))
            if kind in ('set', 'map'):
                shape[(kind, obj['family'], obj['table'], obj['name'])] = len(obj.get('elem', []))
            elif kind == 'rule':
                key = ('rules', obj['family'], obj['table'], obj['chain'])
                shape[key] = shape.get(key, 0) + 1
        return shape

    def connects_per_second(self, n):
        out = self.peer.run([h.PYTHON, self.connect_script, self.measured, SVC, PORT, n], timeout=600).stdout
        return float(out.strip())



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--peers', type=int, default=10000)
    ap.add_argument('--connects', type=int, default=3000)
    repeat.add_argument(ap, default=5)
    args = ap.parse_args()
    h.require_root()
    if not os.access(tool(), os.X_OK):
        sys.exit('build first: %s is missing' % tool())

    n, r = args.peers, args.repeat
    connects = {}
    with h.TempWorld(prefix='pic-bench-fw-') as world:
        w = World(world)
        host_before = h.run(['nft', 'list', 'ruleset']).stdout
        for kind in ('pic', 'iptables'):
            for count in (10, n):
                w.reset_firewall()
                if kind == 'pic':
                    w.pic_apply(count)
                else:
                    w.iptables_apply(count)
                w.use_peer(peer_address(count - 1))
                w.connects_per_second(200)  # warm up (ARP, conntrack)
                connects[(kind, count)] = repeat.runs(r, lambda: w.connects_per_second(args.connects))

        def fresh(apply, *a):
            w.reset_firewall()
            return apply(*a)
        pic = repeat.runs(r, lambda: fresh(w.pic_apply, n))
        same, shape = w.save_ruleset('pic-ruleset.nft'), w.ruleset_shape()
        nft_f = repeat.runs(r, lambda: fresh(w.nft_file_apply, same))
        assert w.ruleset_shape() == shape, 'nft -f loaded another ruleset'
        ipt = repeat.runs(r, lambda: fresh(w.iptables_apply, n))
        w.reset_firewall()
        assert h.run(['nft', 'list', 'ruleset']).stdout == host_before, "the host's ruleset changed"

    print()
    repeat.compare_table('connects/s from the last granted peer; pic-celld: access in sets; iptables-nft: '
                         'one rule per peer, a linear chain', 'pic-celld', 'iptables-nft', [
                             ('10 peers granted', connects[('pic', 10)], connects[('iptables', 10)]),
                             ('%d peers granted' % n, connects[('pic', n)], connects[('iptables', n)]),
                         ], repeat.PER_SECOND)
    print()
    print('| how each ruleset scales (%d peers / 10 peers, medians) | ratio |' % n)
    print('|---|---|')
    for kind, label in (('pic', 'pic-celld: table inet pic, access in sets'),
                        ('iptables', 'one iptables rule per peer (iptables-nft, linear chain)')):
        print('| %s | %.2f |' % (label, repeat.ratio(connects[(kind, n)], connects[(kind, 10)])))
    print()
    repeat.compare_table('applying %d peers\' access into an empty ruleset' % n, 'pic-celld', 'baseline', [
        ('baseline: `nft -f` of the same ruleset (what pic made, listed back)', pic, nft_f),
        ('baseline: `iptables-nft-restore` of the same policy, one rule per peer', pic, ipt),
    ])
    print()
    print('pic-celld here is pic-firewall-test-tool apply: the daemon\'s firewall_apply (one netlink '
          'transaction for the whole table) in a process of its own, as nft and iptables-nft-restore are.')
    print('Connects come from the last granted peer; each connect is SYN, SYN-ACK, ACK, RST through the cell.')


if __name__ == '__main__':
    main()
