#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration-test fixtures, part 3: the private system bus, signal recording,
polkit (python-dbusmock's template and the real polkitd) and other users."""

import contextlib
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

import dbus

from harness_world import *  # noqa: E402,F401,F403
from harness_world import _world  # noqa: E402,F401
from harness_net import _ns_name  # noqa: E402,F401

CELL_BUS_NAME = 'org.pic.Cell1'
CELL_PATH = '/org/pic/Cell1'
POLKIT_BUS_NAME = 'org.freedesktop.PolicyKit1'
POLKIT_PATH = '/org/freedesktop/PolicyKit1/Authority'
POLKIT_IFACE = 'org.freedesktop.PolicyKit1.Authority'
MOCK_IFACE = 'org.freedesktop.DBus.Mock'
SYSTEM_BUS_TEMPLATE = '/usr/share/dbus-1/system.conf'
POLKITD = '/usr/lib/polkit-1/polkitd'


# ---------------------------------------------------------------- private system bus

def bus_config_xml(bus_dir, template=SYSTEM_BUS_TEMPLATE):
    """The system bus config rewritten for a private bus in bus_dir (HARNESS.md recipe)."""
    tree = ET.parse(template)
    root = tree.getroot()
    drop = {'user', 'fork', 'pidfile', 'syslog', 'standard_system_servicedirs',
            'servicehelper', 'listen', 'includedir', 'include', 'servicedir'}
    for el in list(root):
        if el.tag in drop:
            root.remove(el)
    for tag, text in (('listen', 'unix:path=%s' % os.path.join(bus_dir, 'system_bus_socket')),
                      ('servicedir', os.path.join(bus_dir, 'services')),
                      ('includedir', os.path.join(bus_dir, 'system.d'))):
        el = ET.SubElement(root, tag)
        el.text = text
    return ('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
            ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
            + ET.tostring(root, encoding='unicode') + '\n')


def owner_policy_xml(bus_name, users=('root',), senders='default'):
    """A bus policy letting users own bus_name and everybody call it."""
    owns = ''.join('  <policy user="%s">\n    <allow own="%s"/>\n  </policy>\n' % (u, bus_name)
                   for u in users)
    send = ('  <policy context="default">\n    <allow send_destination="%s"/>\n  </policy>\n'
            % bus_name) if senders == 'default' else ''
    return ('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"\n'
            ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
            '<busconfig>\n' + owns + send + '</busconfig>\n')


def write_bus_dir(bus_dir, src=None):
    """Create bus.conf, system.d/ (project policy + polkit owner policy) and services/ in bus_dir."""
    src = src or source_dir()
    for d in (bus_dir, os.path.join(bus_dir, 'system.d'), os.path.join(bus_dir, 'services')):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
    with open(os.path.join(bus_dir, 'bus.conf'), 'w') as f:
        f.write(bus_config_xml(bus_dir))
    project_conf = os.path.join(src, 'dbus', 'org.pic.Cell1.conf')
    if os.path.exists(project_conf):
        shutil.copy(project_conf, os.path.join(bus_dir, 'system.d', 'org.pic.Cell1.conf'))
    with open(os.path.join(bus_dir, 'system.d', 'org.freedesktop.PolicyKit1.conf'), 'w') as f:
        f.write(owner_policy_xml(POLKIT_BUS_NAME, users=('root', 'polkitd')))
    return os.path.join(bus_dir, 'bus.conf')


def activation_file_text(bus_name, argv, user='root'):
    if any('\n' in str(a) for a in argv):
        raise ValueError('an Exec= line cannot carry newlines; put the script in a file')
    return '[D-BUS Service]\nName=%s\nExec=%s\nUser=%s\n' % (
            bus_name, ' '.join(shlex.quote(str(a)) for a in argv), user)


def celld_argv(build, state_dir, netns, ifname, wg_run_dir, extra_args=()):
    # DNS files and Setup's default upstreams beside the state, never the host's
    # /run/pic or resolv.conf (a test that wants upstreams writes STATE-resolv.conf).
    base = state_dir.rstrip('/')
    return [celld_binary(build), '--state-dir=%s' % state_dir, '--netns=%s' % _ns_name(netns),
            '--interface=%s' % ifname, '--wireguard-run-dir=%s' % wg_run_dir,
            '--dns-dir=%s-dns' % base, '--resolv-conf=%s-resolv.conf' % base] + [str(a) for a in extra_args]


class PrivateBus:
    """A dbus-daemon with the system bus policy, listening in dir; sets DBUS_SYSTEM_BUS_ADDRESS."""

    def __init__(self, dir=None, world=None, source=None):
        self.world = _world(world)
        self.dir = dir or self.world.subdir('bus')
        self.source = source or source_dir()
        self.config = write_bus_dir(self.dir, self.source)
        self.socket = os.path.join(self.dir, 'system_bus_socket')
        self.address = 'unix:path=%s' % self.socket
        self.services_dir = os.path.join(self.dir, 'services')
        self.policy_dir = os.path.join(self.dir, 'system.d')
        self._conn = None
        env = dict(os.environ)
        # activated services inherit this and reach our bus with sd_bus_open_system()
        env['DBUS_SYSTEM_BUS_ADDRESS'] = self.address
        r, w = os.pipe()
        try:
            self.proc = self.world.spawn(
                    ['dbus-daemon', '--config-file=%s' % self.config, '--nofork',
                     '--print-address=%d' % w], name='dbus-daemon', env=env, pass_fds=(w,))
            os.close(w)
            w = -1
            ready, _, _ = select.select([r], [], [], 15)
            line = os.read(r, 4096).decode() if ready else ''
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)
        if not line.startswith('unix:'):
            self.world.dump_logs()
            raise RuntimeError('dbus-daemon did not start (see logs above)')
        self.world.set_env('DBUS_SYSTEM_BUS_ADDRESS', self.address)
        self.world.add_cleanup(self._close)

    def connection(self):
        """A (cached) blocking dbus-python connection to this bus."""
        if self._conn is None:
            self._conn = dbus.bus.BusConnection(self.address)
        return self._conn

    def new_connection(self, mainloop=None):
        return dbus.bus.BusConnection(self.address, mainloop=mainloop)

    def _close(self):
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def dbus_iface(self):
        return dbus.Interface(self.connection().get_object('org.freedesktop.DBus', '/org/freedesktop/DBus'),
                              'org.freedesktop.DBus')

    def reload(self):
        self.dbus_iface().ReloadConfig()

    def add_policy(self, filename, xml_text):
        """Drop a policy file into system.d/ and reload."""
        with open(os.path.join(self.policy_dir, filename), 'w') as f:
            f.write(xml_text)
        self.reload()

    def allow_owner(self, bus_name, users=('root',)):
        """Let users own bus_name and everybody send to it (e.g. uk.org.thekelleys.dnsmasq)."""
        self.add_policy(bus_name + '.conf', owner_policy_xml(bus_name, users))

    def install_service(self, bus_name, argv, user='root'):
        """Write services/<bus_name>.service with Exec=argv and reload; returns its path."""
        path = os.path.join(self.services_dir, bus_name + '.service')
        with open(path, 'w') as f:
            f.write(activation_file_text(bus_name, argv, user))
        self.reload()
        return path

    def has_owner(self, bus_name):
        return bool(self.dbus_iface().NameHasOwner(bus_name))

    def owner_pid(self, bus_name):
        return int(self.dbus_iface().GetConnectionUnixProcessID(bus_name))

    def activate(self, bus_name, timeout=30):
        """StartServiceByName; returns once bus_name is owned. Result 1 = started, 2 = was running."""
        return int(self.dbus_iface().StartServiceByName(bus_name, dbus.UInt32(0), timeout=timeout))

    def wait_for_owner(self, bus_name, timeout=15):
        return wait_for(lambda: self.has_owner(bus_name), timeout, 0.05, 'owner of %s' % bus_name)

    def wait_for_no_owner(self, bus_name, timeout=15):
        return wait_for(lambda: not self.has_owner(bus_name), timeout, 0.05, '%s to vanish' % bus_name)

    def stop(self):
        self._close()
        self.proc.stop()


def install_celld_activation(bus, build_dir, state_dir, netns, ifname, wg_run_dir, extra_args=(), wrapper=()):
    """Make org.pic.Cell1 bus-activatable on `bus`, running BUILD/src/daemon/pic-celld (under
    the wrapper command line, when given); returns the file path."""
    return bus.install_service(CELL_BUS_NAME, list(wrapper) + celld_argv(build_dir, state_dir, netns, ifname,
                                                                         wg_run_dir, extra_args))


def celld_pid(bus):
    """PID of whoever owns org.pic.Cell1 on bus."""
    return bus.owner_pid(CELL_BUS_NAME)


# ---------------------------------------------------------------- signals

class SignalRecorder:
    """Records matching signals on its own GLib-driven connection.

    rec = SignalRecorder(bus, dbus_interface='org.freedesktop.DBus.Properties',
                         signal_name='PropertiesChanged', path=...)
    rec.wait_for(lambda sigs: any(...), timeout=5)
    Each record is (path, member, args)."""

    def __init__(self, bus, **match):
        from dbus.mainloop.glib import DBusGMainLoop
        from gi.repository import GLib
        self._glib = GLib
        self.signals = []
        self.conn = bus.new_connection(mainloop=DBusGMainLoop())
        self._match = self.conn.add_signal_receiver(self._on_signal, path_keyword='_path',
                                                    member_keyword='_member', **match)
        # make sure the match rule is active before the caller triggers anything
        self.conn.get_object('org.freedesktop.DBus', '/org/freedesktop/DBus').GetId(
                dbus_interface='org.freedesktop.DBus')

    def _on_signal(self, *args, _path=None, _member=None):
        self.signals.append((str(_path), str(_member), args))

    def pump(self, seconds=0.0):
        deadline = time.monotonic() + seconds
        ctx = self._glib.MainContext.default()
        while True:
            while ctx.iteration(False):
                pass
            if time.monotonic() >= deadline:
                break
            time.sleep(0.01)

    def wait_for(self, predicate, timeout=10, what='signal'):
        def check():
            self.pump()
            return predicate(self.signals)
        return wait_for(check, timeout, 0.02, what)

    def clear(self):
        self.pump()
        self.signals = []

    def close(self):
        with contextlib.suppress(Exception):
            self._match.remove()
            self.conn.close()


# ---------------------------------------------------------------- polkit

def polkit_subject(unique_name):
    """The (sa{sv}) subject polkit wants for a bus connection."""
    return dbus.Struct(('system-bus-name', dbus.Dictionary({'name': dbus.String(unique_name)},
                                                            signature='sv')), signature=None)


def check_authorization(bus, unique_name, action_id, details=None, flags=0, timeout=30):
    """Ask polkit on `bus` about the connection unique_name; returns (is_authorized, is_challenge, details)."""
    authority = dbus.Interface(bus.connection().get_object(POLKIT_BUS_NAME, POLKIT_PATH), POLKIT_IFACE)
    r = authority.CheckAuthorization(polkit_subject(unique_name), action_id,
                                     dbus.Dictionary(details or {}, signature='ss'),
                                     dbus.UInt32(flags), '', timeout=timeout)
    return bool(r[0]), bool(r[1]), dict(r[2])


class MockPolkit:
    """python-dbusmock's polkitd template on the private bus: denies everything until told otherwise."""

    def __init__(self, bus, world=None):
        self.world = _world(world if world is not None else bus.world)
        self.bus = bus
        env = dict(os.environ)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = bus.address
        self.proc = self.world.spawn([PYTHON, '-m', 'dbusmock', '--template', 'polkitd', '--system'],
                                     name='mock-polkitd', env=env)
        try:
            bus.wait_for_owner(POLKIT_BUS_NAME, 20)
        except TimeoutError:
            self.world.dump_logs()
            raise
        self.pid = bus.owner_pid(POLKIT_BUS_NAME)

    def _mock(self):
        return dbus.Interface(self.bus.connection().get_object(POLKIT_BUS_NAME, POLKIT_PATH), MOCK_IFACE)

    def set_allowed(self, actions):
        self._mock().SetAllowed(dbus.Array(actions, signature='s'))

    def allow_unknown(self, allow=True):
        self._mock().AllowUnknown(bool(allow))

    def set_delay(self, seconds):
        self._mock().SetDelay(float(seconds))

    def hang(self, hang=True):
        self._mock().SimulateHang(bool(hang))

    def release_hanging(self):
        self._mock().ReleaseHangingCalls()

    def calls(self):
        """CheckAuthorization calls so far: list of (subject_kind, subject_dict, action_id)."""
        out = []
        for _, args in self._mock().GetMethodCalls('CheckAuthorization'):
            out.append((str(args[0][0]), {str(k): v for k, v in args[0][1].items()}, str(args[1])))
        return out

    def clear_calls(self):
        self._mock().ClearCalls()

    def stop(self):
        self.proc.stop()
        with contextlib.suppress(TimeoutError):
            self.bus.wait_for_no_owner(POLKIT_BUS_NAME, 5)


def project_policy_files(src=None):
    d = os.path.join(src or source_dir(), 'polkit')
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith('.policy'))


def write_polkit_dirs(dir, policy_files, rules_files=()):
    """actions/ (given policies + polkit's own), rules/ (given rules), share-rules/ (polkit's default admin rule)."""
    actions = os.path.join(dir, 'actions')
    rules = os.path.join(dir, 'rules')
    share_rules = os.path.join(dir, 'share-rules')
    for d in (dir, actions, rules, share_rules):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
    # polkitd's own actions (pkexec) are expected to exist; keep them
    own = '/usr/share/polkit-1/actions/org.freedesktop.policykit.policy'
    for f in ([own] if os.path.exists(own) else []) + list(policy_files):
        shutil.copy(f, actions)
    for f in rules_files:
        shutil.copy(f, rules)
    default_rules = '/usr/share/polkit-1/rules.d/50-default.rules'
    if os.path.exists(default_rules):
        shutil.copy(default_rules, share_rules)
    for d in (actions, rules, share_rules):
        for f in os.listdir(d):
            os.chmod(os.path.join(d, f), 0o644)
    return actions, rules, share_rules


POLKITD_SCRIPT = ('set -e; mount --bind "$1" /usr/share/polkit-1/actions; '
                  'mount --bind "$2" /etc/polkit-1/rules.d; '
                  'mount --bind "$3" /usr/share/polkit-1/rules.d; '
                  'exec "$4" --no-debug')


def real_polkitd_argv(actions, rules, share_rules):
    """polkitd in a private mount namespace seeing only our actions and rules."""
    return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', POLKITD_SCRIPT, 'polkitd',
            actions, rules, share_rules, POLKITD]


class RealPolkit:
    """The real polkitd (drops to user polkitd) in a private mount namespace with the project's actions.

    policy_files defaults to <source>/polkit/*.policy; rules_files go to /etc/polkit-1/rules.d.
    uid 0 is always authorized; deny paths need a non-root caller."""

    def __init__(self, bus, source=None, policy_files=None, rules_files=(), world=None, stands_in_for_mock=False):
        self.world = _world(world if world is not None else bus.world)
        self.bus = bus
        self.stands_in_for_mock = stands_in_for_mock
        if policy_files is None:
            policy_files = project_policy_files(source)
        self.dir = self.world.subdir('polkit')
        dirs = write_polkit_dirs(self.dir, policy_files, rules_files)
        env = dict(os.environ)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = bus.address
        self.proc = self.world.spawn(real_polkitd_argv(*dirs), name='polkitd', env=env)
        try:
            bus.wait_for_owner(POLKIT_BUS_NAME, 20)
        except TimeoutError:
            self.world.dump_logs()
            raise
        self.pid = bus.owner_pid(POLKIT_BUS_NAME)

    def set_allowed(self, actions):
        """In place of the mock (PIC_POLKIT=real) the rules decide, whatever the test allows; one that
        wants everything refused cannot run this way (and one that wants a granted action refused
        fails: the real-polkitd runs in tests/integration/meson.build leave it out, saying why)."""
        if not self.stands_in_for_mock:
            raise TypeError('the real polkitd is told nothing: its rules decide')
        if not actions:
            raise unittest.SkipTest('needs the mock polkit to refuse everything')

    def set_delay(self, seconds):
        raise unittest.SkipTest('needs the mock polkit to answer late')

    def stop(self):
        self.proc.stop()
        with contextlib.suppress(TimeoutError):
            self.bus.wait_for_no_owner(POLKIT_BUS_NAME, 5)


# The actions polkit/50-pic-gateway.rules.example grants the gateway's user.
SHIPPED_GATEWAY_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.authenticate',
                           'org.pic.cell1.manage-links', 'org.pic.cell1.manage-exits', 'org.pic.cell1.backup',
                           'org.pic.cell1.peer-sync', 'org.pic.cell1.read-secrets']
TEST_GATEWAY_USER = 'nobody'    # Gateway(as_nobody=True), as the shipped unit runs it as pic-gateway


def shipped_gateway_rules(world):
    """The shipped rules file, for the user the tests run the gateway as (nothing else changed)."""
    with open(os.path.join(source_dir(), 'polkit', '50-pic-gateway.rules.example')) as f:
        text = f.read()
    granted = re.findall(r'"(org\.pic\.cell1\.[a-z-]+)"', text)
    rule = 'subject.user == "pic-gateway"'
    if sorted(granted) != sorted(SHIPPED_GATEWAY_ACTIONS) or text.count(rule) != 1:
        raise RuntimeError('polkit/50-pic-gateway.rules.example changed: update SHIPPED_GATEWAY_ACTIONS')
    path = os.path.join(world.subdir('shipped-rules'), '50-pic-gateway.rules')
    with open(path, 'w') as f:
        f.write(text.replace(rule, 'subject.user == "%s"' % TEST_GATEWAY_USER))
    return path


# ---------------------------------------------------------------- other users

NOBODY_PREFIX = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups']


def as_nobody(argv):
    return NOBODY_PREFIX + [str(a) for a in argv]


def run_as_nobody(argv, check=False, timeout=60, input=None, env=None):
    """Run argv as nobody:nogroup (DBUS_SYSTEM_BUS_ADDRESS is inherited); returns CompletedProcess."""
    return run(as_nobody(argv), check=check, timeout=timeout, input=input, env=env)


_CLIENT_SCRIPT = '''
import sys, dbus
conn = dbus.bus.BusConnection(sys.argv[1])
print(conn.get_unique_name(), flush=True)
sys.stdin.read()
'''


class ForeignConnection:
    """A bus connection held by another process (default: as nobody) — a subject polkit judges by its uid.

    .unique_name is its bus name; .stop() closes it."""

    def __init__(self, bus, user_prefix=NOBODY_PREFIX, world=None):
        self.world = _world(world if world is not None else bus.world)
        self.popen = subprocess.Popen(list(user_prefix) + [PYTHON, '-c', _CLIENT_SCRIPT, bus.address],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                      env=dict(os.environ, **{WORLD_MARKER: self.world.path}))
        self.proc = self.world.track(self.popen.pid, 'foreign-connection', self.popen)
        ready, _, _ = select.select([self.popen.stdout], [], [], 15)
        self.unique_name = self.popen.stdout.readline().strip() if ready else ''
        if not self.unique_name.startswith(':'):
            self.stop()
            raise RuntimeError('foreign bus client did not connect')
        self.pid = self.popen.pid

    def stop(self):
        if self.popen.stdin and not self.popen.stdin.closed:
            with contextlib.suppress(OSError):
                self.popen.stdin.close()
        self.proc.stop()
