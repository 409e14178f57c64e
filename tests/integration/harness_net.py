#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration-test fixtures, part 2: network namespaces, veth pairs, WireGuard
keys and UAPI, and wireguard-go clients brought up like wg-quick."""

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
from harness_world import _delete_netns, _stop_pids, _world  # noqa: E402,F401

# wg-quick keys that `wg setconf` does not understand
WG_QUICK_KEYS = {'address', 'dns', 'mtu', 'table', 'preup', 'postup',
                 'predown', 'postdown', 'saveconfig'}


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

    def set_allowed_ips(self, config_text):
        """What re-importing a changed configuration does to its peers: their AllowedIPs, and the routes."""
        _, self.peers, _ = parse_wg_quick(config_text)
        for p in self.peers:
            self.run(['wg', 'set', self.ifname, 'peer', p['publickey'], 'allowed-ips',
                      ','.join(_split_list(p.get('allowedips')))])
        self._add_routes()

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
