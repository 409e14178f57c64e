#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: time to first paint of the Cockpit page with N peers, next to the web UI.

A cell (private bus, mock polkit) with N peers (AddPeers), the Cockpit package as meson installs
it served by cockpit-ws and cockpit-bridge, and pic-gatewayd on the same cell as the baseline.
tests/browser/first-paint.mjs opens the Peers page in a fresh browser context per round (the
cases take turns) and takes the browser's first contentful paint and the moment every peer's row
is shown. Prints the medians as a table, with each case's ratio to the web UI from the same run.

Usage: bench_cockpit.py [--peers N] [--rounds R]   (needs root, cockpit-ws, chromium, playwright-core)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--peers', type=int, default=1000)
    ap.add_argument('--rounds', type=int, default=5)
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
        for first in range(0, args.peers, BATCH):
            batch = [dbus.Dictionary({'Name': 'peer%04d' % i, 'PublicKey': base64.b64encode(os.urandom(32)).decode()},
                                     signature='sv') for i in range(first, min(args.peers, first + BATCH))]
            mgr.AddPeers(dbus.Array(batch, signature='a{sv}'), timeout=120)
        _, data_home = install_package(browser.build, world.subdir('install'))
        cockpit = CockpitWorld(world, data_home, cell.bus.address)
        gw = Gateway(world, cell, ['--log-level=warning'])
        env = dict(os.environ, PIC_COCKPIT_URL=cockpit.url, PIC_UI_URL='http://%s' % gw.host,
                   PIC_ADMIN_PASSWORD=ADMIN_PASSWORD, PIC_BENCH_PEERS=str(args.peers),
                   PIC_BENCH_ROUNDS=str(args.rounds), PIC_BUILD_DIR=browser.build, **{h.WORLD_MARKER: world.path})
        p = h.run(['node', os.path.join(browser.source, 'tests', 'browser', 'first-paint.mjs')], env=env,
                  timeout=600, check=False)
        if p.returncode != 0:
            sys.stderr.write(p.stdout + p.stderr)
            return 1
        results = json.loads(p.stdout.strip().splitlines()[-1])

    base = statistics.median(results['web UI through pic-gatewayd (baseline)']['rows'])
    print()
    print('Peers page with %d peers, Chromium headless, fresh context per round; median of %d rounds (ms)' % (
        args.peers, args.rounds))
    print('%-46s %8s %12s %8s %18s' % ('case', 'FCP', 'rows shown', 'ratio', 'rows min..max'))
    for name, r in results.items():
        rows = statistics.median(r['rows'])
        fcps = [x for x in r['fcp'] if x is not None]
        print('%-46s %8.0f %12.0f %8.2f %10.0f..%-7.0f' % (name, statistics.median(fcps) if fcps else float('nan'),
                                                          rows, rows / base, min(r['rows']), max(r['rows'])))
    print('FCP: the browser\'s first contentful paint of the top document (for the shell: Cockpit\'s own);')
    print('rows shown: every peer\'s row in the table; ratio: rows shown / the web UI\'s, same run.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
