// SPDX-License-Identifier: LGPL-2.1-or-later
// The Cockpit page's transport: the interface web/api-rest.js's createRestApi() returns, over
// cockpit.dbus() straight to org.pic.Cell1, so the web UI's views run unchanged in Cockpit.
// What the views call each bus property, and what each D-Bus error means, comes from
// web/bus-fields.json, the file pic-gatewayd compiles its own tables from: never written twice.
// Cockpit's login is the session (no sign-in, sign-out or web UI passwords here: capabilities);
// polkit decides every change, asking through Cockpit's agent (interactive authorization).

import { ApiError } from './web/errors.js';

const BUS_NAME = 'org.pic.Cell1';
const MANAGER_PATH = '/org/pic/Cell1';
const MANAGER = 'org.pic.Cell1.Manager';
const PEER = 'org.pic.Cell1.Peer';
const LINK = 'org.pic.Cell1.Link';
const EXIT = 'org.pic.Cell1.Exit';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const OBJECT_MANAGER = 'org.freedesktop.DBus.ObjectManager';
const PATH_PREFIX = { [PEER]: '/org/pic/Cell1/peer', [LINK]: '/org/pic/Cell1/link', [EXIT]: '/org/pic/Cell1/exit' };
const CALL_TIMEOUT_MS = 120000;   // polkit may be asking the admin for a password meanwhile
const PAGE_MAX = 1000;            // the most peers one listPeerPage() gives, as the gateway's limit
const PAGE_WORDS = {   // a cursor is a peer name (the last of the page before), a prefix the start of one
        cursor: [/^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/, 'a peer name (the last one of the page before)'],
        prefix: [/^[A-Za-z0-9_-]{0,32}$/, 'at most 32 characters: letters, digits, "-" and "_"'],
};

/** The gateway's camel_to_snake(): keys inside a{sv} values (PendingChanges) are named mechanically. */
export function camelToSnake(s) {
        return s.replace(/[A-Z]/g, (c, i) => (i > 0 ? '_' : '') + c.toLowerCase());
}

// sd_bus_path_encode(): every byte but letters (and digits after the first) as _xx.
function pathEncode(prefix, name) {
        if (name === '')
                return `${prefix}/_`;
        let out = '';
        for (const [i, b] of [...new TextEncoder().encode(name)].entries()) {
                const c = String.fromCharCode(b);
                out += /[A-Za-z]/.test(c) || (i > 0 && /[0-9]/.test(c)) ? c : '_' + b.toString(16).padStart(2, '0');
        }
        return `${prefix}/${out}`;
}

function pathDecode(prefix, path) {
        if (!path.startsWith(prefix + '/'))
                return null;
        const label = path.slice(prefix.length + 1);
        if (label === '_')
                return '';
        const bytes = [];
        for (let i = 0; i < label.length; i++) {
                if (label[i] === '_') {
                        bytes.push(parseInt(label.slice(i + 1, i + 3), 16));
                        i += 2;
                } else
                        bytes.push(label.charCodeAt(i));
        }
        return new TextDecoder().decode(new Uint8Array(bytes));
}

// A bus value as the gateway's JSON has it: variants unwrapped, a{sv} keys snake_case.
function plain(value, type) {
        if (type === 'a{sv}') {
                const out = {};
                for (const [k, v] of Object.entries(value || {}))
                        out[camelToSnake(k)] = v && typeof v === 'object' && 't' in v ? plain(v.v, v.t) : v;
                return out;
        }
        return value;
}

// FNV-1a of a string, in hex: the page's ETag (it only has to change when the page does).
function fnv1a(text) {
        let hash = 0x811c9dc5;
        for (let i = 0; i < text.length; i++)
                hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
        return hash.toString(16).padStart(8, '0');
}

/**
 * One page of `all` (sorted by name) as GET /api/peers?limit&cursor&prefix gives it: the names starting
 * with prefix, after cursor, at most limit → {peers, total, next, etag}, or {notModified, etag}.
 */
export function peerPage(all, { limit = 100, cursor = null, prefix = '', etag = null } = {}) {
        if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX)
                throw new ApiError(400, 'invalid', `limit must be a number from 1 to ${PAGE_MAX}.`, 'limit');
        for (const [field, v] of [['cursor', cursor], ['prefix', prefix]]) {
                const [valid, words] = PAGE_WORDS[field];
                if (v !== null && v !== undefined && (typeof v !== 'string' || !valid.test(v)))
                        throw new ApiError(400, 'invalid', `${field} must be ${words}.`, field);
        }
        const matching = prefix ? all.filter(p => p.name.startsWith(prefix)) : all;
        const after = cursor ? matching.filter(p => p.name > cursor) : matching;
        const peers = after.slice(0, limit);
        const tag = `"${fnv1a(JSON.stringify([matching.length, peers]))}"`;
        if (etag && etag === tag)
                return { notModified: true, etag };
        return { peers, total: matching.length, next: after.length > limit ? peers[peers.length - 1].name : null, etag: tag };
}

/** The fields table's view of one object's properties ({Key: {t, v}} as GetAll gives them). */
export function fromBus(table, props) {
        const out = {};
        for (const { json, dbus, type } of table) {
                const v = props[dbus];
                if (v !== undefined)
                        out[json] = plain(v.v, v.t || type);
        }
        return out;
}

/** Loads web/bus-fields.json into {tables: {cell_fields: [{json, dbus, type}]…}, errors: Map}. */
export async function loadBusFields(url = new URL('./web/bus-fields.json', import.meta.url)) {
        const res = await fetch(url, { cache: 'no-cache' });
        if (!res.ok)
                throw new ApiError(res.status, 'failed', `Cannot load ${url}: ${res.statusText}`);
        const data = await res.json();
        const tables = {};
        for (const [name, rows] of Object.entries(data)) {
                if (name.endsWith('_fields'))
                        tables[name] = rows.map(([json, dbus, type]) => ({ json, dbus, type }));
        }
        return { tables, errors: new Map(data.errors.map(([name, status, code]) => [name, { status, code }])) };
}

/**
 * cockpit: the cockpit.js object; fields: loadBusFields()'s answer.
 */
export function createCockpitApi(cockpit, fields) {
        const T = fields.tables;
        const client = cockpit.dbus(BUS_NAME, { bus: 'system', superuser: 'try' });
        const listeners = new Set();
        let watching = null;    // the signal subscriptions while someone is subscribed

        // What a daemon error message names (its D-Bus key, a whole word) → the field, as bus_error_field().
        function errorField(message, table) {
                let best = null;
                let bestAt = Infinity;
                for (const { json, dbus } of table || []) {
                        const m = new RegExp(`(^|[^A-Za-z0-9])${dbus}(?![A-Za-z0-9])`).exec(message || '');
                        if (m && m.index < bestAt) {
                                best = json;
                                bestAt = m.index;
                        }
                }
                return best;
        }

        function toApiError(e, table) {
                if (e instanceof ApiError)
                        return e;
                if (e && e.problem && !e.name)   // the channel, not the cell: Cockpit's own words
                        return new ApiError(0, 'network', `Cannot reach the cell (${cockpit.message(e)})`);
                const name = (e && e.name) || '';
                const known = fields.errors.get(name) || { status: 500, code: 'failed' };
                let message = (e && e.message) || name || String(e);
                if (known.status === 504)
                        message = 'The cell did not answer in time.';
                else if (known.code === 'forbidden' && /^Access denied for org\.pic\./.test(message))
                        message = 'not permitted without administrative access (Cockpit\'s "Limited access" ' +
                                  `button turns it on). The cell said: ${message}`;
                return new ApiError(known.status, known.code, message,
                                    known.status === 400 ? errorField(message, table) : null);
        }

        async function call(path, iface, method, args = [], type = '', table = null) {
                try {
                        return await client.call(path, iface, method, args,
                                                 { type, flags: 'i', timeout: CALL_TIMEOUT_MS });
                } catch (e) {
                        throw toApiError(e, table);
                }
        }

        // JSON settings → a{sv}, as the gateway's bus_append_settings() (the same table, the same words)
        function toBus(table, obj) {
                const out = {};
                for (const [key, v] of Object.entries(obj || {})) {
                        if (v === undefined)
                                continue;
                        const f = table.find(r => r.json === key);
                        if (!f)
                                throw new ApiError(400, 'invalid', `Unknown field '${key}'.`, key);
                        const wrong = what => new ApiError(400, 'invalid', `${key} must be ${what}.`, key);
                        if (f.type === 's' || (f.type === 's|b' && typeof v === 'string')) {
                                if (typeof v !== 'string')
                                        throw wrong('a string');
                                out[f.dbus] = cockpit.variant('s', v);
                        } else if (f.type === 'b' || f.type === 's|b') {
                                if (typeof v !== 'boolean')
                                        throw wrong(f.type === 'b' ? 'true or false' : 'a string or true/false');
                                out[f.dbus] = cockpit.variant('b', v);
                        } else if (f.type === 'q') {
                                if (!Number.isInteger(v) || v < 0 || v > 65535)
                                        throw wrong('a number from 0 to 65535');
                                out[f.dbus] = cockpit.variant('q', v);
                        } else if (f.type === 'as') {
                                if (!Array.isArray(v) || v.some(s => typeof s !== 'string'))
                                        throw wrong('a list of strings');
                                out[f.dbus] = cockpit.variant('as', v);
                        } else
                                throw wrong('something this page cannot send');
                }
                return out;
        }

        async function getAll(path, iface, table) {
                const [props] = await call(path, PROPERTIES, 'GetAll', [iface], 's');
                return fromBus(table, props);
        }

        async function getCell() {
                const cell = await getAll(MANAGER_PATH, MANAGER, T.cell_fields);
                if (!('pending_changes' in cell))
                        cell.pending_changes = {};
                return cell;
        }

        async function objects(iface, table) {
                const [all] = await call(MANAGER_PATH, OBJECT_MANAGER, 'GetManagedObjects');
                const list = [];
                for (const ifaces of Object.values(all)) {
                        if (ifaces[iface])
                                list.push(fromBus(table, ifaces[iface]));
                }
                return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        }

        async function peerPath(name) {
                const [path] = await call(MANAGER_PATH, MANAGER, 'GetPeerByName', [name], 's', T.peer_fields);
                return path;
        }

        async function peerCall(name, method, args = [], type = '') {
                return call(await peerPath(name), PEER, method, args, type, T.peer_fields);
        }

        const getPeer = async name => getAll(await peerPath(name), PEER, T.peer_fields);
        const linkPath = name => pathEncode(PATH_PREFIX[LINK], name);
        const exitPath = name => pathEncode(PATH_PREFIX[EXIT], name);

        // The QR code as SVG, made by qrencode on the host (as the gateway does with libqrencode):
        // the text goes in on stdin, never on a command line.
        async function qrSvg(text) {
                try {
                        return await cockpit.spawn(['qrencode', '-t', 'SVG', '-l', 'M', '-o', '-'], { err: 'message' })
                                .input(text);
                } catch (e) {
                        throw new ApiError(500, 'failed', `Cannot draw the QR code: ${cockpit.message(e)}` +
                                           (e && e.problem === 'not-found' ? ' (install qrencode)' : ''));
                }
        }

        function emit(event) {
                for (const fn of listeners) {
                        try {
                                fn(event);
                        } catch (e) {
                                console.error('event listener failed', e);
                        }
                }
        }

        // as the REST transport's: the cell, then 'resync' for the views to ask again for what they show
        async function resync() {
                try {
                        emit({ type: 'cell', data: await getCell() });
                        emit({ type: 'resync', data: null });
                } catch (e) {
                        emit({ type: 'error', data: toApiError(e) });
                }
        }

        // The cell's signals, as the gateway's events.c follows them: changed properties are merged in
        // as they come (no GetAll per change), objects added and removed, a new daemon read again.
        function startWatching() {
                const names = new Map();    // peer path → name, for signals that carry only the path
                const onChanged = (path, _iface, _signal, [iface, changed]) => {
                        if (iface === MANAGER && path === MANAGER_PATH) {
                                emit({ type: 'cell', data: fromBus(T.cell_fields, changed) });
                        } else if (iface === PEER) {
                                const name = names.get(path) ?? pathDecode(PATH_PREFIX[PEER], path);
                                if (name !== null)
                                        emit({ type: 'peer', data: { ...fromBus(T.peer_fields, changed), name } });
                        }
                };
                const onAdded = (_path, _iface, _signal, [path, ifaces]) => {
                        if (ifaces[PEER]) {
                                const peer = fromBus(T.peer_fields, ifaces[PEER]);
                                names.set(path, peer.name);
                                emit({ type: 'peer', data: peer });
                        }
                };
                const onRemoved = (_path, _iface, _signal, [path, ifaces]) => {
                        if (!ifaces.includes(PEER))
                                return;
                        const name = names.get(path) ?? pathDecode(PATH_PREFIX[PEER], path);
                        names.delete(path);
                        if (name !== null)
                                emit({ type: 'peer-removed', data: { name } });
                };
                const onOwner = (_ev, owner) => {
                        if (owner)
                                resync();   // a new pic-celld (a restart, a restore) may hold other state
                };
                const subs = [
                        client.subscribe({ interface: PROPERTIES, member: 'PropertiesChanged', path_namespace: MANAGER_PATH },
                                         onChanged),
                        client.subscribe({ interface: OBJECT_MANAGER, member: 'InterfacesAdded', path: MANAGER_PATH }, onAdded),
                        client.subscribe({ interface: OBJECT_MANAGER, member: 'InterfacesRemoved', path: MANAGER_PATH },
                                         onRemoved),
                ];
                client.addEventListener('owner', onOwner);
                emit({ type: 'transport', data: { live: true, mode: 'dbus' } });
                return () => {
                        subs.forEach(s => s.remove());
                        client.removeEventListener('owner', onOwner);
                };
        }

        const unsupported = what => Promise.reject(new ApiError(501, 'not_supported', what));

        const api = {
                transport: 'cockpit',
                // session: Cockpit's login is the session (no sign-in or sign-out here); webLogins: the web
                // UI's own passwords belong to the web UI; backup: an archive travels through a file
                // descriptor, which cockpit.dbus() cannot pass.
                capabilities: { session: false, webLogins: false, backup: false },

                // the views' admin pages for Cockpit's user (polkit decides what that user may change)
                async status() {
                        const [[v], user] = await Promise.all([
                                call(MANAGER_PATH, PROPERTIES, 'Get', [MANAGER, 'SetupComplete'], 'ss'),
                                cockpit.user().catch(() => ({})),
                        ]);
                        return { setupComplete: !!v.v, session: v.v ? { role: 'admin', peer: null, user: user.name || null } : null };
                },

                async setup(settings) {
                        await call(MANAGER_PATH, MANAGER, 'Setup', [toBus(T.cell_fields, settings)], 'a{sv}', T.cell_fields);
                        return getCell();
                },

                async login() {
                        return { role: 'admin', peer: null };
                },

                async logout() {
                        // Cockpit's session ends in Cockpit
                },

                async changePassword(oldPassword, newPassword) {
                        await call(MANAGER_PATH, MANAGER, 'SetAdminPassword', [oldPassword, newPassword], 'ss');
                        return null;
                },

                getCell,

                async configure(changes) {
                        await call(MANAGER_PATH, MANAGER, 'Configure', [toBus(T.cell_fields, changes)], 'a{sv}', T.cell_fields);
                        return getCell();
                },

                async apply() {
                        await call(MANAGER_PATH, MANAGER, 'Apply');
                        return getCell();
                },

                async discard() {
                        await call(MANAGER_PATH, MANAGER, 'DiscardPending');
                        return getCell();
                },

                listPeers: () => objects(PEER, T.peer_fields),
                // the bus has no pages: the whole list, paged here with the gateway's order and words
                listPeerPage: async (options = {}) => peerPage(await objects(PEER, T.peer_fields), options),
                getPeer,

                async addPeer(name, options = {}) {
                        const [path] = await call(MANAGER_PATH, MANAGER, 'AddPeer', [name, toBus(T.peer_fields, options)],
                                                  'sa{sv}', T.peer_fields);
                        return getAll(path, PEER, T.peer_fields);
                },

                async updatePeer(name, changes) {
                        const { enabled, ...settings } = changes;
                        const path = await peerPath(name);
                        if (Object.keys(settings).length)
                                await call(path, PEER, 'Update', [toBus(T.peer_fields, settings)], 'a{sv}', T.peer_fields);
                        if (enabled !== undefined)
                                await call(path, PEER, 'SetEnabled', [!!enabled], 'b');
                        return getAll(path, PEER, T.peer_fields);
                },

                async removePeer(name) {
                        await peerCall(name, 'Remove');
                        return null;
                },

                setEnabled(name, enabled) {
                        return api.updatePeer(name, { enabled: !!enabled });
                },

                async peerConfig(name) {
                        const [text] = await peerCall(name, 'GetConfig');
                        return text;
                },

                /** no URL serves it here (the views use peerQrSvg()) */
                peerQrSvgUrl() {
                        return null;
                },

                async peerQrSvg(name) {
                        return qrSvg(await api.peerConfig(name));
                },

                async setPeerLogin(name) {
                        const [password] = await peerCall(name, 'SetLoginPassword');
                        return { password };
                },

                listLinks: () => objects(LINK, T.link_fields),

                async addLink(invite) {
                        const [path] = await call(MANAGER_PATH, MANAGER, 'AddLink', [invite, {}], 'sa{sv}', T.link_fields);
                        return getAll(path, LINK, T.link_fields);
                },

                async setShared(name, shared) {
                        await call(linkPath(name), LINK, 'SetShared', [shared], 'as', T.link_fields);
                        return getAll(linkPath(name), LINK, T.link_fields);
                },

                async offerExit(name, offer) {
                        await call(linkPath(name), LINK, 'OfferExit', [!!offer], 'b', T.link_fields);
                        return getAll(linkPath(name), LINK, T.link_fields);
                },

                async removeLink(name) {
                        await call(linkPath(name), LINK, 'Remove');
                        return null;
                },

                async listInvites() {
                        const [invites] = await call(MANAGER_PATH, MANAGER, 'ListInvites');
                        return invites.map(([id, created, expires]) => ({ id, created, expires }));
                },

                async createInvite(lifetime) {
                        const options = lifetime ? { Lifetime: cockpit.variant('u', lifetime) } : {};
                        const [invite, expires] = await call(MANAGER_PATH, MANAGER, 'CreateInvite', [options], 'a{sv}');
                        return { invite, expires, qr_svg: await qrSvg(invite) };
                },

                async revokeInvite(id) {
                        await call(MANAGER_PATH, MANAGER, 'RevokeInvite', [id], 's');
                        return null;
                },

                listExits: () => objects(EXIT, T.exit_fields),

                async addExit(exit) {
                        const { name, type, ...settings } = exit;
                        const [path] = await call(MANAGER_PATH, MANAGER, 'AddExit',
                                                  [name, type, toBus(T.exit_setting_fields, settings)], 'ssa{sv}',
                                                  T.exit_setting_fields);
                        return getAll(path, EXIT, T.exit_fields);
                },

                async updateExit(name, changes) {
                        await call(exitPath(name), EXIT, 'Update', [toBus(T.exit_setting_fields, changes)], 'a{sv}',
                                   T.exit_setting_fields);
                        return getAll(exitPath(name), EXIT, T.exit_fields);
                },

                async removeExit(name) {
                        await call(exitPath(name), EXIT, 'Remove');
                        return null;
                },

                async testExit(name) {
                        const [usec] = await call(exitPath(name), EXIT, 'Test');
                        return { connect_usec: usec };
                },

                backup() {
                        return unsupported('Backups are made with "picctl backup" or in the web UI here.');
                },

                restore() {
                        return unsupported('Restores are made with "picctl restore" or in the web UI here.');
                },

                subscribe(callback) {
                        listeners.add(callback);
                        if (!watching)
                                watching = startWatching();
                        return () => {
                                listeners.delete(callback);
                                if (listeners.size === 0 && watching) {
                                        watching();
                                        watching = null;
                                }
                        };
                },

                /** Cockpit's session ends by Cockpit's own page; the bus connection closing is the nearest */
                onSessionLost(callback) {
                        const onClose = (_ev, options) => callback(toApiError(options || { problem: 'disconnected' }));
                        client.addEventListener('close', onClose);
                        return () => client.removeEventListener('close', onClose);
                },
        };
        return api;
}
