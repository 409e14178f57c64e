#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Dynamic DNS and cell links for real: cells a and b (each its bus, pic-celld and
gateway) linked over a shared "internet" bridge, a's Endpoint the name it keeps at
its uplink's address with a stand-in duckdns (test_ddns.py's server) on that
bridge. b learns a's address, not the name (WireGuard takes addresses), and when
a's uplink address changes, a tells the provider and b, signed, and b's WireGuard
peer follows to the new address."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from gateway_client import gatewayd_binary  # noqa: E402
from test_ddns import DUCK_TOKEN, SERVER  # noqa: E402

N = os.getpid() % 200
LAN = {'a': '10.243.%d.1' % N, 'b': '10.243.%d.2' % N}
A_MOVED = '10.243.%d.5' % N
PROVIDER_IP = '10.243.%d.100' % N
VPN = {'a': '10.75.%d.1/24' % N, 'b': '10.76.%d.1/24' % N}
ALLOWED = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.manage-links',
           'org.pic.cell1.peer-sync']
MANAGER, LINK = 'org.pic.Cell1.Manager', 'org.pic.Cell1.Link'
HOSTNAME = 'acell.duckdns.org'


def sv(d):
    return dbus.Dictionary(d, signature='sv')


class DdnsLinkTest(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        w = cls.world
        hub = h.Netns(world=w)
        hub.ip('link', 'add', 'br0', 'type', 'bridge')
        hub.ip('addr', 'add', PROVIDER_IP + '/24', 'dev', 'br0')
        hub.ip('link', 'set', 'br0', 'up')

        cls.state = w.subdir('provider')
        cert, key = os.path.join(cls.state, 'cert.pem'), os.path.join(cls.state, 'key.pem')
        h.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
               '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=pic-ddns-stand-in',
               '-addext', 'subjectAltName=IP:%s' % PROVIDER_IP])
        server = os.path.join(cls.state, 'server.py')
        with open(server, 'w') as f:
            f.write(SERVER)
        hub.spawn(['/usr/bin/python3', server, PROVIDER_IP, 8443, cert, key, cls.state], name='ddns-stand-in')
        h.wait_for(lambda: os.path.exists(os.path.join(cls.state, 'ready')), 10, what='the stand-in provider')

        cls.cells, cls.uplinks = {}, {}
        for name in ('a', 'b'):
            netns = h.Netns(world=w)
            if_cell, if_hub = h.veth(netns, hub, LAN[name] + '/24', None, world=w)
            hub.ip('link', 'set', if_hub, 'master', 'br0')
            hub.ip('link', 'set', if_hub, 'up')
            cell = h.Cell(world=w, name=name, netns=netns, extra_args=[
                '--uplink=' + if_cell, '--log-level=debug', '--test-ddns-ca-file=' + cert,
                '--test-ddns-base=duckdns=https://%s:8443' % PROVIDER_IP, '--test-ddns-check-interval=0.5',
                '--test-ddns-backoff=1,4'])
            cell.polkit.set_allowed(ALLOWED)
            cell.start()
            cls.cells[name], cls.uplinks[name] = cell, if_cell
            netns.spawn([gatewayd_binary(), '--listen=127.0.0.1:%d' % (8400 + N),
                         '--pairing-listen=%s:8283' % LAN[name], '--log-level=debug'], name='gateway-' + name,
                        env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cell.bus.address))
            cell.manager().Setup(sv({'Name': name, 'Domain': name + '.lan', 'VpnAddress': VPN[name],
                                     'Endpoint': LAN[name] + ':51820'}))
        for name, cell in cls.cells.items():
            h.wait_for(lambda: cell.netns.run(['ss', '-Htln', 'sport = :8283'], check=False).stdout.strip(), 10,
                       0.05, 'the gateway of %s listening' % name)

    def link_on_b(self):
        for path, ifaces in self.cells['b'].managed_objects().items():
            if LINK in ifaces and str(ifaces[LINK]['Name']) == 'a':
                return ifaces[LINK]
        return None

    def wg_endpoint_on_b(self):
        a_key = bytes(__import__('base64').b64decode(str(self.cells['a'].properties(MANAGER)['PublicKey']))).hex()
        for p in h.uapi_get(self.cells['b'].uapi_socket)['peers']:
            if p['public_key'] == a_key:
                return p.get('endpoint')
        return None

    def test_b_follows_a_by_its_ddns_address(self):
        a, b = self.cells['a'], self.cells['b']
        a.manager().Configure(sv({'DdnsProvider': 'duckdns', 'DdnsHostname': HOSTNAME, 'DdnsToken': DUCK_TOKEN}))
        h.wait_for(lambda: str(a.properties(MANAGER)['DdnsState']) == 'up-to-date', 15, 0.05, 'a up to date')
        a.manager().Configure(sv({'Endpoint': HOSTNAME + ':51820'}))

        # a pairs with b: b is given a's address, not the name
        invite = str(b.manager().CreateInvite(sv({}))[0])
        a.manager().AddLink(invite, sv({}), timeout=30)
        self.assertEqual(str(self.link_on_b()['Endpoint']), '%s:51820' % LAN['a'])
        h.wait_for(lambda: str(self.link_on_b()['State']) == 'connected', 20, 0.2, 'b connected with a')

        # a's uplink moves: the provider and b are told, b's WireGuard follows
        netns = a.netns
        netns.ip('addr', 'del', LAN['a'] + '/24', 'dev', self.uplinks['a'])
        netns.ip('addr', 'add', A_MOVED + '/24', 'dev', self.uplinks['a'])
        h.wait_for(lambda: str(a.properties(MANAGER)['DdnsAddress']) == A_MOVED, 15, 0.05, 'a published the move')
        h.wait_for(lambda: str(self.link_on_b()['Endpoint']) == '%s:51820' % A_MOVED, 20, 0.1,
                   "b told a's new address (it has %s)" % self.link_on_b()['Endpoint'])
        h.wait_for(lambda: self.wg_endpoint_on_b() == '%s:51820' % A_MOVED, 10, 0.1,
                   "b's WireGuard at a's new address (it has %s)" % self.wg_endpoint_on_b())
        self.assertEqual(str(a.properties(MANAGER)['Endpoint']), HOSTNAME + ':51820')


if __name__ == '__main__':
    h.main()
