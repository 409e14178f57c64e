#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark: exits (issue 11's speed figures), in exit_world.py's namespaces.

Switching: two wireguard exits (two wireguard-go servers upstream), one peer
whose device sends everything through the cell. Each round the peer's Exit is
moved to the other exit with Peer.Update; measured from Update's reply until
a TCP connection from the peer to "the internet" is seen coming from the new
exit's address (a prober in the peer's namespace connects every millisecond).
That is the polkit check, the durable write of the peer, the firewall batch
moving its map element, and the first packet through the other tunnel.

Throughput (iperf3, TCP, one stream, 3 s each), next to the uplink directly:
  - uplink directly: iperf3 from the cell's own namespace to the internet;
  - peer, uplink: the peer through the cell's tunnel, out of the uplink;
  - peer, wireguard exit: the peer through the cell's tunnel and the exit's;
  - peer, openvpn exit: the same with OpenVPN (UDP, AES-256-GCM) as the exit;
  - peer, proxy exit: its TCP taken by redsocks to a SOCKS5 proxy (microsocks) upstream;
  - peer, sshuttle exit: its TCP carried by sshuttle over ssh to an sshd upstream.
Every WireGuard tunnel is wireguard-go (this kernel has no WireGuard), so the
ratios are what userspace tunnels cost on these 2 cores, one tunnel or two.

Each throughput path is measured --repeat times (default 3); the switch
--switches times. Tables show min / median / max and ratios of medians, all
from the same run.

Usage: bench_exits.py [--switches N] [--seconds S] [--repeat R]   (needs root; prints tables)
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'integration'))
import dbus  # noqa: E402
import harness as h  # noqa: E402
import repeat  # noqa: E402
from exit_world import (INTERNET, INTERNET_PORT, UPLINK_UP, ExitServer, ExitWorld, OpenVpnServer,  # noqa: E402
                        SshServer)

# In the peer's namespace: for each line "ADDRESS", connects to the internet every millisecond until the
# answer says the connection came from ADDRESS; prints the wall-clock time of that success.
PROBER = r'''
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
for line in sys.stdin:
    want = line.strip()
    while True:
        try:
            s = socket.create_connection((host, port), timeout=0.05)
            got = s.recv(64).decode()
            s.close()
            if got == want:
                break
        except OSError:
            pass
        time.sleep(0.001)
    print(time.time(), flush=True)
'''


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def iperf(ns, seconds):
    out = ns.run(['iperf3', '-c', INTERNET, '-t', str(seconds), '-J'], timeout=seconds + 30).stdout
    return json.loads(out)['end']['sum_received']['bits_per_second'] / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--switches', type=int, default=50)
    ap.add_argument('--seconds', type=int, default=3)
    repeat.add_argument(ap, default=3)
    args = ap.parse_args()
    h.require_root()

    with h.TempWorld() as world:
        w = ExitWorld(world)
        servers = [ExitServer(world, 1, 51999), ExitServer(world, 2, 52000)]
        for i, s in enumerate(servers):
            s.start(w.up)
            w.add_exit('vpn%d' % (i + 1), s.config())
        ovpn = OpenVpnServer(world)
        ovpn.start(w.up)
        w.cell.manager().AddExit('ovpn', 'openvpn', dbus.Dictionary({'Config': ovpn.client_config()}, signature='sv'))
        # the proxy exit is up once its resolver answers through the proxy
        w.up.spawn(['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--pid-file=',
                    '--listen-address=' + INTERNET, '--bind-interfaces', '--address=/proxy.example/198.18.9.77'],
                   name='internet-dnsmasq')
        w.up.spawn(['microsocks', '-i', UPLINK_UP, '-p', '1080'], name='microsocks')
        w.cell.manager().AddExit('px', 'proxy', dbus.Dictionary({
            'Proxy': 'socks5://%s:1080' % UPLINK_UP, 'DnsServers': dbus.Array([INTERNET], 's')}, signature='sv'))
        ssh = SshServer(world)
        ssh.start(w.up)
        w.cell.manager().AddExit('ssh', 'sshuttle', dbus.Dictionary({
            'Target': 'root@%s:%d' % (UPLINK_UP, ssh.port), 'SshKey': ssh.client_key, 'HostKey': ssh.host_key,
            'DnsServers': dbus.Array([INTERNET], 's')},
            signature='sv'))
        for name in ('vpn1', 'vpn2', 'ovpn', 'px', 'ssh'):
            w.wait_state('up', name)
        w.set_peer_exit('vpn1')
        w.connect_client()
        assert w.probe() == servers[0].client_address, w.probe()

        prober = subprocess.Popen(w.peer_ns.argv([sys.executable, '-c', PROBER, INTERNET, str(INTERNET_PORT)]),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        times = []
        try:
            for k in range(args.switches):
                target = k % 2  # vpn1 is where it starts: the first move is to vpn2
                target = 1 - target
                w.set_peer_exit('vpn%d' % (target + 1))
                replied = time.time()
                prober.stdin.write(servers[target].client_address + '\n')
                prober.stdin.flush()
                seen = float(prober.stdout.readline())
                times.append((seen - replied) * 1000)
        finally:
            prober.kill()
            prober.wait()

        w.up.spawn(['iperf3', '-s', '-B', INTERNET], name='iperf3-server')
        time.sleep(0.5)
        r = args.repeat
        direct = repeat.runs(r, lambda: iperf(w.cell.netns, args.seconds))
        w.set_peer_exit('')
        via_uplink = repeat.runs(r, lambda: iperf(w.peer_ns, args.seconds))
        w.set_peer_exit('vpn1')
        via_exit = repeat.runs(r, lambda: iperf(w.peer_ns, args.seconds))
        w.set_peer_exit('ovpn')
        via_openvpn = repeat.runs(r, lambda: iperf(w.peer_ns, args.seconds))
        w.set_peer_exit('px')
        via_proxy = repeat.runs(r, lambda: iperf(w.peer_ns, args.seconds))
        w.set_peer_exit('ssh')
        via_sshuttle = repeat.runs(r, lambda: iperf(w.peer_ns, args.seconds))
        assert w.leaked() > 0  # the uplink rows did go out of the uplink (the counter works)

    print('\n## Exits: Update(Exit) reply → first connection through the new exit (%d switches)\n' % len(times))
    repeat.table(['', 'min / median / max', 'p99'],
                 [('switch time', repeat.mmm(times, ('%.1f ms', 1)), '%.1f ms' % percentile(times, 99))])
    print('\n## Exits: throughput (iperf3, 1 TCP stream, %d s a run; WireGuard tunnels are wireguard-go)\n'
          % args.seconds)
    paths = (('peer → cell tunnel → uplink', via_uplink), ('peer → cell tunnel → wireguard exit', via_exit),
             ('peer → cell tunnel → openvpn exit', via_openvpn),
             ('peer → cell tunnel → proxy exit (redsocks, SOCKS5)', via_proxy),
             ('peer → cell tunnel → sshuttle exit', via_sshuttle))
    repeat.compare_table('path', 'the path', 'uplink directly (cell → internet)',
                         [(name, value, direct) for name, value in paths], repeat.MBITS)
    print()
    repeat.table(['path', 'ratio to the peer by the uplink (medians)'],
                 [(name, '%.2f' % repeat.ratio(value, via_uplink)) for name, value in paths[1:]])


if __name__ == '__main__':
    main()
