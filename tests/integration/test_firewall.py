#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The cell's firewall, proven with real packets through real WireGuard tunnels.

    peer-a ─┐ (veth + WireGuard)
            ├─ cell (pic-celld, wireguard-go, table inet pic) ── svc ("internet" and the services)
    peer-b ─┘
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402

ALL_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets', 'org.pic.cell1.read-firewall']
N = os.getpid() % 200
VPN = '10.233.%d.1/24' % N
CELL_VPN_IP = VPN.split('/')[0]
SVC_NET = '10.234.%d' % N      # cell .1, svc .2: the uplink side
SVC_IP = SVC_NET + '.2'
LAN_NET = '10.236.%d' % N      # cell .1, a LAN host .2: what --lan-networks names
LAN_IP = LAN_NET + '.2'
OTHER_NET = '10.237.%d' % N    # a second way out, for the uplink to move to
FAILED = 'org.pic.Cell1.Error.Failed'

SERVICES = {
    'files': {'address': SVC_IP, 'ports': ['tcp/445']},
    'mail': {'address': SVC_IP, 'ports': ['tcp/143']},
    'dns': {'address': SVC_IP, 'ports': ['udp/53', 'tcp/53']},
    'web': {'address': SVC_IP, 'ports': ['tcp/80', 'tcp/443']},
}


def read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


def sv(d):
    return dbus.Dictionary(d, signature='sv')


def strv(items):
    return dbus.Array(items, signature='s')


class FirewallTest(h.HarnessTestCase):
    def setUp(self):
        super().setUp()
        self.host_ruleset = h.run(['nft', 'list', 'ruleset']).stdout
        self.addCleanup(lambda: self.assertEqual(h.run(['nft', 'list', 'ruleset']).stdout, self.host_ruleset,
                                                 "the host's ruleset changed"))
        services = os.path.join(self.world.path, 'services.json')
        with open(services, 'w') as f:
            json.dump(SERVICES, f)
        self.failure_file = os.path.join(self.world.path, 'fail-firewall')
        self.cell = h.Cell(world=self.world, extra_args=['--services=%s' % services, '--stats-interval=0.5',
                                                         '--lan-networks=%s.0/24' % LAN_NET,
                                                         '--test-firewall-failure-file=%s' % self.failure_file])
        self.cell.polkit.set_allowed(ALL_ACTIONS)

        # the "internet" and the services, behind the cell's uplink; no route back to the VPN
        self.svc = h.Netns(world=self.world)
        h.veth(self.cell.netns, self.svc, SVC_NET + '.1/24', SVC_IP + '/24', world=self.world)
        self.cell.netns.ip('route', 'add', 'default', 'via', SVC_IP)
        self.cell.netns.run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
        for port in (445, 143, 80, 8080):
            # 8080 is "a web site on the internet": it answers with the address it saw
            self.svc.spawn(['socat', 'TCP-LISTEN:%d,bind=%s,reuseaddr,fork' % (port, SVC_IP),
                            'SYSTEM:echo $SOCAT_PEERADDR'], name='listen-%d' % port)
        self.svc.spawn(['socat', 'UDP-RECVFROM:53,bind=%s,reuseaddr,fork' % SVC_IP, 'SYSTEM:echo dns-answer'],
                       name='listen-dns')

        self.cell.start()
        self.mgr = self.cell.manager()
        self.mgr.Setup(sv({'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': VPN}))
        self.assertEqual(str(self.cell.properties('org.pic.Cell1.Manager')['Uplink']),
                         self.cell.netns.run(['ip', '-o', 'route', 'show', 'default']).stdout.split()[4])

    def add_client(self, name, lan, access):
        ns = h.Netns(world=self.world)
        h.veth(self.cell.netns, ns, '10.235.%d.1/24' % lan, '10.235.%d.2/24' % lan, world=self.world)
        path = self.mgr.AddPeer(name, sv({'ServiceAccess': strv(access)}))
        peer = self.cell.interface('org.pic.Cell1.Peer', path)
        config = str(peer.GetConfig()).replace(
                'AllowedIPs = ', 'AllowedIPs = %s.0/24, %s.0/24, %s.0/24, ' % (SVC_NET, LAN_NET, OTHER_NET)) + \
            'Endpoint = 10.235.%d.1:51820\n' % lan
        client = h.WgClient(ns, self.world.unique('wgc'), config, world=self.world)
        h.wait_for(lambda: client.ping(CELL_VPN_IP), 20, 0.2, 'tunnel up for %s' % name)
        return peer, client

    def connects(self, client, port, addr=SVC_IP):
        p = client.run(['timeout', '3', 'socat', '-T2', '-', 'TCP:%s:%d,connect-timeout=2' % (addr, port)],
                       check=False, input='')
        return p.returncode == 0 and p.stdout.strip() != ''

    def answer(self, client, port, addr=SVC_IP):
        return client.run(['timeout', '3', 'socat', '-T2', '-', 'TCP:%s:%d,connect-timeout=2' % (addr, port)],
                          check=False, input='').stdout.strip()

    def test_access_follows_service_access(self):
        peer, a = self.add_client('alice', N % 50 + 1, ['files'])
        _, b = self.add_client('bob', N % 50 + 100, ['mail'])
        self.assertTrue(self.connects(a, 445))
        self.assertFalse(self.connects(a, 143))
        self.assertTrue(self.connects(b, 143))
        self.assertFalse(self.connects(b, 445))

        peer.Update(sv({'ServiceAccess': strv(['mail'])}))
        self.assertFalse(self.connects(a, 445))
        self.assertTrue(self.connects(a, 143))
        self.assertTrue(self.connects(b, 143))  # the other peer did not change

        # internet: allowed for every peer, and masqueraded to the uplink address
        self.assertEqual(self.answer(a, 8080).split(':')[0], SVC_NET + '.1')

    def listen(self, argv_prefix, addr, port, name):
        """A TCP listener at addr:port that answers with the address it saw, run through argv_prefix."""
        self.world.spawn(argv_prefix + ['socat', 'TCP-LISTEN:%d,bind=%s,reuseaddr,fork' % (port, addr),
                                        'SYSTEM:echo $SOCAT_PEERADDR'], name=name)

    def test_traffic_classes(self):
        """From a peer: the cell host's other ports, other peers and the LAN are closed until granted;
        the internet is open until its grant is taken away."""
        lan = h.Netns(world=self.world)
        h.veth(self.cell.netns, lan, LAN_NET + '.1/24', LAN_IP + '/24', world=self.world)
        lan.ip('route', 'add', 'default', 'via', LAN_NET + '.1')
        self.listen(lan.argv([]), LAN_IP, 8080, 'lan-host')
        # something else listening on the cell host, on its VPN and its uplink address
        self.listen(self.cell.netns.argv([]), CELL_VPN_IP, 2222, 'cell-ssh-vpn')
        self.listen(self.cell.netns.argv([]), SVC_NET + '.1', 2222, 'cell-ssh-uplink')
        alice_peer, a = self.add_client('alice', N % 50 + 1, ['files'])
        bob_peer, b = self.add_client('bob', N % 50 + 100, [])
        bob_ip = str(self.cell.properties('org.pic.Cell1.Peer', bob_peer.object_path)['Address'])
        self.listen(b.enter_argv([]), bob_ip, 7000, 'bob-listener')
        h.wait_for(lambda: b.run(['ss', '-ltn'], check=False).stdout.count(':7000') > 0, 5, 0.1, 'bob listening')
        self.assertEqual(list(self.cell.properties('org.pic.Cell1.Peer', alice_peer.object_path)['NetworkAccess']),
                         ['internet'])

        # closed by default; the service and the cell's ping still work
        self.assertTrue(self.connects(a, 445))
        self.assertTrue(a.ping(CELL_VPN_IP))
        self.assertFalse(self.connects(a, 2222, CELL_VPN_IP))
        self.assertFalse(self.connects(a, 2222, SVC_NET + '.1'))
        self.assertFalse(self.connects(a, 7000, bob_ip))
        self.assertFalse(self.connects(a, 8080, LAN_IP))
        self.assertTrue(self.connects(a, 8080))  # the internet

        # peers: alice may open connections to bob, not the other way round
        alice_peer.Update(sv({'NetworkAccess': strv(['internet', 'peers'])}))
        self.assertTrue(self.connects(a, 7000, bob_ip))
        alice_ip = str(self.cell.properties('org.pic.Cell1.Peer', alice_peer.object_path)['Address'])
        self.listen(a.enter_argv([]), alice_ip, 7001, 'alice-listener')
        self.assertFalse(self.connects(b, 7001, alice_ip))

        # lan
        alice_peer.Update(sv({'NetworkAccess': strv(['internet', 'peers', 'lan'])}))
        self.assertEqual(self.answer(a, 8080, LAN_IP).split(':')[0], alice_ip)  # not masqueraded on the LAN
        self.assertFalse(self.connects(b, 8080, LAN_IP))
        # the cell host stays closed whatever the grants
        self.assertFalse(self.connects(a, 2222, CELL_VPN_IP))
        self.assertFalse(self.connects(a, 2222, SVC_NET + '.1'))

        # internet taken away: the next connection is cut, the LAN grant still works
        self.assertTrue(self.connects(b, 8080))
        bob_peer.Update(sv({'NetworkAccess': strv([])}))
        self.assertFalse(self.connects(b, 8080))
        self.assertTrue(self.connects(a, 8080))
        ruleset = str(self.mgr.GetFirewall())
        self.assertIn('%s . 0x00000002' % alice_ip, ruleset)
        self.assertNotIn('%s . 0x' % bob_ip, ruleset)

    def test_uplink_follows_the_default_route(self):
        """The default route moves to another interface: Uplink changes (with a signal), the masquerade
        follows, and internet traffic leaves with the new uplink's address."""
        _, a = self.add_client('alice', N % 50 + 1, [])
        rec = h.SignalRecorder(self.cell.bus, signal_name='PropertiesChanged', path=h.CELL_PATH)
        self.addCleanup(rec.close)
        other = h.Netns(world=self.world)
        other_net = OTHER_NET
        new_if, _ = h.veth(self.cell.netns, other, other_net + '.1/24', other_net + '.2/24', world=self.world)
        self.listen(other.argv([]), other_net + '.2', 8080, 'other-internet')
        self.cell.netns.ip('route', 'replace', 'default', 'via', other_net + '.2')
        rec.wait_for(lambda sigs: any(args[1].get('Uplink') == new_if for _, _, args in sigs), 5,
                     'Uplink PropertiesChanged')
        self.assertEqual(str(self.cell.properties('org.pic.Cell1.Manager')['Uplink']), new_if)
        h.wait_for(lambda: 'leave through %s ' % new_if in str(self.mgr.GetFirewall()), 5, 0.1, 'masquerade moved')
        self.assertEqual(self.answer(a, 8080, other_net + '.2').split(':')[0], other_net + '.1')

    def test_dns_and_web_reach_the_cell_address_through_dnat(self):
        _, a = self.add_client('alice', N % 50 + 1, ['dns', 'web'])
        _, b = self.add_client('bob', N % 50 + 100, [])
        q = a.run(['timeout', '3', 'socat', '-T2', '-', 'UDP:%s:53' % CELL_VPN_IP], check=False, input='query\n')
        self.assertEqual(q.stdout.strip(), 'dns-answer')
        self.assertTrue(self.connects(a, 80, CELL_VPN_IP))
        q = b.run(['timeout', '3', 'socat', '-T2', '-', 'UDP:%s:53' % CELL_VPN_IP], check=False, input='query\n')
        self.assertEqual(q.stdout.strip(), '')
        self.assertFalse(self.connects(b, 80, CELL_VPN_IP))

    def test_refused_batch_changes_nothing(self):
        peer, a = self.add_client('alice', N % 50 + 1, ['files'])
        before = str(self.mgr.GetFirewall())
        state = read_bytes(os.path.join(self.cell.state_dir, 'peers', 'alice.json'))
        open(self.failure_file, 'w').close()
        with self.assertRaises(dbus.DBusException) as e:
            peer.Update(sv({'ServiceAccess': strv(['mail'])}))
        self.assertEqual(e.exception.get_dbus_name(), FAILED)
        os.unlink(self.failure_file)

        self.assertEqual(str(self.mgr.GetFirewall()), before)
        self.assertEqual(list(self.cell.properties('org.pic.Cell1.Peer', peer.object_path)['ServiceAccess']),
                         ['files'])
        self.assertEqual(read_bytes(os.path.join(self.cell.state_dir, 'peers', 'alice.json')), state)
        self.assertTrue(self.connects(a, 445))
        self.assertFalse(self.connects(a, 143))
        self.assertTrue(h.wait_for(lambda: a.ping(CELL_VPN_IP), 10, 0.2, 'WireGuard untouched'))

    def test_access_moves_with_the_address(self):
        base = VPN.rsplit('.', 1)[0]
        path = self.mgr.AddPeer('carol', sv({'ServiceAccess': strv(['files', 'mail']), 'Address': base + '.50'}))
        peer = self.cell.interface('org.pic.Cell1.Peer', path)
        self.assertIn('%s.50 . %s . tcp . 445' % (base, SVC_IP), str(self.mgr.GetFirewall()))
        peer.Update(sv({'Address': base + '.60'}))
        ruleset = str(self.mgr.GetFirewall())
        self.assertNotIn('%s.50 . ' % base, ruleset)
        self.assertIn('%s.60 . %s . tcp . 445' % (base, SVC_IP), ruleset)
        self.assertIn('%s.60 . %s . tcp . 143' % (base, SVC_IP), ruleset)
        peer.Remove()
        self.assertNotIn('%s.60 . ' % base, str(self.mgr.GetFirewall()))

    def test_flushed_table_is_rebuilt(self):
        _, a = self.add_client('alice', N % 50 + 1, ['files'])
        before = str(self.mgr.GetFirewall())
        self.cell.netns.run(['nft', 'flush', 'ruleset'])
        # rebuilt by itself (how fast is bench_firewall's business, not a timed assertion's)
        h.wait_for(lambda: self.cell.netns.run(['nft', 'list', 'table', 'inet', 'pic'], check=False).returncode == 0,
                   15, 0.02, 'table inet pic rebuilt')
        self.assertEqual(self.strip_handles(str(self.mgr.GetFirewall())), self.strip_handles(before))
        self.assertTrue(self.connects(a, 445))
        self.assertFalse(self.connects(a, 143))

    @staticmethod
    def strip_handles(text):
        return re.sub(r'handle \d+', 'handle N', text)


if __name__ == '__main__':
    h.main()
