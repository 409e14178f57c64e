// SPDX-License-Identifier: LGPL-2.1-or-later
// Dashboard: who the cell is, how WireGuard and DNS run, and changes waiting for Apply.

import { h, clear } from '../dom.js';
import { formError, clearErrors, showError, setFieldError, errorText, whileBusy } from '../forms.js';

const PENDING_LABELS = { vpn_address: 'VPN address', listen_port: 'WireGuard port' };

function dl(rows) {
        return h('dl', { class: 'facts' },
                 rows.flatMap(([k, v, cls]) => [h('dt', {}, k), h('dd', { class: cls || null }, v === '' || v === null || v === undefined ? '—' : String(v))]));
}

export function renderDashboard(root, ctx) {
        const identity = h('section', { class: 'card', 'aria-labelledby': 'dash-identity' });
        const wireguard = h('section', { class: 'card', 'aria-labelledby': 'dash-wg' });
        const dns = h('section', { class: 'card', 'aria-labelledby': 'dash-dns' });
        const pending = h('section', { class: 'card', 'aria-labelledby': 'dash-pending' });
        const pendingForm = h('form', { class: 'pending-form', novalidate: true });
        const status = h('p', { class: 'status', role: 'status' });

        async function run(fn, done) {
                clearErrors(pendingForm);
                status.textContent = '';
                try {
                        const cell = await whileBusy(pendingForm, fn);
                        if (cell)
                                ctx.store.setCell(cell);
                        status.textContent = done;
                } catch (err) {
                        if (!showError(pendingForm, err))
                                setFieldError(pendingForm, null, errorText(err));
                }
        }

        function render() {
                const c = ctx.store.state.cell || {};
                clear(identity,
                      h('h2', { id: 'dash-identity' }, 'Cell'),
                      dl([['Name', c.name], ['Domain', c.domain], ['VPN address', c.vpn_address],
                          ['Version', c.version]]));
                clear(wireguard,
                      h('h2', { id: 'dash-wg' }, 'WireGuard'),
                      dl([['Backend', c.wireguard_backend], ['Interface', c.interface_name],
                          ['Listen port', c.listen_port], ['Public key', c.public_key, 'key'],
                          ['Endpoint', c.endpoint], ['Peers', c.peer_count],
                          ['Uplink', c.uplink]]));
                // "running", or a state with its reason after the colon ("failed: …")
                const dnsState = c.dns_state || '';
                clear(dns,
                      h('h2', { id: 'dash-dns' }, 'DNS'),
                      dl([['State', dnsState, dnsState === 'running' ? null : 'attention'],
                          ['Upstream servers', (c.dns_servers || []).join(', ')],
                          ['Names', c.domain ? `<name>.${c.domain} for the cell, its services and every peer` : '']]));

                const changes = Object.entries(c.pending_changes || {});
                const slots = changes.map(([k, v]) =>
                        h('li', { class: 'field', 'data-field': k },
                          h('span', { class: 'label' }, PENDING_LABELS[k] || k), ': ',
                          h('span', { class: 'old' }, String(c[k] ?? '—')), ' → ',
                          h('strong', { class: 'new' }, String(v)),
                          h('p', { class: 'field-error', 'data-error-for': k, 'aria-live': 'polite' })));
                clear(pendingForm,
                      changes.length
                              ? [h('p', {}, 'These changes are saved but not active yet. Apply restarts the tunnel with them; devices may need their configuration again.'),
                                 h('ul', { class: 'pending-list' }, slots),
                                 formError(),
                                 h('div', { class: 'actions' },
                                   h('button', { type: 'button', class: 'primary',
                                                 onclick: () => run(() => ctx.api.apply(), 'Changes applied.') }, 'Apply'),
                                   h('button', { type: 'button', class: 'secondary',
                                                 onclick: () => run(() => ctx.api.discard(), 'Changes discarded.') }, 'Discard'))]
                              : [h('p', { class: 'muted' }, 'No pending changes.'), formError()]);
                pending.classList.toggle('attention', changes.length > 0);
        }

        clear(pending, h('h2', { id: 'dash-pending' }, 'Pending changes'), pendingForm, status);
        clear(root,
              h('h1', {}, 'Dashboard'),
              h('div', { class: 'grid' }, identity, wireguard, dns, pending));
        render();
        const stop = ctx.store.listen(what => {
                if (what === 'cell')
                        render();
        });
        return stop;
}
