#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Cell links, first step: invites (src/link/PROTOCOL.md).

CreateInvite hands out a one-time invite signed with the cell's Ed25519 key
(checked here with an independent implementation, python3-cryptography),
carrying the cell as the bus shows it; the daemon keeps only a key derived
from the invite's secret, in a 0600 file. ListInvites, RevokeInvite, options
and refusals (bad options, no Setup, no Endpoint, polkit) and picctl link."""

import base64
import json
import os
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from gateway_client import ADMIN_PASSWORD, ALL_ACTIONS, Client, setup_cell  # noqa: E402
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: E402

MANAGER = 'org.pic.Cell1.Manager'
ALLOWED = ['org.pic.cell1.configure', 'org.pic.cell1.manage-links']
INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs'
ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied'
UNKNOWN_OBJECT = 'org.freedesktop.DBus.Error.UnknownObject'
SETUP_REQUIRED = 'org.pic.Cell1.Error.SetupRequired'
VPN = '10.61.0.1/24'
SIGNING_CONTEXT = b'pic invite v1\n'


def sv(d):
    return dbus.Dictionary(d, signature='sv')


def b64url(s):
    return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))


def parse_invite(text):
    """(payload dict, raw payload bytes, signature), the format src/link/PROTOCOL.md describes."""
    prefix, payload, sig = text.split('.')
    assert prefix == 'pic-invite1', text
    raw = b64url(payload)
    return json.loads(raw), raw, b64url(sig)


def verify(invite):
    fields, raw, sig = parse_invite(invite)
    Ed25519PublicKey.from_public_bytes(b64url(fields['cell']['sign'])).verify(sig, SIGNING_CONTEXT + raw)
    return fields


class InviteTest(h.HarnessTestCase):
    def setUp(self):
        super().setUp()
        self.cell = h.Cell(world=self.world)
        self.cell.polkit.set_allowed(ALLOWED)
        self.cell.start()
        self.mgr = self.cell.manager()

    def setup_cell(self, endpoint='cell.example.org:51820'):
        s = {'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': VPN}
        if endpoint:
            s['Endpoint'] = endpoint
        self.mgr.Setup(sv(s))

    def assertDBusError(self, name, words, fn, *args):
        with self.assertRaises(dbus.DBusException) as cm:
            fn(*args)
        self.assertEqual(cm.exception.get_dbus_name(), name, cm.exception)
        self.assertIn(words, cm.exception.get_dbus_message())
        return cm.exception

    def invite_files(self):
        d = os.path.join(self.cell.state_dir, 'invites')
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def test_invite_carries_the_cell_signed(self):
        self.setup_cell()
        before = time.time()
        text, expires = self.mgr.CreateInvite(sv({}))
        fields = verify(str(text))
        props = self.cell.properties(MANAGER)
        self.assertEqual(sorted(fields), ['cell', 'expires', 'id', 'secret', 'v'])
        self.assertEqual(fields['v'], 1)
        cell = fields['cell']
        self.assertEqual(cell['name'], 'home')
        self.assertEqual(cell['domain'], 'home.lan')
        self.assertEqual(cell['subnet'], '10.61.0.0/24')
        self.assertEqual(cell['dns'], '10.61.0.1')
        self.assertEqual(cell['endpoint'], 'cell.example.org:51820')
        self.assertEqual(cell['pairing'], 'cell.example.org:8283')
        self.assertEqual(cell['wg'], str(props['PublicKey']))
        self.assertEqual(len(b64url(fields['secret'])), 32)
        self.assertEqual(fields['expires'], int(expires))
        self.assertTrue(before + 86400 - 5 <= int(expires) <= time.time() + 86400 + 5)

        # a changed byte anywhere in the payload breaks the signature
        prefix, payload, sig = str(text).split('.')
        raw = bytearray(b64url(payload))
        raw[raw.index(b'home.lan')] ^= 1
        with self.assertRaises(InvalidSignature):
            Ed25519PublicKey.from_public_bytes(b64url(cell['sign'])).verify(b64url(sig), SIGNING_CONTEXT + bytes(raw))

        # listed by id, stored 0600 without the secret; the signing key too
        listed = [(str(i), int(c), int(e)) for i, c, e in self.mgr.ListInvites()]
        self.assertEqual([i for i, _, _ in listed], [fields['id']])
        self.assertEqual(listed[0][2], int(expires))
        self.assertEqual(self.invite_files(), [fields['id'] + '.json'])
        for name in ('invites/%s.json' % fields['id'], 'signing.key'):
            path = os.path.join(self.cell.state_dir, name)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, name)
        with open(os.path.join(self.cell.state_dir, 'invites', fields['id'] + '.json')) as f:
            stored = f.read()
        self.assertNotIn(fields['secret'], stored)

        # the same signing key for every invite, across a restart
        self.cell.restart()
        again = verify(str(self.cell.manager().CreateInvite(sv({}))[0]))
        self.assertEqual(again['cell']['sign'], cell['sign'])
        self.assertNotEqual(again['id'], fields['id'])
        self.assertNotEqual(again['secret'], fields['secret'])
        self.assertEqual(len(self.cell.manager().ListInvites()), 2)

    def test_options(self):
        self.setup_cell()
        text, expires = self.mgr.CreateInvite(sv({'Lifetime': dbus.UInt32(3600),
                                                  'PairingAddress': 'pair.example.org:9443'}))
        fields = verify(str(text))
        self.assertAlmostEqual(int(expires), time.time() + 3600, delta=5)
        self.assertEqual(fields['cell']['pairing'], 'pair.example.org:9443')
        for options, words in [({'Lifetime': dbus.UInt32(59)}, 'Lifetime'),
                               ({'Lifetime': dbus.UInt32(7 * 86400 + 1)}, 'Lifetime'),
                               ({'Lifetime': 'soon'}, 'Lifetime'),
                               ({'PairingAddress': 'no port here'}, 'PairingAddress'),
                               ({'Color': 'blue'}, 'Color')]:
            self.assertDBusError(INVALID_ARGS, words, self.mgr.CreateInvite, sv(options))
        self.assertEqual(len(self.mgr.ListInvites()), 1)

    def test_revoke(self):
        self.setup_cell()
        fields = verify(str(self.mgr.CreateInvite(sv({}))[0]))
        self.mgr.RevokeInvite(fields['id'])
        self.assertEqual(list(self.mgr.ListInvites()), [])
        self.assertEqual(self.invite_files(), [])
        self.assertDBusError(UNKNOWN_OBJECT, 'used, revoked or has expired', self.mgr.RevokeInvite, fields['id'])
        for bad in ('', '../signing', 'x' * 5000):
            self.assertDBusError(INVALID_ARGS, 'not an invite id', self.mgr.RevokeInvite, bad)

    def test_needs_setup_and_endpoint(self):
        self.assertDBusError(SETUP_REQUIRED, 'not set up', self.mgr.CreateInvite, sv({}))
        self.setup_cell(endpoint=None)
        self.assertDBusError(SETUP_REQUIRED, 'Endpoint', self.mgr.CreateInvite, sv({}))
        self.assertEqual(self.invite_files(), [])
        self.assertFalse(os.path.exists(os.path.join(self.cell.state_dir, 'signing.key')))

    def test_polkit_refuses(self):
        self.setup_cell()
        fields = verify(str(self.mgr.CreateInvite(sv({}))[0]))
        self.cell.polkit.set_allowed(['org.pic.cell1.configure'])
        self.assertDBusError(ACCESS_DENIED, '', self.mgr.CreateInvite, sv({}))
        self.assertDBusError(ACCESS_DENIED, '', self.mgr.RevokeInvite, fields['id'])
        self.assertEqual(self.invite_files(), [fields['id'] + '.json'])
        # reading the list needs nothing: ids and times are no secret
        self.assertEqual([str(i) for i, _, _ in self.mgr.ListInvites()], [fields['id']])

    def test_picctl_link(self):
        self.setup_cell()
        p = self.cell.picctl('link', 'invite', '--lifetime', '2h')
        self.assertEqual(p.returncode, 0, p)
        self.assertIn('One use, until', p.stderr)  # the note is not part of what a pipe takes
        self.assertEqual(len(p.stdout.splitlines()), 1)
        text = p.stdout.strip()
        fields = verify(text)
        self.assertAlmostEqual(fields['expires'], time.time() + 7200, delta=5)

        p = self.cell.picctl('link', 'invite', '--qr')
        self.assertEqual(p.returncode, 0, p)
        self.assertIn('pic-invite1.', p.stdout)
        self.assertIn('\u2588', p.stdout)  # the QR code's blocks

        p = self.cell.picctl('link', 'invites')
        self.assertEqual(p.returncode, 0, p)
        self.assertIn(fields['id'], p.stdout)
        p = self.cell.picctl('link', 'invites', '--json')
        listed = json.loads(p.stdout)
        self.assertEqual(len(listed), 2)
        self.assertEqual(sorted(listed[0]), ['Created', 'Expires', 'Id'])

        p = self.cell.picctl('link', 'revoke', fields['id'])
        self.assertEqual((p.returncode, p.stderr), (0, ''), p)
        p = self.cell.picctl('link', 'revoke', fields['id'])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('used, revoked or has expired', p.stderr)
        p = self.cell.picctl('link', 'invite', '--lifetime', '8d')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('Lifetime', p.stderr)


class InviteRestTest(h.HarnessTestCase):
    """/api/links and /api/invites through the gateway (admin only)."""

    def test_invites_and_links_over_rest(self):
        cell, gw = setup_cell(self.world, allowed=ALL_ACTIONS + ['org.pic.cell1.manage-links'])
        admin = Client(gw)
        self.assertEqual(admin.login('admin', ADMIN_PASSWORD).status, 200)
        self.assertEqual(gw.request('GET', '/api/invites').status, 401)

        r = admin.request('POST', '/api/invites', {'lifetime': 3600})
        self.assertEqual(r.status, 201, r)
        made = r.json()
        self.assertEqual(sorted(made), ['expires', 'invite', 'qr_svg'])
        self.assertEqual(r.header('Cache-Control'), 'no-store')
        self.assertIn('<svg', made['qr_svg'][:200])
        fields = verify(made['invite'])
        self.assertAlmostEqual(made['expires'], time.time() + 3600, delta=5)

        listed = admin.request('GET', '/api/invites').json()
        self.assertEqual([i['id'] for i in listed], [fields['id']])
        self.assertNotIn(fields['secret'], admin.request('GET', '/api/invites').body.decode())
        for body in ({'lifetime': 'soon'}, {'lifetime': 1.5}, {'color': 'red'}, {'lifetime': 10}):
            r = admin.request('POST', '/api/invites', body)
            self.assertEqual((r.status, r.json()['error']), (400, 'invalid'), (body, r))

        self.assertEqual(admin.request('DELETE', '/api/invites/' + fields['id']).status, 204)
        self.assertEqual(admin.request('DELETE', '/api/invites/' + fields['id']).status, 404)
        self.assertEqual(admin.request('GET', '/api/invites').json(), [])

        # links: none yet; a malformed or forged invite is refused by name
        self.assertEqual(admin.request('GET', '/api/links').json(), [])
        self.assertEqual(admin.request('GET', '/api/links/nosuch').status, 404)
        r = admin.request('POST', '/api/links', {'invite': 'hello'})
        self.assertEqual((r.status, r.json()['error']), (400, 'invalid_invite'), r)
        prefix, payload, sig = made['invite'].split('.')
        raw = bytearray(b64url(payload))
        raw[raw.index(b'home.lan')] ^= 1
        forged = '.'.join([prefix, base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('='), sig])
        r = admin.request('POST', '/api/links', {'invite': forged})
        self.assertEqual((r.status, r.json()['error']), (403, 'forged'), r)
        r = admin.request('POST', '/api/links', {'invite': made['invite']})  # this cell's own
        self.assertEqual((r.status, r.json()['error']), (409, 'conflict'), r)
        self.assertEqual(admin.request('POST', '/api/links', {'invite': 'x' * 5000}).status, 400)
        # sharing with a link that is not there; a body that is not a list of names
        r = admin.request('PATCH', '/api/links/nosuch', {'shared': ['web']})
        self.assertEqual((r.status, r.json()['error']), (404, 'not_found'), r)
        for body in ({'shared': 'web'}, {'shared': [1]}, {'shared': ['web'], 'x': 1}, {'shared': ['web'] * 17}):
            self.assertEqual(admin.request('PATCH', '/api/links/nosuch', body).status, 400, body)


if __name__ == '__main__':
    h.main()
