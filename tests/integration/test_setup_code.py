#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Claiming a fresh cell needs proof of access to the machine (issue 8): the hole
first — a gateway that is not root (as the shipped unit runs it) set a fresh cell
up for whoever reached it first — then the one-time setup code: made at the
first start, kept 0600 in the state directory and in the log, readable over the
bus by root only (picctl setup-code); Setup from anyone but root needs it (a
missing or wrong one refused by name, nothing changed, a new code after ten
wrong ones); either case and no dashes do; used, it is gone."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402
from gateway_client import ALL_ACTIONS, SETUP, Gateway  # noqa: E402

MANAGER = 'org.pic.Cell1.Manager'
CODE = re.compile(r'^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$')


class SetupCodeTest(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        cls.cell = h.Cell(world=cls.world)
        cls.cell.polkit.set_allowed(ALL_ACTIONS)
        cls.cell.start()
        cls.gw = Gateway(cls.world, cls.cell, as_nobody=True)

    def code(self):
        return str(self.cell.manager().GetSetupCode())

    def logs(self):
        text = ''
        for d, _, names in os.walk(self.world.path):
            if os.path.basename(d) == 'logs':
                for n in names:
                    with open(os.path.join(d, n), errors='replace') as f:
                        text += f.read()
        return text

    def setup(self, **extra):
        return self.gw.request('POST', '/api/setup', dict(SETUP, **extra))

    def assert_not_set_up(self):
        self.assertFalse(self.cell.properties(MANAGER)['SetupComplete'])

    def test_1_made_at_start_and_only_root_reads_it(self):
        code = self.code()
        self.assertRegex(code, CODE)
        path = os.path.join(self.cell.state_dir, 'setup-code')
        self.assertEqual(os.stat(path).st_mode & 0o7777, 0o600)
        with open(path) as f:
            self.assertEqual(f.read(), code + '\n')
        self.assertIn('setup code, which the web UI\'s first page asks for, is %s' % code, self.logs())
        p = self.cell.picctl('setup-code', check=True)
        self.assertEqual(p.stdout, code + '\n')
        p = self.cell.picctl('setup-code', as_nobody=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('Only root may read the setup code', p.stderr)
        self.assertNotIn(code, p.stdout + p.stderr)
        # kept across a restart, not made again
        self.cell.restart()
        self.assertEqual(self.code(), code)

    def test_2_a_gateway_that_is_not_root_needs_it(self):
        r = self.setup()
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()['field'], 'setup_code')
        self.assertIn('SetupCode is needed', r.json()['message'])
        self.assert_not_set_up()
        code = self.code()
        r = self.setup(setup_code='AAAA-AAAA-AAAA' if code != 'AAAA-AAAA-AAAA' else 'BBBB-BBBB-BBBB')
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json()['field'], 'setup_code')
        self.assertIn('SetupCode is wrong', r.json()['message'])
        self.assertNotIn(code, r.body.decode())
        self.assert_not_set_up()
        # picctl as another user: the same
        p = self.cell.picctl('setup', '--name', 'x', '--domain', 'x.lan', '--address', '10.89.0.1/24', as_nobody=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('SetupCode is needed', p.stderr)
        self.assert_not_set_up()
        self.assertEqual(self.code(), code)

    def test_3_ten_wrong_codes_make_a_new_one(self):
        self.cell.restart()  # counts from 0 (test_2 gave a wrong one)
        code = self.code()
        wrong = 'ZZZZ-ZZZZ-ZZZZ' if code != 'ZZZZ-ZZZZ-ZZZZ' else 'YYYY-YYYY-YYYY'
        for _ in range(9):
            self.assertEqual(self.setup(setup_code=wrong).status, 400)
        self.assertEqual(self.code(), code)
        self.assertEqual(self.setup(setup_code=wrong).status, 400)
        renewed = self.code()
        self.assertNotEqual(renewed, code)
        self.assertIn('the cell\'s setup code is now %s' % renewed, self.logs())
        self.assertEqual(self.setup(setup_code=code).status, 400, 'the old code is no longer good')
        self.assert_not_set_up()

    def test_4_the_right_one_sets_up_and_is_used_up(self):
        code = self.code()
        r = self.setup(setup_code=code.replace('-', '').lower())
        self.assertEqual(r.status, 200, r)
        self.assertTrue(self.cell.properties(MANAGER)['SetupComplete'])
        self.assertFalse(os.path.exists(os.path.join(self.cell.state_dir, 'setup-code')))
        with self.assertRaises(dbus.DBusException) as e:
            self.code()
        self.assertEqual(e.exception.get_dbus_name(), 'org.pic.Cell1.Error.Conflict')
        self.cell.restart()
        self.assertFalse(os.path.exists(os.path.join(self.cell.state_dir, 'setup-code')))
        with self.assertRaises(dbus.DBusException):
            self.cell.manager().Configure(dbus.Dictionary({'SetupCode': code}, signature='sv'))


if __name__ == '__main__':
    h.main()
