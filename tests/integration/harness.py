#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for PIC integration tests: real processes, nothing on the host.

Everything a test starts lives in a TempWorld: a temp dir under /tmp, private
D-Bus system bus, network namespaces with unique names, wireguard-go instances
in private mount namespaces. The world's cleanup kills what it started (by
recorded PID, by network namespace, and by an environment marker that every
child inherits) and deletes its namespaces, even when a test fails.

Run with /usr/bin/python3 (needs dbus-python and, for signals, gi).
See test_harness_selftest.py for worked examples.
"""

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

WORLD_MARKER = 'PIC_IT_WORLD'
CELL_BUS_NAME = 'org.pic.Cell1'
CELL_PATH = '/org/pic/Cell1'
POLKIT_BUS_NAME = 'org.freedesktop.PolicyKit1'
POLKIT_PATH = '/org/freedesktop/PolicyKit1/Authority'
POLKIT_IFACE = 'org.freedesktop.PolicyKit1.Authority'
MOCK_IFACE = 'org.freedesktop.DBus.Mock'
HOST_WG_RUN_DIR = '/run/wireguard'
SYSTEM_BUS_TEMPLATE = '/usr/share/dbus-1/system.conf'
POLKITD = '/usr/lib/polkit-1/polkitd'
PYTHON = '/usr/bin/python3'

# wg-quick keys that `wg setconf` does not understand
WG_QUICK_KEYS = {'address', 'dns', 'mtu', 'table', 'preup', 'postup',
                 'predown', 'postdown', 'saveconfig'}


# ---------------------------------------------------------------- locations

def source_dir():
    """The repository root (PIC_SOURCE_DIR, else two levels above this file)."""
    env = os.environ.get('PIC_SOURCE_DIR')
    if env:
        return os.path.abspath(env)
    return os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def build_dir():
    """The meson build dir (PIC_BUILD_DIR, else <source>/build)."""
    env = os.environ.get('PIC_BUILD_DIR')
    if env:
        return os.path.abspath(env)
    return os.path.join(source_dir(), 'build')


def celld_binary(build=None):
    return os.path.join(build or build_dir(), 'src', 'daemon', 'pic-celld')


def picctl_binary(build=None):
    return os.path.join(build or build_dir(), 'src', 'client', 'picctl')


# ---------------------------------------------------------------- small helpers

def run(argv, check=True, timeout=60, input=None, env=None, cwd=None):
    """subprocess.run with captured text output; failures name the command and its stderr."""
    argv = [str(a) for a in argv]
    p = subprocess.run(argv, input=input, capture_output=True, text=True,
                       timeout=timeout, env=env, cwd=cwd)
    if check and p.returncode != 0:
        raise RuntimeError('command failed (%d): %s\n%s%s' % (
                p.returncode, shlex.join(argv), p.stdout, p.stderr))
    return p


def wait_for(predicate, timeout=10, interval=0.1, what=None):
    """Call predicate until it returns something truthy and return that; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except Exception as e:  # keep polling: the thing may not exist yet
            last_exc = e
        if time.monotonic() >= deadline:
            msg = 'timed out after %ss waiting for %s' % (
                    timeout, what or getattr(predicate, '__name__', 'condition'))
            if last_exc is not None:
                msg += ' (last error: %r)' % (last_exc,)
            raise TimeoutError(msg)
        time.sleep(interval)


def _proc_starttime(pid):
    """Start time of pid in clock ticks, or None if gone or a zombie."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(')') + 2:].split()
    if fields[0] in ('Z', 'X'):
        return None
    return int(fields[19])


def _proc_environ_has(pid, marker):
    try:
        with open('/proc/%d/environ' % pid, 'rb') as f:
            env = f.read().split(b'\0')
    except OSError:
        return False
    return marker.encode() in env


def _ancestors():
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open('/proc/%d/stat' % pid) as f:
                data = f.read()
            pid = int(data[data.rindex(')') + 2:].split()[1])
        except (OSError, ValueError):
            break
    return pids


def wg_genkey():
    """A fresh WireGuard key pair: (private_base64, public_base64)."""
    private = run(['wg', 'genkey']).stdout.strip()
    public = run(['wg', 'pubkey'], input=private + '\n').stdout.strip()
    return private, public


def wg_pubkey(private):
    return run(['wg', 'pubkey'], input=private + '\n').stdout.strip()


def uapi_request(sock_path, request, timeout=5):
    """Send one UAPI request ('get=1\\n\\n' or 'set=1\\n...\\n\\n') and return the raw reply text."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall(request.encode())
        data = b''
        while not re.search(rb'(^|\n)errno=-?\d+\n\n', data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.decode()


def uapi_get(sock_path):
    """Parsed UAPI get: {'errno': int, 'device': {key: value}, 'peers': [{key: value or [values]}]}.

    Keys are as on the wire (private_key/public_key in hex); allowed_ip is a list."""
    device, peers, errno = {}, [], None
    for line in uapi_request(sock_path, 'get=1\n\n').splitlines():
        if '=' not in line:
            continue
        key, value = line.split('=', 1)
        if key == 'errno':
            errno = int(value)
        elif key == 'public_key':
            peers.append({'public_key': value, 'allowed_ip': []})
        elif peers:
            if key == 'allowed_ip':
                peers[-1]['allowed_ip'].append(value)
            else:
                peers[-1][key] = value
        else:
            device[key] = value
    return {'errno': errno, 'device': device, 'peers': peers}


def uapi_set(sock_path, lines):
    """UAPI set with the given 'key=value' lines; returns the errno (0 on success)."""
    reply = uapi_request(sock_path, 'set=1\n' + ''.join(l + '\n' for l in lines) + '\n')
    m = re.search(r'errno=(-?\d+)', reply)
    return int(m.group(1)) if m else None


def key_to_hex(b64):
    import base64
    return base64.b64decode(b64).hex()


def key_from_hex(hexkey):
    import base64
    return base64.b64encode(bytes.fromhex(hexkey)).decode()


# ---------------------------------------------------------------- processes

class Proc:
    """A process we started or were told about; identified by PID + start time so a reused PID is never hit."""

    def __init__(self, pid, name, popen=None, log=None):
        self.pid = pid
        self.name = name
        self.popen = popen
        self.log = log
        self.starttime = _proc_starttime(pid)

    def alive(self):
        if self.popen is not None and self.popen.poll() is not None:
            return False
        return self.starttime is not None and _proc_starttime(self.pid) == self.starttime

    def signal(self, sig):
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def wait(self, timeout):
        try:
            wait_for(lambda: not self.alive(), timeout, 0.05, 'exit of %s' % self.name)
            return True
        except TimeoutError:
            return False

    def stop(self, timeout=5):
        """SIGTERM, then SIGKILL after timeout; reaps our own children."""
        if self.alive():
            self.signal(signal.SIGTERM)
            if not self.wait(timeout):
                self.signal(signal.SIGKILL)
                self.wait(5)
        if self.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=5)
            for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
                if stream:
                    with contextlib.suppress(OSError):
                        stream.close()

    def __repr__(self):
        return '<Proc %s pid=%d>' % (self.name, self.pid)


def _stop_pids(pids, timeout=5):
    procs = [Proc(pid, 'pid %d' % pid) for pid in pids if pid not in _ancestors()]
    for p in procs:
        p.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(p.alive() for p in procs):
        time.sleep(0.05)
    for p in procs:
        p.signal(signal.SIGKILL)
    for p in procs:
        p.wait(5)


# ---------------------------------------------------------------- the world

class TempWorld:
    """A unique temp dir plus a LIFO cleanup registry.

    Use as a context manager or call cleanup(); HarnessTestCase does it for you.
    Every process started here inherits PIC_IT_WORLD=<path>, which cleanup
    uses as a last net for processes nobody recorded (e.g. bus-activated ones)."""

    _current = None

    def __init__(self, prefix=None):
        self.prefix = prefix or 'pic-it-%d-' % os.getpid()
        self.path = tempfile.mkdtemp(prefix=self.prefix, dir='/tmp')
        # other users (polkitd, nobody) must reach the bus socket below
        os.chmod(self.path, 0o755)
        self.marker = '%s=%s' % (WORLD_MARKER, self.path)
        self._cleanups = []
        self._counter = 0
        self._saved_env = {}
        self.procs = []
        self.netns_names = []
        self.set_env(WORLD_MARKER, self.path)
        TempWorld._current = self

    @classmethod
    def current(cls):
        if cls._current is None:
            raise RuntimeError('no TempWorld: create one (or use HarnessTestCase) first')
        return cls._current

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        self.remove()
        return False

    # names --------------------------------------------------------
    def unique(self, prefix, maxlen=15):
        """A short unique name (default ≤15 chars: fits an interface name)."""
        self._counter += 1
        name = '%s%x%s' % (prefix, os.getpid(), self._counter)
        if len(name) > maxlen:
            raise ValueError('name %r longer than %d chars; use a shorter prefix' % (name, maxlen))
        return name

    def subdir(self, name, mode=0o755):
        path = os.path.join(self.path, name)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
        return path

    def log_path(self, name):
        return os.path.join(self.subdir('logs'), '%s.log' % re.sub(r'[^\w.-]', '_', name))

    # environment ---------------------------------------------------
    def set_env(self, key, value):
        """Set os.environ[key] for this world's children; restored at cleanup."""
        if key not in self._saved_env:
            self._saved_env[key] = os.environ.get(key)
        os.environ[key] = value

    # cleanup -------------------------------------------------------
    def add_cleanup(self, fn, *args, **kwargs):
        self._cleanups.append((fn, args, kwargs))

    def track(self, pid, name, popen=None, log=None):
        """Record a PID (child or not) to be stopped at cleanup; returns a Proc."""
        proc = Proc(pid, name, popen, log)
        self.procs.append(proc)
        self.add_cleanup(proc.stop)
        return proc

    def spawn(self, argv, name=None, env=None, stdin=subprocess.DEVNULL, stdout=None,
              pass_fds=(), cwd=None):
        """Start argv in the background, output to logs/<name>.log (unless stdout given)."""
        argv = [str(a) for a in argv]
        name = name or os.path.basename(argv[0])
        log = self.log_path(name)
        full_env = dict(os.environ if env is None else env)
        full_env[WORLD_MARKER] = self.path
        with open(log, 'ab') as logf:
            popen = subprocess.Popen(argv, stdin=stdin,
                                     stdout=logf if stdout is None else stdout,
                                     stderr=logf, env=full_env, pass_fds=pass_fds,
                                     cwd=cwd, start_new_session=True)
        return self.track(popen.pid, name, popen, log)

    def stray_pids(self):
        """Processes still carrying this world's marker."""
        skip = _ancestors()
        pids = []
        for entry in os.listdir('/proc'):
            if entry.isdigit() and int(entry) not in skip:
                if _proc_environ_has(int(entry), self.marker):
                    pids.append(int(entry))
        return pids

    def cleanup(self):
        """Stop everything (LIFO), then any process still carrying the marker; never raises."""
        errors = []
        while self._cleanups:
            fn, args, kwargs = self._cleanups.pop()
            try:
                fn(*args, **kwargs)
            except Exception as e:
                errors.append('%s: %r' % (getattr(fn, '__qualname__', fn), e))
        try:
            _stop_pids(self.stray_pids())
        except Exception as e:
            errors.append('stray processes: %r' % (e,))
        for name in self.netns_names:
            if netns_exists(name):
                _delete_netns(name)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}
        if TempWorld._current is self:
            TempWorld._current = None
        for e in errors:
            print('harness cleanup: %s' % e, file=sys.stderr)

    def remove(self):
        """Delete the temp dir (kept when PIC_IT_KEEP=1)."""
        if os.environ.get('PIC_IT_KEEP') == '1':
            print('harness: kept %s' % self.path, file=sys.stderr)
            return
        shutil.rmtree(self.path, ignore_errors=True)

    def dump_logs(self, tail=80, out=sys.stderr):
        logs = os.path.join(self.path, 'logs')
        if not os.path.isdir(logs):
            return
        for name in sorted(os.listdir(logs)):
            with open(os.path.join(logs, name), errors='replace') as f:
                lines = f.readlines()
            if not lines:
                continue
            print('----- %s (last %d lines) -----' % (name, tail), file=out)
            out.writelines(lines[-tail:])
        out.flush()


def _world(world):
    return world if world is not None else TempWorld.current()


# ---------------------------------------------------------------- network namespaces

def netns_exists(name):
    return os.path.exists(os.path.join('/run/netns', name))


def netns_pids(name):
    p = run(['ip', 'netns', 'pids', name], check=False)
    return [int(x) for x in p.stdout.split()]


def _delete_netns(name):
    for _ in range(3):
        pids = netns_pids(name)
        if not pids:
            break
        _stop_pids(pids)
    run(['ip', 'netns', 'del', name], check=False)


class Netns:
    """A network namespace of our own (lo up), deleted at cleanup after killing everything in it."""

    def __init__(self, name=None, world=None):
        self.world = _world(world)
        self.name = name or 'pic-it-%d-%d' % (os.getpid(), self._next())
        run(['ip', 'netns', 'add', self.name])
        self.world.netns_names.append(self.name)
        self.world.add_cleanup(self.delete)
        self.run(['ip', 'link', 'set', 'lo', 'up'])

    _n = 0

    @classmethod
    def _next(cls):
        cls._n += 1
        return cls._n

    @property
    def path(self):
        return os.path.join('/run/netns', self.name)

    def argv(self, argv):
        return ['ip', 'netns', 'exec', self.name] + [str(a) for a in argv]

    def run(self, argv, check=True, timeout=60, input=None):
        return run(self.argv(argv), check=check, timeout=timeout, input=input)

    def spawn(self, argv, name=None, **kwargs):
        return self.world.spawn(self.argv(argv), name=name or os.path.basename(str(argv[0])), **kwargs)

    def ip(self, *args, check=True):
        return run(['ip', '-n', self.name] + [str(a) for a in args], check=check)

    def pids(self):
        return netns_pids(self.name)

    def ping(self, addr, count=1, timeout=2):
        return self.run(['ping', '-n', '-q', '-c', count, '-W', timeout, addr],
                        check=False, timeout=count * timeout + 10).returncode == 0

    def delete(self):
        if netns_exists(self.name):
            _delete_netns(self.name)

    def __str__(self):
        return self.name


def _ns_name(ns):
    return ns.name if isinstance(ns, Netns) else str(ns)


def veth(ns_a, ns_b, addr_a=None, addr_b=None, names=None, world=None):
    """A veth pair between two namespaces, created inside ns_a (never on the host); returns (if_a, if_b)."""
    world = _world(world if world is not None else getattr(ns_a, 'world', None))
    a, b = _ns_name(ns_a), _ns_name(ns_b)
    if names:
        if_a, if_b = names
    else:
        if_a = world.unique('va')
        if_b = world.unique('vb')
    run(['ip', '-n', a, 'link', 'add', if_a, 'type', 'veth', 'peer', 'name', if_b])
    run(['ip', '-n', a, 'link', 'set', if_b, 'netns', b])
    for ns, ifname, addr in ((a, if_a, addr_a), (b, if_b, addr_b)):
        if addr:
            run(['ip', '-n', ns, 'addr', 'add', addr, 'dev', ifname])
        run(['ip', '-n', ns, 'link', 'set', ifname, 'up'])
    return if_a, if_b


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


def install_celld_activation(bus, build_dir, state_dir, netns, ifname, wg_run_dir, extra_args=()):
    """Make org.pic.Cell1 bus-activatable on `bus`, running BUILD/src/daemon/pic-celld; returns the file path."""
    return bus.install_service(CELL_BUS_NAME, celld_argv(build_dir, state_dir, netns, ifname,
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

    def __init__(self, bus, source=None, policy_files=None, rules_files=(), world=None):
        self.world = _world(world if world is not None else bus.world)
        self.bus = bus
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

    def stop(self):
        self.proc.stop()
        with contextlib.suppress(TimeoutError):
            self.bus.wait_for_no_owner(POLKIT_BUS_NAME, 5)


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


# ---------------------------------------------------------------- wireguard-go clients

def parse_wg_quick(text):
    """wg-quick config → (interface_dict, [peer_dict], setconf_text).

    The dicts map lowercase keys to values; setconf_text is what `wg setconf` accepts."""
    iface, peers, out = {}, [], []
    section = None
    for raw in text.splitlines():
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        if line.startswith('['):
            section = line.strip('[]').strip().lower()
            if section == 'peer':
                peers.append({})
            out.append(line)
            continue
        if '=' not in line:
            raise ValueError('bad config line: %r' % raw)
        key, value = (s.strip() for s in line.split('=', 1))
        lkey = key.lower()
        if section == 'interface':
            if lkey in iface and lkey in ('address', 'dns'):
                iface[lkey] += ',' + value
            else:
                iface[lkey] = value
            if lkey in WG_QUICK_KEYS:
                continue
        elif section == 'peer':
            if lkey in peers[-1] and lkey == 'allowedips':
                peers[-1][lkey] += ',' + value
            else:
                peers[-1][lkey] = value
        out.append('%s = %s' % (key, value))
    return iface, peers, '\n'.join(out) + '\n'


def _split_list(value):
    return [v.strip() for v in (value or '').split(',') if v.strip()]


_HOLDER_SCRIPT = ('set -e; '
                  'if [ ! -d /run/wireguard ]; then '
                  # no mount point on the host and we must not create one there: a tmpfs /run of our own
                  'mount -t tmpfs -o mode=0755 pic-it-run /run; mkdir -m 0755 /run/wireguard; fi; '
                  'mount --bind "$1" /run/wireguard; echo ready; exec sleep infinity')


class WgClient:
    """A wireguard-go interface in `netns` brought up like wg-quick, in a private mount namespace.

    The UAPI socket lands in <world>/wg-<ifname>/run/<ifname>.sock (self.uapi_socket),
    never in the host's /run/wireguard. Address/DNS/MTU/Table/Pre*/Post* are
    handled (DNS only recorded) and stripped before `wg setconf`."""

    def __init__(self, netns, ifname, config_text, world=None, log_level='error'):
        self.world = _world(world if world is not None else getattr(netns, 'world', None))
        self.netns = _ns_name(netns)
        self.ifname = ifname
        self.dir = self.world.subdir('wg-%s' % ifname)
        self.run_dir = os.path.join(self.dir, 'run')
        os.makedirs(self.run_dir, exist_ok=True)
        os.chmod(self.run_dir, 0o755)
        self.uapi_socket = os.path.join(self.run_dir, ifname + '.sock')
        self.interface, self.peers, setconf = parse_wg_quick(config_text)
        self.addresses = _split_list(self.interface.get('address'))
        self.dns = _split_list(self.interface.get('dns'))
        pk = self.interface.get('privatekey')
        self.private_key = pk
        self.public_key = wg_pubkey(pk) if pk else None

        # a process holding the mount namespace, so we can re-enter it with nsenter -t
        with open(self.world.log_path('holder-' + ifname), 'ab') as log:
            holder = subprocess.Popen(['nsenter', '--net=/run/netns/%s' % self.netns, 'unshare', '--mount',
                                       '--propagation', 'private', 'sh', '-c', _HOLDER_SCRIPT, 'holder',
                                       self.run_dir],
                                      stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True,
                                      start_new_session=True,
                                      env=dict(os.environ, **{WORLD_MARKER: self.world.path}))
        self.holder = self.world.track(holder.pid, 'holder-' + ifname, holder)
        ready, _, _ = select.select([holder.stdout], [], [], 10)
        if not ready or holder.stdout.readline().strip() != 'ready':
            self.world.dump_logs()
            raise RuntimeError('could not set up the mount namespace for %s' % ifname)

        env = dict(os.environ)
        env['LOG_LEVEL'] = log_level
        self.wg_proc = self.world.spawn(self.enter_argv(['wireguard-go', '-f', ifname]),
                                        name='wireguard-go-' + ifname, env=env)
        try:
            wait_for(lambda: os.path.exists(self.uapi_socket), 10, 0.05, 'UAPI socket %s' % self.uapi_socket)
        except TimeoutError:
            self.world.dump_logs()
            raise

        conf = os.path.join(self.dir, ifname + '.conf')
        with open(os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'w') as f:
            f.write(setconf)
        self.run(['wg', 'setconf', ifname, conf])
        for addr in self.addresses:
            self.run(['ip', '-6' if ':' in addr else '-4', 'address', 'add', addr, 'dev', ifname])
        if 'mtu' in self.interface:
            self.run(['ip', 'link', 'set', 'mtu', self.interface['mtu'], 'up', 'dev', ifname])
        self.run(['ip', 'link', 'set', ifname, 'up'])
        self._add_routes()

    def _add_routes(self):
        table = self.interface.get('table', 'auto').lower()
        if table == 'off':
            return
        routes = sorted({ip for p in self.peers for ip in _split_list(p.get('allowedips'))},
                        key=lambda c: -int(c.split('/')[1]) if '/' in c else 0)
        for cidr in routes:
            family = '-6' if ':' in cidr else '-4'
            if cidr.endswith('/0') and table == 'auto':
                # wg-quick's default route: own table + fwmark so the tunnel's own packets avoid it
                t = '51820'
                self.run(['wg', 'set', self.ifname, 'fwmark', t])
                self.run(['ip', family, 'route', 'add', cidr, 'dev', self.ifname, 'table', t])
                self.run(['ip', family, 'rule', 'add', 'not', 'fwmark', t, 'table', t])
                self.run(['ip', family, 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0'])
            else:
                extra = [] if table == 'auto' else ['table', table]
                self.run(['ip', family, 'route', 'replace', cidr, 'dev', self.ifname] + extra)

    def enter_argv(self, argv):
        """argv run inside this client's network + mount namespace."""
        return ['nsenter', '--target=%d' % self.holder.pid, '--mount', '--net'] + [str(a) for a in argv]

    def run(self, argv, check=True, timeout=60, input=None):
        return run(self.enter_argv(argv), check=check, timeout=timeout, input=input)

    def wg(self, *args):
        return self.run(['wg'] + [str(a) for a in args]).stdout

    def uapi(self):
        return uapi_get(self.uapi_socket)

    def latest_handshake(self, peer_public_key=None):
        """Unix time of the latest handshake (with that peer, else any); 0 if none."""
        best = 0
        for line in self.wg('show', self.ifname, 'latest-handshakes').splitlines():
            key, _, ts = line.partition('\t')
            if peer_public_key in (None, key):
                best = max(best, int(ts or 0))
        return best

    def ping(self, addr, count=1, timeout=2):
        return self.run(['ping', '-n', '-q', '-c', count, '-W', timeout, addr], check=False,
                        timeout=count * timeout + 10).returncode == 0

    def stop(self):
        # wireguard-go removes its interface and socket on SIGTERM
        self.wg_proc.stop()
        self.holder.stop()


def wg_quick_config(private_key, addresses, listen_port=None, peers=(), dns=None):
    """Build a wg-quick config.

    peers: dicts with public_key, allowed_ips (list or str), endpoint, keepalive, preshared_key."""
    lines = ['[Interface]', 'PrivateKey = %s' % private_key,
             'Address = %s' % (', '.join(addresses) if not isinstance(addresses, str) else addresses)]
    if listen_port:
        lines.append('ListenPort = %d' % listen_port)
    if dns:
        lines.append('DNS = %s' % dns)
    for p in peers:
        lines += ['', '[Peer]', 'PublicKey = %s' % p['public_key']]
        allowed = p.get('allowed_ips')
        if allowed:
            lines.append('AllowedIPs = %s' % (allowed if isinstance(allowed, str) else ', '.join(allowed)))
        if p.get('endpoint'):
            lines.append('Endpoint = %s' % p['endpoint'])
        if p.get('keepalive'):
            lines.append('PersistentKeepalive = %d' % p['keepalive'])
        if p.get('preshared_key'):
            lines.append('PresharedKey = %s' % p['preshared_key'])
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------- the whole cell

class Cell:
    """pic-celld wired up for a test: private bus, polkit (mock/real/None), its own netns, state dir.

    Nothing starts until .start() (bus activation). Attributes: bus, polkit,
    netns, state_dir, wg_run_dir, ifname, uapi_socket, build."""

    def __init__(self, world=None, polkit='mock', ifname=None, extra_args=(), bus=None, netns=None,
                 build=None, source=None, name='cell'):
        self.world = _world(world)
        self.build = build or build_dir()
        self.source = source or source_dir()
        self.bus = bus or PrivateBus(world=self.world, source=self.source)
        if polkit == 'mock':
            self.polkit = MockPolkit(self.bus)
        elif polkit == 'real':
            self.polkit = RealPolkit(self.bus, source=self.source)
        else:
            self.polkit = None
        self.netns = netns or Netns(world=self.world)
        self.ifname = ifname or self.world.unique('picwg')
        self.state_dir = self.world.subdir('%s-state' % name, 0o700)
        self.wg_run_dir = self.world.subdir('%s-wireguard' % name)
        self.uapi_socket = os.path.join(self.wg_run_dir, self.ifname + '.sock')
        self.extra_args = list(extra_args)
        self.install()

    def install(self, extra_args=None):
        if extra_args is not None:
            self.extra_args = list(extra_args)
        if not os.access(celld_binary(self.build), os.X_OK):
            raise unittest.SkipTest('pic-celld not built at %s' % celld_binary(self.build))
        install_celld_activation(self.bus, self.build, self.state_dir, self.netns, self.ifname,
                                 self.wg_run_dir, self.extra_args)

    def start(self, timeout=30):
        """Bus-activate pic-celld; returns its PID (also tracked for cleanup)."""
        try:
            self.bus.activate(CELL_BUS_NAME, timeout=timeout)
        except dbus.DBusException:
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
            if len(result.failures) + len(result.errors) > before:
                world.dump_logs()
            world.remove()
            self.world = None
        return result


def main():
    """unittest.main that exits 77 (meson's 'skipped') when every test was skipped."""
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    if not r.wasSuccessful():
        sys.exit(1)
    if r.testsRun and len(r.skipped) == r.testsRun:
        sys.exit(77)
    sys.exit(0)


# ---------------------------------------------------------------- CLI for tools/dev

def _cli(argv):
    """usage: harness.py bus-dir DIR
       harness.py polkit-dirs DIR [POLICY...]
       harness.py polkitd-argv DIR
       harness.py activation BUS_DIR BUILD STATE NETNS IFNAME WGDIR [ARGS...]"""
    if not argv:
        print(_cli.__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == 'bus-dir':
        print(write_bus_dir(args[0]))
    elif cmd == 'polkit-dirs':
        policies = args[1:] or project_policy_files()
        print('\n'.join(write_polkit_dirs(args[0], policies)))
    elif cmd == 'polkitd-argv':
        d = args[0]
        print('\0'.join(real_polkitd_argv(os.path.join(d, 'actions'), os.path.join(d, 'rules'),
                                          os.path.join(d, 'share-rules'))), end='')
    elif cmd == 'activation':
        bus_dir, build, state, ns, ifname, wgdir = args[:6]
        path = os.path.join(bus_dir, 'services', CELL_BUS_NAME + '.service')
        with open(path, 'w') as f:
            f.write(activation_file_text(CELL_BUS_NAME, celld_argv(build, state, ns, ifname, wgdir, args[6:])))
        print(path)
    else:
        print(_cli.__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(_cli(sys.argv[1:]))
