// SPDX-License-Identifier: LGPL-2.1-or-later
// The Settings page's Backup section: download an archive of the cell (encrypted with a passphrase
// typed twice, or plain after a clear warning), and restore one after confirming that it replaces
// everything; then wait for the restarted cell and load what it holds now.

import { h, uniqueId, formatBytes } from '../dom.js';
import { textField, formError, clearErrors, setFieldError, showError, errorText, whileBusy } from '../forms.js';
import { downloadBlob } from '../svg.js';
import { confirmAction } from './peer-dialogs.js';

const PASSPHRASE_MIN = 8;                        // what the cell takes
const PASSPHRASE_MAX = 1024;
const ARCHIVE_MAX = 256 * 1024 * 1024;           // what the gateway takes
const RESTART_WAIT_MS = 90000;
const RESTART_POLL_MS = 1000;

function checkboxField({ name, label, hint }) {
        const id = uniqueId(`f-${name}`);
        const hintId = `${id}-hint`;
        const input = h('input', { type: 'checkbox', id, name, 'aria-describedby': hintId });
        return {
                input,
                el: h('div', { class: 'field', 'data-field': name },
                      h('span', { class: 'checkbox' }, input, h('label', { for: id }, label)),
                      h('p', { class: 'hint warning', id: hintId }, hint)),
        };
}

function fileField({ name, label, hint, accept }) {
        const id = uniqueId(`f-${name}`);
        const input = h('input', { type: 'file', id, name, accept, 'aria-describedby': `${id}-hint ${id}-error` });
        return {
                input,
                el: h('div', { class: 'field', 'data-field': name },
                      h('label', { for: id }, label), input,
                      h('p', { class: 'hint', id: `${id}-hint` }, hint),
                      h('p', { class: 'field-error', id: `${id}-error`, 'data-error-for': name, 'aria-live': 'polite' })),
        };
}

/** The cell again after its restart: asked every second until it answers (a signed-out session throws). */
async function cellAfterRestart(api) {
        const deadline = Date.now() + RESTART_WAIT_MS;
        for (;;) {
                await new Promise(resolve => setTimeout(resolve, RESTART_POLL_MS));
                try {
                        return await api.getCell();
                } catch (err) {
                        if (err.status === 401 || Date.now() > deadline)
                                throw err;
                }
        }
}

/** The two forms; onRestored(cell) runs once the restarted cell answers. */
export function backupSection({ api, store }, { onRestored } = {}) {
        const backupStatus = h('p', { class: 'status', role: 'status' });
        const unencrypted = checkboxField({
                name: 'unencrypted', label: 'Do not encrypt the backup',
                hint: 'Not recommended: a backup without a passphrase holds the cell\'s private keys and its peers\' ' +
                      'keys in clear. Anyone who gets the file can act as this cell.',
        });
        const backupForm = h('form', { class: 'card backup', novalidate: true, 'aria-labelledby': 'settings-backup' },
                             h('h2', { id: 'settings-backup' }, 'Backup'),
                             h('p', { class: 'muted' }, 'Everything this cell needs to become itself again on a new ' +
                               'box: its keys, peers, links, exits, open invites and admin password, in one file.'),
                             h('div', { class: 'form-grid' },
                               textField({ name: 'passphrase', label: 'Passphrase', type: 'password',
                                           autocomplete: 'new-password',
                                           hint: `At least ${PASSPHRASE_MIN} characters. Restoring needs it; nothing can recover it.` }),
                               textField({ name: 'passphrase_again', label: 'Passphrase again', type: 'password',
                                           autocomplete: 'new-password' })),
                             unencrypted.el,
                             formError(),
                             h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Download backup')),
                             backupStatus);
        const passInputs = [...backupForm.querySelectorAll('input[type=password]')];
        const warning = unencrypted.el.querySelector('.warning');
        function showUnencrypted() {
                const plain = unencrypted.input.checked;
                warning.hidden = !plain;
                for (const input of passInputs) {
                        input.disabled = plain;
                        if (plain)
                                input.value = '';
                }
        }
        unencrypted.input.addEventListener('change', showUnencrypted);
        showUnencrypted();

        backupForm.addEventListener('submit', async ev => {
                ev.preventDefault();
                clearErrors(backupForm);
                backupStatus.textContent = '';
                const plain = unencrypted.input.checked;
                const [passphrase, again] = passInputs.map(i => i.value);
                if (!plain) {
                        if ([...passphrase].length < PASSPHRASE_MIN)
                                return setFieldError(backupForm, 'passphrase', `The passphrase needs at least ${PASSPHRASE_MIN} characters.`);
                        if ([...passphrase].length > PASSPHRASE_MAX)
                                return setFieldError(backupForm, 'passphrase', `The passphrase may have at most ${PASSPHRASE_MAX} characters.`);
                        if (passphrase !== again)
                                return setFieldError(backupForm, 'passphrase_again', 'The two passphrases differ.');
                }
                backupStatus.textContent = 'Making the backup…';
                try {
                        const { blob, filename } = await whileBusy(backupForm, () =>
                                api.backup(plain ? { unencrypted: true } : { passphrase }));
                        downloadBlob(filename, blob);
                        for (const input of passInputs)
                                input.value = '';
                        backupStatus.textContent = `Backup downloaded: ${filename} (${formatBytes(blob.size)}). ` +
                                (plain ? 'It is not encrypted: keep it where nobody else can read it.'
                                       : 'Keep it and its passphrase apart, both safe.');
                } catch (err) {
                        backupStatus.textContent = '';
                        if (!showError(backupForm, err))
                                setFieldError(backupForm, null, errorText(err));
                }
        });

        const restoreStatus = h('p', { class: 'status', role: 'status' });
        const archive = fileField({ name: 'archive', label: 'Backup file', accept: '.picbackup,application/octet-stream',
                                    hint: 'A .picbackup file made by Download backup, here or on another cell.' });
        const restoreForm = h('form', { class: 'card restore', novalidate: true, 'aria-labelledby': 'settings-restore' },
                              h('h2', { id: 'settings-restore' }, 'Restore'),
                              h('p', { class: 'muted' }, 'Replaces everything this cell has with what a backup holds. ' +
                                'The cell restarts to load it.'),
                              h('div', { class: 'form-grid' },
                                archive.el,
                                textField({ name: 'passphrase', label: 'Its passphrase', type: 'password',
                                            autocomplete: 'off', hint: 'Empty for a backup made without encryption.' })),
                              formError(),
                              h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' }, 'Restore…')),
                              restoreStatus);
        const restorePass = restoreForm.querySelector('input[type=password]');

        async function restore(file) {
                clearErrors(restoreForm);
                restoreStatus.textContent = `Uploading ${file.name}…`;
                let result;
                try {
                        result = await whileBusy(restoreForm, () => api.restore(file, restorePass.value));
                } catch (err) {
                        restoreStatus.textContent = '';
                        if (!showError(restoreForm, err))
                                setFieldError(restoreForm, null, errorText(err));
                        return;
                }
                restoreForm.reset();
                restoreStatus.textContent = `Restored cell ${result.cell}; the cell restarts to load it…`;
                try {
                        const cell = await cellAfterRestart(api);
                        store.setCell(cell);
                        store.setPeers(await api.listPeers());
                        restoreStatus.textContent = `Restored cell ${result.cell}; the cell restarted and shows the ` +
                                'restored state. Sign-ins now take the backup\'s admin password.';
                        if (onRestored)
                                onRestored(cell);
                } catch (err) {
                        setFieldError(restoreForm, null, `Restored, but the cell does not answer yet: ${errorText(err)} ` +
                                      'Reload the page in a while.');
                }
        }

        restoreForm.addEventListener('submit', ev => {
                ev.preventDefault();
                clearErrors(restoreForm);
                restoreStatus.textContent = '';
                const file = archive.input.files[0];
                if (!file)
                        return setFieldError(restoreForm, 'archive', 'Choose the backup file.');
                if (file.size > ARCHIVE_MAX)
                        return setFieldError(restoreForm, 'archive', `${file.name} is larger than 256 MiB: not a cell's backup.`);
                const name = store.state.cell && store.state.cell.name;
                confirmAction({
                        id: 'restore',
                        title: 'Replace everything with this backup?',
                        text: `Everything cell ${name || 'this cell'} has now — its peers, links, exits, keys and admin ` +
                              `password — is replaced by what ${file.name} holds. This cannot be undone.`,
                        confirmLabel: 'Replace everything',
                        action: async () => null,
                        onDone: () => restore(file),
                });
                return null;
        });

        return [backupForm, restoreForm];
}
