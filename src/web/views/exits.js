// SPDX-License-Identifier: LGPL-2.1-or-later
// Exits: other ways out to the internet for chosen peers (a VPN provider's WireGuard server,
// a SOCKS5 or HTTP proxy): their state, last error, tunnel and traffic, the peers using them;
// adding one from its wg-quick file or its proxy's URL, testing and removing it. A linked cell
// that offers its uplink is an exit of type cell by itself: tested like the others, never
// removed here. Peers are sent through one on the Peers page.

import { h, clear, formatAge, formatBytes, uniqueId } from '../dom.js';
import { textField, formError, clearErrors, setFieldError, showError, errorText, whileBusy } from '../forms.js';
import { confirmAction } from './peer-dialogs.js';

const REFRESH_MS = 5000;          // state and handshakes change without bus events the UI follows yet
const CONFIG_MAX = 16 * 1024;     // what the gateway takes: a wg-quick file is far smaller
const BADGES = { up: 'on', starting: 'idle', down: 'off', failed: 'off' };
const TYPE_NAMES = { wireguard: 'WireGuard', openvpn: 'OpenVPN', tor: 'Tor', proxy: 'Proxy' };
const PROXY_URL_MAX = 1024;       // what the gateway and the cell take
const DNS_MAX = 4;                // a proxy exit's resolvers
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function typeText(e) {
        return e.type === 'cell' ? `linked cell ${e.name}` : (TYPE_NAMES[e.type] || e.type || '—');
}

function msText(usec) {
        return `${(Number(usec) / 1000).toFixed(1)} ms`;
}

/** The wg-quick field: a textarea and a file picker that fills it. */
function configField() {
        const id = uniqueId('exit-config');
        const fileId = uniqueId('exit-config-file');
        const textarea = h('textarea', { id, name: 'config', rows: 8, spellcheck: 'false', autocomplete: 'off',
                                         placeholder: '[Interface]\nPrivateKey = …\nAddress = 10.2.0.2/32\n\n' +
                                                      '[Peer]\nPublicKey = …\nEndpoint = vpn.example.net:51820\n' +
                                                      'AllowedIPs = 0.0.0.0/0',
                                         'aria-describedby': `${id}-hint ${id}-error` });
        const picker = h('input', { id: fileId, type: 'file', accept: '.conf,text/plain' });
        const error = h('p', { class: 'field-error', id: `${id}-error`, 'data-error-for': 'config', 'aria-live': 'polite' });
        picker.addEventListener('change', async () => {
                const file = picker.files[0];
                picker.value = '';
                error.textContent = '';
                if (!file)
                        return;
                if (file.size > CONFIG_MAX) {
                        error.textContent = `${file.name} is larger than 16 KiB: not a wg-quick file.`;
                        return;
                }
                textarea.value = await file.text();
        });
        return h('div', { class: 'field', 'data-field': 'config' },
                 h('label', { for: id }, 'Its wg-quick file'),
                 textarea,
                 h('p', { class: 'hint', id: `${id}-hint` },
                   'From the VPN provider: one [Interface] with an IPv4 Address, one [Peer] with AllowedIPs 0.0.0.0/0. ' +
                   'It holds a private key: the cell keeps it and never shows it again.'),
                 h('p', { class: 'file-pick' }, h('label', { for: fileId }, 'Or load the file: '), picker),
                 error);
}

/** A proxy exit's URL and resolvers: the URL may hold a password, so nothing remembers it. */
function proxyFields() {
        return h('div', { class: 'proxy-fields', 'data-exit-kind': 'proxy', hidden: true },
                 textField({ name: 'proxy', label: 'Proxy URL', autocomplete: 'off',
                             placeholder: 'socks5://user:password@192.0.2.10:1080',
                             hint: 'socks5://… or http://… (an HTTP proxy that allows CONNECT), then ' +
                                   '[user:password@]address:port with an IPv4 address. The cell keeps the ' +
                                   'password and never shows it again. Only TCP and DNS go through it.' }),
                 h('div', { class: 'form-row' },
                   textField({ name: 'dns_servers', label: 'DNS servers (optional)', placeholder: '1.1.1.1, 9.9.9.9',
                               hint: `Up to ${DNS_MAX} IPv4 addresses, separated by commas, that its peers' names ` +
                                     'are resolved by, through the proxy (default 1.1.1.1 and 9.9.9.9).' })));
}

/** "1.1.1.1, 9.9.9.9" → ['1.1.1.1', '9.9.9.9']; a message for what is wrong with it. */
function parseDnsServers(text) {
        const list = text.split(/[\s,]+/).filter(Boolean);
        const bad = list.find(a => !IPV4.test(a));
        if (bad)
                return { error: `${bad.slice(0, 40)} is not an IPv4 address.` };
        if (list.length > DNS_MAX)
                return { error: `At most ${DNS_MAX} DNS servers.` };
        return { list };
}

export function renderExits(root, ctx) {
        const { api, store } = ctx;
        const status = h('p', { class: 'status', role: 'status' });
        const actionError = h('p', { class: 'form-error', role: 'alert' });
        const rows = new Map();       // name → {tr, cells, type}
        const tbody = h('tbody');
        const empty = h('tr', { class: 'empty' }, h('td', { colspan: 10 }, 'No exits yet. Add one below.'));
        let exits = [];

        const typeId = uniqueId('exit-type');
        const addForm = h('form', { class: 'card add-exit', novalidate: true, 'aria-labelledby': 'add-exit-title' },
                          h('h2', { id: 'add-exit-title' }, 'Add an exit'),
                          h('div', { class: 'form-row' },
                            textField({ name: 'name', label: 'Name', required: true,
                                        hint: 'e.g. vpn: letters, digits, "-" and "_".' }),
                            h('div', { class: 'field', 'data-field': 'type' },
                              h('label', { for: typeId }, 'Type'),
                              h('select', { id: typeId, name: 'type' },
                                h('option', { value: 'wireguard' }, 'WireGuard'),
                                h('option', { value: 'proxy' }, 'Proxy (SOCKS5 or HTTP)')),
                              h('p', { class: 'field-error', 'data-error-for': 'type', 'aria-live': 'polite' }))),
                          h('div', { 'data-exit-kind': 'wireguard' }, configField()),
                          proxyFields(),
                          h('div', { class: 'form-row' },
                            textField({ name: 'test_target', label: 'Test target (optional)', placeholder: '1.1.1.1:443',
                                        hint: 'host:port that Test connects to through the exit (default 1.1.1.1:443).' })),
                          formError(),
                          h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Add exit')));

        const field = name => addForm.querySelector(`[name=${name}]`);
        // the fields of the chosen type only
        function showKind() {
                const type = field('type').value;
                for (const el of addForm.querySelectorAll('[data-exit-kind]'))
                        el.hidden = el.getAttribute('data-exit-kind') !== type;
        }
        field('type').addEventListener('change', () => {
                clearErrors(addForm);
                showKind();
        });
        showKind();

        /** The exit to add from the form, or null after showing what is missing. */
        function exitFromForm() {
                const name = field('name').value.trim();
                const type = field('type').value;
                const testTarget = field('test_target').value.trim();
                if (!name) {
                        setFieldError(addForm, 'name', 'Enter a name for the exit.');
                        return null;
                }
                const exit = { name, type };
                if (type === 'proxy') {
                        const proxy = field('proxy').value.trim();
                        if (!proxy) {
                                setFieldError(addForm, 'proxy', 'Enter the proxy\'s URL, such as socks5://192.0.2.10:1080.');
                                return null;
                        }
                        if (proxy.length > PROXY_URL_MAX) {
                                setFieldError(addForm, 'proxy', `A proxy URL is at most ${PROXY_URL_MAX} characters.`);
                                return null;
                        }
                        const dns = parseDnsServers(field('dns_servers').value);
                        if (dns.error) {
                                setFieldError(addForm, 'dns_servers', dns.error);
                                return null;
                        }
                        exit.proxy = proxy;
                        if (dns.list.length)
                                exit.dns_servers = dns.list;
                } else {
                        const config = field('config').value;
                        if (!config.trim()) {
                                setFieldError(addForm, 'config', 'Paste the wg-quick file or load it.');
                                return null;
                        }
                        exit.config = config;
                }
                if (testTarget)
                        exit.test_target = testTarget;
                return exit;
        }

        addForm.addEventListener('submit', async ev => {
                ev.preventDefault();
                clearErrors(addForm);
                status.textContent = '';
                const exit = exitFromForm();
                if (!exit)
                        return;
                try {
                        const added = await whileBusy(addForm, () => api.addExit(exit));
                        for (const n of ['name', 'config', 'proxy', 'dns_servers', 'test_target'])
                                field(n).value = '';   // the file holds a private key, the URL maybe a password: gone from the page
                        status.textContent = `Exit ${added.name} added (${added.state}). Send peers through it on the Peers page.`;
                        refresh();
                } catch (err) {
                        if (!showError(addForm, err))
                                setFieldError(addForm, null, errorText(err));
                }
        });

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
                row.cells.peers.textContent = users.length ? users.join(', ') : (e.peer_count ? `${e.peer_count}` : 'none');
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
                        const [list, peers] = await Promise.all([api.listExits(), api.listPeers()]);
                        exits = list;
                        store.setPeers(peers);
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
