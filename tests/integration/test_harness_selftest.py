#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Proves the integration harness with real processes: bus, polkit (mock and real), wireguard-go, cleanup."""

import os
import textwrap
import unittest

import dbus

import harness
from harness import (HarnessTestCase, MockPolkit, Netns, PrivateBus, RealPolkit, TempWorld, WgClient,
                     ForeignConnection, check_authorization, run_as_nobody, uapi_get, veth, wait_for,
                     wg_genkey, wg_quick_config)

CONFIGURE = 'org.pic.cell1.configure'

# a stand-in for a bus-activated daemon: owns a name until told to stop
FAKE_SERVICE = textwrap.dedent('''
    import dbus, dbus.service, dbus.mainloop.glib, sys
    from gi.repository import GLib
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    name = dbus.service.BusName(sys.argv[1], dbus.SystemBus())
    GLib.MainLoop().run()
''')

TEST_POLICY = textwrap.dedent('''\
    <?xml version="1.0" encoding="UTF-8"?>
    <!DOCTYPE policyconfig PUBLIC "-//freedesktop//DTD PolicyKit Policy Configuration 1.0//EN"
     "http://www.freedesktop.org/standards/PolicyKit/1/policyconfig.dtd">
    <policyconfig>
      <action id="org.pic.cell1.configure">
        <description>Configure the cell (harness self-test)</description>
        <message>Authentication is required to configure the cell</message>
        <defaults>
          <allow_any>auth_admin_keep</allow_any>
          <allow_inactive>auth_admin_keep</allow_inactive>
          <allow_active>auth_admin_keep</allow_active>
        </defaults>
      </action>
    </policyconfig>
''')


def host_wireguard_listing():
    try:
        return sorted(os.listdir(harness.HOST_WG_RUN_DIR))
    except FileNotFoundError:
        return None


def fake_service_argv(world, name):
    path = os.path.join(world.path, 'fake-service.py')
    with open(path, 'w') as fh:
        fh.write(FAKE_SERVICE)
    return [harness.PYTHON, path, name]


def policy_files_with_configure(world):
    """The project's policies if they define the configure action, else a stand-in."""
    files = harness.project_policy_files()
    for f in files:
        with open(f) as fh:
            if '"%s"' % CONFIGURE in fh.read():
                return files
    path = os.path.join(world.path, 'harness-selftest.policy')
    with open(path, 'w') as fh:
        fh.write(TEST_POLICY)
    return [path]


class WgQuickParsing(unittest.TestCase):
    def test_strips_wg_quick_keys(self):
        iface, peers, setconf = harness.parse_wg_quick(textwrap.dedent('''\
            [Interface]
            PrivateKey = aaaa
            Address = 10.0.0.2/24, fd00::2/64
            DNS = 10.0.0.1
            MTU = 1380
            PostUp = echo hi # comment
            [Peer]
            PublicKey = bbbb
            AllowedIPs = 10.0.0.0/24
            AllowedIPs = 0.0.0.0/0
            Endpoint = 192.0.2.1:51820
        '''))
        self.assertEqual(iface['address'], '10.0.0.2/24, fd00::2/64')
        self.assertEqual(iface['mtu'], '1380')
        self.assertEqual(peers[0]['allowedips'], '10.0.0.0/24,0.0.0.0/0')
        self.assertNotIn('Address', setconf)
        self.assertNotIn('DNS', setconf)
        self.assertNotIn('PostUp', setconf)
        self.assertIn('PrivateKey = aaaa', setconf)
        self.assertIn('Endpoint = 192.0.2.1:51820', setconf)


class PrivateBusTest(HarnessTestCase):
    def test_bus_answers(self):
        bus = PrivateBus()
        self.assertEqual(os.environ['DBUS_SYSTEM_BUS_ADDRESS'], bus.address)
        self.assertIn('org.freedesktop.DBus', bus.dbus_iface().ListNames())
        bus.reload()
        out = harness.run(['busctl', '--system', 'list', '--no-pager']).stdout
        self.assertIn('org.freedesktop.DBus', out)

    def test_signal_recorder(self):
        bus = PrivateBus()
        rec = harness.SignalRecorder(bus, dbus_interface='org.freedesktop.DBus', signal_name='NameOwnerChanged')
        self.addCleanup(rec.close)
        other = ForeignConnection(bus)
        rec.wait_for(lambda sigs: any(args[0] == other.unique_name and args[2] == other.unique_name
                                      for _, _, args in sigs), 5, 'NameOwnerChanged for the new connection')
        self.assertEqual(rec.signals[0][:2], ('/org/freedesktop/DBus', 'NameOwnerChanged'))

    def test_activation_and_cleanup_of_activated_service(self):
        bus = PrivateBus()
        bus.allow_owner('org.pic.HarnessTest1')
        bus.install_service('org.pic.HarnessTest1', fake_service_argv(self.world, 'org.pic.HarnessTest1'))
        self.assertEqual(bus.activate('org.pic.HarnessTest1'), 1)
        pid = bus.owner_pid('org.pic.HarnessTest1')
        with open('/proc/%d/environ' % pid, 'rb') as f:
            env = f.read().split(b'\0')
        # what the real daemon relies on: the activated process reaches our bus, and cleanup finds it
        self.assertTrue(any(e.startswith(('DBUS_SYSTEM_BUS_ADDRESS=%s' % bus.address).encode()) for e in env))
        self.assertIn(self.world.marker.encode(), env)
        self.assertEqual(bus.activate('org.pic.HarnessTest1'), 2)


class MockPolkitTest(HarnessTestCase):
    def test_deny_by_default_then_allow(self):
        bus = PrivateBus()
        polkit = MockPolkit(bus)
        me = bus.connection().get_unique_name()
        self.assertFalse(check_authorization(bus, me, CONFIGURE)[0])
        polkit.set_allowed([CONFIGURE])
        self.assertTrue(check_authorization(bus, me, CONFIGURE)[0])
        self.assertFalse(check_authorization(bus, me, 'org.pic.cell1.backup')[0])
        polkit.allow_unknown(True)
        self.assertTrue(check_authorization(bus, me, 'org.pic.cell1.backup')[0])
        calls = polkit.calls()
        self.assertEqual(len(calls), 4)
        self.assertEqual(calls[0][0], 'system-bus-name')
        self.assertEqual(calls[0][1]['name'], me)
        self.assertEqual(calls[0][2], CONFIGURE)

    def test_hang_and_delay(self):
        bus = PrivateBus()
        polkit = MockPolkit(bus)
        me = bus.connection().get_unique_name()
        polkit.hang(True)
        with self.assertRaises(dbus.DBusException):
            check_authorization(bus, me, CONFIGURE, timeout=1)
        polkit.hang(False)
        polkit.release_hanging()
        polkit.set_delay(0.3)
        self.assertFalse(check_authorization(bus, me, CONFIGURE)[0])
        polkit.stop()
        self.assertFalse(bus.has_owner(harness.POLKIT_BUS_NAME))


class RealPolkitTest(HarnessTestCase):
    def test_root_allowed_nobody_refused(self):
        bus = PrivateBus()
        polkit = RealPolkit(bus, policy_files=policy_files_with_configure(self.world))
        with open('/proc/%d/status' % polkit.pid) as f:
            uid_line = [l for l in f if l.startswith('Uid:')][0]
        self.assertNotEqual(uid_line.split()[1], '0', 'polkitd should drop root')
        me = bus.connection().get_unique_name()
        self.assertTrue(check_authorization(bus, me, CONFIGURE)[0])
        nobody = ForeignConnection(bus)
        self.assertEqual(bus.dbus_iface().GetConnectionUnixUser(nobody.unique_name), 65534)
        self.assertFalse(check_authorization(bus, nobody.unique_name, CONFIGURE)[0])
        # an action without a policy file is an error, not a deny
        with self.assertRaises(dbus.DBusException):
            check_authorization(bus, me, 'org.pic.cell1.no-such-action')

    def test_run_as_nobody(self):
        PrivateBus()
        p = run_as_nobody(['id', '-u'], check=True)
        self.assertEqual(p.stdout.strip(), '65534')
        p = run_as_nobody(['busctl', '--system', 'list', '--no-pager'], check=True)
        self.assertIn('org.freedesktop.DBus', p.stdout)


def wg_pair(world):
    a, b = Netns(world=world), Netns(world=world)
    veth(a, b, '172.31.250.1/30', '172.31.250.2/30')
    ka, kb = wg_genkey(), wg_genkey()
    ca = wg_quick_config(ka[0], ['10.200.0.1/24'], 51820,
                         [dict(public_key=kb[1], allowed_ips=['10.200.0.2/32'], endpoint='172.31.250.2:51820')])
    cb = wg_quick_config(kb[0], ['10.200.0.2/24'], 51820,
                         [dict(public_key=ka[1], allowed_ips='10.200.0.0/24', endpoint='172.31.250.1:51820',
                               keepalive=25)], dns='10.200.0.1')
    wa = WgClient(a, world.unique('wga'), ca, world=world)
    wb = WgClient(b, world.unique('wgb'), cb, world=world)
    return a, b, wa, wb, ka, kb


class WireGuardTest(HarnessTestCase):
    def test_tunnel_between_two_namespaces(self):
        before = host_wireguard_listing()
        a, b, wa, wb, ka, kb = wg_pair(self.world)
        self.assertTrue(a.ping('172.31.250.2'), 'veth pair does not carry packets')
        wait_for(lambda: wa.ping('10.200.0.2'), 20, 0.2, 'ping across the tunnel')
        self.assertTrue(wb.ping('10.200.0.1'))
        self.assertGreater(wa.latest_handshake(kb[1]), 0)
        self.assertEqual(wa.public_key, ka[1])
        self.assertEqual(wb.dns, ['10.200.0.1'])
        state = uapi_get(wb.uapi_socket)
        self.assertEqual(state['errno'], 0)
        self.assertEqual(state['device']['listen_port'], '51820')
        self.assertEqual(state['peers'][0]['public_key'], harness.key_to_hex(ka[1]))
        self.assertEqual(state['peers'][0]['allowed_ip'], ['10.200.0.0/24'])
        self.assertTrue(os.path.dirname(wa.uapi_socket).startswith(self.world.path))
        self.assertEqual(host_wireguard_listing(), before)
        # the interfaces exist only inside their namespaces
        self.assertNotEqual(harness.run(['ip', 'link', 'show', wa.ifname], check=False).returncode, 0)
        wa.stop()
        self.assertFalse(os.path.exists(wa.uapi_socket))


class CleanupTest(unittest.TestCase):
    def setUp(self):
        harness.require_root()

    def test_everything_goes_away(self):
        before = host_wireguard_listing()
        world = TempWorld()
        try:
            bus = PrivateBus(world=world)
            bus.allow_owner('org.pic.HarnessTest1')
            bus.install_service('org.pic.HarnessTest1', fake_service_argv(world, 'org.pic.HarnessTest1'))
            bus.activate('org.pic.HarnessTest1')
            MockPolkit(bus, world=world)
            a, b, wa, wb, _, _ = wg_pair(world)
            # a process nobody recorded, inside a namespace: found through `ip netns pids`
            harness.run(['ip', 'netns', 'exec', a.name, 'sh', '-c', 'sleep 600 >/dev/null 2>&1 &'])
            pids = [p.pid for p in world.procs] + a.pids() + b.pids() + [bus.owner_pid('org.pic.HarnessTest1')]
            names = [a.name, b.name]
            self.assertGreaterEqual(len(set(pids)), 8)
        finally:
            world.cleanup()
            world.remove()
        for pid in pids:
            self.assertIsNone(harness._proc_starttime(pid), 'pid %d survived cleanup' % pid)
        for name in names:
            self.assertFalse(harness.netns_exists(name), 'netns %s survived cleanup' % name)
        self.assertEqual(world.stray_pids(), [])
        self.assertFalse(os.path.exists(world.path))
        self.assertEqual(host_wireguard_listing(), before)
        self.assertNotEqual(os.environ.get('DBUS_SYSTEM_BUS_ADDRESS'), bus.address)


class SanitizerReportTest(unittest.TestCase):
    def test_reports_in_any_log_are_found(self):
        world = TempWorld()
        try:
            with open(world.log_path('quiet'), 'w') as f:
                f.write('nothing to see\n')
            self.assertEqual(world.sanitizer_reports(), [])
            # a unit's log under a tools/dev demo's own logs/ counts too
            os.makedirs(os.path.join(world.path, 'dev', 'logs'))
            with open(os.path.join(world.path, 'dev', 'logs', 'unit-pic-celld.service.log'), 'w') as f:
                f.write('state.c:181:40: runtime error: load of misaligned address\n'
                        '==7==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020\n')
            reports = world.sanitizer_reports()
            self.assertEqual(len(reports), 2, reports)
            self.assertTrue(reports[0].startswith('dev/logs/unit-pic-celld.service.log: '), reports)
        finally:
            world.cleanup()
            world.remove()


class CellFixtureTest(unittest.TestCase):
    """The Cell fixture against the real daemon, once it is built: it activates, and cleanup
    also removes the wireguard-go the daemon leaves behind on purpose."""

    def setUp(self):
        harness.require_root()
        if not os.access(harness.celld_binary(), os.X_OK):
            self.skipTest('pic-celld not built at %s' % harness.celld_binary())

    def test_celld_activates_and_cleanup_takes_its_wireguard_go(self):
        before = host_wireguard_listing()
        world = TempWorld()
        try:
            cell = harness.Cell(world=world, polkit='mock')
            cell.polkit.allow_unknown(True)
            pid = cell.start()
            self.assertEqual(pid, harness.celld_pid(cell.bus))
            cell.interface('org.freedesktop.DBus.Peer').Ping()
            cell.manager().Setup(dbus.Dictionary({'Name': 'selftest', 'Domain': 'selftest.lan',
                                                  'VpnAddress': '10.233.0.1/24'}, signature='sv'))
            wait_for(lambda: os.path.exists(cell.uapi_socket), 10, 0.1, 'the daemon\'s UAPI socket')
            self.assertEqual(uapi_get(cell.uapi_socket)['errno'], 0)
            pids = cell.netns.pids() + [pid]
            self.assertGreaterEqual(len(set(pids)), 2)
            name = cell.netns.name
        except BaseException:
            world.dump_logs()
            raise
        finally:
            world.cleanup()
            world.remove()
        for p in pids:
            self.assertIsNone(harness._proc_starttime(p), 'pid %d survived cleanup' % p)
        self.assertFalse(harness.netns_exists(name))
        self.assertEqual(world.stray_pids(), [])
        self.assertEqual(host_wireguard_listing(), before)


if __name__ == '__main__':
    harness.main()
