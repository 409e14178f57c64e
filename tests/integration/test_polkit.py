#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Authorization: every mutating call and every secret goes through polkit with
the caller's bus name as subject, and a refused, absent, hanging or slow polkit
never changes anything nor blocks the daemon."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402

CONFIGURE = 'org.pic.cell1.configure'
MANAGE_PEERS = 'org.pic.cell1.manage-peers'
READ_SECRETS = 'org.pic.cell1.read-secrets'
ALL_ACTIONS = [CONFIGURE, MANAGE_PEERS, READ_SECRETS]
ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied'
MANAGER = 'org.pic.Cell1.Manager'
PEER = 'org.pic.Cell1.Peer'


def settings(**kw):
    return dbus.Dictionary(kw, signature='sv')


def setup_settings(n=0):
    return settings(Name='home', Domain='home.lan', VpnAddress='10.77.%d.1/24' % n,
                    ListenPort=dbus.UInt16(51820), Endpoint='cell.example.org:51820')


def snapshot(root):
    """Every file under root: {relative path: bytes}."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            path = os.path.join(d, f)
            with open(path, 'rb') as fh:
                out[os.path.relpath(path, root)] = fh.read()
    return out


def error_name(fn, *args, **kwargs):
    """The D-Bus error name fn raised, or None when it succeeded."""
    try:
        fn(*args, **kwargs)
    except dbus.DBusException as e:
        return e.get_dbus_name()
    return None


# A bus client run as another user: prints the error name of each call (or OK).
NOBODY_CLIENT = r'''
import sys, dbus
conn = dbus.bus.BusConnection(sys.argv[1])
def obj(path):
    return conn.get_object('org.pic.Cell1', path, introspect=False)
def attempt(what, fn):
    try:
        fn()
        print(what, 'OK')
    except dbus.DBusException as e:
        print(what, e.get_dbus_name())
mgr = dbus.Interface(obj('/org/pic/Cell1'), 'org.pic.Cell1.Manager')
peer = dbus.Interface(obj(sys.argv[2]), 'org.pic.Cell1.Peer')
props = dbus.Interface(obj('/org/pic/Cell1'), 'org.freedesktop.DBus.Properties')
attempt('GetAll', lambda: props.GetAll('org.pic.Cell1.Manager'))
attempt('AddPeer', lambda: mgr.AddPeer('intruder', dbus.Dictionary({}, signature='sv')))
attempt('Configure', lambda: mgr.Configure(dbus.Dictionary({'Name': 'owned'}, signature='sv')))
attempt('RotateKeys', lambda: peer.RotateKeys())
attempt('GetConfig', lambda: peer.GetConfig())
attempt('GetFirewall', lambda: mgr.GetFirewall())
'''


class PolkitTest(h.HarnessTestCase):
    def start_cell(self, polkit='mock', extra_args=()):
        self.cell = h.Cell(world=self.world, polkit=polkit, extra_args=list(extra_args))
        self.cell.start()
        return self.cell

    def peer(self, path, conn=None):
        conn = conn or self.cell.bus.connection()
        return dbus.Interface(conn.get_object(h.CELL_BUS_NAME, path, introspect=False), PEER)

    def manager(self, conn):
        return dbus.Interface(conn.get_object(h.CELL_BUS_NAME, h.CELL_PATH, introspect=False), MANAGER)

    def test_denied_calls_change_nothing_and_ask_about_the_caller(self):
        cell = self.start_cell()
        mgr = cell.manager()
        me = cell.bus.connection().get_unique_name()

        # before setup: a refused Setup leaves no cell behind
        self.assertEqual(error_name(mgr.Setup, setup_settings()), ACCESS_DENIED)
        self.assertFalse(cell.properties(MANAGER)['SetupComplete'])
        self.assertNotIn('cell.json', snapshot(cell.state_dir))

        cell.polkit.set_allowed([CONFIGURE])
        mgr.Setup(setup_settings())
        cell.polkit.set_allowed([CONFIGURE, MANAGE_PEERS])
        path = mgr.AddPeer('laptop', settings(ServiceAccess=dbus.Array(['dns'], signature='s')))
        cell.polkit.set_allowed([])
        cell.polkit.clear_calls()

        files = snapshot(cell.state_dir)
        self.assertIn('cell.json', files)
        self.assertIn(os.path.join('peers', 'laptop.json'), files)
        uapi = h.uapi_get(cell.uapi_socket)
        objects = cell.managed_objects()
        peer = self.peer(path)

        attempts = [
            ('Configure', CONFIGURE, lambda: mgr.Configure(settings(Name='other', ListenPort=dbus.UInt16(51999)))),
            ('Apply', CONFIGURE, lambda: mgr.Apply()),
            ('DiscardPending', CONFIGURE, lambda: mgr.DiscardPending()),
            ('AddPeer', MANAGE_PEERS, lambda: mgr.AddPeer('phone', settings())),
            ('Update', MANAGE_PEERS, lambda: peer.Update(settings(PersistentKeepalive=dbus.UInt16(25)))),
            ('RotateKeys', MANAGE_PEERS, lambda: peer.RotateKeys()),
            ('SetEnabled', MANAGE_PEERS, lambda: peer.SetEnabled(False)),
            ('Remove', MANAGE_PEERS, lambda: peer.Remove()),
            ('GetConfig', READ_SECRETS, lambda: peer.GetConfig()),
            ('SetLoginPassword', MANAGE_PEERS, lambda: peer.SetLoginPassword()),
            ('SetAdminPassword', CONFIGURE, lambda: mgr.SetAdminPassword('', 'a new password')),
            ('Authenticate', 'org.pic.cell1.authenticate', lambda: mgr.Authenticate('admin', 'a password')),
        ]
        for method, action, call in attempts:
            with self.subTest(method=method):
                before = len(cell.polkit.calls())
                self.assertEqual(error_name(call), ACCESS_DENIED)
                calls = cell.polkit.calls()[before:]
                self.assertEqual(calls, [('system-bus-name', {'name': me}, action)])
                self.assertEqual(snapshot(cell.state_dir), files)
                self.assertEqual(h.uapi_get(cell.uapi_socket), uapi)

        # a set-up cell refuses a second Setup as a Conflict, before asking anyone; still nothing changes
        before = len(cell.polkit.calls())
        self.assertEqual(error_name(mgr.Setup, setup_settings(1)), 'org.pic.Cell1.Error.Conflict')
        self.assertEqual(cell.polkit.calls()[before:], [], 'no polkit query for a Setup refused as a Conflict')
        self.assertEqual(snapshot(cell.state_dir), files)
        self.assertEqual(cell.managed_objects(), objects)
        self.assertEqual(h.uapi_get(cell.uapi_socket), uapi)
        self.assertTrue(all(kind == 'system-bus-name' for kind, _, _ in cell.polkit.calls()))

    def test_polkit_absent_denies_but_reads_work(self):
        cell = self.start_cell(polkit=None)
        mgr = cell.manager()
        self.assertEqual(error_name(mgr.Setup, setup_settings()), ACCESS_DENIED)
        props = cell.properties(MANAGER)
        self.assertFalse(props['SetupComplete'])
        self.assertEqual(cell.managed_objects(), {})
        self.assertEqual(cell.picctl('status').returncode, 0)
        # without a cell the other methods ask for Setup first; after setup see the next test
        self.assertEqual(error_name(mgr.AddPeer, 'laptop', settings()), 'org.pic.Cell1.Error.SetupRequired')
        self.assertEqual(set(snapshot(cell.state_dir)), {'setup-code'})  # only what the daemon made at start

    def test_polkit_gone_after_setup_denies_everything(self):
        cell = self.start_cell()
        cell.polkit.set_allowed(ALL_ACTIONS)
        mgr = cell.manager()
        mgr.Setup(setup_settings())
        path = mgr.AddPeer('laptop', settings())
        cell.polkit.stop()
        files = snapshot(cell.state_dir)
        objects = cell.managed_objects()
        peer = self.peer(path)
        for method, call in (('Configure', lambda: mgr.Configure(settings(Name='other'))),
                             ('Apply', mgr.Apply), ('DiscardPending', mgr.DiscardPending),
                             ('AddPeer', lambda: mgr.AddPeer('phone', settings())),
                             ('Update', lambda: peer.Update(settings(PersistentKeepalive=dbus.UInt16(5)))),
                             ('RotateKeys', peer.RotateKeys), ('SetEnabled', lambda: peer.SetEnabled(False)),
                             ('Remove', peer.Remove), ('GetConfig', peer.GetConfig),
                             ('SetLoginPassword', peer.SetLoginPassword),
                             ('SetAdminPassword', lambda: mgr.SetAdminPassword('', 'a new password'))):
            with self.subTest(method=method):
                self.assertEqual(error_name(call), ACCESS_DENIED)
        self.assertEqual(snapshot(cell.state_dir), files)
        self.assertEqual(cell.managed_objects(), objects)
        self.assertEqual(cell.properties(MANAGER)['Name'], 'home')

    def test_hanging_polkit_times_out_and_daemon_stays_responsive(self):
        cell = self.start_cell(extra_args=['--polkit-timeout=1'])
        cell.polkit.set_allowed(ALL_ACTIONS)
        cell.polkit.hang(True)
        result = {}

        def call_setup():
            conn = cell.bus.new_connection()
            t0 = time.monotonic()
            result['error'] = error_name(self.manager(conn).Setup, setup_settings(), timeout=30)
            result['elapsed'] = time.monotonic() - t0
            conn.close()

        t = threading.Thread(target=call_setup)
        t.start()
        try:
            # the check is pending: the daemon still answers others, and quickly
            h.wait_for(lambda: any(a == CONFIGURE for _, _, a in cell.polkit.calls()), 5, 0.02, 'pending check')
            # answered while Setup still waits (the claim); the bound is only generous against a hang
            for _ in range(3):
                t0 = time.monotonic()
                props = cell.properties(MANAGER)
                self.assertLess(time.monotonic() - t0, 5)
                self.assertFalse(props['SetupComplete'])
                self.assertTrue(t.is_alive())
        finally:
            t.join(30)
        self.assertEqual(result.get('error'), ACCESS_DENIED)
        self.assertGreaterEqual(result['elapsed'], 0.9)  # not before the 1 s timeout
        self.assertLess(result['elapsed'], 25)            # well before the caller's own 30 s
        self.assertEqual(set(snapshot(cell.state_dir)), {'setup-code'})  # only what the daemon made at start

        # the late answer to the abandoned check is ignored; a working polkit works again
        cell.polkit.release_hanging()
        cell.polkit.hang(False)
        self.assertFalse(cell.properties(MANAGER)['SetupComplete'])
        cell.manager().Setup(setup_settings())
        self.assertTrue(cell.properties(MANAGER)['SetupComplete'])

    def test_slow_polkit_answers_each_caller(self):
        cell = self.start_cell()
        cell.polkit.set_allowed([CONFIGURE, MANAGE_PEERS])
        cell.polkit.set_delay(0.5)
        t0 = time.monotonic()
        cell.manager().Setup(setup_settings())
        self.assertGreaterEqual(time.monotonic() - t0, 0.45)
        self.assertTrue(cell.properties(MANAGER)['SetupComplete'])
        secret_path = cell.manager().AddPeer('secret', settings())

        # concurrent calls from separate connections: allowed ones succeed, GetConfig is refused
        names = ['alpha', 'bravo', 'charlie']
        results = {}

        def add(name, key=None):
            conn = cell.bus.new_connection()
            try:
                results[key or name] = ('ok', str(self.manager(conn).AddPeer(name, settings(), timeout=30)))
            except dbus.DBusException as e:
                results[key or name] = ('error', e.get_dbus_name())
            conn.close()

        def get_config():
            conn = cell.bus.new_connection()
            results['config'] = ('error', error_name(self.peer(secret_path, conn).GetConfig, timeout=30))
            conn.close()

        threads = [threading.Thread(target=add, args=(n,)) for n in names]
        threads.append(threading.Thread(target=get_config))
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for name in names:
            self.assertEqual(results[name], ('ok', '/org/pic/Cell1/peer/' + name))
            self.assertEqual(self.peer_props(results[name][1])['Name'], name)
        self.assertEqual(results['config'], ('error', ACCESS_DENIED))
        self.assertEqual(cell.properties(MANAGER)['PeerCount'], 4)
        # every check named its own caller, and there was one per call
        subjects = [s['name'] for _, s, _ in cell.polkit.calls()]
        self.assertEqual(len(set(subjects[-4:])), 4)

        # two callers racing for one name: both are authorized, only the first gets it
        results.clear()
        threads = [threading.Thread(target=add, args=('dup', i)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(sorted(results.values()), [('error', 'org.pic.Cell1.Error.Conflict'),
                                                    ('ok', '/org/pic/Cell1/peer/dup')])
        self.assertEqual(cell.properties(MANAGER)['PeerCount'], 5)

    def peer_props(self, path):
        return self.cell.properties(PEER, path)

    def test_real_polkit_root_allowed_nobody_refused(self):
        cell = self.start_cell(polkit='real')
        mgr = cell.manager()
        mgr.Setup(setup_settings())
        path = mgr.AddPeer('laptop', settings())
        files = snapshot(cell.state_dir)
        objects = cell.managed_objects()

        for args in (('peer', 'add', 'intruder'), ('--no-ask-password', 'peer', 'add', 'intruder'),
                     ('configure', '--name', 'owned'), ('peer', 'remove', 'laptop'),
                     ('peer', 'config', 'laptop'), ('firewall', '--ruleset')):
            with self.subTest(picctl=args):
                p = cell.picctl(*args, as_nobody=True)
                self.assertEqual(p.returncode, 1, p.stderr)
                lines = p.stderr.splitlines()
                self.assertEqual(len(lines), 1, p.stderr)
                self.assertTrue(lines[0].startswith('picctl: '), p.stderr)
                self.assertIn('ccess denied', lines[0])

        p = h.run_as_nobody([h.PYTHON, '-c', NOBODY_CLIENT, cell.bus.address, str(path)])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines(), ['GetAll OK', 'AddPeer ' + ACCESS_DENIED,
                                                 'Configure ' + ACCESS_DENIED, 'RotateKeys ' + ACCESS_DENIED,
                                                 'GetConfig ' + ACCESS_DENIED, 'GetFirewall ' + ACCESS_DENIED])

        p = cell.picctl('status', as_nobody=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('home.lan', p.stdout)
        p = cell.picctl('peer', 'list', as_nobody=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('laptop', p.stdout)

        self.assertEqual(snapshot(cell.state_dir), files)
        self.assertEqual(cell.managed_objects(), objects)
        # root still may
        self.assertIn('table inet pic', mgr.GetFirewall())
        self.peer(path).SetEnabled(False)
        self.assertFalse(self.peer_props(path)['Enabled'])


if __name__ == '__main__':
    h.main()
