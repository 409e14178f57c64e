#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`tools/dev up` does what the README says: a demo cell under a real systemd
manager (pic-celld bus-activated through its shipped unit, the gateway through
its socket unit, dnsmasq as pic-dns.service, the real polkitd), usable through
`tools/dev shell`; restart keeps the tunnel's wireguard-go; down leaves nothing
running and keeps the state; up again comes back from it.

The demo lives in this test's world (PIC_DEV_DIR) on a free port, so a
developer's own demo cell in .pic-dev/ is never touched."""

import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from gateway_client import GatewayEndpoint, free_port  # noqa: E402
from systemd_world import dig  # noqa: E402
import test_web_ui  # noqa: E402

N = os.getpid() % 200
VPN = '10.243.%d.1/24' % N
CELL_IP, LAPTOP_IP = '10.243.%d.1' % N, '10.243.%d.2' % N
ADMIN_PASSWORD = 'correct horse battery staple'


class DemoNetns:
    """The demo's namespace (tools/dev made it), as systemd_world.dig wants it."""

    def __init__(self, name):
        self.name = name

    def run(self, argv, **kwargs):
        return h.run(['ip', 'netns', 'exec', self.name] + argv, **kwargs)


class DevWorld(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        cls.dev = cls.world.subdir('dev')
        cls.port = free_port()
        cls.env = dict(os.environ, PIC_DEV_DIR=cls.dev, PIC_GATEWAY_PORT=str(cls.port), PIC_BUILD_DIR=h.build_dir())
        cls.env.pop('DBUS_SYSTEM_BUS_ADDRESS', None)
        cls.world.add_cleanup(lambda: cls.dev_cmd('down', check=False))
        cls.up_output = cls.dev_cmd('up').stdout
        with open(os.path.join(cls.dev, 'env')) as f:
            cls.netns_name = dict(line.split('=', 1) for line in f.read().split())['PIC_NETNS']

    @classmethod
    def dev_cmd(cls, *args, check=True, timeout=300):
        return h.run([os.path.join(h.source_dir(), 'tools', 'dev')] + list(args), check=check, timeout=timeout,
                     env=cls.env)

    def picctl(self, *args):
        return self.dev_cmd('shell', 'picctl', *args, timeout=60).stdout

    def unit_state(self, unit):
        return self.dev_cmd('systemctl', 'show', '-P', 'ActiveState', unit).stdout.strip()

    def netns_pids(self, comm):
        out = h.run(['ip', 'netns', 'pids', self.netns_name]).stdout.split()
        return sorted(int(p) for p in out if h.process_name(int(p)) == comm)

    def marked_pids(self):
        mark = ('PIC_DEV_MARK=%s' % os.path.realpath(self.dev)).encode()
        pids = []
        for pid in os.listdir('/proc'):
            try:
                with open('/proc/%s/environ' % pid, 'rb') as f:
                    if mark in f.read().split(b'\0'):
                        pids.append(int(pid))
            except (OSError, ValueError):
                pass
        return pids

    def test_1_up_runs_the_cell_under_systemd(self):
        for unit in ('dbus.socket', 'pic-dev-polkitd.service', 'pic-celld.service', 'pic-gatewayd.socket'):
            self.assertEqual(self.unit_state(unit), 'active', unit)
        self.assertEqual(self.dev_cmd('systemctl', 'show', '-P', 'Type', 'pic-celld.service').stdout.strip(), 'dbus')
        r = GatewayEndpoint(self.port).request('GET', '/health')
        self.assertEqual(r.json(), {'status': 'ok', 'setup_complete': False, 'bus': 'ok'})
        self.assertIn('pic-celld  pic-celld.service active', self.up_output)

    def test_2_a_demo_session(self):
        self.picctl('setup', '--name', 'demo', '--domain', 'demo.cell', '--address', VPN)
        self.picctl('peer', 'add', 'laptop')
        h.wait_for(lambda: self.unit_state('pic-dns.service') == 'active', 10, 0.1, 'pic-dns.service')
        status = self.dev_cmd('status').stdout
        for unit in ('pic-celld.service', 'pic-dns.service', 'pic-gatewayd.socket', 'pic-dev-polkitd.service'):
            self.assertRegex(status, r'%s\s+loaded active' % unit.replace('.', r'\.'))
        ns = DemoNetns(self.netns_name)
        h.wait_for(lambda: dig(ns, CELL_IP, 'laptop.demo.cell') == [LAPTOP_IP], 5, 0.05,
                   'laptop.demo.cell from the demo dnsmasq')

    def test_3_restart_keeps_wireguard_go(self):
        before = self.netns_pids('wireguard-go')
        self.assertEqual(len(before), 1)
        celld = self.netns_pids('pic-celld')
        self.dev_cmd('restart')
        self.assertNotEqual(self.netns_pids('pic-celld'), celld)
        self.assertEqual(self.netns_pids('wireguard-go'), before)
        self.assertIn('laptop', self.picctl('peer', 'list'))

    def test_4_up_again_changes_nothing(self):
        manager = self.dev_cmd('status').stdout.split('systemd    pid ')[1].split(':')[0]
        self.dev_cmd('up')
        self.assertEqual(self.dev_cmd('status').stdout.split('systemd    pid ')[1].split(':')[0], manager)

    def test_5_down_then_up_from_the_state(self):
        self.dev_cmd('down')
        self.assertEqual(self.marked_pids(), [])
        self.assertFalse(os.path.exists('/run/netns/' + self.netns_name))
        self.dev_cmd('up')
        self.assertIn('laptop', self.picctl('peer', 'list'))
        h.wait_for(lambda: self.unit_state('pic-dns.service') == 'active', 10, 0.1, 'pic-dns.service from the state')
        self.dev_cmd('down', '--purge')
        self.assertFalse(os.path.exists(self.dev))
        self.assertEqual(self.marked_pids(), [])


class DevCells(h.SharedWorldTestCase):
    """`tools/dev up --cells 2`: two cells on an "internet" namespace; set up and linked through
    `tools/dev shell --cell`, the pairing going through each cell's pairing socket unit."""

    @classmethod
    def build_world(cls):
        cls.dev = cls.world.subdir('cells-dev')
        # cell a listens on the port, b on the next one: both must be free (a flaky run found b's taken)
        cls.env = dict(os.environ, PIC_DEV_DIR=cls.dev, PIC_GATEWAY_PORT=str(free_port(2)),
                       PIC_BUILD_DIR=h.build_dir())
        cls.env.pop('DBUS_SYSTEM_BUS_ADDRESS', None)
        cls.world.add_cleanup(lambda: cls.dev_cmd('down', check=False))
        up = cls.dev_cmd('up', '--cells', '2')
        cls.up_output = up.stdout + up.stderr

    @classmethod
    def dev_cmd(cls, *args, check=True, timeout=300, input=None):
        return h.run([os.path.join(h.source_dir(), 'tools', 'dev')] + list(args), check=check, timeout=timeout,
                     env=cls.env, input=input)

    def picctl(self, cell, *args, input=None):
        return self.dev_cmd('shell', '--cell', cell, 'picctl', *args, timeout=60, input=input).stdout

    def test_1_two_cells_link(self):
        self.assertIn('2 demo cells are up', self.up_output)
        self.assertNotIn('failed to start', self.up_output)  # e.g. a gateway socket whose port was taken
        for i, name in enumerate(('a', 'b')):
            self.picctl(name, 'setup', '--name', name, '--domain', name + '.cell', '--address',
                        '10.79.%d.1/24' % (i + 1), '--endpoint', '10.78.0.%d:51820' % (i + 1),
                        '--admin-password', ADMIN_PASSWORD)
        invite = self.picctl('b', 'link', 'invite').strip()
        self.assertIn('Linked: /org/pic/Cell1/link/b', self.picctl('a', 'link', 'add', '-', input=invite + '\n'))
        h.wait_for(lambda: 'connected' in self.picctl('b', 'link', 'list'), 20, 0.2, 'b sees a connected')
        self.assertIn('a.cell', self.picctl('b', 'link', 'list'))
        # removed on a: b is told, both sides gone (the browser links them again below)
        self.picctl('a', 'link', 'remove', 'b')
        h.wait_for(lambda: 'No linked cells' in self.picctl('b', 'link', 'list'), 10, 0.1, "b's side gone")

    def test_2_cells_page_in_a_browser(self):
        """Each cell's web UI (its gateway's socket unit on the host's loopback) in Chromium: an invite
        made on b's Cells page, pasted on a's, both connected, sharing toggled and seen across."""
        web = test_web_ui.BrowserTest()
        missing = web.missing(h.build_dir())
        if missing:
            self.skipTest('missing: ' + ', '.join(missing))
        urls = {}
        for name in ('a', 'b'):
            env_file = os.path.join(self.dev, 'env') if name == 'a' else os.path.join(self.dev, 'cells', name, 'env')
            with open(env_file) as f:
                urls[name] = dict(line.strip().split('=', 1) for line in f if '=' in line)['PIC_GATEWAY_URL']
        p = web.run_script('cells-test.mjs', self.world, subdir='cells', PIC_UI_URL_A=urls['a'],
                           PIC_UI_URL_B=urls['b'], PIC_UI_PASSWORD=ADMIN_PASSWORD)
        self.assertEqual(p.returncode, 0, 'cells-test.mjs failed: %s' % p.stderr.strip())
        # what the pages showed is what the cells hold
        self.assertIn('Shared: nothing', self.picctl('b', 'link', 'show', 'a'))

    def test_3_down(self):
        # down takes every cell and the "internet" with it
        self.dev_cmd('down', '--purge')
        self.assertFalse(os.path.exists(self.dev))
        hub = 'pic-dev-hub-' + hashlib.sha1(os.path.realpath(self.dev).encode()).hexdigest()[:8]
        self.assertFalse(os.path.exists('/run/netns/' + hub))

if __name__ == '__main__':
    h.main()
