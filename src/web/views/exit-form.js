// SPDX-License-Identifier: LGPL-2.1-or-later
// The Exits page's form that adds one: the fields of the chosen type only (a wg-quick file, a
// proxy's URL and its resolvers), the secrets in fields nothing remembers and emptied once added,
// resolvers checked as IPv4 on the page, refusals shown next to the field they concern.

import { h, uniqueId } from '../dom.js';
import { textField, formError, clearErrors, setFieldError, showError, errorText, whileBusy } from '../forms.js';

const CONFIG_MAX = 16 * 1024;     // what the gateway takes: a wg-quick file is far smaller
const PROXY_URL_MAX = 1024;       // what the gateway and the cell take
const DNS_MAX = 4;                // a proxy exit's resolvers
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

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

/** The form; onAdded(exit) once the cell has added one. */
export function addExitForm(api, onAdded) {
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
                const exit = exitFromForm();
                if (!exit)
                        return;
                try {
                        const added = await whileBusy(addForm, () => api.addExit(exit));
                        for (const n of ['name', 'config', 'proxy', 'dns_servers', 'test_target'])
                                field(n).value = '';   // the file holds a private key, the URL maybe a password: gone from the page
                        onAdded(added);
                } catch (err) {
                        if (!showError(addForm, err))
                                setFieldError(addForm, null, errorText(err));
                }
        });

        return addForm;
}
