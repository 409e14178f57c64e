#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""picctl against a real pic-celld: every command does what it says and shows
it, and every failure is one 'picctl: ' line on stderr with exit status 1
(2 for usage errors)."""

import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from gateway_client import exit_wg_quick  # noqa: E402

ALL_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets', 'org.pic.cell1.read-firewall',
               'org.pic.cell1.authenticate']
MANAGER = 'org.pic.Cell1.Manager'
PEER = 'org.pic.Cell1.Peer'
QR_CHARS = set('█▀▄ \n')
SETUP = ('setup', '--name', 'home', '--domain', 'home.lan', '--address', '10.79.0.1/24',
         '--endpoint', 'cell.example.org:51820')


def status_fields(text):
    """'Label: value' lines of picctl status/peer show → {label: value}."""
    out = {}
    for line in text.splitlines():
        label, sep, value = line.partition(': ')
        if sep and label.strip() and ' ' not in label.strip():
            out[label.strip()] = value
    return out


def qr_to_pgm(text, path, scale=6, border=4):
    """Turns picctl's half-block QR (ink = light modules) into a PGM for zbarimg."""
    lines = text.rstrip('\n').split('\n')
    width = max(len(l) for l in lines)
    height = min(2 * len(lines), width)  # the code is square; a last half row is padding
    light = [[True] * width for _ in range(height)]
    for y, line in enumerate(lines):
        for x, ch in enumerate(line):
            for half, inked in ((0, ch in '█▀'), (1, ch in '█▄')):
                if 2 * y + half < height:
                    light[2 * y + half][x] = inked
    size_x, size_y = (width + 2 * border) * scale, (height + 2 * border) * scale
    pixels = bytearray(b'\xff' * (size_x * size_y))
    for y in range(height):
        for x in range(width):
            if not light[y][x]:
                for dy in range(scale):
                    row = ((y + border) * scale + dy) * size_x
                    start = row + (x + border) * scale
                    pixels[start:start + scale] = b'\x00' * scale
    with open(path, 'wb') as f:
        f.write(b'P5\n%d %d\n255\n' % (size_x, size_y) + bytes(pixels))



def ruleset_summary(text, form):
    """(chains with their rules' comments, set names, elements of peer_access and service_endpoints)
    of a table as GetFirewall prints it (libnftnl's form) or as nft(8) lists it."""
    chains, sets, elements, current, in_elements = [], [], {}, None, False
    for line in text.splitlines():
        if form == 'libnftnl':
            m = re.match(r'^chain (\S+)', line) or re.match(r'^set (\S+)', line)
            if m:
                current = m.group(1)
                (chains.append((current, [])) if line.startswith('chain') else sets.append(current))
                continue
            rule = re.match(r'^\trule \d+: (.*)$', line)
            if rule and chains and chains[-1][0] == current:
                chains[-1][1].append(rule.group(1))
            elif line.startswith('\t') and not line.startswith('\t\t') and current in sets:
                elements.setdefault(current, []).append(' '.join(line.split()))
        else:
            m = re.match(r'^\t(chain|set|map) (\S+) \{', line)
            if m:
                current = m.group(2)
                (chains.append((current, [])) if m.group(1) == 'chain' else sets.append(current))
                continue
            comment = re.search(r'comment "(.*)"$', line)
            if comment and chains and chains[-1][0] == current:
                chains[-1][1].append(comment.group(1))
            if 'elements = {' in line:
                in_elements = True
                line = line.split('elements = {', 1)[1]
            if in_elements:
                for e in line.replace('}', '').split(','):
                    if e.strip():
                        elements.setdefault(current, []).append(' '.join(e.split()))
                in_elements = '}' not in line
    return (chains, sets, {k: sorted(v) for k, v in elements.items() if k in ('peer_access', 'service_endpoints')})

class PicctlTest(h.HarnessTestCase):
    def make_cell(self, allowed=ALL_ACTIONS):
        self.cell = h.Cell(world=self.world)
        self.cell.polkit.set_allowed(allowed)
        self.cell.start()
        return self.cell

    def picctl(self, *args, **kwargs):
        """Runs picctl and insists on success with nothing on stderr; returns stdout."""
        p = self.cell.picctl(*args, **kwargs)
        self.assertEqual((p.returncode, p.stderr), (0, ''), 'picctl %s' % ' '.join(args))
        return p.stdout

    def assert_fails(self, args, status=1, input=None, secret=None):
        """Runs picctl expecting failure: exit `status`, a 'picctl: ' line first on stderr, nothing on stdout
        (nor `secret` anywhere)."""
        p = self.cell.picctl(*args, input=input)
        what = 'picctl %s: %r' % (' '.join(args), p.stderr)
        self.assertEqual(p.returncode, status, what)
        self.assertEqual(p.stdout, '', what)
        if secret:
            self.assertNotIn(secret, p.stderr, what)
        lines = p.stderr.splitlines()
        self.assertTrue(lines and lines[0].startswith('picctl: '), what)
        if status == 1:
            self.assertEqual(len(lines), 1, what)
        return lines[0]

    def test_before_setup(self):
        cell = self.make_cell()
        out = self.picctl('status')
        self.assertIn('not set up', out)
        self.assertIn('picctl setup', out)
        self.assertEqual(status_fields(out)['SetupComplete'], 'no')
        self.assertEqual(self.picctl(), out)  # no command means status
        line = self.assert_fails(['peer', 'add', 'laptop'])
        self.assertIn('setup', line)
        self.assertEqual(cell.managed_objects(), {})

    def test_admin_password_from_stdin(self):
        cell = self.make_cell()
        self.assert_fails(['configure', '--admin-password', 'x' * 12], status=2)
        self.picctl(*(SETUP + ('--admin-password', '-')), input='correct horse battery\n')
        mgr = cell.manager()
        self.assertEqual(tuple(mgr.Authenticate('admin', 'correct horse battery'))[:2], ('admin', ''))
        with open(os.path.join(cell.state_dir, 'cell.json')) as f:
            self.assertNotIn('correct horse', f.read())

    def test_peer_login(self):
        cell = self.make_cell()
        self.picctl(*SETUP)
        self.picctl('peer', 'add', 'laptop')
        out = self.picctl('peer', 'login', 'laptop')
        password = out.split('password:')[1].split()[0]
        self.assertEqual(tuple(cell.manager().Authenticate('laptop', password))[:2], ('peer', 'laptop'))
        self.assert_fails(['peer', 'login', 'nosuch'])

    def test_one_line_peer_commands(self):
        self.make_cell()
        self.picctl(*SETUP)
        self.picctl('peer', 'add', 'x')
        self.assertEqual(self.picctl('peer', 'disable', 'x'), 'Disabled peer x.\n')
        self.assertEqual(self.picctl('peer', 'enable', 'x'), 'Enabled peer x.\n')
        self.assertEqual(self.picctl('peer', 'rotate-keys', 'x'),
                         'Rotated the keys of peer x. Its device needs the new configuration:\n'
                         '  picctl peer config x\n')
        self.assertEqual(self.picctl('peer', 'remove', 'x'), 'Removed peer x.\n')

    def test_workflow(self):
        cell = self.make_cell()
        self.assertIn('is set up', self.picctl(*SETUP))
        status = status_fields(self.picctl('status'))
        self.assertEqual(status['Name'], 'home')
        self.assertEqual(status['Domain'], 'home.lan')
        self.assertEqual(status['VpnAddress'], '10.79.0.1/24')
        self.assertEqual(status['ListenPort'], '51820')
        self.assertEqual(status['Endpoint'], 'cell.example.org:51820')
        self.assertEqual(status['SetupComplete'], 'yes')
        self.assertEqual(status['PendingChanges'], 'none')
        self.assertEqual(status['PeerCount'], '0')
        cell_key = str(cell.properties(MANAGER)['PublicKey'])
        self.assertEqual(status['PublicKey'], cell_key)

        self.assertIn('Added peer laptop (10.79.0.2)', self.picctl('peer', 'add', 'laptop', '--access', 'dns,files',
                                                                   '--keepalive', '25'))
        rows = [l.split() for l in self.picctl('peer', 'list').splitlines()]
        self.assertEqual(rows[0][:3], ['NAME', 'ADDRESS', 'ENABLED'])
        self.assertEqual(rows[1][:3], ['laptop', '10.79.0.2', 'yes'])
        self.assertEqual(len(rows), 2)

        show = status_fields(self.picctl('peer', 'show', 'laptop'))
        path = cell.manager().GetPeerByName('laptop')
        props = cell.properties(PEER, path)
        self.assertEqual(show['Name'], 'laptop')
        self.assertEqual(show['PublicKey'], str(props['PublicKey']))
        self.assertEqual(show['Address'], '10.79.0.2')
        self.assertEqual(show['ServiceAccess'], 'dns, files')
        self.assertEqual(show['PersistentKeepalive'], '25 s')
        self.assertEqual(show['Enabled'], 'yes')

        config = self.picctl('peer', 'config', 'laptop')
        iface, peers, _ = h.parse_wg_quick(config)
        self.assertEqual(h.wg_pubkey(iface['privatekey']), str(props['PublicKey']))
        self.assertEqual(iface['address'], '10.79.0.2/32')
        self.assertEqual(len(peers), 1)
        self.assertEqual(peers[0]['publickey'], cell_key)
        self.assertEqual(peers[0]['endpoint'], 'cell.example.org:51820')
        self.assertEqual(peers[0]['persistentkeepalive'], '25')

        qr = self.picctl('peer', 'config', 'laptop', '--qr')
        self.assertTrue(set(qr) <= QR_CHARS, set(qr) - QR_CHARS)
        self.assertTrue(set(qr) & set('█▀▄'))
        self.assertEqual(len({len(l) for l in qr.splitlines()}), 1)
        if shutil.which('zbarimg'):
            pgm = os.path.join(self.world.path, 'qr.pgm')
            qr_to_pgm(qr, pgm)
            p = h.run(['zbarimg', '--quiet', '--raw', pgm], check=False)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.strip(), config.strip())

        self.assertIn('Disabled', self.picctl('peer', 'disable', 'laptop'))
        self.assertFalse(cell.properties(PEER, path)['Enabled'])
        self.assertEqual(self.picctl('peer', 'list').splitlines()[1].split()[2], 'no')
        self.assertIn('Enabled', self.picctl('peer', 'enable', 'laptop'))
        self.assertTrue(cell.properties(PEER, path)['Enabled'])

        self.assertIn('picctl peer config laptop', self.picctl('peer', 'rotate-keys', 'laptop'))
        rotated = str(cell.properties(PEER, path)['PublicKey'])
        self.assertNotEqual(rotated, str(props['PublicKey']))
        iface, _, _ = h.parse_wg_quick(self.picctl('peer', 'config', 'laptop'))
        self.assertEqual(h.wg_pubkey(iface['privatekey']), rotated)

        out = self.picctl('configure', '--port', '51999')
        self.assertIn('ListenPort → 51999', out)
        status = status_fields(self.picctl('status'))
        self.assertEqual(status['PendingChanges'], 'ListenPort → 51999')
        self.assertEqual(status['ListenPort'], '51820')
        self.assertIn('applied', self.picctl('apply'))
        status = status_fields(self.picctl('status'))
        self.assertEqual((status['ListenPort'], status['PendingChanges']), ('51999', 'none'))
        self.assertEqual(h.uapi_get(cell.uapi_socket)['device']['listen_port'], '51999')

        self.picctl('configure', '--port', '51820')
        self.assertEqual(status_fields(self.picctl('status'))['PendingChanges'], 'ListenPort → 51820')
        self.assertIn('discarded', self.picctl('discard'))
        status = status_fields(self.picctl('status'))
        self.assertEqual((status['ListenPort'], status['PendingChanges']), ('51999', 'none'))

        self.assertIn('Removed', self.picctl('peer', 'remove', 'laptop'))
        self.assertEqual(cell.managed_objects(), {})
        self.assertIn('No peers', self.picctl('peer', 'list'))
        self.assertEqual(h.uapi_get(cell.uapi_socket)['peers'], [])

    def test_errors(self):
        cell = self.make_cell()
        self.picctl(*SETUP)
        self.picctl('peer', 'add', 'laptop')
        before = cell.managed_objects()

        self.assertIn("'laptop' already exists", self.assert_fails(['peer', 'add', 'laptop']))
        for bad in ('_laptop', 'a.b', 'x' * 33, 'sp ace', 'ä'):
            self.assertIn('name', self.assert_fails(['peer', 'add', bad]))
        for cidr in ('10.0.0.1/33', '10.0.0.1', '8.8.8.8/24', '10.0.0.300/24'):
            self.assertIn('VpnAddress', self.assert_fails(['configure', '--address', cidr]))
        self.assertIn('Address', self.assert_fails(['peer', 'add', 'phone', '--address', '10.1.2.300']))
        self.assertIn('Address', self.assert_fails(['peer', 'add', 'phone', '--address', '10.80.0.5']))
        self.assertIn("'nope'", self.assert_fails(['peer', 'show', 'nope']))
        self.assertIn("'nope'", self.assert_fails(['peer', 'remove', 'nope']))
        self.assertIn('already set up', self.assert_fails(list(SETUP)))
        self.assertEqual(cell.managed_objects(), before)

        for args in (['bogus'], ['--bogus'], ['peer'], ['peer', 'bogus'], ['peer', 'add'],
                     ['peer', 'add', 'q', '--keepalive', 'x'], ['peer', 'add', 'q', '--access', 'dns,,web'],
                     ['peer', 'add', 'a', 'b'], ['status', 'extra'], ['setup', '--name', 'x'],
                     ['configure'], ['configure', '--port', '0'], ['peer', 'config'], ['peer', 'list', '--qr']):
            self.assert_fails(args, status=2)
        self.assertEqual(cell.managed_objects(), before)

    def test_firewall(self):
        cell = self.make_cell()
        self.picctl(*SETUP)
        self.picctl('peer', 'add', 'phone', '--access', 'dns,mail')
        self.picctl('peer', 'add', 'laptop', '--access', 'files,web')
        self.picctl('peer', 'add', 'tv', '--access', '')
        self.picctl('peer', 'disable', 'tv')

        lines = self.picctl('firewall').splitlines()
        uplink = str(cell.properties(MANAGER)['Uplink'])
        self.assertEqual(lines[0], 'Uplink: %s' % (uplink or '(none)'))
        self.assertEqual(lines[1], '')
        rows = [l.split() for l in lines[2:]]
        self.assertEqual(rows, [['NAME', 'ADDRESS', 'ENABLED', 'ACCESS', 'NETWORKS'],
                                ['laptop', '10.79.0.3', 'yes', 'files,web', 'internet'],
                                ['phone', '10.79.0.2', 'yes', 'dns,mail', 'internet'],
                                ['tv', '10.79.0.4', 'no', '-', 'internet']])

        data = json.loads(self.picctl('firewall', '--json'))
        self.assertEqual(data['Uplink'], uplink)
        self.assertEqual([(p['Name'], p['Address'], p['Enabled'], p['ServiceAccess']) for p in data['Peers']],
                         [('laptop', '10.79.0.3', True, ['files', 'web']),
                          ('phone', '10.79.0.2', True, ['dns', 'mail']),
                          ('tv', '10.79.0.4', False, [])])
        self.assertEqual([p['NetworkAccess'] for p in data['Peers']], [['internet']] * 3)

        ruleset = self.picctl('firewall', '--ruleset')
        self.assertTrue(ruleset.startswith('table inet pic\n'), ruleset[:200])
        for chain in ('chain input', 'chain forward', 'set peer_access'):
            self.assertIn(chain, ruleset)
        self.assertEqual(ruleset.rstrip('\n'), str(cell.manager().GetFirewall()).rstrip('\n'))
        # a witness from outside the daemon: nft(8) lists the same table in the cell's namespace (in its
        # own syntax): the same chains in order, each with the same rules (by their comments), the
        # same sets, and the same elements in the two sets a peer's grants are made of
        witness = cell.netns.run(['nft', 'list', 'table', 'inet', 'pic']).stdout
        summary = ruleset_summary(ruleset, 'libnftnl')
        self.assertEqual(summary, ruleset_summary(witness, 'nft'))
        self.assertTrue(all(rules for name, rules in summary[0] if name in ('input', 'forward')), summary[0])
        # laptop: files (445), web (80, 443); phone: dns (53 tcp, udp), mail (25, 143, 465, 587, 993)
        self.assertEqual(len(summary[2]['peer_access']), 10, summary[2])

        for args in (['firewall', 'extra'], ['firewall', '--ruleset', '--json'], ['firewall', '--qr']):
            self.assert_fails(args, status=2)

    def test_firewall_before_setup(self):
        self.make_cell()
        out = self.picctl('firewall')
        self.assertIn('No peers', out)
        self.assertIn('not set up', self.assert_fails(['firewall', '--ruleset']))

    def test_peer_access(self):
        cell = self.make_cell()
        self.picctl(*SETUP)
        self.picctl('peer', 'add', 'laptop', '--access', 'dns,mail')
        path = cell.manager().GetPeerByName('laptop')

        def access():
            return [str(s) for s in cell.properties(PEER, path)['ServiceAccess']]

        self.assertEqual(self.picctl('peer', 'access', 'laptop'), 'laptop: dns, mail\n')
        self.assertEqual(self.picctl('peer', 'access', 'laptop', '+files', '-mail'), 'laptop: dns, files\n')
        self.assertEqual(access(), ['dns', 'files'])
        self.assertEqual(self.picctl('peer', 'access', 'laptop'), 'laptop: dns, files\n')
        # a bare name grants; granting twice and revoking what is not granted change nothing
        self.assertEqual(self.picctl('peer', 'access', 'laptop', 'web', '+dns', '-calendar'),
                         'laptop: dns, files, web\n')
        self.assertEqual(access(), ['dns', 'files', 'web'])
        self.assertEqual(self.picctl('peer', 'access', '--no-ask-password', 'laptop', '-dns', '--', '-web', '-files'),
                         'laptop: none\n')
        self.assertEqual(access(), [])
        self.assertIn('laptop', self.picctl('firewall').splitlines()[3])
        self.assertEqual(self.picctl('firewall').splitlines()[3].split()[-2], '-')

        line = self.assert_fails(['peer', 'access', 'laptop', '+bogus'])
        self.assertIn("'bogus'", line)
        self.assertIn('dns, web, mail, calendar, files, webdav', line)
        self.assertEqual(access(), [])
        self.assertIn("'nope'", self.assert_fails(['peer', 'access', 'nope', '+dns']))

        cell.polkit.set_allowed([])
        self.assertIn('ccess denied', self.assert_fails(['peer', 'access', 'laptop', '+dns']))
        self.assertEqual(self.picctl('peer', 'access', 'laptop'), 'laptop: none\n')  # reading needs none

        for args in (['peer', 'access'], ['peer', 'access', 'laptop', '+'], ['peer', 'access', 'laptop', '-'],
                     ['peer', 'access', 'laptop', '--bogus'], ['peer', 'access', '-mail', 'laptop']):
            self.assert_fails(args, status=2)
        self.assertEqual(access(), [])
        self.assertIn('picctl peer access', self.picctl('peer', 'access', 'laptop', '--help'))
        self.assertIn('  access NAME', self.picctl('peer', '--help'))
        self.assertIn('firewall', self.picctl('--help'))

    def test_peer_network(self):
        cell = self.make_cell()
        self.picctl(*SETUP)
        self.picctl('peer', 'add', 'laptop')
        self.picctl('peer', 'add', 'tv', '--network', '')
        self.picctl('peer', 'add', 'nas', '--network', 'lan,peers')

        def networks(name='laptop'):
            return [str(s) for s in cell.properties(PEER, cell.manager().GetPeerByName(name))['NetworkAccess']]

        self.assertEqual(networks(), ['internet'])
        self.assertEqual(networks('tv'), [])
        self.assertEqual(networks('nas'), ['lan', 'peers'])
        self.assertEqual(self.picctl('peer', 'network', 'laptop'), 'laptop: internet\n')
        self.assertEqual(self.picctl('peer', 'network', 'laptop', '+lan', '-internet', 'peers'),
                         'laptop: lan, peers\n')
        self.assertEqual(networks(), ['lan', 'peers'])
        self.assertEqual(self.picctl('peer', 'access', 'laptop'), 'laptop: none\n')  # services untouched
        self.assertIn('NetworkAccess: lan, peers', self.picctl('peer', 'show', 'laptop'))
        self.assertEqual(json.loads(self.picctl('peer', 'show', 'laptop', '--json'))['NetworkAccess'],
                         ['lan', 'peers'])
        line = self.assert_fails(['peer', 'network', 'laptop', '+moon'])
        self.assertIn("unknown network 'moon'", line)
        self.assertIn('internet, lan, peers', line)
        self.assertEqual(networks(), ['lan', 'peers'])
        # the usage line names the right kind
        self.assertIn('+NETWORK', self.assert_fails(['peer', 'network', 'laptop', '+'], status=2))

    def write(self, name, data):
        path = os.path.join(self.world.path, name)
        with open(path, 'wb' if isinstance(data, bytes) else 'w') as f:
            f.write(data)
        return path

    def test_exits(self):
        cell = self.make_cell(ALL_ACTIONS + ['org.pic.cell1.manage-exits'])
        self.picctl(*SETUP)
        private, _ = h.wg_genkey()
        _, server = h.wg_genkey()
        config = exit_wg_quick(private, server)
        conf = self.write('vpn.conf', config)
        self.assertIn('No exits', self.picctl('exit', 'list'))

        # refused before anything is made: by picctl (2), by the file or by the cell (1)
        for args in (['exit'], ['exit', 'bogus'], ['exit', 'add', 'vpn'], ['exit', 'add', 'vpn', '--type', 'wireguard'],
                     ['exit', 'add', '--type', 'wireguard', '--config', conf],
                     ['exit', 'add', 'Bad!', '--type', 'wireguard', '--config', conf],
                     ['exit', 'add', 'vpn', 'extra', '--type', 'wireguard', '--config', conf],
                     ['exit', 'add', 'vpn', '--type', 'wireguard', '--config', conf, '--test-target', 'nope'],
                     ['exit', 'update', 'vpn'], ['exit', 'list', '--qr'], ['exit', 'show'], ['exit', 'test', 'a', 'b'],
                     ['exit', 'remove', '--json', 'vpn'], ['peer', 'exit'], ['peer', 'exit', 'x', 'vpn', '--none'],
                     ['peer', 'exit', 'x', 'a.b']):
            self.assert_fails(args, status=2)
        for data, words in ((b'', 'is empty'), (b'[Interface]\n\x00', 'byte 12'), (b'\xff\xfe[', 'byte 0'),
                            (b'#' * (64 * 1024 + 1), 'longer than 65536'),
                            (config + 'PostUp = touch /tmp/pwned\n', 'PostUp')):
            bad = self.write('bad.conf', data)
            self.assertIn(words, self.assert_fails(['exit', 'add', 'vpn', '--type', 'wireguard', '--config', bad]))
        self.assertIn('No such file', self.assert_fails(['exit', 'add', 'vpn', '--type', 'wireguard', '--config',
                                                         os.path.join(self.world.path, 'missing.conf')]))
        self.assertIn('type', self.assert_fails(['exit', 'add', 'vpn', '--type', 'bogus', '--config', conf]))

        # a proxy exit's URL: refused by picctl before anything is sent, never repeated (it may hold a password)
        secret = 'hunter2-proxy-secret'
        url = 'socks5://me:%s@192.0.2.10:1080' % secret
        add_proxy = ['exit', 'add', 'px', '--type', 'proxy']
        for args in (add_proxy, add_proxy + ['--dns', '1.1.1.1'], add_proxy + ['--config', conf, '--proxy', url],
                     add_proxy + ['--proxy', 'ftp://me:%s@192.0.2.10:21' % secret],
                     add_proxy + ['--proxy', 'https://me:%s@192.0.2.10:443' % secret],
                     add_proxy + ['--proxy', url + '/' + 'x' * 1024], add_proxy + ['--proxy', url + '\t'],
                     add_proxy + ['--proxy', url, '--proxy', url], add_proxy + ['--proxy', url, '--proxy-file', conf],
                     add_proxy + ['--proxy', url, '--dns', 'dns.google'], add_proxy + ['--proxy', url, '--dns', ''],
                     add_proxy + ['--proxy', url] + ['--dns', '192.0.2.53'] * 5,
                     ['exit', 'add', 'px', '--type', 'wireguard', '--config', conf, '--proxy', url],
                     ['exit', 'add', 'px', '--type', 'openvpn', '--config', conf, '--dns', '1.1.1.1'],
                     ['exit', 'add', 'px', '--type', 'tor', '--proxy-file', conf],
                     ['exit', 'add', 'px', '--type', 'openvpn'], ['exit', 'add', 'px', '--proxy', url],
                     ['exit', 'update', 'px', '--config', conf, '--proxy', url],
                     ['exit', 'update', 'px', '--config', conf, '--dns', '1.1.1.1'],
                     ['exit', 'list', '--proxy', url], ['exit', 'show', 'px', '--dns', '1.1.1.1'],
                     ['exit', 'test', 'px', '--proxy-file', conf], ['exit', 'remove', 'px', '--proxy', url]):
            self.assert_fails(args, status=2, secret=secret)
        # … or by what standard input or the file holds, by its first line
        proxy_file = os.path.join(self.world.path, 'proxy.url')
        for data, words in (('', 'is empty'), ('\n' + url + '\n', 'is empty'), ('x' * 1025 + '\n', 'longer than 1024'),
                            (url.replace('me:', 'm\u00e9:') + '\n', 'not printable ASCII'),
                            (url.replace('me:', 'me\t:') + '\n', 'not printable ASCII'),
                            (url.replace('socks5', 'ftp') + '\n', 'not a socks5://'), (config, 'not a socks5://')):
            line = self.assert_fails(add_proxy + ['--proxy', '-'], input=data, secret=secret)
            self.assertIn(words, line)
            self.assertIn('first line of standard input', line)
            self.write('proxy.url', data)
            self.assertIn(words, self.assert_fails(add_proxy + ['--proxy-file', proxy_file], secret=secret))
        self.assertIn('No such file', self.assert_fails(add_proxy + ['--proxy-file', proxy_file + '.missing']))
        self.assertIn('No exits', self.picctl('exit', 'list'))

        out = self.picctl('exit', 'add', 'vpn', '--type', 'wireguard', '--config', conf, '--test-target', '192.0.2.1:443')
        self.assertTrue(out.startswith('Added exit vpn ('), out)
        self.assertIn('picctl peer exit PEER vpn', out)
        self.assertIn('already exists', self.assert_fails(['exit', 'add', 'vpn', '--type', 'wireguard', '--config', conf]))
        # from standard input too
        self.assertIn('Added exit other', self.picctl('exit', 'add', 'other', '--type', 'wireguard', '--config', '-',
                                                      input=exit_wg_quick(h.wg_genkey()[0], server)))
        rows = [line.split() for line in self.picctl('exit', 'list').splitlines()]
        self.assertEqual(rows[0], ['NAME', 'TYPE', 'STATE', 'ENDPOINT', 'PEERS', 'HANDSHAKE', 'RX', 'TX'])
        self.assertEqual([r[0] for r in rows[1:]], ['other', 'vpn'])
        self.assertEqual([rows[2][i] for i in (1, 3, 4, 5)], ['wireguard', '127.0.0.1:51999', '0', 'never'])
        self.assertIn(rows[2][2], ('starting', 'down', 'failed'))

        show = status_fields(self.picctl('exit', 'show', 'vpn'))
        path = '/org/pic/Cell1/exit/vpn'
        props = cell.properties('org.pic.Cell1.Exit', path)
        self.assertEqual((show['Name'], show['Type'], show['Endpoint'], show['TestTarget'], show['PeerCount'],
                          show['DnsServers'], show['Interface'], show['Table']),
                         ('vpn', 'wireguard', '127.0.0.1:51999', '192.0.2.1:443', '0', '10.200.0.1',
                          str(props['Interface']), str(int(props['Table']))))
        self.assertEqual(show['Mark'], '0x%x' % int(props['Mark']))
        data = json.loads(self.picctl('exit', 'show', 'vpn', '--json'))
        self.assertEqual((data['Name'], data['Address'], data['DnsServers']), ('vpn', str(props['Address']),
                                                                               ['10.200.0.1']))
        self.assertEqual([e['Name'] for e in json.loads(self.picctl('exit', 'list', '--json'))], ['other', 'vpn'])
        for args in (('exit', 'list'), ('exit', 'show', 'vpn'), ('exit', 'show', 'vpn', '--json')):
            self.assertNotIn(private, self.picctl(*args))
        self.assertEqual(self.assert_fails(['exit', 'show', 'ghost']),
                         "picctl: there is no exit 'ghost' (see 'picctl exit list')")

        self.assertEqual(self.picctl('exit', 'update', 'vpn', '--test-target', '192.0.2.2:80'), 'Updated exit vpn.\n')
        self.picctl('exit', 'update', 'vpn', '--config', self.write('vpn2.conf', config.replace('10.200.0.2', '10.200.0.3')))
        show = status_fields(self.picctl('exit', 'show', 'vpn'))
        self.assertEqual(show['TestTarget'], '192.0.2.2:80')
        self.assertTrue(show['Address'].startswith('10.200.0.3'), show)
        self.assertIn('Config', self.assert_fails(['exit', 'update', 'vpn', '--config', self.write('x.conf', '[Peer]\n')]))
        self.assertIn("no exit 'ghost'", self.assert_fails(['exit', 'update', 'ghost', '--test-target', '192.0.2.2:80']))

        # a peer through it
        self.picctl('peer', 'add', 'laptop')
        self.assertEqual(self.picctl('peer', 'exit', 'laptop'), "laptop: the cell's uplink\n")
        self.assertIn("no exit named 'ghost'", self.assert_fails(['peer', 'exit', 'laptop', 'ghost']))
        self.assertEqual(self.picctl('peer', 'exit', 'laptop', 'vpn'), 'laptop: exit vpn\n')
        self.assertEqual(str(cell.properties(PEER, cell.manager().GetPeerByName('laptop'))['Exit']), 'vpn')
        self.assertEqual(self.picctl('peer', 'exit', 'laptop'), 'laptop: exit vpn\n')
        self.assertEqual(status_fields(self.picctl('peer', 'show', 'laptop'))['Exit'], 'vpn')
        self.assertEqual(json.loads(self.picctl('peer', 'show', 'laptop', '--json'))['Exit'], 'vpn')
        rows = [line.split() for line in self.picctl('peer', 'list').splitlines()]
        self.assertEqual((rows[0][3], rows[1][3]), ('EXIT', 'vpn'))
        self.assertEqual(status_fields(self.picctl('exit', 'show', 'vpn'))['PeerCount'], '1')
        self.assertIn('laptop', self.assert_fails(['exit', 'remove', 'vpn']))

        # its server does not answer: the test says so
        line = self.assert_fails(['exit', 'test', 'vpn'])
        self.assertIn('192.0.2.2:80', line)

        self.assertEqual(self.picctl('peer', 'exit', 'laptop', '--none'), "laptop: the cell's uplink\n")
        self.assertEqual(self.picctl('peer', 'list').splitlines()[1].split()[3], '-')
        self.assertEqual(self.picctl('exit', 'remove', 'vpn'), 'Removed exit vpn.\n')
        self.assertIn("no exit 'vpn'", self.assert_fails(['exit', 'remove', 'vpn']))
        self.assertEqual([e['Name'] for e in json.loads(self.picctl('exit', 'list', '--json'))], ['other'])

        # tor takes no file (and refuses one)
        self.assertIn('Config', self.assert_fails(['exit', 'add', 'tor', '--type', 'tor', '--config', conf]))
        out = self.picctl('exit', 'add', 'tor', '--type', 'tor')
        self.assertTrue(out.startswith('Added exit tor ('), out)
        self.assertEqual(status_fields(self.picctl('exit', 'show', 'tor'))['Type'], 'tor')
        self.assertEqual(self.picctl('exit', 'remove', 'tor'), 'Removed exit tor.\n')

        cell.polkit.set_allowed(ALL_ACTIONS)
        self.assertIn('ccess denied', self.assert_fails(['exit', 'remove', 'other']))
        self.assertIn('exit add NAME --type wireguard', self.picctl('--help'))
        self.assertIn('exit add NAME --type proxy --proxy URL|-', self.picctl('--help'))
        self.assertIn('--proxy-file FILE', self.picctl('exit', 'add', '--help'))
        self.assertIn('--dns IP', self.picctl('exit', 'update', '--help'))
        self.assertIn('exit NAME [EXIT|--none]', self.picctl('peer', '--help'))

    def test_proxy_exits(self):
        """An exit of type proxy: its URL from standard input or a file, the password never shown again;
        its resolvers; what only another type takes is refused by the cell, naming it."""
        cell = self.make_cell(ALL_ACTIONS + ['org.pic.cell1.manage-exits'])
        self.picctl(*SETUP)
        secret = 'hunter2-proxy-secret'
        out = self.picctl('exit', 'add', 'px', '--type', 'proxy', '--proxy', '-', '--test-target', '192.0.2.1:443',
                          input='socks5://me:%s@192.0.2.10:1080\nnot read\n' % secret)
        self.assertTrue(out.startswith('Added exit px ('), out)
        show = status_fields(self.picctl('exit', 'show', 'px'))
        self.assertEqual((show['Type'], show['Endpoint'], show['DnsServers'], show['TestTarget']),
                         ('proxy', '192.0.2.10:1080', '1.1.1.1, 9.9.9.9', '192.0.2.1:443'))
        url_file = self.write('proxy.url', 'http://192.0.2.11:3128\n')
        self.picctl('exit', 'add', 'web', '--type', 'proxy', '--proxy-file', url_file, '--dns', '192.0.2.53',
                    '--dns', '192.0.2.54')
        data = json.loads(self.picctl('exit', 'show', 'web', '--json'))
        self.assertEqual((data['Type'], data['Endpoint'], data['DnsServers']),
                         ('proxy', '192.0.2.11:3128', ['192.0.2.53', '192.0.2.54']))
        rows = [line.split() for line in self.picctl('exit', 'list').splitlines()]
        self.assertEqual([(r[0], r[1], r[3]) for r in rows[1:]], [('px', 'proxy', '192.0.2.10:1080'),
                                                                 ('web', 'proxy', '192.0.2.11:3128')])
        # the password went in and never comes out; the cell keeps it to itself
        for args in (('exit', 'list'), ('exit', 'list', '--json'), ('exit', 'show', 'px'),
                     ('exit', 'show', 'px', '--json')):
            self.assertNotIn(secret, self.picctl(*args))
        self.assertNotIn(secret, repr(cell.properties('org.pic.Cell1.Exit', '/org/pic/Cell1/exit/px')))
        self.assertEqual(os.stat(os.path.join(cell.state_dir, 'exits', 'px.json')).st_mode & 0o777, 0o600)

        # change its resolvers, then its proxy (the resolvers stay)
        self.assertEqual(self.picctl('exit', 'update', 'px', '--dns', '192.0.2.53'), 'Updated exit px.\n')
        self.assertEqual(status_fields(self.picctl('exit', 'show', 'px'))['DnsServers'], '192.0.2.53')
        self.picctl('exit', 'update', 'px', '--proxy', '-', input='http://other:%s@192.0.2.12:8080\n' % secret)
        show = status_fields(self.picctl('exit', 'show', 'px'))
        self.assertEqual((show['Endpoint'], show['DnsServers']), ('192.0.2.12:8080', '192.0.2.53'))

        # refused by the cell, naming what is wrong, the password never repeated
        for url, words in (('socks5://me:%s@proxy.example:1080' % secret, 'IPv4'),
                           ('socks5://me:%s@192.0.2.10:0' % secret, 'port'),
                           ('socks5://me:%s"x@192.0.2.10:1080' % secret, 'password')):
            self.assertIn(words, self.assert_fails(['exit', 'add', 'bad', '--type', 'proxy', '--proxy', '-'],
                                                   input=url + '\n', secret=secret))
            self.assertIn(words, self.assert_fails(['exit', 'update', 'px', '--proxy', '-'], input=url + '\n',
                                                   secret=secret))
        self.assertIn('Config', self.assert_fails(['exit', 'update', 'px', '--config',
                                                   self.write('vpn.conf', exit_wg_quick(h.wg_genkey()[0],
                                                                                        h.wg_genkey()[1]))]))
        self.picctl('exit', 'add', 'vpn', '--type', 'wireguard', '--config', os.path.join(self.world.path, 'vpn.conf'))
        self.assertIn('Proxy', self.assert_fails(['exit', 'update', 'vpn', '--proxy', 'socks5://192.0.2.10:1080']))
        self.assertIn('DnsServers', self.assert_fails(['exit', 'update', 'vpn', '--dns', '192.0.2.53']))
        self.assertEqual(status_fields(self.picctl('exit', 'show', 'px'))['Endpoint'], '192.0.2.12:8080')
        self.assertEqual([e['Name'] for e in json.loads(self.picctl('exit', 'list', '--json'))], ['px', 'vpn', 'web'])

        for name in ('px', 'web', 'vpn'):
            self.assertEqual(self.picctl('exit', 'remove', name), 'Removed exit %s.\n' % name)
        self.assertIn('No exits', self.picctl('exit', 'list'))

    def ssh_keygen(self, name, passphrase=''):
        """An ed25519 key pair made here: (its private key file, the first line of its .pub file)."""
        path = os.path.join(self.world.subdir('keys', 0o700), name)
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', passphrase, '-C', name + '@test', '-f', path],
                       check=True)
        with open(path + '.pub') as f:
            return path, f.readline().strip()

    def test_sshuttle_exits(self):
        """An exit of type sshuttle: its private key from a file or standard input, never shown again; the
        server's host key from a .pub file (its comment dropped) or the command line; one resolver at most;
        what is missing or wrong refused by name, by picctl or by the cell."""
        cell = self.make_cell(ALL_ACTIONS + ['org.pic.cell1.manage-exits'])
        self.picctl(*SETUP)
        key_file, _ = self.ssh_keygen('client')
        other_key_file, _ = self.ssh_keygen('other-client')
        locked_file, _ = self.ssh_keygen('locked', passphrase='a passphrase')
        host_pub = key_file.replace('client', 'host') + '.pub'
        _, host_line = self.ssh_keygen('host')
        other_pub = key_file.replace('client', 'other-host') + '.pub'
        _, other_line = self.ssh_keygen('other-host')
        keys = {}
        for name, path in (('client', key_file), ('other', other_key_file), ('locked', locked_file)):
            with open(path) as f:
                keys[name] = f.read()
        # every line of every private key's body: none may show anywhere
        secrets = [line for k in keys.values() for line in k.splitlines()[1:-1]]
        host_key, other_host_key = (' '.join(line.split()[:2]) for line in (host_line, other_line))
        self.assertTrue(host_line.endswith(' host@test'), host_line)

        def state():
            with open(os.path.join(cell.state_dir, 'exits', 'ssh.json')) as f:
                return json.load(f)

        def shown(text):
            for secret in secrets:
                self.assertNotIn(secret, text)
            return text

        # from a key file and a .pub file, no resolver: the SSH server's
        out = shown(self.picctl('exit', 'add', 'ssh', '--type', 'sshuttle', '--target', 'root@192.0.2.20',
                                '--ssh-key', key_file, '--host-key-file', host_pub))
        self.assertTrue(out.startswith('Added exit ssh ('), out)
        show = status_fields(shown(self.picctl('exit', 'show', 'ssh')))
        self.assertEqual((show['Type'], show['Endpoint'], show['DnsServers']),
                         ('sshuttle', '192.0.2.20:22', "(the SSH server's)"))
        self.assertEqual((state()['target'], state()['ssh_key'], state()['host_key']),
                         ('root@192.0.2.20', keys['client'], host_key))  # the .pub file's comment dropped
        self.assertEqual(os.stat(os.path.join(cell.state_dir, 'exits', 'ssh.json')).st_mode & 0o777, 0o600)

        # from standard input, the host key on the command line, one resolver
        shown(self.picctl('exit', 'add', 'ssh2', '--type', 'sshuttle', '--target', 'pic@192.0.2.21:2222',
                          '--ssh-key', '-', '--host-key', other_host_key, '--dns', '192.0.2.53',
                          '--test-target', '192.0.2.1:443', input=keys['other']))
        data = json.loads(shown(self.picctl('exit', 'show', 'ssh2', '--json')))
        self.assertEqual((data['Type'], data['Endpoint'], data['DnsServers'], data['TestTarget']),
                         ('sshuttle', '192.0.2.21:2222', ['192.0.2.53'], '192.0.2.1:443'))
        rows = [line.split() for line in shown(self.picctl('exit', 'list')).splitlines()]
        self.assertEqual([(r[0], r[1], r[3]) for r in rows[1:]], [('ssh', 'sshuttle', '192.0.2.20:22'),
                                                                 ('ssh2', 'sshuttle', '192.0.2.21:2222')])
        shown(self.picctl('exit', 'list', '--json'))
        shown(repr(cell.properties('org.pic.Cell1.Exit', '/org/pic/Cell1/exit/ssh')))

        # its host key, then its server and resolver, then its key (from standard input): the rest stays
        self.assertEqual(self.picctl('exit', 'update', 'ssh', '--host-key-file', other_pub), 'Updated exit ssh.\n')
        self.assertEqual((state()['host_key'], state()['ssh_key']), (other_host_key, keys['client']))
        self.picctl('exit', 'update', 'ssh', '--host-key', host_line)  # a whole .pub line is fine too
        self.assertEqual(state()['host_key'], host_key)
        self.picctl('exit', 'update', 'ssh', '--target', 'pic@192.0.2.22:2200', '--dns', '192.0.2.54')
        show = status_fields(self.picctl('exit', 'show', 'ssh'))
        self.assertEqual((show['Endpoint'], show['DnsServers']), ('192.0.2.22:2200', '192.0.2.54'))
        self.assertEqual(shown(self.picctl('exit', 'update', 'ssh', '--ssh-key', '-', input=keys['other'])),
                         'Updated exit ssh.\n')
        self.assertEqual((state()['ssh_key'], state()['host_key'], state()['target']),
                         (keys['other'], host_key, 'pic@192.0.2.22:2200'))

        # refused by picctl before anything is read or sent, naming what is wrong
        conf = self.write('vpn.conf', exit_wg_quick(h.wg_genkey()[0], h.wg_genkey()[1]))
        add = ['exit', 'add', 'bad', '--type', 'sshuttle']
        target, key, host = ['--target', 'root@192.0.2.20'], ['--ssh-key', key_file], ['--host-key-file', host_pub]
        for args, words in ((add + key + host, '--target'), (add + target + host, '--ssh-key'),
                            (add + target + key, '--host-key'),
                            (add + target + key + host + ['--dns', '192.0.2.53', '--dns', '192.0.2.54'], 'one --dns'),
                            (add + target + key + host + ['--config', conf], 'not --config'),
                            (add + target + key + host + ['--proxy', 'socks5://192.0.2.10:1080'], '--proxy'),
                            (add + ['--target', 'root'] + key + host, "--target must be USER@ADDRESS[:PORT]"),
                            (add + ['--target', '@192.0.2.20'] + key + host, '--target must'),
                            (add + ['--target', 'root@'] + key + host, '--target must'),
                            (add + target + key + ['--host-key', 'ssh-ed25519'], '--host-key must'),
                            (add + target + key + ['--host-key', host_key] + host, 'host key once'),
                            (add + target + ['--ssh-key', '-', '--host-key-file', '-'], 'standard input'),
                            (['exit', 'add', 'bad', '--type', 'proxy', '--proxy', 'socks5://192.0.2.10:1080'] + key,
                             'for an exit of type sshuttle'),
                            (['exit', 'add', 'bad', '--type', 'wireguard', '--config', conf] + target,
                             'for an exit of type sshuttle'),
                            (['exit', 'add', 'bad', '--type', 'tor', '--dns', '192.0.2.53'], '--dns is for'),
                            (['exit', 'update', 'ssh', '--config', conf] + key, 'one kind at a time'),
                            (['exit', 'update', 'ssh', '--proxy', 'socks5://192.0.2.10:1080'] + target,
                             'one kind at a time'),
                            (['exit', 'update', 'ssh', '--dns', '192.0.2.53', '--dns', '192.0.2.54'] + target,
                             'one --dns'),
                            (['exit', 'list', '--ssh-key', key_file], '--ssh-key is not an option'),
                            (['exit', 'show', 'ssh', '--target', 'root@192.0.2.20'], '--target is not an option'),
                            (['exit', 'test', 'ssh', '--host-key-file', host_pub], '--host-key-file is not')):
            with self.subTest(args=args):
                self.assertIn(words, self.assert_fails(args, status=2, input=keys['client'], secret=secrets[0]))

        # … by what its files or standard input hold, never quoting a key
        big = self.write('big.key', keys['client'] + '#' * (16 * 1024))
        empty = self.write('empty', '')
        for args, data, words in ((add + target + ['--ssh-key', big] + host, None, 'longer than 16384 bytes'),
                                  (add + target + ['--ssh-key', '-'] + host, keys['client'] * 50,
                                   'longer than 16384 bytes'),
                                  (add + target + ['--ssh-key', empty] + host, None, 'is empty'),
                                  (add + target + ['--ssh-key', '-'] + host, keys['client'] + '\x00',
                                   'not a text file'),
                                  (add + target + ['--ssh-key', empty + '.missing'] + host, None, 'No such file'),
                                  (add + target + key + ['--host-key-file', empty], None, 'is empty'),
                                  (add + target + key + ['--host-key-file', '-'], 'ssh-ed25519\n', 'not a public key')):
            with self.subTest(args=args):
                self.assertIn(words, self.assert_fails(args, input=data, secret=secrets[0]))

        # … and by the cell, naming the setting, the key never repeated; the exit stays as it was
        for args, data, words in ((add + target + ['--ssh-key', locked_file] + host, None, 'passphrase'),
                                  (['exit', 'update', 'ssh', '--ssh-key', '-'], keys['locked'], 'passphrase'),
                                  (add + target + ['--ssh-key', host_pub] + host, None, 'OpenSSH private key'),
                                  (add + target + key + ['--host-key-file', key_file], None, 'HostKey'),
                                  (add + ['--target', 'root@ssh.example'] + key + host, None, 'IPv4'),
                                  (add + target + key + ['--host-key', 'ssh-rsa ' + host_key.split()[1]], None,
                                   'not a ssh-rsa key'),
                                  (['exit', 'update', 'ssh2', '--dns', '192.0.2.53', '--dns', '192.0.2.54'], None,
                                   'DnsServers'),
                                  (['exit', 'update', 'ssh', '--proxy', 'socks5://192.0.2.10:1080'], None, 'Proxy')):
            with self.subTest(args=args):
                line = self.assert_fails(args, input=data)
                self.assertIn(words, line)
                shown(line)
        self.picctl('exit', 'add', 'px', '--type', 'proxy', '--proxy', 'socks5://192.0.2.10:1080')
        self.assertIn('SshKey: only an sshuttle exit', self.assert_fails(['exit', 'update', 'px'] + key))
        self.assertIn('Target: only an sshuttle exit', self.assert_fails(['exit', 'update', 'px'] + target))
        self.assertEqual((state()['ssh_key'], state()['host_key']), (keys['other'], host_key))
        self.assertEqual([e['Name'] for e in json.loads(self.picctl('exit', 'list', '--json'))], ['px', 'ssh', 'ssh2'])

        for name in ('px', 'ssh', 'ssh2'):
            self.assertEqual(self.picctl('exit', 'remove', name), 'Removed exit %s.\n' % name)
        self.assertIn('No exits', self.picctl('exit', 'list'))
        self.assertIn('exit add NAME --type sshuttle --target USER@ADDRESS[:PORT]', self.picctl('--help'))
        self.assertIn('--host-key-file FILE', self.picctl('exit', 'add', '--help'))
        self.assertIn('--ssh-key FILE|-', self.picctl('exit', 'update', '--help'))

    def test_link_offer_exit(self):
        """What one cell shows of offering its uplink to a linked cell (test_cell_exits drives it
        between real cells): the command's refusals, a link that is not there, no cell exit by hand."""
        self.make_cell(ALL_ACTIONS + ['org.pic.cell1.manage-links', 'org.pic.cell1.manage-exits'])
        self.picctl(*SETUP)
        for args in (['link', 'offer-exit'], ['link', 'offer-exit', 'b'], ['link', 'offer-exit', 'b', 'yes'],
                     ['link', 'offer-exit', 'b', 'ON'], ['link', 'offer-exit', 'b', 'on', 'extra'],
                     ['link', 'offer-exit', 'Bad!', 'on'], ['link', 'offer-exit', 'b', 'on', '--json']):
            self.assert_fails(args, status=2)
        for args in (['link', 'offer-exit', 'ghost', 'on'], ['link', 'offer-exit', 'ghost', 'off'],
                     ['link', 'show', 'ghost']):
            self.assertEqual(self.assert_fails(args), "picctl: there is no linked cell 'ghost' (see 'picctl link list')")
        self.assertIn('No linked cells', self.picctl('link', 'list'))
        self.assertEqual(json.loads(self.picctl('link', 'list', '--json')), [])
        # an exit of type cell appears when a linked cell offers one; it is not added
        conf = self.write('cell.conf', exit_wg_quick(h.wg_genkey()[0], h.wg_genkey()[1]))
        self.assertIn('appears on its own', self.assert_fails(['exit', 'add', 'b', '--type', 'cell', '--config', conf]))
        self.assertIn('appears here by itself', self.picctl('exit', 'list'))
        self.assertIn('link offer-exit NAME on|off', self.picctl('--help'))
        self.assertIn('offer-exit NAME on|off', self.picctl('link', '--help'))

    def test_access_denied(self):
        cell = self.make_cell()
        self.picctl(*SETUP)
        cell.polkit.set_allowed([])
        line = self.assert_fails(['peer', 'add', 'laptop'])
        self.assertIn('ccess denied', line)
        self.assertIn('org.pic.cell1.manage-peers', line)
        self.assertEqual(cell.managed_objects(), {})
        # reading needs no authorization
        self.assertEqual(status_fields(self.picctl('status'))['Name'], 'home')


if __name__ == '__main__':
    h.main()
