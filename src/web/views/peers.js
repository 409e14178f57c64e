// SPDX-License-Identifier: LGPL-2.1-or-later
// Peers: the add form, a search by name, and one page of the peers at a time (peer-table.js
// draws its rows, peer-pages.js knows which page it is), kept live from the events: a row on the
// page follows its peer, a peer added or removed where the page shows it brings the page again.

import { h, clear, uniqueId } from '../dom.js';
import { textField, checkboxGroup, formError, clearErrors, setFieldError, showError, errorText,
         formValues, checkedValues, whileBusy } from '../forms.js';
import { SERVICES, NETWORKS, createPeerTable } from './peer-table.js';
import { createPeerPages } from './peer-pages.js';

export { SERVICES, NETWORKS };

const SEARCH_DELAY_MS = 200;    // typing a name asks once it pauses
const REFETCH_DELAY_MS = 250;   // a burst of adds or removes (an import) brings the page once
const NAME_PART = /^[A-Za-z0-9_-]{0,32}$/;

export function renderPeers(root, ctx) {
        const { api, store } = ctx;
        const status = h('p', { class: 'status', role: 'status' });
        const actionError = h('p', { class: 'form-error', role: 'alert' });
        const pages = createPeerPages(api);
        const table = createPeerTable(ctx, { status, actionError, onRemoved: () => refetchSoon() });
        let refetchTimer = null;
        let searchTimer = null;
        let stopped = false;
        let answered = false;   // the first page came: until then the table says it is loading

        const addForm = h('form', { class: 'card add-peer', novalidate: true, 'aria-labelledby': 'add-peer-title' },
                          h('h2', { id: 'add-peer-title' }, 'Add a peer'),
                          h('div', { class: 'form-row' },
                            textField({ name: 'name', label: 'Name', required: true,
                                        hint: 'The device, e.g. laptop: letters, digits, "-" and "_".' })),
                          checkboxGroup({ name: 'service_access', legend: 'Services it may reach', options: SERVICES,
                                          checked: ['dns', 'web'] }),
                          checkboxGroup({ name: 'network_access', legend: 'Networks it may reach', options: NETWORKS,
                                          checked: ['internet'] }),
                          formError(),
                          h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Add peer')));

        addForm.addEventListener('submit', async ev => {
                ev.preventDefault();
                clearErrors(addForm);
                status.textContent = '';
                const { name } = formValues(addForm);
                if (!name) {
                        setFieldError(addForm, 'name', 'Enter a name for the peer.');
                        return;
                }
                try {
                        const peer = await whileBusy(addForm, () =>
                                api.addPeer(name, { service_access: checkedValues(addForm, 'service_access'),
                                                    network_access: checkedValues(addForm, 'network_access') }));
                        addForm.querySelector('input[name=name]').value = '';
                        const elsewhere = !pages.belongs(peer.name);
                        status.textContent = `Peer ${peer.name} added (${peer.address}). Use its QR code or config to set up the device.` +
                                             (elsewhere ? ` It is listed on another page: search for ${peer.name} to see it.` : '');
                        refetchSoon();
                } catch (err) {
                        if (!showError(addForm, err))
                                setFieldError(addForm, null, errorText(err));
                }
        });

        // the search: names starting with what is typed, asked of the cell once typing pauses
        const searchId = uniqueId('peer-search');
        const search = h('input', { id: searchId, type: 'search', name: 'prefix', autocomplete: 'off', spellcheck: 'false',
                                    'aria-describedby': `${searchId}-hint ${searchId}-error`, 'aria-controls': 'peer-table' });
        const searchError = h('p', { class: 'field-error', id: `${searchId}-error`, 'aria-live': 'polite' });
        const searchField = h('div', { class: 'field' },
                              h('label', { for: searchId }, 'Search peers'),
                              search,
                              h('p', { class: 'hint', id: `${searchId}-hint` }, 'Shows the peers whose names start with this.'),
                              searchError);
        const searchForm = h('form', { role: 'search', class: 'peer-search', 'aria-label': 'Peers', novalidate: true },
                             searchField);

        function setSearchError(message) {
                searchError.textContent = message;
                searchField.classList.toggle('invalid', !!message);
                if (message)
                        search.setAttribute('aria-invalid', 'true');
                else
                        search.removeAttribute('aria-invalid');
        }

        function runSearch() {
                clearTimeout(searchTimer);
                const prefix = search.value.trim();
                if (!NAME_PART.test(prefix)) {
                        setSearchError('A peer name has only letters, digits, "-" and "_" (at most 32).');
                        return;
                }
                setSearchError('');
                if (prefix === pages.prefix)
                        return;
                pages.search(prefix);
                load();
        }

        search.addEventListener('input', () => {
                clearTimeout(searchTimer);
                searchTimer = setTimeout(runSearch, SEARCH_DELAY_MS);
        });
        searchForm.addEventListener('submit', ev => {
                ev.preventDefault();
                runSearch();
        });

        // the pager: Previous and Next, and where the page is ("101–200 of 10,000 peers")
        const count = h('p', { class: 'muted count', id: 'peer-count', 'aria-live': 'polite' });
        const prevButton = h('button', { type: 'button', class: 'secondary small', 'aria-label': 'Previous page',
                                         onclick: () => turn('previous') }, 'Previous');
        const nextButton = h('button', { type: 'button', class: 'secondary small', 'aria-label': 'Next page',
                                         onclick: () => turn('next') }, 'Next');
        const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of peers' }, prevButton, count, nextButton);

        async function turn(way) {
                const button = way === 'next' ? nextButton : prevButton;
                if (way === 'next')
                        pages.next();
                else
                        pages.previous();
                await load();
                // the button pressed is off at either end: the other one keeps the keyboard's place
                if (document.activeElement === button && button.disabled)
                        (way === 'next' ? prevButton : nextButton).focus();
        }

        function render() {
                const loading = !answered;
                table.show(pages.names, loading ? 'Loading…'
                                                : pages.prefix ? `No peers start with "${pages.prefix}".` : 'No peers yet. Add one above.');
                const where = loading ? '' : pages.rangeText();
                if (count.textContent !== where)   // a live region: said again only when it changes
                        count.textContent = where;
                prevButton.disabled = !pages.hasPrevious;
                nextButton.disabled = !pages.hasNext;
        }

        async function load({ revalidate = false } = {}) {
                try {
                        const res = await pages.load({ revalidate });
                        if (!res || res.notModified || stopped)
                                return;
                        answered = true;
                        if (res.peers.length === 0 && pages.hasPrevious) {   // the page emptied: the one before it
                                pages.previous();
                                await load();
                                return;
                        }
                        store.setPeers(res.peers);   // renders
                } catch (err) {
                        if (stopped)
                                return;
                        if (err.field === 'prefix' || err.field === 'cursor')
                                setSearchError(errorText(err));
                        else
                                actionError.textContent = errorText(err);
                }
        }

        function refetchSoon() {
                clearTimeout(refetchTimer);
                refetchTimer = setTimeout(() => load(), REFETCH_DELAY_MS);
        }

        let peerCount = null;
        function cellChanged(cell) {
                const n = cell && Number.isInteger(cell.peer_count) ? cell.peer_count : null;
                if (n === null || n === peerCount)
                        return;
                peerCount = n;
                // a peer added or removed elsewhere: the count follows (a search's count is the cell's to say)
                if (!pages.loaded)
                        return;
                if (pages.prefix)
                        refetchSoon();
                else if (pages.total !== n) {
                        pages.total = n;
                        render();
                }
        }

        clear(root,
              h('h1', {}, 'Peers'),
              addForm,
              h('section', { class: 'card', 'aria-labelledby': 'peer-list-title' },
                h('div', { class: 'section-head' }, h('h2', { id: 'peer-list-title' }, 'Devices'), pager),
                searchForm,
                status, actionError,
                h('div', { class: 'table-wrap', id: 'peer-table' }, table.table)));
        render();
        const stop = store.listen((what, state, detail) => {
                if (what === 'peers')
                        render();
                else if (what === 'peer-elsewhere' && pages.belongs(detail.name))
                        refetchSoon();   // added where the page shows it
                else if (what === 'peer-removed' && pages.names.includes(detail))
                        refetchSoon();   // its row went: the page fills up again
                else if (what === 'cell')
                        cellChanged(state.cell);
                else if (what === 'resync')
                        load({ revalidate: true });
        });
        peerCount = store.state.cell && Number.isInteger(store.state.cell.peer_count) ? store.state.cell.peer_count : null;
        const ticker = setInterval(table.tick, 1000);
        load();
        return () => {
                stopped = true;
                stop();
                clearInterval(ticker);
                clearTimeout(refetchTimer);
                clearTimeout(searchTimer);
        };
}
