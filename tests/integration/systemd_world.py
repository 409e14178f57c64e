# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real systemd service manager for tests, serving the private system bus.

systemd (v252 here) runs as a user-instance manager in a mount namespace of
its own (it refuses to start unless /run/systemd/system exists, so a private
directory is bound there) and runs the test's dbus-daemon itself, so
org.freedesktop.systemd1 sits on the same bus as org.pic.Cell1, as in
production. ../shared/HARNESS.md has the recipe this follows.

The namespace is a slave of the host's mounts: network namespaces created
after the manager (ip netns add binds them under the shared /run/netns) are
still visible to the units it starts with NetworkNamespacePath=.
"""

import os
import shutil
import stat
import sys

import dbus

import harness as h

SYSTEMD = '/lib/systemd/systemd'
SYSTEMD_POLICY = '/usr/share/dbus-1/system.d/org.freedesktop.systemd1.conf'


def _is_mount_point(path):
    """From mountinfo: a bind mount on the same file system has the st_dev of its parent."""
    with open('/proc/self/mountinfo') as f:
        return any(line.split()[4] == path for line in f)


def _make_inaccessible_nodes(d):
    """What PID 1 creates in /run/systemd/inaccessible and units' ProtectHome=yes,
    InaccessiblePaths= mount over what they hide (without them: 226/NAMESPACE)."""
    os.makedirs(d)
    os.mkdir(os.path.join(d, 'dir'), 0)
    os.close(os.open(os.path.join(d, 'reg'), os.O_CREAT | os.O_WRONLY, 0))
    os.mkfifo(os.path.join(d, 'fifo'), 0)
    os.mknod(os.path.join(d, 'chr'), stat.S_IFCHR, os.makedev(0, 0))
    os.mknod(os.path.join(d, 'blk'), stat.S_IFBLK, os.makedev(0, 0))
    for name in ('dir', 'reg', 'fifo', 'chr', 'blk'):
        os.chmod(os.path.join(d, name), 0)


class SystemdBus(h.PrivateBus):
    """PrivateBus's interface, but the bus is run by a real systemd manager (self.systemctl(...) talks to it)."""

    def __init__(self, dir=None, world=None, source=None):
        self.world = h._world(world)
        if not _is_mount_point('/run/netns'):
            # Made shared by the first `ip netns add`: create the test's namespaces first.
            raise RuntimeError('SystemdBus needs /run/netns mounted (create a Netns before it)')
        self.dir = dir or self.world.subdir('bus')
        self.source = source or h.source_dir()
        self.config = h.write_bus_dir(self.dir, self.source)
        with open(self.config) as f:
            text = f.read()
        start = text.index('<listen>')
        end = text.index('</listen>') + len('</listen>')
        with open(self.config, 'w') as f:
            f.write(text[:start] + '<listen>systemd:</listen>' + text[end:])
        shutil.copy(SYSTEMD_POLICY, os.path.join(self.dir, 'system.d'))
        self.services_dir = os.path.join(self.dir, 'services')
        self.policy_dir = os.path.join(self.dir, 'system.d')

        self.runtime_dir = self.world.subdir('systemd-rt', 0o700)
        units = os.path.join(self.runtime_dir, 'systemd', 'user')
        os.makedirs(units)
        fake_run = self.world.subdir('systemd-run')
        os.makedirs(os.path.join(fake_run, 'system'))
        _make_inaccessible_nodes(os.path.join(fake_run, 'inaccessible'))
        # No journal here: every service's output goes to the world's logs (shown on failure).
        os.makedirs(os.path.join(units, 'service.d'))
        with open(os.path.join(units, 'service.d', '50-world-logs.conf'), 'w') as f:
            f.write('[Service]\nStandardOutput=append:%s\nStandardError=inherit\n'
                    % os.path.join(self.world.subdir('logs'), 'unit-%n.log'))
        with open(os.path.join(units, 'dbus.socket'), 'w') as f:
            f.write('[Socket]\nListenStream=%t/bus\n')
        with open(os.path.join(units, 'dbus.service'), 'w') as f:
            f.write('[Service]\nExecStart=/usr/bin/dbus-daemon --config-file=%s --nofork --nopidfile '
                    '--systemd-activation\n' % self.config)
        self.socket = os.path.join(self.runtime_dir, 'bus')
        self.address = 'unix:path=%s' % self.socket
        self._conn = None

        env = dict(os.environ, XDG_RUNTIME_DIR=self.runtime_dir)
        env.pop('DBUS_SYSTEM_BUS_ADDRESS', None)
        self.proc = self.world.spawn(
                ['unshare', '--mount', '--propagation', 'slave', 'sh', '-c',
                 'mount --bind "$1" /run/systemd && exec "$2" --user', 'sh', fake_run, SYSTEMD],
                name='systemd', env=env)
        h.wait_for(lambda: os.path.exists(os.path.join(self.runtime_dir, 'systemd', 'private')), 15, 0.05,
                   'the systemd manager')
        self.systemctl('start', 'dbus.socket')
        h.wait_for(self._bus_answers, 15, 0.05, 'the bus run by systemd')
        self.world.set_env('DBUS_SYSTEM_BUS_ADDRESS', self.address)
        self.world.add_cleanup(self._close)

    def _bus_answers(self):
        try:
            self.dbus_iface().GetId()
            return True
        except dbus.DBusException:
            self._close()
            return False

    def systemctl(self, *args, check=True):
        return h.run(['systemctl', '--user'] + [str(a) for a in args], check=check,
                     env=dict(os.environ, XDG_RUNTIME_DIR=self.runtime_dir))

    def unit_property(self, unit, prop):
        return self.systemctl('show', '-P', prop, unit).stdout.strip()

    def unit_main_pid(self, unit):
        return int(self.unit_property(unit, 'MainPID') or 0)


def dig(netns, server, name, qtype='A', timeout=2):
    """The answer section of `dig +short` from inside netns ([] when there is none)."""
    argv = ['dig', '+short', '+time=%d' % timeout, '+tries=1', '@%s' % server, name]
    if qtype == 'PTR':
        argv = ['dig', '+short', '+time=%d' % timeout, '+tries=1', '@%s' % server, '-x', name]
    elif qtype != 'A':
        argv.append(qtype)
    p = netns.run(argv, check=False, timeout=timeout + 5)
    if p.returncode != 0:
        return None  # no answer at all
    return [line for line in p.stdout.split('\n') if line and not line.startswith(';')]




# The dev world's changes to the shipped pic-celld.service, and why each is needed
# (the unit itself is installed unchanged from the build):
#   ExecStart=            the build's binary, with the test's state, interface and DNS
#                         directories; --netns-name because systemd, not the daemon, puts
#                         it in the namespace (RestrictNamespaces= and the bounding set
#                         forbid setns, and ProtectProc=/ProtectKernelTunables=/
#                         ProtectControlGroups= build a mount namespace in which the
#                         bind-mounted /run/netns/NAME is not visible)
#   NetworkNamespacePath= the test's cell namespace
#   StateDirectory=, RuntimeDirectory=
#                         emptied: a user manager would create them under root's home and
#                         $XDG_RUNTIME_DIR; the test's directories are passed instead
#   TemporaryFileSystem=/run, BindPaths=WG:/run/wireguard
#                         wireguard-go's sockets in the test's directory, never the host's
#                         /run/wireguard (which must not even be created)
#   BindPaths=WORLD       PrivateTmp= hides /tmp, where the world (state, the bus socket,
#                         the manager's notify socket for the watchdog) lives
#   BindReadOnlyPaths=BUILD
#                         and where a checkout under /tmp keeps the binary
#   Environment=DBUS_SYSTEM_BUS_ADDRESS
#                         the private bus
DEV_DROP_IN = '''[Service]
ExecStart=
ExecStart={argv}
NetworkNamespacePath=/run/netns/{netns}
StateDirectory=
RuntimeDirectory=
TemporaryFileSystem=/run
BindPaths={world}
BindPaths={wg_dir}:/run/wireguard
BindReadOnlyPaths={build}
Environment=DBUS_SYSTEM_BUS_ADDRESS={bus}
'''


class CelldUnit:
    """pic-celld started by the real manager through its shipped unit, bus-activated via SystemdService=."""

    UNIT = 'pic-celld.service'

    def __init__(self, bus, netns, world=None, extra_args=()):
        self.world = h._world(world)
        self.bus, self.netns = bus, netns
        self.state_dir = self.world.subdir('unit-state', 0o700)
        self.wg_dir = self.world.subdir('unit-wireguard')
        self.ifname = self.world.unique('picwg')
        self.uapi_socket = os.path.join(self.wg_dir, self.ifname + '.sock')
        units = os.path.join(bus.runtime_dir, 'systemd', 'user')
        shutil.copy(os.path.join(h.build_dir(), 'systemd', self.UNIT), units)
        # the [Install] Alias= that `systemctl enable` would create
        os.symlink(self.UNIT, os.path.join(units, 'dbus-org.pic.Cell1.service'))
        os.makedirs(os.path.join(units, self.UNIT + '.d'))
        argv = [h.celld_binary(), '--state-dir=' + self.state_dir, '--interface=' + self.ifname,
                '--dns-dir=%s-dns' % self.state_dir, '--resolv-conf=%s-resolv.conf' % self.state_dir,
                '--netns-name=' + netns.name] + [str(a) for a in extra_args]
        with open(os.path.join(units, self.UNIT + '.d', 'dev-world.conf'), 'w') as f:
            f.write(DEV_DROP_IN.format(argv=' '.join(argv), netns=netns.name, world=self.world.path,
                                       wg_dir=self.wg_dir, bus=bus.address, build=h.build_dir()))
        shutil.copy(os.path.join(h.build_dir(), 'dbus', 'org.pic.Cell1.service'), bus.services_dir)
        bus.reload()
        bus.systemctl('daemon-reload')

    def start(self, timeout=30):
        try:
            self.bus.activate(h.CELL_BUS_NAME, timeout=timeout)
        except dbus.DBusException:
            print(self.bus.systemctl('status', '--no-pager', self.UNIT, check=False).stdout, file=sys.stderr)
            raise
        return self.pid()

    def pid(self):
        return self.bus.unit_main_pid(self.UNIT)

    def manager(self):
        return dbus.Interface(self.bus.connection().get_object(h.CELL_BUS_NAME, h.CELL_PATH), 'org.pic.Cell1.Manager')

    def interface(self, iface, path):
        return dbus.Interface(self.bus.connection().get_object(h.CELL_BUS_NAME, path), iface)
