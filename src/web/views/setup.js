// SPDX-License-Identifier: LGPL-2.1-or-later
// First-run wizard: the setup code (proof of access to the machine) and the cell's identity, its
// network, and the admin password, then Setup.

import { h, clear } from '../dom.js';
import { textField, formError, clearErrors, setFieldError, showError, errorText, formValues, whileBusy } from '../forms.js';
import { errorField } from '../errors.js';

const STEPS = [
        {
                title: 'Cell',
                intro: 'Give your cell a name and the DNS domain its devices and services will use.',
                fields: () => [
                        textField({ name: 'setup_code', label: 'Setup code', required: true, placeholder: 'XXXX-XXXX-XXXX',
                                    hint: 'Proves you have the machine: pic-celld writes it in its log when it starts, ' +
                                          'and "sudo picctl setup-code" prints it.' }),
                        textField({ name: 'name', label: 'Cell name', required: true, hint: 'Lower-case letters, digits and "-", e.g. home.' }),
                        textField({ name: 'domain', label: 'Domain', required: true, hint: 'e.g. home.lan' }),
                ],
        },
        {
                title: 'Network',
                intro: 'The WireGuard network your devices join.',
                fields: () => [
                        textField({ name: 'vpn_address', label: 'VPN address', required: true, value: '10.0.0.1/24',
                                    hint: "The cell's own address with prefix, in private address space." }),
                        textField({ name: 'listen_port', label: 'WireGuard port', type: 'number', value: '51820',
                                    inputmode: 'numeric', min: 1, max: 65535, hint: 'UDP port, 1–65535.' }),
                        textField({ name: 'endpoint', label: 'Public endpoint (optional)',
                                    hint: 'host:port devices use to reach the cell, e.g. cell.example.org:51820.' }),
                ],
        },
        {
                title: 'Administrator',
                intro: 'Choose the password of the "admin" account that manages the cell.',
                fields: () => [
                        textField({ name: 'admin_password', label: 'Admin password', type: 'password', required: true,
                                    autocomplete: 'new-password' }),
                        textField({ name: 'admin_password_again', label: 'Admin password again', type: 'password',
                                    required: true, autocomplete: 'new-password' }),
                ],
        },
];

/** Checks one step's fields before moving on; returns true when fine. */
function validateStep(form, index, values) {
        let ok = true;
        const fail = (name, msg) => {
                if (ok)
                        setFieldError(form, name, msg);
                else
                        form.querySelector(`[data-error-for="${name}"]`).textContent = msg;
                ok = false;
        };
        if (index === 0) {
                if (!values.setup_code)
                        fail('setup_code', 'Enter the setup code.');
                if (!values.name)
                        fail('name', 'Enter a name for the cell.');
                if (!values.domain)
                        fail('domain', 'Enter a domain.');
        } else if (index === 1) {
                if (!values.vpn_address)
                        fail('vpn_address', 'Enter the VPN address, e.g. 10.0.0.1/24.');
                const port = Number(values.listen_port || 51820);
                if (!Number.isInteger(port) || port < 1 || port > 65535)
                        fail('listen_port', 'The port is a number from 1 to 65535.');
        } else if (index === 2) {
                if (!values.admin_password)
                        fail('admin_password', 'Choose a password.');
                else if (values.admin_password !== values.admin_password_again)
                        fail('admin_password_again', 'The two passwords differ.');
        }
        return ok;
}

export function renderSetup(root, ctx) {
        let current = 0;
        const progress = h('ol', { class: 'steps' },
                           STEPS.map((s, i) => h('li', { 'data-step': i }, `${i + 1}. ${s.title}`)));
        const fieldsets = STEPS.map((s, i) =>
                h('fieldset', { class: 'step', 'data-step': i },
                  h('legend', {}, `Step ${i + 1} of ${STEPS.length}: ${s.title}`),
                  h('p', { class: 'intro' }, s.intro),
                  s.fields()));
        const back = h('button', { type: 'button', class: 'secondary', onclick: () => show(current - 1) }, 'Back');
        const next = h('button', { type: 'submit', class: 'primary' }, 'Next');
        const form = h('form', { class: 'card wizard', novalidate: true, 'aria-labelledby': 'setup-title' },
                       fieldsets, formError(), h('div', { class: 'actions' }, back, next));

        function show(index) {
                current = Math.max(0, Math.min(STEPS.length - 1, index));
                fieldsets.forEach((fs, i) => { fs.hidden = i !== current; });
                progress.querySelectorAll('li').forEach((li, i) => {
                        if (i === current)
                                li.setAttribute('aria-current', 'step');
                        else
                                li.removeAttribute('aria-current');
                        li.classList.toggle('done', i < current);
                });
                back.hidden = current === 0;
                next.textContent = current === STEPS.length - 1 ? 'Set up the cell' : 'Next';
                const first = fieldsets[current].querySelector('input');
                if (first)
                        first.focus();
        }

        function stepOf(field) {
                return fieldsets.findIndex(fs => fs.querySelector(`[data-error-for="${field}"]`));
        }

        form.addEventListener('submit', async ev => {
                ev.preventDefault();
                clearErrors(form);
                const values = formValues(form);
                if (!validateStep(form, current, values))
                        return;
                if (current < STEPS.length - 1) {
                        show(current + 1);
                        return;
                }
                const settings = {
                        name: values.name,
                        domain: values.domain,
                        vpn_address: values.vpn_address,
                        admin_password: values.admin_password,
                        setup_code: values.setup_code,
                };
                if (values.listen_port)
                        settings.listen_port = Number(values.listen_port);
                if (values.endpoint)
                        settings.endpoint = values.endpoint;
                try {
                        const cell = await whileBusy(form, () => ctx.api.setup(settings));
                        ctx.onSetupDone(cell, values.admin_password);
                } catch (err) {
                        if (err.code === 'conflict' && err.status === 409 && !err.field) {
                                // someone else finished setup meanwhile
                                ctx.onSetupDone(null);
                                return;
                        }
                        const field = errorField(err, STEPS.flatMap((_, i) =>
                                [...fieldsets[i].querySelectorAll('[data-error-for]')].map(e => e.dataset.errorFor)));
                        if (field)
                                show(stepOf(field));
                        if (!showError(form, err))
                                setFieldError(form, null, errorText(err));
                }
        });

        clear(root,
              h('section', { class: 'narrow-page' },
                h('h1', { id: 'setup-title' }, 'Set up your cell'),
                h('p', {}, 'This cell is new. Three short steps and it is ready for your devices.'),
                progress,
                form));
        show(0);
}
