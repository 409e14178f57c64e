// SPDX-License-Identifier: LGPL-2.1-or-later
// Sign-in form: "admin", or a peer's name with the password the admin gave that peer.

import { h, clear } from '../dom.js';
import { textField, formError, clearErrors, setFieldError, showError, errorText, formValues, whileBusy } from '../forms.js';

export function renderLogin(root, ctx, { notice = '' } = {}) {
        const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'login-title' },
                       textField({ name: 'username', label: 'User name', value: 'admin', required: true,
                                   autocomplete: 'username', hint: '"admin", or your device\'s peer name.' }),
                       textField({ name: 'password', label: 'Password', type: 'password', required: true,
                                   autocomplete: 'current-password' }),
                       formError(),
                       h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')));

        form.addEventListener('submit', async ev => {
                ev.preventDefault();
                clearErrors(form);
                const { username, password } = formValues(form);
                if (!username) {
                        setFieldError(form, 'username', 'Enter a user name.');
                        return;
                }
                if (!password) {
                        setFieldError(form, 'password', 'Enter the password.');
                        return;
                }
                try {
                        const session = await whileBusy(form, () => ctx.api.login(username, password));
                        ctx.onLogin(session);
                } catch (err) {
                        if (err.status === 401)
                                setFieldError(form, 'password', 'Wrong user name or password.');
                        else if (!showError(form, err))
                                setFieldError(form, null, errorText(err));
                }
        });

        clear(root,
              h('section', { class: 'narrow-page' },
                h('h1', { id: 'login-title' }, 'Sign in'),
                notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
                form));
        form.querySelector(notice ? 'input[name=password]' : 'input[name=username]').focus();
}
