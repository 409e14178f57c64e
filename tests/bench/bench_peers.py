#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: adding peers and a cold start, pic-celld next to the seed's way.

Ours: AddPeer over the bus, one call at a time; each reply comes after the
peer file is fsynced and the peer is live in wireguard-go. Cold start: the
daemon and its wireguard-go are gone; time from bus activation until every
peer is live again.
The seed's way: one `wg set` process per peer against the same wireguard-go
(no state written at all); cold start = a fresh wireguard-go plus one
`wg set` per peer.

Import: one AddPeers call with M peers (their public keys given, as an import
from another system would) until the reply, by which time all are stored and
live in WireGuard and the firewall; next to M `wg set` processes.

Usage: bench_peers.py [--peers N] [--import-peers M]   (needs root; prints a table)
"""

import argparse
import base64
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from fresh_fs import durable_writes, put_state_on_fresh_ext4  # noqa: E402

ALL_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets']

# Runs inside a private mount namespace: makes DIR appear as /run/wireguard
# (wg(8) only looks there) and times a loop of one `wg set` per line of FILE.
WG_SET_LOOP = r'''
set -e
dir=$1 ifname=$2 peers=$3 start_go=$4
mount -t tmpfs tmpfs /run
mkdir -p /run/wireguard
mount --bind "$dir" /run/wireguard
t0=$(date +%s%N)
if [ "$start_go" = 1 ]; then
    LOG_LEVEL=error wireguard-go "$ifname" >/dev/null 2>&1 </dev/null
    while [ ! -S "/run/wireguard/$ifname.sock" ]; do sleep 0.01; done
    wg set "$ifname" private-key "$dir/key" listen-port 51900
fi
while read -r key ip; do
    wg set "$ifname" peer "$key" allowed-ips "$ip/32"
done < "$peers"
t1=$(date +%s%N)
echo $(( (t1 - t0) / 1000 ))
'''


def random_key():
    return base64.b64encode(os.urandom(32)).decode()


def uapi_peer_count(sock):
    return len(h.uapi_get(sock)['peers'])


def seed_way(world, netns, run_dir, ifname, peers_file, start_go):
    script = os.path.join(world.path, 'wg-set-loop.sh')
    with open(script, 'w') as f:
        f.write(WG_SET_LOOP)
    out = netns.run(['unshare', '--mount', '--propagation', 'private', 'bash', script, run_dir, ifname,
                     peers_file, '1' if start_go else '0'], timeout=1800).stdout
    return int(out.strip().splitlines()[-1]) / 1e6


def write_peers_file(world, name, n, third_octet_base):
    path = os.path.join(world.path, name)
    with open(path, 'w') as f:
        for i in range(n):
            f.write('%s 10.60.%d.%d\n' % (random_key(), third_octet_base + i // 250, 1 + i % 250))
    return path


def bench_cell(world, name, domain, vpn):
    """A set-up cell whose state is on a fresh ext4 file system; returns (cell, its Manager)."""
    cell = h.Cell(world=world, name=name, extra_args=['--stats-interval=3600', '--log-level=warning'])
    put_state_on_fresh_ext4(world, cell, name + '-fs')
    cell.polkit.set_allowed(ALL_ACTIONS)
    cell.start()
    mgr = cell.manager()
    mgr.Setup(dbus.Dictionary({'Name': name, 'Domain': domain, 'VpnAddress': vpn}, signature='sv'))
    return cell, mgr


def seed_key_dir(world, name):
    """A directory for a seed-way wireguard-go, holding its private key."""
    d = world.subdir(name)
    with open(os.open(os.path.join(d, 'key'), os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
        f.write(random_key() + '\n')
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--peers', type=int, default=1000)
    ap.add_argument('--import-peers', type=int, default=10000)
    args = ap.parse_args()
    n, m = args.peers, args.import_peers
    h.require_root()

    with h.TempWorld(prefix='pic-bench-') as world:
        cell, mgr = bench_cell(world, 'bench', 'bench.lan', '10.60.0.1/16')
        empty = dbus.Dictionary({}, signature='sv')

        # 1. ours: AddPeer one call at a time
        t0 = time.monotonic()
        for i in range(n):
            mgr.AddPeer('peer%d' % i, empty)
        ours_add = time.monotonic() - t0
        assert uapi_peer_count(cell.uapi_socket) == n, 'not every peer is live'
        assert len(os.listdir(os.path.join(cell.state_dir, 'peers'))) == n

        # 2. seed's way on the same wireguard-go: one `wg set` per peer
        seed_peers = write_peers_file(world, 'seed-peers', n, 100)
        seed_add = seed_way(world, cell.netns, cell.wg_run_dir, cell.ifname, seed_peers, start_go=False)
        assert uapi_peer_count(cell.uapi_socket) == 2 * n

        # 3. ours: cold start (daemon and wireguard-go gone) until every peer is live
        h._stop_pids(cell.netns.pids())
        cell.bus.wait_for_no_owner(h.CELL_BUS_NAME)
        t0 = time.monotonic()
        cell.start(timeout=300)  # pic-celld takes its name only after WireGuard carries every peer
        ours_cold = time.monotonic() - t0
        assert uapi_peer_count(cell.uapi_socket) == n

        # 4. seed's way cold: a fresh wireguard-go, its key, then one `wg set` per peer
        seed_dir = seed_key_dir(world, 'seed-wireguard')
        seed_if = world.unique('seedwg')
        seed_cold = seed_way(world, cell.netns, seed_dir, seed_if, seed_peers, start_go=True)
        assert uapi_peer_count(os.path.join(seed_dir, seed_if + '.sock')) == n

        # 5. ours: the import, into a fresh cell
        icell, imgr = bench_cell(world, 'imp', 'imp.lan', '10.61.0.1/16')
        keys = [random_key() for _ in range(m)]
        batch = dbus.Array([dbus.Dictionary({'Name': 'imp%d' % i, 'PublicKey': keys[i]}, signature='sv')
                            for i in range(m)], signature='a{sv}')
        t0 = time.monotonic()
        paths = imgr.AddPeers(batch, timeout=600)
        ours_import = time.monotonic() - t0
        assert len(paths) == m and uapi_peer_count(icell.uapi_socket) == m
        # the seed's way for the same number: one `wg set` per peer into a fresh device
        seed_dir2 = seed_key_dir(world, 'seed-import')
        import_peers = write_peers_file(world, 'seed-import-peers', m, 100)
        seed_import = seed_way(world, icell.netns, seed_dir2, world.unique('seedim'), import_peers, start_go=True)

        probe = os.path.join(os.path.dirname(cell.state_dir), 'fsync-probe')
        os.mkdir(probe)
        fsync_only = durable_writes(probe, n)
        me = cell.bus.connection().get_unique_name()
        t0 = time.monotonic()
        for _ in range(n):
            h.check_authorization(cell.bus, me, 'org.pic.cell1.manage-peers')
        polkit_only = time.monotonic() - t0

    rows = [('add %d peers, one call at a time' % n, n, ours_add, seed_add),
            ('cold start with %d peers until all live' % n, n, ours_cold, seed_cold),
            ('import %d peers in one AddPeers call' % m, m, ours_import, seed_import)]
    print()
    print('| work | pic-celld | seed way (`wg set` per peer) | ratio (pic-celld / seed) |')
    print('|---|---|---|---|')
    for what, count, ours, seed in rows:
        print('| %s | %.3f s (%.2f ms/peer) | %.3f s (%.2f ms/peer) | %.2f |' % (
            what, ours, ours * 1000 / count, seed, seed * 1000 / count, ours / seed))
    print()
    print('Where an AddPeer goes, measured alone in the same run: a polkit check (python-dbusmock) %.2f ms, '
          'a durable write (write, fsync, rename, fsync dir) %.2f ms.' % (polkit_only * 1000 / n, fsync_only * 1000 / n))
    print('pic-celld: each AddPeer is authorized by polkit (mock), fsynced to its own file and live in '
          'WireGuard before the reply; the seed way writes no state at all. State directories are on a '
          'fresh ext4 file system (fresh_fs.py says why).')


if __name__ == '__main__':
    main()
