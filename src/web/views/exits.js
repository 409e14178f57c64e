// SPDX-License-Identifier: LGPL-2.1-or-later
// Exits: other ways out to the internet for chosen peers (a VPN provider's WireGuard or OpenVPN
// server, Tor, a SOCKS5 or HTTP proxy, an SSH server through sshuttle): their state, last error,
// tunnel and traffic, the peers using them; adding one (exit-form.js), testing and removing it.
// A linked cell that offers its uplink is an exit of type cell by itself: tested like the others,
// never removed here. Peers are sent through one on the Peers page.

import { h, clear, formatAge, formatBytes } from '../dom.js';
import { errorText } from '../forms.js';
import { addExitForm } from './exit-form.js';
import { confirmAction } from './peer-dialogs.js';

const REFRESH_MS = 5000;          // state and handshakes change without bus events the UI follows yet
const NAMES_UP_TO = 200;          // peers in the cell up to which each exit's peers are named
const BADGES = { up: 'on', starting: 'idle', down: 'off', failed: 'off' };
const TYPE_NAMES = { wireguard: 'WireGuard', openvpn: 'OpenVPN', tor: 'Tor', proxy: 'Proxy', sshuttle: 'sshuttle' };

function typeText(e) {
        return e.type === 'cell' ? `linked cell ${e.name}` : (TYPE_NAMES[e.type] || e.type || '—');
}

function msText(usec) {
        return `${(Number(usec) / 1000).toFixed(1)} ms`;
}

export function renderExits(root, ctx) {
        const { api, store } = ctx;
        const status = h('p', { class: 'status', role: 'status' });
        const actionError = h('p', { class: 'form-error', role: 'alert' });
        const rows = new Map();       // name → {tr, cells, type}
        const tbody = h('tbody');
        const empty = h('tr', { class: 'empty' }, h('td', { colspan: 10 }, 'No exits yet. Add one below.'));
        let exits = [];

        const addForm = addExitForm(api, added => {
                status.textContent = `Exit ${added.name} added (${added.state}). Send peers through it on the Peers page.`;
                refresh();
        });
        addForm.addEventListener('submit', () => { status.textContent = ''; });

        async function act(fn) {
                actionError.textContent = '';
                status.textContent = '';
                try {
                        status.textContent = await fn();
                } catch (err) {
                        actionError.textContent = errorText(err);
                }
        }

        // An exit of type cell is down while its cell does not offer it and goes with the link: no Remove.
        function makeRow(name, type) {
                const cells = {
                        name: h('th', { scope: 'row', 'data-label': 'Name' }, name),
                        type: h('td', { 'data-label': 'Type' }),
                        state: h('td', { 'data-label': 'State' }),
                        error: h('td', { 'data-label': 'Last error', class: 'last-error' }),
                        address: h('td', { 'data-label': 'Address' }),
                        endpoint: h('td', { 'data-label': 'Endpoint' }),
                        peers: h('td', { 'data-label': 'Peers', 'data-exit-peers': name }),
                        handshake: h('td', { 'data-label': 'Last handshake', class: 'handshake' }),
                        traffic: h('td', { 'data-label': 'Traffic', class: 'num' }),
                };
                const test = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Test ${name}` }, 'Test');
                test.addEventListener('click', () => {
                        test.disabled = true;
                        act(async () => {
                                const { connect_usec: usec } = await api.testExit(name);
                                const e = exits.find(x => x.name === name);
                                return `${name}: connected to ${e && e.test_target ? e.test_target : 'its test target'} in ${msText(usec)}.`;
                        }).finally(() => { test.disabled = false; });
                });
                const remove = type === 'cell' ?
                        h('span', { class: 'hint', 'data-exit-offered-by': name }, 'Goes with the link') :
                        h('button', { type: 'button', class: 'danger small', 'aria-label': `Remove ${name}`,
                                      onclick: () => confirmAction({
                                              id: 'exit-remove',
                                              title: `Remove exit ${name}?`,
                                              text: 'Its tunnel goes. An exit that peers use is not removed: ' +
                                                    'send them elsewhere on the Peers page first.',
                                              confirmLabel: 'Remove',
                                              action: () => api.removeExit(name),
                                              onDone: () => {
                                                      status.textContent = `Exit ${name} removed.`;
                                                      refresh();
                                              },
                                      }) }, 'Remove');
                const tr = h('tr', { 'data-exit': name, 'data-exit-type': type }, Object.values(cells),
                             h('td', { class: 'row-actions', 'data-label': 'Actions' }, test, remove));
                return { tr, cells, type };
        }

        function updateRow(row, e, now) {
                const badge = BADGES[e.state] || 'idle';
                row.cells.type.textContent = typeText(e);
                clear(row.cells.state, h('span', { class: `badge ${badge}`, 'data-state': e.state }, e.state || 'unknown'));
                row.cells.error.textContent = e.last_error || '—';
                row.cells.error.classList.toggle('has-error', !!e.last_error);
                row.cells.address.textContent = e.address || '—';
                row.cells.endpoint.textContent = e.endpoint || '—';
                const users = [...store.state.peers.values()].filter(p => p.exit === e.name).map(p => p.name).sort();
                row.cells.peers.textContent = users.length ? users.join(', ')
                        : e.peer_count ? `${e.peer_count} ${e.peer_count === 1 ? 'peer' : 'peers'}` : 'none';
                row.cells.handshake.textContent = formatAge(e.latest_handshake, now);
                row.cells.traffic.textContent = `${formatBytes(e.rx_bytes)} in, ${formatBytes(e.tx_bytes)} out`;
        }

        // keyed update: rows (and their focused buttons) survive the refreshes
        function render() {
                const now = Date.now();
                const types = new Map(exits.map(e => [e.name, e.type]));
                for (const [name, row] of rows) {
                        if (types.get(name) !== row.type) {   // gone, or another exit of that name now
                                row.tr.remove();
                                rows.delete(name);
                        }
                }
                let prev = null;
                for (const e of [...exits].sort((a, b) => a.name.localeCompare(b.name))) {
                        let row = rows.get(e.name);
                        if (!row) {
                                row = makeRow(e.name, e.type);
                                rows.set(e.name, row);
                        }
                        updateRow(row, e, now);
                        const want = prev ? prev.nextSibling : tbody.firstChild;
                        if (row.tr !== want)
                                tbody.insertBefore(row.tr, want);
                        prev = row.tr;
                }
                if (exits.length === 0)
                        tbody.append(empty);
                else
                        empty.remove();
        }

        async function refresh() {
                try {
                        // the names of an exit's peers while the cell is small; past that, each exit's count
                        // (every peer every few seconds would not stay cheap at 10,000)
                        const many = (store.state.cell?.peer_count ?? 0) > NAMES_UP_TO;
                        const [list, peers] = await Promise.all([api.listExits(), many ? null : api.listPeers()]);
                        exits = list;
                        store.setPeers(peers || []);
                } catch (err) {
                        actionError.textContent = errorText(err);
                }
                render();
        }

        const table = h('table', { class: 'peers exits' },
                        h('caption', { class: 'visually-hidden' }, 'Exits of this cell'),
                        h('thead', {}, h('tr', {},
                                         ['Name', 'Type', 'State', 'Last error', 'Address', 'Endpoint', 'Peers', 'Last handshake', 'Traffic', 'Actions']
                                                 .map(t => h('th', { scope: 'col', class: t === 'Traffic' ? 'num' : null }, t)))),
                        tbody);

        clear(root,
              h('h1', {}, 'Exits'),
              h('p', { class: 'muted' }, 'A peer sent through an exit reaches the internet only by it; while the exit is ' +
                'not up, that peer\'s internet traffic is dropped, never sent out by the cell\'s own uplink. A linked ' +
                'cell that offers this cell its uplink (on its Cells page) is listed here by itself, as an exit of type cell.'),
              h('section', { class: 'card', 'aria-labelledby': 'exit-list-title' },
                h('h2', { id: 'exit-list-title' }, 'All exits'),
                status, actionError,
                h('div', { class: 'table-wrap' }, table)),
              addForm);
        render();
        const stop = store.listen(what => {
                if (what === 'peers')
                        render();
        });
        refresh();
        const timer = setInterval(refresh, REFRESH_MS);
        return () => {
                stop();
                clearInterval(timer);
        };
}
