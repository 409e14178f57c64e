// SPDX-License-Identifier: LGPL-2.1-or-later
// The web UI's transport over pic-gatewayd's REST API (see api-contract / openapi.json).
// Views only use the object createRestApi() returns; api-cockpit.js offers the same
// methods over cockpit.dbus(), so the views run unchanged in Cockpit. The interface:
//   status setup login logout changePassword getCell configure apply discard
//   listPeers listPeerPage getPeer addPeer updatePeer removePeer setEnabled peerConfig peerQrSvgUrl peerQrSvg
//   setPeerLogin listLinks addLink setShared offerExit removeLink listInvites createInvite revokeInvite
//   listExits addExit updateExit removeExit testExit
//   backup restore
//   subscribe onSessionLost
// and two plain fields: transport (a name) and capabilities ({session, webLogins, backup}: what the
// views may offer; Cockpit's transport has no sign-in of its own, no web UI passwords, no archives).

import { ApiError } from './errors.js';

const POLL_MS = 5000;          // refresh interval when server-sent events are unavailable
const RESYNC_MS = 30000;       // refresh even while events flow, in case one was missed
const SSE_OPEN_TIMEOUT_MS = 5000;

function retryAfterSeconds(res) {
        const v = res.headers.get('Retry-After');
        const n = v === null ? NaN : Number(v);
        return Number.isFinite(n) ? n : null;
}

async function errorFromResponse(res) {
        let body = {};
        try {
                body = await res.json();
        } catch {
                // an error without a JSON body: the status says enough
        }
        return new ApiError(res.status, body.error || `http_${res.status}`,
                            body.message || res.statusText || `HTTP ${res.status}`,
                            body.field || null, retryAfterSeconds(res));
}

const enc = encodeURIComponent;

// The cursor of the page the Link header's rel="next" names, or null on the last page.
function nextCursor(res) {
        for (const part of (res.headers.get('Link') || '').split(',')) {
                const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
                if (m && /(^|;)\s*rel="?next"?\s*(;|$)/.test(m[2]))
                        return new URL(m[1], location.href).searchParams.get('cursor');
        }
        return null;
}

/**
 * @param {{base?: string}} options  base URL of the gateway ("" = same origin)
 */
export function createRestApi({ base = '' } = {}) {
        let csrfToken = null;
        const listeners = new Set();
        const sessionLostHandlers = new Set();
        let events = null;        // {source, timers} while someone is subscribed

        // body: JSON; data: sent as it is (a file) with headers; raw: the Response back (a download read by the caller,
        // or a 304 answering the caller's If-None-Match)
        async function request(method, path, { body, data, headers: extra = {}, accept = 'application/json', authRoute = false,
                                               raw = false } = {}) {
                const headers = { Accept: accept, ...extra };
                if (body !== undefined)
                        headers['Content-Type'] = 'application/json';
                if (method !== 'GET' && method !== 'HEAD' && csrfToken)
                        headers['X-CSRF-Token'] = csrfToken;
                let res;
                try {
                        res = await fetch(base + path, {
                                method,
                                headers,
                                body: data !== undefined ? data : body === undefined ? undefined : JSON.stringify(body),
                                credentials: 'same-origin',
                                cache: 'no-store',
                        });
                } catch (e) {
                        throw new ApiError(0, 'network', `Cannot reach the gateway (${e.message})`);
                }
                if (!res.ok && !(raw && res.status === 304)) {
                        const err = await errorFromResponse(res);
                        if (res.status === 401 && !authRoute) {
                                csrfToken = null;
                                stopEvents();
                                for (const fn of sessionLostHandlers)
                                        fn(err);
                        }
                        throw err;
                }
                if (raw)
                        return res;
                if (res.status === 204)
                        return null;
                if (accept === 'application/json')
                        return res.json();
                return res.text();
        }

        function rememberSession(s) {
                csrfToken = s && s.csrf_token ? s.csrf_token : null;
                return s ? { role: s.role, peer: s.peer ?? null } : null;
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

        // What a client would have learned from missed events: the cell, and a 'resync' for the views to
        // ask again for what they show (the Peers page its page, with If-None-Match; never every peer).
        async function resync() {
                try {
                        emit({ type: 'cell', data: await api.getCell() });
                        emit({ type: 'resync', data: null });
                } catch (e) {
                        if (e.status !== 401)
                                emit({ type: 'error', data: e });
                }
        }

        function startPolling() {
                if (!events || events.pollTimer)
                        return;
                events.pollTimer = setInterval(resync, POLL_MS);
                emit({ type: 'transport', data: { live: false, mode: 'polling' } });
        }

        function startEvents() {
                events = { source: null, pollTimer: null, resyncTimer: null, openTimer: null };
                if (typeof EventSource === 'undefined') {
                        startPolling();
                        return;
                }
                const source = new EventSource(base + '/api/events', { withCredentials: true });
                events.source = source;
                const onData = type => ev => {
                        try {
                                emit({ type, data: JSON.parse(ev.data) });
                        } catch (e) {
                                console.error('bad event', type, e);
                        }
                };
                source.addEventListener('cell', onData('cell'));
                source.addEventListener('peer', onData('peer'));
                source.addEventListener('peer-removed', onData('peer-removed'));
                source.addEventListener('open', () => {
                        clearTimeout(events.openTimer);
                        if (events.pollTimer) {
                                clearInterval(events.pollTimer);
                                events.pollTimer = null;
                        }
                        emit({ type: 'transport', data: { live: true, mode: 'events' } });
                        resync();   // whatever changed while we were not connected
                });
                source.addEventListener('error', () => {
                        // CONNECTING: the browser retries by itself; poll meanwhile. CLOSED: gave up.
                        startPolling();
                        if (source.readyState === EventSource.CLOSED)
                                events.source = null;
                });
                events.openTimer = setTimeout(() => {
                        if (source.readyState !== EventSource.OPEN)
                                startPolling();
                }, SSE_OPEN_TIMEOUT_MS);
                events.resyncTimer = setInterval(() => {
                        if (!events.pollTimer)
                                resync();
                }, RESYNC_MS);
        }

        function stopEvents() {
                if (!events)
                        return;
                if (events.source)
                        events.source.close();
                clearInterval(events.pollTimer);
                clearInterval(events.resyncTimer);
                clearTimeout(events.openTimer);
                events = null;
        }

        const api = {
                transport: 'rest',
                capabilities: { session: true, webLogins: true, backup: true },

                /** {setupComplete, session: {role, peer} | null} */
                async status() {
                        const health = await request('GET', '/health', { authRoute: true });
                        if (!health.setup_complete)
                                return { setupComplete: false, session: null };
                        try {
                                const s = await request('GET', '/api/session', { authRoute: true });
                                return { setupComplete: true, session: rememberSession(s) };
                        } catch (e) {
                                if (e.status === 401)
                                        return { setupComplete: true, session: rememberSession(null) };
                                throw e;
                        }
                },

                /** settings: {name, domain, vpn_address, listen_port?, endpoint?, admin_password} → cell */
                setup(settings) {
                        return request('POST', '/api/setup', { body: settings, authRoute: true });
                },

                async login(username, password) {
                        const s = await request('POST', '/api/login', { body: { username, password }, authRoute: true });
                        return rememberSession(s);
                },

                async logout() {
                        stopEvents();
                        try {
                                await request('POST', '/api/logout', { authRoute: true });
                        } finally {
                                csrfToken = null;
                        }
                },

                changePassword(oldPassword, newPassword) {
                        return request('POST', '/api/password',
                                       { body: { old_password: oldPassword, new_password: newPassword } });
                },

                getCell() {
                        return request('GET', '/api/cell');
                },

                /** changes: {name?, domain?, vpn_address?, listen_port?, endpoint?} → cell */
                configure(changes) {
                        return request('PATCH', '/api/cell', { body: changes });
                },

                apply() {
                        return request('POST', '/api/cell/apply');
                },

                discard() {
                        return request('POST', '/api/cell/discard');
                },

                /** every peer, sorted by name (for the views that need them all; the Peers page pages) */
                listPeers() {
                        return request('GET', '/api/peers');
                },

                /**
                 * One page of peers sorted by name: at most limit (1..1000), only names after cursor, only names
                 * starting with prefix → {peers, total (matching prefix), next (the cursor of the next page, or
                 * null), etag}, or {notModified: true, etag} when etag is given and nothing changed.
                 */
                async listPeerPage({ limit = 100, cursor = null, prefix = '', etag = null } = {}) {
                        const q = new URLSearchParams({ limit: String(limit) });
                        if (prefix)
                                q.set('prefix', prefix);
                        if (cursor !== null && cursor !== undefined)
                                q.set('cursor', cursor);
                        const res = await request('GET', `/api/peers?${q}`, { raw: true,
                                                                               headers: etag ? { 'If-None-Match': etag } : {} });
                        if (res.status === 304)
                                return { notModified: true, etag };
                        const peers = await res.json();
                        const count = res.headers.get('X-Total-Count');
                        const total = count === null ? NaN : Number(count);
                        return { peers, total: Number.isFinite(total) ? total : peers.length, next: nextCursor(res),
                                 etag: res.headers.get('ETag') };
                },

                getPeer(name) {
                        return request('GET', `/api/peers/${enc(name)}`);
                },

                /** options: {public_key?, address?, service_access?, network_access?, persistent_keepalive?, preshared_key?} → peer */
                addPeer(name, options = {}) {
                        return request('POST', '/api/peers', { body: { name, ...options } });
                },

                updatePeer(name, changes) {
                        return request('PATCH', `/api/peers/${enc(name)}`, { body: changes });
                },

                removePeer(name) {
                        return request('DELETE', `/api/peers/${enc(name)}`);
                },

                setEnabled(name, enabled) {
                        return request('PATCH', `/api/peers/${enc(name)}`, { body: { enabled: !!enabled } });
                },

                /** the peer's wg-quick configuration (text; carries its private key when the cell made it) */
                peerConfig(name) {
                        return request('GET', `/api/peers/${enc(name)}/config`, { accept: 'text/plain' });
                },

                /** a URL the QR code (SVG) of the peer's configuration can be loaded from */
                peerQrSvgUrl(name) {
                        return `${base}/api/peers/${enc(name)}/config.svg`;
                },

                /** the QR code of the peer's configuration as SVG text */
                peerQrSvg(name) {
                        return request('GET', `/api/peers/${enc(name)}/config.svg`, { accept: 'image/svg+xml' });
                },

                /** gives the peer a new random web UI password, replacing any earlier one → {password} (shown once) */
                setPeerLogin(name) {
                        return request('POST', `/api/peers/${enc(name)}/login`);
                },

                listLinks() {
                        return request('GET', '/api/links');
                },

                /** pairs with the cell that made the invite → link */
                addLink(invite) {
                        return request('POST', '/api/links', { body: { invite } });
                },

                /** what this cell shares with the linked cell → link */
                setShared(name, shared) {
                        return request('PATCH', `/api/links/${enc(name)}`, { body: { shared } });
                },

                /** offers this cell's uplink to the linked cell as an exit for its peers, or withdraws it */
                offerExit(name, offer) {
                        return request('POST', `/api/links/${enc(name)}/offer-exit`, { body: { offer: !!offer } });
                },

                removeLink(name) {
                        return request('DELETE', `/api/links/${enc(name)}`);
                },

                listInvites() {
                        return request('GET', '/api/invites');
                },

                /** lifetime in seconds → {invite, expires, qr_svg} (shown once) */
                createInvite(lifetime) {
                        return request('POST', '/api/invites', { body: lifetime ? { lifetime } : {} });
                },

                revokeInvite(id) {
                        return request('DELETE', `/api/invites/${enc(id)}`);
                },

                listExits() {
                        return request('GET', '/api/exits');
                },

                /** exit: {name, type, config (wg-quick text, never shown again), test_target?} → exit */
                addExit(exit) {
                        return request('POST', '/api/exits', { body: exit });
                },

                /** changes: {config?, test_target?} → exit */
                updateExit(name, changes) {
                        return request('PATCH', `/api/exits/${enc(name)}`, { body: changes });
                },

                removeExit(name) {
                        return request('DELETE', `/api/exits/${enc(name)}`);
                },

                /** connects to the exit's test target through it only → {connect_usec} */
                testExit(name) {
                        return request('POST', `/api/exits/${enc(name)}/test`);
                },

                /**
                 * options: {passphrase} or {unencrypted: true} → {blob, filename}: the cell's archive, streamed
                 * as it is written; one cut short (the cell failed midway) throws instead of giving a part.
                 */
                async backup(options) {
                        const res = await request('POST', '/api/backup', { body: options, accept: 'application/octet-stream',
                                                                           raw: true });
                        let blob;
                        try {
                                blob = await res.blob();
                        } catch (e) {
                                throw new ApiError(0, 'network', `The backup was cut off before its end (${e.message}); try again.`);
                        }
                        const m = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
                        return { blob, filename: m ? m[1] : 'cell.picbackup' };
                },

                /**
                 * Replaces everything the cell has with the archive (a File or Blob, sent as it is); passphrase ''
                 * for a plain one → {cell}. The cell then restarts to load it: calls fail or wait meanwhile.
                 */
                restore(file, passphrase) {
                        const headers = { 'Content-Type': 'application/octet-stream' };
                        if (passphrase)   // a header carries no other bytes than these
                                headers['X-Backup-Passphrase'] = encodeURIComponent(passphrase);
                        return request('POST', '/api/restore?replace=true', { data: file, headers });
                },

                /**
                 * callback({type, data}) for type 'cell' (cell), 'peer' (peer), 'peer-removed' ({name}),
                 * 'resync' (null: events may have been missed, ask again for what is shown), 'transport'
                 * ({live, mode}), 'error' (ApiError).
                 * Returns a function that unsubscribes.
                 */
                subscribe(callback) {
                        listeners.add(callback);
                        if (!events)
                                startEvents();
                        return () => {
                                listeners.delete(callback);
                                if (listeners.size === 0)
                                        stopEvents();
                        };
                },

                /** callback(error) when the session ends under us (expired, logged out elsewhere) */
                onSessionLost(callback) {
                        sessionLostHandlers.add(callback);
                        return () => sessionLostHandlers.delete(callback);
                },
        };
        return api;
}
