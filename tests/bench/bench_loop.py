#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: the daemon's loop with many peers (issue 7's figures).

One cell, the real polkitd (root is allowed, as on a real system), peers added
one AddPeer at a time up to N (default 10,000):
  - AddPeer p50 over the first 1,000 and the last 1,000 adds (flatness);
  - GetManagedObjects as `busctl call` sees it and as a client that does not
    print it sees it, next to the plainest sd-bus service (tests/bench/
    plain-objects.c) exporting as many objects, once with the peers' property
    signatures and once with one property (the issue's "plain sd-bus service");
  - the daemon's RSS at N peers;
  - p99 of a property Get from another client while 10 logins hash (Argon2id)
    and while Apply moves every peer to another subnet.

Usage: bench_loop.py [--peers N]   (needs root; prints tables)
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from fresh_fs import durable_writes, put_state_on_fresh_ext4  # noqa: E402

MANAGER = 'org.pic.Cell1.Manager'
PASSWORD = 'correct horse battery'


def sv(d):
    return dbus.Dictionary(d, signature='sv')


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] * 1000


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


PLAIN = os.path.join(h.build_dir(), 'tests', 'bench', 'plain-objects')
PLAIN_PATH = '/org/pic/Bench'


def busctl_managed_objects(bus, name, path, runs=5):
    """Best of runs, in ms, of `busctl call` printing the whole answer."""
    best = None
    for _ in range(runs):
        t0 = time.monotonic()
        p = h.run(['busctl', '--system', 'call', name, path, 'org.freedesktop.DBus.ObjectManager',
                   'GetManagedObjects'], env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address), timeout=120)
        dt = time.monotonic() - t0
        assert p.returncode == 0 and len(p.stdout) > 100
        best = dt if best is None else min(best, dt)
    return best * 1000


def client_managed_objects(bus, name, path, runs=5):
    """Best of runs, in ms, of an sd-bus client that reads the answer and prints nothing."""
    p = h.run([PLAIN, 'call', name, path, str(runs)], env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address),
              timeout=120)
    return float(p.stdout)


def plain_service(world, bus, name, n, kind):
    """Starts plain-objects owning name on bus with n objects."""
    bus.allow_owner(name)
    world.spawn([PLAIN, 'serve', name, str(n), kind], name=name,
                env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address))
    bus.wait_for_owner(name)


def gets_while(cell, work):
    """Runs work() in a thread; meanwhile Gets the Name property from another connection. Returns latencies."""
    conn = cell.bus.new_connection()
    props = dbus.Interface(conn.get_object(h.CELL_BUS_NAME, h.CELL_PATH, introspect=False),
                           'org.freedesktop.DBus.Properties')
    latencies, done = [], threading.Event()
    errors = []

    def run():
        try:
            work()
        except Exception as e:  # reported below
            errors.append(e)
        done.set()

    t = threading.Thread(target=run)
    t.start()
    while not done.is_set():
        t0 = time.monotonic()
        props.Get(MANAGER, 'Name', timeout=60)
        latencies.append(time.monotonic() - t0)
        time.sleep(0.002)
    t.join()
    conn.close()
    if errors:
        raise errors[0]
    return latencies


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--peers', type=int, default=10000)
    n = ap.parse_args().peers
    h.require_root()

    with h.TempWorld(prefix='pic-bench-') as world:
        cell = h.Cell(world=world, polkit='real', extra_args=['--stats-interval=3600', '--log-level=warning'])
        put_state_on_fresh_ext4(world, cell, 'cell-fs')
        cell.start()
        mgr = cell.manager()
        mgr.Setup(sv({'Name': 'bench', 'Domain': 'bench.lan', 'VpnAddress': '10.64.0.1/16',
                      'AdminPassword': PASSWORD}), timeout=60)
        empty = sv({})
        add_times = []
        for i in range(n):
            t0 = time.monotonic()
            mgr.AddPeer('peer%d' % i, empty, timeout=60)
            add_times.append(time.monotonic() - t0)
        first, last = add_times[:1000], add_times[-1000:]
        assert len(h.uapi_get(cell.uapi_socket)['peers']) == n

        # The two waits inside every AddPeer, alone: polkitd's answer and the fsyncs.
        me = cell.bus.connection().get_unique_name()
        polkit_only = []
        for _ in range(1000):
            t0 = time.monotonic()
            h.check_authorization(cell.bus, me, 'org.pic.cell1.manage-peers')
            polkit_only.append(time.monotonic() - t0)
        probe = os.path.join(os.path.dirname(cell.state_dir), 'fsync-probe')
        os.mkdir(probe)
        fsync_only = durable_writes(probe, 1000) / 1000

        plain_service(world, cell.bus, 'org.pic.BenchSame', n, 'full')
        plain_service(world, cell.bus, 'org.pic.BenchSmall', n, 'small')
        gmo = [(what, busctl_managed_objects(cell.bus, name, path), client_managed_objects(cell.bus, name, path))
               for what, name, path in (('pic-celld', h.CELL_BUS_NAME, h.CELL_PATH),
                                        ('plain sd-bus, same 14 properties', 'org.pic.BenchSame', PLAIN_PATH),
                                        ('plain sd-bus, 1 property', 'org.pic.BenchSmall', PLAIN_PATH))]
        rss = rss_kib(cell.pid())

        logins = lambda: [threading.Thread(target=lambda: cell.manager().Authenticate('admin', PASSWORD, timeout=60))
                          for _ in range(10)]

        def ten_logins():
            threads = logins()
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        during_logins = gets_while(cell, ten_logins)
        mgr.Configure(sv({'VpnAddress': '10.65.0.1/16'}), timeout=60)
        t0 = time.monotonic()
        during_apply = gets_while(cell, lambda: cell.manager().Apply(timeout=600))
        apply_time = time.monotonic() - t0
        assert str(cell.properties(MANAGER)['VpnAddress']) == '10.65.0.1/16'

    print()
    print('| AddPeer, one call at a time, real polkitd | p50 | p99 |')
    print('|---|---|---|')
    print('| first 1,000 peers | %.2f ms | %.2f ms |' % (pct(first, 50), pct(first, 99)))
    print('| last 1,000 (up to %d peers) | %.2f ms | %.2f ms |' % (n, pct(last, 50), pct(last, 99)))
    print('| ratio last / first (p50) | %.2f | |' % (statistics.median(last) / statistics.median(first)))
    print('| alone: a polkitd CheckAuthorization (python-dbus client) | %.2f ms | %.2f ms |'
          % (pct(polkit_only, 50), pct(polkit_only, 99)))
    print('| alone: a durable write (write, fsync, rename, fsync dir) | %.2f ms (mean) | |' % (fsync_only * 1000))
    print()
    print('| with %d peers | value |' % n)
    print('|---|---|')
    print('| pic-celld RSS | %.1f MB |' % (rss / 1024))
    print('| Apply moving every peer | %.2f s |' % apply_time)
    print()
    print('| GetManagedObjects, %d objects (best of 5) | `busctl call` | ratio to pic-celld | '
          'client reading, not printing | ratio to pic-celld |' % n)
    print('|---|---|---|---|---|')
    for what, busctl, client in gmo:
        print('| %s | %.0f ms | %.2f | %.0f ms | %.2f |' % (what, busctl, busctl / gmo[0][1], client,
                                                           client / gmo[0][2]))
    print()
    print('| property Get from another client | n | p50 | p99 | max |')
    print('|---|---|---|---|---|')
    for what, lat in (('while 10 logins hash', during_logins), ('while Apply moves %d peers' % n, during_apply)):
        print('| %s | %d | %.2f ms | %.2f ms | %.1f ms |' % (what, len(lat), pct(lat, 50), pct(lat, 99),
                                                             max(lat) * 1000))


if __name__ == '__main__':
    main()
