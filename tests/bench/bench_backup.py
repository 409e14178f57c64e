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

Usage: bench_backup.py [--peers N] [--links L]   (needs root; prints tables)
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--peers', type=int, default=10000)
    ap.add_argument('--links', type=int, default=10)
    args = ap.parse_args()
    h.require_root()

    with h.TempWorld(prefix='pic-bench-') as world:
        cells = LinkedCells(world, args.links)
        cells.build()
        cell = cells.cells[CELL]
        mgr = cell.manager()
        batch = dbus.Array([dbus.Dictionary({'Name': 'p%d' % i, 'PublicKey': base64.b64encode(os.urandom(32)).decode()},
                                            signature='sv') for i in range(args.peers)], signature='a{sv}')
        mgr.AddPeers(batch, timeout=600)

        enc_time, archive, enc_mem = backup(cell, Passphrase=PASSPHRASE)
        plain_time, plain, plain_mem = backup(cell, Unencrypted=True)
        # the same files for tar (the state's file system is mounted where only the daemon sees it)
        copy = world.subdir('state-copy')
        for name, data in plain_entries(plain):
            os.makedirs(os.path.dirname(os.path.join(copy, name)), exist_ok=True)
            with open(os.path.join(copy, name), 'wb') as f:
                f.write(data)
        subprocess.run(['sync'], check=True)
        t0 = time.monotonic()
        tar = subprocess.run(['tar', '-C', copy, '-cf', '-', '.'], stdout=subprocess.PIPE, check=True).stdout
        tar_time = time.monotonic() - t0

        path = os.path.join(world.path, 'bench.backup')
        with open(path, 'wb') as f:
            f.write(archive)
        pid = cell.pid()
        fd = os.open(path, os.O_RDONLY)
        t0 = time.monotonic()
        try:
            mgr.Restore(dbus.types.UnixFd(fd), dbus.Dictionary({'Passphrase': PASSPHRASE, 'Replace': True},
                                                               signature='sv'), timeout=600)
        finally:
            os.close(fd)
        restore_reply = time.monotonic() - t0
        h.wait_for(lambda: cell.bus.has_owner(h.CELL_BUS_NAME) and cell.pid() != pid, 300, 0.05,
                   'pic-celld back with the restored state')
        h.wait_for(lambda: len(h.uapi_get(cell.uapi_socket)['peers']) >= args.peers + args.links, 300, 0.05,
                   'every peer and link in WireGuard again')
        restore_serving = time.monotonic() - t0
        cells.wait_connected(300)
        restore_linked = time.monotonic() - t0
        assert len(h.uapi_get(cell.uapi_socket)['peers']) == args.peers + args.links

        # the same archive onto a new box: a fresh cell, nothing of the old state on its disk
        newbox = h.Cell(world=world, name='newbox', extra_args=['--stats-interval=3600', '--log-level=warning'])
        put_state_on_fresh_ext4(world, newbox, 'newbox-fs')
        newbox.polkit.set_allowed(ACTIONS)
        newbox.start()
        fd = os.open(path, os.O_RDONLY)
        t0 = time.monotonic()
        try:
            newbox.manager().Restore(dbus.types.UnixFd(fd), dbus.Dictionary({'Passphrase': PASSPHRASE},
                                                                             signature='sv'), timeout=600)
        finally:
            os.close(fd)
        newbox_reply = time.monotonic() - t0

    print('\n## Backup and restore: a cell with %d peers and %d links (state on a fresh ext4)\n'
          % (args.peers, args.links))
    print('| what | seconds | ratio to tar | archive MiB | pic-celld peak RSS growth (MiB) |')
    print('|---|---:|---:|---:|---:|')
    print('| tar -cf - of the state directory (baseline) | %.2f | 1.00 | %.1f | |' % (tar_time, len(tar) / 2**20))
    for name, took, data, mem in (('Backup, plain', plain_time, plain, plain_mem),
                                  ('Backup, encrypted (Argon2id moderate)', enc_time, archive, enc_mem)):
        print('| %s | %.2f | %.1f | %.1f | %.1f |' % (name, took, took / tar_time, len(data) / 2**20, mem / 1024))
    print('| Restore, encrypted: to the reply | %.2f | %.1f | | |' % (restore_reply, restore_reply / tar_time))
    print('| Restore, encrypted, onto a new box (a fresh cell): to the reply | %.2f | %.1f | | |'
          % (newbox_reply, newbox_reply / tar_time))
    print('| Restore: to the restarted daemon serving every peer and link | %.2f | %.1f | | |'
          % (restore_serving, restore_serving / tar_time))
    print('| Restore: to every link "connected" again | %.2f | %.1f | | |' % (restore_linked, restore_linked / tar_time))


if __name__ == '__main__':
    main()
