#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bus-wide sweep (bus_sweep.py, issue 13), briefly: every method of every object of
org.pic.Cell1 called with generated arguments for PIC_SWEEP_SECONDS (20) per user, as root and
as nobody, each half with polkit allowing everything, half with it allowing nothing. The daemon
keeps its PID, answers Ping within 50 ms throughout, and no refused call changes a byte of its
state. The seed is printed (PIC_SWEEP_SEED replays it); `tools/dev sweep [SECONDS]` runs longer."""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
import bus_sweep  # noqa: E402
import harness as h  # noqa: E402

SECONDS = float(os.environ.get('PIC_SWEEP_SECONDS', '20'))
SEED = int(os.environ.get('PIC_SWEEP_SEED', str(random.SystemRandom().randrange(2 ** 32))))
MAX_BODY = 256 << 10  # bodies that measure the daemon, not how fast the bus copies megabytes


class BusSweepTest(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        print('bus sweep seed %d (PIC_SWEEP_SEED=%d replays it)' % (SEED, SEED), file=sys.stderr, flush=True)
        cls.cell = bus_sweep.build_world(cls.world, SEED)

    def sweep(self, user, seed):
        res = bus_sweep.sweep(self.cell, SECONDS, seed, user, max_body=MAX_BODY)
        print('\n' + res.table(), file=sys.stderr, flush=True)
        self.assertGreater(res.calls, 50, 'the sweep made too few calls to mean anything')
        self.assertGreater(res.outcomes['ok'], 0)
        self.assertGreater(sum(n for o, n in res.outcomes.items() if o != 'ok'), 0)
        self.assertEqual(res.pid_after, res.pid_before, 'pic-celld restarted during the sweep')
        self.assertEqual(res.violations, [], 'seed %d' % seed)
        # an error message that cut a UTF-8 sequence was dropped by sd-bus: the caller saw only a timeout
        self.assertEqual(res.no_reply, [], 'seed %d: calls left without a reply' % seed)
        return res

    def test_1_as_root(self):
        self.sweep('root', SEED)

    def test_2_as_nobody(self):
        res = self.sweep('nobody', SEED + 1)
        # nobody's changes are the bus policy's and polkit's to refuse: with polkit allowing
        # everything some succeed, with it allowing nothing only reads do
        self.assertGreater(res.outcomes['org.freedesktop.DBus.Error.AccessDenied'], 0)


if __name__ == '__main__':
    h.main()
