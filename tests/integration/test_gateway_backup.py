#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""POST /api/backup and /api/restore through pic-gatewayd against a real pic-celld (its bus
run by a systemd manager, which restarts the daemon to load a restored state): an archive
streamed out, encrypted or plain; the admin's only, with CSRF; every refusal of a restore
by name with the cell untouched (a wrong passphrase, a cut or foreign archive, a body too
large answered before a byte of it is read); a restore that brings a removed peer back
once the API answers again; the passphrase in no answer and not in the gateway's log."""

import glob
import os
import re
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from gateway_client import ADMIN_PASSWORD, ALL_ACTIONS, SETUP, Client, setup_cell  # noqa: E402

ACTIONS = ALL_ACTIONS + ['org.pic.cell1.backup']
# not ASCII: the header carries it percent-encoded, as a browser must send it
PASSPHRASE = 'a long enough pässphrase ✓'
WRONG = 'not the passphrase at all'
PEERS = 400  # the archive is larger than a pipe holds: both sides wait for room (a /16 has room for them)
ERROR_KEYS = {'error', 'message', 'field'}
STREAM_MAX = 256 * 1024 * 1024


def quoted(passphrase):
    return urllib.parse.quote(passphrase, safe='')


class GatewayBackupTest(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        cls.cell, cls.gw = setup_cell(cls.world, allowed=ACTIONS, setup=False)
        r = cls.gw.request('POST', '/api/setup', dict(SETUP, vpn_address='10.81.0.1/16'))
        assert r.status == 200, r
        cls.answers = []  # every body and header the gateway gave: the passphrase is in none
        admin = Client(cls.gw)
        assert admin.login('admin', ADMIN_PASSWORD).status == 200
        for name in ('laptop', 'phone'):
            assert admin.post('/api/peers', {'name': name}).status == 201
        for i in range(PEERS):
            cls.cell.manager().AddPeer('p%03d' % i, dbus.Dictionary({}, signature='sv'))
        r = admin.post('/api/peers/laptop/login')
        assert r.status == 200, r
        cls.laptop_password = r.json()['password']

    # ------------------------------------------------------------ helpers

    def seen(self, r):
        self.answers.append(r.body)
        self.answers.append(repr(sorted(r.headers.items())).encode())
        return r

    def admin(self):
        c = Client(self.gw)
        self.assertEqual(c.login('admin', ADMIN_PASSWORD).status, 200)
        return c

    def laptop(self):
        c = Client(self.gw)
        self.assertEqual(c.login('laptop', self.laptop_password).status, 200)
        return c

    def backup(self, client, body, **kw):
        return self.seen(client.post('/api/backup', body, timeout=120, **kw))

    def restore(self, client, data, passphrase=None, query='?replace=true', headers=None):
        hdrs = {'Content-Type': 'application/octet-stream'}
        if passphrase is not None:
            hdrs['X-Backup-Passphrase'] = quoted(passphrase)
        hdrs.update(headers or {})
        return self.seen(client.request('POST', '/api/restore' + query, raw=data, headers=hdrs, timeout=120))

    def assertError(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header('Content-Type'), 'application/json', r)
        body = r.json()
        self.assertLessEqual(set(body), ERROR_KEYS, r)
        self.assertEqual(body['error'], code, r)
        if field is not None:
            self.assertEqual(body.get('field'), field, r)
        return body

    def peer_names(self):
        return sorted(str(self.cell.properties('org.pic.Cell1.Peer', p)['Name'])
                      for p, ifaces in self.cell.managed_objects().items() if 'org.pic.Cell1.Peer' in ifaces)

    def cell_log(self):
        text = ''
        for path in glob.glob(os.path.join(self.world.subdir('logs'), '*celld*.log')):
            with open(path, errors='replace') as f:
                text += f.read()
        return text

    def gateway_log(self):
        with open(self.gw.proc.log, errors='replace') as f:
            return f.read()

    def assertUntouched(self, before, pid):
        self.assertEqual(self.peer_names(), before)
        self.assertEqual(self.cell.pid(), pid)

    # ------------------------------------------------------------ tests

    def test_1_download(self):
        c = self.admin()
        r = self.backup(c, {'passphrase': PASSPHRASE})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('Content-Type'), 'application/octet-stream')
        self.assertEqual(r.header('Cache-Control'), 'no-store')
        self.assertRegex(r.header('Content-Disposition'), r'^attachment; filename="home-\d{8}\.picbackup"$')
        self.assertEqual(r.header('Transfer-Encoding'), 'chunked')  # streamed, not buffered first
        self.assertTrue(r.body.startswith(b'PICBACKUP\x01\x01'), r.body[:16])
        self.assertGreater(len(r.body), 128 * 1024)
        for clear in (b'laptop', b'phone', b'home.lan'):
            self.assertNotIn(clear, r.body)
        self.__class__.archive = r.body
        self.assertIn('Backup made through the gateway: %d bytes, encrypted' % len(r.body), self.gateway_log())

        r = self.backup(c, {'unencrypted': True})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body.startswith(b'PICBACKUP\x01\x00'), r.body[:16])
        self.assertIn(b'"laptop"', r.body)
        self.assertIn(b'"p%03d"' % (PEERS - 1), r.body)

    def test_2_backup_refusals(self):
        c, laptop = self.admin(), self.laptop()
        self.assertError(self.backup(Client(self.gw), {'passphrase': PASSPHRASE}), 401, 'unauthenticated')
        self.assertError(self.backup(laptop, {'passphrase': PASSPHRASE}), 403, 'forbidden')
        nocsrf = Client(self.gw)
        nocsrf.cookie = c.cookie
        self.assertError(self.backup(nocsrf, {'passphrase': PASSPHRASE}), 403, 'csrf')
        self.assertError(self.backup(c, {'passphrase': PASSPHRASE}, headers={'X-CSRF-Token': 'B' * 43}), 403, 'csrf')
        self.assertError(self.backup(c, {'passphrase': PASSPHRASE}, headers={'Origin': 'http://evil.example'}),
                         403, 'csrf')

        # what the gateway checks, then what the cell does, each naming the field
        for body, field, words in (({}, 'passphrase', 'Unencrypted=true'),
                                   ({'passphrase': 'short'}, 'passphrase', '8 to 1024'),
                                   ({'passphrase': 'x' * 1025}, 'passphrase', '8 to 1024'),
                                   ({'passphrase': PASSPHRASE, 'unencrypted': True}, 'passphrase', 'not both'),
                                   ({'unencrypted': False}, 'passphrase', 'Unencrypted=true'),
                                   ({'passphrase': 12345678}, 'passphrase', 'a string'),
                                   ({'unencrypted': 'yes'}, 'unencrypted', 'true or false'),
                                   ({'passphrase': PASSPHRASE, 'colour': 'red'}, 'colour', 'Unknown field')):
            self.assertIn(words, self.assertError(self.backup(c, body), 400, 'invalid', field)['message'], body)

        self.cell.polkit.set_allowed([a for a in ACTIONS if a != 'org.pic.cell1.backup'])
        try:
            self.assertError(self.backup(c, {'passphrase': PASSPHRASE}), 403, 'forbidden')
        finally:
            self.cell.polkit.set_allowed(ACTIONS)

    def test_3_restore_refusals_leave_the_cell_as_it_is(self):
        c, laptop = self.admin(), self.laptop()
        before, pid = self.peer_names(), self.cell.pid()
        good = self.archive

        self.assertError(self.restore(Client(self.gw), good, PASSPHRASE), 401, 'unauthenticated')
        self.assertError(self.restore(laptop, good, PASSPHRASE), 403, 'forbidden')
        nocsrf = Client(self.gw)
        nocsrf.cookie = c.cookie
        self.assertError(self.restore(nocsrf, good, PASSPHRASE), 403, 'csrf')
        self.assertError(self.restore(c, good, PASSPHRASE, headers={'Origin': 'http://evil.example'}), 403, 'csrf')
        self.assertUntouched(before, pid)

        body = self.assertError(self.restore(c, good, WRONG), 400, 'invalid', 'passphrase')
        self.assertIn('passphrase is wrong', body['message'])
        body = self.assertError(self.restore(c, good), 400, 'invalid', 'passphrase')
        self.assertIn('passphrase is needed', body['message'])
        body = self.assertError(self.restore(c, good, PASSPHRASE, query=''), 409, 'conflict')
        self.assertIn('Replace=true', body['message'])
        self.assertError(self.restore(c, good, PASSPHRASE, query='?replace=yes'), 400, 'invalid', 'replace')
        self.assertError(self.restore(c, good, PASSPHRASE, headers={'X-Backup-Passphrase': 'a%00b%0Acd'}),
                         400, 'invalid', 'passphrase')
        for data, words in ((good[:-30], 'truncated'), (good[:100 * 1024], 'truncated'),
                            (b'not a backup at all', 'not a PIC backup'), (b'', 'not a PIC backup')):
            body = self.assertError(self.restore(c, data, PASSPHRASE), 400, 'invalid_backup')
            self.assertIn(words, body['message'], len(data))
        self.assertUntouched(before, pid)

        # larger than 256 MiB by its Content-Length: answered before a byte of the body is sent
        log_before = self.cell_log().count('Restore')
        with socket.create_connection(('127.0.0.1', self.gw.port), timeout=30) as s:
            s.sendall(('POST /api/restore?replace=true HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nX-CSRF-Token: %s\r\n'
                       'X-Backup-Passphrase: %s\r\nContent-Type: application/octet-stream\r\n'
                       'Content-Length: %d\r\n\r\n' % (self.gw.host, c.cookie, c.csrf, quoted(PASSPHRASE),
                                                       STREAM_MAX + 1)).encode())
            reply = b''
            while b'\r\n\r\n' not in reply or not reply.rstrip().endswith(b'}'):
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        head, _, text = reply.partition(b'\r\n\r\n')
        self.assertTrue(head.startswith(b'HTTP/1.1 413 '), reply)
        self.assertIn(b'"too_large"', text)
        self.answers.append(reply)

        # chunked past 256 MiB: no answer can be given midway; the connection closes, nothing restored
        start = time.monotonic()
        with socket.create_connection(('127.0.0.1', self.gw.port), timeout=60) as s:
            s.sendall(('POST /api/restore?replace=true HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nX-CSRF-Token: %s\r\n'
                       'Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n'
                       % (self.gw.host, c.cookie, c.csrf)).encode())
            piece = b'%x\r\n' % (1024 * 1024) + good[:1024] * 1024 + b'\r\n'
            closed = False
            try:
                for _ in range(STREAM_MAX // (1024 * 1024) + 8):
                    s.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            if not closed:
                s.settimeout(10)
                try:
                    self.assertEqual(s.recv(4096), b'')
                except ConnectionResetError:
                    pass
        self.assertLess(time.monotonic() - start, 60)
        self.assertIn('goes past 268435456 bytes', self.gateway_log())
        time.sleep(0.5)
        self.assertEqual(self.cell_log().count('Restore'), log_before + 1)  # the cut archive, refused
        self.assertUntouched(before, pid)

    def test_4_restore_brings_back_what_was_removed(self):
        c, laptop = self.admin(), self.laptop()
        before = self.peer_names()
        self.assertEqual(c.delete('/api/peers/phone').status, 204)
        self.assertEqual(c.post('/api/peers', {'name': 'tablet'}).status, 201)
        self.assertNotIn('phone', self.peer_names())
        pid = self.cell.pid()

        r = self.restore(c, self.archive, PASSPHRASE)
        self.assertEqual((r.status, r.json()), (200, {'cell': 'home'}), r)
        # the cell restarts to load it; the API answers again with what the backup held
        h.wait_for(lambda: self.cell.pid() not in (None, pid), 30, 0.1, 'pic-celld restarted')

        def peers_back():
            r = c.get('/api/peers')
            return r.status == 200 and sorted(p['name'] for p in r.json()) == before

        h.wait_for(peers_back, 60, 0.2, 'the restored peers through the API')
        self.assertEqual(self.peer_names(), before)
        r = c.get('/api/peers/phone')
        self.assertEqual(r.status, 200, r)
        # who restored keeps the session; others were signed in to the state that is gone
        self.assertError(laptop.get('/api/peers/laptop'), 401, 'unauthenticated')
        self.assertEqual(c.get('/api/cell').json()['name'], 'home')

    def test_5_passphrase_nowhere(self):
        for secret in (PASSPHRASE, quoted(PASSPHRASE), WRONG):
            for answer in self.answers:
                self.assertNotIn(secret.encode(), answer)
            self.assertNotIn(secret, self.gateway_log())
            self.assertNotIn(secret, self.cell_log())
        self.assertTrue(re.search(r'Restore: cell home restored from \d+ bytes', self.gateway_log()))


if __name__ == '__main__':
    h.main()
