// SPDX-License-Identifier: LGPL-2.1-or-later
// What a peer sees when it signs in: its own status, configuration and QR code.

import { h, clear, formatAge, formatBytes } from '../dom.js';
import { errorText } from '../forms.js';
import { showQrDialog, downloadConfig } from './peer-dialogs.js';

export function renderMyPeer(root, ctx) {
        const name = ctx.session.peer;
        const facts = h('dl', { class: 'facts' });
        const error = h('p', { class: 'form-error', role: 'alert' });

        function render(p) {
                clear(facts, [['Name', p.name], ['Address', p.address], ['Status', p.enabled ? 'Enabled' : 'Disabled'],
                              ['Last handshake', formatAge(p.latest_handshake)], ['Received', formatBytes(p.rx_bytes)],
                              ['Sent', formatBytes(p.tx_bytes)], ['Services', (p.service_access || []).join(', ') || 'none'],
                              ['Networks', (p.network_access || []).join(', ') || 'none']]
                              .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v ?? '—'))]));
        }

        async function load() {
                try {
                        render(await ctx.api.getPeer(name));
                } catch (err) {
                        error.textContent = errorText(err);
                }
        }

        clear(root,
              h('h1', {}, `Device ${name}`),
              h('section', { class: 'card', 'aria-label': 'Status' }, facts, error,
                h('div', { class: 'actions' },
                  h('button', { type: 'button', class: 'secondary', onclick: () =>
                          downloadConfig(ctx.api, name).catch(err => { error.textContent = errorText(err); }) }, 'Download config'),
                  h('button', { type: 'button', class: 'primary', onclick: () => showQrDialog(ctx.api, name) }, 'QR code'))));
        load();
        const timer = setInterval(load, 10000);
        return () => clearInterval(timer);
}
