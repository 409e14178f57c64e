#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: adding peers and a cold start, pic-celld next to WireGuard's own tools.

Each run builds a fresh cell: the real polkitd (root is authorized, as on a real
system) and its state on a fresh ext4 file system on this machine's disk
(fresh_fs.py; not tmpfs, where fsync is free).

Ours: AddPeer over the bus, one call at a time; each reply comes after polkitd
said yes, the peer file is fsynced and the peer is live in wireguard-go.
Baseline: one `wg set` process per peer against the same wireguard-go (no state
written at all).

Cold start: the daemon and its wireguard-go are gone; ours is the time from bus
activation until every peer is live again. Baseline: what wg-quick does, with
the same peers: a fresh wireguard-go, one `wg setconf` of a configuration with
the private key, the port and every peer, `ip address add`, `ip link set up`.

Import: one AddPeers call with M peers (their public keys given, as an import
from another system would) until the reply, by which time all are stored and
live in WireGuard and the firewall; next to one `wg addconf` of the same M
peers into a running wireguard-go.

Usage: bench_peers.py [--peers N] [--import-peers M] [--repeat R]   (needs root; prints a table)
"""

import argparse
import base64
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import dbus  # noqa: E402
import harness as h  # noqa: E402
import repeat  # noqa: E402
from fresh_fs import durable_writes, put_state_on_fresh_ext4  # noqa: E402

# Runs inside a private mount namespace: makes DIR appear as /run/wireguard
# (wg(8) only looks there) and times one of:
#   set-each: one `wg set` per "KEY IP" line of INPUT into the running IFNAME;
#   addconf:  one `wg addconf IFNAME INPUT` into the running IFNAME;
#   cold:     wg-quick's way up: wireguard-go IFNAME, `wg setconf IFNAME INPUT`,
#             `ip address add ADDRESS`, `ip link set up`.
# Prints microseconds.
WG_TIMED = r'''
set -e
dir=$1 ifname=$2 mode=$3 input=$4 address=$5
mount -t tmpfs tmpfs /run
mkdir -p /run/wireguard
mount --bind "$dir" /run/wireguard
t0=$(date +%s%N)
case $mode in
set-each)
    while read -r key ip; do
        wg set "$ifname" peer "$key" allowed-ips "$ip/32"
    done < "$input" ;;
addconf)
    wg addconf "$ifname" "$input" ;;
cold)
    LOG_LEVEL=error wireguard-go "$ifname" >/dev/null 2>&1 </dev/null
    while [ ! -S "/run/wireguard/$ifname.sock" ]; do sleep 0.01; done
    wg setconf "$ifname" "$input"
    ip address add "$address" dev "$ifname"
    ip link set "$ifname" up ;;
esac
t1=$(date +%s%N)
echo $(( (t1 - t0) / 1000 ))
'''


def random_key():
    return base64.b64encode(os.urandom(32)).decode()


def uapi_peers(sock):
    return h.uapi_get(sock)['peers']


def wg_timed(world, netns, run_dir, ifname, mode, input_file, address=''):
    script = os.path.join(world.path, 'wg-timed.sh')
    with open(script, 'w') as f:
        f.write(WG_TIMED)
    out = netns.run(['unshare', '--mount', '--propagation', 'private', 'bash', script, run_dir, ifname, mode,
                     input_file, address], timeout=1800).stdout
    return int(out.strip().splitlines()[-1]) / 1e6


def write_peers_file(world, name, n, third_octet_base):
    path = os.path.join(world.path, name)
    with open(path, 'w') as f:
        for i in range(n):
            f.write('%s 10.60.%d.%d\n' % (random_key(), third_octet_base + i // 250, 1 + i % 250))
    return path


def write_conf(world, name, peers, private_key=None, port=None):
    """A wg(8) configuration: [Interface] (when private_key) and one [Peer] per (base64 key, [allowed ips])."""
    path = os.path.join(world.path, name)
    lines = []
    if private_key:
        lines += ['[Interface]', 'PrivateKey = ' + private_key, 'ListenPort = %d' % port, '']
    for key, ips in peers:
        lines += ['[Peer]', 'PublicKey = ' + key, 'AllowedIPs = ' + ', '.join(ips), '']
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
        f.write('\n'.join(lines))
    return path


def live_peers(sock):
    """(base64 public key, allowed ips) of every peer a device carries."""
    return [(base64.b64encode(bytes.fromhex(p['public_key'])).decode(),
             p['allowed_ip'] if isinstance(p['allowed_ip'], list) else [p['allowed_ip']])
            for p in uapi_peers(sock)]


def bench_cell(world, name, domain, vpn):
    """A set-up cell (real polkitd) whose state is on a fresh ext4 file system; returns (cell, its Manager)."""
    cell = h.Cell(world=world, name=name, polkit='real', extra_args=['--stats-interval=3600', '--log-level=warning'])
    put_state_on_fresh_ext4(world, cell, name + '-fs')
    cell.start()
    mgr = cell.manager()
    mgr.Setup(dbus.Dictionary({'Name': name, 'Domain': domain, 'VpnAddress': vpn}, signature='sv'), timeout=60)
    return cell, mgr


def one_run(n, m):
    """One fresh world: every case once; returns {case: seconds}."""
    r = {}
    with h.TempWorld(prefix='pic-bench-') as world:
        cell, mgr = bench_cell(world, 'bench', 'bench.lan', '10.60.0.1/16')
        empty = dbus.Dictionary({}, signature='sv')

        # 1. ours: AddPeer one call at a time
        t0 = time.monotonic()
        for i in range(n):
            mgr.AddPeer('peer%d' % i, empty, timeout=60)
        r['add'] = time.monotonic() - t0
        assert len(uapi_peers(cell.uapi_socket)) == n, 'not every peer is live'
        assert len(os.listdir(os.path.join(cell.state_dir, 'peers'))) == n
        ours_peers = live_peers(cell.uapi_socket)

        # 2. baseline on the same wireguard-go: one `wg set` per peer
        seed_peers = write_peers_file(world, 'seed-peers', n, 100)
        r['add-base'] = wg_timed(world, cell.netns, cell.wg_run_dir, cell.ifname, 'set-each', seed_peers)
        assert len(uapi_peers(cell.uapi_socket)) == 2 * n

        # 3. ours: cold start (daemon and wireguard-go gone) until every peer is live
        h._stop_pids(cell.netns.pids())
        cell.bus.wait_for_no_owner(h.CELL_BUS_NAME)
        t0 = time.monotonic()
        cell.start(timeout=300)  # pic-celld takes its name only after WireGuard carries every peer
        r['cold'] = time.monotonic() - t0
        assert len(uapi_peers(cell.uapi_socket)) == n

        # 4. baseline cold: wg-quick's way with the same peers on a fresh wireguard-go
        seed_dir = world.subdir('seed-wireguard')
        seed_if = world.unique('seedwg')
        conf = write_conf(world, 'seed.conf', ours_peers, random_key(), 51900)
        r['cold-base'] = wg_timed(world, cell.netns, seed_dir, seed_if, 'cold', conf, '10.160.0.1/16')
        assert len(uapi_peers(os.path.join(seed_dir, seed_if + '.sock'))) == n

        # 5. ours: the import, into a fresh cell; the baseline: one `wg addconf` of the same peers
        icell, imgr = bench_cell(world, 'imp', 'imp.lan', '10.61.0.1/16')
        keys = [random_key() for _ in range(m)]
        batch = dbus.Array([dbus.Dictionary({'Name': 'imp%d' % i, 'PublicKey': keys[i]}, signature='sv')
                            for i in range(m)], signature='a{sv}')
        t0 = time.monotonic()
        paths = imgr.AddPeers(batch, timeout=600)
        r['import'] = time.monotonic() - t0
        assert len(paths) == m and len(uapi_peers(icell.uapi_socket)) == m
        imported = live_peers(icell.uapi_socket)
        seed_dir2 = world.subdir('seed-import')
        seed_if2 = world.unique('seedim')
        wg_timed(world, icell.netns, seed_dir2, seed_if2, 'cold', write_conf(world, 'empty.conf', [], random_key(),
                                                                              51901), '10.161.0.1/16')
        r['import-base'] = wg_timed(world, icell.netns, seed_dir2, seed_if2, 'addconf',
                                    write_conf(world, 'import.conf', imported))
        assert len(uapi_peers(os.path.join(seed_dir2, seed_if2 + '.sock'))) == m

        # where an AddPeer's time goes, each part alone (per call)
        probe = os.path.join(os.path.dirname(cell.state_dir), 'fsync-probe')
        os.mkdir(probe)
        r['fsync'] = durable_writes(probe, n) / n
        me = cell.bus.connection().get_unique_name()
        t0 = time.monotonic()
        for _ in range(n):
            h.check_authorization(cell.bus, me, 'org.pic.cell1.manage-peers')
        r['polkit'] = (time.monotonic() - t0) / n
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--peers', type=int, default=1000)
    ap.add_argument('--import-peers', type=int, default=10000)
    repeat.add_argument(ap, default=3)
    args = ap.parse_args()
    n, m = args.peers, args.import_peers
    h.require_root()

    results = repeat.runs(args.repeat, lambda: one_run(n, m))
    col = lambda key: [r[key] for r in results]  # noqa: E731
    per_peer = lambda key, count: [v / count for v in col(key)]  # noqa: E731
    print()
    repeat.compare_table('work', 'pic-celld', 'wg(8)', [
        ('add %d peers, one call at a time / one `wg set` per peer' % n, col('add'), col('add-base')),
        ('  the same, per peer', per_peer('add', n), per_peer('add-base', n), repeat.MS),
        ('cold start with %d peers until all live / wireguard-go + one `wg setconf` + ip' % n,
         col('cold'), col('cold-base')),
        ('import %d peers in one AddPeers call / one `wg addconf`' % m, col('import'), col('import-base')),
    ])
    print()
    repeat.table(['where an AddPeer goes, each alone in the same runs (per call)', 'min / median / max'], [
        ('a CheckAuthorization to the real polkitd (python-dbus client)', repeat.mmm(col('polkit'), repeat.MS)),
        ('a durable write (write, fsync, rename, fsync dir) on the state\'s file system',
         repeat.mmm(col('fsync'), repeat.MS)),
        ('AddPeer, whole', repeat.mmm(per_peer('add', n), repeat.MS)),
    ])
    print()
    print('pic-celld: each AddPeer is authorized by the real polkitd, fsynced to its own file and live in '
          'WireGuard before the reply; wg(8) writes no state at all. Each run is a fresh cell whose state '
          'is on a fresh ext4 image on this machine\'s disk (fresh_fs.py says why).')


if __name__ == '__main__':
    main()
