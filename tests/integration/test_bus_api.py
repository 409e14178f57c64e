#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bus contract, method by method, against a real pic-celld on a private bus.

Introspection matches dbus/*.xml; nothing but Setup works before Setup;
Configure/Apply/DiscardPending keep VpnAddress and ListenPort pending until
applied; AddPeer/Update/SetEnabled/Remove show up on the bus and in WireGuard
(read back over the UAPI socket); and a barrage of bad input gets named errors
only, leaves the daemon running and the state directory byte for byte as it was."""

import base64
import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
import dbus  # noqa: E402
import harness as h  # noqa: E402

ALL_ACTIONS = ['org.pic.cell1.configure', 'org.pic.cell1.manage-peers', 'org.pic.cell1.read-secrets', 'org.pic.cell1.read-firewall',
               'org.pic.cell1.authenticate']
MANAGER_IFACE = 'org.pic.Cell1.Manager'
PEER_IFACE = 'org.pic.Cell1.Peer'
OBJECT_MANAGER_IFACE = 'org.freedesktop.DBus.ObjectManager'
PROPERTIES_IFACE = 'org.freedesktop.DBus.Properties'

INVALID_ARGS = 'org.freedesktop.DBus.Error.InvalidArgs'
ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied'
UNKNOWN_OBJECT = 'org.freedesktop.DBus.Error.UnknownObject'
UNKNOWN_METHOD = 'org.freedesktop.DBus.Error.UnknownMethod'
SETUP_REQUIRED = 'org.pic.Cell1.Error.SetupRequired'
CONFLICT = 'org.pic.Cell1.Error.Conflict'

SERVICES = ['dns', 'web', 'mail', 'calendar', 'files', 'webdav']
CALL_TIMEOUT = 10  # seconds; a missing reply shows up as NoReply, never as a hang
VPN = '10.60.0.1/24'


def sv(d):
    return dbus.Dictionary(d, signature='sv')


def strv(items):
    return dbus.Array(items, signature='s')


def q(n):
    return dbus.UInt16(n)


def setup_settings(**over):
    s = {'Name': 'home', 'Domain': 'home.lan', 'VpnAddress': VPN, 'Endpoint': 'vpn.home.lan:51820'}
    s.update(over)
    return sv({k: v for k, v in s.items() if v is not None})


def random_key():
    return base64.b64encode(os.urandom(32)).decode()


def config_value(config, key):
    """The value of `Key = value` in a wg-quick config (None if absent)."""
    m = re.search(r'^\s*%s\s*=\s*(.*?)\s*$' % re.escape(key), config, re.MULTILINE)
    return m.group(1) if m else None


def state_snapshot(root):
    """Every file under root with its bytes (and every directory), for before/after comparison."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        snap[rel + '/'] = None
        for f in filenames:
            with open(os.path.join(dirpath, f), 'rb') as fh:
                snap[os.path.join(rel, f)] = fh.read()
    return snap


# ---------------------------------------------------------------- introspection shapes

def _annotations(el):
    return {a.get('name'): a.get('value') for a in el.findall('annotation')}


def interface_shape(xml_text, iface):
    """Methods (args with name/type/direction), properties (type/access) and annotations of one interface."""
    root = ET.fromstring(xml_text)
    node = next((i for i in root.findall('interface') if i.get('name') == iface), None)
    if node is None:
        return None
    return {
        'methods': {m.get('name'): {'args': [(a.get('name'), a.get('type'), a.get('direction', 'in'))
                                             for a in m.findall('arg')],
                                    'annotations': _annotations(m)}
                    for m in node.findall('method')},
        'properties': {p.get('name'): {'type': p.get('type'), 'access': p.get('access'),
                                       'annotations': _annotations(p)}
                       for p in node.findall('property')},
        'signals': {s.get('name'): [(a.get('name'), a.get('type')) for a in s.findall('arg')]
                    for s in node.findall('signal')},
        'annotations': _annotations(node),
    }


def interface_names(xml_text):
    return {i.get('name') for i in ET.fromstring(xml_text).findall('interface')}


def contract_xml(iface):
    with open(os.path.join(h.source_dir(), 'dbus', iface + '.xml')) as f:
        return f.read()


# ---------------------------------------------------------------- raw calls (any signature)

class RawBus:
    """Gio calls with hand-built bodies: wrong signatures and repeated dict keys, which dbus-python cannot send."""

    def __init__(self, address):
        from gi.repository import Gio, GLib
        self.Gio, self.GLib = Gio, GLib
        self.conn = Gio.DBusConnection.new_for_address_sync(
                address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
                Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)

    def variant(self, type_string, value):
        return self.GLib.Variant(type_string, value)

    def dict_with_pairs(self, pairs):
        """An a{sv} made entry by entry, so a key may repeat; pairs are (key, GLib.Variant)."""
        GLib = self.GLib
        return GLib.Variant.new_array(GLib.VariantType.new('{sv}'), [
                GLib.Variant.new_dict_entry(GLib.Variant.new_string(k), GLib.Variant.new_variant(v))
                for k, v in pairs])

    def call(self, path, iface, method, args=()):
        """Returns ('ok', reply) or (error_name, message)."""
        body = self.GLib.Variant.new_tuple(*args)
        try:
            reply = self.conn.call_sync(h.CELL_BUS_NAME, path, iface, method, body, None,
                                        self.Gio.DBusCallFlags.NO_AUTO_START, CALL_TIMEOUT * 1000, None)
            return 'ok', reply
        except self.GLib.Error as e:
            name = self.Gio.DBusError.get_remote_error(e)
            self.Gio.DBusError.strip_remote_error(e)
            return name or 'local:%s' % e.message, e.message

    def close(self):
        try:
            self.conn.close_sync(None)
        except Exception:
            pass


# ---------------------------------------------------------------- base

class BusApiTestCase(h.HarnessTestCase):
    def start_cell(self, setup=True, **settings):
        self.cell = h.Cell(world=self.world)
        self.cell.polkit.set_allowed(ALL_ACTIONS)
        self.pid = self.cell.start()
        self.mgr = self.cell.manager()
        if setup:
            self.mgr.Setup(setup_settings(**settings), timeout=CALL_TIMEOUT)
            self.cell.wait_dns_settled()  # dnsmasq starts on its own schedule
        return self.cell

    def recorder(self, **match):
        rec = h.SignalRecorder(self.cell.bus, **match)
        self.addCleanup(rec.close)
        return rec

    def assertBusError(self, name, fn, *args, contains=()):
        """fn(*args) fails with exactly the D-Bus error `name` and a message holding every string in contains."""
        what = '%s%r succeeded' % (getattr(fn, '_method_name', fn), tuple(str(a)[:60] for a in args))
        with self.assertRaises(dbus.DBusException, msg=what) as cm:
            fn(*args, timeout=CALL_TIMEOUT)
        e = cm.exception
        self.assertEqual(e.get_dbus_name(), name, e.get_dbus_message())
        for s in contains:
            self.assertIn(s, e.get_dbus_message())
        return e.get_dbus_message()

    def mgr_props(self):
        return self.cell.properties(MANAGER_IFACE)

    def peer(self, path):
        return self.cell.interface(PEER_IFACE, path)

    def peer_props(self, path):
        return self.cell.properties(PEER_IFACE, path)

    def add_peer(self, name, **options):
        return str(self.mgr.AddPeer(name, sv(options), timeout=CALL_TIMEOUT))

    def uapi(self):
        u = h.uapi_get(self.cell.uapi_socket)
        self.assertEqual(u['errno'], 0)
        return u

    def uapi_peer(self, public_key_b64):
        """The UAPI record for a peer by its base64 public key, or None when WireGuard does not know it."""
        want = h.key_to_hex(public_key_b64)
        return next((p for p in self.uapi()['peers'] if p['public_key'] == want), None)

    def assertPropertiesChanged(self, rec, path, iface, names, what=None):
        """Wait for PropertiesChanged signals on path/iface that together mention every name; returns merged values."""
        def seen(sigs):
            got = {}
            for p, member, args in sigs:
                if p == path and member == 'PropertiesChanged' and str(args[0]) == iface:
                    got.update({str(k): v for k, v in args[1].items()})
                    got.update({str(k): None for k in args[2] if str(k) not in got})
            return got if all(n in got for n in names) else None
        return rec.wait_for(seen, 5, what or 'PropertiesChanged %s on %s' % (names, path))


# ---------------------------------------------------------------- 1. introspection

class IntrospectionTest(BusApiTestCase):
    def test_live_interfaces_match_contract(self):
        self.start_cell()
        path = self.add_peer('my-phone')
        self.assertEqual(path, '/org/pic/Cell1/peer/my_2dphone')  # escaped by sd_bus_path_encode

        for iface, obj in ((MANAGER_IFACE, h.CELL_PATH), (PEER_IFACE, path)):
            live_xml = str(self.cell.interface('org.freedesktop.DBus.Introspectable', obj).Introspect())
            live = interface_shape(live_xml, iface)
            want = interface_shape(contract_xml(iface), iface)
            self.assertIsNotNone(live, '%s missing on %s' % (iface, obj))
            self.assertIsNotNone(want)
            with self.subTest(iface=iface):
                self.assertEqual(live['methods'], want['methods'])
                self.assertEqual(live['properties'], want['properties'])
                self.assertEqual(live['signals'], want['signals'])
                self.assertEqual(live['annotations'], want['annotations'])
            # the const annotations are the ones the XML documents
            consts = {n for n, p in want['properties'].items()
                      if p['annotations'].get('org.freedesktop.DBus.Property.EmitsChangedSignal') == 'const'}
            self.assertTrue(consts)
            self.assertEqual(consts, {n for n, p in live['properties'].items()
                                      if p['annotations'].get('org.freedesktop.DBus.Property.EmitsChangedSignal')
                                      == 'const'})

        root_xml = str(self.cell.interface('org.freedesktop.DBus.Introspectable', h.CELL_PATH).Introspect())
        self.assertIn(OBJECT_MANAGER_IFACE, interface_names(root_xml))
        self.assertIn('peer', {n.get('name') for n in ET.fromstring(root_xml).findall('node')})
        self.assertNotIn(OBJECT_MANAGER_IFACE, interface_names(
                str(self.cell.interface('org.freedesktop.DBus.Introspectable', path).Introspect())))
        self.assertIn(path, [str(p) for p in self.cell.managed_objects()])

    def test_busctl_tree_lists_peers(self):
        self.start_cell()
        paths = [self.add_peer(n) for n in ('laptop', 'my-phone', 'x' * 32)]
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.cell.bus.address)
        out = h.run(['busctl', '--system', 'tree', h.CELL_BUS_NAME], env=env, timeout=20).stdout
        for p in paths + [h.CELL_PATH, '/org/pic/Cell1/peer']:
            self.assertIn(p, out)
        listed = h.run(['busctl', '--system', '--list', 'tree', h.CELL_BUS_NAME], env=env, timeout=20).stdout.split()
        self.assertEqual(sorted(p for p in listed if p.startswith('/org/pic/Cell1/peer/')), sorted(paths))


# ---------------------------------------------------------------- 2. before Setup

class BeforeSetupTest(BusApiTestCase):
    def test_everything_but_setup_needs_setup(self):
        self.start_cell(setup=False)
        props = self.mgr_props()
        self.assertIs(bool(props['SetupComplete']), False)
        self.assertTrue(props['Version'])
        self.assertEqual(props['InterfaceName'], self.cell.ifname)
        self.assertEqual(props['PublicKey'], '')
        self.assertEqual(props['VpnAddress'], '')
        self.assertEqual(props['PeerCount'], 0)
        self.assertEqual(dict(props['PendingChanges']), {})

        m = self.mgr
        calls = [
                (m.Configure, sv({})),
                (m.Configure, sv({'Name': 'other'})),
                (m.Configure, sv({'VpnAddress': '10.61.0.1/24', 'ListenPort': q(51821)})),
                (m.Configure, sv({'Endpoint': ''})),
                (m.Apply,),
                (m.DiscardPending,),
                (m.AddPeer, 'laptop', sv({})),
                (m.AddPeer, 'laptop', sv({'Address': '10.60.0.2', 'PersistentKeepalive': q(25),
                                          'ServiceAccess': strv(['dns']), 'PresharedKey': True})),
                (m.AddPeer, 'laptop', sv({'PublicKey': random_key()})),
        ]
        for fn, *args in calls:
            with self.subTest(method=getattr(fn, '_method_name', fn), args=args):
                self.assertBusError(SETUP_REQUIRED, fn, *args, contains=('Setup',))

        # no peer objects can exist yet
        self.assertBusError(UNKNOWN_OBJECT, m.GetPeerByName, 'laptop')
        self.assertEqual(dict(self.cell.managed_objects()), {})
        self.assertIs(bool(self.mgr_props()['SetupComplete']), False)
        self.assertNotIn('cell.json', os.listdir(self.cell.state_dir))
        self.assertEqual(self.cell.pid(), self.pid)


# ---------------------------------------------------------------- 3. Setup

class SetupTest(BusApiTestCase):
    def test_missing_keys_are_named(self):
        self.start_cell(setup=False)
        cases = [
                ({}, ['Name', 'Domain', 'VpnAddress']),
                ({'Name': 'home'}, ['Domain', 'VpnAddress']),
                ({'Name': 'home', 'Domain': 'home.lan'}, ['VpnAddress']),
                ({'Domain': 'home.lan', 'VpnAddress': VPN, 'ListenPort': q(51820)}, ['Name']),
        ]
        for given, missing in cases:
            with self.subTest(given=given):
                msg = self.assertBusError(INVALID_ARGS, self.mgr.Setup, sv(given))
                m = re.search(r'missing: ([^)]*)\)', msg)
                self.assertIsNotNone(m, msg)
                self.assertEqual(m.group(1).split(), missing)
        self.assertIs(bool(self.mgr_props()['SetupComplete']), False)
        self.assertNotIn('cell.json', os.listdir(self.cell.state_dir))

    def test_setup_sets_every_property_once(self):
        self.start_cell(setup=False)
        rec = self.recorder(dbus_interface=PROPERTIES_IFACE, signal_name='PropertiesChanged', path=h.CELL_PATH)
        self.mgr.Setup(setup_settings(), timeout=CALL_TIMEOUT)

        p = self.mgr_props()
        self.assertIs(bool(p['SetupComplete']), True)
        self.assertEqual(p['Name'], 'home')
        self.assertEqual(p['Domain'], 'home.lan')
        self.assertEqual(p['VpnAddress'], VPN)
        self.assertEqual(p['ListenPort'], 51820)
        self.assertIsInstance(p['ListenPort'], dbus.UInt16)
        self.assertEqual(p['Endpoint'], 'vpn.home.lan:51820')
        self.assertEqual(p['WireGuardBackend'], 'userspace')
        self.assertEqual(p['InterfaceName'], self.cell.ifname)
        self.assertTrue(p['Version'])
        self.assertEqual(dict(p['PendingChanges']), {})
        self.assertEqual(p['PeerCount'], 0)
        self.assertEqual(len(p['PublicKey']), 44)
        self.assertEqual(len(base64.b64decode(p['PublicKey'], validate=True)), 32)

        changed = self.assertPropertiesChanged(rec, h.CELL_PATH, MANAGER_IFACE,
                                               ['SetupComplete', 'Name', 'Domain', 'VpnAddress', 'ListenPort',
                                                'PublicKey', 'Endpoint', 'WireGuardBackend'])
        self.assertIs(bool(changed['SetupComplete']), True)
        self.assertEqual(changed['Name'], 'home')
        self.assertEqual(changed['PublicKey'], p['PublicKey'])

        # WireGuard runs with the cell's key and port
        u = self.uapi()
        self.assertEqual(u['device']['listen_port'], '51820')
        self.assertEqual(h.wg_pubkey(h.key_from_hex(u['device']['private_key'])), p['PublicKey'])
        self.assertIn('cell.json', os.listdir(self.cell.state_dir))

        msg = self.assertBusError(CONFLICT, self.mgr.Setup, setup_settings(Name='again', VpnAddress='10.62.0.1/24'))
        self.assertIn('Configure', msg)
        self.assertEqual(self.mgr_props()['Name'], 'home')
        self.assertEqual(self.mgr_props()['PublicKey'], p['PublicKey'])

    def test_setup_with_listen_port_and_no_endpoint(self):
        self.start_cell(setup=True, Endpoint=None, ListenPort=q(51999))
        p = self.mgr_props()
        self.assertEqual(p['ListenPort'], 51999)
        self.assertEqual(p['Endpoint'], '')
        self.assertEqual(self.uapi()['device']['listen_port'], '51999')


# ---------------------------------------------------------------- 4. Configure, Apply, DiscardPending

class ConfigureTest(BusApiTestCase):
    def test_pending_until_apply(self):
        self.start_cell()
        a = self.add_peer('a')
        b = self.add_peer('b', Address='10.60.0.7')
        key_a, key_b = self.peer_props(a)['PublicKey'], self.peer_props(b)['PublicKey']
        rec = self.recorder(dbus_interface=PROPERTIES_IFACE, signal_name='PropertiesChanged')

        new = {'VpnAddress': '10.61.0.1/24', 'ListenPort': q(51900)}
        self.mgr.Configure(sv(new), timeout=CALL_TIMEOUT)
        p = self.mgr_props()
        self.assertEqual(dict(p['PendingChanges']), {'VpnAddress': '10.61.0.1/24', 'ListenPort': 51900})
        self.assertEqual(p['VpnAddress'], VPN)
        self.assertEqual(p['ListenPort'], 51820)
        self.assertEqual(self.uapi()['device']['listen_port'], '51820')
        self.assertEqual(self.peer_props(a)['Address'], '10.60.0.2')
        self.assertEqual(self.uapi_peer(key_a)['allowed_ip'], ['10.60.0.2/32'])
        self.assertPropertiesChanged(rec, h.CELL_PATH, MANAGER_IFACE, ['PendingChanges'])

        rec.clear()
        self.mgr.DiscardPending(timeout=CALL_TIMEOUT)
        self.assertEqual(dict(self.mgr_props()['PendingChanges']), {})
        self.assertEqual(self.mgr_props()['VpnAddress'], VPN)
        self.assertPropertiesChanged(rec, h.CELL_PATH, MANAGER_IFACE, ['PendingChanges'])
        self.mgr.Apply(timeout=CALL_TIMEOUT)  # nothing pending: a no-op
        self.assertEqual(self.mgr_props()['ListenPort'], 51820)
        self.assertEqual(self.uapi()['device']['listen_port'], '51820')

        self.mgr.Configure(sv(new), timeout=CALL_TIMEOUT)
        rec.clear()
        self.mgr.Apply(timeout=CALL_TIMEOUT)
        p = self.mgr_props()
        self.assertEqual(p['VpnAddress'], '10.61.0.1/24')
        self.assertEqual(p['ListenPort'], 51900)
        self.assertEqual(dict(p['PendingChanges']), {})
        self.assertEqual(self.uapi()['device']['listen_port'], '51900')
        # peers keep their host number in the new subnet, on the bus and in WireGuard
        self.assertEqual(self.peer_props(a)['Address'], '10.61.0.2')
        self.assertEqual(self.peer_props(b)['Address'], '10.61.0.7')
        self.assertEqual(self.uapi_peer(key_a)['allowed_ip'], ['10.61.0.2/32'])
        self.assertEqual(self.uapi_peer(key_b)['allowed_ip'], ['10.61.0.7/32'])
        self.assertEqual(self.assertPropertiesChanged(rec, a, PEER_IFACE, ['Address'])['Address'], '10.61.0.2')
        self.assertEqual(self.assertPropertiesChanged(rec, b, PEER_IFACE, ['Address'])['Address'], '10.61.0.7')
        changed = self.assertPropertiesChanged(rec, h.CELL_PATH, MANAGER_IFACE,
                                               ['VpnAddress', 'ListenPort', 'PendingChanges'])
        self.assertEqual(changed['VpnAddress'], '10.61.0.1/24')
        self.assertEqual(changed['ListenPort'], 51900)
        self.assertEqual(config_value(str(self.peer(a).GetConfig()), 'Address'), '10.61.0.2/32')
        self.assertEqual(config_value(str(self.peer(a).GetConfig()), 'AllowedIPs'), '10.61.0.0/24')

        # a new peer now lands in the new subnet
        self.assertEqual(self.peer_props(self.add_peer('c'))['Address'], '10.61.0.3')

    def test_name_domain_endpoint_apply_at_once(self):
        self.start_cell()
        rec = self.recorder(dbus_interface=PROPERTIES_IFACE, signal_name='PropertiesChanged', path=h.CELL_PATH)
        self.mgr.Configure(sv({'Name': 'other', 'Domain': 'other.example', 'Endpoint': '[fd00::1]:51820'}),
                           timeout=CALL_TIMEOUT)
        p = self.mgr_props()
        self.assertEqual((p['Name'], p['Domain'], p['Endpoint']), ('other', 'other.example', '[fd00::1]:51820'))
        self.assertEqual(dict(p['PendingChanges']), {})
        changed = self.assertPropertiesChanged(rec, h.CELL_PATH, MANAGER_IFACE, ['Name', 'Domain', 'Endpoint'])
        self.assertEqual(changed['Domain'], 'other.example')

        path = self.add_peer('laptop')
        self.assertEqual(config_value(str(self.peer(path).GetConfig()), 'Endpoint'), '[fd00::1]:51820')
        self.mgr.Configure(sv({'Endpoint': ''}), timeout=CALL_TIMEOUT)
        self.assertEqual(self.mgr_props()['Endpoint'], '')
        self.assertIsNone(config_value(str(self.peer(path).GetConfig()), 'Endpoint'))
        # a Configure that also carries a pending change still applies these at once
        self.mgr.Configure(sv({'Name': 'third', 'ListenPort': q(51830)}), timeout=CALL_TIMEOUT)
        self.assertEqual(self.mgr_props()['Name'], 'third')
        self.assertEqual(dict(self.mgr_props()['PendingChanges']), {'ListenPort': 51830})
        self.assertEqual(self.mgr_props()['ListenPort'], 51820)

    def test_subnet_too_small_for_peers(self):
        self.start_cell()
        a = self.add_peer('a')                          # .2
        self.add_peer('seven', Address='10.60.0.7')
        before = state_snapshot(self.cell.state_dir)

        self.assertBusError(CONFLICT, self.mgr.Configure, sv({'VpnAddress': '10.61.0.1/29'}),
                            contains=("'seven'", '10.60.0.7'))
        self.assertBusError(CONFLICT, self.mgr.Configure, sv({'VpnAddress': '10.61.0.1/30'}))
        # the cell's new address on a peer's host number
        self.assertBusError(CONFLICT, self.mgr.Configure, sv({'VpnAddress': '10.61.0.2/24'}), contains=("'a'",))
        self.assertEqual(dict(self.mgr_props()['PendingChanges']), {})
        self.assertEqual(state_snapshot(self.cell.state_dir), before)

        # a peer added while a smaller subnet waits must stop Apply, not land outside the subnet
        self.mgr.Configure(sv({'VpnAddress': '10.61.0.1/25'}), timeout=CALL_TIMEOUT)
        self.assertEqual(dict(self.mgr_props()['PendingChanges']), {'VpnAddress': '10.61.0.1/25'})
        late = self.add_peer('late', Address='10.60.0.200')
        self.assertBusError(CONFLICT, self.mgr.Apply, contains=("'late'",))
        self.assertEqual(self.mgr_props()['VpnAddress'], VPN)
        self.assertEqual(self.peer_props(late)['Address'], '10.60.0.200')
        self.assertEqual(self.peer_props(a)['Address'], '10.60.0.2')
        # moving the peer makes room
        self.peer(late).Update(sv({'Address': '10.60.0.100'}), timeout=CALL_TIMEOUT)
        self.mgr.Apply(timeout=CALL_TIMEOUT)
        self.assertEqual(self.mgr_props()['VpnAddress'], '10.61.0.1/25')
        self.assertEqual(self.peer_props(late)['Address'], '10.61.0.100')


# ---------------------------------------------------------------- 5. peers

class PeerTest(BusApiTestCase):
    def test_addresses(self):
        self.start_cell()
        self.assertEqual(self.peer_props(self.add_peer('p1'))['Address'], '10.60.0.2')
        self.assertEqual(self.peer_props(self.add_peer('p2'))['Address'], '10.60.0.3')
        p3 = self.add_peer('p3', Address='10.60.0.10')
        self.assertEqual(self.peer_props(p3)['Address'], '10.60.0.10')
        self.assertEqual(self.peer_props(self.add_peer('p4', Address='10.60.0.11/32'))['Address'], '10.60.0.11')
        self.assertEqual(self.peer_props(self.add_peer('p5'))['Address'], '10.60.0.4')
        self.assertEqual(self.uapi_peer(self.peer_props(p3)['PublicKey'])['allowed_ip'], ['10.60.0.10/32'])

        self.assertBusError(CONFLICT, self.mgr.AddPeer, 'p1', sv({}), contains=("'p1'",))
        self.assertBusError(CONFLICT, self.mgr.AddPeer, 'other', sv({'Address': '10.60.0.10'}),
                            contains=("'p3'", '10.60.0.10'))
        self.assertBusError(CONFLICT, self.mgr.AddPeer, 'other', sv({'Address': '10.60.0.1'}),
                            contains=('10.60.0.1', 'own address'))
        for bad in ('10.61.0.5', '10.60.0.0', '10.60.0.255', '192.168.1.1'):
            with self.subTest(address=bad):
                self.assertBusError(INVALID_ARGS, self.mgr.AddPeer, 'other', sv({'Address': bad}),
                                    contains=(bad, VPN))
        for bad in ('10.60.0.20/24', '10.60.0.20/31', '10.60.0', 'peer', ''):
            with self.subTest(address=bad):
                self.assertBusError(INVALID_ARGS, self.mgr.AddPeer, 'other', sv({'Address': bad}),
                                    contains=('Address',))
        self.assertEqual(self.mgr_props()['PeerCount'], 5)

    def test_full_subnet(self):
        self.start_cell(VpnAddress='10.60.0.1/30')
        self.assertEqual(self.peer_props(self.add_peer('only'))['Address'], '10.60.0.2')
        self.assertBusError(CONFLICT, self.mgr.AddPeer, 'more', sv({}), contains=('10.60.0.1/30',))

    def test_keys_and_secrets(self):
        self.start_cell()
        cell_key = self.mgr_props()['PublicKey']

        # a generated key pair: the config carries the private key that matches
        gen = self.add_peer('gen')
        gen_key = self.peer_props(gen)['PublicKey']
        config = str(self.peer(gen).GetConfig())
        self.assertEqual(h.wg_pubkey(config_value(config, 'PrivateKey')), gen_key)
        self.assertEqual(config_value(config, 'PublicKey'), cell_key)
        self.assertIsNone(config_value(config, 'PresharedKey'))
        self.assertIsNone(config_value(config, 'PersistentKeepalive'))

        # a given public key: used as is, and the cell hands out no private key
        _, pub = h.wg_genkey()
        own = self.add_peer('own', PublicKey=pub)
        self.assertEqual(self.peer_props(own)['PublicKey'], pub)
        config = str(self.peer(own).GetConfig())
        self.assertIsNone(re.search(r'^\s*PrivateKey\s*=', config, re.MULTILINE), config)
        self.assertIsNotNone(self.uapi_peer(pub))
        self.assertBusError(CONFLICT, self.mgr.AddPeer, 'dup', sv({'PublicKey': pub}), contains=("'own'",))
        self.assertBusError(CONFLICT, self.mgr.AddPeer, 'dup', sv({'PublicKey': gen_key}), contains=("'gen'",))
        self.assertBusError(CONFLICT, self.mgr.AddPeer, 'dup', sv({'PublicKey': cell_key}))

        # keepalive and a generated preshared key: in the config and in WireGuard
        k1 = self.add_peer('k1', PersistentKeepalive=q(25), PresharedKey=True)
        props = self.peer_props(k1)
        self.assertEqual(props['PersistentKeepalive'], 25)
        self.assertIs(bool(props['HasPresharedKey']), True)
        config = str(self.peer(k1).GetConfig())
        self.assertEqual(config_value(config, 'PersistentKeepalive'), '25')
        psk = config_value(config, 'PresharedKey')
        self.assertEqual(len(base64.b64decode(psk, validate=True)), 32)
        w = self.uapi_peer(props['PublicKey'])
        self.assertEqual(w['persistent_keepalive_interval'], '25')
        self.assertEqual(w['preshared_key'], h.key_to_hex(psk))

        # a given preshared key
        given = random_key()
        k2 = self.add_peer('k2', PresharedKey=given, PersistentKeepalive=q(65535))
        self.assertEqual(config_value(str(self.peer(k2).GetConfig()), 'PresharedKey'), given)
        w = self.uapi_peer(self.peer_props(k2)['PublicKey'])
        self.assertEqual(w['preshared_key'], h.key_to_hex(given))
        self.assertEqual(w['persistent_keepalive_interval'], '65535')

        # PresharedKey false: none
        k3 = self.add_peer('k3', PresharedKey=False)
        self.assertIs(bool(self.peer_props(k3)['HasPresharedKey']), False)
        self.assertEqual(self.uapi_peer(self.peer_props(k3)['PublicKey'])['preshared_key'], '0' * 64)

    def test_service_access(self):
        self.start_cell()
        path = self.add_peer('svc', ServiceAccess=strv(['dns', 'web']))
        self.assertEqual(list(self.peer_props(path)['ServiceAccess']), ['dns', 'web'])
        self.assertEqual(list(self.peer_props(self.add_peer('none'))['ServiceAccess']), [])
        for bad in (['dns', 'bogus'], ['DNS'], ['']):
            with self.subTest(access=bad):
                msg = self.assertBusError(INVALID_ARGS, self.mgr.AddPeer, 'bad', sv({'ServiceAccess': strv(bad)}),
                                          contains=('ServiceAccess', "'%s'" % bad[-1]))
                for s in SERVICES:  # the message lists the valid ones
                    self.assertIn(s, msg)
        self.assertBusError(INVALID_ARGS, self.mgr.AddPeer, 'bad', sv({'ServiceAccess': strv(['dns', 'dns'])}),
                            contains=('ServiceAccess', 'twice'))
        self.assertBusError(INVALID_ARGS, self.mgr.AddPeer, 'bad', sv({'ServiceAccess': strv(SERVICES + ['x'])}),
                            contains=("'x'",))
        self.assertEqual(list(self.peer_props(self.add_peer('all', ServiceAccess=strv(SERVICES)))['ServiceAccess']),
                         SERVICES)

    def test_objects_signals_and_lookup(self):
        self.start_cell()
        om = self.recorder(dbus_interface=OBJECT_MANAGER_IFACE)
        pc = self.recorder(dbus_interface=PROPERTIES_IFACE, signal_name='PropertiesChanged', path=h.CELL_PATH)

        path = self.add_peer('laptop')
        om.wait_for(lambda sigs: any(m == 'InterfacesAdded' and str(a[0]) == path and PEER_IFACE in a[1]
                                     for _, m, a in sigs), 5, 'InterfacesAdded')
        added = next(a for _, m, a in om.signals if m == 'InterfacesAdded' and str(a[0]) == path)
        self.assertEqual(added[1][PEER_IFACE]['Name'], 'laptop')
        self.assertEqual(self.assertPropertiesChanged(pc, h.CELL_PATH, MANAGER_IFACE, ['PeerCount'])['PeerCount'], 1)
        self.assertEqual(self.mgr_props()['PeerCount'], 1)
        other = self.add_peer('phone')
        self.assertEqual(self.mgr_props()['PeerCount'], 2)

        self.assertEqual(str(self.mgr.GetPeerByName('laptop')), path)
        self.assertEqual(str(self.mgr.GetPeerByName('phone')), other)
        for name in ('nope', 'Laptop', 'a/b', '', 'laptop ', 'x' * 100):
            with self.subTest(name=name):
                self.assertBusError(UNKNOWN_OBJECT, self.mgr.GetPeerByName, name)
        self.assertEqual(self.peer_props(path)['Name'], 'laptop')
        self.assertGreater(self.peer_props(path)['Created'], 0)

        key = self.peer_props(path)['PublicKey']
        pc.clear()
        self.peer(path).Remove(timeout=CALL_TIMEOUT)
        om.wait_for(lambda sigs: any(m == 'InterfacesRemoved' and str(a[0]) == path and PEER_IFACE in a[1]
                                     for _, m, a in sigs), 5, 'InterfacesRemoved')
        self.assertEqual(self.assertPropertiesChanged(pc, h.CELL_PATH, MANAGER_IFACE, ['PeerCount'])['PeerCount'], 1)
        self.assertEqual(self.mgr_props()['PeerCount'], 1)
        self.assertIsNone(self.uapi_peer(key))
        self.assertBusError(UNKNOWN_OBJECT, self.mgr.GetPeerByName, 'laptop')
        self.assertBusError(UNKNOWN_OBJECT, self.cell.interface(PROPERTIES_IFACE, path).GetAll, PEER_IFACE)
        self.assertEqual([str(p) for p in self.cell.managed_objects()], [other])
        # the name and the address are free again
        self.assertEqual(self.add_peer('laptop'), path)
        self.assertEqual(self.peer_props(path)['Address'], '10.60.0.2')

    def test_change_signals_are_coalesced(self):
        """One PropertiesChanged per object per change, however many properties moved."""
        self.start_cell()
        paths = [self.add_peer(n) for n in ('a', 'b', 'c')]
        self.mgr.Configure(sv({'VpnAddress': '10.61.0.1/24', 'ListenPort': q(51821)}), timeout=CALL_TIMEOUT)
        rec = self.recorder(dbus_interface=PROPERTIES_IFACE, signal_name='PropertiesChanged')
        rec.pump(0.3)  # Configure's own signal, when it arrives after its reply (a slow build)
        rec.signals.clear()
        self.mgr.Apply(timeout=CALL_TIMEOUT)
        self.peer(paths[0]).Update(sv({'ServiceAccess': strv(['mail']), 'PersistentKeepalive': q(5)}),
                                   timeout=CALL_TIMEOUT)
        rec.pump(0.5)
        per_object = {}
        for path, _, args in rec.signals:
            changed = sorted(str(k) for k in args[1])
            if changed != ['DnsState']:  # the DNS service follows the new address on its own schedule
                per_object.setdefault((path, str(args[0])), []).append(changed)
        self.assertEqual(per_object[('/org/pic/Cell1', MANAGER_IFACE)],
                         [['ListenPort', 'PendingChanges', 'VpnAddress', 'WireGuardBackend']])
        self.assertEqual(per_object[(paths[0], PEER_IFACE)],
                         [['Address'], ['PersistentKeepalive', 'ServiceAccess']])
        for path in paths[1:]:
            self.assertEqual(per_object[(path, PEER_IFACE)], [['Address']])

    def test_update_and_enable(self):
        self.start_cell()
        path = self.add_peer('laptop', ServiceAccess=strv(['dns']))
        self.add_peer('phone', Address='10.60.0.30')
        key = self.peer_props(path)['PublicKey']
        rec = self.recorder(dbus_interface=PROPERTIES_IFACE, signal_name='PropertiesChanged', path=path)
        peer = self.peer(path)

        peer.Update(sv({'ServiceAccess': strv(['mail', 'web']), 'PersistentKeepalive': q(15),
                        'Address': '10.60.0.20/32'}), timeout=CALL_TIMEOUT)
        changed = self.assertPropertiesChanged(rec, path, PEER_IFACE,
                                               ['ServiceAccess', 'PersistentKeepalive', 'Address'])
        self.assertEqual(list(changed['ServiceAccess']), ['mail', 'web'])
        self.assertEqual(changed['PersistentKeepalive'], 15)
        self.assertEqual(changed['Address'], '10.60.0.20')
        w = self.uapi_peer(key)
        self.assertEqual(w['allowed_ip'], ['10.60.0.20/32'])
        self.assertEqual(w['persistent_keepalive_interval'], '15')

        rec.clear()
        peer.Update(sv({'PresharedKey': True}), timeout=CALL_TIMEOUT)
        self.assertPropertiesChanged(rec, path, PEER_IFACE, ['HasPresharedKey'])
        psk = config_value(str(peer.GetConfig()), 'PresharedKey')
        self.assertEqual(self.uapi_peer(key)['preshared_key'], h.key_to_hex(psk))
        peer.Update(sv({'PresharedKey': False, 'PersistentKeepalive': q(0)}), timeout=CALL_TIMEOUT)
        self.assertIs(bool(self.peer_props(path)['HasPresharedKey']), False)
        self.assertEqual(self.uapi_peer(key)['preshared_key'], '0' * 64)
        self.assertEqual(self.uapi_peer(key)['persistent_keepalive_interval'], '0')

        self.assertBusError(CONFLICT, peer.Update, sv({'Address': '10.60.0.30'}), contains=("'phone'",))
        self.assertBusError(CONFLICT, peer.Update, sv({'Address': '10.60.0.1'}))
        self.assertBusError(INVALID_ARGS, peer.Update, sv({'Address': '10.70.0.3'}))
        self.assertEqual(self.peer_props(path)['Address'], '10.60.0.20')

        # a new public key: the cell forgets the private key it held
        _, pub = h.wg_genkey()
        peer.Update(sv({'PublicKey': pub}), timeout=CALL_TIMEOUT)
        self.assertEqual(self.peer_props(path)['PublicKey'], pub)
        self.assertIsNone(self.uapi_peer(key))
        self.assertEqual(self.uapi_peer(pub)['allowed_ip'], ['10.60.0.20/32'])
        self.assertIsNone(re.search(r'^\s*PrivateKey\s*=', str(peer.GetConfig()), re.MULTILINE))

        rec.clear()
        peer.SetEnabled(False, timeout=CALL_TIMEOUT)
        self.assertIs(bool(self.assertPropertiesChanged(rec, path, PEER_IFACE, ['Enabled'])['Enabled']), False)
        self.assertIsNone(self.uapi_peer(pub))
        self.assertEqual(str(self.mgr.GetPeerByName('laptop')), path)
        self.assertIn(path, [str(p) for p in self.cell.managed_objects()])
        self.assertIs(bool(self.peer_props(path)['Enabled']), False)
        self.assertEqual(self.mgr_props()['PeerCount'], 2)
        peer.SetEnabled(False, timeout=CALL_TIMEOUT)  # again: no-op
        peer.SetEnabled(True, timeout=CALL_TIMEOUT)
        self.assertEqual(self.uapi_peer(pub)['allowed_ip'], ['10.60.0.20/32'])


# ---------------------------------------------------------------- 6. bad input

KEY_31 = base64.b64encode(b'k' * 31).decode()   # 44 characters ending '=' but 31 bytes
KEY_33 = base64.b64encode(b'k' * 33).decode()   # 44 characters, 33 bytes
BAD_KEYS = ['', 'AAAA', 'A' * 43, 'A' * 45, 'A' * 44, '!' * 43 + '=', 'A' * 42 + '==', KEY_31, KEY_33,
            random_key()[:-1] + '\n', ' ' + random_key()[1:], 'k' * 5000]
BAD_NAMES = ['', '-x', '_x', 'a/b', '../x', '.', 'x' * 33, 'a b', 'a.b', 'a\nb', '\x01', '\x7f', 'ü', '日本',
             'a' + 'ü' * 40, '日本' * 40, 'x' * 5000]
BAD_CIDRS = ['10.0.0.1', '10.0.0.1/33', '10.0.0.256/24', '8.8.8.1/24', '10.0.0.0/24', '10.0.0.255/24',
             '10.0.0.1/31', '10.0.0.1/32', '300.1.1.1/8', '', 'abc', '10.0.0.1/', '10.0.0.1/024', '010.0.0.1/24',
             ' 10.0.0.1/24', '10.0.0.1/24 ', '10.0.0.1/24\n', '172.32.0.1/24', '192.169.0.1/24', '10.0.0.1/-1',
             '10.0.0.1/7', '١٠.0.0.1/24', 'v' * 5000]
BAD_ENDPOINTS = ['host', 'host:0', 'host:70000', 'a b:1', ':1', 'host:', 'host:01', 'host:+1', 'host: 1',
                 '[::1]', '[zz]:1', '[::1:1', '-host:1', 'host-:1', 'a..b:1', 'a\nb:1', 'host\x01:1', 'hóst:1',
                 'e' * 300 + ':1']
BAD_LABELS = ['', '-a', 'a-', 'A', 'a b', 'a.b', 'a_b', 'a\nb', '\x01', '\x7f', 'héllo', 'x' * 64]
BAD_DOMAINS = ['', '.lan', 'lan.', 'a..b', '-a.lan', 'a\nb.lan', 'ex.ämple', ('a' * 63 + '.') * 4 + 'lan']
HUGE = 'z' * (1024 * 1024)


class BadInputTest(BusApiTestCase):
    def start_victim(self):
        self.start_cell()
        self.victim = self.add_peer('victim', Address='10.60.0.9', ServiceAccess=strv(['dns']),
                                    PersistentKeepalive=q(25), PresharedKey=True)
        self.add_peer('bystander')
        self.cell.wait_dns_settled()
        self.before = state_snapshot(self.cell.state_dir)
        self.before_props = dict(self.mgr_props())
        self.before_objects = self.cell.managed_objects()

    def assertUnharmed(self):
        self.assertEqual(self.cell.pid(), self.pid, 'pic-celld was restarted')
        self.assertTrue(h.Proc(self.pid, 'pic-celld').alive())
        self.assertEqual(dict(self.mgr_props()), self.before_props)
        self.assertEqual(self.cell.managed_objects(), self.before_objects)
        after = state_snapshot(self.cell.state_dir)
        self.assertEqual(sorted(after), sorted(self.before))
        for f in self.before:
            self.assertEqual(after[f], self.before[f], 'state file %s changed' % f)

    def check_all(self, cases):
        """cases: (label, callable, args, error name, substrings); collects every mismatch, then fails once."""
        problems = []
        for label, fn, args, want, contains in cases:
            try:
                fn(*args, timeout=CALL_TIMEOUT)
                problems.append('%s: succeeded' % label)
                continue
            except dbus.DBusException as e:
                name, msg = e.get_dbus_name(), e.get_dbus_message() or ''
            if name != want:
                problems.append('%s: %s (%s), wanted %s' % (label, name, msg[:200], want))
                continue
            for s in contains:
                if s not in msg:
                    problems.append('%s: message %r does not mention %r' % (label, msg[:200], s))
        self.assertEqual(problems, [], '\n'.join(problems))
        return len(cases)

    def test_bad_values_and_types(self):
        self.start_victim()
        m, victim = self.mgr, self.peer(self.victim)
        cases = []

        def cell_case(label, settings, contains):
            # Configure, and Setup with otherwise complete settings: validation comes before "already set up"
            cases.append(('Configure %s' % label, m.Configure, (sv(settings),), INVALID_ARGS, contains))
            cases.append(('Setup %s' % label, m.Setup, (setup_settings(**settings),), INVALID_ARGS, contains))

        def peer_case(label, options, contains, add_want=INVALID_ARGS, update_want=INVALID_ARGS):
            cases.append(('AddPeer %s' % label, m.AddPeer, ('fresh', sv(options)), add_want, contains))
            cases.append(('Update %s' % label, victim.Update, (sv(options),), update_want, contains))

        # wrong variant types, every key
        wrong_cell = {'Name': [dbus.Int32(5), dbus.Boolean(True), strv(['home'])],
                      'Domain': [dbus.UInt32(1), strv(['home.lan'])],
                      'VpnAddress': [dbus.UInt32(0x0a000001), dbus.Array([dbus.Byte(10)], signature='y')],
                      'ListenPort': ['51820', dbus.UInt32(51820), dbus.Int32(51820), dbus.Int16(1), dbus.Byte(1),
                                     dbus.Double(1.0)],
                      'Endpoint': [dbus.Boolean(False), dbus.Int64(1), dbus.ObjectPath('/x')]}
        for key, values in wrong_cell.items():
            for v in values:
                cell_case('%s as %s' % (key, type(v).__name__), {key: v}, (key,))
        wrong_peer = {'PublicKey': [dbus.Array([dbus.Byte(1)] * 32, signature='y'), dbus.Int32(1)],
                      'Address': [dbus.UInt32(0x0a3c0005), strv(['10.60.0.5'])],
                      'ServiceAccess': ['dns', dbus.Array([dbus.Int32(1)], signature='i'),
                                        dbus.Dictionary({'dns': True}, signature='sb')],
                      'PersistentKeepalive': ['25', dbus.UInt32(25), dbus.Int32(25), dbus.Boolean(True)],
                      'PresharedKey': [dbus.Int32(1), dbus.UInt16(1), strv(['x'])]}
        for key, values in wrong_peer.items():
            for v in values:
                peer_case('%s as %s' % (key, type(v).__name__), {key: v}, (key,))
        cell_case('PresharedKey as b', {'PresharedKey': True}, ('PresharedKey', 'known settings'))
        peer_case('PresharedKey as i lists both types', {'PresharedKey': dbus.Int32(1)}, ('(s)', '(b)'))

        # unknown keys, named in the message
        # multi-byte characters across the point where a long key is cut for the message
        for key in ('Bogus', 'name', 'NAME', 'Name ', '', 'a\nb', '\x01', 'ü' * 40, 'a' + 'ü' * 40, '日本' * 20,
                    'k' * 5000, 'Enabled', 'PrivateKey'):
            shown = key[:20]
            cell_case('unknown key %r' % key[:20], {key: 'x'}, ('Unknown setting', shown))
            peer_case('unknown key %r' % key[:20], {key: 'x'}, ('Unknown setting', shown))
        peer_case('unknown key Name', {'Name': 'x'}, ('Name',))

        # values: names, CIDRs, ports, endpoints, sizes, control and non-ASCII characters
        for v in BAD_LABELS + ['l' * 5000, HUGE]:
            cell_case('Name %r' % v[:20], {'Name': v}, ('Name',))
        for v in BAD_DOMAINS + [HUGE]:
            cell_case('Domain %r' % v[:20], {'Domain': v}, ('Domain',))
        for v in BAD_CIDRS + [HUGE]:
            cell_case('VpnAddress %r' % v[:20], {'VpnAddress': v}, ('VpnAddress',))
        cell_case('ListenPort 0', {'ListenPort': q(0)}, ('ListenPort',))
        for v in BAD_ENDPOINTS + [HUGE]:
            cell_case('Endpoint %r' % v[:20], {'Endpoint': v}, ('Endpoint',))
        for v in BAD_KEYS + [HUGE]:
            peer_case('PublicKey %r' % v[:20], {'PublicKey': v}, ('PublicKey',))
            peer_case('PresharedKey %r' % v[:20], {'PresharedKey': v}, ('PresharedKey',))
        for v in ['', '10.60.0.5/24', '10.60.0.5/31', '10.60.0', '10.60.0.5.1', '10.60.0.256', 'x', '10.60.0.5\n',
                  ' 10.60.0.5', '010.60.0.5', 'k' * 5000, HUGE]:
            peer_case('Address %r' % v[:20], {'Address': v}, ('Address',))
        for v in ['10.61.0.5', '10.60.0.0', '10.60.0.255', '8.8.8.8']:
            cases.append(('AddPeer Address %s' % v, m.AddPeer, ('fresh', sv({'Address': v})), INVALID_ARGS, (v,)))
            cases.append(('Update Address %s' % v, victim.Update, (sv({'Address': v}),), INVALID_ARGS, (v,)))
        cases.append(('AddPeer Address taken', m.AddPeer, ('fresh', sv({'Address': '10.60.0.9'})), CONFLICT,
                      ("'victim'",)))
        for v in (['dns', 'nope'], ['dns\n'], ['ü' * 40], ['a' + 'ü' * 40], ['日本' * 20], ['s' * 5000], [HUGE],
                  ['web', 'web']):
            peer_case('ServiceAccess %r' % v[-1][:20], {'ServiceAccess': strv(v)}, ('ServiceAccess',))
        cell_key = self.before_props['PublicKey']
        peer_case('PublicKey of the cell', {'PublicKey': cell_key}, ('PublicKey',), CONFLICT, CONFLICT)
        for name in BAD_NAMES + [HUGE]:
            cases.append(('AddPeer name %r' % name[:20], m.AddPeer, (name, sv({})), INVALID_ARGS, ('Peer name',)))
        cases.append(('AddPeer name taken', m.AddPeer, ('victim', sv({})), CONFLICT, ("'victim'",)))
        for name in BAD_NAMES + ['Victim', HUGE]:
            cases.append(('GetPeerByName %r' % name[:20], m.GetPeerByName, (name,), UNKNOWN_OBJECT, ()))

        n = self.check_all(cases)
        self.assertGreater(n, 300)
        self.assertUnharmed()

    def test_wrong_signatures_and_repeated_keys(self):
        self.start_victim()
        raw = RawBus(self.cell.bus.address)
        self.addCleanup(raw.close)
        V, s = raw.variant, lambda x: raw.variant('s', x)
        M, P = (h.CELL_PATH, MANAGER_IFACE), (self.victim, PEER_IFACE)
        good = raw.dict_with_pairs([])
        cases = [
                # wrong argument signatures: refused by sd-bus before any handler runs
                (M, 'AddPeer', [s('x')], INVALID_ARGS, ('sa{sv}',)),
                (M, 'AddPeer', [], INVALID_ARGS, ()),
                (M, 'AddPeer', [s('x'), V('a{ss}', {'Address': '10.60.0.5'})], INVALID_ARGS, ()),
                (M, 'AddPeer', [s('x'), good, s('extra')], INVALID_ARGS, ()),
                (M, 'AddPeer', [good, s('x')], INVALID_ARGS, ()),
                (M, 'Setup', [], INVALID_ARGS, ()),
                (M, 'Setup', [s('home')], INVALID_ARGS, ()),
                (M, 'Configure', [V('a{sv}', {}), V('a{sv}', {})], INVALID_ARGS, ()),
                (M, 'Configure', [V('a{si}', {'ListenPort': 1})], INVALID_ARGS, ()),
                (M, 'Configure', [V('(sv)', ('Name', V('s', 'x')))], INVALID_ARGS, ()),
                (M, 'Apply', [s('now')], INVALID_ARGS, ()),
                (M, 'DiscardPending', [V('b', True)], INVALID_ARGS, ()),
                (M, 'GetPeerByName', [], INVALID_ARGS, ()),
                (M, 'GetPeerByName', [V('i', 1)], INVALID_ARGS, ()),
                (M, 'GetPeerByName', [V('o', '/org/pic/Cell1/peer/victim')], INVALID_ARGS, ()),
                (P, 'Update', [V('b', True)], INVALID_ARGS, ()),
                (P, 'Update', [], INVALID_ARGS, ()),
                (P, 'SetEnabled', [], INVALID_ARGS, ()),
                (P, 'SetEnabled', [s('false')], INVALID_ARGS, ()),
                (P, 'SetEnabled', [V('u', 0)], INVALID_ARGS, ()),
                (P, 'Remove', [V('b', True)], INVALID_ARGS, ()),
                (P, 'RotateKeys', [s('now')], INVALID_ARGS, ()),
                (P, 'GetConfig', [s('x')], INVALID_ARGS, ()),
                # repeated keys
                (M, 'Configure', [raw.dict_with_pairs([('Name', s('a')), ('Name', s('b'))])], INVALID_ARGS,
                 ('Name', 'more than once')),
                (M, 'Setup', [raw.dict_with_pairs([('Name', s('a')), ('Domain', s('a.lan')), ('VpnAddress', s(VPN)),
                                                   ('VpnAddress', s('10.61.0.1/24'))])], INVALID_ARGS,
                 ('VpnAddress', 'more than once')),
                (M, 'AddPeer', [s('fresh'), raw.dict_with_pairs([('PersistentKeepalive', V('q', 1)),
                                                                 ('PersistentKeepalive', V('q', 2))])],
                 INVALID_ARGS, ('PersistentKeepalive', 'more than once')),
                (M, 'AddPeer', [s('fresh'), raw.dict_with_pairs([('PresharedKey', V('b', True)),
                                                                 ('PresharedKey', s(random_key()))])],
                 INVALID_ARGS, ('PresharedKey', 'more than once')),
                (P, 'Update', [raw.dict_with_pairs([('Address', s('10.60.0.40')), ('Address', s('10.60.0.41'))])],
                 INVALID_ARGS, ('Address', 'more than once')),
                (P, 'Update', [raw.dict_with_pairs([('ServiceAccess', V('as', ['dns'])),
                                                    ('ServiceAccess', V('as', ['web']))])],
                 INVALID_ARGS, ('ServiceAccess', 'more than once')),
                # a variant holding a variant, and containers where a basic type belongs
                (M, 'Configure', [raw.dict_with_pairs([('Name', V('v', s('home')))])], INVALID_ARGS, ('Name',)),
                (M, 'Configure', [raw.dict_with_pairs([('ListenPort', V('(q)', (1,)))])], INVALID_ARGS,
                 ('ListenPort',)),
                (P, 'Update', [raw.dict_with_pairs([('ServiceAccess', V('aas', [['dns']]))])], INVALID_ARGS,
                 ('ServiceAccess',)),
                # unknown members and objects
                (M, 'Frobnicate', [], UNKNOWN_METHOD, ()),
                (('/org/pic/Cell1/peer/nobody', PEER_IFACE), 'Remove', [], UNKNOWN_OBJECT, ()),
                (('/org/pic/Cell1/peer/a_2fb', PEER_IFACE), 'GetConfig', [], UNKNOWN_OBJECT, ()),
                ((h.CELL_PATH, PROPERTIES_IFACE), 'Set', [s(MANAGER_IFACE), s('Name'), V('v', s('x'))],
                 'org.freedesktop.DBus.Error.PropertyReadOnly', ()),
                ((self.victim, PROPERTIES_IFACE), 'Set', [s(PEER_IFACE), s('Enabled'), V('v', V('b', False))],
                 'org.freedesktop.DBus.Error.PropertyReadOnly', ()),
                ((h.CELL_PATH, PROPERTIES_IFACE), 'Get', [s(MANAGER_IFACE), s('Secret')],
                 'org.freedesktop.DBus.Error.UnknownProperty', ()),
        ]
        problems = []
        for (path, iface), method, args, want, contains in cases:
            label = '%s.%s%s' % (iface.rsplit('.', 1)[-1], method, tuple(a.print_(True)[:60] for a in args))
            name, msg = raw.call(path, iface, method, args)
            if name != want:
                problems.append('%s: %s (%s), wanted %s' % (label, name, str(msg)[:200], want))
            for c in contains if name == want else ():
                if c not in msg:
                    problems.append('%s: message %r does not mention %r' % (label, msg, c))
        self.assertEqual(problems, [], '\n'.join(problems))

        # the same through busctl: a clean failure, not a hang
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.cell.bus.address)
        busctl = ['busctl', '--system', '--timeout=10', 'call', h.CELL_BUS_NAME]
        r = h.run(busctl + [h.CELL_PATH, MANAGER_IFACE, 'AddPeer', 's', 'x'], check=False, env=env, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('sa{sv}', r.stderr)
        r = h.run(busctl + [h.CELL_PATH, MANAGER_IFACE, 'Configure', 'a{sv}', '2', 'Domain', 's', 'a.lan',
                            'Domain', 's', 'b.lan'], check=False, env=env, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('more than once', r.stderr)
        r = h.run(busctl + [self.victim, PEER_IFACE, 'SetEnabled', 's', 'no'], check=False, env=env, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('Invalid arguments', r.stderr)

        self.assertUnharmed()


# ---------------------------------------------------------------- 7. web logins

class AuthTest(BusApiTestCase):
    def test_admin_and_peer_logins(self):
        self.start_cell(AdminPassword='correct horse')
        with open(os.path.join(self.cell.state_dir, 'cell.json')) as f:
            cell_json = f.read()
        self.assertNotIn('correct horse', cell_json)
        self.assertIn('$argon2id$', cell_json)
        self.assertIs(bool(self.mgr_props()['HasAdminPassword']), True)

        grant = str(self.mgr_props()['AdminLoginId'])
        self.assertRegex(grant, '^[0-9a-f]{16}$')
        self.assertEqual(tuple(self.mgr.Authenticate('admin', 'correct horse')), ('admin', '', grant))
        for user, password in (('admin', 'wrong horse'), ('admin', ''), ('nobody', 'correct horse'),
                               ('../x', 'y'), ('x' * 100, 'y')):
            self.assertBusError(ACCESS_DENIED, self.mgr.Authenticate, user, password)

        self.assertBusError(ACCESS_DENIED, self.mgr.SetAdminPassword, 'wrong horse', 'battery staple')
        self.assertBusError(INVALID_ARGS, self.mgr.SetAdminPassword, 'correct horse', 'short')
        self.mgr.SetAdminPassword('correct horse', 'battery staple', timeout=CALL_TIMEOUT)
        self.assertBusError(ACCESS_DENIED, self.mgr.Authenticate, 'admin', 'correct horse')
        # a new password, a new grant: what sessions of the old one remember no longer matches
        new_grant = str(self.mgr_props()['AdminLoginId'])
        self.assertNotEqual(new_grant, grant)
        self.assertEqual(tuple(self.mgr.Authenticate('admin', 'battery staple')), ('admin', '', new_grant))
        self.assertBusError(INVALID_ARGS, self.mgr.Configure, sv({'AdminPassword': 'battery staple 2'}))

        path = self.add_peer('laptop')
        self.assertIs(bool(self.peer_props(path)['HasLoginPassword']), False)
        self.assertEqual(str(self.peer_props(path)['LoginId']), '')
        self.assertBusError(ACCESS_DENIED, self.mgr.Authenticate, 'laptop', '')
        password = str(self.peer(path).SetLoginPassword(timeout=CALL_TIMEOUT))
        self.assertEqual(len(password), 20)
        self.assertIs(bool(self.peer_props(path)['HasLoginPassword']), True)
        login_id = str(self.peer_props(path)['LoginId'])
        self.assertRegex(login_id, '^[0-9a-f]{16}$')
        self.assertEqual(tuple(self.mgr.Authenticate('laptop', password)), ('peer', 'laptop', login_id))
        with open(os.path.join(self.cell.state_dir, 'peers', 'laptop.json')) as f:
            self.assertNotIn(password, f.read())
        self.peer(path).SetEnabled(False, timeout=CALL_TIMEOUT)
        self.assertBusError(ACCESS_DENIED, self.mgr.Authenticate, 'laptop', password)

        # logins survive a restart; without the polkit action nobody may check them
        self.cell.restart()
        self.mgr = self.cell.manager()
        self.assertEqual(tuple(self.mgr.Authenticate('admin', 'battery staple')), ('admin', '', new_grant))
        self.cell.polkit.set_allowed([a for a in ALL_ACTIONS if a != 'org.pic.cell1.authenticate'])
        self.assertBusError(ACCESS_DENIED, self.mgr.Authenticate, 'admin', 'battery staple')

    def test_setup_refuses_a_weak_admin_password(self):
        self.start_cell(setup=False)
        self.assertBusError(INVALID_ARGS, self.mgr.Setup, setup_settings(AdminPassword='short'),
                            contains=('AdminPassword',))
        self.assertIs(bool(self.mgr_props()['SetupComplete']), False)


if __name__ == '__main__':
    h.main()
