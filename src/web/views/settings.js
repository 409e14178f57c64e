// SPDX-License-Identifier: LGPL-2.1-or-later
// Settings: the cell's identity and network (address/port wait for Apply), dynamic DNS
// (views/ddns.js), the admin password, and backup and restore (views/backup.js).

import { h, clear } from '../dom.js';
import { textField, formError, clearErrors, setFieldError, showError, errorText, formValues, whileBusy } from '../forms.js';
import { backupSection } from './backup.js';
import { ddnsSection } from './ddns.js';

const CELL_FIELDS = ['name', 'domain', 'endpoint', 'vpn_address', 'listen_port'];

function fill(form, cell) {
        const pending = cell.pending_changes || {};
        for (const f of CELL_FIELDS) {
                const input = form.querySelector(`input[name=${f}]`);
                const value = f in pending ? pending[f] : cell[f];
                input.value = value === undefined || value === null ? '' : String(value);
        }
}

export function renderSettings(root, ctx) {
        const { api, store } = ctx;
        const cellStatus = h('p', { class: 'status', role: 'status' });
        const cellForm = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'settings-cell' },
                           h('h2', { id: 'settings-cell' }, 'Cell'),
                           h('div', { class: 'form-grid' },
                             textField({ name: 'name', label: 'Cell name', required: true }),
                             textField({ name: 'domain', label: 'Domain', required: true }),
                             textField({ name: 'endpoint', label: 'Public endpoint', hint: 'host:port; empty clears it.' }),
                             textField({ name: 'vpn_address', label: 'VPN address', required: true,
                                         hint: 'Takes effect after Apply on the dashboard.' }),
                             textField({ name: 'listen_port', label: 'WireGuard port', type: 'number', inputmode: 'numeric',
                                         min: 1, max: 65535, hint: 'Takes effect after Apply on the dashboard.' })),
                           formError(),
                           h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save')),
                           cellStatus);

        cellForm.addEventListener('submit', async ev => {
                ev.preventDefault();
                clearErrors(cellForm);
                cellStatus.textContent = '';
                const cell = store.state.cell || {};
                const pending = cell.pending_changes || {};
                const values = formValues(cellForm);
                const changes = {};
                for (const f of CELL_FIELDS) {
                        const was = f in pending ? pending[f] : cell[f];
                        if (values[f] !== String(was ?? ''))
                                changes[f] = f === 'listen_port' ? Number(values[f]) : values[f];
                }
                if ('listen_port' in changes && (!Number.isInteger(changes.listen_port) || changes.listen_port < 1 || changes.listen_port > 65535)) {
                        setFieldError(cellForm, 'listen_port', 'The port is a number from 1 to 65535.');
                        return;
                }
                if (Object.keys(changes).length === 0) {
                        cellStatus.textContent = 'Nothing to save.';
                        return;
                }
                try {
                        const updated = await whileBusy(cellForm, () => api.configure(changes));
                        store.setCell(updated);
                        fill(cellForm, updated);
                        const waiting = Object.keys(updated.pending_changes || {}).length > 0;
                        clear(cellStatus, 'Saved.', waiting
                                ? [' Address and port changes wait for ', h('a', { href: '#dashboard' }, 'Apply on the dashboard'), '.']
                                : null);
                } catch (err) {
                        if (!showError(cellForm, err))
                                setFieldError(cellForm, null, errorText(err));
                }
        });

        const pwStatus = h('p', { class: 'status', role: 'status' });
        const pwForm = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'settings-password' },
                         h('h2', { id: 'settings-password' }, 'Administrator password'),
                         h('div', { class: 'form-grid' },
                           textField({ name: 'old_password', label: 'Current password', type: 'password', required: true,
                                       autocomplete: 'current-password' }),
                           textField({ name: 'new_password', label: 'New password', type: 'password', required: true,
                                       autocomplete: 'new-password' }),
                           textField({ name: 'new_password_again', label: 'New password again', type: 'password',
                                       required: true, autocomplete: 'new-password' })),
                         formError(),
                         h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Change password')),
                         pwStatus);

        pwForm.addEventListener('submit', async ev => {
                ev.preventDefault();
                clearErrors(pwForm);
                pwStatus.textContent = '';
                const v = formValues(pwForm);
                if (!v.old_password)
                        return setFieldError(pwForm, 'old_password', 'Enter the current password.');
                if (!v.new_password)
                        return setFieldError(pwForm, 'new_password', 'Choose a new password.');
                if (v.new_password !== v.new_password_again)
                        return setFieldError(pwForm, 'new_password_again', 'The two passwords differ.');
                try {
                        await whileBusy(pwForm, () => api.changePassword(v.old_password, v.new_password));
                        pwForm.reset();
                        pwStatus.textContent = 'Password changed.';
                } catch (err) {
                        // a wrong current password is refused without naming a field
                        if (!showError(pwForm, err) && (err.status === 403 || err.status === 401))
                                setFieldError(pwForm, 'old_password', 'The current password is wrong.');
                        else if (!pwForm.querySelector('[data-error-for]:not(:empty)'))
                                setFieldError(pwForm, null, errorText(err));
                }
        });

        const ddns = ddnsSection(ctx);
        const backup = ctx.can('backup')
                ? backupSection(ctx, { onRestored: cell => { fill(cellForm, cell); ddns.fill(cell); } }) : [];
        // the admin password is the web UI's sign-in: set where that UI is
        clear(root, h('h1', {}, 'Settings'), cellForm, ddns.el, ctx.can('webLogins') ? pwForm : null, ...backup);
        if (store.state.cell)
                fill(cellForm, store.state.cell);
        else
                api.getCell().then(c => { store.setCell(c); fill(cellForm, c); })
                        .catch(err => setFieldError(cellForm, null, errorText(err)));
        return ddns.stop;
}
