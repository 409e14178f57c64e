#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The cell's DNS for real: a systemd manager runs the private bus and the
cell's dnsmasq unit; a WireGuard peer in its own namespace asks through the
tunnel; the upstream resolver is a dnsmasq of the test's own in an
"internet" namespace. Records follow peer and cell changes, a killed dnsmasq
comes back, and the host's resolv.conf is never touched."""

import hashlib
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from systemd_world import SystemdBus, dig  # noqa: E402

ALL_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets']
MANAGER = 'org.pic.Cell1.Manager'
UNIT = 'pic-dns.service'
N = os.getpid() % 200
CELL_LAN, CLIENT_LAN = '10.234.%d.1' % N, '10.234.%d.2' % N
CELL_LAN2, TABLET_LAN = '10.239.%d.1' % N, '10.239.%d.2' % N
CELL_UP, UPSTREAM, LINKED = '10.235.%d.1' % N, '10.235.%d.2' % N, '10.235.%d.3' % N
VPN = '10.236.%d.1/24' % N
CELL_IP = VPN.split('/')[0]


# The real client, as a user runs it: wg-quick (userspace) on the exported
# config. Runs in the tablet's namespace and a private mount namespace, where
# /run (wireguard-go's sockets) and /etc/resolv.conf are the test's own and a
# resolvconf stand-in first on PATH writes what wg-quick gives it there.
WG_QUICK_SCRIPT = r"""
set -e
dir=$1 conf=$2; shift 2
mount -t tmpfs -o mode=0755 pic-it-run /run
: > "$dir/resolv.conf"
mount --bind "$dir/resolv.conf" /etc/resolv.conf
mkdir -p "$dir/bin"
printf '#!/bin/sh\n[ "$1" = -a ] && cat > %s/resolv.conf\nexit 0\n' "$dir" > "$dir/bin/resolvconf"
chmod +x "$dir/bin/resolvconf"
export PATH="$dir/bin:$PATH" WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
wg-quick up "$conf" >"$dir/wg-quick.log" 2>&1
echo "resolv.conf: $(tr '\n' ' ' < /etc/resolv.conf)"
for name in "$@"; do
        i=0
        until out=$(getent hosts "$name"); do
                i=$((i + 1)); [ $i -lt 100 ] || { echo "$name: no answer"; break; }; sleep 0.05
        done
        echo "$out"
done
wg-quick down "$conf" >>"$dir/wg-quick.log" 2>&1
"""


def sv(d):
    return dbus.Dictionary(d, signature='sv')


def file_digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()



def ours_in_run():
    """What the host's /run holds that could be ours (other work on the machine may add its own)."""
    return sorted(n for n in os.listdir('/run') if n.startswith(('pic', 'wireguard')))

class DnsWorld(h.SharedWorldTestCase):
    """One world for the class: systemd, the cell, its dnsmasq, a peer's namespace and an upstream."""

    @classmethod
    def setUpClass(cls):
        cls.resolv_before = file_digest('/etc/resolv.conf') if os.path.exists('/etc/resolv.conf') else None
        cls.run_before = ours_in_run()  # the units' mount points are made in their own /run
        super().setUpClass()

    @classmethod
    def build_world(cls):
        w = cls.world
        cell_ns, client_ns, up_ns = h.Netns(world=w), h.Netns(world=w), h.Netns(world=w)
        h.veth(cell_ns, client_ns, CELL_LAN + '/24', CLIENT_LAN + '/24', world=w)
        _, up_if = h.veth(cell_ns, up_ns, CELL_UP + '/24', UPSTREAM + '/24', world=w)
        up_ns.ip('addr', 'add', LINKED + '/24', 'dev', up_if)
        # the "internet": answers example.test itself (a public address: dnsmasq drops
        # private and TEST-NET answers from upstreams, --stop-dns-rebind) and nothing else
        up_ns.spawn(['dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
                     '--listen-address=' + UPSTREAM, '--bind-interfaces', '--pid-file=', '--log-facility=-',
                     '--log-queries', '--address=/example.test/1.2.3.4'], name='upstream-dnsmasq')
        # a linked cell's resolver stands in for what cell links will forward to
        up_ns.spawn(['dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
                     '--listen-address=' + LINKED, '--bind-interfaces', '--pid-file=', '--log-facility=-',
                     '--log-queries', '--address=/cellb.lan/10.99.0.7'], name='linked-dnsmasq')
        cls.up_ns, cls.client_ns = up_ns, client_ns
        # a second device's namespace, on a link of its own, for the real wg-quick
        cls.tablet_ns = h.Netns(world=w)
        h.veth(cell_ns, cls.tablet_ns, CELL_LAN2 + '/24', TABLET_LAN + '/24', world=w)
        cls.tablet_ns.ip('route', 'add', CELL_LAN + '/32', 'via', CELL_LAN2)

        cls.bus = SystemdBus(world=w)
        cls.cell = h.Cell(world=w, bus=cls.bus, netns=cell_ns,
                          extra_args=['--stats-interval=0.3', '--test-dns-forward=cellb.lan=' + LINKED])
        cls.cell.polkit.set_allowed(ALL_ACTIONS)
        cls.cell.start()
        cls.mgr = cls.cell.manager()
        cls.mgr.Setup(sv({'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': VPN,
                          'Endpoint': CELL_LAN + ':51820', 'DnsServers': dbus.Array([UPSTREAM], signature='s')}))
        cls.wait_running()
        path = cls.mgr.AddPeer('laptop', sv({'ServiceAccess': dbus.Array(['dns'], signature='s')}))
        cls.laptop = cls.cell.interface('org.pic.Cell1.Peer', path)
        cls.laptop_ip = str(cls.cell.properties('org.pic.Cell1.Peer', path)['Address'])
        cls.config = str(cls.laptop.GetConfig())
        cls.client = h.WgClient(client_ns, w.unique('wgc'), cls.config, world=w)
        h.wait_for(lambda: cls.client.ping(CELL_IP), 15, 0.2, 'ping through the tunnel')

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        after = file_digest('/etc/resolv.conf') if os.path.exists('/etc/resolv.conf') else None
        assert after == cls.resolv_before, 'the host resolv.conf changed'
        assert ours_in_run() == cls.run_before, 'something was made in the host /run'

    @classmethod
    def dns_state(cls):
        return str(cls.cell.properties(MANAGER)['DnsState'])

    @classmethod
    def wait_running(cls, timeout=20):
        h.wait_for(lambda: cls.dns_state() == 'running', timeout, 0.05,
                   'DnsState running (it is %r)' % cls.dns_state())

    def ask(self, name, qtype='A'):
        """Through the tunnel, from the peer's namespace."""
        return dig(self.client_ns, CELL_IP, name, qtype)

    def wait_answer(self, name, want, qtype='A', timeout=5):
        h.wait_for(lambda: self.ask(name, qtype) == want, timeout, 0.02,
                   '%s %s to answer %r (it says %r)' % (qtype, name, want, self.ask(name, qtype)))

    # ------------------------------------------------------------ tests

    def test_1_names_through_the_tunnel(self):
        self.assertEqual(self.client.dns, [CELL_IP])  # the config points the device at the cell
        self.assertEqual(self.ask('home.home.lan'), [CELL_IP])
        self.assertEqual(self.ask('home.lan'), [CELL_IP])
        self.assertEqual(self.ask('laptop.home.lan'), [self.laptop_ip])
        for service in ('web', 'mail', 'calendar', 'files', 'webdav'):
            self.assertEqual(self.ask(service + '.home.lan'), [CELL_IP], service)
        self.assertEqual(self.ask(self.laptop_ip, 'PTR'), ['laptop.home.lan.'])
        # outside the domain: the upstream answers (it alone knows example.test) …
        self.assertEqual(self.ask('www.example.test'), ['1.2.3.4'])
        # … and the cell's own domain never leaves the cell
        self.assertEqual(self.ask('nobody.home.lan'), [])
        with open(self.world.log_path('upstream-dnsmasq')) as f:
            upstream_log = f.read()
        self.assertIn('example.test', upstream_log)
        self.assertNotIn('home.lan', upstream_log)
        self.assertEqual([str(s) for s in self.cell.properties(MANAGER)['DnsServers']], [UPSTREAM])

    def test_1b_per_domain_forward(self):
        self.assertEqual([tuple(str(x) for x in f) for f in self.cell.properties(MANAGER)['DnsForwards']],
                         [('cellb.lan', LINKED)])
        self.assertEqual(self.ask('nas.cellb.lan'), ['10.99.0.7'])
        with open(self.world.log_path('upstream-dnsmasq')) as f:
            self.assertNotIn('cellb.lan', f.read())

    def test_1c_picctl_and_records(self):
        p = self.cell.picctl('dns', '--json')
        self.assertEqual((p.returncode, p.stderr), (0, ''), p)
        info = json.loads(p.stdout)
        self.assertEqual(info['State'], 'running')
        self.assertEqual(info['Servers'], [UPSTREAM])
        self.assertEqual(info['Forwards'], [{'Domain': 'cellb.lan', 'Server': LINKED}])
        self.assertIn({'Name': 'laptop.home.lan', 'Address': self.laptop_ip}, info['Records'])
        self.assertEqual(info['Records'][:2], [{'Name': 'home.home.lan', 'Address': CELL_IP},
                                               {'Name': 'home.lan', 'Address': CELL_IP}])
        # every record answers through the tunnel as listed
        for rec in info['Records']:
            self.assertEqual(self.ask(rec['Name']), [rec['Address']], rec)
        p = self.cell.picctl('dns')
        self.assertEqual(p.returncode, 0, p)
        self.assertIn('State: running', p.stdout)
        self.assertIn('cellb.lan → ' + LINKED, p.stdout)
        self.assertRegex(p.stdout, r'laptop\.home\.lan +%s' % self.laptop_ip.replace('.', r'\.'))
        self.assertRegex(self.cell.picctl('status').stdout, r'\n *DnsState: running\n')

    def test_1d_real_wg_quick_client(self):
        path = self.mgr.AddPeer('tablet', sv({'ServiceAccess': dbus.Array(['dns'], signature='s')}))
        tablet_ip = str(self.cell.properties('org.pic.Cell1.Peer', path)['Address'])
        d = self.world.subdir('wg-quick-tablet')
        conf = os.path.join(d, 'tablet0.conf')  # wg-quick names the interface after the file
        with open(os.open(conf, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
            f.write(str(self.cell.interface('org.pic.Cell1.Peer', path).GetConfig()))
        p = self.tablet_ns.run(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', WG_QUICK_SCRIPT,
                                'wg-quick-test', d, conf, 'laptop.home.lan', 'tablet.home.lan', 'web.home.lan'],
                               check=False, timeout=60)
        if p.returncode != 0:
            with open(os.path.join(d, 'wg-quick.log')) as f:
                print(f.read(), file=sys.stderr)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.split('\n')
        self.assertIn('nameserver %s' % CELL_IP, lines[0])
        self.assertEqual(lines[1].split(), [self.laptop_ip, 'laptop.home.lan'])
        self.assertEqual(lines[2].split(), [tablet_ip, 'tablet.home.lan'])
        self.assertEqual(lines[3].split(), [CELL_IP, 'web.home.lan'])
        self.cell.interface('org.pic.Cell1.Peer', path).Remove()

    def test_2_records_follow_changes(self):
        path = self.mgr.AddPeer('phone', sv({}))
        phone = str(self.cell.properties('org.pic.Cell1.Peer', path)['Address'])
        # without the "dns" grant the device is not pointed at a resolver its firewall class drops
        config = str(self.cell.interface('org.pic.Cell1.Peer', path).GetConfig())
        self.assertNotIn('DNS =', config)
        self.assertIn('DNS =', self.config)
        self.wait_answer('phone.home.lan', [phone])
        self.wait_answer(phone, ['phone.home.lan.'], 'PTR')

        moved = '.'.join(phone.split('.')[:3] + ['200'])
        self.cell.interface('org.pic.Cell1.Peer', path).Update(sv({'Address': moved}))
        self.wait_answer('phone.home.lan', [moved])

        self.cell.interface('org.pic.Cell1.Peer', path).Remove()
        self.wait_answer('phone.home.lan', [])

        self.mgr.Configure(sv({'Domain': 'house.lan'}))
        self.wait_answer('laptop.house.lan', [self.laptop_ip])
        self.wait_answer('laptop.home.lan', [])
        self.wait_answer('home.house.lan', [CELL_IP])
        self.mgr.Configure(sv({'Domain': 'home.lan'}))
        self.wait_answer('laptop.home.lan', [self.laptop_ip])

        # upstreams change at once; a bad one is refused by name and nothing changes
        with self.assertRaises(dbus.DBusException) as e:
            self.mgr.Configure(sv({'DnsServers': dbus.Array([UPSTREAM, 'resolver.example'], signature='s')}))
        self.assertIn("'resolver.example'", e.exception.get_dbus_message())
        self.assertEqual([str(s) for s in self.cell.properties(MANAGER)['DnsServers']], [UPSTREAM])
        self.mgr.Configure(sv({'DnsServers': dbus.Array([], signature='s')}))
        self.wait_answer('www.example.test', [])
        self.mgr.Configure(sv({'DnsServers': dbus.Array([UPSTREAM], signature='s')}))
        self.wait_answer('www.example.test', ['1.2.3.4'])

    def test_3_killed_dnsmasq_comes_back(self):
        pid = self.bus.unit_main_pid(UNIT)
        self.assertGreater(pid, 0)
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        h.wait_for(lambda: self.bus.unit_main_pid(UNIT) not in (0, pid), 10, 0.02, 'a new dnsmasq')
        self.wait_answer('laptop.home.lan', [self.laptop_ip], timeout=10)
        self.wait_answer('www.example.test', ['1.2.3.4'], timeout=10)  # upstreams pushed again
        back = time.monotonic() - t0
        self.wait_running()
        print('dnsmasq answered again %.2f s after kill -9' % back, file=sys.stderr)

    def test_4_pic_celld_restart_keeps_dns(self):
        old = self.cell.pid()
        os.kill(old, signal.SIGKILL)
        self.bus.wait_for_no_owner(h.CELL_BUS_NAME)
        self.cell.start()
        type(self).mgr = self.cell.manager()  # the old proxy is bound to the dead daemon's name
        self.wait_running()
        self.assertEqual(self.ask('laptop.home.lan'), [self.laptop_ip])
        self.assertEqual(self.ask('www.example.test'), ['1.2.3.4'])

    def test_5_unit_is_hardened_and_in_the_cell_namespace(self):
        self.assertEqual(self.bus.unit_property(UNIT, 'ActiveState'), 'active')
        self.assertEqual(self.bus.unit_property(UNIT, 'ProtectSystem'), 'strict')
        self.assertEqual(self.bus.unit_property(UNIT, 'NoNewPrivileges'), 'yes')
        self.assertEqual(self.bus.unit_property(UNIT, 'NetworkNamespacePath'),
                         '/run/netns/%s' % self.cell.netns.name)
        # nothing answers DNS on the client's side of the LAN link: only the VPN address
        self.assertIsNone(dig(self.client_ns, CELL_LAN, 'home.home.lan', timeout=1))


    def test_9_apply_moves_every_record(self):
        """Last: the peers' tunnels keep their old addresses, so this asks from the cell's namespace."""
        moved_vpn = '10.240.%d.1/24' % N
        moved_ip = moved_vpn.split('/')[0]
        self.mgr.Configure(sv({'VpnAddress': moved_vpn}))
        self.mgr.Apply(timeout=60)
        laptop = '.'.join(moved_ip.split('.')[:3] + [self.laptop_ip.split('.')[3]])
        h.wait_for(lambda: dig(self.cell.netns, moved_ip, 'laptop.home.lan') == [laptop], 5, 0.02,
                   'laptop.home.lan in the new subnet')
        self.assertEqual(dig(self.cell.netns, moved_ip, 'home.home.lan'), [moved_ip])
        self.assertEqual(dig(self.cell.netns, moved_ip, laptop, 'PTR'), ['laptop.home.lan.'])
        self.wait_running()


class DnsWithoutServiceManager(h.HarnessTestCase):
    """No systemd on the bus, or no dnsmasq: DnsState says why and the cell works."""

    def check(self, extra_args, want_prefix, service_manager=None):
        cell = h.Cell(world=self.world, extra_args=extra_args, service_manager=service_manager)
        cell.polkit.set_allowed(ALL_ACTIONS)
        cell.start()
        mgr = cell.manager()
        self.assertEqual(str(cell.properties(MANAGER)['DnsState']), 'off: the cell is not set up')
        mgr.Setup(sv({'Name': 'c', 'Domain': 'c.lan', 'VpnAddress': '10.237.%d.1/24' % N}))
        self.assertTrue(str(cell.properties(MANAGER)['DnsState']).startswith(want_prefix),
                        cell.properties(MANAGER)['DnsState'])
        path = mgr.AddPeer('laptop', sv({}))
        self.assertEqual(len(h.uapi_get(cell.uapi_socket)['peers']), 1)
        # the records are written all the same (dnsmasq reads them once it can run)
        dns_dir = cell.state_dir.rstrip('/') + '-dns'
        line = '%s laptop.c.lan\n' % cell.properties('org.pic.Cell1.Peer', path)['Address']

        def records():
            text = ''
            for name in sorted(os.listdir(dns_dir)):
                with open(os.path.join(dns_dir, name)) as f:
                    text += f.read()
            return text
        h.wait_for(lambda: line in records(), 5, 0.02, 'the peer record in %s' % dns_dir)
        # the peers' records are in 64 files by name hash (never one file per peer), and the cell's
        h.wait_for(lambda: len(os.listdir(dns_dir)) == 65, 5, 0.02, '65 record files')

    def test_no_service_manager(self):
        # dbus-daemon starts pic-celld itself: no org.freedesktop.systemd1 on the bus
        self.check([], 'unavailable: no service manager', service_manager='bus')

    def test_no_dnsmasq(self):
        self.check(['--dnsmasq=/nonexistent/dnsmasq'], 'failed: dnsmasq is not installed (/nonexistent/dnsmasq')

    def test_setup_takes_resolv_conf(self):
        cell = h.Cell(world=self.world)
        cell.polkit.set_allowed(ALL_ACTIONS)
        with open(cell.state_dir.rstrip('/') + '-resolv.conf', 'w') as f:
            f.write('search lan\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nnameserver bogus\n')
        cell.start()
        cell.manager().Setup(sv({'Name': 'c', 'Domain': 'c.lan', 'VpnAddress': '10.238.%d.1/24' % N}))
        self.assertEqual([str(s) for s in cell.properties(MANAGER)['DnsServers']], ['192.0.2.53', '2001:db8::53'])
        cell.stop()
        cell.start()  # stored with the cell
        self.assertEqual([str(s) for s in cell.properties(MANAGER)['DnsServers']], ['192.0.2.53', '2001:db8::53'])


if __name__ == '__main__':
    h.main()
