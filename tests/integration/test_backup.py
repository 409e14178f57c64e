#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Manager.Backup and Manager.Restore on one cell, for real (its private bus run by a
systemd manager, which restarts the daemon to load a restored state): the archive
on a descriptor the caller passes, encrypted unless asked; every refusal by name
with the state files byte-identical and the daemon the same process; a restore
that puts the backed-up peers back, in the files, on the bus and in WireGuard.
Archives with chosen contents are made here in the plain format (archive.h), so the
checks behind the checksum are reached too."""

import hashlib
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from gateway_client import exit_wg_quick  # noqa: E402

MANAGER = 'org.pic.Cell1.Manager'
PEER_IFACE = 'org.pic.Cell1.Peer'
ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.backup',
           'org.pic.cell1.manage-exits']
PASSPHRASE = 'a long enough passphrase'


def plain_archive(entries, version=1):
    """A plain archive (archive.h) of (path, bytes) entries, in one chunk."""
    payload = b''.join(b'\1' + struct.pack('<H', len(p)) + p.encode() + struct.pack('<I', len(d)) + d
                       for p, d in entries) + b'\0'
    header = b'PICBACKUP' + bytes([version, 0, 0, 0])
    chunk = struct.pack('<I', 1 + len(payload)) + b'\1' + payload
    return header + chunk + hashlib.blake2b(header + chunk, digest_size=32).digest()


class BackupTest(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        cls.cell = h.Cell(world=cls.world)
        cls.cell.polkit.set_allowed(ACTIONS)
        cls.cell.start()
        cls.cell.manager().Setup(dbus.Dictionary({
            'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': '10.238.%d.1/24' % (os.getpid() % 200),
            'ListenPort': dbus.UInt16(51820)}, signature='sv'))
        for name in ('laptop', 'phone'):
            cls.cell.manager().AddPeer(name, dbus.Dictionary({}, signature='sv'))
        cls.archive = os.path.join(cls.world.path, 'home.backup')

    # ------------------------------------------------------------ helpers

    def manager(self):
        return self.cell.manager()

    def state_files(self):
        """Every file of the state directory and its contents (dot-names included: nothing may be left)."""
        files = {}
        for d, _, names in os.walk(self.cell.state_dir):
            for n in names:
                path = os.path.join(d, n)
                with open(path, 'rb') as f:
                    files[os.path.relpath(path, self.cell.state_dir)] = f.read()
        return files

    def backup(self, path, **options):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            return int(self.manager().Backup(dbus.types.UnixFd(fd), dbus.Dictionary(options, signature='sv'),
                                             timeout=120))
        finally:
            os.close(fd)

    def restore(self, data_or_path, **options):
        if isinstance(data_or_path, bytes):
            with tempfile.NamedTemporaryFile(dir=self.world.path, delete=False) as f:
                f.write(data_or_path)
            data_or_path = f.name
        fd = os.open(data_or_path, os.O_RDONLY)
        try:
            return str(self.manager().Restore(dbus.types.UnixFd(fd), dbus.Dictionary(options, signature='sv'),
                                              timeout=120))
        finally:
            os.close(fd)

    def assert_refused(self, call, name, words):
        before, pid = self.state_files(), self.cell.pid()
        with self.assertRaises(dbus.DBusException) as e:
            call()
        self.assertEqual(e.exception.get_dbus_name(), name, e.exception.get_dbus_message())
        self.assertIn(words, e.exception.get_dbus_message())
        self.assertNotIn(PASSPHRASE, e.exception.get_dbus_message())
        self.assertEqual(self.state_files(), before)
        self.assertEqual(self.cell.pid(), pid)
        return e.exception.get_dbus_message()

    def peer_names(self):
        return sorted(str(self.cell.properties(PEER_IFACE, p)['Name'])
                      for p, ifaces in self.cell.managed_objects().items() if PEER_IFACE in ifaces)

    # ------------------------------------------------------------ tests

    def test_1_backup_is_encrypted_and_changes_nothing(self):
        before = self.state_files()
        size = self.backup(self.archive, Passphrase=PASSPHRASE)
        self.assertEqual(size, os.path.getsize(self.archive))
        with open(self.archive, 'rb') as f:
            data = f.read()
        self.assertTrue(data.startswith(b'PICBACKUP\1\1'))
        for secret in (b'laptop', b'private_key', b'home.lan'):
            self.assertNotIn(secret, data)
        self.assertEqual(self.state_files(), before)  # no snapshot left, nothing changed

        plain = os.path.join(self.world.path, 'plain.backup')
        self.backup(plain, Unencrypted=True)
        with open(plain, 'rb') as f:
            self.assertIn(b'"laptop"', f.read())

    def test_2_backup_refusals(self):
        target = os.path.join(self.world.path, 'refused.backup')
        self.assert_refused(lambda: self.backup(target), 'org.freedesktop.DBus.Error.InvalidArgs', 'Passphrase')
        self.assert_refused(lambda: self.backup(target, Passphrase='short'), 'org.freedesktop.DBus.Error.InvalidArgs',
                            '8 to 1024')
        self.assert_refused(lambda: self.backup(target, Passphrase=PASSPHRASE, Unencrypted=True),
                            'org.freedesktop.DBus.Error.InvalidArgs', 'not both')
        fd = os.open(self.archive, os.O_RDONLY)
        try:
            self.assert_refused(lambda: self.manager().Backup(dbus.types.UnixFd(fd), dbus.Dictionary(
                {'Passphrase': PASSPHRASE}, signature='sv')), 'org.freedesktop.DBus.Error.InvalidArgs', 'fd')
        finally:
            os.close(fd)
        self.cell.polkit.set_allowed([a for a in ACTIONS if a != 'org.pic.cell1.backup'])
        try:
            self.assert_refused(lambda: self.backup(target, Passphrase=PASSPHRASE),
                                'org.freedesktop.DBus.Error.AccessDenied', '')
        finally:
            self.cell.polkit.set_allowed(ACTIONS)
        self.assertEqual(os.path.getsize(target), 0)

        # a reader that goes away: an error, and the daemon lives on
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            self.assert_refused(lambda: self.manager().Backup(dbus.types.UnixFd(write_end), dbus.Dictionary(
                {'Passphrase': PASSPHRASE}, signature='sv'), timeout=120), 'org.pic.Cell1.Error.Failed',
                'receiving end was closed')
        finally:
            os.close(write_end)

    def test_3_restore_refusals_leave_the_cell_as_it_is(self):
        with open(self.archive, 'rb') as f:
            good = f.read()
        self.assert_refused(lambda: self.restore(good, Passphrase=PASSPHRASE), 'org.pic.Cell1.Error.Conflict',
                            'Replace=true')
        self.assert_refused(lambda: self.restore(good, Passphrase='not the passphrase', Replace=True),
                            'org.freedesktop.DBus.Error.InvalidArgs', 'passphrase is wrong')
        self.assert_refused(lambda: self.restore(good, Replace=True), 'org.freedesktop.DBus.Error.InvalidArgs',
                            'passphrase is needed')
        # a small archive is one chunk: an altered byte there reads like a wrong passphrase, and says so
        flipped = bytearray(good)
        flipped[len(good) // 2] ^= 1
        self.assert_refused(lambda: self.restore(bytes(flipped), Passphrase=PASSPHRASE, Replace=True),
                            'org.freedesktop.DBus.Error.InvalidArgs', 'altered')
        flipped = bytearray(plain_archive([('cell.json', b'{"schema":1}')]))
        flipped[36] ^= 1  # in cell.json's text: the checksum, not the parser, has the last word
        self.assert_refused(lambda: self.restore(bytes(flipped), Replace=True), 'org.pic.Cell1.Error.InvalidBackup',
                            'altered')
        self.assert_refused(lambda: self.restore(good[:-30], Passphrase=PASSPHRASE, Replace=True),
                            'org.pic.Cell1.Error.InvalidBackup', 'truncated')
        newer = bytearray(good)
        newer[9] = 2
        self.assert_refused(lambda: self.restore(bytes(newer), Passphrase=PASSPHRASE, Replace=True),
                            'org.pic.Cell1.Error.InvalidBackup', 'newer PIC')

        # past the checksum: what the files say
        with open(os.path.join(self.cell.state_dir, 'cell.json'), 'rb') as f:
            cell = f.read()
        with open(os.path.join(self.cell.state_dir, 'peers', 'laptop.json'), 'rb') as f:
            laptop = f.read()
        for entries, words in (
                ([('cell.json', cell), ('etc/passwd', b'root')], 'no part of a cell'),
                ([('cell.json', cell), ('peers/phone.json', laptop)], 'holds peer laptop'),
                ([('cell.json', b'{"schema":1,')], 'cell.json does not load'),
                ([('peers/laptop.json', laptop)], 'no cell.json'),
                ([('cell.json', cell), ('peers/x.json', b'{\0}')], 'not text'),
                ([('cell.json', cell), ('peers/laptop.json', laptop), ('peers/laptop.json', laptop)],
                 'holds peers/laptop.json twice'),
        ):
            self.assert_refused(lambda: self.restore(plain_archive(entries), Replace=True),
                                'org.pic.Cell1.Error.InvalidBackup', words)
        leftovers = [n for n in os.listdir(self.cell.state_dir) if n.startswith('.')]
        self.assertEqual(leftovers, [])

    def test_4_restore_puts_the_backup_back(self):
        peers_then = self.peer_names()
        keys_then = sorted(p['public_key'] for p in h.uapi_get(self.cell.uapi_socket)['peers'])
        # the cell moves on: a peer removed, one added
        path = [p for p, i in self.cell.managed_objects().items() if PEER_IFACE in i
                and str(self.cell.properties(PEER_IFACE, p)['Name']) == 'phone'][0]
        self.cell.interface(PEER_IFACE, path).Remove()
        self.manager().AddPeer('tablet', dbus.Dictionary({}, signature='sv'))
        self.assertEqual(self.peer_names(), ['laptop', 'tablet'])
        # and gains an exit, its program running in a unit (the backup has no exit)
        self.manager().AddExit('vpn', 'wireguard', dbus.Dictionary({
            'Config': exit_wg_quick(h.wg_genkey()[0], h.wg_genkey()[1])}, signature='sv'))
        unit_state = lambda: self.cell.bus.unit_property('pic-exit-vpn.service', 'ActiveState')  # noqa: E731
        h.wait_for(lambda: unit_state() == 'active', 15, 0.1, 'the exit unit running')
        pid = self.cell.pid()

        self.assertEqual(self.restore(self.archive, Passphrase=PASSPHRASE, Replace=True), 'home')
        # the service manager restarts the daemon, which loads what was restored
        h.wait_for(lambda: self.cell.bus.has_owner('org.pic.Cell1') and self.cell.pid() != pid, 30, 0.1,
                   'pic-celld back with the restored state')
        h.wait_for(lambda: len(h.uapi_get(self.cell.uapi_socket)['peers']) == 2, 15, 0.1, 'WireGuard follows')
        self.assertEqual(self.peer_names(), peers_then)
        self.assertEqual(sorted(p['public_key'] for p in h.uapi_get(self.cell.uapi_socket)['peers']), keys_then)
        # the exit the restore replaced: gone from the bus, its unit stopped
        self.assertFalse([p for p, i in self.cell.managed_objects().items() if 'org.pic.Cell1.Exit' in i])
        h.wait_for(lambda: unit_state() in ('inactive', 'failed'), 15, 0.1,
                   'the replaced exit\'s unit stopped (%s)' % unit_state())
        self.assertFalse(os.path.exists(os.path.join(self.cell.state_dir, 'peers', 'tablet.json')))
        leftovers = [n for n in os.listdir(self.cell.state_dir) if n.startswith('.') and n != '.backup-snapshot']
        self.assertEqual(leftovers, [])
        # and it works as before
        self.manager().AddPeer('tablet', dbus.Dictionary({}, signature='sv'))
        self.assertEqual(self.peer_names(), ['laptop', 'phone', 'tablet'])


if __name__ == '__main__':
    h.main()
