#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""picctl backup and picctl backup inspect against a real pic-celld: the archive goes to
picctl's standard output (never a terminal), encrypted with a passphrase from a file or
typed twice without echo, or in clear only when asked and with a warning; inspect reads
it here, verifies all of it and lists its files, or names what is wrong (a wrong
passphrase, an altered byte, a cut end). The state directory is byte-identical after a
backup, and the passphrase shows nowhere: not in picctl's output, not in any log.
picctl restore gives an archive (standard input, a pipe or --file) to Manager.Restore:
refused by name with nothing changed (no --replace on a set-up cell, a wrong passphrase,
a cut end, no terminal to ask on), else the removed peer is back once pic-celld has
restarted, which picctl waits for."""

import fcntl
import json
import os
import select
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.backup']
SETUP = ('setup', '--name', 'home', '--domain', 'home.lan', '--address', '10.80.0.1/24')
PEERS = ('laptop', 'phone', 'tablet')
PASSPHRASE = 'Quokka-7731 orbits the teapot'
TYPED = 'typed p\u00e4ssphrase 42'


def listing(stdout):
    """inspect's table → ({path: size}, the last line)."""
    lines = stdout.splitlines()
    assert lines[0].split() == ['PATH', 'BYTES'], stdout
    return {l.split()[0]: int(l.split()[1]) for l in lines[1:-1]}, lines[-1]


class BackupPicctlTest(h.SharedWorldTestCase):
    @classmethod
    def build_world(cls):
        cls.cell = h.Cell(world=cls.world)
        cls.cell.polkit.set_allowed(ACTIONS)
        cls.cell.start()
        for args in (SETUP,) + tuple(('peer', 'add', name) for name in PEERS):
            h.run([h.picctl_binary()] + list(args), env=cls.env())
        cls.dir = cls.world.subdir('backups', 0o700)
        cls.passphrase_file = cls.write('passphrase', PASSPHRASE + '\n')
        cls.archive = os.path.join(cls.dir, 'home.backup')
        cls.outputs = []  # everything picctl printed, searched for the passphrases at the end

    @classmethod
    def env(cls):
        return dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cls.cell.bus.address)

    @classmethod
    def write(cls, name, data):
        path = os.path.join(cls.dir, name)
        with open(path, 'wb' if isinstance(data, bytes) else 'w') as f:
            f.write(data)
        return path

    # ------------------------------------------------------------ helpers

    def picctl(self, *args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, input=None):
        """picctl with the given standard input (@input: text or bytes through a pipe) and output; stderr
        (and stdout when piped) as text. In a session of its own: no controlling terminal to ask on."""
        if input is not None:
            stdin = None
        p = subprocess.run([h.picctl_binary()] + [str(a) for a in args], stdin=stdin, stdout=stdout,
                           stderr=subprocess.PIPE, input=input.encode() if isinstance(input, str) else input,
                           env=self.env(), timeout=180, start_new_session=True)
        out = p.stdout.decode(errors='replace') if p.stdout is not None else ''
        err = p.stderr.decode(errors='replace')
        self.outputs.append(out + err)
        return p.returncode, out, err

    def backup(self, path, *args):
        """picctl backup ARGS > path: (status, stderr)."""
        with open(path, 'wb') as f:
            status, _, err = self.picctl('backup', *args, stdout=f)
        return status, err

    def inspect(self, path, *args, status=0):
        """picctl backup inspect ARGS < path, expecting @status: stdout on success, else the one stderr line."""
        with open(path, 'rb') as f:
            code, out, err = self.picctl('backup', 'inspect', *args, stdin=f)
        self.assertEqual(code, status, err)
        if status == 0:
            self.assertEqual(err, '')
            return out
        self.assertEqual(out, '')
        lines = err.splitlines()
        self.assertTrue(lines and lines[0].startswith('picctl: '), err)
        return lines[0]

    def state_files(self):
        """Every file of the state directory and its contents, dot-names included."""
        files = {}
        for d, _, names in os.walk(self.cell.state_dir):
            for n in names:
                with open(os.path.join(d, n), 'rb') as f:
                    files[os.path.relpath(os.path.join(d, n), self.cell.state_dir)] = f.read()
        return files

    def assert_no_snapshot(self):
        self.assertFalse(os.path.lexists(os.path.join(self.cell.state_dir, '.backup-snapshot')))

    def assert_lists_the_cell(self, out, encrypted):
        files, whole = listing(out)
        state = self.state_files()
        expected = {'cell.json'} | {'peers/%s.json' % p for p in PEERS}
        if 'signing.key' in state:
            expected.add('signing.key')
        self.assertTrue(expected <= set(files), (expected, files))
        for path, size in files.items():
            self.assertEqual(size, len(state[path]), path)
        self.assertEqual(whole, 'Whole: %d files, %s.' % (len(files), 'encrypted' if encrypted else 'NOT encrypted'))

    # ------------------------------------------------------------ tests

    def test_1_encrypted_backup_lists_the_cell(self):
        before, pid = self.state_files(), self.cell.pid()
        status, err = self.backup(self.archive, '--passphrase-file', self.passphrase_file)
        self.assertEqual(status, 0, err)
        size = os.path.getsize(self.archive)
        self.assertEqual(err, 'Backup written: %d bytes (encrypted).\n' % size)
        with open(self.archive, 'rb') as f:
            data = f.read()
        self.assertTrue(data.startswith(b'PICBACKUP\1\1'))
        self.assertNotIn(b'laptop', data)
        self.assertEqual(self.state_files(), before)
        self.assert_no_snapshot()
        self.assertEqual(self.cell.pid(), pid)

        out = self.inspect(self.archive, '--passphrase-file', self.passphrase_file)
        self.assert_lists_the_cell(out, True)
        code, out2, err = self.picctl('backup', 'inspect', '--file', self.archive, '--passphrase-file',
                                      self.passphrase_file)
        self.assertEqual((code, out2, err), (0, out, ''))

    def test_2_what_inspect_refuses(self):
        with open(self.archive, 'rb') as f:
            good = f.read()
        wrong = self.write('wrong', 'not the passphrase at all\n')
        self.assertIn('passphrase is wrong', self.inspect(self.archive, '--passphrase-file', wrong, status=1))
        # on standard input it cannot be asked for and read again
        self.assertIn('--passphrase-file is needed', self.inspect(self.archive, status=1))
        code, out, err = self.picctl('backup', 'inspect', '--file', self.archive)
        self.assertEqual((code, out), (1, ''))
        self.assertIn('--passphrase-file', err)

        flipped = bytearray(good)
        flipped[len(good) // 2] ^= 0x20
        line = self.inspect(self.write('flipped', bytes(flipped)), '--passphrase-file', self.passphrase_file, status=1)
        self.assertIn('altered', line)
        line = self.inspect(self.write('cut', good[:-30]), '--passphrase-file', self.passphrase_file, status=1)
        self.assertIn('truncated', line)
        line = self.inspect(self.write('more', good + b'\0'), '--passphrase-file', self.passphrase_file, status=1)
        self.assertIn('follows the end', line)
        line = self.inspect(self.write('text', 'hello\n'), status=1)
        self.assertIn('not a PIC backup', line)
        self.assertIn('No such file', self.inspect(self.archive, '--passphrase-file', wrong + '.missing', status=1))

    def test_3_unencrypted_only_when_asked(self):
        plain = os.path.join(self.dir, 'plain.backup')
        before = self.state_files()
        status, err = self.backup(plain, '--no-encrypt')
        self.assertEqual(status, 0, err)
        self.assertIn('NOT encrypted', err)
        self.assertIn("private keys in clear", err)
        self.assertTrue(err.endswith('Backup written: %d bytes (NOT encrypted).\n' % os.path.getsize(plain)), err)
        self.assertEqual(self.state_files(), before)
        self.assert_no_snapshot()
        self.assert_lists_the_cell(self.inspect(plain), False)

        # neither a passphrase nor --no-encrypt, and no terminal to ask on; or both
        for args, words in (([], '--passphrase-file FILE, or --no-encrypt'),
                            (['--no-encrypt', '--passphrase-file', self.passphrase_file], 'not both'),
                            (['--passphrase-file', os.path.join(self.dir, 'missing')], 'No such file'),
                            (['--passphrase-file', self.write('empty', '\n')], 'empty'),
                            (['--passphrase-file', self.write('short', 'short\n')], '8 to 1024')):
            target = os.path.join(self.dir, 'refused.backup')
            status, err = self.backup(target, *args)
            self.assertIn(status, (1, 2), err)
            self.assertIn(words, err)
            self.assertEqual(os.path.getsize(target), 0)

    def test_4_never_onto_a_terminal(self):
        master, slave = os.openpty()
        try:
            code, _, err = self.picctl('backup', '--passphrase-file', self.passphrase_file, stdout=slave)
            self.assertEqual(code, 2, err)
            self.assertIn('standard output is a terminal', err)
            self.assertIn('redirect it to a file', err)
            self.assertEqual(select.select([master], [], [], 0.5)[0], [])  # nothing reached the screen
        finally:
            os.close(master)
            os.close(slave)

    def read_until(self, fd, text, got, timeout=30):
        deadline = time.monotonic() + timeout
        while text not in got[0]:
            ready = select.select([fd], [], [], max(0, deadline - time.monotonic()))[0]
            self.assertTrue(ready, 'waiting for %r, got %r' % (text, got[0]))
            chunk = os.read(fd, 4096)
            self.assertTrue(chunk, 'picctl ended before %r: %r' % (text, got[0]))
            got[0] += chunk.decode(errors='replace')

    def on_terminal(self, args, answers, stdout=subprocess.PIPE, archive=None):
        """picctl ARGS with a terminal on standard input that types each answer after its prompt:
        (status, stdout, stderr). @archive: standard input is that file instead, and the terminal
        is picctl's controlling one."""
        master, slave = os.openpty()
        tty = os.ttyname(slave)

        def controlling_terminal():
            fd = os.open(tty, os.O_RDWR)
            fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
            os.close(fd)

        stdin = open(archive, 'rb') if archive else slave
        try:
            p = subprocess.Popen([h.picctl_binary()] + args, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                 env=self.env(), start_new_session=True,
                                 preexec_fn=controlling_terminal if archive else None)
            got = ['']
            echoes = lambda: termios.tcgetattr(slave)[3] & termios.ECHO  # noqa: E731
            for prompt, typed in answers:
                self.read_until(p.stderr.fileno(), prompt, got)
                h.wait_for(lambda: not echoes(), 10, 0.01, 'echo off')
                os.write(master, typed.encode() + b'\n')
            out, rest = p.communicate(timeout=180)
            out = out.decode(errors='replace') if out is not None else ''
            err = got[0] + rest.decode(errors='replace')
            self.outputs.append(out + err)
            self.assertTrue(echoes())  # put back
            shown = os.read(master, 4096) if select.select([master], [], [], 0.2)[0] else b''
            for _, typed in answers:
                self.assertNotIn(typed.encode(), shown)  # typed without echo
            return p.returncode, out, err
        finally:
            if archive:
                stdin.close()
            os.close(master)
            os.close(slave)

    def typed_backup(self, path, first, second):
        """picctl backup > path on a terminal that types @first and @second at its prompts."""
        with open(path, 'wb') as f:
            status, _, err = self.on_terminal(['backup'], [('encrypt the backup with: ', first), ('again: ', second)],
                                              stdout=f)
        return status, err

    def test_5_passphrase_typed_twice(self):
        typed = os.path.join(self.dir, 'typed.backup')
        status, err = self.typed_backup(typed, TYPED, TYPED)
        self.assertEqual(status, 0, err)
        self.assertIn('Backup written: %d bytes (encrypted).' % os.path.getsize(typed), err)
        self.assert_lists_the_cell(self.inspect(typed, '--passphrase-file', self.write('typed', TYPED + '\n')), True)
        # inspect --file asks once, then reads the file again from its start
        status, out, err = self.on_terminal(['backup', 'inspect', '--file', typed],
                                            [('Passphrase of the backup: ', TYPED)])
        self.assertEqual(status, 0, err)
        self.assert_lists_the_cell(out, True)
        status, out, err = self.on_terminal(['backup', 'inspect', '--file', typed],
                                            [('Passphrase of the backup: ', PASSPHRASE)])
        self.assertEqual((status, out), (1, ''), err)
        self.assertIn('passphrase is wrong', err)

        status, err = self.typed_backup(typed, TYPED, TYPED + 'x')
        self.assertEqual(status, 1, err)
        self.assertIn('differ', err)
        self.assertEqual(os.path.getsize(typed), 0)

    def test_6_polkit_denial_writes_nothing(self):
        target = os.path.join(self.dir, 'denied.backup')
        self.cell.polkit.set_allowed([a for a in ACTIONS if a != 'org.pic.cell1.backup'])
        try:
            status, err = self.backup(target, '--passphrase-file', self.passphrase_file)
        finally:
            self.cell.polkit.set_allowed(ACTIONS)
        self.assertEqual(status, 1, err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn('ccess denied for org.pic.cell1.backup', err)
        self.assertEqual(os.path.getsize(target), 0)
        self.assert_no_snapshot()

    def test_7_two_at_once(self):
        before, paths, procs = self.state_files(), [], []
        for i in range(2):
            paths.append(os.path.join(self.dir, 'both-%d.backup' % i))
            with open(paths[-1], 'wb') as out:
                procs.append(subprocess.Popen([h.picctl_binary(), 'backup', '--passphrase-file', self.passphrase_file],
                                              stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                                              env=self.env()))
        results = [(p.wait(180), p.communicate()[1].decode()) for p in procs]
        self.outputs.extend(err for _, err in results)
        for (status, err), path in zip(results, paths):
            if status == 0:
                self.assert_lists_the_cell(self.inspect(path, '--passphrase-file', self.passphrase_file), True)
            else:  # the other one was under way
                self.assertEqual(status, 1, err)
                self.assertIn('under way', err)
        self.assertIn(0, [status for status, _ in results])
        self.assertEqual(self.state_files(), before)
        self.assert_no_snapshot()

    def test_8_help_and_usage(self):
        code, out, err = self.picctl('--help')
        self.assertEqual((code, err), (0, ''))
        self.assertIn('backup [--passphrase-file FILE|--no-encrypt] > FILE', out)
        self.assertIn('backup inspect [--passphrase-file FILE] [--file FILE|< FILE]', out)
        code, out, err = self.picctl('backup', '--help')
        self.assertEqual((code, err), (0, ''))
        self.assertIn('--no-encrypt', out)
        self.assertIn('picctl backup inspect', out)
        code, out, err = self.picctl('backup', 'inspect', '--help')
        self.assertEqual((code, err), (0, ''))
        self.assertIn('--file FILE', out)
        code, out, err = self.picctl('--help')
        self.assertIn('restore [--passphrase-file FILE] [--replace] [--no-wait] [--file FILE|< FILE]', out)
        code, out, err = self.picctl('restore', '--help')
        self.assertEqual((code, err), (0, ''))
        for option in ('--passphrase-file FILE', '--replace', '--no-wait', '--file FILE'):
            self.assertIn(option, out)
        for args in (['backup', 'now'], ['backup', '--bogus'], ['backup', 'inspect', 'home.backup'],
                     ['backup', 'inspect', '--passphrase-file', '-'], ['restore', 'home.backup'],
                     ['restore', '--bogus'], ['restore', '--passphrase-file', '-'], ['restore', '--file']):
            code, out, err = self.picctl(*args, stdout=subprocess.DEVNULL)
            self.assertEqual(code, 2, (args, err))
            self.assertIn('--help', err)
        # the archive is not typed in
        status, out, err = self.on_terminal(['restore', '--replace'], [])
        self.assertEqual((status, out), (2, ''), err)
        self.assertIn('standard input is a terminal', err)

    # ------------------------------------------------------------ restore

    def restore(self, path, *args):
        """picctl restore ARGS < path: (status, stdout, stderr)."""
        with open(path, 'rb') as f:
            return self.picctl('restore', *args, stdin=f)

    def peers_served(self):
        code, out, err = self.picctl('peer', 'list', '--json')
        self.assertEqual(code, 0, err)
        return sorted(p['Name'] for p in json.loads(out))

    def assert_restore_refused(self, result, words, status=1):
        """A refusal: a line naming @words (after a prompt, if any), nothing printed on stdout, the state and
        the daemon as they were."""
        code, out, err = result
        self.assertEqual((code, out), (status, ''), err)
        lines = [l for l in err.splitlines() if l.startswith('picctl: ')]
        self.assertTrue(lines, err)
        self.assertIn(words, lines[0])
        self.assertEqual(self.state_files(), self.before_restore)
        self.assertEqual(self.cell.pid(), self.pid_before_restore)
        return err

    def test_9a_what_restore_refuses(self):
        self.before_restore, self.pid_before_restore = self.state_files(), self.cell.pid()
        with open(self.archive, 'rb') as f:
            good = f.read()
        wrong = os.path.join(self.dir, 'wrong')

        # a cell that is set up is replaced only when asked; the daemon's Replace=true is picctl's --replace
        err = self.assert_restore_refused(self.restore(self.archive, '--passphrase-file', self.passphrase_file),
                                          '--replace')
        self.assertIn('Cell home is set up', err)
        self.assertNotIn('Replace=true', err)
        self.assertEqual(len(err.splitlines()), 1, err)
        err = self.assert_restore_refused(self.restore(self.archive, '--passphrase-file', wrong, '--replace'),
                                          'passphrase is wrong')
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assert_restore_refused(self.restore(self.write('cut', good[:-30]), '--passphrase-file',
                                                 self.passphrase_file, '--replace'), 'truncated')
        self.assert_restore_refused(self.picctl('restore', '--replace', '--passphrase-file', self.passphrase_file,
                                                '--file', self.write('more', good + b'\0')), 'follows the end')
        # a plain file is the daemon's to name: no passphrase asked for
        self.assert_restore_refused(self.restore(self.write('text', 'hello\n'), '--replace'), 'not a PIC backup')
        self.assert_restore_refused(self.picctl('restore', '--replace', '--passphrase-file', self.passphrase_file,
                                                '--file', os.path.join(self.dir, 'missing')), 'No such file')
        # encrypted on standard input, no --passphrase-file and no terminal: refused by name
        err = self.assert_restore_refused(self.restore(self.archive, '--replace'), '--passphrase-file')
        self.assertIn('no terminal to ask on', err)

        # the controlling terminal asks for it when the archive is on standard input
        result = self.on_terminal(['restore', '--replace'], [('Passphrase of the backup: ', TYPED)],
                                  archive=self.archive)
        self.assertIn('Passphrase of the backup: ', result[2])
        self.assert_restore_refused(result, 'passphrase is wrong')
        # without --replace it is refused before the passphrase is typed for nothing
        result = self.on_terminal(['restore'], [], archive=self.archive)
        self.assertNotIn('Passphrase', result[2])
        self.assert_restore_refused(result, '--replace')

        # polkit: both actions needed
        self.cell.polkit.set_allowed([a for a in ACTIONS if a != 'org.pic.cell1.configure'])
        try:
            result = self.restore(self.archive, '--passphrase-file', self.passphrase_file, '--replace')
        finally:
            self.cell.polkit.set_allowed(ACTIONS)
        self.assert_restore_refused(result, 'ccess denied for org.pic.cell1.configure')
        self.assertEqual(self.peers_served(), sorted(PEERS))

    def wait_for_restart(self, pid):
        h.wait_for(lambda: self.cell.bus.has_owner('org.pic.Cell1') and self.cell.pid() != pid, 30, 0.1,
                   'pic-celld back with the restored state')

    def test_9b_restore_brings_a_removed_peer_back(self):
        code, out, err = self.picctl('peer', 'remove', 'phone')
        self.assertEqual(code, 0, err)
        self.assertEqual(self.peers_served(), ['laptop', 'tablet'])
        pid = self.cell.pid()

        code, out, err = self.restore(self.archive, '--passphrase-file', self.passphrase_file, '--replace')
        self.assertEqual(code, 0, err)
        self.assertEqual(err, '')
        self.assertEqual(out, 'Restored cell home; pic-celld restarts to load it.\n'
                              'Cell home is serving again.\n')
        # picctl waited: the new process serves the restored state at once
        self.assertNotEqual(self.cell.pid(), pid)
        self.assertEqual(self.peers_served(), sorted(PEERS))
        self.assertTrue(os.path.exists(os.path.join(self.cell.state_dir, 'peers', 'phone.json')))

    def test_9c_plain_archive_through_a_pipe_without_waiting(self):
        with open(os.path.join(self.dir, 'plain.backup'), 'rb') as f:
            plain = f.read()
        code, out, err = self.picctl('peer', 'remove', 'tablet')
        self.assertEqual(code, 0, err)
        pid = self.cell.pid()
        # a plain archive asks for no passphrase; a pipe's first bytes read here still reach pic-celld
        code, out, err = self.picctl('restore', '--replace', '--no-wait', input=plain)
        self.assertEqual((code, err), (0, ''), err)
        self.assertEqual(out, 'Restored cell home; pic-celld restarts to load it.\n')
        self.wait_for_restart(pid)
        h.wait_for(lambda: self.peers_served() == sorted(PEERS), 15, 0.1, 'the peers served again')

    def test_9z_the_passphrases_show_nowhere(self):
        self.assertTrue(self.outputs)
        for text in self.outputs:
            for secret in (PASSPHRASE, TYPED):
                self.assertNotIn(secret, text)
        daemon_logged = False
        for d, _, names in os.walk(self.world.path):
            for n in names:
                if n.endswith('.log'):
                    with open(os.path.join(d, n), 'rb') as f:
                        data = f.read()
                    daemon_logged |= b'Backup written' in data
                    for secret in (PASSPHRASE, TYPED):
                        self.assertNotIn(secret.encode(), data, n)
        self.assertTrue(daemon_logged)  # the daemon's log was among them


if __name__ == '__main__':
    h.main()
