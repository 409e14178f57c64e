#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The web UI in headless Chromium against the real pic-gatewayd and pic-celld:
tests/browser/ui-test.mjs completes the setup wizard, signs in, adds a peer,
shows its QR code and removes it, adds an exit, sends a peer through it and
removes it, adds exits of type proxy, tor and sshuttle (its key made by
ssh-keygen, never shown again), downloads an encrypted backup on the Settings
page, sees a restore with a wrong passphrase refused, and at the end restores
that backup (the cell restarts without the peer added since), saving a
screenshot per step under the build directory (ui-screenshots/, or
$PIC_UI_SCREENSHOTS). tests/browser/peers-paging-test.mjs pages through a cell
with 250 peers: 100 rows at a time, Previous and Next, a search by name prefix,
and peers added, changed and removed over the bus shown live where the page
holds them."""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402

KNOWN_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets', 'org.pic.cell1.read-firewall',
                 'org.pic.cell1.manage-links', 'org.pic.cell1.manage-exits', 'org.pic.cell1.backup',
                 'org.pic.cell1.peer-sync', 'org.pic.cell1.authenticate']
CHROMIUM = os.environ.get('PIC_CHROMIUM', '/usr/bin/chromium')
UI_TEST_TIMEOUT = 300
ADMIN_PASSWORD = 'correct horse battery staple'


def all_actions():
    """Every org.pic.cell1.* action: the known ones and whatever polkit/*.policy declares."""
    actions = set(KNOWN_ACTIONS)
    for policy in h.project_policy_files():
        actions.update(a.get('id') for a in ET.parse(policy).getroot().iter('action'))
    return sorted(a for a in actions if a and a.startswith('org.pic.cell1.'))


def gateway_binary(build):
    return os.path.join(build, 'src', 'gateway', 'pic-gatewayd')


def browser_deps_found(source, build):
    dirs = [os.environ.get('PIC_BROWSER_DEPS'), os.path.join(source, 'tests', 'browser'),
            os.path.join(build, 'browser-deps')]
    return any(d and os.path.isdir(os.path.join(d, 'node_modules', 'playwright-core')) for d in dirs)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def health(url):
    with urllib.request.urlopen(url + '/health', timeout=2) as r:
        return json.load(r) if r.status == 200 else None


class BrowserTest:
    """Runs one of tests/browser/*.mjs in headless Chromium; screenshots under the build
    directory's ui-screenshots/ (or $PIC_UI_SCREENSHOTS), a subdirectory per script when asked."""

    def __init__(self):
        self.build, self.source = h.build_dir(), h.source_dir()

    def missing(self, build):
        return [what for what, ok in (
                ('pic-gatewayd (%s)' % gateway_binary(build), os.access(gateway_binary(build), os.X_OK)),
                ('chromium (%s)' % CHROMIUM, os.access(CHROMIUM, os.X_OK)),
                ('node', shutil.which('node')),
                ('playwright-core (tools/dev deps)', browser_deps_found(self.source, build))) if not ok]

    def run_script(self, script, world, subdir=None, handlers=None, **env):
        """handlers: {word: fn(argument)} for what the script asks of the test while it runs (its
        PIC_TEST_SYNC directory: WORD-ARGUMENT.request, answered by WORD-ARGUMENT.done)."""
        shots = os.path.abspath(os.environ.get('PIC_UI_SCREENSHOTS') or os.path.join(self.build, 'ui-screenshots'))
        if subdir:
            shots = os.path.join(shots, subdir)
        os.makedirs(shots, exist_ok=True)
        for old in glob.glob(os.path.join(shots, '*.png')):
            os.unlink(old)
        env = dict(os.environ, PIC_UI_SCREENSHOTS=shots, PIC_BUILD_DIR=self.build, PIC_CHROMIUM=CHROMIUM, **env)
        env[h.WORLD_MARKER] = world.path   # chromium and its helpers are cleaned up with the world
        argv = ['node', os.path.join(self.source, 'tests', 'browser', script)]
        if handlers is None:
            p = h.run(argv, check=False, timeout=UI_TEST_TIMEOUT, env=env)
        else:
            env['PIC_TEST_SYNC'] = world.subdir('sync-' + os.path.splitext(script)[0])
            p = self.run_serving(argv, world, env, handlers)
        sys.stdout.write(p.stdout)
        sys.stderr.write(p.stderr)
        print('screenshots in %s' % shots)
        self.shots = shots
        return p

    @staticmethod
    def run_serving(argv, world, env, handlers):
        """Runs the script, doing what it asks (see run_script) until it ends; its CompletedProcess."""
        sync = env['PIC_TEST_SYNC']
        name = os.path.basename(argv[-1])
        out, err = open(world.log_path(name + '.out'), 'w+'), open(world.log_path(name + '.err'), 'w+')
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, start_new_session=True)
        world.track(proc.pid, name, proc)
        handled, deadline = set(), time.monotonic() + UI_TEST_TIMEOUT
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                for req in sorted(glob.glob(os.path.join(sync, '*.request'))):
                    what = os.path.basename(req)[:-len('.request')]
                    if what in handled:
                        continue
                    handled.add(what)
                    word, _, arg = what.partition('-')
                    handlers[word](arg)
                    with open(os.path.join(sync, what + '.done'), 'w') as f:
                        f.write('ok\n')
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        with out, err:
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, proc.returncode, out.read(), err.read())


class WebUiTest(h.HarnessTestCase):
    def setUp(self):
        super().setUp()
        self.browser = BrowserTest()
        self.build, self.source = self.browser.build, self.browser.source
        missing = self.browser.missing(self.build) + ([] if shutil.which('ssh-keygen') else ['ssh-keygen'])
        if missing:
            self.skipTest('missing: ' + ', '.join(missing))

    def start_gateway(self, cell):
        port = free_port()
        url = 'http://127.0.0.1:%d' % port
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cell.bus.address)
        argv = [gateway_binary(self.build), '--listen=127.0.0.1:%d' % port,
                '--web-root=%s' % os.path.join(self.source, 'src', 'web')]
        # with the real polkitd and the shipped rules (PIC_POLKIT=real): as the user they name
        if getattr(cell.polkit, 'stands_in_for_mock', False):
            argv = h.NOBODY_PREFIX + argv
        self.gateway = self.world.spawn(argv, name='pic-gatewayd', env=env)
        try:
            h.wait_for(lambda: health(url), 15, 0.1, 'the gateway at %s' % url)
        except TimeoutError:
            self.world.dump_logs()
            raise
        return url

    def test_setup_login_peer_qr_remove(self):
        cell = h.Cell(world=self.world, polkit='mock')
        cell.polkit.set_allowed(all_actions())
        cell.start()
        url = self.start_gateway(cell)
        self.assertFalse(health(url)['setup_complete'])
        pid = cell.pid()

        code = str(cell.manager().GetSetupCode())
        p = self.browser.run_script('ui-test.mjs', self.world, PIC_UI_URL=url, PIC_UI_SETUP_CODE=code)
        shots = self.browser.shots
        self.assertEqual(p.returncode, 0, 'ui-test.mjs failed: %s' % p.stderr.strip())

        # what the browser did is what the cell holds
        props = cell.properties('org.pic.Cell1.Manager')
        self.assertTrue(props['SetupComplete'])
        self.assertEqual((str(props['Name']), str(props['Domain']), str(props['VpnAddress'])),
                         ('home', 'home.lan', '10.66.0.1/24'))
        self.assertEqual(int(props['ListenPort']), 51820)   # the UI discarded its pending change
        peers = sorted(str(ifaces['org.pic.Cell1.Peer']['Name'])
                       for ifaces in cell.managed_objects().values() if 'org.pic.Cell1.Peer' in ifaces)
        self.assertEqual(peers, [])   # restored to the backup made before any peer was added
        self.assertFalse([p for p, ifaces in cell.managed_objects().items() if 'org.pic.Cell1.Exit' in ifaces])
        self.assertTrue(glob.glob(os.path.join(shots, '*-peer-qr.png')))
        # the restore restarted the daemon; the archive is not left behind
        self.assertNotEqual(cell.pid(), pid)
        self.assertTrue(glob.glob(os.path.join(shots, '*-restore-refused.png')))
        self.assertFalse(glob.glob(os.path.join(shots, '*.picbackup')))


    def test_peers_paged(self):
        """250 peers, added over the bus: the Peers page shows 100 at a time (Previous, Next, "of 250"),
        searches by name prefix on the gateway, follows peers changed, added and removed over the bus
        where its page holds them, and never asks for the whole list."""
        cell = h.Cell(world=self.world, polkit='mock')
        cell.polkit.set_allowed(all_actions())
        cell.start()
        mgr = cell.manager()
        mgr.Setup(dbus.Dictionary({'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': '10.67.0.1/22',
                                   'AdminPassword': ADMIN_PASSWORD}, signature='sv'))
        mgr.AddPeers(dbus.Array([dbus.Dictionary({'Name': 'peer%03d' % i}, signature='sv') for i in range(250)],
                                signature='a{sv}'), timeout=120)
        url = self.start_gateway(cell)

        def peer(name):
            return cell.interface('org.pic.Cell1.Peer', mgr.GetPeerByName(name))

        handlers = {'add': lambda name: mgr.AddPeer(name, dbus.Dictionary({}, signature='sv')),
                    'remove': lambda name: peer(name).Remove(),
                    'disable': lambda name: peer(name).SetEnabled(False)}
        p = self.browser.run_script('peers-paging-test.mjs', self.world, subdir='paging', handlers=handlers,
                                    PIC_UI_URL=url, PIC_ADMIN_PASSWORD=ADMIN_PASSWORD)
        self.assertEqual(p.returncode, 0, 'peers-paging-test.mjs failed: %s' % p.stderr.strip())

        # what the browser did is what the cell holds
        names = {str(ifaces['org.pic.Cell1.Peer']['Name'])
                 for ifaces in cell.managed_objects().values() if 'org.pic.Cell1.Peer' in ifaces}
        self.assertEqual(len(names), 253)
        self.assertTrue({'peer000a', 'peer050x', 'peer055a', 'zed'} <= names)
        self.assertNotIn('peer010', names)


if __name__ == '__main__':
    h.main()
