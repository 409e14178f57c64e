#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""End to end: a peer added over the bus connects from another namespace with
the config the cell hands out, pings the cell through the tunnel, and loses
the tunnel when it is removed; restarts (even kill -9) bring everything back."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402

ALL_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets']
CELL_LAN = '10.231.%d.1'
CLIENT_LAN = '10.231.%d.2'
VPN = '10.232.%d.1/24'


LIVE_STATISTICS = ('LatestHandshake', 'RxBytes', 'TxBytes', 'Endpoint', 'Connected')


def without_live_statistics(objects):
    """GetManagedObjects without the peers' properties that WireGuard measures."""
    return {path: {iface: {k: v for k, v in props.items() if not (iface == 'org.pic.Cell1.Peer' and k in LIVE_STATISTICS)}
                   for iface, props in ifaces.items()} for path, ifaces in objects.items()}


class TunnelTest(h.HarnessTestCase):
    def make_cell(self, extra_args=('--stats-interval=0.3',)):
        n = os.getpid() % 200
        self.cell = h.Cell(world=self.world, extra_args=list(extra_args))
        self.cell.polkit.set_allowed(ALL_ACTIONS)
        self.client_ns = h.Netns(world=self.world)
        h.veth(self.cell.netns, self.client_ns, CELL_LAN % n + '/24', CLIENT_LAN % n + '/24', world=self.world)
        self.cell.start()
        self.vpn_address = VPN % n
        self.cell_vpn_ip = self.vpn_address.split('/')[0]
        self.cell.manager().Setup(dbus.Dictionary({
                'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': self.vpn_address,
                'ListenPort': dbus.UInt16(51820), 'Endpoint': '%s:51820' % (CELL_LAN % n)}, signature='sv'))

    def add_client(self, name, ifname=None):
        path = self.cell.manager().AddPeer(name, dbus.Dictionary({}, signature='sv'))
        peer = self.cell.interface('org.pic.Cell1.Peer', path)
        config = str(peer.GetConfig())
        client = h.WgClient(self.client_ns, ifname or self.world.unique('wgc'), config, world=self.world)
        return path, peer, client

    def test_peer_pings_cell_until_removed(self):
        self.make_cell()
        changes = h.SignalRecorder(self.cell.bus, dbus_interface='org.freedesktop.DBus.Properties',
                                   signal_name='PropertiesChanged')
        self.addCleanup(changes.close)
        path, peer, client = self.add_client('laptop')
        self.assertTrue(h.wait_for(lambda: client.ping(self.cell_vpn_ip), 15, 0.2, 'ping through the tunnel'))

        # the cell saw the handshake and the traffic, and said so on the bus
        changes.wait_for(lambda sigs: any(p == str(path) and 'LatestHandshake' in a[1] and a[1]['LatestHandshake'] > 0
                                          for p, _, a in sigs), 10, 'PropertiesChanged with LatestHandshake')
        props = self.cell.interface('org.freedesktop.DBus.Properties', path)
        self.assertGreater(props.Get('org.pic.Cell1.Peer', 'RxBytes'), 0)
        self.assertTrue(str(props.Get('org.pic.Cell1.Peer', 'Endpoint')).startswith(CLIENT_LAN % (os.getpid() % 200)))

        peer.Remove()
        self.assertFalse(client.ping(self.cell_vpn_ip, count=2, timeout=1))
        with self.assertRaises(dbus.DBusException) as e:
            props.Get('org.pic.Cell1.Peer', 'Name')
        self.assertIn('UnknownObject', e.exception.get_dbus_name())

    def test_disabled_peer_is_cut_and_comes_back(self):
        self.make_cell()
        path, peer, client = self.add_client('phone')
        self.assertTrue(h.wait_for(lambda: client.ping(self.cell_vpn_ip), 15, 0.2, 'ping'))
        peer.SetEnabled(False)
        self.assertFalse(client.ping(self.cell_vpn_ip, count=2, timeout=1))
        peer.SetEnabled(True)
        # the client only notices its session is gone after ~15 s without answers, then handshakes again
        self.assertTrue(h.wait_for(lambda: client.ping(self.cell_vpn_ip), 30, 0.5, 'ping after enabling'))

    def test_rotated_keys_need_the_new_config(self):
        self.make_cell()
        path, peer, client = self.add_client('tablet')
        self.assertTrue(h.wait_for(lambda: client.ping(self.cell_vpn_ip), 15, 0.2, 'ping'))
        peer.RotateKeys()
        self.assertFalse(client.ping(self.cell_vpn_ip, count=2, timeout=1))
        client.stop()
        client2 = h.WgClient(self.client_ns, self.world.unique('wgd'), str(peer.GetConfig()), world=self.world)
        self.assertTrue(h.wait_for(lambda: client2.ping(self.cell_vpn_ip), 15, 0.2, 'ping with rotated keys'))

    def test_kill_9_and_start_again(self):
        self.make_cell()
        _, _, client = self.add_client('laptop')
        self.assertTrue(h.wait_for(lambda: client.ping(self.cell_vpn_ip), 15, 0.2, 'ping'))
        before = self.cell.managed_objects()

        os.kill(self.cell.pid(), signal.SIGKILL)
        self.cell.bus.wait_for_no_owner(h.CELL_BUS_NAME)
        self.cell.start()
        self.assertEqual(self.cell.managed_objects(), before)
        self.assertTrue(h.wait_for(lambda: client.ping(self.cell_vpn_ip), 15, 0.2, 'ping after restart'))

    def cell_wireguard_go(self):
        for pid in self.cell.netns.pids():
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                if b'wireguard-go' in f.read().split(b'\0')[0]:
                    return pid
        return None

    def test_wireguard_go_dying_is_repaired(self):
        """Whether wireguard-go is the daemon's child or was inherited across a restart, and every time:
        the statistics timer that repairs it keeps firing."""
        self.make_cell()
        _, _, client = self.add_client('laptop')
        self.assertTrue(h.wait_for(lambda: client.ping(self.cell_vpn_ip), 15, 0.2, 'ping'))
        for round in ('child', 'child again', 'inherited'):
            if round == 'inherited':
                os.kill(self.cell.pid(), signal.SIGKILL)
                self.cell.bus.wait_for_no_owner(h.CELL_BUS_NAME)
                self.cell.start()
            old = self.cell_wireguard_go()
            os.kill(old, signal.SIGKILL)
            h.wait_for(lambda: self.cell_wireguard_go() not in (None, old), 10, 0.1, 'a new wireguard-go')
            self.assertTrue(h.wait_for(lambda: client.ping(self.cell_vpn_ip), 30, 0.5, 'ping (%s)' % round))

    def test_cold_start_rebuilds_the_tunnel(self):
        """Daemon and its wireguard-go both gone: a new start rebuilds device and peers from state."""
        self.make_cell()
        _, _, client = self.add_client('laptop')
        self.assertTrue(h.wait_for(lambda: client.ping(self.cell_vpn_ip), 15, 0.2, 'ping'))
        before = self.cell.managed_objects()

        h._stop_pids(self.cell.netns.pids())  # the daemon and its wireguard-go live in the cell namespace
        self.cell.bus.wait_for_no_owner(h.CELL_BUS_NAME)
        self.assertFalse(os.path.exists(self.cell.uapi_socket) and h.run(
            ['socat', '-u', 'OPEN:/dev/null', 'UNIX-CONNECT:' + self.cell.uapi_socket], check=False).returncode == 0)
        self.cell.start()
        # the same objects; what WireGuard measured (handshake, traffic, endpoint) comes with the next handshake
        self.assertEqual(without_live_statistics(self.cell.managed_objects()), without_live_statistics(before))
        # the client retries its handshake by itself (about every 5 s)
        self.assertTrue(h.wait_for(lambda: client.ping(self.cell_vpn_ip), 30, 0.5, 'ping after cold start'))


if __name__ == '__main__':
    h.main()
