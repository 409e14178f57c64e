#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration-test fixtures, part 1: where things are, small helpers, processes
and the TempWorld that owns everything a test starts (harness.py re-exports it)."""

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
HOST_WG_RUN_DIR = '/run/wireguard'
PYTHON = '/usr/bin/python3'


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

def process_name(pid):
    """/proc/PID/comm, or None once the process is gone."""
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


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


def _parent_pid(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            data = f.read()
        return int(data[data.rindex(')') + 2:].split()[1])
    except (OSError, ValueError):
        return None


def descendants(pid):
    """PIDs of pid's children, their children and so on (e.g. sshd's per-connection processes)."""
    parents = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            parents.setdefault(_parent_pid(int(entry)), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _ancestors():
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        pid = _parent_pid(pid)
        if pid is None:
            break
    return pids

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

    def stop_tree(self, timeout=5):
        """Stop the process and everything it started (recorded before the first signal)."""
        below = descendants(self.pid) if self.alive() else []
        self.stop(timeout)
        _stop_pids(below, timeout)

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

    SANITIZER_MARKS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', ': runtime error: ')

    def _log_files(self):
        for d, subdirs, _ in sorted(os.walk(self.path)):
            if 'logs' in subdirs:
                logs = os.path.join(d, 'logs')
                for name in sorted(os.listdir(logs)):
                    if os.path.isfile(os.path.join(logs, name)):
                        yield os.path.join(logs, name)

    def sanitizer_reports(self):
        """Lines of ASan/LSan/UBSan reports in the world's logs (a build made with
        `tools/dev test --sanitize`): each as "log: line"."""
        found = []
        for path in self._log_files():
            with open(path, errors='replace') as f:
                found += ['%s: %s' % (os.path.relpath(path, self.path), line.rstrip())
                          for line in f if any(m in line for m in self.SANITIZER_MARKS)]
        return found

    def dump_logs(self, tail=80, out=sys.stderr):
        """The last lines of every log of the world: its logs/ and every logs/ below it
        (a tools/dev demo made inside the world keeps its units' logs in its own)."""
        for path in self._log_files():
            with open(path, errors='replace') as f:
                lines = f.readlines()
            if not lines:
                continue
            print('----- %s (last %d lines) -----' % (os.path.relpath(path, self.path), tail), file=out)
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
