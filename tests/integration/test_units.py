#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pic-celld and pic-gatewayd under a real systemd manager, through the units we ship.

The bus hands org.pic.Cell1's activation to systemd (SystemdService=), which
runs pic-celld.service with its whole sandbox (the dev world's drop-in,
systemd_world.DEV_DROP_IN, says what it changes and why). The README
promises that restarting pic-celld never drops a tunnel: `systemctl restart`
and a kill -9 must keep the same wireguard-go, pings flowing and the session
(no new handshake). The gateway is started by its socket unit on the first
request."""

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from systemd_world import (GATEWAY_SOCKET, GATEWAY_UNIT, PAIRING_SOCKET, CelldUnit, GatewayUnit,  # noqa: E402
                           cell_and_client, dig)

N = os.getpid() % 200
CELL_LAN, CLIENT_LAN = '10.241.%d.1' % N, '10.241.%d.2' % N
VPN = '10.242.%d.1/24' % N
CELL_IP = VPN.split('/')[0]


def sv(d):
    return dbus.Dictionary(d, signature='sv')


class UnitWorld(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        w = cls.world
        cls.bus, cell_ns, cls.client_ns = cell_and_client(w, CELL_LAN, CLIENT_LAN, [
            'org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets'])
        cls.cell = CelldUnit(cls.bus, cell_ns, world=w, extra_args=['--stats-interval=0.3'])
        cls.cell.start()
        cls.gateway = GatewayUnit(cls.bus, world=w, pairing=True)
        mgr = cls.cell.manager()
        mgr.Setup(sv({'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': VPN,
                      'Endpoint': CELL_LAN + ':51820'}))
        path = mgr.AddPeer('laptop', sv({'ServiceAccess': dbus.Array(['dns'], signature='s')}))
        cls.laptop_ip = str(cls.cell.interface('org.freedesktop.DBus.Properties', path)
                            .Get('org.pic.Cell1.Peer', 'Address'))
        config = str(cls.cell.interface('org.pic.Cell1.Peer', path).GetConfig())
        cls.client = h.WgClient(cls.client_ns, w.unique('wgc'), config, world=w)
        h.wait_for(lambda: cls.client.ping(CELL_IP), 15, 0.2, 'ping through the tunnel')

    def wireguard_go(self):
        """PIDs of the cell's wireguard-go (in its network namespace)."""
        return sorted(pid for pid in self.cell.netns.pids()
                      if h.process_name(pid) == 'wireguard-go')

    def check_survives(self, disrupt):
        """Runs disrupt() while pinging the cell every 20 ms; the tunnel must not notice."""
        go_before = self.wireguard_go()
        handshake_before = self.client.latest_handshake()
        self.assertEqual(len(go_before), 1)
        self.assertGreater(handshake_before, 0)
        # a fixed count (5 s at 20 ms) rather than an interrupt, which would count the echo in flight as lost
        ping = subprocess.Popen(['ip', 'netns', 'exec', self.client_ns.name, 'ping', '-n', '-q', '-i', '0.02',
                                 '-c', '250', '-W', '1', CELL_IP], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        try:
            time.sleep(0.5)
            old_pid = self.cell.pid()
            disrupt(old_pid)
            h.wait_for(lambda: self.cell.pid() not in (0, old_pid) and self.bus.has_owner(h.CELL_BUS_NAME), 30,
                       0.05, 'pic-celld back under systemd')
            h.wait_for(lambda: str(self.cell.manager().GetPeerByName('laptop')), 10, 0.1, 'the peer objects')
            out = ping.communicate(timeout=30)[0]
        finally:
            if ping.poll() is None:
                ping.kill()
                ping.wait()
        sent, received = (int(x) for x in re.search(r'(\d+) packets transmitted, (\d+) received', out).groups())
        self.assertEqual(self.wireguard_go(), go_before, 'the same wireguard-go carries the tunnel')
        self.assertEqual(self.client.latest_handshake(), handshake_before, 'no new handshake was needed')
        self.assertEqual(sent, 250)
        self.assertEqual(received, sent, 'pings lost: %s' % out.strip().splitlines()[-2:])
        self.assertEqual(dig(self.client_ns, CELL_IP, 'laptop.home.lan'), [self.laptop_ip])
        return sent

    def test_0_gateway_starts_on_its_first_request(self):
        self.assertEqual(self.bus.unit_property(GATEWAY_SOCKET, 'ActiveState'), 'active')
        self.assertEqual(self.bus.unit_property(GATEWAY_UNIT, 'ActiveState'), 'inactive')
        r = self.gateway.request('GET', '/health')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {'status': 'ok', 'setup_complete': True, 'bus': 'ok'})
        self.assertEqual(self.bus.unit_property(GATEWAY_UNIT, 'ActiveState'), 'active')
        self.assertEqual(self.bus.unit_property(GATEWAY_UNIT, 'CapabilityBoundingSet'), '')
        self.assertEqual(self.bus.unit_property(GATEWAY_UNIT, 'ProtectSystem'), 'strict')
        r = self.gateway.request('GET', '/')
        self.assertEqual(r.status, 200)
        self.assertIn('text/html', r.header('Content-Type'))
        # pic-gatewayd-pairing.socket: the same process, only the pairing route there
        # (reaching pic-celld: refused by polkit first, peer-sync is not granted in this world)
        r = self.gateway.pairing.request('POST', '/cell/v1/pair', raw=b'pic-pair1.nonsense')
        self.assertEqual((r.status, r.json()['error']), (403, 'org.freedesktop.DBus.Error.AccessDenied'), r)
        self.assertEqual(self.gateway.pairing.request('GET', '/health').status, 404)
        self.assertEqual(self.gateway.pairing.request('GET', '/api/cell').status, 404)
        self.assertEqual(self.bus.unit_property(PAIRING_SOCKET, 'ActiveState'), 'active')

    def test_1_unit_runs_sandboxed(self):
        self.assertEqual(self.bus.unit_property(CelldUnit.UNIT, 'ActiveState'), 'active')
        self.assertEqual(self.bus.unit_property(CelldUnit.UNIT, 'Type'), 'dbus')
        self.assertEqual(self.bus.unit_property(CelldUnit.UNIT, 'ProtectSystem'), 'strict')
        self.assertEqual(self.bus.unit_property(CelldUnit.UNIT, 'CapabilityBoundingSet'), 'cap_net_admin')
        # the daemon and its wireguard-go run in the unit's cgroup, dnsmasq in its own unit
        self.assertEqual(self.bus.unit_property('pic-dns.service', 'ActiveState'), 'active')
        self.assertEqual(str(self.cell.manager().Get('org.pic.Cell1.Manager', 'DnsState',
                                                     dbus_interface='org.freedesktop.DBus.Properties')), 'running')
        self.assertEqual(dig(self.client_ns, CELL_IP, 'home.home.lan'), [CELL_IP])
        # what an admin sees: the cell's three units, all active
        listed = self.bus.systemctl('list-units', '--no-legend', '--plain', 'pic-*').stdout
        active = {line.split()[0] for line in listed.splitlines() if line.split()[2:3] == ['active']}
        self.assertLessEqual({'pic-celld.service', 'pic-dns.service', 'pic-gatewayd.socket'}, active, listed)

    def test_2_systemctl_restart_keeps_the_tunnel(self):
        self.check_survives(lambda pid: self.bus.systemctl('restart', CelldUnit.UNIT))

    def test_3_kill_9_keeps_the_tunnel(self):
        self.check_survives(lambda pid: os.kill(pid, signal.SIGKILL))


if __name__ == '__main__':
    h.main()
