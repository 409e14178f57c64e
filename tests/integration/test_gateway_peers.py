#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pic-gatewayd's peer list at scale (issue 8): GET /api/peers pages (limit, cursor, prefix), tags
its answers (ETag, 304 on If-None-Match) and refuses a bad query by name; the list comes from the
gateway's own copy, kept current from the contents of the bus signals (no GetAll per signal, seen
on the bus with dbus-monitor); under churn the copy equals what the daemon holds once quiet, and a
restart of pic-celld with other state (a peer file moved away while it was down: no signal tells
of it) resynchronizes it."""

import json
import os
import random
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from gateway_client import ADMIN_PASSWORD, Client, Gateway, open_events, setup_cell  # noqa: E402

PEER = 'org.pic.Cell1.Peer'


def random_key():
    return __import__('base64').b64encode(os.urandom(32)).decode()


def add_peers(cell, names):
    batch = dbus.Array([dbus.Dictionary({'Name': n, 'PublicKey': random_key()}, signature='sv') for n in names],
                       signature='a{sv}')
    cell.manager().AddPeers(batch, timeout=120)


def daemon_peers(cell):
    """{name: (address, enabled, services)} as GetManagedObjects tells, straight from the bus."""
    om = cell.interface('org.freedesktop.DBus.ObjectManager')
    out = {}
    for ifaces in om.GetManagedObjects().values():
        if PEER in ifaces:
            p = ifaces[PEER]
            out[str(p['Name'])] = (str(p['Address']), bool(p['Enabled']), sorted(str(s) for s in p['ServiceAccess']))
    return out


def gateway_view(peers):
    return {p['name']: (p['address'], p['enabled'], sorted(p['service_access'])) for p in peers}


def next_link(r):
    link = r.header('Link')
    if not link:
        return None
    m = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert m, link
    return m.group(1)


class PeerListTestCase(h.HarnessTestCase):
    def admin(self, gw):
        c = Client(gw)
        r = c.login('admin', ADMIN_PASSWORD)
        self.assertEqual(r.status, 200, r)
        return c

    def all_pages(self, client, path):
        """Follows the next links from @path; returns every peer and the pages' sizes."""
        peers, sizes = [], []
        while path:
            r = client.get(path)
            self.assertEqual(r.status, 200, r)
            page = r.json()
            sizes.append(len(page))
            peers += page
            path = next_link(r)
        return peers, sizes


class PagingTest(PeerListTestCase):
    def test_pages_prefix_etag_and_bad_queries(self):
        cell, gw = setup_cell(self.world)
        names = ['lap-%02d' % i for i in range(23)] + ['phone-%d' % i for i in range(7)] + ['tv']
        add_peers(cell, names)
        admin = self.admin(gw)

        whole = admin.get('/api/peers')
        self.assertEqual(whole.status, 200, whole)
        self.assertEqual([p['name'] for p in whole.json()], sorted(names))
        self.assertEqual(whole.header('X-Total-Count'), str(len(names)))
        self.assertIsNone(whole.header('Link'))

        # pages of 10 from the first: 4 pages, each starting after the last name of the one before
        peers, sizes = self.all_pages(admin, '/api/peers?limit=10')
        self.assertEqual(sizes, [10, 10, 10, 1])
        self.assertEqual(peers, whole.json())
        first = admin.get('/api/peers?limit=10')
        self.assertEqual(first.header('X-Total-Count'), str(len(names)))
        self.assertEqual(next_link(first), '/api/peers?limit=10&cursor=lap-09')

        # a prefix narrows the list and the count; its pages keep the prefix
        peers, sizes = self.all_pages(admin, '/api/peers?limit=5&prefix=phone-')
        self.assertEqual([p['name'] for p in peers], ['phone-%d' % i for i in range(7)])
        self.assertEqual(sizes, [5, 2])
        r = admin.get('/api/peers?limit=5&prefix=phone-')
        self.assertEqual(r.header('X-Total-Count'), '7')
        self.assertEqual(next_link(r), '/api/peers?limit=5&prefix=phone-&cursor=phone-4')
        r = admin.get('/api/peers?prefix=nobody')
        self.assertEqual((r.status, r.json(), r.header('X-Total-Count')), (200, [], '0'))
        # a cursor need not exist: the page starts after where it would be
        r = admin.get('/api/peers?limit=3&cursor=m')
        self.assertEqual([p['name'] for p in r.json()], ['phone-0', 'phone-1', 'phone-2'])

        # the tag: 304 while nothing changed, a new list (and tag) after a change
        tag = first.header('ETag')
        self.assertRegex(tag, r'^"[0-9a-f]{16}"$')
        r = admin.get('/api/peers?limit=10', headers={'If-None-Match': tag})
        self.assertEqual((r.status, r.body, r.header('ETag')), (304, b'', tag))
        self.assertEqual(admin.patch('/api/peers/lap-00', {'enabled': False}).status, 200)
        r = admin.get('/api/peers?limit=10', headers={'If-None-Match': tag})
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.header('ETag'), tag)
        self.assertFalse(r.json()[0]['enabled'])

        bad = [('limit=0', 'limit'), ('limit=1001', 'limit'), ('limit=ten', 'limit'), ('limit=-1', 'limit'),
               ('limit=', 'limit'), ('limit=%2B5', 'limit'), ('limit=5&limit=6', 'limit'),
               ('prefix=a%2Fb', 'prefix'), ('prefix=' + 'x' * 33, 'prefix'), ('prefix=%00', 'prefix'),
               ('cursor=-x', 'cursor'), ('cursor=', 'cursor'), ('cursor=a.b', 'cursor'),
               ('limt=5', 'limt'), ('page=2&limit=5', 'page')]
        for query, field in bad:
            r = admin.get('/api/peers?' + query)
            self.assertEqual(r.status, 400, (query, r))
            self.assertEqual(r.json()['error'], 'invalid', query)
            self.assertEqual(r.json().get('field'), field, (query, r))

        # a peer's own session: only itself, paged and filtered the same way
        pw = cell.interface(PEER, cell.manager().GetPeerByName('tv')).SetLoginPassword()
        peer = Client(gw)
        self.assertEqual(peer.login('tv', str(pw)).status, 200)
        r = peer.get('/api/peers?limit=1')
        self.assertEqual(([p['name'] for p in r.json()], r.header('X-Total-Count')), (['tv'], '1'))
        self.assertEqual(peer.get('/api/peers?prefix=lap').json(), [])
        self.assertEqual(peer.get('/api/peers?cursor=tv').json(), [])
        self.assertNotEqual(r.header('ETag'), admin.get('/api/peers?limit=1').header('ETag'))


class CoherenceTest(PeerListTestCase):
    def churn(self, cell, names, rounds, seed, errors):
        """Adds, removes and changes peers over the bus, from a thread of its own."""
        rng = random.Random(seed)
        try:
            mgr = cell.manager()
            for i in range(rounds):
                op = rng.choice(['add', 'add', 'remove', 'update', 'enable'])
                if op == 'add' or not names:
                    batch = ['c%03d-%d' % (i, k) for k in range(rng.randint(1, 4))]
                    add_peers(cell, batch)
                    names.extend(batch)
                    continue
                name = rng.choice(names)
                peer = cell.interface(PEER, mgr.GetPeerByName(name))
                if op == 'remove':
                    peer.Remove()
                    names.remove(name)
                elif op == 'update':
                    peer.Update(dbus.Dictionary({'ServiceAccess': dbus.Array(rng.sample(['dns', 'web', 'mail'], 2),
                                                                               signature='s')}, signature='sv'))
                else:
                    peer.SetEnabled(rng.random() < 0.5)
        except Exception as e:  # noqa: BLE001 — reported by the test thread
            errors.append(e)

    def assert_coherent(self, cell, gw, admin, what):
        """The gateway's list (whole and paged) equals the daemon's, and what a fresh gateway reads."""
        h.wait_for(lambda: gateway_view(admin.get('/api/peers').json()) == daemon_peers(cell), 10,
                   what='the gateway list equal to the daemon\'s ' + what)
        whole = admin.get('/api/peers').json()
        paged, _ = self.all_pages(admin, '/api/peers?limit=37')
        self.assertEqual(paged, whole, what)
        fresh = Gateway(self.world, cell)
        r = self.admin(fresh).get('/api/peers')
        fresh.proc.stop()
        self.assertEqual(r.json(), whole, what)

    def test_copy_follows_churn_and_daemon_restarts(self):
        cell, gw = setup_cell(self.world)
        names = ['base-%03d' % i for i in range(60)]
        add_peers(cell, names)
        admin = self.admin(gw)
        self.assertEqual(len(admin.get('/api/peers').json()), 60)

        # the signals' contents are enough: no GetAll reaches a peer while changes stream in
        monitor = subprocess.Popen(['dbus-monitor', '--address', cell.bus.address,
                                    "type='method_call',interface='org.freedesktop.DBus.Properties',member='GetAll'"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        def stop_monitor():
            monitor.kill()
            monitor.wait()
            monitor.stdout.close()
        self.addCleanup(stop_monitor)
        seen = []
        threading.Thread(target=lambda: seen.extend(monitor.stdout), daemon=True).start()
        h.wait_for(lambda: seen, 10, what='dbus-monitor listening')

        errors = []
        worker = threading.Thread(target=self.churn, args=(cell, names, 150, 8, errors))
        worker.start()
        listed = 0
        while worker.is_alive():
            r = admin.get('/api/peers?limit=25&prefix=c')
            self.assertEqual(r.status, 200, r)
            page = [p['name'] for p in r.json()]
            self.assertEqual(page, sorted(page))
            self.assertTrue(all(n.startswith('c') for n in page), page)
            self.assertLessEqual(len(page), int(r.header('X-Total-Count')))
            listed += 1
        worker.join()
        self.assertEqual(errors, [])
        self.assertGreater(listed, 5)
        self.assert_coherent(cell, gw, admin, 'after churn')
        # the witness sees a GetAll when one is made: one GET of one peer, then a marker of ours
        self.assertEqual(admin.get('/api/peers/base-001').status, 200)
        marker = dbus.Interface(cell.bus.connection().get_object('org.pic.Cell1', '/org/pic/Cell1/marker',
                                                                 introspect=False), 'org.freedesktop.DBus.Properties')
        with self.assertRaises(dbus.DBusException):
            marker.GetAll(PEER)
        h.wait_for(lambda: any('/org/pic/Cell1/marker' in line for line in seen), 10, what='the marker call seen')
        calls = ''.join(seen)
        self.assertEqual(calls.count('path=/org/pic/Cell1/peer/'), 1, calls[-2000:])

        # a daemon restarted with other state (a peer file moved away while it was down) is read again;
        # stopped, it stays stopped: following it never starts it (the gateway's own calls do not)
        cell.stop()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            self.assertFalse(cell.bus.has_owner(h.CELL_BUS_NAME), 'the gateway started pic-celld again')
            time.sleep(0.1)
        gone = sorted(names)[0]
        os.rename(os.path.join(cell.state_dir, 'peers', gone + '.json'),
                  os.path.join(self.world.subdir('moved-away'), gone + '.json'))
        cell.start()
        self.assertNotIn(gone, daemon_peers(cell))
        self.assert_coherent(cell, gw, admin, 'after a restart')
        # and it follows the new daemon's signals
        add_peers(cell, ['after-restart'])
        self.assert_coherent(cell, gw, admin, 'after a change following the restart')

    def test_events_carry_the_merged_peer(self):
        cell, gw = setup_cell(self.world)
        add_peers(cell, ['watched'])
        admin = self.admin(gw)
        f, _ = open_events(gw, admin, self.addCleanup)
        self.assertEqual(admin.patch('/api/peers/watched', {'service_access': ['mail']}).status, 200)
        event = None
        while True:
            line = f.readline().decode().rstrip('\r\n')
            if line.startswith('event: '):
                event = line[7:]
            elif line.startswith('data: ') and event == 'peer':
                data = json.loads(line[6:])
                if data['service_access'] == ['mail']:
                    break
        # the whole peer, as a GET shows it (the change merged into what the gateway held)
        self.assertEqual(data, admin.get('/api/peers/watched').json())


if __name__ == '__main__':
    h.main()
