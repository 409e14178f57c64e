#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Linked cells as exits, for real: cells a, b and c (test_pairing's world:
each with its bus, pic-celld and gateway, their LANs on one bridge that also
holds "the internet", 198.18.9.9:8000, answering with the address a
connection came from). b is linked with a and with c; a and c offer b their
uplinks (Link.OfferExit); b's laptop leaves through a while b's phone leaves
through c, at the same time. Nothing from either leaves by b's own uplink:
a counter in b's namespace, before the masquerade, says so."""

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
import test_pairing as tp  # noqa: E402
from exit_world import ECHO_SERVER, EXIT_IFACE, INTERNET, INTERNET_PORT, PEER_IFACE, PROBE  # noqa: E402

LINK = 'org.pic.Cell1.Link'
HUB = '10.244.%d.254' % tp.N
DEVICE_LAN = {'laptop': '10.244.%d.10' % tp.N, 'phone': '10.244.%d.11' % tp.N}


class CellExitsTest(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        w = cls.world
        hub = tp.build_cells(cls, allowed=tp.ALLOWED + ['org.pic.cell1.manage-exits'])
        hub.ip('addr', 'add', HUB + '/24', 'dev', 'br0')
        hub.ip('addr', 'add', INTERNET + '/32', 'dev', 'lo')
        hub.ip('link', 'set', 'lo', 'up')
        hub.spawn([sys.executable, '-c', ECHO_SERVER, INTERNET, str(INTERNET_PORT)], name='internet-echo')
        for cell in cls.cells.values():
            cell.netns.ip('route', 'add', 'default', 'via', HUB)
        cls.devices = {}
        for name, lan in DEVICE_LAN.items():
            ns = h.Netns(world=w)
            _, if_hub = h.veth(ns, hub, lan + '/24', None, world=w)
            hub.ip('link', 'set', if_hub, 'master', 'br0')
            hub.ip('link', 'set', if_hub, 'up')
            cls.devices[name] = ns

    @classmethod
    def start_gateway(cls, name):
        tp.PairingWorld.start_gateway.__func__(cls, name)

    # ---------------------------------------------------------------- helpers

    def link(self, cell, other):
        return self.cells[cell].interface(LINK, '/org/pic/Cell1/link/' + other)

    def link_props(self, cell, other):
        return self.cells[cell].properties(LINK, '/org/pic/Cell1/link/' + other)

    def exit_props(self, name):
        return self.cells['b'].properties(EXIT_IFACE, '/org/pic/Cell1/exit/' + name)

    def wait_exit(self, name, state, timeout=30):
        def reached():  # the exit may not exist yet (an offer just made): not yet, rather than an error
            try:
                return str(self.exit_props(name)['State']) == state
            except dbus.DBusException:
                return False
        h.wait_for(reached, timeout, 0.1, 'exit %s on b %s' % (name, state))

    def probe(self, device, timeout=2):
        return self.devices[device].run([sys.executable, '-c', PROBE, INTERNET, str(INTERNET_PORT), str(timeout)],
                                        check=False).stdout.strip()

    def allowed_ips(self, cell):
        """Every allowed IP of every peer of the cell's WireGuard device."""
        return [ip for p in h.uapi_get(self.cells[cell].uapi_socket)['peers'] for ip in p.get('allowed_ip', [])]

    def fetch_web(self, cell, other):
        """What the web stand-in on other's VPN address answers a connection from cell's namespace."""
        p = self.cells[cell].netns.run(['socat', '-T2', '-', 'TCP:%s:80,connect-timeout=2'
                                        % tp.VPN[other].split('/')[0]], check=False, timeout=10)
        return p.stdout.strip()

    def leaked(self):
        out = self.cells['b'].netns.run(['nft', 'list', 'chain', 'inet', self.counter_table, 'out']).stdout
        return int(out.split('packets ')[1].split()[0])

    # ---------------------------------------------------------------- tests, in name order

    def test_1_link_and_offer(self):
        for other in ('a', 'c'):
            invite = str(self.cells[other].manager().CreateInvite(tp.sv({}))[0])
            self.cells['b'].manager().AddLink(invite, tp.sv({}), timeout=30)
        h.wait_for(lambda: all(str(self.link_props('b', o)['State']) == 'connected' for o in ('a', 'c')), 30, 0.2,
                   'b connected with a and c')
        self.assertFalse(self.link_props('b', 'a')['RemoteExitOffered'])
        with self.assertRaises(dbus.DBusException) as e:
            self.cells['b'].manager().AddExit('a', 'cell', tp.sv({'Config': 'x'}))
        self.assertIn('appears on its own', e.exception.get_dbus_message())

        for other in ('a', 'c'):
            self.link(other, 'b').OfferExit(True)
            self.assertTrue(self.link_props(other, 'b')['ExitOffered'])
        for other in ('a', 'c'):
            self.wait_exit(other, 'up')
            props = self.exit_props(other)
            self.assertEqual(str(props['Type']), 'cell')
            self.assertEqual(str(props['Unit']), 'pic-exit-%s.service' % other)
            # its tunnel's address is one of the offering cell's subnet; it resolves through that cell
            self.assertTrue(str(props['Address']).startswith(tp.VPN[other].rsplit('.', 1)[0] + '.'))
            self.assertEqual([str(s) for s in props['DnsServers']], [tp.VPN[other].split('/')[0]])
            self.assertTrue(self.link_props('b', other)['RemoteExitOffered'])
        # a's WireGuard carries b's exit tunnel as one more peer, at that address
        self.assertIn(str(self.exit_props('a')['Address']), self.allowed_ips('a'))

    def test_2_two_devices_two_cells_at_once(self):
        b = self.cells['b']
        clients = {}
        addresses = []
        for device, exit_name in (('laptop', 'a'), ('phone', 'c')):
            path = b.manager().AddPeer(device, tp.sv({'Exit': exit_name}))
            addresses.append(str(b.properties(PEER_IFACE, path)['Address']))
            config = str(b.interface(PEER_IFACE, path).GetConfig())
            self.assertIn('AllowedIPs = 0.0.0.0/0, ::/0', config)
            clients[device] = h.WgClient(self.devices[device], self.world.unique('wgc'), config, world=self.world)
        type(self).counter_table = self.world.unique('pictest')
        uplink = b.netns.run(['ip', '-o', 'route', 'show', 'default']).stdout.split(' dev ')[1].split()[0]
        b.netns.run(['nft', '-f', '-'], input=(
            'table inet %s {\n chain out { type filter hook postrouting priority 99;\n'
            '  oifname "%s" ip saddr { %s } counter\n }\n}\n' % (self.counter_table, uplink, ', '.join(addresses))))
        for c in clients.values():
            h.wait_for(lambda: c.latest_handshake() > 0, 15, 0.1, 'the device handshakes with b')
        self.assertEqual(self.probe('laptop'), tp.LAN['a'])  # out of a's uplink
        self.assertEqual(self.probe('phone'), tp.LAN['c'])   # out of c's, at the same time
        self.assertEqual(self.leaked(), 0)
        # the laptop's DNS goes to a's resolver, through the exit
        dns_map = b.netns.run(['nft', 'list', 'map', 'inet', 'pic', 'peer_exit_dns']).stdout
        self.assertIn('%s : %s' % (addresses[0], tp.VPN['a'].split('/')[0]), dns_map)

    def test_3_withdrawn_offer_cuts_off_only_its_users(self):
        flood = self.devices['laptop'].spawn(['ping', '-q', '-i', '0.01', '-W', '1', INTERNET], name='flood',
                                             stdout=subprocess.DEVNULL)
        self.link('a', 'b').OfferExit(False)
        h.wait_for(lambda: not self.link_props('b', 'a')['RemoteExitOffered'], 15, 0.1, 'b told of the withdrawal')
        self.wait_exit('a', 'down')
        self.assertIn('does not offer', str(self.exit_props('a')['LastError']))
        self.assertTrue(self.probe('laptop', 1).startswith('error'))
        self.assertEqual(self.probe('phone'), tp.LAN['c'])
        # a no longer carries b's tunnel: nothing of b's gets out through a
        self.assertNotIn(str(self.exit_props('a')['Address']), self.allowed_ips('a'))
        self.link('a', 'b').OfferExit(True)
        self.wait_exit('a', 'up')
        self.assertEqual(self.probe('laptop'), tp.LAN['a'])
        flood.stop()
        self.assertEqual(self.leaked(), 0)

    def test_4_moving_a_is_refused_while_b_uses_it(self):
        with self.assertRaises(dbus.DBusException) as e:
            self.cells['a'].manager().Configure(tp.sv({'VpnAddress': '10.99.%d.1/24' % tp.N}))
        self.assertIn('uses this cell as its exit', e.exception.get_dbus_message())

    def test_5_removed_link_takes_its_exit_and_leaks_nothing(self):
        self.link('b', 'a').Remove()
        h.wait_for(lambda: '/org/pic/Cell1/exit/a' not in self.cells['b'].managed_objects(), 10, 0.1,
                   'exit a gone from b')
        self.assertTrue(self.probe('laptop', 1).startswith('error'))  # its exit is gone: dropped, not sent out
        self.assertEqual(self.probe('phone'), tp.LAN['c'])
        self.assertEqual(self.leaked(), 0)

    def test_6_picctl_shows_offers_and_withdraws(self):
        b, c = self.cells['b'], self.cells['c']

        def picctl(cell, *args):
            p = cell.picctl(*args)
            self.assertEqual((p.returncode, p.stderr), (0, ''), p)
            return p.stdout

        def refused(cell, *args, **kwargs):
            p = cell.picctl(*args, **kwargs)
            self.assertEqual((p.returncode, p.stdout), (1, ''), p)
            return p.stderr

        # c offers b its uplink (test 1): both sides say so, in words and in JSON
        show = picctl(c, 'link', 'show', 'b')
        self.assertIn("      ExitOffered: yes (this cell's uplink, for its peers)\n", show)
        self.assertIn('RemoteExitOffered: no\n', show)
        self.assertIn('RemoteExitOffered: yes (its uplink: exit c here)\n', picctl(b, 'link', 'show', 'c'))
        self.assertRegex(picctl(c, 'link', 'list'), r'\nb +connected .* to it\n')
        self.assertRegex(picctl(b, 'link', 'list'), r'\nc +connected .* to us\n')
        data = json.loads(picctl(c, 'link', 'show', 'b', '--json'))
        self.assertEqual((data['ExitOffered'], data['RemoteExitOffered']), (True, False))
        self.assertEqual([(x['Name'], x['RemoteExitOffered']) for x in json.loads(picctl(b, 'link', 'list', '--json'))],
                         [('c', True)])

        # on b it is exit c, of type cell: not removed or reconfigured by hand; its test target changes, Test works
        rows = [line.split() for line in picctl(b, 'exit', 'list').splitlines()]
        self.assertEqual([r[:3] for r in rows[1:]], [['c', 'cell', 'up']])
        self.assertIn('Via: linked cell c (', picctl(b, 'exit', 'show', 'c'))
        self.assertIn('kept (down) while cell c does not offer it', refused(b, 'exit', 'remove', 'c'))
        self.assertIn('only TestTarget can change', refused(b, 'exit', 'update', 'c', '--config', '-',
                                                          input='[Interface]\n'))
        target = '%s:%d' % (INTERNET, INTERNET_PORT)
        picctl(b, 'exit', 'update', 'c', '--test-target', target)
        self.assertIn('Connected to %s through exit c in ' % target, picctl(b, 'exit', 'test', 'c'))

        # withdrawing needs manage-links on c
        c.polkit.set_allowed([a for a in tp.ALLOWED if a != 'org.pic.cell1.manage-links'] +
                             ['org.pic.cell1.manage-exits'])
        try:
            self.assertIn('org.pic.cell1.manage-links', refused(c, 'link', 'offer-exit', 'b', 'off'))
        finally:
            c.polkit.set_allowed(tp.ALLOWED + ['org.pic.cell1.manage-exits'])
        self.assertTrue(self.link_props('c', 'b')['ExitOffered'])

        # withdrawn with picctl: b's phone (on exit c) is cut off, nothing leaks; offered again, it is back
        self.assertTrue(picctl(c, 'link', 'offer-exit', 'b', 'off').startswith(
            "Cell b may not use this cell's uplink as an exit"))
        self.assertFalse(self.link_props('c', 'b')['ExitOffered'])
        h.wait_for(lambda: not self.link_props('b', 'c')['RemoteExitOffered'], 15, 0.1, 'b told of the withdrawal')
        self.wait_exit('c', 'down')
        self.assertIn('RemoteExitOffered: no\n', picctl(b, 'link', 'show', 'c'))
        self.assertRegex(picctl(c, 'link', 'list'), r'\nb +connected .* -\n')
        self.assertTrue(self.probe('phone', 1).startswith('error'))
        self.assertTrue(picctl(c, 'link', 'offer-exit', 'b', 'on').startswith(
            "Cell b may use this cell's uplink as an exit for its peers"))
        self.wait_exit('c', 'up')
        self.assertEqual(self.probe('phone'), tp.LAN['c'])
        self.assertEqual(self.leaked(), 0)

    def test_7_restored_on_a_new_box(self):
        """b backed up, its box gone (daemon, units, WireGuard, firewall, state), a fresh b restored:
        its phone comes back with its old client config and leaves through c again, the link with c
        is connected without pairing again, what c shares with b and b with c still reaches, and
        b's next signed message to c is not a replay."""
        b, c = self.cells['b'], self.cells['c']
        b.polkit.set_allowed(tp.ALLOWED + ['org.pic.cell1.manage-exits', 'org.pic.cell1.backup'])
        # each shares its web with the other (a stand-in on its VPN address)
        for cell, other in ((b, 'c'), (c, 'b')):
            name = 'b' if cell is b else 'c'
            cell.netns.spawn(['socat', 'TCP-LISTEN:80,bind=%s,reuseaddr,fork' % tp.VPN[name].split('/')[0],
                              'SYSTEM:echo web of ' + name], name='web-' + name)
            self.link(name, other).SetShared(dbus.Array(['web'], signature='s'))
        h.wait_for(lambda: list(self.link_props('b', 'c')['RemoteShared']) == ['web'], 15, 0.1, 'b told')
        h.wait_for(lambda: self.fetch_web('b', 'c') == 'web of c', 15, 0.2, "b at c's web")
        h.wait_for(lambda: self.fetch_web('c', 'b') == 'web of b', 15, 0.2, "c at b's web")
        archive = os.path.join(self.world.path, 'b.backup')
        fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            b.manager().Backup(dbus.types.UnixFd(fd), tp.sv({'Passphrase': 'b on a new box'}), timeout=120)
        finally:
            os.close(fd)

        # b goes on after its backup: two messages to c that the backup's counters do not know of
        for offer in (True, False):
            self.link('b', 'c').OfferExit(offer)
            h.wait_for(lambda: self.link_props('c', 'b')['RemoteExitOffered'] == offer, 15, 0.1, 'c told')

        # the box dies: nothing of b is left but its namespace's cables
        b.stop()
        b.bus.systemctl('stop', 'pic-exit-c.service', 'pic-dns.service', check=False)
        h._stop_pids(b.netns.pids())
        for line in b.netns.run(['ip', '-o', 'link', 'show', 'type', 'wireguard']).stdout.splitlines():
            b.netns.ip('link', 'del', line.split(':')[1].strip().split('@')[0])
        b.netns.run(['nft', 'delete', 'table', 'inet', 'pic'], check=False)
        b.netns.run(['ip', 'rule', 'flush', 'protocol', '165'], check=False)
        for d in (b.state_dir, b.wg_run_dir):
            for name in os.listdir(d):
                path = os.path.join(d, name)
                shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
        h.wait_for(lambda: self.probe('phone', 1).startswith('error'), 10, 0.2, 'the phone cut off')

        # a fresh b, restored (no Replace: it was never set up)
        b.start()
        self.assertFalse(b.properties('org.pic.Cell1.Manager')['SetupComplete'])
        pid = b.pid()
        fd = os.open(archive, os.O_RDONLY)
        try:
            self.assertEqual(str(b.manager().Restore(dbus.types.UnixFd(fd), tp.sv({'Passphrase': 'b on a new box'}),
                                                     timeout=120)), 'b')
        finally:
            os.close(fd)
        h.wait_for(lambda: b.bus.has_owner(h.CELL_BUS_NAME) and b.pid() != pid, 30, 0.1, 'b back, restored')
        h.wait_for(lambda: str(self.link_props('c', 'b')['State']) == 'connected' and
                   str(self.link_props('b', 'c')['State']) == 'connected', 60, 0.2, 'b and c connected again')
        self.wait_exit('c', 'up', timeout=60)
        h.wait_for(lambda: self.probe('phone', 1) == tp.LAN['c'], 30, 0.5, 'the phone out through c again')
        self.assertEqual(self.leaked(), 0)
        # the sharing both ways holds: c's as b knows it and as c's firewall lets b in, b's as restored
        # (b's web runs again on the new box)
        b.netns.spawn(['socat', 'TCP-LISTEN:80,bind=%s,reuseaddr,fork' % tp.VPN['b'].split('/')[0],
                       'SYSTEM:echo web of b'], name='web-b-again')
        self.assertEqual(list(self.link_props('b', 'c')['Shared']), ['web'])
        self.assertEqual(list(self.link_props('b', 'c')['RemoteShared']), ['web'])
        self.assertEqual(self.fetch_web('b', 'c'), 'web of c')
        h.wait_for(lambda: self.fetch_web('c', 'b') == 'web of b', 10, 0.2, "c at b's web again")
        self.link('c', 'b').SetShared(dbus.Array([], signature='s'))
        self.assertEqual(self.fetch_web('b', 'c'), '', 'taken back by c: refused')
        # b's messages to c count on from beyond what c has seen: its offer arrives
        self.link('b', 'c').OfferExit(True)
        h.wait_for(lambda: self.link_props('c', 'b')['RemoteExitOffered'], 15, 0.1, "c told of b's offer")
        self.link('b', 'c').OfferExit(False)


if __name__ == '__main__':
    h.main()
