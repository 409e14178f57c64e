#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The pic-*.target units and `picctl wait-online`, under a real systemd manager.

pic-celld starts and stops pic-online.target and pic-peer@NAME.target through
org.freedesktop.systemd1 on the world's bus (systemd_world.py). A unit an
admin would write (BindsTo= + After= + WantedBy= on pic-peer@laptop.target)
must start when the laptop's WireGuard client handshakes and stop when the
peer is disabled; `picctl wait-online` must return when the peer is up and
time out, naming it, when it never comes; a restart of pic-celld must keep
targets of what is still up (no bounce of bound units) and stop the ones
standing for nothing."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from systemd_world import CelldUnit, cell_and_client, install_wait_online_unit  # noqa: E402

N = os.getpid() % 200
CELL_LAN, CLIENT_LAN = '10.243.%d.1' % N, '10.243.%d.2' % N
VPN = '10.244.%d.1/24' % N
CELL_IP = VPN.split('/')[0]
BOUND = 'pic-test-laptop-sync.service'
# what an admin writes, enabled as `systemctl enable` would (the .wants link below)
BOUND_UNIT = '''[Unit]
Description=runs while the laptop is connected
BindsTo=pic-peer@laptop.target
After=pic-peer@laptop.target
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=pic-peer@laptop.target
'''


def sv(d):
    return dbus.Dictionary(d, signature='sv')


class UnitTargetsTest(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        w = cls.world
        cls.bus, cell_ns, cls.client_ns = cell_and_client(w, CELL_LAN, CLIENT_LAN, [
            'org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets'])
        units = cls.bus.units_dir
        with open(os.path.join(units, BOUND), 'w') as f:
            f.write(BOUND_UNIT)
        os.makedirs(os.path.join(units, 'pic-peer@laptop.target.wants'))
        os.symlink('../' + BOUND, os.path.join(units, 'pic-peer@laptop.target.wants', BOUND))
        install_wait_online_unit(units, h.build_dir(), cls.bus.address, ['--timeout', '20'])
        cls.cell = CelldUnit(cls.bus, cell_ns, world=w, extra_args=['--stats-interval=0.3'])
        cls.cell.start()
        mgr = cls.cell.manager()
        mgr.Setup(sv({'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': VPN,
                      'Endpoint': CELL_LAN + ':51820'}))
        cls.laptop_path = mgr.AddPeer('laptop', sv({}))
        mgr.AddPeer('phone-2', sv({}))

    def state(self, unit):
        return self.bus.unit_property(unit, 'ActiveState')

    def wait_state(self, unit, want, timeout=10):
        h.wait_for(lambda: self.state(unit) == want, timeout, 0.1, '%s %s' % (unit, want))

    def picctl(self, *args, timeout=60):
        return subprocess.run([h.picctl_binary()] + [str(a) for a in args], capture_output=True, text=True,
                              timeout=timeout, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address))

    def peer_prop(self, name):
        return self.cell.interface('org.freedesktop.DBus.Properties', self.laptop_path).Get(
            'org.pic.Cell1.Peer', name)

    def test_1_online_target_and_wait_online_service(self):
        self.wait_state('pic-online.target', 'active')
        self.assertIs(bool(self.cell.manager().Get('org.pic.Cell1.Manager', 'Online',
                                                   dbus_interface='org.freedesktop.DBus.Properties')), True)
        # the shipped oneshot: `systemctl start` returns once picctl did, and it stays active
        self.bus.systemctl('start', 'pic-wait-online.service')
        self.assertEqual(self.state('pic-wait-online.service'), 'active')
        self.assertEqual(self.picctl('wait-online', '--timeout', 5).returncode, 0)

    def test_2_bound_unit_follows_the_peer(self):
        # nothing connected yet: the target and the unit bound to it are down
        self.assertEqual(self.state('pic-peer@laptop.target'), 'inactive')
        self.assertEqual(self.state(BOUND), 'inactive')
        self.assertIs(bool(self.peer_prop('Connected')), False)
        waiter = subprocess.Popen([h.picctl_binary(), 'wait-online', '--peer', 'laptop', '--timeout', '30'],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address))
        try:
            time.sleep(1)
            self.assertIsNone(waiter.poll(), 'wait-online must wait for the laptop')
            config = str(self.cell.interface('org.pic.Cell1.Peer', self.laptop_path).GetConfig())
            started = time.monotonic()
            self.client = type(self).client = h.WgClient(self.client_ns, self.world.unique('wgc'), config,
                                                          world=self.world)
            h.wait_for(lambda: self.client.ping(CELL_IP), 15, 0.2, 'ping through the tunnel')
            _, err = waiter.communicate(timeout=30)
            self.assertEqual(waiter.returncode, 0, err)
            self.assertLess(time.monotonic() - started, 15)
        finally:
            if waiter.poll() is None:
                waiter.kill()
                waiter.wait()
        self.assertIs(bool(self.peer_prop('Connected')), True)
        self.wait_state('pic-peer@laptop.target', 'active', 5)
        self.wait_state(BOUND, 'active', 5)

    def test_3_restart_keeps_what_is_up_and_stops_the_rest(self):
        # a target standing for nothing (started by hand: systemd lets it, see the unit file)
        self.bus.systemctl('start', 'pic-peer@ghost.target')
        self.assertEqual(self.state('pic-peer@ghost.target'), 'active')
        since = {u: self.bus.unit_property(u, 'ActiveEnterTimestampMonotonic')
                 for u in ('pic-online.target', 'pic-peer@laptop.target', BOUND)}
        old_pid = self.cell.pid()
        self.bus.systemctl('restart', CelldUnit.UNIT)
        h.wait_for(lambda: self.cell.pid() not in (0, old_pid), 20, 0.1, 'pic-celld restarted')
        # settling: two statistics intervals (0.3 s) and 2 s
        self.wait_state('pic-peer@ghost.target', 'inactive', 10)
        for unit, t in since.items():
            self.assertEqual(self.state(unit), 'active', unit)
            self.assertEqual(self.bus.unit_property(unit, 'ActiveEnterTimestampMonotonic'), t,
                             '%s was stopped and started again by the restart' % unit)

    def test_4_disabled_peer_stops_the_bound_unit(self):
        # disabled: the target stops, and BindsTo= takes the unit down with it
        self.cell.interface('org.pic.Cell1.Peer', self.laptop_path).SetEnabled(False)
        self.wait_state('pic-peer@laptop.target', 'inactive', 5)
        self.wait_state(BOUND, 'inactive', 5)
        self.assertIs(bool(self.peer_prop('Connected')), False)
        # the other targets are untouched
        self.assertEqual(self.state('pic-online.target'), 'active')

    def test_5_wait_online_times_out_naming_the_peer(self):
        started = time.monotonic()
        p = self.picctl('wait-online', '--peer', 'laptop', '--peer', 'phone-2', '--timeout', '2')
        took = time.monotonic() - started
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('timed out after 2 s', p.stderr)
        self.assertIn('peer phone-2 (no handshake within 180 s)', p.stderr)
        self.assertIn('peer laptop', p.stderr)  # disabled by the test before
        self.assertNotIn('the cell', p.stderr)  # it is online
        self.assertGreaterEqual(took, 2)
        self.assertLess(took, 5)
        # a name that is no peer fails at once, by name; so does a bad option
        p = self.picctl('wait-online', '--peer', 'ghost', '--timeout', '30', timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('ghost', p.stderr)
        p = self.picctl('wait-online', '--link', 'Not_A_Cell')
        self.assertEqual(p.returncode, 2, p.stderr)

if __name__ == '__main__':
    h.main()
