// SPDX-License-Identifier: LGPL-2.1-or-later
// Cells: links with other people's cells — make an invite (text and QR code), link with
// another cell's invite, the linked cells and their state, what each shares, the uplink
// offered as an exit either way, the open invites.

import { h, clear } from '../dom.js';
import { formError, clearErrors, showError, setFieldError, errorText, whileBusy } from '../forms.js';
import { inertSvg } from '../svg.js';
import { confirmAction } from './peer-dialogs.js';

const REFRESH_MS = 5000;   // links' state and handshakes change without bus events the UI follows yet

const SERVICES = ['dns', 'web', 'mail', 'calendar', 'files', 'webdav'];

const LIFETIMES = [
        ['1 hour', 3600], ['1 day', 86400], ['7 days', 604800],
];

function ago(usec) {
        if (!usec)
                return 'never';
        const s = Math.max(0, Math.round(Date.now() / 1000 - usec / 1e6));
        if (s < 120)
                return `${s} s ago`;
        if (s < 7200)
                return `${Math.round(s / 60)} min ago`;
        return `${Math.round(s / 3600)} h ago`;
}

// Whether the linked cell knows what is shared with it (and where this cell is) yet.
function pushStatus(l) {
        if (!l.pending_push)
                return null;
        return h('p', { class: 'hint', 'data-pending': l.name },
                 l.last_push_error ? `Not told yet (retrying): ${l.last_push_error}` : 'Telling it…');
}

// This cell's uplink offered to the linked cell as its exit (a box), and whether it offers us its own.
function exitCell(l) {
        return h('td', { class: 'exit-offer' },
                 h('label', { class: 'share' },
                   h('input', { type: 'checkbox', 'data-offer-exit': l.name, checked: !!l.exit_offered,
                                'aria-label': `Offer this cell's uplink to ${l.name} as its exit` }),
                   ' our uplink as its exit'),
                 h('p', { class: 'hint', 'data-remote-exit': l.name },
                   l.remote_exit_offered ? `It offers us its uplink: exit ${l.name} (Exits page)` : 'It offers us no exit'));
}

function when(seconds) {
        return new Date(seconds * 1000).toLocaleString();
}

export function renderCells(root, ctx) {
        const { api } = ctx;
        const linksCard = h('section', { class: 'card', 'aria-labelledby': 'cells-links' });
        const invitesCard = h('section', { class: 'card', 'aria-labelledby': 'cells-invites' });
        const made = h('div', { class: 'invite-made', hidden: true });
        const inviteForm = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'cells-invite' },
                             h('h2', { id: 'cells-invite' }, 'Invite another cell'),
                             h('p', { class: 'hint' }, 'Whoever holds the invite can link with this cell once, until it ' +
                               'expires: hand it over privately. It needs the cell\'s public endpoint (Settings).'),
                             h('div', { class: 'field' },
                               h('label', { for: 'invite-lifetime' }, 'Valid for'),
                               h('select', { id: 'invite-lifetime', name: 'lifetime' },
                                 LIFETIMES.map(([label, s]) => h('option', { value: String(s), selected: s === 86400 }, label)))),
                             formError(),
                             h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Make an invite')),
                             made);
        const addForm = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'cells-add' },
                          h('h2', { id: 'cells-add' }, 'Link with a cell'),
                          h('div', { class: 'field', 'data-field': 'invite' },
                            h('label', { for: 'link-invite' }, 'Its invite'),
                            h('textarea', { id: 'link-invite', name: 'invite', rows: 4, spellcheck: 'false',
                                            placeholder: 'pic-invite1.…' }),
                            h('p', { class: 'field-error', 'data-error-for': 'invite', 'aria-live': 'polite' })),
                          formError(),
                          h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Link')),
                          h('p', { class: 'status', role: 'status' }));

        async function refresh() {
                try {
                        const [links, invites] = await Promise.all([api.listLinks(), api.listInvites()]);
                        renderLinks(links);
                        renderInvites(invites);
                } catch (err) {
                        clear(linksCard, h('h2', { id: 'cells-links' }, 'Linked cells'),
                              h('p', { class: 'form-error', role: 'alert' }, errorText(err)));
                }
        }

        function renderLinks(links) {
                const rows = links.sort((a, b) => a.name.localeCompare(b.name)).map(l =>
                        h('tr', { 'data-link': l.name },
                          h('td', {}, l.name),
                          h('td', {}, h('span', { class: `state state-${l.state}` }, l.state)),
                          h('td', {}, l.domain),
                          h('td', {}, l.vpn_subnet),
                          h('td', {}, ago(l.latest_handshake)),
                          h('td', { class: 'shares' }, SERVICES.map(svc =>
                                  h('label', { class: 'share' },
                                    h('input', { type: 'checkbox', 'data-share': l.name, value: svc,
                                                 checked: (l.shared || []).includes(svc),
                                                 'aria-label': `Share ${svc} with ${l.name}` }), ` ${svc}`)),
                            pushStatus(l)),
                          h('td', { 'data-remote-shared': l.name },
                            (l.remote_shared || []).length ? l.remote_shared.join(', ') : 'nothing'),
                          exitCell(l),
                          h('td', {}, h('button', { type: 'button', class: 'danger', 'data-remove': l.name,
                                                    'aria-label': `Remove the link with ${l.name}` }, 'Remove'))));
                clear(linksCard, h('h2', { id: 'cells-links' }, 'Linked cells'),
                      rows.length === 0 ? h('p', { class: 'empty' }, 'No linked cells yet.') :
                      h('table', { class: 'table' },
                        h('thead', {}, h('tr', {}, ['Cell', 'State', 'Domain', 'Subnet', 'Handshake', 'Shared with it', 'It shares with us', 'Exit', ''].map(t => h('th', {}, t)))),
                        h('tbody', {}, rows)));
        }

        function renderInvites(invites) {
                clear(invitesCard, h('h2', { id: 'cells-invites' }, 'Open invites'),
                      invites.length === 0 ? h('p', { class: 'empty' }, 'None.') :
                      h('ul', { class: 'invites' }, invites.map(i =>
                              h('li', { 'data-invite': i.id },
                                h('code', {}, i.id), ` — until ${when(i.expires)} `,
                                h('button', { type: 'button', 'data-revoke': i.id }, 'Revoke')))));
        }

        inviteForm.addEventListener('submit', async ev => {
                ev.preventDefault();
                clearErrors(inviteForm);
                made.hidden = true;
                const lifetime = Number(inviteForm.querySelector('select').value);
                try {
                        const inv = await whileBusy(inviteForm, () => api.createInvite(lifetime));
                        clear(made,
                              h('label', { for: 'invite-text' }, `The invite (until ${when(inv.expires)})`),
                              h('textarea', { id: 'invite-text', readonly: true, rows: 4, spellcheck: 'false' }, inv.invite),
                              h('div', { class: 'qr' }, inertSvg(inv.qr_svg, 'The invite as a QR code')));
                        made.hidden = false;
                        refresh();
                } catch (err) {
                        if (!showError(inviteForm, err))
                                setFieldError(inviteForm, null, errorText(err));
                }
        });

        addForm.addEventListener('submit', async ev => {
                ev.preventDefault();
                clearErrors(addForm);
                const status = addForm.querySelector('.status');
                status.textContent = '';
                const text = addForm.querySelector('textarea').value.trim();
                if (!text) {
                        setFieldError(addForm, 'invite', 'Paste the invite the other cell\'s admin gave you.');
                        return;
                }
                try {
                        const link = await whileBusy(addForm, () => api.addLink(text));
                        addForm.querySelector('textarea').value = '';
                        status.textContent = `Linked with cell ${link.name}.`;
                        refresh();
                } catch (err) {
                        setFieldError(addForm, 'invite', errorText(err));
                }
        });

        const page = h('div', {}, h('h1', {}, 'Cells'), linksCard, addForm, inviteForm, invitesCard);
        // Offering is asked first: the other cell's people then reach the internet as this cell.
        function offerExit(box) {
                const name = box.dataset.offerExit;
                if (!box.checked) {
                        api.offerExit(name, false).catch(err => alert(errorText(err))).finally(refresh);
                        return;
                }
                const d = confirmAction({
                        id: 'offer-exit',
                        title: `Offer this cell's uplink to ${name}?`,
                        text: `Cell ${name}'s admin can then send its peers' internet traffic out through this cell's ` +
                              'connection, under this cell\'s public address. Untick the box to withdraw it at any time.',
                        confirmLabel: 'Offer',
                        action: () => api.offerExit(name, true),
                        onDone: () => {},
                });
                d.addEventListener('close', refresh);   // after a cancel too: the box shows what the cell holds
        }

        page.addEventListener('change', async ev => {
                const offer = ev.target.closest('[data-offer-exit]');
                if (offer) {
                        offerExit(offer);
                        return;
                }
                const box = ev.target.closest('[data-share]');
                if (!box)
                        return;
                const name = box.dataset.share;
                const shared = [...page.querySelectorAll(`[data-share="${CSS.escape(name)}"]`)]
                        .filter(b => b.checked).map(b => b.value);
                try {
                        await api.setShared(name, shared);
                } catch (err) {
                        alert(errorText(err));
                }
                refresh();
        });

        page.addEventListener('click', async ev => {
                const remove = ev.target.closest('[data-remove]');
                const revoke = ev.target.closest('[data-revoke]');
                try {
                        if (remove && confirm(`Remove the link with cell ${remove.dataset.remove}?`))
                                await api.removeLink(remove.dataset.remove);
                        else if (revoke)
                                await api.revokeInvite(revoke.dataset.revoke);
                        else
                                return;
                } catch (err) {
                        alert(errorText(err));
                }
                refresh();
        });

        clear(root, page);
        refresh();
        const timer = setInterval(refresh, REFRESH_MS);
        return () => clearInterval(timer);
}
