// SPDX-License-Identifier: LGPL-2.1-or-later
// Dialogs about one peer: its QR code, its new web login, the exit its internet traffic
// leaves by, and the confirmations before removing it or replacing its login.

import { h, clear, uniqueId } from '../dom.js';
import { errorText } from '../forms.js';
import { inertSvg, downloadText } from '../svg.js';

function dialog(titleId, ...children) {
        const d = h('dialog', { class: 'dialog', 'aria-labelledby': titleId }, ...children);
        d.addEventListener('close', () => d.remove());
        document.body.append(d);
        return d;
}

export async function downloadConfig(api, name) {
        const text = await api.peerConfig(name);
        downloadText(`${name}.conf`, text);
}

export function showQrDialog(api, name) {
        const body = h('div', { class: 'qr', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));
        const error = h('p', { class: 'form-error', role: 'alert' });
        const d = dialog('qr-title',
                         h('h2', { id: 'qr-title' }, `QR code for ${name}`),
                         h('p', {}, 'Scan it with the WireGuard app on the device. It carries the device\'s private key: show it only to that device.'),
                         body, error,
                         h('div', { class: 'actions' },
                           h('button', { type: 'button', class: 'secondary', onclick: async () => {
                                   try {
                                           await downloadConfig(api, name);
                                   } catch (err) {
                                           error.textContent = errorText(err);
                                   }
                           } }, 'Download config'),
                           h('button', { type: 'button', class: 'primary', onclick: () => d.close() }, 'Close')));
        d.showModal();
        api.peerQrSvg(name).then(text => {
                clear(body, inertSvg(text, `QR code of the WireGuard configuration for ${name}`));
        }).catch(err => {
                clear(body);
                error.textContent = errorText(err);
        }).finally(() => body.removeAttribute('aria-busy'));
        return d;
}

/** A yes/no dialog; action() runs on yes (errors stay in the dialog), then onDone(its result). */
export function confirmAction({ id, title, text, confirmLabel, action, onDone }) {
        const error = h('p', { class: 'form-error', role: 'alert' });
        const confirm = h('button', { type: 'button', class: 'danger' }, confirmLabel);
        const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => d.close() }, 'Cancel');
        const d = dialog(`${id}-title`,
                         h('h2', { id: `${id}-title` }, title),
                         h('p', { id: `${id}-text` }, text),
                         error,
                         h('div', { class: 'actions' }, cancel, confirm));
        d.setAttribute('aria-describedby', `${id}-text`);
        confirm.addEventListener('click', async () => {
                confirm.disabled = cancel.disabled = true;
                error.textContent = '';
                try {
                        const result = await action();
                        d.close();
                        onDone(result);
                } catch (err) {
                        error.textContent = errorText(err);
                } finally {
                        confirm.disabled = cancel.disabled = false;
                }
        });
        d.showModal();
        cancel.focus();
        return d;
}

/** Asks before removing; onRemoved() runs after the peer is gone. */
export function confirmRemove(api, name, onRemoved) {
        return confirmAction({
                id: 'remove',
                title: `Remove ${name}?`,
                text: 'The device loses access at once and its configuration stops working. This cannot be undone.',
                confirmLabel: 'Remove',
                action: () => api.removePeer(name),
                onDone: () => onRemoved(),
        });
}

/** Asks before giving a peer that has a web login a new one; onPassword(password) runs after. */
export function confirmReplaceLogin(api, name, onPassword) {
        return confirmAction({
                id: 'login-replace',
                title: `Replace the web login of ${name}?`,
                text: `${name} already has a web login. A new password replaces the current password: ` +
                      'the old one stops working at once.',
                confirmLabel: 'Replace password',
                action: () => api.setPeerLogin(name),
                onDone: res => onPassword(res.password),
        });
}

/**
 * Chooses the exit the peer's internet traffic leaves by (or the cell's own uplink);
 * onChanged(peer) runs with the peer as the cell holds it after the change.
 */
export function showExitDialog(api, peer, onChanged) {
        const selectId = uniqueId('peer-exit');
        const noteId = uniqueId('peer-exit-note');
        const error = h('p', { class: 'form-error', role: 'alert' });
        const select = h('select', { id: selectId, name: 'exit', disabled: true, 'aria-describedby': noteId },
                         h('option', { value: '' }, 'The cell\'s own uplink'));
        const save = h('button', { type: 'button', class: 'primary', disabled: true }, 'Save');
        const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => d.close() }, 'Cancel');
        const d = dialog('peer-exit-title',
                         h('h2', { id: 'peer-exit-title' }, `Exit for ${peer.name}`),
                         h('div', { class: 'field' },
                           h('label', { for: selectId }, 'Its internet traffic leaves by'),
                           select),
                         h('p', { class: 'hint', id: noteId },
                           'Through an exit only: while the exit is not up, the peer\'s internet traffic is dropped. ' +
                           'The device needs its configuration again, which then sends all its traffic into the tunnel.'),
                         error,
                         h('div', { class: 'actions' }, cancel, save));
        save.addEventListener('click', async () => {
                save.disabled = cancel.disabled = true;
                error.textContent = '';
                try {
                        const updated = await api.updatePeer(peer.name, { exit: select.value });
                        d.close();
                        onChanged(updated);
                } catch (err) {
                        error.textContent = errorText(err);
                } finally {
                        save.disabled = cancel.disabled = false;
                }
        });
        d.showModal();
        api.listExits().then(exits => {
                for (const e of exits.sort((a, b) => a.name.localeCompare(b.name)))
                        select.append(h('option', { value: e.name },
                                        `${e.name} (${e.type === 'cell' ? 'linked cell, ' : ''}${e.state})`));
                // an exit that is gone still shows as what the peer has
                if (peer.exit && !exits.some(e => e.name === peer.exit))
                        select.append(h('option', { value: peer.exit }, peer.exit));
                select.value = peer.exit || '';
                select.disabled = save.disabled = false;
                select.focus();
        }).catch(err => {
                error.textContent = errorText(err);
        });
        return d;
}

async function copyFrom(input) {
        try {
                await navigator.clipboard.writeText(input.value);
                return true;
        } catch {
                // no clipboard API (plain http on the LAN): copy the selection instead
                input.focus();
                input.select();
                return document.execCommand('copy');
        }
}

/** Shows a peer's new web login once: its user name and password, with a copy button. */
export function showLoginDialog(name, password) {
        const userId = uniqueId('login-user');
        const passwordId = uniqueId('login-password');
        const noteId = uniqueId('login-note');
        const copied = h('p', { class: 'status', role: 'status' });
        const secret = h('input', { id: passwordId, type: 'text', class: 'secret', readonly: true, value: password,
                                    autocomplete: 'off', spellcheck: 'false', 'aria-describedby': noteId });
        const copy = h('button', { type: 'button', class: 'secondary', onclick: async () => {
                copied.textContent = '';
                let ok = false;
                try {
                        ok = await copyFrom(secret);
                } catch {
                        ok = false;
                }
                copied.textContent = ok ? 'Password copied.' : 'Copying failed: select the password and copy it by hand.';
                if (!ok)
                        secret.select();
        } }, 'Copy password');
        const d = dialog('login-title',
                         h('h2', { id: 'login-title' }, `Web login for ${name}`),
                         h('p', {}, `Whoever uses ${name} can now sign in to this page and see its status, ` +
                                    'configuration and QR code.'),
                         h('div', { class: 'field' },
                           h('label', { for: userId }, 'User name'),
                           h('input', { id: userId, type: 'text', class: 'secret', readonly: true, value: name,
                                        autocomplete: 'off', spellcheck: 'false' })),
                         h('div', { class: 'field' },
                           h('label', { for: passwordId }, 'Password'),
                           h('div', { class: 'secret-row' }, secret, copy)),
                         h('p', { class: 'notice', id: noteId },
                           'This password is shown only now; the cell keeps no readable copy. ' +
                           'Pass it on now. If it is lost, give the peer a new web login.'),
                         copied,
                         h('div', { class: 'actions' },
                           h('button', { type: 'button', class: 'primary', onclick: () => d.close() }, 'Close')));
        d.showModal();
        secret.focus();
        return d;
}
