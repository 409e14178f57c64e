#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Crash consistency (issue 13): pic-celld under its real unit is killed with SIGKILL at a
random moment during a burst of AddPeer / Update / RotateKeys / SetEnabled / Remove / Apply
and of exit changes (AddExit, Exit.Remove, a peer's Exit) from a client, N times
(PIC_CRASH_ROUNDS, 12 here; 1,000 for the figure). After each kill the unit brings it back
(Restart=on-failure) and the test checks:
  - every state file parses, and the daemon serves exactly the peers and exits the files hold;
  - every acknowledged change is there; the one in flight is wholly there or wholly absent;
  - WireGuard matches the state: the same peers, keys and addresses;
  - the firewall steers exactly the peers that have an exit, each to its exit's mark.
The client is a process of its own that prints each call before it makes it and after its
reply, so what was acknowledged is known exactly; it is killed just before the daemon."""

import base64
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402

ROUNDS = int(os.environ.get('PIC_CRASH_ROUNDS', '12'))
SEED = int(os.environ.get('PIC_CRASH_SEED', str(os.getpid())))
ALL_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets',
               'org.pic.cell1.manage-exits']
EXIT = 'org.pic.Cell1.Exit'
EXITS_MAX = 3  # each runs a wireguard-go unit
PEER = 'org.pic.Cell1.Peer'
SUBNETS = ['10.81.%d.1/24', '10.82.%d.1/24']

# The client: random calls until the first one fails (the daemon died); each call's start and
# acknowledgement on a line of its own, flushed before the next.
CLIENT = r'''
import random, sys, dbus
bus = dbus.SystemBus()
mgr = dbus.Interface(bus.get_object('org.pic.Cell1', '/org/pic/Cell1'), 'org.pic.Cell1.Manager')
rng = random.Random(int(sys.argv[1]))
names = sys.argv[3].split(',') if sys.argv[3] else []
subnet = sys.argv[2]
exits = dict(e.split('=') for e in sys.argv[4].split(',')) if sys.argv[4] else {}  # exit -> its users, '+'-joined
exits = {e: set(u.split('+')) - {''} for e, u in exits.items()}
exit_config = sys.argv[5]
serial = 0
def say(*words):
    print(*words, flush=True)
def peer(name):
    return dbus.Interface(bus.get_object('org.pic.Cell1', mgr.GetPeerByName(name, timeout=5)), 'org.pic.Cell1.Peer')
try:
    while True:
        ops = ['add', 'update', 'rotate', 'enable', 'remove', 'apply'] if len(names) < 30 else \
              ['update', 'rotate', 'enable', 'remove', 'remove', 'apply']
        ops += ['exit-add'] if len(exits) < 3 else []
        ops += ['exit-remove'] if any(not u for u in exits.values()) else []
        ops += ['peer-exit', 'peer-exit'] if names else []
        op = rng.choice(ops if names else ['add'])
        if op == 'exit-add':
            serial += 1
            name = 'x%s%d' % (sys.argv[1][-4:], serial)
            say('start exit-add', name)
            mgr.AddExit(name, 'wireguard', dbus.Dictionary({'Config': exit_config}, signature='sv'), timeout=10)
            exits[name] = set()
            say('ok exit-add', name)
        elif op == 'exit-remove':
            name = rng.choice(sorted(e for e, u in exits.items() if not u))
            say('start exit-remove', name)
            dbus.Interface(bus.get_object('org.pic.Cell1', '/org/pic/Cell1/exit/' + name), 'org.pic.Cell1.Exit').Remove(timeout=10)
            del exits[name]
            say('ok exit-remove', name)
        elif op == 'peer-exit':
            name = rng.choice(names)
            to = rng.choice(sorted(exits) + [''])
            say('start peer-exit', name, to or '-')
            peer(name).Update(dbus.Dictionary({'Exit': to}, signature='sv'), timeout=10)
            for users in exits.values():
                users.discard(name)
            if to:
                exits[to].add(name)
            say('ok peer-exit', name, to or '-')
        elif op == 'add':
            serial += 1
            name = 'p%s%d' % (sys.argv[1][-4:], serial)
            say('start add', name)
            mgr.AddPeer(name, dbus.Dictionary({}, signature='sv'), timeout=10)
            names.append(name)
            say('ok add', name)
        elif op == 'apply':
            say('start apply', subnet)
            mgr.Configure(dbus.Dictionary({'VpnAddress': subnet}, signature='sv'), timeout=10)
            mgr.Apply(timeout=30)
            say('ok apply', subnet)
        else:
            name = rng.choice(names)
            p = peer(name)
            if op == 'update':
                k = rng.randrange(1, 60)
                say('start update', name, k)
                p.Update(dbus.Dictionary({'PersistentKeepalive': dbus.UInt16(k)}, signature='sv'), timeout=10)
                say('ok update', name, k)
            elif op == 'rotate':
                say('start rotate', name)
                p.RotateKeys(timeout=10)
                say('ok rotate', name)
            elif op == 'enable':
                on = rng.random() < 0.5
                say('start enable', name, int(on))
                p.SetEnabled(on, timeout=10)
                say('ok enable', name, int(on))
            else:
                say('start remove', name)
                p.Remove(timeout=10)
                names.remove(name)
                for users in exits.values():
                    users.discard(name)
                say('ok remove', name)
except dbus.DBusException as e:
    say('failed', e.get_dbus_name())
'''


def sv(d):
    return dbus.Dictionary(d, signature='sv')


class CrashTest(h.HarnessTestCase):
    def peers(self, cell):
        """{name: properties} as the daemon serves them."""
        out = {}
        for ifaces in cell.managed_objects().values():
            if PEER in ifaces:
                out[str(ifaces[PEER]['Name'])] = ifaces[PEER]
        return out

    def exits(self, cell):
        return {str(i[EXIT]['Name']): i[EXIT] for i in cell.managed_objects().values() if EXIT in i}

    def check_exits(self, cell, exits_model, model, served, in_flight):
        """Exit files parse and are what is served; acknowledged exits and peers' exits are there; the
        firewall's peer_exits map holds exactly the peers with an exit, each with its exit's mark."""
        files = set()
        for name in os.listdir(os.path.join(cell.state_dir, 'exits')):
            self.assertTrue(name.endswith('.json'), 'a stray file in exits/: %s' % name)
            with open(os.path.join(cell.state_dir, 'exits', name)) as f:
                files.add(json.load(f)['name'])
        exits = self.exits(cell)
        self.assertEqual(sorted(exits), sorted(files), 'the daemon serves the exits the files hold')
        op, name, value = in_flight
        for e in exits_model:
            self.assertTrue(e in exits or (op == 'exit-remove' and e == name), 'acknowledged exit %s lost' % e)
        for e in exits:
            self.assertTrue(e in exits_model or (op == 'exit-add' and e == name), 'exit %s never acknowledged' % e)
        for n, props in served.items():
            have = str(props['Exit'])
            if op == 'peer-exit' and n == name:
                self.assertIn(have, (model[n]['exit'], '' if value == '-' else value), n)
            elif n in model:
                self.assertEqual(have, model[n]['exit'], n)
        out = cell.netns.run(['nft', '-j', 'list', 'map', 'inet', 'pic', 'peer_exits']).stdout
        elems = [e for item in json.loads(out)['nftables'] for e in item.get('map', {}).get('elem', [])]
        got = {str(k): int(v) for k, v in elems}
        want = {str(p['Address']): int(exits[str(p['Exit'])]['Mark'])
                for p in served.values() if str(p['Exit']) in exits}
        self.assertEqual(got, want, 'the firewall steers the peers that have an exit, to it')
        return exits

    def check_consistent(self, cell, model, in_flight):
        # every state file parses
        files = {}
        peers_dir = os.path.join(cell.state_dir, 'peers')
        for name in os.listdir(peers_dir):
            self.assertTrue(name.endswith('.json'), 'a stray file in peers/: %s' % name)
            with open(os.path.join(peers_dir, name)) as f:
                files[name[:-5]] = json.load(f)
        with open(os.path.join(cell.state_dir, 'cell.json')) as f:
            json.load(f)
        served = self.peers(cell)
        self.assertEqual(sorted(served), sorted(files), 'the daemon serves the peers the files hold')
        # acknowledged changes are there; the one in flight wholly or not at all
        op, name, value = in_flight
        for n, want in model.items():
            if n == name and op in ('add', 'remove', 'update', 'enable'):
                continue
            self.assertIn(n, served, 'acknowledged peer %s lost' % n)
            self.assertEqual(int(served[n]['PersistentKeepalive']), want['keepalive'], n)
            self.assertEqual(bool(served[n]['Enabled']), want['enabled'], n)
            if not (op == 'peer-exit' and n == name):
                self.assertEqual(str(served[n]['Exit']), want['exit'], n)
        for n in served:
            self.assertTrue(n in model or (op == 'add' and n == name), 'peer %s was never acknowledged' % n)
        if op == 'update' and name in served:
            self.assertIn(int(served[name]['PersistentKeepalive']), (model[name]['keepalive'], value))
        if op == 'enable' and name in served:
            self.assertIn(bool(served[name]['Enabled']), (model[name]['enabled'], bool(value)))
        # an Apply cut short is finished at start: every peer in the cell's subnet
        vpn = str(cell.properties('org.pic.Cell1.Manager')['VpnAddress'])
        prefix = vpn.rsplit('.', 1)[0] + '.'
        for n, props in served.items():
            self.assertTrue(str(props['Address']).startswith(prefix), '%s at %s, the cell at %s' % (n, props['Address'], vpn))
        # WireGuard holds the enabled peers, with their keys and addresses
        wg = {p['public_key']: p.get('allowed_ip', []) for p in h.uapi_get(cell.uapi_socket)['peers']}
        want = {}
        for n, props in served.items():
            if bool(props['Enabled']):
                key = base64.b64decode(str(props['PublicKey'])).hex()
                want[key] = ['%s/32' % props['Address']]
        self.assertEqual(wg, want, 'WireGuard matches the state')
        return served

    def test_kill_during_bursts(self):
        rng = random.Random(SEED)
        cell = h.Cell(world=self.world)
        cell.polkit.set_allowed(ALL_ACTIONS)
        cell.start()
        n = os.getpid() % 200
        cell.manager().Setup(sv({'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': SUBNETS[0] % n}))
        model = {}
        exits_model = {}  # exit → the peers using it
        private, _ = h.wg_genkey()
        _, server = h.wg_genkey()
        exit_config = ('[Interface]\nPrivateKey = %s\nAddress = 10.64.0.2/32\n[Peer]\nPublicKey = %s\n'
                       'Endpoint = 192.0.2.1:51820\nAllowedIPs = 0.0.0.0/0\n' % (private, server))
        kills = 0
        cut = {}  # what was in flight at each kill
        print('seed %d' % SEED, file=sys.stderr)
        for round_ in range(ROUNDS):
            pid = cell.start()
            subnet = SUBNETS[(round_ + 1) % 2] % n
            exits_arg = ','.join('%s=%s' % (e, '+'.join(sorted(u))) for e, u in exits_model.items())
            client = subprocess.Popen([h.PYTHON, '-c', CLIENT, str(rng.randrange(1 << 30)), subnet, ','.join(model),
                                       exits_arg, exit_config],
                                      stdout=subprocess.PIPE, text=True,
                                      env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cell.bus.address))
            self.world.track(client.pid, 'crash-client', client)
            time.sleep(rng.uniform(0.02, 0.4))
            # the client first, so that nothing it sends reaches the daemon that comes back;
            # what it sent last is still being handled when the daemon dies, or was done
            client.kill()
            os.kill(pid, signal.SIGKILL)
            kills += 1
            out, _ = client.communicate(timeout=60)
            in_flight = (None, None, None)
            lines = out.split('\n')[:-1]  # a line the kill cut short says nothing for sure: dropped
            for line in lines:
                words = line.split()
                if words[0] == 'start':
                    value = None if len(words) < 4 else words[3] if words[1] == 'peer-exit' else int(words[3])
                    in_flight = (words[1], words[2], value)
                elif words[0] == 'ok':
                    op, name = words[1], words[2]
                    if op == 'add':
                        model[name] = {'keepalive': 0, 'enabled': True, 'exit': ''}
                    elif op == 'exit-add':
                        exits_model[name] = set()
                    elif op == 'exit-remove':
                        del exits_model[name]
                    elif op == 'peer-exit':
                        to = '' if words[3] == '-' else words[3]
                        model[name]['exit'] = to
                        for users in exits_model.values():
                            users.discard(name)
                        if to:
                            exits_model[to].add(name)
                    elif op == 'update':
                        model[name]['keepalive'] = int(words[3])
                    elif op == 'enable':
                        model[name]['enabled'] = bool(int(words[3]))
                    elif op == 'remove':
                        del model[name]
                        for users in exits_model.values():
                            users.discard(name)
                    in_flight = (None, None, None)
            # the unit brings it back (Restart=on-failure) under a new PID; the bus starts it if it has not yet
            def new_owner():
                try:
                    return cell.bus.owner_pid(h.CELL_BUS_NAME) != pid
                except dbus.DBusException:
                    return False
            h.wait_for(new_owner, 20, 0.05, 'pic-celld back')
            cell.start()
            served = self.check_consistent(cell, model, in_flight)
            exits = self.check_exits(cell, exits_model, model, served, in_flight)
            cut[in_flight[0] or 'nothing'] = cut.get(in_flight[0] or 'nothing', 0) + 1
            # what was in flight settled one way or the other: the model follows what is there
            op, name, value = in_flight
            if op == 'add' and name in served:
                model[name] = {'keepalive': 0, 'enabled': True, 'exit': ''}
            elif op == 'remove' and name not in served:
                model.pop(name, None)
                for users in exits_model.values():
                    users.discard(name)
            elif op == 'exit-add' and name in exits:
                exits_model[name] = set()
            elif op == 'exit-remove' and name not in exits:
                exits_model.pop(name, None)
            elif op == 'peer-exit' and name in served:
                to = str(served[name]['Exit'])
                model[name]['exit'] = to
                for users in exits_model.values():
                    users.discard(name)
                if to:
                    exits_model[to].add(name)
            elif op in ('update', 'enable') and name in served:
                model[name] = {'keepalive': int(served[name]['PersistentKeepalive']),
                               'enabled': bool(served[name]['Enabled']), 'exit': str(served[name]['Exit'])}
        print('%d kills, %d peers at the end, all consistent; in flight at the kill: %s'
              % (kills, len(model), ', '.join('%s %d' % kv for kv in sorted(cut.items()))), file=sys.stderr)


if __name__ == '__main__':
    h.main()
