// SPDX-License-Identifier: LGPL-2.1-or-later
// The Exits page's form that adds one: the fields of the chosen type only (a wg-quick or .ovpn
// file; nothing for tor; a proxy's URL; an SSH server, a private key and the server's host key;
// resolvers for a proxy or sshuttle), the secrets in fields nothing remembers and emptied once
// added, resolvers checked as IPv4 on the page, refusals shown next to the field they concern.

import { h, uniqueId } from '../dom.js';
import { textField, formError, clearErrors, setFieldError, showError, errorText, whileBusy } from '../forms.js';

// every type the cell adds (a cell exit appears by itself when a linked cell offers one)
const TYPES = [['wireguard', 'WireGuard'], ['openvpn', 'OpenVPN'], ['tor', 'Tor'],
               ['proxy', 'Proxy (SOCKS5 or HTTP)'], ['sshuttle', 'sshuttle (through an SSH server)']];
const PROXY_URL_MAX = 1024;       // what the gateway and the cell take
const TARGET_MAX = 300;           // what the gateway takes: user@address:port is far shorter
const SSH_KEY_MAX = 16 * 1024;    // an OpenSSH private key, as the gateway and the cell take it
const HOST_KEY_MAX = 2048;        // as the gateway and the cell take it
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const SECRET = 'It holds a private key: the cell keeps it and never shows it again.';

// The file of a type that takes one (config): what the field says for it and how large it may be.
const FILES = {
        wireguard: { label: 'Its wg-quick file', what: 'a wg-quick file', max: 16 * 1024, accept: '.conf,text/plain',
                     placeholder: '[Interface]\nPrivateKey = …\nAddress = 10.2.0.2/32\n\n[Peer]\nPublicKey = …\n' +
                                  'Endpoint = vpn.example.net:51820\nAllowedIPs = 0.0.0.0/0',
                     hint: 'From the VPN provider: one [Interface] with an IPv4 Address, one [Peer] with AllowedIPs ' +
                           `0.0.0.0/0. ${SECRET}` },
        openvpn: { label: 'Its .ovpn file', what: 'an .ovpn file', max: 64 * 1024, accept: '.ovpn,.conf,text/plain',
                   placeholder: 'client\ndev tun\nremote vpn.example.net 1194 udp\n<ca>\n…\n</ca>\n<cert>\n…\n</cert>\n' +
                                '<key>\n…\n</key>',
                   hint: 'From the VPN provider: a client file with <ca>, <cert> and <key> inline; scripts, plugins, ' +
                         `file paths and routes are refused. ${SECRET}` },
};

// The resolvers of a type that takes them (dns_servers).
const RESOLVERS = {
        proxy: { max: 4, label: 'DNS servers (optional)', placeholder: '1.1.1.1, 9.9.9.9',
                 hint: 'Up to 4 IPv4 addresses, separated by commas, that its peers\' names are resolved by, through ' +
                       'the proxy (default 1.1.1.1 and 9.9.9.9).' },
        sshuttle: { max: 1, label: 'DNS server (optional)', placeholder: '1.1.1.1',
                    hint: 'One IPv4 address the SSH server sends its peers\' DNS queries to (default: the ' +
                          'server\'s own resolver).' },
};

/**
 * A textarea that a file picker fills, for text that holds a private key (nothing remembers it).
 * opts: {label, what, max, accept, placeholder, hint, pick}; set(opts) changes them.
 */
function fileField(name, opts) {
        const id = uniqueId(`exit-${name}`);
        const fileId = uniqueId(`exit-${name}-file`);
        const label = h('label', { for: id });
        const hint = h('p', { class: 'hint', id: `${id}-hint` });
        const textarea = h('textarea', { id, name, rows: 8, spellcheck: 'false', autocomplete: 'off',
                                         'aria-describedby': `${id}-hint ${id}-error` });
        const picker = h('input', { id: fileId, type: 'file' });
        const error = h('p', { class: 'field-error', id: `${id}-error`, 'data-error-for': name, 'aria-live': 'polite' });
        let current = opts;
        picker.addEventListener('change', async () => {
                const file = picker.files[0];
                picker.value = '';
                error.textContent = '';
                if (!file)
                        return;
                if (file.size > current.max) {
                        error.textContent = `${file.name} is larger than ${current.max / 1024} KiB: not ${current.what}.`;
                        return;
                }
                textarea.value = await file.text();
        });
        function set(o) {
                current = o;
                label.textContent = o.label;
                hint.textContent = o.hint;
                textarea.placeholder = o.placeholder;
                picker.accept = o.accept || '';
        }
        set(opts);
        const el = h('div', { class: 'field', 'data-field': name }, label, textarea, hint,
                     h('p', { class: 'file-pick' }, h('label', { for: fileId }, opts.pick || 'Or load the file: '), picker),
                     error);
        return { el, set };
}

/** An sshuttle exit's server, its private key (nothing remembers it) and the server's public key. */
function sshFields() {
        const key = fileField('ssh_key', {
                label: 'Private key', what: 'an SSH private key', max: SSH_KEY_MAX, pick: 'Or load the key file: ',
                placeholder: '-----BEGIN OPENSSH PRIVATE KEY-----\n…\n-----END OPENSSH PRIVATE KEY-----',
                hint: 'The OpenSSH private key the cell logs in with, as ssh-keygen writes it, without a passphrase: ' +
                      'the tunnel starts unattended. The cell keeps it and never shows it again.',
        });
        return h('div', { 'data-exit-kind': 'sshuttle', hidden: true },
                 textField({ name: 'target', label: 'SSH server', placeholder: 'pic@192.0.2.10:22',
                             hint: 'user@address or user@address:port, with an IPv4 address (port 22 when none). ' +
                                   'Only TCP and DNS go through it.' }),
                 key.el,
                 textField({ name: 'host_key', label: 'Its host key', placeholder: 'ssh-ed25519 AAAA…',
                             hint: 'The server\'s public key, as ssh-keyscan prints it or its ' +
                                   '/etc/ssh/ssh_host_ed25519_key.pub holds it: the tunnel talks to that server ' +
                                   'and no other.' }));
}

/** "1.1.1.1, 9.9.9.9" → ['1.1.1.1', '9.9.9.9']; a message for what is wrong with it. */
function parseDnsServers(text, max) {
        const list = text.split(/[\s,]+/).filter(Boolean);
        const bad = list.find(a => !IPV4.test(a));
        if (bad)
                return { error: `${bad.slice(0, 40)} is not an IPv4 address.` };
        if (list.length > max)
                return { error: max === 1 ? 'One DNS server at most.' : `At most ${max} DNS servers.` };
        return { list };
}

/** The form; onAdded(exit) once the cell has added one. */
export function addExitForm(api, onAdded) {
        const typeId = uniqueId('exit-type');
        const config = fileField('config', FILES.wireguard);
        const dnsField = textField({ name: 'dns_servers', label: RESOLVERS.proxy.label, hint: RESOLVERS.proxy.hint });
        const addForm = h('form', { class: 'card add-exit', novalidate: true, 'aria-labelledby': 'add-exit-title' },
                          h('h2', { id: 'add-exit-title' }, 'Add an exit'),
                          h('div', { class: 'form-row' },
                            textField({ name: 'name', label: 'Name', required: true,
                                        hint: 'e.g. vpn: letters, digits, "-" and "_".' }),
                            h('div', { class: 'field', 'data-field': 'type' },
                              h('label', { for: typeId }, 'Type'),
                              h('select', { id: typeId, name: 'type' },
                                TYPES.map(([value, text]) => h('option', { value }, text))),
                              h('p', { class: 'field-error', 'data-error-for': 'type', 'aria-live': 'polite' }))),
                          h('div', { 'data-exit-kind': 'wireguard openvpn' }, config.el),
                          h('p', { class: 'hint', 'data-exit-kind': 'tor', hidden: true },
                            'The cell runs Tor itself: nothing to give. Only TCP and DNS go through it.'),
                          h('div', { 'data-exit-kind': 'proxy', hidden: true },
                            textField({ name: 'proxy', label: 'Proxy URL', autocomplete: 'off',
                                        placeholder: 'socks5://user:password@192.0.2.10:1080',
                                        hint: 'socks5://… or http://… (an HTTP proxy that allows CONNECT), then ' +
                                              '[user:password@]address:port with an IPv4 address. The cell keeps the ' +
                                              'password and never shows it again. Only TCP and DNS go through it.' })),
                          sshFields(),
                          h('div', { 'data-exit-kind': 'proxy sshuttle', hidden: true },
                            h('div', { class: 'form-row' }, dnsField)),
                          h('div', { class: 'form-row' },
                            textField({ name: 'test_target', label: 'Test target (optional)', placeholder: '1.1.1.1:443',
                                        hint: 'host:port that Test connects to through the exit (default 1.1.1.1:443).' })),
                          formError(),
                          h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Add exit')));

        const field = name => addForm.querySelector(`[name=${name}]`);
        // the fields of the chosen type only, saying what they are for it
        function showKind() {
                const type = field('type').value;
                for (const el of addForm.querySelectorAll('[data-exit-kind]'))
                        el.hidden = !el.getAttribute('data-exit-kind').split(' ').includes(type);
                if (FILES[type])
                        config.set(FILES[type]);
                const dns = RESOLVERS[type];
                if (dns) {
                        dnsField.querySelector('label').textContent = dns.label;
                        dnsField.querySelector('.hint').textContent = dns.hint;
                        field('dns_servers').placeholder = dns.placeholder;
                }
        }
        field('type').addEventListener('change', () => {
                clearErrors(addForm);
                showKind();
        });
        showKind();

        /** The trimmed value of a field the type needs, or null after saying so next to it. */
        function required(name, missing, max, tooLong) {
                const value = field(name).value.trim();
                if (!value)
                        setFieldError(addForm, name, missing);
                else if (value.length > max)
                        setFieldError(addForm, name, tooLong);
                else
                        return value;
                return null;
        }

        // Each type's settings into exit; false after showing what is missing or wrong.
        const settings = {
                wireguard: exit => fileSettings(exit),
                openvpn: exit => fileSettings(exit),
                tor: () => true,
                proxy: exit => {
                        exit.proxy = required('proxy', 'Enter the proxy\'s URL, such as socks5://192.0.2.10:1080.',
                                              PROXY_URL_MAX, `A proxy URL is at most ${PROXY_URL_MAX} characters.`);
                        return exit.proxy !== null && dnsSettings(exit);
                },
                sshuttle: exit => {
                        exit.target = required('target', 'Enter the SSH server, such as pic@192.0.2.10.', TARGET_MAX,
                                               'The SSH server is user@address:port, far shorter.');
                        if (exit.target === null)
                                return false;
                        const key = required('ssh_key', 'Paste the private key or load its file.', SSH_KEY_MAX - 1,
                                             'A private key is at most 16 KiB.');
                        if (key === null)
                                return false;
                        exit.ssh_key = `${key}\n`;   // ssh loads no key that lacks its last newline
                        exit.host_key = required('host_key', 'Paste the server\'s public key, such as ssh-ed25519 AAAA….',
                                                 HOST_KEY_MAX, `A host key is at most ${HOST_KEY_MAX} characters.`);
                        return exit.host_key !== null && dnsSettings(exit);
                },
        };
        function fileSettings(exit) {
                const file = FILES[exit.type];
                exit.config = field('config').value;
                if (!exit.config.trim())
                        setFieldError(addForm, 'config', `Paste ${file.what} or load it.`);
                return !!exit.config.trim();
        }
        function dnsSettings(exit) {
                const dns = parseDnsServers(field('dns_servers').value, RESOLVERS[exit.type].max);
                if (dns.error)
                        setFieldError(addForm, 'dns_servers', dns.error);
                else if (dns.list.length)
                        exit.dns_servers = dns.list;
                return !dns.error;
        }

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
                if (!settings[type](exit))
                        return null;
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
                        // the file and the SSH key hold a private key, the URL maybe a password: gone from the page
                        for (const n of ['name', 'config', 'proxy', 'target', 'ssh_key', 'host_key', 'dns_servers',
                                         'test_target'])
                                field(n).value = '';
                        onAdded(added);
                } catch (err) {
                        if (!showError(addForm, err))
                                setFieldError(addForm, null, errorText(err));
                }
        });

        return addForm;
}
