#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: time to first paint of the Cockpit page with N peers, next to the web UI.

A cell (private bus, mock polkit) with N peers (AddPeers), the Cockpit package as meson installs
it served by cockpit-ws and cockpit-bridge, and pic-gatewayd on the same cell as the baseline.
tests/browser/first-paint.mjs opens the Peers page in a fresh browser context per round (the
cases take turns) and takes the browser's first contentful paint and the moment the first page's
rows (100) are shown. Then the cell grows to M peers (--many) and the web UI is timed again alone:
its first rows are to come within 1 s however many peers the cell has. Prints the medians, with
min..max, as a table, with each case's ratio to the web UI with N peers from the same run.

Usage: bench_cockpit.py [--peers N] [--many M] [--rounds R]
       (needs root, cockpit-ws, chromium, playwright-core; --many 0 leaves the second part out)
"""

import argparse
import base64
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from gateway_client import ADMIN_PASSWORD, ALL_ACTIONS, Gateway  # noqa: E402
from test_cockpit import COCKPIT_WS, CockpitWorld, install_package  # noqa: E402
from test_web_ui import BrowserTest  # noqa: E402

BATCH = 250   # peers per AddPeers call
WEB = 'web UI through pic-gatewayd'
FIRST_ROWS_GOAL_MS = 1000


def add_peers(mgr, first, end):
    """peer00000 … : one AddPeers call per BATCH."""
    for start in range(first, end, BATCH):
        batch = [dbus.Dictionary({'Name': 'peer%05d' % i, 'PublicKey': base64.b64encode(os.urandom(32)).decode()},
                                 signature='sv') for i in range(start, min(end, start + BATCH))]
        mgr.AddPeers(dbus.Array(batch, signature='a{sv}'), timeout=120)


def first_paint(browser, world, env, peers, cases):
    """first-paint.mjs for `cases` on a cell of `peers` peers → {case: {fcp, rows}}, or None."""
    env = dict(env, PIC_BENCH_PEERS=str(peers), PIC_BENCH_CASES=','.join(cases))
    p = h.run(['node', os.path.join(browser.source, 'tests', 'browser', 'first-paint.mjs')], env=env,
              timeout=900, check=False)
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--peers', type=int, default=1000)
    ap.add_argument('--many', type=int, default=10000, help='then the web UI alone with this many peers (0: not)')
    ap.add_argument('--rounds', '--repeat', dest='rounds', type=int, default=5,
                    help='rounds of each case (--repeat: the name every bench takes, for tools/dev bench)')
    args = ap.parse_args()
    h.require_root()
    browser = BrowserTest()
    missing = browser.missing(browser.build) + ([] if os.access(COCKPIT_WS, os.X_OK) else [COCKPIT_WS])
    if missing:
        print('bench_cockpit: missing: ' + ', '.join(missing), file=sys.stderr)
        return 77

    with h.TempWorld() as world:
        cell = h.Cell(world=world)
        cell.polkit.set_allowed(ALL_ACTIONS)
        cell.start()
        mgr = cell.manager()
        mgr.Setup(dbus.Dictionary({'Name': 'bench', 'Domain': 'bench.lan', 'VpnAddress': '10.84.0.1/16',
                                   'AdminPassword': ADMIN_PASSWORD}, signature='sv'))
        add_peers(mgr, 0, args.peers)
        _, data_home = install_package(browser.build, world.subdir('install'))
        cockpit = CockpitWorld(world, data_home, cell.bus.address)
        gw = Gateway(world, cell, ['--log-level=warning'])
        env = dict(os.environ, PIC_COCKPIT_URL=cockpit.url, PIC_UI_URL='http://%s' % gw.host,
                   PIC_ADMIN_PASSWORD=ADMIN_PASSWORD, PIC_BENCH_ROUNDS=str(args.rounds), PIC_BUILD_DIR=browser.build,
                   **{h.WORLD_MARKER: world.path})
        results = first_paint(browser, world, env, args.peers, ['shell', 'alone', 'web'])
        if results is None:
            return 1
        table = [(name, args.peers, r) for name, r in results.items()]
        if args.many > args.peers:
            add_peers(mgr, args.peers, args.many)
            many = first_paint(browser, world, env, args.many, ['web'])
            if many is None:
                return 1
            table.append((WEB, args.many, many[WEB]))

    base = statistics.median(results[WEB]['rows'])
    print()
    print('Peers page, Chromium headless, fresh context per round; median of %d rounds (ms)' % args.rounds)
    print('%-46s %7s %7s %11s %7s %16s' % ('case', 'peers', 'FCP', 'first rows', 'ratio', 'rows min..max'))
    for name, peers, r in table:
        rows = statistics.median(r['rows'])
        fcps = [x for x in r['fcp'] if x is not None]
        print('%-46s %7d %7.0f %11.0f %7.2f %9.0f..%-6.0f' % (
                name, peers, statistics.median(fcps) if fcps else float('nan'), rows, rows / base,
                min(r['rows']), max(r['rows'])))
    print('FCP: the browser\'s first contentful paint of the top document (for the shell: Cockpit\'s own);')
    print('first rows: the first page\'s rows (100) in the table; ratio: first rows / the web UI\'s with %d peers,'
          % args.peers)
    print('same run.')
    if args.many > args.peers:
        worst = statistics.median(table[-1][2]['rows'])
        print('web UI with %d peers: first rows in %.0f ms (goal: at most %d ms): %s' % (
                args.many, worst, FIRST_ROWS_GOAL_MS, 'met' if worst <= FIRST_ROWS_GOAL_MS else 'NOT MET'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
