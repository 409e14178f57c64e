#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: a linked cell as an exit (issue 11's speed figures), in test_cell_exits.py's world.

Cells a, b and c (test_pairing's: each with its bus, pic-celld and gateway),
their LANs on one bridge in the hub namespace, which also holds "the
internet" (198.18.9.9: the echo server on :8000, an iperf3 server here); c
is built with the world but stays idle. b is linked with a and a offers b its
uplink (Link.OfferExit): b gets exit "a", a tunnel to a in b's namespace.
b's laptop is a WireGuard client in its own namespace on the same bridge.

Throughput (iperf3, TCP, one stream, 3 s each), next to b's uplink directly:
  - b's uplink directly: iperf3 from b's own namespace to the internet;
  - laptop, b's uplink: the laptop through b's tunnel, out of b's uplink (Exit none);
  - laptop, exit a: the laptop through b's tunnel and b's tunnel to a, out of a's uplink;
  - a's uplink directly: iperf3 from a's own namespace (the far end's own figure).
Each laptop row is checked to have taken its path: the echo server sees the
laptop's connection come from b's address (Exit none) or a's (Exit a), and a
counter in b's namespace (before the masquerade) on the laptop's address
leaving by b's uplink grows during the first and not at all during the second.
Every WireGuard tunnel is wireguard-go (this kernel has no WireGuard), so the
exit row is two userspace tunnels in a row (the laptop's to b, b's to a) on
these 2 cores.

Each path is measured --repeat times (default 3); the table shows min /
median / max and ratios of medians, all from the same run.

Usage: bench_cell_exits.py [--seconds S] [--repeat R]   (needs root; prints a table)
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import dbus  # noqa: E402
import harness as h  # noqa: E402
import repeat  # noqa: E402
import test_cell_exits as tce  # noqa: E402
import test_pairing as tp  # noqa: E402
from exit_world import INTERNET, INTERNET_PORT, PEER_IFACE, PROBE  # noqa: E402


class CellExitsWorld(tce.CellExitsTest):
    """test_cell_exits' world and helpers, outside unittest: set world, call build_world(), then use an
    instance (CellExitsWorld()) for the helpers."""


def iperf(argv_prefix, seconds):
    out = h.run(argv_prefix + ['iperf3', '-c', INTERNET, '-t', str(seconds), '-J'], timeout=seconds + 30).stdout
    return json.loads(out)['end']['sum_received']['bits_per_second'] / 1e6


def seen_from(argv_prefix, timeout=2):
    """Who "the internet" sees a connection from this namespace come from ('error: …' when it does not arrive)."""
    return h.run(argv_prefix + [sys.executable, '-c', PROBE, INTERNET, str(INTERNET_PORT), str(timeout)],
                 check=False).stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=int, default=3)
    repeat.add_argument(ap, default=3)
    args = ap.parse_args()
    r = args.repeat
    h.require_root()

    with h.TempWorld() as world:
        CellExitsWorld.world = world
        CellExitsWorld.build_world()
        t = CellExitsWorld()
        a, b = t.cells['a'], t.cells['b']
        laptop = t.devices['laptop']
        # the hub: the namespace whose lo holds "the internet" (build_world keeps no handle on it)
        hub = [n for n in world.netns_names
               if INTERNET + '/32' in h.run(['ip', '-n', n, '-o', 'addr', 'show', 'dev', 'lo']).stdout]
        assert len(hub) == 1, hub
        in_hub, in_a, in_b = (['ip', 'netns', 'exec', n] for n in (hub[0], a.netns.name, b.netns.name))
        in_laptop = ['ip', 'netns', 'exec', laptop.name]

        # b links with a; a offers b its uplink (test_cell_exits' test_1, for a only)
        b.manager().AddLink(str(a.manager().CreateInvite(tp.sv({}))[0]), tp.sv({}), timeout=30)
        h.wait_for(lambda: str(t.link_props('b', 'a')['State']) == 'connected', 30, 0.2, 'b connected with a')
        t.link('a', 'b').OfferExit(True)
        # wait_exit's message reads the exit's properties at once: the object must be there first
        h.wait_for(lambda: '/org/pic/Cell1/exit/a' in b.managed_objects(), 15, 0.1, 'exit a on b')
        t.wait_exit('a', 'up')

        # b's laptop: a peer of b's, its device a WireGuard client with the full-tunnel configuration b hands
        # out to a peer behind an exit; a counter on its address leaving by b's uplink (test_2's)
        path = b.manager().AddPeer('laptop', tp.sv({'Exit': 'a'}))
        peer = b.interface(PEER_IFACE, path)
        address = str(b.properties(PEER_IFACE, path)['Address'])
        config = str(peer.GetConfig())
        assert 'AllowedIPs = 0.0.0.0/0, ::/0' in config, config
        client = h.WgClient(laptop, world.unique('wgc'), config, world=world)
        CellExitsWorld.counter_table = world.unique('pictest')
        uplink = b.netns.run(['ip', '-o', 'route', 'show', 'default']).stdout.split(' dev ')[1].split()[0]
        b.netns.run(['nft', '-f', '-'], input=(
            'table inet %s {\n chain out { type filter hook postrouting priority 99;\n'
            '  oifname "%s" ip saddr %s counter\n }\n}\n' % (t.counter_table, uplink, address)))
        h.wait_for(lambda: client.latest_handshake() > 0, 15, 0.1, 'the laptop handshakes with b')

        def set_exit(name, source):
            peer.Update(dbus.Dictionary({'Exit': name}, signature='sv'))
            h.wait_for(lambda: seen_from(in_laptop) == source, 10, 0.1, 'the laptop seen from %s (Exit %r)' % (
                source, name))

        world.spawn(in_hub + ['iperf3', '-s', '-B', INTERNET], name='iperf3-server')
        h.wait_for(lambda: h.run(in_hub + ['ss', '-Htln', 'sport = :5201']).stdout.strip(), 10, 0.05,
                   'the iperf3 server listens')
        assert seen_from(in_b) == tp.LAN['b'], seen_from(in_b)
        b_direct = repeat.runs(r, lambda: iperf(in_b, args.seconds))
        set_exit('', tp.LAN['b'])
        before = t.leaked()
        via_uplink = repeat.runs(r, lambda: iperf(in_laptop, args.seconds))
        assert t.leaked() > before, 'the laptop by the uplink did not leave by b\'s uplink'
        set_exit('a', tp.LAN['a'])
        before = t.leaked()
        via_a = repeat.runs(r, lambda: iperf(in_laptop, args.seconds))
        assert seen_from(in_laptop) == tp.LAN['a']
        assert t.leaked() == before, 'the laptop through exit a left by b\'s uplink (%d packets)' % (
            t.leaked() - before)
        assert seen_from(in_a) == tp.LAN['a'], seen_from(in_a)
        a_direct = repeat.runs(r, lambda: iperf(in_a, args.seconds))

    print('\n## Linked cell as exit: throughput (iperf3, 1 TCP stream, %d s a run; WireGuard tunnels are '
          'wireguard-go)\n' % args.seconds)
    paths = (("laptop → b's tunnel → b's uplink (Exit none)", via_uplink),
             ("laptop → b's tunnel → b's tunnel to a → a's uplink (Exit a)", via_a),
             ("a's uplink directly (cell a → internet)", a_direct))
    repeat.compare_table('path', 'the path', "b's uplink directly (cell b → internet)",
                         [(name, value, b_direct) for name, value in paths], repeat.MBITS)
    print()
    repeat.table(['path', 'ratio to the laptop by b\'s uplink (medians)'],
                 [(paths[1][0], '%.2f' % repeat.ratio(via_a, via_uplink))])


if __name__ == '__main__':
    main()
