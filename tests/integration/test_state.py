#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The state directory: a failed write changes nothing and leaves no debris, a
restart gives back exactly what was there, and files the daemon cannot use are
skipped and left alone."""

import contextlib
import errno
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402

ALL_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets']
MANAGER = 'org.pic.Cell1.Manager'
PEER = 'org.pic.Cell1.Peer'
FAILED = 'org.pic.Cell1.Error.Failed'
LIVE_PROPERTIES = ('LatestHandshake', 'RxBytes', 'TxBytes', 'Endpoint')


def settings(**kw):
    return dbus.Dictionary(kw, signature='sv')


def snapshot(root):
    """Every file under root: {relative path: bytes}."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            path = os.path.join(d, f)
            with open(path, 'rb') as fh:
                out[os.path.relpath(path, root)] = fh.read()
    return out


def without_live(objects):
    """GetManagedObjects minus the counters WireGuard refreshes on its own."""
    out = {}
    for path, ifaces in objects.items():
        out[str(path)] = {str(i): {str(k): v for k, v in props.items() if k not in LIVE_PROPERTIES}
                          for i, props in ifaces.items()}
    return out


def error_name(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except dbus.DBusException as e:
        return e.get_dbus_name()
    return None


class StateTest(h.HarnessTestCase):
    def make_cell(self, state_tmpfs=None):
        if state_tmpfs:
            # mounted before the cell's service manager starts: mounts made after it are not
            # seen in its mount namespace (nor in the unit's) where / is not a shared mount
            self.mount_tmpfs(self.world.subdir('cell-state', 0o700), state_tmpfs)
        self.cell = h.Cell(world=self.world)
        self.cell.polkit.set_allowed(ALL_ACTIONS)
        self.cell.start()
        return self.cell

    def setup_cell(self):
        self.cell.manager().Setup(settings(Name='home', Domain='home.lan', VpnAddress='10.78.0.1/24',
                                           ListenPort=dbus.UInt16(51820)))

    def peer(self, path):
        return self.cell.interface(PEER, path)

    def mount_tmpfs(self, path, size):
        h.run(['mount', '-t', 'tmpfs', '-o', 'size=%s,mode=0700' % size, 'pic-it-state', path])

        def unmount():
            # the daemon keeps the directory open: stop it first
            with contextlib.suppress(Exception):
                self.cell.stop()
            if h.run(['umount', path], check=False).returncode != 0:
                h.run(['umount', '--lazy', path], check=False)
        self.world.add_cleanup(unmount)

    def test_full_disk_fails_cleanly(self):
        cell = self.make_cell(state_tmpfs='256k')
        self.setup_cell()
        path = cell.manager().AddPeer('laptop', settings())

        filler = os.path.join(cell.state_dir, 'filler')
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with self.assertRaises(OSError) as e:
                while True:
                    os.write(fd, b'\0' * 4096)
            self.assertEqual(e.exception.errno, errno.ENOSPC)
            with self.assertRaises(OSError):  # not even a byte fits
                os.write(fd, b'\0')
        finally:
            os.close(fd)
        cell.wait_dns_settled()  # dnsmasq follows AddPeer on its own schedule
        files = snapshot(cell.state_dir)
        objects = cell.managed_objects()
        props = cell.properties(MANAGER)
        uapi = h.uapi_get(cell.uapi_socket)

        attempts = (('AddPeer', lambda: cell.manager().AddPeer('phone', settings())),
                    ('Update', lambda: self.peer(path).Update(settings(PersistentKeepalive=dbus.UInt16(25)))),
                    ('Configure', lambda: cell.manager().Configure(settings(Name='other'))),
                    ('Configure port', lambda: cell.manager().Configure(settings(ListenPort=dbus.UInt16(51999)))),
                    ('SetEnabled', lambda: self.peer(path).SetEnabled(False)),
                    ('RotateKeys', lambda: self.peer(path).RotateKeys()))
        for method, call in attempts:
            with self.subTest(method=method):
                self.assertEqual(error_name(call), FAILED)
                self.assertEqual(snapshot(cell.state_dir), files)
                self.assertEqual([f for f in files if os.path.basename(f).startswith('.#')], [])
        self.assertEqual(cell.managed_objects(), objects)
        self.assertEqual(cell.properties(MANAGER), props)
        self.assertEqual(h.uapi_get(cell.uapi_socket), uapi)
        self.assertTrue(cell.bus.has_owner(h.CELL_BUS_NAME))

        os.unlink(filler)
        new = cell.manager().AddPeer('phone', settings())
        self.assertEqual(cell.properties(PEER, new)['Name'], 'phone')
        self.assertIn(os.path.join('peers', 'phone.json'), snapshot(cell.state_dir))
        self.assertEqual(len(h.uapi_get(cell.uapi_socket)['peers']), 2)

    def test_restart_gives_back_everything(self):
        cell = self.make_cell()
        self.setup_cell()
        mgr = cell.manager()
        paths = [mgr.AddPeer(name, settings(ServiceAccess=dbus.Array(['dns', 'files'], signature='s')))
                 for name in ('laptop', 'phone', 'tablet')]
        self.peer(paths[0]).Update(settings(PersistentKeepalive=dbus.UInt16(25), PresharedKey=True))
        self.peer(paths[1]).SetEnabled(False)
        self.peer(paths[2]).RotateKeys()
        mgr.Configure(settings(Name='cell2', Domain='example.lan', Endpoint='cell.example.org:51820',
                               ListenPort=dbus.UInt16(51999)))

        cell.wait_dns_settled()  # dnsmasq follows on its own schedule
        objects = without_live(cell.managed_objects())
        props = cell.properties(MANAGER)
        self.assertEqual(len(objects), 3)
        self.assertEqual(dict(props['PendingChanges']), {'ListenPort': 51999})
        files = snapshot(cell.state_dir)
        configs = [str(self.peer(p).GetConfig()) for p in paths]
        old_pid = cell.pid()

        cell.restart()
        self.assertNotEqual(cell.pid(), old_pid)
        cell.wait_dns_settled()
        self.assertEqual(snapshot(cell.state_dir), files)
        self.assertEqual(without_live(cell.managed_objects()), objects)
        self.assertEqual(cell.properties(MANAGER), props)
        self.assertEqual([str(self.peer(p).GetConfig()) for p in paths], configs)
        self.assertEqual(snapshot(cell.state_dir), files)

    def test_apply_cut_short_is_finished_at_start(self):
        """A crash after some peer files moved to the new subnet but before cell.json
        was stored: the next start completes the Apply instead of losing peers."""
        cell = self.make_cell()
        self.setup_cell()
        mgr = cell.manager()
        for name in ('laptop', 'phone', 'tablet'):
            mgr.AddPeer(name, settings())
        mgr.Configure(settings(VpnAddress='10.79.0.1/24'))
        cell.stop()

        # what the interrupted Apply left: one peer moved, the cell still pending
        path = os.path.join(cell.state_dir, 'peers', 'phone.json')
        with open(path) as f:
            record = json.load(f)
        self.assertEqual(record['address'], '10.78.0.3')
        record['address'] = '10.79.0.3'
        with open(path, 'w') as f:
            json.dump(record, f)

        cell.start()
        props = cell.properties(MANAGER)
        self.assertEqual(str(props['VpnAddress']), '10.79.0.1/24')
        self.assertEqual(dict(props['PendingChanges']), {})
        addresses = sorted(str(ifaces[PEER]['Address']) for ifaces in cell.managed_objects().values())
        self.assertEqual(addresses, ['10.79.0.2', '10.79.0.3', '10.79.0.4'])
        live = sorted(a for p in h.uapi_get(cell.uapi_socket)['peers'] for a in p['allowed_ip'])
        self.assertEqual(live, ['10.79.0.2/32', '10.79.0.3/32', '10.79.0.4/32'])
        with open(os.path.join(cell.state_dir, 'cell.json')) as f:
            self.assertEqual(json.load(f)['vpn_address'], '10.79.0.1/24')

    def test_unusable_peer_files_are_skipped_and_kept(self):
        cell = self.make_cell()
        self.setup_cell()
        cell.manager().AddPeer('laptop', settings())
        cell.manager().AddPeer('phone', settings())
        cell.stop()

        peers = os.path.join(cell.state_dir, 'peers')
        with open(os.path.join(peers, 'phone.json')) as f:
            future = json.load(f)
        future.update(schema=99, name='future', address='10.78.0.50')
        unusable = {
            'broken.json': b'{"schema": 1, "name": "broken", "public_key": \x00\xff not json',
            'future.json': json.dumps(future, indent=8).encode(),
        }
        for name, data in unusable.items():
            with open(os.path.join(peers, name), 'wb') as f:
                f.write(data)
            os.chmod(os.path.join(peers, name), 0o600)
        files = snapshot(cell.state_dir)

        cell.start()
        names = sorted(str(ifaces[PEER]['Name']) for ifaces in cell.managed_objects().values())
        self.assertEqual(names, ['laptop', 'phone'])
        self.assertEqual(cell.properties(MANAGER)['PeerCount'], 2)
        self.assertEqual(len(h.uapi_get(cell.uapi_socket)['peers']), 2)
        self.assertEqual(snapshot(cell.state_dir), files)

        # the daemon goes on working around them, and still leaves them alone,
        # even when asked for a new peer of the same name
        cell.manager().AddPeer('tablet', settings())
        for name in ('broken', 'future'):
            self.assertEqual(error_name(cell.manager().AddPeer, name, settings()), 'org.pic.Cell1.Error.Conflict')
        after = snapshot(cell.state_dir)
        for name, data in unusable.items():
            self.assertEqual(after[os.path.join('peers', name)], data)


if __name__ == '__main__':
    h.main()
