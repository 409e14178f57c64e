# SPDX-License-Identifier: LGPL-2.1-or-later
"""A world for exits (test_exits.py, tests/bench/bench_exits.py):

    peer ns ──veth 10.236.n.0/24── cell ns ──uplink 198.18.1.0/24── upstream ns
    (WireGuard client,              (pic-celld, its exits          (exit servers on
     full tunnel)                    pic-xN in units)               198.18.1.254:PORT, "the
                                                                    internet" 198.18.9.9:8000
                                                                    echoing who connects)

Each exit server (ExitServer) is a wireguard-go in the upstream namespace with
10.6x.0.1/24 and a dnsmasq on that address that knows exit.example. Leaks are
counted in the cell's own namespace: a test table's counter, before the
masquerade, on packets from the peer's address leaving by the uplink."""

import json
import os
import subprocess
import sys

import dbus
import harness as h

ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets',
           'org.pic.cell1.manage-exits']
EXIT_IFACE = 'org.pic.Cell1.Exit'
PEER_IFACE = 'org.pic.Cell1.Peer'
UPLINK_CELL, UPLINK_UP = '198.18.1.1', '198.18.1.254'
INTERNET = '198.18.9.9'
INTERNET_PORT = 8000

# "the internet": answers each connection with the address it came from
ECHO_SERVER = r'''
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(256)
while True:
    c, a = s.accept()
    try: c.sendall(a[0].encode())
    except OSError: pass
    c.close()
'''
PROBE = r'''
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    print(s.recv(64).decode())
except OSError as e:
    print('error: %s' % e)
'''


def exit_config(private_key, server_public, port, address='10.64.0.2/32', dns='10.64.0.1', extra=''):
    """The wg-quick file a provider would hand out for an exit to the server at UPLINK_UP:port."""
    return ('[Interface]\nPrivateKey = %s\nAddress = %s\n%s%s[Peer]\nPublicKey = %s\nEndpoint = %s:%d\n'
            'AllowedIPs = 0.0.0.0/0, ::/0\n' % (private_key, address, 'DNS = %s\n' % dns if dns else '', extra,
                                                server_public, UPLINK_UP, port))


class ExitServer:
    """Keys for one exit and its server; start() brings the server up in the upstream namespace."""

    def __init__(self, world, number, port):
        self.world, self.port = world, port
        self.net = '10.%d.0' % (63 + number)           # 10.64.0, 10.65.0, …
        self.client_address = self.net + '.2'
        self.exit_private, self.exit_public = h.wg_genkey()
        self.server_private, self.server_public = h.wg_genkey()
        self.client = None

    def config(self, **kwargs):
        kwargs.setdefault('address', self.client_address + '/32')
        kwargs.setdefault('dns', self.net + '.1')
        return exit_config(self.exit_private, self.server_public, self.port, **kwargs)

    def start(self, up):
        cfg = ('[Interface]\nPrivateKey = %s\nListenPort = %d\nAddress = %s.1/24\n[Peer]\nPublicKey = %s\n'
               'AllowedIPs = %s/32\n' % (self.server_private, self.port, self.net, self.exit_public,
                                         self.client_address))
        self.client = h.WgClient(up, self.world.unique('wgs'), cfg, world=self.world)
        up.spawn(['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--pid-file=',
                  '--listen-address=%s.1' % self.net, '--bind-interfaces', '--log-queries', '--log-facility=-',
                  '--address=/exit.example/198.18.9.99'], name='exit-dnsmasq-%s' % self.net)


class SshServer:
    """An sshd in the upstream namespace on UPLINK_UP:port for sshuttle exits: its host key and a
    client key (no passphrase) made at test time; root may log in with that key only."""

    def __init__(self, world, port=2222):
        self.world, self.port = world, port
        self.dir = world.subdir('sshd-%d' % port)
        for name in ('host', 'client'):
            subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', name, '-f',
                            os.path.join(self.dir, name)], check=True)
        self.host_key = self._read('host.pub').strip()
        self.client_key = self._read('client')
        with open(os.path.join(self.dir, 'authorized_keys'), 'w') as f:
            f.write(self._read('client.pub'))
        self.config = os.path.join(self.dir, 'sshd_config')
        with open(self.config, 'w') as f:
            f.write('Port %d\nListenAddress %s\nHostKey %s\nAuthorizedKeysFile %s\nPidFile %s\n'
                    'PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n'
                    'UsePAM no\nStrictModes no\nLogLevel VERBOSE\n'
                    % (port, UPLINK_UP, os.path.join(self.dir, 'host'), os.path.join(self.dir, 'authorized_keys'),
                       os.path.join(self.dir, 'sshd.pid')))
        self.process = None

    def _read(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return f.read()

    def encrypted_client_key(self):
        path = os.path.join(self.dir, 'locked')
        if not os.path.exists(path):
            subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', 'a passphrase', '-f', path], check=True)
        return self._read('locked')

    def start(self, up):
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        self.process = up.spawn(['/usr/sbin/sshd', '-D', '-e', '-f', self.config], name='sshd')
        h.wait_for(lambda: up.run(['ss', '-Htln', 'sport = :%d' % self.port]).stdout.strip() != '', 10, 0.05,
                   'sshd listens')
        return self.process

    def stop(self):
        """The server gone: its listener and every session it forked (they outlive the listener)."""
        self.process.stop_tree()


class ExitWorld:
    def __init__(self, world, stats_interval='0.5'):
        self.world = w = world
        n = os.getpid() % 200
        self.cell = h.Cell(world=w, extra_args=['--stats-interval=' + stats_interval, '--exit-ifname-prefix=pic-x'])
        self.cell.polkit.set_allowed(ACTIONS)
        self.up = h.Netns(world=w)
        self.peer_ns = h.Netns(world=w)
        self.uplink, _ = h.veth(self.cell.netns, self.up, UPLINK_CELL + '/24', UPLINK_UP + '/24', world=w)
        self.cell.netns.ip('route', 'add', 'default', 'via', UPLINK_UP)
        self.cell.netns.run(['sysctl', '-qw', 'net.ipv4.ip_forward=1'])  # what pic.sysctl sets
        self.lan_cell, self.lan_peer = '10.236.%d.1' % n, '10.236.%d.2' % n
        h.veth(self.cell.netns, self.peer_ns, self.lan_cell + '/24', self.lan_peer + '/24', world=w)
        self.up.ip('addr', 'add', INTERNET + '/32', 'dev', 'lo')
        self.up.ip('link', 'set', 'lo', 'up')
        self.up.spawn([sys.executable, '-c', ECHO_SERVER, INTERNET, str(INTERNET_PORT)], name='internet-echo')

        self.cell.start()
        self.vpn_ip = '10.237.%d.1' % n
        self.cell.manager().Setup(dbus.Dictionary({
                'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': self.vpn_ip + '/24',
                'ListenPort': dbus.UInt16(51820), 'Endpoint': '%s:51820' % self.lan_cell}, signature='sv'))
        h.wait_for(lambda: self.cell.netns.ip('link', 'show', self.cell.ifname, check=False).returncode == 0, 15)
        self.peer_path = self.cell.manager().AddPeer('laptop', dbus.Dictionary({}, signature='sv'))
        self.peer_address = str(self.cell.properties(PEER_IFACE, self.peer_path)['Address'])
        self.counter_table = w.unique('pictest')
        self.cell.netns.run(['nft', '-f', '-'], input=(
            'table inet %s {\n chain out { type filter hook postrouting priority 99;\n'
            '  oifname "%s" ip saddr %s counter\n }\n}\n' % (self.counter_table, self.uplink, self.peer_address)))
        self.client = None

    def add_exit(self, name, config, **settings):
        settings = dict(settings, Config=config)
        return self.cell.manager().AddExit(name, 'wireguard', dbus.Dictionary(settings, signature='sv'))

    def exit_obj(self, name):
        return self.cell.interface(EXIT_IFACE, '/org/pic/Cell1/exit/' + name)

    def exit_prop(self, prop, name):
        return self.cell.properties(EXIT_IFACE, '/org/pic/Cell1/exit/' + name)[prop]

    def wait_state(self, want, name, timeout=20):
        h.wait_for(lambda: str(self.exit_prop('State', name)) == want, timeout, 0.05,
                   'exit %s %s (is %s, %s)' % (name, want, self.exit_prop('State', name),
                                               self.exit_prop('LastError', name)))

    def peer(self):
        return self.cell.interface(PEER_IFACE, self.peer_path)

    def set_peer_exit(self, name):
        self.peer().Update(dbus.Dictionary({'Exit': name}, signature='sv'))

    def connect_client(self):
        """The peer's device, with the full-tunnel configuration the cell hands out."""
        self.client = h.WgClient(self.peer_ns, self.world.unique('wgc'), str(self.peer().GetConfig()),
                                 world=self.world)
        h.wait_for(lambda: self.client.latest_handshake() > 0, 15, 0.1, 'the peer handshakes with the cell')

    def probe(self, timeout=2):
        """Who "the internet" sees the peer's connection come from ('error: …' when it does not arrive)."""
        return self.peer_ns.run([sys.executable, '-c', PROBE, INTERNET, str(INTERNET_PORT), str(timeout)],
                                check=False).stdout.strip()

    def leaked(self):
        """Packets from the peer's address that left by the uplink (the test table's counter)."""
        out = self.cell.netns.run(['nft', '-j', 'list', 'chain', 'inet', self.counter_table, 'out']).stdout
        for item in json.loads(out)['nftables']:
            for expr in item.get('rule', {}).get('expr', []):
                if 'counter' in expr:
                    return expr['counter']['packets']
        raise AssertionError('no counter in %s' % out)

    def unit_main_pid(self, unit):
        out = self.cell.bus.systemctl('show', '-p', 'MainPID', '--value', unit, check=False).stdout.strip()
        return int(out or 0)

    def wait_unit_state(self, unit, want, timeout=5):
        """A unit of the cell's manager reaches ActiveState want (a pic-exit@NAME.target, say)."""
        h.wait_for(lambda: self.cell.bus.unit_property(unit, 'ActiveState') == want, timeout, 0.1,
                   '%s %s' % (unit, want))

    def flood(self):
        """Packets to the internet from the peer while something happens: a ping every 10 ms."""
        return self.peer_ns.spawn(['ping', '-q', '-i', '0.01', '-W', '1', INTERNET], name='flood',
                                  stdout=subprocess.DEVNULL)


class OpenVpnServer:
    """An OpenVPN server in the upstream namespace on UPLINK_UP:port (UDP), its CA and the client's
    certificate made now with openssl; client_config() is the .ovpn a provider would hand out."""

    NET = '10.8.0'

    def __init__(self, world, port=1194):
        self.world, self.port = world, port
        self.dir = world.subdir('openvpn-%d' % port, 0o700)
        self.proc = None
        for name, usage in (('ca', None), ('server', 'serverAuth'), ('client', 'clientAuth')):
            self._certificate(name, usage)

    def _path(self, name):
        return os.path.join(self.dir, name)

    def _certificate(self, name, usage):
        key, crt = self._path(name + '.key'), self._path(name + '.crt')
        ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key]
        if usage is None:
            h.run(['openssl', 'req', '-x509'] + ec + ['-out', crt, '-days', '2', '-subj', '/CN=pic-test-ca'])
            return
        csr, ext = self._path(name + '.csr'), self._path(name + '.ext')
        with open(ext, 'w') as f:
            f.write('extendedKeyUsage=%s\nkeyUsage=digitalSignature,keyAgreement\n' % usage)
        h.run(['openssl', 'req'] + ec + ['-out', csr, '-subj', '/CN=pic-test-' + name])
        h.run(['openssl', 'x509', '-req', '-in', csr, '-CA', self._path('ca.crt'), '-CAkey', self._path('ca.key'),
               '-CAcreateserial', '-out', crt, '-days', '2', '-extfile', ext])

    def start(self, up):
        self.proc = up.spawn(['openvpn', '--dev', self.world.unique('ovs'), '--dev-type', 'tun', '--proto', 'udp',
                              '--port', str(self.port), '--server', self.NET + '.0', '255.255.255.0',
                              '--topology', 'subnet', '--ca', self._path('ca.crt'), '--cert', self._path('server.crt'),
                              '--key', self._path('server.key'), '--dh', 'none', '--keepalive', '2', '10',
                              '--verb', '3'], name='openvpn-server-%d' % self.port)

    def client_config(self, extra=''):
        def block(name, path):
            with open(self._path(path)) as f:
                return '<%s>\n%s</%s>\n' % (name, f.read(), name)
        return ('client\ndev tun\nproto udp\nremote %s %d\nnobind\npersist-key\nremote-cert-tls server\n'
                'verb 3\n%s' % (UPLINK_UP, self.port, extra) +
                block('ca', 'ca.crt') + block('cert', 'client.crt') + block('key', 'client.key'))
