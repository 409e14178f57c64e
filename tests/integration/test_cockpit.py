#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Cockpit page for real: the package as meson installs it, served by cockpit-ws and
cockpit-bridge (Debian's) on the cell's private bus, driven in headless Chromium by
tests/browser/cockpit-test.mjs. The page is in Cockpit's menu, it shows the cell, it adds a
peer and shows its QR code, a WireGuard client's handshake arrives live, the transport gives
the views the same JSON the gateway gives for the same objects (the one bus-fields.json), and
with polkit refusing, a change is refused with "not permitted" shown. Screenshots under the
build directory's ui-screenshots/cockpit/ (or $PIC_UI_SCREENSHOTS/cockpit)."""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from test_web_ui import BrowserTest, all_actions, free_port, gateway_binary, health  # noqa: E402

COCKPIT_WS = '/usr/lib/cockpit/cockpit-ws'
COCKPIT_BRIDGE = '/usr/bin/cockpit-bridge'
ADMIN_PASSWORD = 'correct horse battery staple'
CELL_LAN = '10.233.%d.1'
CLIENT_LAN = '10.233.%d.2'
VPN = '10.234.%d.1/24'


def install_package(build, destdir):
    """meson install into destdir; returns (the Cockpit package directory, the data directory holding it)."""
    h.run(['meson', 'install', '-C', build, '--no-rebuild', '--quiet', '--destdir', destdir], timeout=120)
    found = glob.glob(os.path.join(destdir, '**', 'share', 'cockpit', 'pic', 'manifest.json'), recursive=True)
    if len(found) != 1:
        raise AssertionError('meson installed no single cockpit/pic/manifest.json: %r' % found)
    package = os.path.dirname(found[0])
    return package, os.path.dirname(os.path.dirname(package))


def cockpit_up(url):
    try:
        with urllib.request.urlopen(url + '/cockpit/login', timeout=2):
            return True
    except urllib.error.HTTPError:
        return True   # it answers; /cockpit/login may say 401 or 404 with a local session
    except OSError:
        return False


class CockpitWorld:
    """cockpit-ws with a local session (its bridge runs as this user) on a free loopback port,
    packages from `data_home`, the system bus the cell's."""

    def __init__(self, world, data_home, bus_address, as_nobody=False):
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        home, runtime = world.subdir('cockpit-home'), world.subdir('cockpit-rt', 0o700)
        if as_nobody:   # a session without administrative access: the bridge runs as nobody
            for d in (home, runtime):
                shutil.chown(d, 'nobody', 'nogroup')
        env = dict(os.environ, XDG_DATA_HOME=data_home, DBUS_SYSTEM_BUS_ADDRESS=bus_address,
                   XDG_CONFIG_DIRS=world.subdir('cockpit-etc'), XDG_RUNTIME_DIR=runtime, HOME=home)
        env.pop('DBUS_SESSION_BUS_ADDRESS', None)
        argv = [COCKPIT_WS, '--no-tls', '--local-session=cockpit-bridge', '--port', str(self.port),
                '--address', '127.0.0.1']
        self.ws = world.spawn(h.as_nobody(argv) if as_nobody else argv, name='cockpit-ws', env=env)
        h.wait_for(lambda: cockpit_up(self.url), 15, 0.1, 'cockpit-ws at %s' % self.url)


class CockpitTest(h.HarnessTestCase):
    def setUp(self):
        super().setUp()
        self.browser = BrowserTest()
        self.build, self.source = self.browser.build, self.browser.source
        missing = self.browser.missing(self.build) + [
                what for what, ok in (('cockpit-ws (%s)' % COCKPIT_WS, os.access(COCKPIT_WS, os.X_OK)),
                                      ('cockpit-bridge', os.access(COCKPIT_BRIDGE, os.X_OK)),
                                      ('qrencode', shutil.which('qrencode'))) if not ok]
        if missing:
            self.skipTest('missing: ' + ', '.join(missing))

    def make_cell(self, polkit='mock'):
        n = os.getpid() % 200
        self.cell = h.Cell(world=self.world, polkit=polkit, extra_args=['--stats-interval=0.3'])
        if polkit == 'mock':
            self.cell.polkit.set_allowed(all_actions())
        self.client_ns = h.Netns(world=self.world)
        h.veth(self.cell.netns, self.client_ns, CELL_LAN % n + '/24', CLIENT_LAN % n + '/24', world=self.world)
        self.cell.start()
        self.cell_vpn_ip = (VPN % n).split('/')[0]
        self.cell.manager().Setup(dbus.Dictionary({
                'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': VPN % n, 'ListenPort': dbus.UInt16(51820),
                'Endpoint': '%s:51820' % (CELL_LAN % n), 'AdminPassword': ADMIN_PASSWORD}, signature='sv'))
        # an exit whose server never answers: its properties are compared, nothing goes through it
        key = h.run(['wg', 'genkey']).stdout.strip()
        server = h.run(['wg', 'pubkey'], input=h.run(['wg', 'genkey']).stdout).stdout.strip()
        self.cell.manager().AddExit('vpn', 'wireguard', dbus.Dictionary({'Config': (
                '[Interface]\nPrivateKey = %s\nAddress = 10.64.0.2/32\n[Peer]\nPublicKey = %s\n'
                'Endpoint = %s:51999\nAllowedIPs = 0.0.0.0/0\n' % (key, server, CLIENT_LAN % n))}, signature='sv'))

    def start_gateway(self):
        port = free_port()
        url = 'http://127.0.0.1:%d' % port
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.cell.bus.address)
        self.world.spawn([gateway_binary(self.build), '--listen=127.0.0.1:%d' % port,
                          '--web-root=%s' % os.path.join(self.source, 'src', 'web')], name='pic-gatewayd', env=env)
        h.wait_for(lambda: health(url), 15, 0.1, 'the gateway at %s' % url)
        return url

    def peer_names(self):
        return sorted(str(ifaces['org.pic.Cell1.Peer']['Name'])
                      for ifaces in self.cell.managed_objects().values() if 'org.pic.Cell1.Peer' in ifaces)

    def peer_config(self, name):
        path = self.cell.manager().GetPeerByName(name)
        return str(self.cell.interface('org.pic.Cell1.Peer', path).GetConfig())

    def serve_requests(self, proc, sync, deadline):
        """What the browser script asks of the world (files NAME.request → NAME.done) until it ends."""
        handled = set()
        while proc.poll() is None and time.monotonic() < deadline:
            for req in glob.glob(os.path.join(sync, '*.request')):
                name = os.path.basename(req)[:-len('.request')]
                if name in handled:
                    continue
                handled.add(name)
                if name.startswith('connect-'):
                    client = h.WgClient(self.client_ns, self.world.unique('wgk'), self.peer_config(name[8:]),
                                        world=self.world)
                    h.wait_for(lambda: client.ping(self.cell_vpn_ip), 15, 0.2, 'a ping through the tunnel')
                elif name == 'deny':
                    self.cell.polkit.set_allowed([])
                else:
                    raise AssertionError('unknown request %s' % name)
                with open(os.path.join(sync, name + '.done'), 'w') as f:
                    f.write('ok\n')
            time.sleep(0.1)

    def run_browser(self, cockpit, gateway, mode, shots_subdir):
        """cockpit-test.mjs in `mode`, answering its requests; its screenshots' directory."""
        sync = self.world.subdir('cockpit-sync-' + mode)
        shots = os.path.join(os.path.abspath(os.environ.get('PIC_UI_SCREENSHOTS') or
                                             os.path.join(self.build, 'ui-screenshots')), shots_subdir)
        env = dict(os.environ, PIC_COCKPIT_URL=cockpit.url, PIC_UI_URL=gateway or '', PIC_ADMIN_PASSWORD=ADMIN_PASSWORD,
                   PIC_COCKPIT_SYNC=sync, PIC_COCKPIT_MODE=mode, PIC_UI_SCREENSHOTS=shots, PIC_BUILD_DIR=self.build,
                   **{h.WORLD_MARKER: self.world.path})
        os.makedirs(shots, exist_ok=True)
        for old in glob.glob(os.path.join(shots, '*.png')):
            os.unlink(old)
        out = open(self.world.log_path('cockpit-test-' + mode), 'w+')
        proc = subprocess.Popen(['node', os.path.join(self.source, 'tests', 'browser', 'cockpit-test.mjs')],
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.world.track(proc.pid, 'cockpit-test.mjs', proc)
        try:
            self.serve_requests(proc, sync, time.monotonic() + 300)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            out.seek(0)
            sys.stdout.write(out.read())
            out.close()
        print('screenshots in %s' % shots)
        self.assertEqual(proc.returncode, 0, 'cockpit-test.mjs (%s) failed' % mode)
        return shots

    def test_limited_session(self):
        """A Cockpit session without administrative access (its bridge runs as nobody; the real
        polkitd with the project's actions refuses other users than root): the cell's state is
        shown, a change is refused with "not permitted" shown, nothing changes."""
        started = time.monotonic()
        self.make_cell(polkit='real')
        self.cell.manager().AddPeer('laptop', dbus.Dictionary({}, signature='sv'))
        _, data_home = install_package(self.build, self.world.subdir('install'))
        cockpit = CockpitWorld(self.world, data_home, self.cell.bus.address, as_nobody=True)
        shots = self.run_browser(cockpit, None, 'limited', os.path.join('cockpit', 'limited'))
        self.assertEqual(self.peer_names(), ['laptop'])
        self.assertTrue(glob.glob(os.path.join(shots, '*-limited-refused.png')))
        print('test_limited_session: %.1f s' % (time.monotonic() - started))

    def test_cockpit_page(self):
        started = time.monotonic()
        self.make_cell()
        package, data_home = install_package(self.build, self.world.subdir('install'))

        # shown where the bus policy is installed: the manifest names the file meson installs
        with open(os.path.join(package, 'manifest.json')) as f:
            manifest = json.load(f)
        policy = manifest['conditions'][0]['path-exists']
        self.assertTrue(policy.endswith('/dbus-1/system.d/org.pic.Cell1.conf'), policy)
        self.assertTrue(os.path.isfile(os.path.join(self.world.subdir('install'), policy.lstrip('/'))),
                        'the manifest names %s, where meson installed no bus policy' % policy)
        self.assertIn("script-src 'self'", manifest['content-security-policy'])
        self.assertNotIn('unsafe', manifest['content-security-policy'])
        # the views are the web UI's, installed into the package (its loader serves nothing outside it)
        for view in glob.glob(os.path.join(self.source, 'src', 'web', 'views', '*.js')):
            self.assertTrue(os.path.isfile(os.path.join(package, 'web', 'views', os.path.basename(view))), view)

        cockpit = CockpitWorld(self.world, data_home, self.cell.bus.address)
        shots = self.run_browser(cockpit, self.start_gateway(), 'admin', 'cockpit')

        # what the page did is what the cell holds, and the refused change left nothing
        self.assertEqual(self.peer_names(), ['laptop'])
        for name in ('menu', 'peer-qr', 'handshake-live', 'refused'):
            self.assertTrue(glob.glob(os.path.join(shots, '*-%s.png' % name)), name)
        print('test_cockpit_page: %.1f s' % (time.monotonic() - started))


if __name__ == '__main__':
    h.main()
