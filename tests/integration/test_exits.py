#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Exits of type wireguard, for real (the world: exit_world.py): a
wireguard-go server in an "upstream" namespace that also stands for the
internet, the cell's exit tunnel in a transient unit of the world's systemd
manager, and a peer in a namespace of its own sending real packets. The
kill-switch is counted where it matters: packets from the peer's address
leaving by the cell's uplink."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from exit_world import (EXIT_IFACE, INTERNET, INTERNET_PORT, PEER_IFACE, UPLINK_CELL, UPLINK_UP,  # noqa: E402
                        ExitServer, ExitWorld, OpenVpnServer, SshServer)

UNIT = 'pic-exit-vpn.service'
PROXY_PASSWORD = 's3cret-proxy-pw'


class ExitsTest(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        cls.w = ExitWorld(cls.world)
        cls.cell = cls.w.cell
        cls.server = ExitServer(cls.world, 1, 51999)

    def exit_obj(self, name='vpn'):
        return self.w.exit_obj(name)

    def exit_prop(self, prop, name='vpn'):
        return self.w.exit_prop(prop, name)

    def wait_state(self, want, name='vpn'):
        self.w.wait_state(want, name)

    # ---------------------------------------------------------------- tests, in name order

    def test_1_bad_settings_are_refused_by_name(self):
        mgr = self.cell.manager()
        cases = [
            (self.server.config(extra='PostUp = iptables -F\n'), 'PostUp'),
            (self.server.config(extra='Table = off\n'), 'Table'),
            (self.server.config().replace(UPLINK_UP, 'vpn.example.com'), 'Endpoint'),
            (self.server.config(address='fd00::2/128'), 'IPv4'),
            ('[Interface]\nPrivateKey = nope\n', 'PrivateKey'),
        ]
        for text, word in cases:
            with self.subTest(word=word), self.assertRaises(dbus.DBusException) as e:
                mgr.AddExit('vpn', 'wireguard', dbus.Dictionary({'Config': text}, signature='sv'))
            self.assertEqual(e.exception.get_dbus_name(), 'org.freedesktop.DBus.Error.InvalidArgs')
            self.assertIn(word, e.exception.get_dbus_message())
            self.assertNotIn(self.server.exit_private, e.exception.get_dbus_message())
        with self.assertRaises(dbus.DBusException) as e:
            mgr.AddExit('vpn', 'socks', dbus.Dictionary({'Config': 'x'}, signature='sv'))
        self.assertIn('type', e.exception.get_dbus_message())
        with self.assertRaises(dbus.DBusException) as e:
            self.w.set_peer_exit('nowhere')
        self.assertIn("no exit named 'nowhere'", e.exception.get_dbus_message())
        self.assertEqual(os.listdir(os.path.join(self.cell.state_dir, 'exits')), [])

    def test_2_an_exit_that_is_not_up_yet_leaks_nothing(self):
        """Added while its server is not there: its peer's traffic is dropped from the first packet."""
        path = self.cell.manager().AddExit('vpn', 'wireguard', dbus.Dictionary({
            'Config': self.server.config(),
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
        self.assertNotIn(self.server.exit_private, repr(props))
        h.wait_for(lambda: self.w.unit_main_pid(UNIT) > 0, 10, 0.1, 'the exit unit running')
        h.wait_for(lambda: self.cell.netns.ip('link', 'show', 'pic-x1', check=False).returncode == 0, 10, 0.1,
                   'interface pic-x1')

        self.w.set_peer_exit('vpn')
        self.assertEqual(str(self.cell.properties(PEER_IFACE, self.w.peer_path)['Exit']), 'vpn')
        self.assertEqual(int(self.exit_prop('PeerCount')), 1)
        self.assertIn('AllowedIPs = 0.0.0.0/0, ::/0', str(self.w.peer().GetConfig()))
        self.w.connect_client()
        flood = self.w.flood()
        self.assertTrue(self.w.probe(1).startswith('error'))  # nowhere to go: dropped, not sent out plain
        time.sleep(1)
        self.assertEqual(self.w.leaked(), 0)

        self.server.start(self.w.up)
        self.wait_state('up')
        self.w.wait_unit_state('pic-exit@vpn.target', 'active')  # for units bound to it (README)
        self.assertEqual(self.w.probe(), '10.64.0.2')  # through the exit, with its address
        flood.stop()
        self.assertEqual(self.w.leaked(), 0)
        self.assertGreater(int(self.exit_prop('LatestHandshake')), 0)
        self.assertGreater(int(self.exit_prop('TxBytes')), 0)

    def test_3_dns_goes_through_the_exit(self):
        out = self.w.peer_ns.run(['dig', '+short', '+time=2', '+tries=2', '@' + self.w.vpn_ip, 'exit.example'],
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
        before = self.w.leaked()
        flood = self.w.flood()
        old = self.w.unit_main_pid(UNIT)
        os.kill(old, signal.SIGKILL)
        h.wait_for(lambda: self.w.unit_main_pid(UNIT) not in (0, old), 10, 0.05, 'systemd restarts the tunnel')
        self.wait_state('up')
        self.assertEqual(self.w.probe(), '10.64.0.2')
        flood.stop()
        self.assertEqual(self.w.leaked(), before)

    def test_6_celld_killed_and_restarted(self):
        before = self.w.leaked()
        flood = self.w.flood()
        os.kill(self.cell.pid(), signal.SIGKILL)
        self.cell.bus.wait_for_no_owner(h.CELL_BUS_NAME)
        # no daemon: the kernel keeps routing through the exit, and keeps the kill-switch
        self.assertEqual(self.w.probe(), '10.64.0.2')
        self.cell.start()
        self.wait_state('up')
        self.assertEqual(self.w.probe(), '10.64.0.2')
        flood.stop()
        self.assertEqual(self.w.leaked(), before)

    def test_6b_celld_restarted_gently(self):
        """SIGTERM, then a new start: the exit's unit and tunnel are kept (adopted, not reset)."""
        before = self.w.leaked()
        old_unit_pid = self.w.unit_main_pid(UNIT)
        flood = self.w.flood()
        self.cell.restart()
        self.wait_state('up')
        self.assertEqual(self.w.unit_main_pid(UNIT), old_unit_pid)
        self.assertEqual(self.w.probe(), '10.64.0.2')
        flood.stop()
        self.assertEqual(self.w.leaked(), before)

    def test_7_remove_is_refused_while_used_then_switch_to_none(self):
        with self.assertRaises(dbus.DBusException) as e:
            self.exit_obj().Remove()
        self.assertEqual(e.exception.get_dbus_name(), 'org.pic.Cell1.Error.Conflict')
        self.assertIn('laptop', e.exception.get_dbus_message())
        self.w.set_peer_exit('')
        self.assertEqual(self.w.probe(), UPLINK_CELL)  # the uplink again, masqueraded
        self.assertEqual(int(self.exit_prop('PeerCount')), 0)
        self.w.set_peer_exit('vpn')
        self.assertEqual(self.w.probe(), '10.64.0.2')

    def test_8_introspection_matches_the_contract(self):
        import test_bus_api
        live = test_bus_api.interface_shape(str(self.cell.interface(
            'org.freedesktop.DBus.Introspectable', '/org/pic/Cell1/exit/vpn').Introspect()), EXIT_IFACE)
        want = test_bus_api.interface_shape(test_bus_api.contract_xml(EXIT_IFACE), EXIT_IFACE)
        self.assertEqual(live['methods'], want['methods'])
        self.assertEqual(live['properties'], want['properties'])

    def test_9_removed_exit_leaves_nothing(self):
        self.w.set_peer_exit('')
        self.exit_obj().Remove()
        h.wait_for(lambda: self.w.unit_main_pid(UNIT) == 0, 10, 0.1, 'the unit stopped')
        self.w.wait_unit_state('pic-exit@vpn.target', 'inactive')
        h.wait_for(lambda: self.cell.netns.ip('link', 'show', 'pic-x1', check=False).returncode != 0, 10, 0.1,
                   'pic-x1 gone')
        rules = self.cell.netns.run(['ip', 'rule', 'show']).stdout
        self.assertNotIn('0xa50001', rules)
        self.assertIn('unreachable', rules)  # the catch-all for exit marks stays
        self.assertEqual(os.listdir(os.path.join(self.cell.state_dir, 'exits')), [])
        self.assertEqual(self.w.probe(), UPLINK_CELL)

    # ---------------------------------------------------------------- openvpn (after the wireguard exit is gone)

    def test_x1_openvpn_bad_files_are_refused_by_name(self):
        ovpn = OpenVpnServer(self.world)
        type(self).ovpn = ovpn
        for extra, word in (('script-security 2\nup /bin/true\n', 'script-security'),
                            ('management 127.0.0.1 7505\n', 'management'), ('comp-lzo yes\n', 'compression'),
                            ('ca /etc/ssl/certs/ca.pem\n', 'inline')):
            with self.subTest(word=word), self.assertRaises(dbus.DBusException) as e:
                self.cell.manager().AddExit('ovpn', 'openvpn', dbus.Dictionary(
                    {'Config': ovpn.client_config(extra)}, signature='sv'))
            self.assertIn(word, e.exception.get_dbus_message())
            self.assertNotIn('BEGIN PRIVATE KEY', e.exception.get_dbus_message())
        self.assertEqual(os.listdir(os.path.join(self.cell.state_dir, 'exits')), [])

    def test_x2_openvpn_exit_carries_the_peer(self):
        self.ovpn.start(self.w.up)
        self.cell.manager().AddExit('ovpn', 'openvpn', dbus.Dictionary(
            {'Config': self.ovpn.client_config(), 'TestTarget': '%s:%d' % (INTERNET, INTERNET_PORT)}, signature='sv'))
        self.assertEqual(str(self.exit_prop('Endpoint', 'ovpn')), '%s 1194' % UPLINK_UP)
        self.wait_state('up', 'ovpn')
        self.assertEqual(str(self.exit_prop('Address', 'ovpn')), OpenVpnServer.NET + '.2/32')
        self.assertNotIn('BEGIN PRIVATE KEY', repr(self.cell.properties(EXIT_IFACE, '/org/pic/Cell1/exit/ovpn')))
        self.w.set_peer_exit('ovpn')
        self.assertEqual(self.w.probe(), OpenVpnServer.NET + '.2')
        self.assertGreater(int(self.exit_obj('ovpn').Test()), 0)
        h.wait_for(lambda: int(self.exit_prop('RxBytes', 'ovpn')) > 0, 10, 0.2, 'traffic counted (every 2 s)')

    def test_x3_openvpn_killed_kill_switch_then_back(self):
        before = self.w.leaked()
        flood = self.w.flood()
        unit = 'pic-exit-ovpn.service'
        old = self.w.unit_main_pid(unit)
        os.kill(old, signal.SIGKILL)
        h.wait_for(lambda: self.w.unit_main_pid(unit) not in (0, old), 10, 0.05, 'systemd restarts OpenVPN')
        self.wait_state('up', 'ovpn')
        self.assertEqual(self.w.probe(), OpenVpnServer.NET + '.2')
        flood.stop()
        self.assertEqual(self.w.leaked(), before)

    # ---------------------------------------------------------------- tor (no internet here)

    def test_y1_tor_takes_tcp_and_dns_and_nothing_leaves(self):
        """tor cannot reach the internet here: what shows it works is where the peer's packets land (tor's
        TransPort and DNSPort, counted in a test table), and that none leaves by the uplink."""
        with self.assertRaises(dbus.DBusException) as e:
            self.cell.manager().AddExit('tor', 'tor', dbus.Dictionary({'Config': 'x'}, signature='sv'))
        self.assertIn('takes no file', e.exception.get_dbus_message())
        self.cell.manager().AddExit('tor', 'tor', dbus.Dictionary({}, signature='sv'))
        self.wait_state('up', 'tor')
        number = int(self.exit_prop('Mark', 'tor')) & 0xffff
        tcp_port = 9040 + 2 * (number - 1)
        table = self.world.unique('pictor')
        self.cell.netns.run(['nft', '-f', '-'], input=(
            'table inet %s {\n chain in { type filter hook input priority -10;\n'
            '  ip saddr %s tcp dport %d counter\n  ip saddr %s udp dport %d counter\n }\n}\n'
            % (table, self.w.peer_address, tcp_port, self.w.peer_address, tcp_port + 1)))
        before = self.w.leaked()
        self.w.set_peer_exit('tor')
        flood = self.w.flood()  # ICMP: not TCP, so dropped
        self.w.probe(1)
        self.w.peer_ns.run(['dig', '+time=1', '+tries=1', '@' + self.w.vpn_ip, 'example.org'], check=False)
        flood.stop()
        counters = [int(x.split()[0]) for x in self.cell.netns.run(
            ['nft', 'list', 'chain', 'inet', table, 'in']).stdout.split('packets ')[1:]]
        self.assertGreater(counters[0], 0)  # TCP landed on tor's TransPort
        self.assertGreater(counters[1], 0)  # DNS on its DNSPort
        # Test() goes through tor's TransPort too, and tor reaches nothing here
        with self.assertRaises(dbus.DBusException) as e:
            self.exit_obj('tor').Test()
        self.assertEqual(e.exception.get_dbus_name(), 'org.pic.Cell1.Error.Unreachable')
        self.assertEqual(self.w.leaked(), before)
        self.w.set_peer_exit('')
        self.exit_obj('tor').Remove()


    # ---------------------------------------------------------------- proxy (redsocks + pic-exit-proxy)

    def start_internet_dns(self):
        """"The internet" answers DNS for proxy.example (over UDP and TCP) at INTERNET."""
        if not getattr(type(self), '_dns_started', False):
            self.w.up.spawn(['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--pid-file=',
                             '--listen-address=' + INTERNET, '--bind-interfaces', '--log-facility=-',
                             '--address=/proxy.example/198.18.9.77'], name='internet-dnsmasq')
            type(self)._dns_started = True

    def start_socks(self):
        """microsocks on the upstream side with a password."""
        self.start_internet_dns()
        return self.w.up.spawn(['microsocks', '-i', UPLINK_UP, '-p', '1080', '-u', 'pic', '-P', PROXY_PASSWORD],
                               name='microsocks')

    def test_z1_proxy_bad_settings_are_refused_by_name(self):
        mgr = self.cell.manager()
        cases = [
            ({}, 'Proxy is required'),
            ({'Proxy': 'socks5://proxy.example:1080'}, 'IPv4'),
            ({'Proxy': 'https://%s:1080' % UPLINK_UP}, 'socks5://'),
            ({'Proxy': 'socks5://pic:%s@%s:0' % (PROXY_PASSWORD, UPLINK_UP)}, 'port'),
            ({'Proxy': 'socks5://pic:%s"x@%s:1080' % (PROXY_PASSWORD, UPLINK_UP)}, 'password'),
            ({'Proxy': 'socks5://%s:1080' % UPLINK_UP, 'DnsServers': dbus.Array(['dns.example'], 's')}, 'DnsServers'),
            ({'Proxy': 'socks5://%s:1080' % UPLINK_UP, 'DnsServers': dbus.Array([], 's')}, 'DnsServers'),
            ({'Proxy': 'socks5://%s:1080' % UPLINK_UP, 'Config': 'x'}, 'takes no file'),
        ]
        for settings, word in cases:
            with self.subTest(word=word), self.assertRaises(dbus.DBusException) as e:
                mgr.AddExit('px', 'proxy', dbus.Dictionary(settings, signature='sv'))
            self.assertEqual(e.exception.get_dbus_name(), 'org.freedesktop.DBus.Error.InvalidArgs')
            self.assertIn(word, e.exception.get_dbus_message())
            self.assertNotIn(PROXY_PASSWORD, e.exception.get_dbus_message())
        with self.assertRaises(dbus.DBusException) as e:
            mgr.AddExit('px', 'wireguard', dbus.Dictionary({'Config': self.server.config(),
                                                            'Proxy': 'socks5://%s:1080' % UPLINK_UP}, signature='sv'))
        self.assertIn('Proxy: only a proxy exit', e.exception.get_dbus_message())
        self.assertFalse(os.path.exists(os.path.join(self.cell.state_dir, 'exits', 'px.json')))

    def test_z2_proxy_carries_tcp_and_dns_and_fails_closed(self):
        """A SOCKS5 proxy with a password: the peer's TCP reaches the internet from the proxy, its DNS is
        answered by the resolver behind the proxy, nothing else of it leaves, and while the proxy or its
        program is gone the exit is failed or starting, never leaking."""
        socks = self.start_socks()
        path = self.cell.manager().AddExit('px', 'proxy', dbus.Dictionary({
            'Proxy': 'socks5://pic:%s@%s:1080' % (PROXY_PASSWORD, UPLINK_UP),
            'DnsServers': dbus.Array([INTERNET], 's'),
            'TestTarget': '%s:%d' % (INTERNET, INTERNET_PORT)}, signature='sv'))
        self.wait_state('up', 'px')
        props = self.cell.properties(EXIT_IFACE, path)
        self.assertEqual(str(props['Endpoint']), '%s:1080' % UPLINK_UP)
        self.assertEqual([str(s) for s in props['DnsServers']], [INTERNET])
        self.assertNotIn(PROXY_PASSWORD, repr(props))
        self.assertEqual(os.stat(os.path.join(self.cell.state_dir, 'exits', 'px.json')).st_mode & 0o777, 0o600)

        before = self.w.leaked()
        self.w.set_peer_exit('px')
        if self.w.client is None:
            self.w.connect_client()
        flood = self.w.flood()  # ICMP: not TCP, so dropped
        self.assertEqual(self.w.probe(), INTERNET)  # microsocks connects from its side, not the cell's uplink
        answer = self.w.peer_ns.run(['dig', '+short', '+time=2', '+tries=2', '@' + self.w.vpn_ip, 'proxy.example'],
                                    check=False).stdout.strip()
        self.assertEqual(answer, '198.18.9.77')
        # Test(): through redsocks and the proxy, as a peer's connection goes
        self.assertGreater(int(self.exit_obj('px').Test()), 0)
        self.assertTrue(self.mark_leaks_nothing('px'))
        flood.stop()
        self.assertEqual(self.w.leaked(), before)

        # its program killed: the unit restarts it; meanwhile nothing leaves
        pid = self.w.unit_main_pid('pic-exit-px.service')
        self.assertGreater(pid, 0)
        flood = self.w.flood()
        os.kill(pid, signal.SIGKILL)
        h.wait_for(lambda: self.w.unit_main_pid('pic-exit-px.service') not in (0, pid), 10, 0.05,
                   'the unit restarts its program')
        self.wait_state('up', 'px')
        self.assertEqual(self.w.probe(), INTERNET)

        # the proxy gone: failed, with the reason, and still nothing leaves
        socks.stop()
        self.w.peer_ns.run(['dig', '+time=1', '+tries=1', '@' + self.w.vpn_ip, 'proxy.example'], check=False)
        self.wait_state('failed', 'px')
        self.assertIn('refused', str(self.exit_prop('LastError', 'px')))
        self.assertTrue(self.w.probe(1).startswith('error'))
        with self.assertRaises(dbus.DBusException) as e:
            self.exit_obj('px').Test()
        self.assertEqual(e.exception.get_dbus_name(), 'org.pic.Cell1.Error.Unreachable')
        flood.stop()
        self.assertEqual(self.w.leaked(), before)

        # a wrong password: failed, and the password shown nowhere
        socks = self.start_socks()
        self.exit_obj('px').Update(dbus.Dictionary({'Proxy': 'socks5://pic:wrong-one@%s:1080' % UPLINK_UP},
                                                   signature='sv'))
        self.wait_state('failed', 'px')
        self.assertNotIn('wrong-one', str(self.exit_prop('LastError', 'px')))
        self.exit_obj('px').Update(dbus.Dictionary({'Proxy': 'socks5://pic:%s@%s:1080' % (PROXY_PASSWORD, UPLINK_UP)},
                                                   signature='sv'))
        self.wait_state('up', 'px')
        self.assertEqual(self.w.probe(), INTERNET)

        self.w.set_peer_exit('')
        self.exit_obj('px').Remove()
        # the URL (with its password) is not left behind in the run directory
        leftovers = [f for f in os.listdir(self.cell.wg_run_dir) if f.endswith(('.proxy', '.redsocks'))]
        self.assertEqual(leftovers, [])
        socks.stop()


    def mark_leaks_nothing(self, name):
        """What carries a test mark (the mark behind Test() of a TCP-only exit) leaves only to the exit's
        port: UDP with the exit's own is refused at once (EPERM), and TCP with one no exit has never gets
        an answer (had it left, "the internet" would refuse port 9 at once)."""
        number = int(self.exit_prop('Mark', name)) & 0xffff
        code = (
            'import socket, sys\n'
            'def sent(kind, mark):\n'
            '    s = socket.socket(type=kind); s.settimeout(2)\n'
            '    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)\n'
            '    try:\n'
            '        s.connect((%r, 9)) if kind == socket.SOCK_STREAM else s.sendto(b"x", (%r, 9))\n'
            '    except (PermissionError, TimeoutError):\n'
            '        return False\n'
            '    except ConnectionRefusedError:\n'
            '        pass\n'
            '    return True\n'
            'sys.exit(1 if sent(socket.SOCK_DGRAM, 0x00a60000 | %d) or sent(socket.SOCK_STREAM, 0x00a600fe)'
            ' else 0)\n' % (INTERNET, INTERNET, number))
        return self.cell.netns.run(['python3', '-c', code], check=False).returncode == 0

    # ---------------------------------------------------------------- sshuttle (under pic-exit-proxy)

    def ssh_settings(self, ssh, **override):
        settings = {'Target': 'root@%s:%d' % (UPLINK_UP, ssh.port), 'SshKey': ssh.client_key,
                    'HostKey': ssh.host_key, 'DnsServers': dbus.Array([INTERNET], 's'),
                    'TestTarget': '%s:%d' % (INTERNET, INTERNET_PORT)}
        settings.update(override)
        return dbus.Dictionary(settings, signature='sv')

    def test_z3_sshuttle_bad_settings_are_refused_by_name(self):
        ssh = type(self).ssh = SshServer(self.world)
        mgr = self.cell.manager()
        cases = [
            ({'SshKey': ssh.encrypted_client_key()}, 'passphrase'),
            ({'SshKey': 'ssh-ed25519 AAAA'}, 'OpenSSH private key'),
            ({'HostKey': 'ssh-rsa ' + ssh.host_key.split()[1]}, 'not a ssh-rsa key'),
            ({'Target': 'root@ssh.example:22'}, 'IPv4'),
            ({'Target': UPLINK_UP}, 'user@address'),
            ({'DnsServers': dbus.Array([INTERNET, UPLINK_UP], 's')}, 'one IPv4 address'),
            ({'Proxy': 'socks5://%s:1080' % UPLINK_UP}, 'Proxy: only a proxy exit'),
        ]
        for override, word in cases:
            with self.subTest(word=word), self.assertRaises(dbus.DBusException) as e:
                mgr.AddExit('ssh', 'sshuttle', self.ssh_settings(ssh, **override))
            self.assertEqual(e.exception.get_dbus_name(), 'org.freedesktop.DBus.Error.InvalidArgs')
            self.assertIn(word, e.exception.get_dbus_message())
            self.assertNotIn(ssh.client_key.splitlines()[1], e.exception.get_dbus_message())
        settings = self.ssh_settings(ssh)
        del settings['HostKey']
        with self.assertRaises(dbus.DBusException) as e:
            mgr.AddExit('ssh', 'sshuttle', settings)
        self.assertIn('HostKey is required', e.exception.get_dbus_message())
        self.assertFalse(os.path.exists(os.path.join(self.cell.state_dir, 'exits', 'ssh.json')))

    def test_z4_sshuttle_carries_tcp_and_dns_and_fails_closed(self):
        """sshuttle to an sshd upstream: the peer's TCP reaches the internet from the SSH server's side,
        its DNS is answered by the server's resolver through the tunnel, nothing else leaves, and a
        wrong host key is a failed exit that says so."""
        ssh = self.ssh
        self.start_internet_dns()
        ssh.start(self.w.up)
        # pasted without its last newline, which ssh needs: the cell adds it
        path = self.cell.manager().AddExit('ssh', 'sshuttle', self.ssh_settings(ssh, SshKey=ssh.client_key.rstrip()))
        self.wait_state('up', 'ssh')
        props = self.cell.properties(EXIT_IFACE, path)
        self.assertEqual(str(props['Endpoint']), '%s:%d' % (UPLINK_UP, ssh.port))
        self.assertNotIn(ssh.client_key.splitlines()[1], repr(props))

        before = self.w.leaked()
        self.w.set_peer_exit('ssh')
        if self.w.client is None:
            self.w.connect_client()
        flood = self.w.flood()  # ICMP: not TCP, so dropped
        self.assertEqual(self.w.probe(), INTERNET)  # the SSH server's side connects, not the cell's uplink
        answer = self.w.peer_ns.run(['dig', '+short', '+time=2', '+tries=2', '@' + self.w.vpn_ip, 'proxy.example'],
                                    check=False).stdout.strip()
        self.assertEqual(answer, '198.18.9.77')
        self.assertGreater(int(self.exit_obj('ssh').Test()), 0)

        # the server gone: not up, and nothing leaves
        ssh.stop()
        self.w.wait_state('failed', 'ssh', timeout=30)
        self.assertTrue(self.w.probe(1).startswith('error'))
        flood.stop()
        self.assertEqual(self.w.leaked(), before)

        # another server's key: refused by ssh, failed with the reason
        ssh.start(self.w.up)
        self.wait_state('up', 'ssh')
        other = SshServer(self.world, port=2223)
        self.exit_obj('ssh').Update(dbus.Dictionary({'HostKey': other.host_key}, signature='sv'))
        self.w.wait_state('failed', 'ssh', timeout=30)
        self.assertIn('Host key verification failed', str(self.exit_prop('LastError', 'ssh')))
        self.exit_obj('ssh').Update(dbus.Dictionary({'HostKey': ssh.host_key}, signature='sv'))
        self.wait_state('up', 'ssh')
        self.assertEqual(self.w.probe(), INTERNET)

        self.w.set_peer_exit('')
        self.exit_obj('ssh').Remove()
        h.wait_for(lambda: 'sshuttle' not in self.cell.netns.run(['nft', 'list', 'tables']).stdout, 10, 0.1,
                   "sshuttle's own table goes with it")
        leftovers = [f for f in os.listdir(self.cell.wg_run_dir) if f.endswith(('.ssh-key', '.known-hosts'))]
        self.assertEqual(leftovers, [])
        ssh.stop()


if __name__ == '__main__':
    h.main()
