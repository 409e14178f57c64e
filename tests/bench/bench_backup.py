#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: Manager.Backup and Manager.Restore (issue 14's speed figures) for a cell
with N peers (default 10,000, added in one AddPeers call) and L links (default 10: real
ones, paired with L other cells, each a pic-celld with its gateway in a namespace of its
own on one bridge, test_pairing's world), its state on a fresh ext4 file system
(fresh_fs.py: fsync costs what it costs on a disk).

  - Backup, encrypted (Argon2id "moderate", then secretstream) and plain: from the call
    to the reply, the archive on a pipe read as fast as it comes;
  - the baseline: `tar -cf -` of the same state directory into a pipe (what copying the
    files costs, with nothing checked or encrypted), and its size;
  - Restore (Replace=true) of the encrypted archive: to the reply (read, checked, staged,
    committed), to the restarted daemon serving every peer again, and to every link
    "connected" again (a handshake with each other cell after the restart); and the same
    archive onto a new box (a fresh cell on its own fresh file system): to the reply;
  - pic-celld's resident memory: its peak (VmHWM) is reset before each backup
    (/proc/PID/clear_refs 5), so the growth shows what streaming costs; Argon2id's
    moderate setting itself takes 256 MiB while the key is derived.

Each case runs --repeat times (default 3; the new box is a new cell each time);
the tables show min / median / max and ratios of medians to tar, all from the
same run.

Usage: bench_backup.py [--peers N] [--links L] [--repeat R]   (needs root; prints tables)
"""

import argparse
import base64
import os
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import dbus  # noqa: E402
import harness as h  # noqa: E402
import repeat  # noqa: E402
import test_pairing as tp  # noqa: E402
from fresh_fs import put_state_on_fresh_ext4  # noqa: E402
from gateway_client import gatewayd_binary  # noqa: E402

ACTIONS = tp.ALLOWED + ['org.pic.cell1.backup']
PASSPHRASE = 'a passphrase for the benchmark'
CELL = 'bench'
N = os.getpid() % 200


class LinkedCells:
    """test_pairing's world of cells on one bridge: CELL (a /16 for its peers) and L others."""

    def __init__(self, world, links):
        self.world = world
        self.others = ['o%d' % i for i in range(links)]
        self.lan = {CELL: '10.245.%d.1' % N}
        self.vpn = {CELL: '10.62.0.1/16'}
        for i, name in enumerate(self.others):
            self.lan[name] = '10.245.%d.%d' % (N, i + 2)
            self.vpn[name] = '10.63.%d.1/24' % i

    def start_gateway(self, name):
        cell = self.cells[name]
        cell.netns.spawn([gatewayd_binary(), '--listen=127.0.0.1:%d' % (8400 + N),
                          '--pairing-listen=%s:8283' % self.lan[name], '--log-level=warning'],
                         name='gateway-' + name, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cell.bus.address))

    def build(self):
        def fresh_fs(name, cell):
            if name == CELL:
                put_state_on_fresh_ext4(self.world, cell, 'backup-fs')
        # statistics read each second (every cell's default is 5 s: "connected" is seen sooner)
        tp.build_cells(self, names=[CELL] + self.others, allowed=ACTIONS, lan=self.lan, vpn=self.vpn,
                       before_start=fresh_fs, args=['--stats-interval=1', '--log-level=warning'])
        for name in self.others:
            invite = str(self.cells[name].manager().CreateInvite(tp.sv({}))[0])
            self.cells[CELL].manager().AddLink(invite, tp.sv({}), timeout=60)
        self.wait_connected(60)

    def link_states(self):
        cell = self.cells[CELL]
        return {name: str(cell.properties(tp.LINK, '/org/pic/Cell1/link/' + name)['State']) for name in self.others}

    def wait_connected(self, timeout):
        h.wait_for(lambda: set(self.link_states().values()) == {'connected'}, timeout, 0.05,
                   'every link connected (%s)' % self.link_states())


def status_kib(pid, key):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    raise KeyError(key)


def plain_entries(archive):
    """(path, bytes) of a plain archive (archive.h): the chunks' payloads joined, then parsed."""
    pos, payload = 13, b''
    while True:
        size = struct.unpack_from('<I', archive, pos)[0]
        payload += archive[pos + 5:pos + 4 + size]
        last = archive[pos + 4] == 1
        pos += 4 + size
        if last:
            break
    entries, i = [], 0
    while payload[i] == 1:
        n = struct.unpack_from('<H', payload, i + 1)[0]
        name = payload[i + 3:i + 3 + n].decode()
        size = struct.unpack_from('<I', payload, i + 3 + n)[0]
        entries.append((name, payload[i + 7 + n:i + 7 + n + size]))
        i += 7 + n + size
    return entries


def drain(fd, out):
    """Reads fd to its end into out (a list of chunks), on a thread."""
    def run():
        while True:
            b = os.read(fd, 1 << 16)
            if not b:
                break
            out.append(b)
        os.close(fd)
    t = threading.Thread(target=run)
    t.start()
    return t


def backup(cell, **options):
    """(seconds, archive bytes, VmHWM growth in KiB)."""
    pid = cell.pid()
    with open('/proc/%d/clear_refs' % pid, 'w') as f:
        f.write('5')  # resets VmHWM to the current RSS
    rss = status_kib(pid, 'VmHWM')
    r, w = os.pipe()
    chunks = []
    reader = drain(r, chunks)
    t0 = time.monotonic()
    try:
        cell.manager().Backup(dbus.types.UnixFd(w), dbus.Dictionary(options, signature='sv'), timeout=600)
    finally:
        os.close(w)
    took = time.monotonic() - t0
    reader.join()
    return took, b''.join(chunks), status_kib(pid, 'VmHWM') - rss


def restore_replace(cells, path, peers, links):
    """Restore (Replace) of the archive at path: seconds to the reply, to serving every peer and
    link again, to every link connected."""
    cell = cells.cells[CELL]
    pid = cell.pid()
    fd = os.open(path, os.O_RDONLY)
    t0 = time.monotonic()
    try:
        cell.manager().Restore(dbus.types.UnixFd(fd), dbus.Dictionary({'Passphrase': PASSPHRASE, 'Replace': True},
                                                                      signature='sv'), timeout=600)
    finally:
        os.close(fd)
    reply = time.monotonic() - t0
    h.wait_for(lambda: cell.bus.has_owner(h.CELL_BUS_NAME) and cell.pid() != pid, 300, 0.05,
               'pic-celld back with the restored state')
    h.wait_for(lambda: len(h.uapi_get(cell.uapi_socket)['peers']) >= peers + links, 300, 0.05,
               'every peer and link in WireGuard again')
    serving = time.monotonic() - t0
    cells.wait_connected(300)
    linked = time.monotonic() - t0
    assert len(h.uapi_get(cell.uapi_socket)['peers']) == peers + links
    return reply, serving, linked


def restore_new_box(world, path, i):
    """The archive onto a new box: a fresh cell, nothing of the old state on its disk; seconds to the reply."""
    newbox = h.Cell(world=world, name='newbox%d' % i, extra_args=['--stats-interval=3600', '--log-level=warning'])
    put_state_on_fresh_ext4(world, newbox, 'newbox%d-fs' % i)
    newbox.polkit.set_allowed(ACTIONS)
    newbox.start()
    fd = os.open(path, os.O_RDONLY)
    t0 = time.monotonic()
    try:
        newbox.manager().Restore(dbus.types.UnixFd(fd), dbus.Dictionary({'Passphrase': PASSPHRASE}, signature='sv'),
                                 timeout=600)
    finally:
        os.close(fd)
    return time.monotonic() - t0  # the box restarts its daemon with the state now: left to the world's cleanup


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--peers', type=int, default=10000)
    ap.add_argument('--links', type=int, default=10)
    repeat.add_argument(ap, default=3)
    args = ap.parse_args()
    h.require_root()
    r = args.repeat

    with h.TempWorld(prefix='pic-bench-') as world:
        cells = LinkedCells(world, args.links)
        cells.build()
        cell = cells.cells[CELL]
        mgr = cell.manager()
        batch = dbus.Array([dbus.Dictionary({'Name': 'p%d' % i, 'PublicKey': base64.b64encode(os.urandom(32)).decode()},
                                            signature='sv') for i in range(args.peers)], signature='a{sv}')
        mgr.AddPeers(batch, timeout=600)

        enc = repeat.runs(r, lambda: backup(cell, Passphrase=PASSPHRASE))
        plain = repeat.runs(r, lambda: backup(cell, Unencrypted=True))
        archive = enc[-1][1]
        # the same files for tar: the plain archive's own, written out (tar copies what the backup holds)
        copy = world.subdir('state-copy')
        for name, data in plain_entries(plain[-1][1]):
            os.makedirs(os.path.dirname(os.path.join(copy, name)), exist_ok=True)
            with open(os.path.join(copy, name), 'wb') as f:
                f.write(data)
        subprocess.run(['sync'], check=True)
        tars = []

        def tar():
            t0 = time.monotonic()
            out = subprocess.run(['tar', '-C', copy, '-cf', '-', '.'], stdout=subprocess.PIPE, check=True).stdout
            tars.append(len(out))
            return time.monotonic() - t0
        tar_time = repeat.runs(r, tar)

        path = os.path.join(world.path, 'bench.backup')
        with open(path, 'wb') as f:
            f.write(archive)
        restores = repeat.runs(r, lambda: restore_replace(cells, path, args.peers, args.links))
        newbox = [restore_new_box(world, path, i) for i in range(r)]

    col = lambda runs, i: [x[i] for x in runs]  # noqa: E731
    print('\n## Backup and restore: a cell with %d peers and %d links (state on a fresh ext4)\n'
          % (args.peers, args.links))
    repeat.compare_table('what', 'pic-celld', 'tar -cf - of the state directory', [
        ('Backup, plain', col(plain, 0), tar_time),
        ('Backup, encrypted (Argon2id moderate)', col(enc, 0), tar_time),
        ('Restore, encrypted: to the reply', col(restores, 0), tar_time),
        ('Restore, encrypted, onto a new box (a fresh cell): to the reply', newbox, tar_time),
        ('Restore: to the restarted daemon serving every peer and link', col(restores, 1), tar_time),
        ('Restore: to every link "connected" again', col(restores, 2), tar_time),
    ])
    print()
    MIB, KIB_AS_MIB = ('%.1f MiB', 1 / 2**20), ('%.1f MiB', 1 / 1024)
    repeat.table(['what (%d runs each)' % r, 'size', 'pic-celld peak RSS growth: min / median / max'], [
        ('tar -cf - of the state directory', repeat.mmm(tars, MIB), ''),
        ('Backup, plain', repeat.mmm([len(x[1]) for x in plain], MIB), repeat.mmm(col(plain, 2), KIB_AS_MIB)),
        ('Backup, encrypted', repeat.mmm([len(x[1]) for x in enc], MIB), repeat.mmm(col(enc, 2), KIB_AS_MIB)),
    ])

if __name__ == '__main__':
    main()
