#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Exits of type wireguard, for real: a wireguard-go server in an "upstream"
namespace that also stands for the internet, the cell's exit tunnel in a
transient unit of the world's systemd manager, and a peer in a namespace of
its own sending real packets.

    peer ns ──veth 10.236.n.0/24── cell ns ──uplink 198.18.1.0/24── upstream ns
    (WireGuard client,              (pic-celld, its exit          (exit server 10.64.0.1 on
     full tunnel)                    pic-xN in a unit)              198.18.1.254:51999, "the
                                                                    internet" 198.18.9.9:8000
                                                                    echoing who connects, DNS
                                                                    on 10.64.0.1)

The kill-switch is counted where it matters: a counter in the cell's own
namespace (a test table, before the masquerade) on packets from the peer's
address leaving by the uplink."""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402

ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets',
           'org.pic.cell1.manage-exits']
EXIT_IFACE = 'org.pic.Cell1.Exit'
PEER_IFACE = 'org.pic.Cell1.Peer'
UPLINK_CELL, UPLINK_UP = '198.18.1.1', '198.18.1.254'
INTERNET = '198.18.9.9'
INTERNET_PORT = 8000
SERVER_PORT = 51999

# "the internet": answers each connection with the address it came from
ECHO_SERVER = r'''
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
while True:
    c, a = s.accept()
    try: c.sendall(a[0].encode())
    except OSError: pass
    c.close()
'''
PROBE = r'''
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    print(s.recv(64).decode())
except OSError as e:
    print('error: %s' % e)
'''


def exit_config(private_key, server_public, address='10.64.0.2/32', dns='10.64.0.1', extra=''):
    return ('[Interface]\nPrivateKey = %s\nAddress = %s\n%s%s[Peer]\nPublicKey = %s\nEndpoint = %s:%d\n'
            'AllowedIPs = 0.0.0.0/0, ::/0\n' % (private_key, address, 'DNS = %s\n' % dns if dns else '', extra,
                                                server_public, UPLINK_UP, SERVER_PORT))


class ExitsTest(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        w = cls.world
        n = os.getpid() % 200
        cls.cell = h.Cell(world=w, extra_args=['--stats-interval=0.5', '--exit-ifname-prefix=pic-x'])
        cls.cell.polkit.set_allowed(ACTIONS)
        cls.up = h.Netns(world=w)
        cls.peer_ns = h.Netns(world=w)
        cls.uplink, _ = h.veth(cls.cell.netns, cls.up, UPLINK_CELL + '/24', UPLINK_UP + '/24', world=w)
        cls.cell.netns.ip('route', 'add', 'default', 'via', UPLINK_UP)
        cls.cell.netns.run(['sysctl', '-qw', 'net.ipv4.ip_forward=1'])  # what systemd/pic.sysctl sets
        cls.lan_cell, cls.lan_peer = '10.236.%d.1' % n, '10.236.%d.2' % n
        h.veth(cls.cell.netns, cls.peer_ns, cls.lan_cell + '/24', cls.lan_peer + '/24', world=w)
        cls.up.ip('addr', 'add', INTERNET + '/32', 'dev', 'lo')
        cls.up.ip('link', 'set', 'lo', 'up')
        cls.up.spawn([sys.executable, '-c', ECHO_SERVER, INTERNET, str(INTERNET_PORT)], name='internet-echo')

        # the exit's server, before the cell knows of it: its key pair and the exit's
        cls.exit_private, cls.exit_public = h.wg_genkey()
        cls.server_private, cls.server_public = h.wg_genkey()
        cls.server = None

        cls.cell.start()
        cls.vpn_ip = '10.237.%d.1' % n
        cls.cell.manager().Setup(dbus.Dictionary({
                'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': cls.vpn_ip + '/24',
                'ListenPort': dbus.UInt16(51820), 'Endpoint': '%s:51820' % cls.lan_cell}, signature='sv'))
        h.wait_for(lambda: cls.cell.netns.ip('link', 'show', cls.cell.ifname, check=False).returncode == 0, 15)
        path = cls.cell.manager().AddPeer('laptop', dbus.Dictionary({}, signature='sv'))
        cls.peer_path = path
        cls.peer_address = str(cls.cell.properties(PEER_IFACE, path)['Address'])
        cls.counter_table = w.unique('pictest')
        cls.cell.netns.run(['nft', '-f', '-'], input=(
            'table inet %s {\n chain out { type filter hook postrouting priority 99;\n'
            '  oifname "%s" ip saddr %s counter\n }\n}\n' % (cls.counter_table, cls.uplink, cls.peer_address)))

    # ---------------------------------------------------------------- helpers

    def start_server(self):
        cfg = ('[Interface]\nPrivateKey = %s\nListenPort = %d\nAddress = 10.64.0.1/24\n[Peer]\nPublicKey = %s\n'
               'AllowedIPs = 10.64.0.2/32\n' % (self.server_private, SERVER_PORT, self.exit_public))
        type(self).server = h.WgClient(self.up, self.world.unique('wgs'), cfg, world=self.world)
        self.up.spawn(['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--pid-file=',
                       '--listen-address=10.64.0.1', '--bind-interfaces', '--log-queries', '--log-facility=-',
                       '--address=/exit.example/198.18.9.99'], name='exit-dnsmasq')

    def exit_obj(self, name='vpn'):
        return self.cell.interface(EXIT_IFACE, '/org/pic/Cell1/exit/' + name)

    def exit_prop(self, prop, name='vpn'):
        return self.cell.properties(EXIT_IFACE, '/org/pic/Cell1/exit/' + name)[prop]

    def wait_state(self, want, name='vpn', timeout=20):
        h.wait_for(lambda: str(self.exit_prop('State', name)) == want, timeout, 0.1,
                   'exit %s %s (is %s, %s)' % (name, want, self.exit_prop('State', name),
                                               self.exit_prop('LastError', name)))

    def probe(self, timeout=2):
        """Who "the internet" sees the peer's connection come from ('error: …' when it does not arrive)."""
        return self.client.run([sys.executable, '-c', PROBE, INTERNET, str(INTERNET_PORT), str(timeout)],
                               check=False).stdout.strip()

    def leaked(self):
        """Packets from the peer's address that left by the uplink (the test table's counter)."""
        out = self.cell.netns.run(['nft', '-j', 'list', 'chain', 'inet', self.counter_table, 'out']).stdout
        for item in json.loads(out)['nftables']:
            for expr in item.get('rule', {}).get('expr', []):
                if 'counter' in expr:
                    return expr['counter']['packets']
        raise AssertionError('no counter in %s' % out)

    def set_peer_exit(self, name):
        self.cell.interface(PEER_IFACE, self.peer_path).Update(dbus.Dictionary({'Exit': name}, signature='sv'))

    def unit_main_pid(self, unit='pic-exit-vpn.service'):
        out = self.cell.bus.systemctl('show', '-p', 'MainPID', '--value', unit, check=False).stdout.strip()
        return int(out or 0)

    def flood(self):
        """Packets to the internet from the peer while something happens: a ping every 10 ms."""
        return self.peer_ns.spawn(['ping', '-q', '-i', '0.01', '-W', '1', INTERNET], name='flood',
                                  stdout=subprocess.DEVNULL)

    # ---------------------------------------------------------------- tests, in name order

    def test_1_bad_settings_are_refused_by_name(self):
        mgr = self.cell.manager()
        cases = [
            (exit_config(self.exit_private, self.server_public, extra='PostUp = iptables -F\n'), 'PostUp'),
            (exit_config(self.exit_private, self.server_public, extra='Table = off\n'), 'Table'),
            (exit_config(self.exit_private, self.server_public).replace(UPLINK_UP, 'vpn.example.com'), 'Endpoint'),
            (exit_config(self.exit_private, self.server_public, address='fd00::2/128'), 'IPv4'),
            ('[Interface]\nPrivateKey = nope\n', 'PrivateKey'),
        ]
        for text, word in cases:
            with self.subTest(word=word), self.assertRaises(dbus.DBusException) as e:
                mgr.AddExit('vpn', 'wireguard', dbus.Dictionary({'Config': text}, signature='sv'))
            self.assertEqual(e.exception.get_dbus_name(), 'org.freedesktop.DBus.Error.InvalidArgs')
            self.assertIn(word, e.exception.get_dbus_message())
            self.assertNotIn(self.exit_private, e.exception.get_dbus_message())
        with self.assertRaises(dbus.DBusException) as e:
            mgr.AddExit('vpn', 'openvpn', dbus.Dictionary({'Config': 'x'}, signature='sv'))
        self.assertIn('type', e.exception.get_dbus_message())
        with self.assertRaises(dbus.DBusException) as e:
            self.set_peer_exit('nowhere')
        self.assertIn("no exit named 'nowhere'", e.exception.get_dbus_message())
        self.assertEqual(os.listdir(os.path.join(self.cell.state_dir, 'exits')), [])

    def test_2_an_exit_that_is_not_up_yet_leaks_nothing(self):
        """Added while its server is not there: its peer's traffic is dropped from the first packet."""
        path = self.cell.manager().AddExit('vpn', 'wireguard', dbus.Dictionary({
            'Config': exit_config(self.exit_private, self.server_public),
            'TestTarget': '%s:%d' % (INTERNET, INTERNET_PORT)}, signature='sv'))
        self.assertEqual(path, '/org/pic/Cell1/exit/vpn')
        self.assertEqual(str(self.exit_prop('State')), 'starting')
        self.assertEqual(str(self.exit_prop('Unit')), 'pic-exit-vpn.service')
        self.assertEqual(str(self.exit_prop('Interface')), 'pic-x1')
        self.assertEqual(str(self.exit_prop('Address')), '10.64.0.2/32')
        self.assertEqual([str(s) for s in self.exit_prop('DnsServers')], ['10.64.0.1'])
        # stored 0600, and the key is nowhere on the bus
        st = os.stat(os.path.join(self.cell.state_dir, 'exits', 'vpn.json'))
        self.assertEqual(st.st_mode & 0o777, 0o600)
        props = self.cell.properties(EXIT_IFACE, path)
        self.assertNotIn(self.exit_private, repr(props))
        h.wait_for(lambda: self.unit_main_pid() > 0, 10, 0.1, 'the exit unit running')
        h.wait_for(lambda: self.cell.netns.ip('link', 'show', 'pic-x1', check=False).returncode == 0, 10, 0.1,
                   'interface pic-x1')

        self.set_peer_exit('vpn')
        self.assertEqual(str(self.cell.properties(PEER_IFACE, self.peer_path)['Exit']), 'vpn')
        self.assertEqual(int(self.exit_prop('PeerCount')), 1)
        config = str(self.cell.interface(PEER_IFACE, self.peer_path).GetConfig())
        self.assertIn('AllowedIPs = 0.0.0.0/0, ::/0', config)
        type(self).client = h.WgClient(self.peer_ns, self.world.unique('wgc'), config, world=self.world)
        h.wait_for(lambda: self.client.latest_handshake() > 0, 15, 0.1, 'the peer handshakes with the cell')
        flood = self.flood()
        self.assertTrue(self.probe(1).startswith('error'))  # nowhere to go: dropped, not sent out plain
        time.sleep(1)
        self.assertEqual(self.leaked(), 0)

        self.start_server()
        self.wait_state('up')
        self.assertEqual(self.probe(), '10.64.0.2')  # through the exit, with its address
        flood.stop()
        self.assertEqual(self.leaked(), 0)
        self.assertGreater(int(self.exit_prop('LatestHandshake')), 0)
        self.assertGreater(int(self.exit_prop('TxBytes')), 0)

    def test_3_dns_goes_through_the_exit(self):
        out = self.client.run(['dig', '+short', '+time=2', '+tries=2', '@' + self.vpn_ip, 'exit.example'],
                              check=False).stdout.strip()
        self.assertEqual(out, '198.18.9.99')  # only the exit's resolver knows that name

    def test_4_test_connects_through_the_tunnel_only(self):
        usec = int(self.exit_obj().Test())
        self.assertGreater(usec, 0)
        self.assertLess(usec, 5_000_000)
        self.exit_obj().Update(dbus.Dictionary({'TestTarget': '%s:9' % INTERNET}, signature='sv'))
        with self.assertRaises(dbus.DBusException) as e:
            self.exit_obj().Test()
        self.assertEqual(e.exception.get_dbus_name(), 'org.pic.Cell1.Error.Unreachable')
        self.assertIn('%s:9' % INTERNET, e.exception.get_dbus_message())
        self.exit_obj().Update(dbus.Dictionary({'TestTarget': '%s:%d' % (INTERNET, INTERNET_PORT)},
                                               signature='sv'))
        with self.assertRaises(dbus.DBusException) as e:
            self.exit_obj().Update(dbus.Dictionary({'TestTarget': 'example.com:80'}, signature='sv'))
        self.assertIn('TestTarget', e.exception.get_dbus_message())

    def test_5_killed_tunnel_kill_switch_then_back(self):
        self.wait_state('up')
        before = self.leaked()
        flood = self.flood()
        old = self.unit_main_pid()
        os.kill(old, signal.SIGKILL)
        h.wait_for(lambda: self.unit_main_pid() not in (0, old), 10, 0.05, 'systemd restarts the tunnel')
        self.wait_state('up')
        self.assertEqual(self.probe(), '10.64.0.2')
        flood.stop()
        self.assertEqual(self.leaked(), before)

    def test_6_celld_killed_and_restarted(self):
        before = self.leaked()
        flood = self.flood()
        os.kill(self.cell.pid(), signal.SIGKILL)
        self.cell.bus.wait_for_no_owner(h.CELL_BUS_NAME)
        # no daemon: the kernel keeps routing through the exit, and keeps the kill-switch
        self.assertEqual(self.probe(), '10.64.0.2')
        self.cell.start()
        self.wait_state('up')
        self.assertEqual(self.probe(), '10.64.0.2')
        flood.stop()
        self.assertEqual(self.leaked(), before)

    def test_7_remove_is_refused_while_used_then_switch_to_none(self):
        with self.assertRaises(dbus.DBusException) as e:
            self.exit_obj().Remove()
        self.assertEqual(e.exception.get_dbus_name(), 'org.pic.Cell1.Error.Conflict')
        self.assertIn('laptop', e.exception.get_dbus_message())
        self.set_peer_exit('')
        self.assertEqual(self.probe(), UPLINK_CELL)  # the uplink again, masqueraded
        self.assertEqual(int(self.exit_prop('PeerCount')), 0)
        self.set_peer_exit('vpn')
        self.assertEqual(self.probe(), '10.64.0.2')

    def test_8_introspection_matches_the_contract(self):
        import test_bus_api
        live = test_bus_api.interface_shape(str(self.cell.interface(
            'org.freedesktop.DBus.Introspectable', '/org/pic/Cell1/exit/vpn').Introspect()), EXIT_IFACE)
        want = test_bus_api.interface_shape(test_bus_api.contract_xml(EXIT_IFACE), EXIT_IFACE)
        self.assertEqual(live['methods'], want['methods'])
        self.assertEqual(live['properties'], want['properties'])

    def test_9_removed_exit_leaves_nothing(self):
        self.set_peer_exit('')
        self.exit_obj().Remove()
        h.wait_for(lambda: self.unit_main_pid() == 0, 10, 0.1, 'the unit stopped')
        h.wait_for(lambda: self.cell.netns.ip('link', 'show', 'pic-x1', check=False).returncode != 0, 10, 0.1,
                   'pic-x1 gone')
        rules = self.cell.netns.run(['ip', 'rule', 'show']).stdout
        self.assertNotIn('0xa50001', rules)
        self.assertIn('unreachable', rules)  # the catch-all for exit marks stays
        self.assertEqual(os.listdir(os.path.join(self.cell.state_dir, 'exits')), [])
        self.assertEqual(self.probe(), UPLINK_CELL)


if __name__ == '__main__':
    h.main()
