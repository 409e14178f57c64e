#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for PIC integration tests: real processes, nothing on the host.

Everything a test starts lives in a TempWorld: a temp dir under /tmp, a private
D-Bus system bus (run by a real systemd manager that starts the shipped
pic-celld.service, unless a test asks for plain activation), network
namespaces with unique names, wireguard-go instances in private mount
namespaces. The world's cleanup kills what it started (by
recorded PID, by network namespace, and by an environment marker that every
child inherits) and deletes its namespaces, even when a test fails.

Run with /usr/bin/python3 (needs dbus-python and, for signals, gi).
See test_harness_selftest.py for worked examples.
"""

import os
import signal
import sys
import unittest

import dbus

# The fixtures live in three modules; tests use them all through this one.
from harness_world import *  # noqa: E402,F401,F403
from harness_world import (_ancestors, _delete_netns, _proc_environ_has, _proc_starttime,  # noqa: E402,F401
                           _stop_pids, _world)
from harness_net import *  # noqa: E402,F401,F403
from harness_net import _ns_name, _split_list  # noqa: E402,F401
from harness_bus import *  # noqa: E402,F401,F403


# ---------------------------------------------------------------- the whole cell

# How pic-celld is started when a test does not say: "systemd" (a real manager runs the
# bus and starts the shipped pic-celld.service, bus-activated through SystemdService=,
# as in production) or "bus" (dbus-daemon starts the binary itself).
SERVICE_MANAGER = os.environ.get('PIC_TEST_SERVICE_MANAGER', 'systemd')
# Which polkit a test that asks for the mock gets: "mock" (python-dbusmock's template, told per
# test what to allow) or "real" (the real polkitd with the shipped rules for the gateway, the
# gateway as an unprivileged user: PIC_POLKIT=real reruns suites that way, see meson.build).
POLKIT_MODE = os.environ.get('PIC_POLKIT', 'mock')


class Cell:
    """pic-celld wired up for a test: private bus, polkit (mock/real/None), its own netns, state dir.

    Nothing starts until .start() (bus activation). Attributes: bus, polkit,
    netns, state_dir, wg_run_dir, ifname, uapi_socket, build, service_manager.
    service_manager: "systemd" (the shipped unit under a real manager, which
    runs the bus; systemd_world.py) or "bus" (dbus-daemon starts the binary);
    default SERVICE_MANAGER. A bus passed in decides by its kind. wrapper: a command line that
    runs pic-celld (fiu-run, say; "bus" only)."""

    def __init__(self, world=None, polkit='mock', ifname=None, extra_args=(), bus=None, netns=None,
                 build=None, source=None, name='cell', service_manager=None, wrapper=()):
        import systemd_world  # it imports this module
        self.world = _world(world)
        self.build = build or build_dir()
        self.source = source or source_dir()
        if bus is not None:
            service_manager = 'systemd' if isinstance(bus, systemd_world.SystemdBus) else 'bus'
        self.service_manager = service_manager or SERVICE_MANAGER
        # the manager needs /run/netns mounted: the cell's namespace comes first
        self.netns = netns or Netns(world=self.world)
        # cells of one world each have a bus of their own (its socket lives in its directory)
        bus_dir = self.world.subdir('bus' if name == 'cell' else '%s-bus' % name)
        if bus is None and self.service_manager == 'systemd':
            bus = systemd_world.SystemdBus(dir=bus_dir, world=self.world, source=self.source,
                                           runtime_name='systemd-rt' if name == 'cell' else '%s-systemd-rt' % name,
                                           log_prefix='' if name == 'cell' else name + '-')
        self.bus = bus or PrivateBus(dir=bus_dir, world=self.world, source=self.source)
        if polkit == 'mock' and POLKIT_MODE == 'real':
            self.polkit = RealPolkit(self.bus, source=self.source, rules_files=[shipped_gateway_rules(self.world)],
                                     stands_in_for_mock=True)
        elif polkit == 'mock':
            self.polkit = MockPolkit(self.bus)
        elif polkit == 'real':
            self.polkit = RealPolkit(self.bus, source=self.source)
        else:
            self.polkit = None
        self.ifname = ifname or self.world.unique('picwg')
        self.state_dir = self.world.subdir('%s-state' % name, 0o700)
        self.wg_run_dir = self.world.subdir('%s-wireguard' % name)
        self.uapi_socket = os.path.join(self.wg_run_dir, self.ifname + '.sock')
        self.extra_args = list(extra_args)
        self.wrapper = list(wrapper)
        if self.wrapper and self.service_manager != 'bus':
            raise ValueError('a wrapper needs service_manager="bus"')
        self.install()

    def install(self, extra_args=None):
        if extra_args is not None:
            self.extra_args = list(extra_args)
        if not os.access(celld_binary(self.build), os.X_OK):
            raise unittest.SkipTest('pic-celld not built at %s' % celld_binary(self.build))
        if self.service_manager == 'systemd':
            import systemd_world
            argv = systemd_world.celld_unit_argv(self.build, self.state_dir, self.netns.name, self.ifname,
                                                 self.extra_args)
            systemd_world.install_celld_unit(self.bus.units_dir, self.bus.services_dir, self.build, argv,
                                             self.netns.name, self.world.path, self.wg_run_dir, self.bus.address)
            self.bus.reload()
            self.bus.systemctl('daemon-reload')
        else:
            install_celld_activation(self.bus, self.build, self.state_dir, self.netns, self.ifname,
                                     self.wg_run_dir, self.extra_args, self.wrapper)

    def start(self, timeout=30):
        """Bus-activate pic-celld; returns its PID (also tracked for cleanup)."""
        try:
            self.bus.activate(CELL_BUS_NAME, timeout=timeout)
        except dbus.DBusException:
            if self.service_manager == 'systemd':
                print(self.bus.systemctl('status', '--no-pager', 'pic-celld.service', check=False).stdout,
                      file=sys.stderr)
            self.world.dump_logs()
            raise
        pid = self.pid()
        if not any(p.pid == pid and p.alive() for p in self.world.procs):
            self.world.track(pid, 'pic-celld')
        return pid

    def pid(self):
        return celld_pid(self.bus)

    def stop(self, timeout=10):
        """SIGTERM the daemon and wait until its name is gone (its wireguard-go keeps running)."""
        if not self.bus.has_owner(CELL_BUS_NAME):
            return
        proc = Proc(self.pid(), 'pic-celld')
        proc.signal(signal.SIGTERM)
        if not proc.wait(timeout):
            raise TimeoutError('pic-celld did not exit on SIGTERM')
        self.bus.wait_for_no_owner(CELL_BUS_NAME, 5)

    def restart(self):
        self.stop()
        return self.start()

    def object(self, path=CELL_PATH):
        return self.bus.connection().get_object(CELL_BUS_NAME, path, introspect=False)

    def interface(self, iface, path=CELL_PATH):
        return dbus.Interface(self.object(path), iface)

    def manager(self):
        return self.interface('org.pic.Cell1.Manager')

    def properties(self, iface, path=CELL_PATH):
        return self.interface('org.freedesktop.DBus.Properties', path).GetAll(iface)

    def managed_objects(self):
        return self.interface('org.freedesktop.DBus.ObjectManager').GetManagedObjects()

    def wait_dns_settled(self, timeout=15):
        """Under a service manager the cell's DNS starts (and follows changes) on its own
        schedule: wait until DnsState is no longer "starting"; returns it."""
        state = lambda: str(self.properties('org.pic.Cell1.Manager')['DnsState'])  # noqa: E731
        wait_for(lambda: not state().startswith('starting'), timeout, 0.02, 'DnsState settled (%s)' % state())
        return state()

    def picctl(self, *args, as_nobody=False, check=False, timeout=60, input=None):
        argv = [picctl_binary(self.build)] + [str(a) for a in args]
        if as_nobody:
            argv = NOBODY_PREFIX + argv
        return run(argv, check=check, timeout=timeout, input=input,
                   env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus.address))


# ---------------------------------------------------------------- unittest glue

def require_root():
    if os.geteuid() != 0:
        raise unittest.SkipTest('integration tests need root (namespaces, mounts)')


class HarnessTestCase(unittest.TestCase):
    """Gives each test self.world (a fresh TempWorld), cleaned up even on failure.

    On failure the logs of every process the test started are printed to stderr."""

    def setUp(self):
        require_root()
        self.world = TempWorld()
        self.addCleanup(self.world.cleanup)

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        world = getattr(self, 'world', None)
        if world is not None:
            reports = world.sanitizer_reports()
            if reports:  # a sanitizer build's report fails the test that made it
                result.addFailure(self, (AssertionError, AssertionError('sanitizer reports:\n' + '\n'.join(reports)),
                                         None))
            if len(result.failures) + len(result.errors) > before:
                world.dump_logs()
            world.remove()
            self.world = None
        return result


class SharedWorldTestCase(unittest.TestCase):
    """One TempWorld for the whole class (self.world), for worlds too costly to build per
    test (a systemd manager, a tunnel); the class builds it in build_world(). Tests run in
    name order and may rely on what earlier ones left. Logs are printed for a failed test."""

    @classmethod
    def build_world(cls):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        require_root()
        cls.world = TempWorld()
        try:
            cls.build_world()
        except BaseException:
            cls.world.dump_logs()
            cls.world.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.world.cleanup()
        reports = cls.world.sanitizer_reports()
        if reports:
            cls.world.dump_logs()
        cls.world.remove()
        if reports:  # a sanitizer build's report fails the class that made it
            raise AssertionError('sanitizer reports:\n' + '\n'.join(reports))

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before:
            self.world.dump_logs()
        return result


def main():
    """unittest.main that exits 77 (meson's 'skipped') when any test was skipped, naming them: a file
    whose other tests passed must not hide one that did not run (tools/dev test, as root, counts a
    skip as a failure)."""
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    if not r.wasSuccessful():
        sys.exit(1)
    if r.skipped:
        for test, why in r.skipped:
            print('SKIPPED %s: %s' % (test.id(), why), file=sys.stderr)
        print('%d of %d tests skipped' % (len(r.skipped), r.testsRun), file=sys.stderr)
        sys.exit(77)
    sys.exit(0)


# ---------------------------------------------------------------- CLI for tools/dev

def _cli(argv):
    """usage: harness.py polkit-dirs DIR [POLICY...]   (systemd_world.py has the rest)"""
    if not argv:
        print(_cli.__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == 'polkit-dirs':
        policies = args[1:] or project_policy_files()
        print('\n'.join(write_polkit_dirs(args[0], policies)))
    else:
        print(_cli.__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(_cli(sys.argv[1:]))
