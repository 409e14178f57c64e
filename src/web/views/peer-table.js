// SPDX-License-Identifier: LGPL-2.1-or-later
// The Peers page's table: one row per peer of the page shown (handshake age, traffic, kept live),
// and each row's actions (config, QR code, enable/disable, exit, web login, remove).

import { h, clear, formatAge, formatBytes } from '../dom.js';
import { errorText } from '../forms.js';
import { showQrDialog, confirmRemove, confirmReplaceLogin, showLoginDialog, downloadConfig,
         showExitDialog } from './peer-dialogs.js';

export const SERVICES = [
        { value: 'dns', label: 'DNS' },
        { value: 'web', label: 'Web' },
        { value: 'mail', label: 'Mail' },
        { value: 'calendar', label: 'Calendar' },
        { value: 'files', label: 'Files' },
        { value: 'webdav', label: 'WebDAV' },
];
export const NETWORKS = [
        { value: 'internet', label: 'Internet' },
        { value: 'lan', label: 'LAN' },
        { value: 'peers', label: 'Other peers' },
];
const ONLINE_SECONDS = 180;   // WireGuard re-handshakes every 2 min while traffic flows
const COLUMNS = ['Name', 'Address', 'Services', 'Networks', 'Exit', 'Status', 'Last handshake', 'Received', 'Sent', 'Actions'];

function labels(list, known) {
        const names = (list || []).map(v => (known.find(s => s.value === v) || { label: v }).label);
        return names.length ? names.join(', ') : 'none';
}

function isOnline(peer, now) {
        const hs = Number(peer.latest_handshake) || 0;
        return hs > 0 && now - hs / 1000 < ONLINE_SECONDS * 1000;
}

/**
 * ctx: the app's {api, store, can}; status, actionError: where an action's outcome is said;
 * onRemoved(name): after a row's Remove. → {table, show(names, emptyText), tick()}
 */
export function createPeerTable(ctx, { status, actionError, onRemoved }) {
        const { api, store } = ctx;
        const rows = new Map();       // name → {tr, cells, toggle}
        const tbody = h('tbody');
        const emptyCell = h('td', { colspan: COLUMNS.length });
        const empty = h('tr', { class: 'empty' }, emptyCell);

        async function act(fn, done) {
                actionError.textContent = '';
                status.textContent = '';
                try {
                        await fn();
                        if (done)
                                status.textContent = done;
                } catch (err) {
                        actionError.textContent = errorText(err);
                }
        }

        // a peer that has a login is asked about first: the new password replaces its current one
        function webLogin(name, button) {
                const given = password => {
                        store.putPeer({ name, has_login: true });
                        status.textContent = `${name} can sign in to the web UI with its new password.`;
                        showLoginDialog(name, password);
                };
                const p = store.state.peers.get(name);
                if (p && p.has_login) {
                        actionError.textContent = '';
                        status.textContent = '';
                        confirmReplaceLogin(api, name, given);
                        return;
                }
                button.disabled = true;
                act(async () => given((await api.setPeerLogin(name)).password))
                        .finally(() => { button.disabled = false; });
        }

        function makeRow(name) {
                const cells = {
                        name: h('th', { scope: 'row', 'data-label': 'Name' }, name),
                        address: h('td', { 'data-label': 'Address' }),
                        services: h('td', { 'data-label': 'Services' }),
                        networks: h('td', { 'data-label': 'Networks' }),
                        exit: h('td', { 'data-label': 'Exit' }),
                        state: h('td', { 'data-label': 'Status' }),
                        handshake: h('td', { 'data-label': 'Last handshake', class: 'handshake' }),
                        rx: h('td', { 'data-label': 'Received', class: 'num' }),
                        tx: h('td', { 'data-label': 'Sent', class: 'num' }),
                };
                const toggle = h('button', { type: 'button', class: 'secondary small', onclick: () => {
                        const p = store.state.peers.get(name);
                        const enable = !(p && p.enabled);
                        act(async () => store.putPeer(await api.setEnabled(name, enable) || { name, enabled: enable }),
                            `${name} ${enable ? 'enabled' : 'disabled'}.`);
                } });
                const actions = h('td', { class: 'row-actions', 'data-label': 'Actions' },
                                  h('button', { type: 'button', class: 'secondary small', 'aria-label': `Download the configuration of ${name}`,
                                                onclick: () => act(() => downloadConfig(api, name)) }, 'Config'),
                                  h('button', { type: 'button', class: 'secondary small', 'aria-label': `Show the QR code of ${name}`,
                                                onclick: () => showQrDialog(api, name) }, 'QR code'),
                                  toggle,
                                  h('button', { type: 'button', class: 'secondary small', 'aria-label': `Choose the exit of ${name}`,
                                                onclick: () => showExitDialog(api, store.state.peers.get(name) || { name }, peer => {
                                                        store.putPeer(peer);
                                                        status.textContent = peer.exit
                                                                ? `${name} now reaches the internet through exit ${peer.exit}. Its device needs its configuration again.`
                                                                : `${name} now reaches the internet through the cell's uplink.`;
                                                }) }, 'Exit'),
                                  ctx.can('webLogins')
                                          ? h('button', { type: 'button', class: 'secondary small', 'aria-label': `Web login for ${name}`,
                                                          onclick: ev => webLogin(name, ev.currentTarget) }, 'Web login')
                                          : null,
                                  h('button', { type: 'button', class: 'danger small', 'aria-label': `Remove ${name}`,
                                                onclick: () => confirmRemove(api, name, () => {
                                                        store.dropPeer(name);
                                                        status.textContent = `Peer ${name} removed.`;
                                                        onRemoved(name);
                                                }) }, 'Remove'));
                const tr = h('tr', { 'data-peer': name }, Object.values(cells), actions);
                return { tr, cells, toggle };
        }

        function updateRow(row, p, now) {
                row.cells.address.textContent = p.address || '—';
                row.cells.services.textContent = labels(p.service_access, SERVICES);
                row.cells.networks.textContent = labels(p.network_access, NETWORKS);
                row.cells.exit.textContent = p.exit || '—';
                const online = p.enabled && isOnline(p, now);
                clear(row.cells.state, h('span', { class: `badge ${!p.enabled ? 'off' : online ? 'on' : 'idle'}` },
                                         !p.enabled ? 'Disabled' : online ? 'Online' : 'Idle'));
                row.cells.handshake.textContent = formatAge(p.latest_handshake, now);
                row.cells.rx.textContent = formatBytes(p.rx_bytes);
                row.cells.tx.textContent = formatBytes(p.tx_bytes);
                row.toggle.textContent = p.enabled ? 'Disable' : 'Enable';
                row.toggle.setAttribute('aria-label', `${p.enabled ? 'Disable' : 'Enable'} ${p.name}`);
                row.tr.classList.toggle('disabled', !p.enabled);
        }

        // keyed update, in the order given: rows (and their focused buttons) survive live refreshes
        function show(names, emptyText) {
                const now = Date.now();
                const shown = names.filter(n => store.state.peers.has(n));
                const keep = new Set(shown);
                for (const [name, row] of rows) {
                        if (!keep.has(name)) {
                                row.tr.remove();
                                rows.delete(name);
                        }
                }
                let prev = null;
                for (const name of shown) {
                        let row = rows.get(name);
                        if (!row) {
                                row = makeRow(name);
                                rows.set(name, row);
                        }
                        updateRow(row, store.state.peers.get(name), now);
                        const want = prev ? prev.nextSibling : tbody.firstChild;
                        if (row.tr !== want)
                                tbody.insertBefore(row.tr, want);
                        prev = row.tr;
                }
                emptyCell.textContent = emptyText;
                if (shown.length === 0)
                        tbody.append(empty);
                else
                        empty.remove();
        }

        function tick() {
                const now = Date.now();
                for (const [name, row] of rows) {
                        const p = store.state.peers.get(name);
                        if (p)
                                row.cells.handshake.textContent = formatAge(p.latest_handshake, now);
                }
        }

        const table = h('table', { class: 'peers' },
                        h('caption', { class: 'visually-hidden' }, 'Peers of this cell'),
                        h('thead', {}, h('tr', {},
                                         COLUMNS.map(t => h('th', { scope: 'col', class: ['Received', 'Sent'].includes(t) ? 'num' : null }, t)))),
                        tbody);
        return { table, show, tick };
}
