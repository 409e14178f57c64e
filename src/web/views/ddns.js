// SPDX-License-Identifier: LGPL-2.1-or-later
// The Settings page's Dynamic DNS section: how the provider is kept at the cell's address (live, from
// the cell's events), and its settings — the fields of the chosen provider only; the token, user
// name and password are never shown (the cell never gives them back), so empty means "keep it".

import { h, formatAge } from '../dom.js';
import { textField, formError, clearErrors, setFieldError, showError, errorText, whileBusy } from '../forms.js';

// provider → its label and the fields it takes (besides the name and where the address comes from)
const PROVIDERS = {
        duckdns: { label: 'Duck DNS', fields: ['ddns_token'], hostname: 'mycell.duckdns.org' },
        cloudflare: { label: 'Cloudflare', fields: ['ddns_token', 'ddns_zone_id', 'ddns_record_id'],
                      hostname: 'cell.example.org' },
        noip: { label: 'No-IP', fields: ['ddns_username', 'ddns_password'], hostname: 'mycell.ddns.net' },
        freedns: { label: 'FreeDNS (afraid.org)', fields: ['ddns_token'], hostname: 'mycell.mooo.com' },
        dyndns2: { label: 'Another dyndns2 server', fields: ['ddns_server', 'ddns_username', 'ddns_password'],
                   hostname: 'cell.example.net' },
};
const SECRETS = ['ddns_token', 'ddns_username', 'ddns_password'];   // write-only
const RECHECK_MS = 3000;
const SETTINGS = ['ddns_hostname', 'ddns_zone_id', 'ddns_record_id', 'ddns_server', 'ddns_address_source'];
const STATES = {
        off: 'Off',
        checking: 'Looking at the address',
        updating: 'Telling the provider',
        'up-to-date': 'Up to date',
        retrying: 'Retrying',
        stopped: 'Stopped: the provider refused; change a setting to try again',
};

function statusText(cell) {
        const state = cell.ddns_state || 'off';
        const parts = [STATES[state] || state];
        if (cell.ddns_address)
                parts.push(`the provider has ${cell.ddns_address} (told ${formatAge(cell.ddns_last_update)})`);
        return parts.join(' — ');
}

/** The section: its form (el), stop() for its live updates, fill(cell) for settings that changed elsewhere. */
export function ddnsSection({ api, store }) {
        const providerId = 'ddns-provider';
        const status = h('p', { class: 'status', role: 'status', 'data-ddns-status': '' });
        const lastError = h('p', { class: 'field-error', 'data-ddns-error': '' });
        const saved = h('p', { class: 'status', role: 'status' });
        const offButton = h('button', { type: 'button', class: 'secondary' }, 'Turn off');
        const field = (name, label, hint, extra = {}) =>
                h('div', { 'data-ddns-field': name }, textField({ name, label, hint, ...extra }));

        const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'settings-ddns' },
                       h('h2', { id: 'settings-ddns' }, 'Dynamic DNS'),
                       h('p', { class: 'hint' }, 'Keeps a name at a DNS provider pointing at the cell\'s public ' +
                         'address, so devices and linked cells find it when the address changes.'),
                       status, lastError,
                       h('div', { class: 'form-grid' },
                         h('div', { class: 'field', 'data-field': 'ddns_provider' },
                           h('label', { for: providerId }, 'Provider'),
                           h('select', { id: providerId, name: 'ddns_provider' },
                             h('option', { value: '' }, 'None (off)'),
                             Object.entries(PROVIDERS).map(([value, p]) => h('option', { value }, p.label))),
                           h('p', { class: 'field-error', 'data-error-for': 'ddns_provider', 'aria-live': 'polite' })),
                         field('ddns_hostname', 'Name', 'The name kept at the cell\'s address.'),
                         field('ddns_token', 'Token', 'From the provider\'s account page. The cell keeps it and ' +
                               'never shows it again: leave empty to keep the one it has.',
                               { type: 'password', autocomplete: 'new-password' }),
                         field('ddns_username', 'User name', 'Of the provider\'s account; not shown again: leave empty to keep ' +
                               'the one the cell has.'),
                         field('ddns_password', 'Password', 'Leave empty to keep the one the cell has.',
                               { type: 'password', autocomplete: 'new-password' }),
                         field('ddns_zone_id', 'Zone id', '32 hex digits, on the zone\'s overview page.'),
                         field('ddns_record_id', 'A record id', '32 hex digits; the record must exist already.'),
                         field('ddns_server', 'Update URL', 'https://host[:port][/path] of the dyndns2 server.',
                               { placeholder: 'https://dyn.example.net/nic/update' }),
                         field('ddns_address_source', 'Address from', '"uplink": the address of the cell\'s ' +
                               'uplink; or an https URL that answers with the public address (behind NAT).',
                               { placeholder: 'uplink' })),
                       formError(),
                       h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save'),
                         offButton),
                       saved);
        const input = name => form.querySelector(`[name=${name}]`);

        function showProvider() {
                const p = PROVIDERS[input('ddns_provider').value];
                for (const el of form.querySelectorAll('[data-ddns-field]')) {
                        const name = el.getAttribute('data-ddns-field');
                        el.hidden = !p || !(['ddns_hostname', 'ddns_address_source'].includes(name) ||
                                            p.fields.includes(name));
                }
                if (p)
                        input('ddns_hostname').placeholder = p.hostname;
        }
        function fill(cell) {
                input('ddns_provider').value = cell.ddns_provider || '';
                for (const name of SETTINGS)
                        input(name).value = cell[name] || '';
                for (const name of SECRETS)
                        input(name).value = '';
                showProvider();
        }
        // "checking" and "updating" last a moment: asked again shortly too, should their end's event be
        // missed (events resume only after a reconnect, with a full refresh at most every 30 s)
        let recheck = null;
        function showState(cell) {
                status.textContent = statusText(cell);
                lastError.textContent = cell.ddns_last_error ? `Last error: ${cell.ddns_last_error}` : '';
                offButton.hidden = !cell.ddns_provider;
                clearTimeout(recheck);
                if (cell.ddns_state === 'checking' || cell.ddns_state === 'updating')
                        recheck = setTimeout(() => api.getCell().then(c => store.setCell(c)).catch(() => {}), RECHECK_MS);
        }

        input('ddns_provider').addEventListener('change', () => {
                clearErrors(form);
                showProvider();
        });

        async function save(changes) {
                saved.textContent = '';
                try {
                        const cell = await whileBusy(form, () => api.configure(changes));
                        store.setCell(cell);
                        fill(cell);
                        saved.textContent = cell.ddns_provider ? 'Saved.' : 'Dynamic DNS is off; its secrets are forgotten.';
                } catch (err) {
                        if (!showError(form, err))
                                setFieldError(form, null, errorText(err));
                }
        }

        form.addEventListener('submit', async ev => {
                ev.preventDefault();
                clearErrors(form);
                const cell = store.state.cell || {};
                const provider = input('ddns_provider').value;
                if (!provider)
                        return cell.ddns_provider ? save({ ddns_provider: '' }) : undefined;
                const p = PROVIDERS[provider];
                const shown = name => ['ddns_hostname', 'ddns_address_source'].includes(name) || p.fields.includes(name);
                const changes = {};
                if (provider !== (cell.ddns_provider || ''))
                        changes.ddns_provider = provider;
                for (const name of SETTINGS) {
                        const value = input(name).value.trim();
                        if (shown(name) && value !== (cell[name] || ''))
                                changes[name] = value;
                }
                for (const name of SECRETS)
                        if (shown(name) && input(name).value)
                                changes[name] = input(name).value;
                if (!input('ddns_hostname').value.trim())
                        return setFieldError(form, 'ddns_hostname', 'Enter the name to keep at the address.');
                if (Object.keys(changes).length === 0) {
                        saved.textContent = 'Nothing to save.';
                        return;
                }
                await save(changes);
        });
        offButton.addEventListener('click', () => {
                clearErrors(form);
                save({ ddns_provider: '' });
        });

        // the settings are filled in once (events must not overwrite what is being typed); the state follows
        let filled = false;
        function update(c) {
                if (!filled)
                        fill(c);
                filled = true;
                showState(c);
        }
        if (store.state.cell)
                update(store.state.cell);
        const unlisten = store.listen(what => {
                if (what === 'cell' && store.state.cell)
                        update(store.state.cell);
        });
        const stop = () => {
                clearTimeout(recheck);
                unlisten();
        };
        return { el: form, stop, fill };
}
