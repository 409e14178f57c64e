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

import hashlib
import os
import shutil
import stat
import sys

import dbus

import harness as h
from gateway_client import GatewayEndpoint, free_port, gatewayd_binary

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


def exec_line(argv):
    """argv as one ExecStart= value: each word double-quoted, systemd's specifiers and
    variables escaped, so no word is split or expanded."""
    def word(a):
        a = str(a)
        if '\n' in a:
            raise ValueError('an ExecStart= word cannot carry a newline')
        return '"%s"' % a.replace('\\', '\\\\').replace('"', '\\"').replace('%', '%%').replace('$', '$$')
    return ' '.join(word(a) for a in argv)


def write_manager_dirs(runtime_dir, fake_run, bus_config, logs_dir, socket_path=None, log_prefix=''):
    """The files a user-instance manager needs to run the bus: $XDG_RUNTIME_DIR/systemd/user
    with dbus.socket/dbus.service, and the directory bound over /run/systemd. The bus listens
    on $XDG_RUNTIME_DIR/bus (where the manager itself connects; only root can reach it, the
    runtime directory is 0700) and, when given, on socket_path for everyone. Units log to
    logs_dir/unit-<log_prefix><unit>.log (a prefix per manager when a world has several).
    Returns the units directory."""
    units = os.path.join(runtime_dir, 'systemd', 'user')
    os.makedirs(units, exist_ok=True)
    os.makedirs(os.path.join(fake_run, 'system'), exist_ok=True)
    if not os.path.exists(os.path.join(fake_run, 'inaccessible')):
        _make_inaccessible_nodes(os.path.join(fake_run, 'inaccessible'))
    # No journal here: every service's output goes to the world's logs.
    os.makedirs(os.path.join(units, 'service.d'), exist_ok=True)
    with open(os.path.join(units, 'service.d', '50-world-logs.conf'), 'w') as f:
        f.write('[Service]\nStandardOutput=append:%s\nStandardError=inherit\n'
                % os.path.join(logs_dir, 'unit-%s%%n.log' % log_prefix))
    with open(os.path.join(units, 'dbus.socket'), 'w') as f:
        f.write('[Socket]\nListenStream=%t/bus\n' + ('ListenStream=%s\nSocketMode=0666\n' % socket_path
                                                      if socket_path else ''))
    with open(os.path.join(units, 'dbus.service'), 'w') as f:
        f.write('[Service]\nExecStart=%s\n' % exec_line(
                ['/usr/bin/dbus-daemon', '--config-file=' + bus_config, '--nofork', '--nopidfile',
                 '--systemd-activation']))
    return units


def manager_argv(fake_run, cgroups=()):
    """systemd --user in a slave mount namespace with fake_run bound over /run/systemd, first
    moved into cgroups (own_cgroups()): a manager takes the cgroup it starts in as its root."""
    move = ''.join('echo $$ > "%s/cgroup.procs" && ' % d for d in cgroups)
    return ['unshare', '--mount', '--propagation', 'slave', 'sh', '-c',
            move + 'mount --bind "$1" /run/systemd && exec "$2" --user', 'sh', fake_run, SYSTEMD]


def _cgroup_mounts():
    """{hierarchy key: mount point}: "" for cgroup2, "name=systemd" for the v1 systemd hierarchy."""
    mounts = {}
    with open('/proc/self/mounts') as f:
        for line in f:
            dev, point, fstype, options = line.split()[:4]
            if fstype == 'cgroup2':
                mounts.setdefault('', point)
            elif fstype == 'cgroup' and 'name=systemd' in options.split(','):
                mounts['name=systemd'] = point
    return mounts


def own_cgroups(world, name):
    """make_cgroups() for a manager of the world, removed with it."""
    dirs = make_cgroups('%s-%s' % (os.path.basename(world.path), name))
    world.add_cleanup(remove_cgroups, dirs)
    return dirs


def make_cgroups(name):
    """A cgroup of its own, below this process's, in each hierarchy systemd tracks units in;
    several managers started from one cgroup would otherwise share their units' cgroups: each
    sees the others' processes in its units, and stopping a unit with KillMode=control-group
    (the gateway's) kills the other managers' process of that unit too. Returns the
    directories (none where cgroups cannot be made here)."""
    mounts = _cgroup_mounts()
    dirs = []
    with open('/proc/self/cgroup') as f:
        for line in f:
            _, controllers, path = line.rstrip('\n').split(':', 2)
            if controllers in mounts:
                d = os.path.join(mounts.pop(controllers), path.lstrip('/'), name)
                try:
                    os.makedirs(d, exist_ok=True)
                except OSError:
                    continue
                dirs.append(d)
    return dirs


def remove_cgroups(dirs):
    """What is still in them is the world's (its manager's units): stopped, then the cgroups
    removed depth first."""
    pids = set()
    for top in dirs:
        for d, _, files in os.walk(top):
            if 'cgroup.procs' in files:
                with open(os.path.join(d, 'cgroup.procs')) as f:
                    pids.update(int(p) for p in f.read().split())
    h._stop_pids(sorted(pids))
    for top in dirs:
        for d, _, _ in sorted(os.walk(top), key=lambda t: -t[0].count('/')):
            try:
                os.rmdir(d)
            except OSError:
                pass


def use_manager_for_bus(bus_dir):
    """Rewrites bus_dir's bus.conf to take its socket from systemd (dbus.socket) and lets
    systemd's own name on it. Returns the config's path."""
    config = os.path.join(bus_dir, 'bus.conf')
    with open(config) as f:
        text = f.read()
    start = text.index('<listen>')
    end = text.index('</listen>') + len('</listen>')
    with open(config, 'w') as f:
        f.write(text[:start] + '<listen>systemd:</listen>' + text[end:])
    shutil.copy(SYSTEMD_POLICY, os.path.join(bus_dir, 'system.d'))
    return config


class SystemdBus(h.PrivateBus):
    """PrivateBus's interface, but the bus is run by a real systemd manager (self.systemctl(...) talks to it)."""

    def __init__(self, dir=None, world=None, source=None, runtime_name='systemd-rt', log_prefix=''):
        self.world = h._world(world)
        if not _is_mount_point('/run/netns'):
            # Made shared by the first `ip netns add`: create the test's namespaces first.
            raise RuntimeError('SystemdBus needs /run/netns mounted (create a Netns before it)')
        self.dir = dir or self.world.subdir('bus')
        self.source = source or h.source_dir()
        h.write_bus_dir(self.dir, self.source)
        self.config = use_manager_for_bus(self.dir)
        self.services_dir = os.path.join(self.dir, 'services')
        self.policy_dir = os.path.join(self.dir, 'system.d')

        self.runtime_dir = self.world.subdir(runtime_name, 0o700)
        fake_run = self.world.subdir(runtime_name.replace('-rt', '-run'))
        # where the system bus's socket is for everyone, not only root (nobody's calls in tests)
        self.socket = os.path.join(self.dir, 'system_bus_socket')
        self.units_dir = write_manager_dirs(self.runtime_dir, fake_run, self.config, self.world.subdir('logs'),
                                            self.socket, log_prefix)
        self.address = 'unix:path=%s' % self.socket
        self._conn = None

        env = dict(os.environ, XDG_RUNTIME_DIR=self.runtime_dir)
        env.pop('DBUS_SYSTEM_BUS_ADDRESS', None)
        self.proc = self.world.spawn(manager_argv(fake_run, own_cgroups(self.world, runtime_name)),
                                     name=log_prefix + 'systemd', env=env)
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
#   ExecStart=            the build's binary, with the world's state, interface and DNS
#                         directories; --netns-name because systemd, not the daemon, puts
#                         it in the namespace (RestrictNamespaces= and the bounding set
#                         forbid setns, and ProtectProc=/ProtectKernelTunables=/
#                         ProtectControlGroups= build a mount namespace in which the
#                         bind-mounted /run/netns/NAME is not visible)
#   NetworkNamespacePath= the world's cell namespace
#   StateDirectory=, RuntimeDirectory=
#                         emptied: a user manager would create them under root's home and
#                         $XDG_RUNTIME_DIR; the world's directories are passed instead
#   TemporaryFileSystem=/run, BindPaths=WG:/run/wireguard
#                         wireguard-go's sockets in the world's directory, never the host's
#                         /run/wireguard (which must not even be created)
#   BindPaths=WORLD       PrivateTmp= hides /tmp, where a test world (state, the bus socket,
#                         the manager's notify socket for the watchdog) lives
#   BindReadOnlyPaths=BUILD
#                         and where a checkout under /tmp keeps the binary
#   Environment=DBUS_SYSTEM_BUS_ADDRESS
#                         the private bus
#   StartLimitIntervalSec=0
#                         tests kill and restart the daemon far more often than the default
#                         start limit (5 starts in 10 s) allows a real system to
CELLD_DROP_IN = '''[Unit]
StartLimitIntervalSec=0
[Service]
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

# The dev world's changes to the shipped pic-gatewayd.socket and .service:
#   ListenStream=         a loopback port of the world's choosing instead of 127.0.0.1:8080
#   ExecStart=            the build's binary, serving the web UI from the source tree
#   User=, Group=         emptied: a user-instance manager starts services as its own user
#                         (root here), and a dev machine has no pic-gateway user (creating
#                         one would change the host); everything else in the sandbox holds
#   BindPaths=WORLD, BindReadOnlyPaths=BUILD, SOURCE
#                         PrivateTmp= hides /tmp (the bus socket, a checkout under /tmp)
#   Environment=DBUS_SYSTEM_BUS_ADDRESS
#                         the private bus
GATEWAY_SOCKET_DROP_IN = '''[Socket]
ListenStream=
ListenStream={listen}
'''
GATEWAY_DROP_IN = '''[Service]
ExecStart=
ExecStart={argv}
User=
Group=
BindPaths={world}
BindReadOnlyPaths={build}
BindReadOnlyPaths={source}
Environment=DBUS_SYSTEM_BUS_ADDRESS={bus}
'''

# The targets pic-celld starts and stops (installed unchanged), and the wait-online
# service, whose drop-in runs the build's picctl on the private bus.
TARGET_UNITS = ('pic-online.target', 'pic-peer@.target', 'pic-link@.target', 'pic-exit@.target')
WAIT_ONLINE_UNIT = 'pic-wait-online.service'
WAIT_ONLINE_DROP_IN = '''[Service]
ExecStart=
ExecStart={argv}
Environment=DBUS_SYSTEM_BUS_ADDRESS={bus}
'''

CELLD_UNIT = 'pic-celld.service'
GATEWAY_UNIT = 'pic-gatewayd.service'
GATEWAY_SOCKET = 'pic-gatewayd.socket'
PAIRING_SOCKET = 'pic-gatewayd-pairing.socket'
POLKITD_UNIT = 'pic-dev-polkitd.service'


def _drop_in(units, unit, text):
    d = os.path.join(units, unit + '.d')
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'dev-world.conf'), 'w') as f:
        f.write(text)


def celld_unit_argv(build, state_dir, netns, ifname, extra_args=()):
    """pic-celld's command line in the unit: no --netns or --wireguard-run-dir (the drop-in
    gives it both), DNS files and default upstreams beside the state as h.celld_argv has them."""
    base = state_dir.rstrip('/')
    return [h.celld_binary(build), '--state-dir=' + state_dir, '--interface=' + ifname, '--dns-dir=%s-dns' % base,
            '--resolv-conf=%s-resolv.conf' % base, '--netns-name=' + netns] + [str(a) for a in extra_args]


def install_celld_unit(units, services_dir, build, argv, netns, world, wg_dir, bus_address):
    """The shipped pic-celld.service and its activation file, with the dev world's drop-in,
    and the targets it sets."""
    shutil.copy(os.path.join(build, 'systemd', CELLD_UNIT), units)
    for target in TARGET_UNITS:
        shutil.copy(os.path.join(build, 'systemd', target), units)
    alias = os.path.join(units, 'dbus-org.pic.Cell1.service')
    if not os.path.lexists(alias):
        # the [Install] Alias= that `systemctl enable` would create
        os.symlink(CELLD_UNIT, alias)
    # the exits' units bind wg_dir where the daemon sees it; a proxy exit's unit runs the built helper
    argv = list(argv) + ['--exit-run-dir=' + wg_dir,
                         '--exit-proxy-helper=' + os.path.join(build, 'src', 'exit', 'pic-exit-proxy')]
    _drop_in(units, CELLD_UNIT, CELLD_DROP_IN.format(argv=exec_line(argv), netns=netns, world=world, wg_dir=wg_dir,
                                                     bus=bus_address, build=build))
    shutil.copy(os.path.join(build, 'dbus', 'org.pic.Cell1.service'), services_dir)


def install_gateway_unit(units, build, source, listen, world, bus_address, extra_args=(), pairing_listen=None,
                         pairing_netns=None):
    """The shipped pic-gatewayd.socket and .service (and pic-gatewayd-pairing.socket when
    pairing_listen is given, bound inside pairing_netns when that is given: other cells
    reach it there while the web UI stays on the host's loopback), with the dev world's drop-ins."""
    shutil.copy(os.path.join(build, 'systemd', GATEWAY_UNIT), units)
    shutil.copy(os.path.join(source, 'systemd', GATEWAY_SOCKET), units)
    _drop_in(units, GATEWAY_SOCKET, GATEWAY_SOCKET_DROP_IN.format(listen=listen))
    if pairing_listen:
        shutil.copy(os.path.join(source, 'systemd', PAIRING_SOCKET), units)
        _drop_in(units, PAIRING_SOCKET, GATEWAY_SOCKET_DROP_IN.format(listen=pairing_listen) +
                 ('NetworkNamespacePath=/run/netns/%s\n' % pairing_netns if pairing_netns else ''))
    argv = [gatewayd_binary(build), '--web-root=' + os.path.join(source, 'src', 'web')] + list(extra_args)
    _drop_in(units, GATEWAY_UNIT, GATEWAY_DROP_IN.format(argv=exec_line(argv), world=world, build=build,
                                                         source=source, bus=bus_address))


def install_wait_online_unit(units, build, bus_address, args=()):
    """The shipped pic-wait-online.service, running the build's `picctl wait-online ARGS`."""
    shutil.copy(os.path.join(build, 'systemd', WAIT_ONLINE_UNIT), units)
    argv = [h.picctl_binary(build), 'wait-online'] + [str(a) for a in args]
    _drop_in(units, WAIT_ONLINE_UNIT, WAIT_ONLINE_DROP_IN.format(argv=exec_line(argv), bus=bus_address))


def install_polkitd_unit(units, polkit_dir, bus_address):
    """The real polkitd (h.real_polkitd_argv) as a unit of the world's manager."""
    argv = h.real_polkitd_argv(os.path.join(polkit_dir, 'actions'), os.path.join(polkit_dir, 'rules'),
                               os.path.join(polkit_dir, 'share-rules'))
    with open(os.path.join(units, POLKITD_UNIT), 'w') as f:
        f.write('[Unit]\nDescription=polkitd for the dev world (project actions only)\n'
                '[Service]\nType=dbus\nBusName=%s\nExecStart=%s\nEnvironment=DBUS_SYSTEM_BUS_ADDRESS=%s\n'
                % (h.POLKIT_BUS_NAME, exec_line(argv), bus_address))


def cell_and_client(world, cell_lan, client_lan, actions):
    """What a test of the shipped units starts from: a cell's namespace and a client's, joined
    by a veth (cell_lan and client_lan, /24), and the bus run by a real manager, mock polkit
    allowing actions. Returns (bus, cell_ns, client_ns); pic-celld is not installed yet."""
    cell_ns, client_ns = h.Netns(world=world), h.Netns(world=world)
    h.veth(cell_ns, client_ns, cell_lan + '/24', client_lan + '/24', world=world)
    bus = SystemdBus(world=world)
    h.MockPolkit(bus).set_allowed(actions)
    return bus, cell_ns, client_ns


class CelldUnit:
    """pic-celld started by the real manager through its shipped unit, bus-activated via SystemdService=."""

    UNIT = CELLD_UNIT

    def __init__(self, bus, netns, world=None, extra_args=()):
        self.world = h._world(world)
        self.bus, self.netns = bus, netns
        self.state_dir = self.world.subdir('unit-state', 0o700)
        self.wg_dir = self.world.subdir('unit-wireguard')
        self.ifname = self.world.unique('picwg')
        self.uapi_socket = os.path.join(self.wg_dir, self.ifname + '.sock')
        install_celld_unit(bus.units_dir, bus.services_dir, h.build_dir(),
                           celld_unit_argv(h.build_dir(), self.state_dir, netns.name, self.ifname, extra_args),
                           netns.name, self.world.path, self.wg_dir, bus.address)
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


class GatewayUnit(GatewayEndpoint):
    """pic-gatewayd through its shipped socket unit: the manager listens, the first request starts it."""

    def __init__(self, bus, world=None, extra_args=(), pairing=False):
        self.world = h._world(world)
        self.bus = bus
        super().__init__(free_port())
        self.pairing = GatewayEndpoint(free_port()) if pairing else None
        install_gateway_unit(bus.units_dir, h.build_dir(), h.source_dir(), self.host, self.world.path, bus.address,
                             ['--log-level=debug'] + list(extra_args), self.pairing.host if pairing else None)
        bus.systemctl('daemon-reload')
        bus.systemctl('start', GATEWAY_SOCKET)
        if pairing:
            bus.systemctl('start', PAIRING_SOCKET)


# ---------------------------------------------------------------- CLI for tools/dev

def _cli(argv):
    """usage: systemd_world.py manager DEV_DIR BUS_DIR LOGS_DIR   (prints the manager's argv, NUL-separated)
       systemd_world.py remove-cgroups DEV_DIR   (after the manager stopped)
       systemd_world.py units DEV_DIR BUS_DIR BUILD SOURCE NETNS IFNAME WG_DIR LISTEN POLKIT_DIR [CELLD_ARGS...]"""
    if len(argv) == 2 and argv[0] == 'remove-cgroups':
        path = os.path.join(argv[1], 'cgroups')
        if os.path.exists(path):
            with open(path) as f:
                remove_cgroups(f.read().split())
            os.unlink(path)
        return 0
    if len(argv) < 4:
        print(_cli.__doc__, file=sys.stderr)
        return 2
    cmd, dev, bus_dir = argv[0], argv[1], argv[2]
    runtime_dir, fake_run = os.path.join(dev, 'systemd-rt'), os.path.join(dev, 'systemd-run')
    units = os.path.join(runtime_dir, 'systemd', 'user')
    bus_address = 'unix:path=' + os.path.join(runtime_dir, 'bus')
    if cmd == 'manager':
        h.write_bus_dir(bus_dir)
        config = use_manager_for_bus(bus_dir)
        write_manager_dirs(runtime_dir, fake_run, config, argv[3])
        # its own cgroups, named after the demo's directory, listed for remove-cgroups
        cgroups = make_cgroups('pic-dev-' + hashlib.sha1(os.path.realpath(dev).encode()).hexdigest()[:8])
        with open(os.path.join(dev, 'cgroups'), 'w') as f:
            f.write(''.join(d + '\n' for d in cgroups))
        print('\0'.join(manager_argv(fake_run, cgroups)), end='')
    elif cmd == 'units' and len(argv) >= 10:
        build, source, netns, ifname, wg_dir, listen, polkit_dir = argv[3:10]
        state = os.path.join(dev, 'state')
        celld = [h.celld_binary(build), '--state-dir=' + state, '--interface=' + ifname,
                 '--dns-dir=%s-dns' % state, '--resolv-conf=/etc/resolv.conf', '--netns-name=' + netns] + argv[10:]
        install_celld_unit(units, os.path.join(bus_dir, 'services'), build, celld, netns, dev, wg_dir, bus_address)
        # a cell of `tools/dev up --cells N`: its pairing socket on its LAN address, in its namespace
        lan = os.environ.get('PIC_DEV_LAN')
        install_gateway_unit(units, build, source, listen, dev, bus_address,
                             pairing_listen=lan + ':8283' if lan else None, pairing_netns=netns if lan else None)
        install_polkitd_unit(units, polkit_dir, bus_address)
    else:
        print(_cli.__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(_cli(sys.argv[1:]))
