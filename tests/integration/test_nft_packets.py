#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The firewall library (src/nft) with real packets, no WireGuard needed:

    peer ns ──veth── cell ns ──veth── svc ns
    10.77.1.2/.3     10.77.1.1 (the "wg" interface)
                     10.77.2.1 (uplink)  10.77.2.2: socat listeners for the
                                         services and for "the internet"

pic-firewall-test-tool applies the table inside the cell namespace. The svc
namespace has no route back to the peers, so every reply there proves the
masquerade; the listeners answer with the source address they saw."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PEER_A = '10.77.1.2'
PEER_B = '10.77.1.3'
CELL_VPN = '10.77.1.1'
CELL_UPLINK = '10.77.2.1'
SVC = '10.77.2.2'
SUBNET = '10.77.1.0/24'
LAN = '10.77.3.0/24'  # what "lan" grants; 10.77.2.0/24 stands for the internet
INTERNET_PORT = 8000  # no service: "the internet"


UDP_SOURCE_ECHO = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    _, (host, port) = s.recvfrom(512)
    s.sendto(('%s:%d' % (host, port)).encode(), (host, port))
'''


def tool_binary():
    return os.path.join(h.build_dir(), 'src', 'nft', 'pic-firewall-test-tool')


def host_ruleset():
    return h.run(['nft', 'list', 'ruleset']).stdout


class NftPacketsTest(h.HarnessTestCase):
    def setUp(self):
        super().setUp()
        if not os.access(tool_binary(), os.X_OK):
            self.skipTest('pic-firewall-test-tool not built at %s' % tool_binary())
        self.host_before = host_ruleset()
        self.peer = h.Netns(world=self.world)
        self.cell = h.Netns(world=self.world)
        self.svc = h.Netns(world=self.world)
        self.wg_if, peer_if = h.veth(self.cell, self.peer, CELL_VPN + '/24', PEER_A + '/24', world=self.world)
        self.peer.ip('addr', 'add', PEER_B + '/24', 'dev', peer_if)
        self.peer.ip('route', 'add', 'default', 'via', CELL_VPN)
        self.uplink_if, _ = h.veth(self.cell, self.svc, CELL_UPLINK + '/24', SVC + '/24', world=self.world)
        self.cell.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])

        answer = 'EXEC:printenv SOCAT_PEERADDR'  # socat execs it directly, no shell
        for port in (25, 445, 80, 53, INTERNET_PORT):
            self.svc.spawn(['socat', 'TCP-LISTEN:%d,bind=%s,fork,reuseaddr' % (port, SVC), answer],
                           name='tcp%d' % port)
        # answers each datagram with its source (socat's fork + printenv lost replies: printenv had
        # exited before socat wrote the query to it, and EPIPE ended that child)
        self.svc.spawn([sys.executable, '-c', UDP_SOURCE_ECHO, SVC, '53'], name='udp53')
        h.wait_for(lambda: all(':%d ' % p in self.svc.run(['ss', '-ltn']).stdout for p in (25, 445, 80, 53, INTERNET_PORT)),
                   10, 0.1, 'socat listeners')
        # and the UDP one: a probe before it is bound gets "port unreachable" (a flaky first DNS probe)
        h.wait_for(lambda: ':53 ' in self.svc.run(['ss', '-lun']).stdout, 10, 0.05, 'the UDP 53 listener')

    def tearDown(self):
        # the host's ruleset never changes, whatever happened in the namespaces
        self.assertEqual(host_ruleset(), self.host_before)

    # ------------------------------------------------------------ helpers

    def tool(self, *args, check=True):
        argv = [tool_binary(), '--wg', self.wg_if, '--uplink', self.uplink_if, '--subnet', SUBNET,
                '--vpn-address', CELL_VPN, '--lan-networks', LAN] + \
               ['--service=%s=%s' % (s, SVC) for s in ('dns', 'web', 'mail', 'files')] + list(args)
        return self.cell.run(argv, check=check)

    def tcp(self, src, dst, port):
        """The source address the listener saw, or None if the connection failed."""
        p = self.peer.run(['socat', '-u', 'TCP:%s:%d,connect-timeout=2,bind=%s' % (dst, port, src), 'STDOUT'],
                          check=False, timeout=15)
        return p.stdout.strip().rsplit(':', 1)[0] if p.returncode == 0 and p.stdout.strip() else None

    def udp(self, src, dst, port):
        p = self.peer.run(['socat', '-T', '5', '-t', '5', '-', 'UDP:%s:%d,bind=%s' % (dst, port, src)],
                          check=False, timeout=15, input='query\n')
        return p.stdout.strip().rsplit(':', 1)[0] if p.stdout.strip() else None

    # ------------------------------------------------------------ tests

    def test_access_follows_grants(self):
        # Without our table everything passes, but the svc side cannot answer (no masquerade, no route)
        self.assertIsNone(self.tcp(PEER_A, SVC, 445))

        self.tool('apply', '%s=files' % PEER_A, '%s=mail' % PEER_B)
        self.assertIn('10.77.1.2 . 10.77.2.2 . tcp . 445', self.tool('dump').stdout)

        # granted services pass, and the service side sees the cell's uplink address
        self.assertEqual(self.tcp(PEER_A, SVC, 445), CELL_UPLINK)
        self.assertEqual(self.tcp(PEER_B, SVC, 25), CELL_UPLINK)
        # services not granted are closed
        self.assertIsNone(self.tcp(PEER_A, SVC, 25))
        self.assertIsNone(self.tcp(PEER_B, SVC, 445))
        # everything else is the internet, masqueraded
        self.assertEqual(self.tcp(PEER_A, SVC, INTERNET_PORT), CELL_UPLINK)
        self.assertEqual(self.tcp(PEER_B, SVC, INTERNET_PORT), CELL_UPLINK)

        # revoke files, grant mail: the next connections flip
        self.tool('access', PEER_A, 'files', 'mail')
        self.assertIsNone(self.tcp(PEER_A, SVC, 445))
        self.assertEqual(self.tcp(PEER_A, SVC, 25), CELL_UPLINK)
        # the other peer did not change
        self.assertEqual(self.tcp(PEER_B, SVC, 25), CELL_UPLINK)
        self.assertIsNone(self.tcp(PEER_B, SVC, 445))

        # removing the peer closes its services but not the internet
        self.tool('remove', PEER_A, 'mail')
        self.assertIsNone(self.tcp(PEER_A, SVC, 25))
        self.assertEqual(self.tcp(PEER_A, SVC, INTERNET_PORT), CELL_UPLINK)

        # unknown service names are refused and change nothing
        before = self.tool('dump').stdout
        self.assertNotEqual(self.tool('access', PEER_B, 'mail', 'ssh', check=False).returncode, 0)
        self.assertEqual(self.tool('dump').stdout, before)

    def test_networks_need_grants(self):
        self.cell.spawn(['socat', 'TCP-LISTEN:2222,bind=%s,fork,reuseaddr' % CELL_VPN, 'EXEC:printenv SOCAT_PEERADDR'],
                        name='cell-ssh')
        h.wait_for(lambda: ':2222 ' in self.cell.run(['ss', '-ltn']).stdout, 10, 0.1, 'cell listener')
        self.tool('apply', '%s=files' % PEER_A, '%s=files/' % PEER_B)
        self.assertIn('%s . 0x00000001' % PEER_A, self.tool('dump').stdout)
        # the internet: the default grant; none for B
        self.assertEqual(self.tcp(PEER_A, SVC, INTERNET_PORT), CELL_UPLINK)
        self.assertIsNone(self.tcp(PEER_B, SVC, INTERNET_PORT))
        self.assertEqual(self.tcp(PEER_B, SVC, 445), CELL_UPLINK)  # its service still
        # the cell host's own ports: closed to both, whatever they were granted
        self.assertIsNone(self.tcp(PEER_A, CELL_VPN, 2222))
        self.assertIsNone(self.tcp(PEER_B, CELL_VPN, 2222))
        # the rules do not depend on who is granted what
        self.tool('apply', '%s=files/internet,lan,peers' % PEER_A, '%s=files/internet' % PEER_B)
        self.assertEqual(self.tcp(PEER_B, SVC, INTERNET_PORT), CELL_UPLINK)
        self.assertIsNone(self.tcp(PEER_A, CELL_VPN, 2222))
        self.assertNotEqual(self.tool('apply', '%s=files/moon' % PEER_A, check=False).returncode, 0)

    def test_dnat_to_services(self):
        self.tool('apply', '%s=dns,web' % PEER_A, '%s=files' % PEER_B)
        # DNS to the cell's VPN address reaches the DNS listener (udp and tcp), masqueraded
        self.assertEqual(self.udp(PEER_A, CELL_VPN, 53), CELL_UPLINK)
        self.assertEqual(self.tcp(PEER_A, CELL_VPN, 53), CELL_UPLINK)
        # HTTP to the cell's VPN address reaches the web entry point
        self.assertEqual(self.tcp(PEER_A, CELL_VPN, 80), CELL_UPLINK)
        # a peer without dns/web is translated but then filtered
        self.assertIsNone(self.udp(PEER_B, CELL_VPN, 53))
        self.assertIsNone(self.tcp(PEER_B, CELL_VPN, 80))

    def test_rebuild_after_flush(self):
        self.tool('apply', '%s=files' % PEER_A)
        self.assertEqual(self.tcp(PEER_A, SVC, 445), CELL_UPLINK)
        self.cell.run(['nft', 'flush', 'ruleset'])
        self.assertNotEqual(self.tool('exists', check=False).returncode, 0)
        self.assertIsNone(self.tcp(PEER_A, SVC, 445))  # no masquerade any more
        self.tool('apply', '%s=files' % PEER_A)
        self.assertEqual(self.tool('exists', check=False).returncode, 0)
        self.assertEqual(self.tcp(PEER_A, SVC, 445), CELL_UPLINK)


if __name__ == '__main__':
    h.main()
