#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""All or nothing: a failure injected at each step of a change (the durable
write, WireGuard, the firewall, the model swap) makes the call fail with a
named error and leaves the state files, the WireGuard device and the nftables
table exactly as they were before the call. Then the same change, uninjected,
goes through."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402

ALL_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets',
               'org.pic.cell1.read-firewall']
MANAGER = 'org.pic.Cell1.Manager'
PEER = 'org.pic.Cell1.Peer'
FAILED = 'org.pic.Cell1.Error.Failed'
N = os.getpid() % 200
VPN = '10.62.%d.1/24' % N
MOVED_VPN = '10.63.%d.1/24' % N
COUNTERS = ('last_handshake_time_sec', 'last_handshake_time_nsec', 'rx_bytes', 'tx_bytes', 'endpoint')


def sv(d):
    return dbus.Dictionary(d, signature='sv')


def strv(items):
    return dbus.Array(items, signature='s')


class AtomicTest(h.HarnessTestCase):
    def setUp(self):
        super().setUp()
        self.failure_file = os.path.join(self.world.path, 'fail')
        self.cell = h.Cell(world=self.world, extra_args=['--test-failure-file=%s' % self.failure_file,
                                                         '--stats-interval=60'])
        self.cell.polkit.set_allowed(ALL_ACTIONS)
        self.cell.start()
        self.mgr = self.cell.manager()
        self.mgr.Setup(sv({'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': VPN}))
        for name, access in (('laptop', ['dns']), ('phone', ['web', 'mail']), ('tv', [])):
            self.mgr.AddPeer(name, sv({'ServiceAccess': strv(access)}))

    def snapshot(self):
        files = {}
        for d, _, names in os.walk(self.cell.state_dir):
            for f in names:
                with open(os.path.join(d, f), 'rb') as fh:
                    files[os.path.relpath(os.path.join(d, f), self.cell.state_dir)] = fh.read()
        wg = h.uapi_get(self.cell.uapi_socket)
        self.assertEqual(wg['errno'], 0)
        peers = sorted(({k: v for k, v in p.items() if k not in COUNTERS} for p in wg['peers']),
                       key=lambda p: p['public_key'])
        address = self.cell.netns.run(['ip', '-4', '-o', 'addr', 'show', 'dev', self.cell.ifname]).stdout.split()[3]
        return {'files': files, 'device': wg['device'], 'peers': peers, 'address': address,
                'firewall': str(self.mgr.GetFirewall()), 'objects': self.cell.managed_objects()}

    def peer(self, name):
        return self.cell.interface(PEER, self.mgr.GetPeerByName(name))

    def assert_all_or_nothing(self, what, call, steps):
        for step in steps:
            with self.subTest(what=what, step=step):
                before = self.snapshot()
                with open(self.failure_file, 'w') as f:
                    f.write(step)
                with self.assertRaises(dbus.DBusException) as cm:
                    call()
                os.unlink(self.failure_file)
                self.assertEqual(cm.exception.get_dbus_name(), FAILED, cm.exception.get_dbus_message())
                after = self.snapshot()
                for key in before:
                    self.assertEqual(after[key], before[key], '%s changed after a failure at %s' % (key, step))
        call()  # and without a failure it goes through

    def test_add_peer(self):
        self.assert_all_or_nothing('AddPeer', lambda: self.mgr.AddPeer('tablet', sv({
                'ServiceAccess': strv(['files']), 'NetworkAccess': strv(['lan'])})),
                ['state 0', 'wireguard 0', 'firewall 0', 'index 0'])
        self.assertEqual(self.cell.properties(MANAGER)['PeerCount'], 4)

    def test_add_peers(self):
        base = VPN.rsplit('.', 1)[0]
        batch = dbus.Array([sv({'Name': 'imp%d' % i}) for i in range(40)] +
                           [sv({'Name': 'fixed', 'Address': base + '.200', 'PublicKey': h.wg_genkey()[1],
                                'ServiceAccess': strv(['files']), 'NetworkAccess': strv(['lan'])})],
                           signature='a{sv}')
        self.assert_all_or_nothing('AddPeers', lambda: self.mgr.AddPeers(batch),
                                   ['state 0', 'wireguard 0', 'firewall 0', 'index 0', 'index 20'])
        self.assertEqual(self.cell.properties(MANAGER)['PeerCount'], 3 + 41)
        self.assertEqual(len(h.uapi_get(self.cell.uapi_socket)['peers']), 3 + 41)
        fixed = self.cell.properties(PEER, self.mgr.GetPeerByName('fixed'))
        self.assertEqual(str(fixed['Address']), base + '.200')
        self.assertIn('%s.200 . 0x00000002' % base, str(self.mgr.GetFirewall()))

    def test_add_peers_names_the_bad_entry(self):
        base = VPN.rsplit('.', 1)[0]
        before = self.snapshot()
        cases = [
            ([{'Name': 'a'}, {}], 'org.freedesktop.DBus.Error.InvalidArgs', 'Peer 2: Name is missing.'),
            ([{'Name': 'a'}, {'Name': 'b'}, {'Name': 'a'}], 'org.pic.Cell1.Error.Conflict',
             "Peer 3 ('a'): A peer with this name already exists in this call."),
            ([{'Name': 'laptop'}], 'org.pic.Cell1.Error.Conflict', "Peer 1 ('laptop'): A peer with this name"),
            ([{'Name': 'a', 'Address': base + '.90'}, {'Name': 'b', 'Address': base + '.90'}],
             'org.pic.Cell1.Error.Conflict', "Peer 2 ('b'): Address %s.90 is given twice in this call." % base),
            ([{'Name': 'a', 'ServiceAccess': strv(['ssh'])}], 'org.freedesktop.DBus.Error.InvalidArgs',
             "Peer 1: ServiceAccess: unknown service 'ssh'"),
            ([{'Name': 'bad name'}], 'org.freedesktop.DBus.Error.InvalidArgs', "Peer 1 ('bad name'): Peer name must"),
        ]
        for entries, name, message in cases:
            with self.subTest(message=message), self.assertRaises(dbus.DBusException) as cm:
                self.mgr.AddPeers(dbus.Array([sv(e) for e in entries], signature='a{sv}'))
            self.assertEqual(cm.exception.get_dbus_name(), name)
            self.assertIn(message, cm.exception.get_dbus_message())
        self.assertEqual(self.snapshot(), before)
        self.assertEqual([str(p) for p in self.mgr.AddPeers(dbus.Array([], signature='a{sv}'))], [])

    def test_update(self):
        base = VPN.rsplit('.', 1)[0]
        peer = self.peer('phone')
        self.assert_all_or_nothing('Update', lambda: peer.Update(sv({
                'Address': base + '.77', 'ServiceAccess': strv(['files']), 'NetworkAccess': strv(['peers']),
                'PersistentKeepalive': dbus.UInt16(25)})),
                ['state 0', 'wireguard 0', 'firewall 0', 'index 0'])
        self.assertEqual(str(self.cell.properties(PEER, peer.object_path)['Address']), base + '.77')

    def test_remove(self):
        peer = self.peer('laptop')
        self.assert_all_or_nothing('Remove', peer.Remove, ['state 0', 'wireguard 0', 'firewall 0', 'index 0'])
        self.assertEqual(self.cell.properties(MANAGER)['PeerCount'], 2)

    def test_rotate_keys_and_disable(self):
        peer = self.peer('tv')
        self.assert_all_or_nothing('RotateKeys', peer.RotateKeys, ['state 0', 'wireguard 0', 'index 0'])
        self.assert_all_or_nothing('SetEnabled', lambda: peer.SetEnabled(False), ['state 0', 'wireguard 0',
                                                                                  'index 0'])

    def test_apply(self):
        self.mgr.Configure(sv({'VpnAddress': MOVED_VPN, 'ListenPort': dbus.UInt16(51999)}))
        # 'state 2': two peer files are written before the third fails, and are put back
        self.assert_all_or_nothing('Apply', self.mgr.Apply, ['state 0', 'state 2', 'state 3', 'index 1',
                                                              'wireguard 0', 'firewall 0'])
        props = self.cell.properties(MANAGER)
        self.assertEqual(str(props['VpnAddress']), MOVED_VPN)
        self.assertEqual(int(props['ListenPort']), 51999)
        self.assertEqual(self.snapshot()['address'], MOVED_VPN)


class ReconcileTest(h.HarnessTestCase):
    """Reconcilers own exactly what the cell wants: peers of another kind of object (a test-only kind
    standing in for cell links and exits) are kept by every one of them, strangers are removed."""

    def test_another_kinds_peer_is_kept_and_strangers_go(self):
        base = VPN.rsplit('.', 1)[0]
        other_key, stranger_key = h.wg_genkey()[1], h.wg_genkey()[1]
        self.cell = cell = h.Cell(world=self.world, extra_args=[
                '--test-static-peer=%s@%s.200' % (other_key, base), '--stats-interval=0.3'])
        cell.polkit.set_allowed(ALL_ACTIONS)
        cell.start()
        mgr = cell.manager()
        mgr.Setup(sv({'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': VPN}))
        mgr.AddPeer('laptop', sv({}))
        laptop_key = str(cell.properties(PEER, mgr.GetPeerByName('laptop'))['PublicKey'])

        def wg_peers():
            u = h.uapi_get(cell.uapi_socket)
            return {h.key_from_hex(p['public_key']): p['allowed_ip'] for p in u['peers']}

        self.assertEqual(wg_peers(), {laptop_key: [base + '.2/32'], other_key: [base + '.200/32']})
        self.assertIn('%s.200 . 0x00000001' % base, str(mgr.GetFirewall()))

        # a stranger appears on the device; a restart (reconcile from scratch) removes it and nothing else
        self.assertEqual(h.uapi_set(cell.uapi_socket, ['public_key=%s' % h.key_to_hex(stranger_key),
                                                       'allowed_ip=10.99.0.1/32']), 0)
        self.assertIn(stranger_key, wg_peers())
        cell.restart()
        self.assertEqual(wg_peers(), {laptop_key: [base + '.2/32'], other_key: [base + '.200/32']})

        # a peer change, an Apply and a firewall rebuild keep it too
        mgr = cell.manager()
        cell.interface(PEER, mgr.GetPeerByName('laptop')).Update(sv({'PersistentKeepalive': dbus.UInt16(5)}))
        mgr.Configure(sv({'ListenPort': dbus.UInt16(51830)}))
        mgr.Apply()
        self.assertEqual(set(wg_peers()), {laptop_key, other_key})
        cell.netns.run(['nft', 'flush', 'ruleset'])
        h.wait_for(lambda: '%s.200 . 0x00000001' % base in str(mgr.GetFirewall()), 5, 0.1, 'firewall rebuilt')

        # wireguard-go dies: the repaired device has both kinds' peers again
        old = [pid for pid in cell.netns.pids() if 'wireguard-go' in h.run(['cat', '/proc/%d/cmdline' % pid]).stdout]
        self.assertEqual(len(old), 1)
        os.kill(old[0], 9)
        h.wait_for(lambda: os.path.exists(cell.uapi_socket) and set(wg_peers()) == {laptop_key, other_key},
                   15, 0.2, 'device repaired with both kinds of peers')


if __name__ == '__main__':
    h.main()
