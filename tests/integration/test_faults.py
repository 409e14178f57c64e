#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Faults injected into a running pic-celld with libfiu (issue 13): fiu-run preloads
libfiu's POSIX wrappers, fiu-ctrl turns a failure point on for one call and off again.
A failing disk (ENOSPC or EIO on open, write or fsync of a state file) gives the
caller a named error, leaves every state file byte-identical and the daemon the same
process, and the next call works; so does the firewall's netlink failing (recv of its batch's
answers). polkit gone, hanging or slow: test_polkit."""

import errno
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402

MANAGER = 'org.pic.Cell1.Manager'
PEER = 'org.pic.Cell1.Peer'
ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers']
FIU_RUN, FIU_CTRL = shutil.which('fiu-run'), shutil.which('fiu-ctrl')


FIU_LIBS = '/usr/lib/fiu'    # where fiu-run finds its preloads


def fiu_wrapper(fifo):
    """What fiu-run -x -f FIFO does, but with an ASan build's runtime first in LD_PRELOAD (ASan
    must come first; fiu-run sets LD_PRELOAD to its own libraries only: the daemon crashed)."""
    daemon = os.path.join(h.build_dir(), 'src', 'daemon', 'pic-celld')
    asan = [line.split('=>')[1].split()[0] for line in h.run(['ldd', daemon]).stdout.splitlines()
            if 'libasan' in line and '=>' in line]
    preload = asan + [os.path.join(FIU_LIBS, 'fiu_run_preload.so'), os.path.join(FIU_LIBS, 'fiu_posix_preload.so')]
    return ['/usr/bin/env', 'FIU_CTRL_FIFO=' + fifo, 'FIU_ENABLE=', 'LD_PRELOAD=' + ' '.join(preload)]


def sv(d):
    return dbus.Dictionary(d, signature='sv')


def snapshot(directory):
    files = {}
    for d, _, names in os.walk(directory):
        for n in names:
            with open(os.path.join(d, n), 'rb') as f:
                files[os.path.relpath(os.path.join(d, n), directory)] = f.read()
    return files


class FaultTest(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        if not FIU_RUN or not FIU_CTRL:
            raise unittest_skip('fiu-run and fiu-ctrl (Debian fiu-utils) are needed')
        cls.fifo = os.path.join(cls.world.path, 'fiu-ctrl')
        cls.cell = h.Cell(world=cls.world, service_manager='bus', wrapper=fiu_wrapper(cls.fifo))
        cls.cell.polkit.set_allowed(ACTIONS)
        cls.cell.start()
        cls.cell.manager().Setup(sv({'Name': 'home', 'Domain': 'home.lan',
                                     'VpnAddress': '10.236.%d.1/24' % (os.getpid() % 200)}))
        cls.n = 0

    def fiu(self, command):
        h.run([FIU_CTRL, '-f', self.fifo, '-c', command, str(self.cell.pid())])

    def call_with_fault(self, point, err, call):
        """call() with the failure point on (errno err): its D-Bus error, the state unchanged."""
        before, pid = snapshot(self.cell.state_dir), self.cell.pid()
        self.fiu('enable name=%s,failinfo=%d' % (point, err))
        try:
            with self.assertRaises(dbus.DBusException) as e:
                call()
        finally:
            self.fiu('disable name=%s' % point)
        self.assertEqual(self.cell.pid(), pid, 'the daemon stays up')
        self.assertEqual(snapshot(self.cell.state_dir), before, 'nothing stored changed')
        return e.exception

    def next_name(self):
        type(self).n += 1
        return 'p%d' % self.n

    def test_state_writes_fail_by_name_and_change_nothing(self):
        mgr = self.cell.manager()
        # (libfiu wraps open() but not openat(), which every state write uses: no open case)
        cases = [('posix/io/rw/write', errno.ENOSPC, 'No space left on device'),
                 ('posix/io/sync/fsync', errno.EIO, 'Input/output error')]
        for point, err, words in cases:
            with self.subTest(point=point, call='AddPeer'):
                name = self.next_name()
                e = self.call_with_fault(point, err, lambda: mgr.AddPeer(name, sv({})))
                self.assertEqual(e.get_dbus_name(), 'org.pic.Cell1.Error.Failed', e.get_dbus_message())
                self.assertIn(words, e.get_dbus_message())
                self.assertNotIn(name, [str(p[PEER]['Name']) for p in self.cell.managed_objects().values()
                                        if PEER in p])
                self.assertNotIn(name, [p.get('allowed_ip') and p['public_key']
                                        for p in h.uapi_get(self.cell.uapi_socket)['peers']])
                mgr.AddPeer(name, sv({}))  # the next call works
            with self.subTest(point=point, call='Configure'):
                domain = 'd%d.lan' % self.n
                e = self.call_with_fault(point, err, lambda: mgr.Configure(sv({'Domain': domain})))
                self.assertEqual(e.get_dbus_name(), 'org.pic.Cell1.Error.Failed', e.get_dbus_message())
                self.assertIn(words, e.get_dbus_message())
                self.assertNotEqual(str(self.cell.properties(MANAGER)['Domain']), domain)
                mgr.Configure(sv({'Domain': domain}))
                self.assertEqual(str(self.cell.properties(MANAGER)['Domain']), domain)

    def test_peer_changes_fail_by_name(self):
        mgr = self.cell.manager()
        path = mgr.AddPeer(self.next_name(), sv({}))
        peer = self.cell.interface(PEER, path)
        for point, err in (('posix/io/rw/write', errno.ENOSPC), ('posix/io/sync/fsync', errno.EIO)):
            with self.subTest(point=point):
                e = self.call_with_fault(point, err, lambda: peer.SetEnabled(False))
                self.assertEqual(e.get_dbus_name(), 'org.pic.Cell1.Error.Failed', e.get_dbus_message())
                self.assertTrue(self.cell.properties(PEER, path)['Enabled'])
        # a removal whose directory cannot be synced: refused, and the peer's file is back (it was
        # gone while the peer stayed on the bus and in WireGuard: a restart would have lost it)
        e = self.call_with_fault('posix/io/sync/fsync', errno.EIO, lambda: peer.Remove())
        self.assertEqual(e.get_dbus_name(), 'org.pic.Cell1.Error.Failed', e.get_dbus_message())
        self.assertIn('Input/output error', e.get_dbus_message())
        self.assertIn(path, self.cell.managed_objects())
        self.assertEqual([n for n in os.listdir(os.path.join(self.cell.state_dir, 'peers')) if n.startswith('.')], [])
        peer.SetEnabled(False)
        self.assertFalse(self.cell.properties(PEER, path)['Enabled'])
        peer.Remove()
        self.assertNotIn(path, self.cell.managed_objects())


    def test_netlink_failures_fail_by_name(self):
        """The firewall's netlink failing under AddPeer (its batch's answers read with recv(); the bus
        uses sendmsg/recvmsg, left alone): a named error, no peer, nothing stored, the next call works."""
        mgr = self.cell.manager()
        for point, err in (('posix/io/net/recv', errno.EIO), ('posix/io/net/recv', errno.ENOBUFS)):
            with self.subTest(point=point, errno=err):
                name = self.next_name()
                e = self.call_with_fault(point, err, lambda: mgr.AddPeer(name, sv({})))
                self.assertEqual(e.get_dbus_name(), 'org.pic.Cell1.Error.Failed', e.get_dbus_message())
                self.assertIn(os.strerror(err), e.get_dbus_message())
                self.assertNotIn(name, [str(p[PEER]['Name']) for p in self.cell.managed_objects().values()
                                        if PEER in p])
                mgr.AddPeer(name, sv({}))
                self.assertIn(name, [str(p[PEER]['Name']) for p in self.cell.managed_objects().values() if PEER in p])


def unittest_skip(why):
    import unittest
    return unittest.SkipTest(why)


if __name__ == '__main__':
    h.main()
