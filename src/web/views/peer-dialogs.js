// SPDX-License-Identifier: LGPL-2.1-or-later
// Dialogs about one peer: its QR code, and the confirmation before removing it.

import { h, clear } from '../dom.js';
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

/** Asks before removing; onRemoved() runs after the peer is gone. */
export function confirmRemove(api, name, onRemoved) {
        const error = h('p', { class: 'form-error', role: 'alert' });
        const remove = h('button', { type: 'button', class: 'danger' }, 'Remove');
        const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => d.close() }, 'Cancel');
        const d = dialog('remove-title',
                         h('h2', { id: 'remove-title' }, `Remove ${name}?`),
                         h('p', {}, 'The device loses access at once and its configuration stops working. This cannot be undone.'),
                         error,
                         h('div', { class: 'actions' }, cancel, remove));
        remove.addEventListener('click', async () => {
                remove.disabled = cancel.disabled = true;
                error.textContent = '';
                try {
                        await api.removePeer(name);
                        d.close();
                        onRemoved();
                } catch (err) {
                        error.textContent = errorText(err);
                } finally {
                        remove.disabled = cancel.disabled = false;
                }
        });
        d.showModal();
        cancel.focus();
        return d;
}
