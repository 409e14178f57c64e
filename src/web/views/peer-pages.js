// SPDX-License-Identifier: LGPL-2.1-or-later
// Which page of peers the Peers page shows: the search prefix, the cursors of the pages up to it
// (Previous drops one), what the last answer said (names, total, next, etag), and whether a peer
// named in an event belongs on it. No DOM here: views/peers.js draws it.

export const PAGE_SIZE = 100;

const number = n => n.toLocaleString('en-US');

/** api: the transport (listPeerPage); limit: rows per page. */
export function createPeerPages(api, { limit = PAGE_SIZE } = {}) {
        // cursors[i]: the cursor page i was asked with (null: the first page)
        const s = { prefix: '', cursors: [null], names: [], total: 0, next: null, etag: null, loaded: false };
        let asked = 0;   // the latest load's number: an older answer is dropped

        const cursor = () => s.cursors[s.cursors.length - 1];

        return {
                get names() {
                        return s.names;
                },
                get prefix() {
                        return s.prefix;
                },
                get total() {
                        return s.total;
                },
                set total(n) {
                        s.total = n;
                },
                /** the page asked for last has been answered (no search or turn since) */
                get loaded() {
                        return s.loaded;
                },
                get hasPrevious() {
                        return s.cursors.length > 1;
                },
                get hasNext() {
                        return s.next !== null;
                },

                /**
                 * Asks for the page; revalidate: with the last ETag (an unchanged page is not sent again).
                 * → the transport's answer ({peers, total, next, etag} or {notModified}), or null when a later
                 * load overtook it.
                 */
                async load({ revalidate = false } = {}) {
                        const mine = ++asked;
                        const res = await api.listPeerPage({ limit, cursor: cursor(), prefix: s.prefix,
                                                             etag: revalidate && s.loaded ? s.etag : null });
                        if (mine !== asked)
                                return null;
                        if (!res.notModified) {
                                Object.assign(s, { names: res.peers.map(p => p.name), total: res.total, next: res.next,
                                                   etag: res.etag, loaded: true });
                        }
                        return res;
                },

                /** a new search: from its first page */
                search(prefix) {
                        s.prefix = prefix;
                        s.cursors = [null];
                        s.loaded = false;
                },

                next() {
                        if (s.next !== null)
                                s.cursors.push(s.next);
                        s.loaded = false;
                },

                previous() {
                        if (s.cursors.length > 1)
                                s.cursors.pop();
                        s.loaded = false;
                },

                /** whether a peer of that name, absent from the page, would be on it: it sorts within its range */
                belongs(name) {
                        if (!s.loaded || !name.startsWith(s.prefix))
                                return false;
                        const after = cursor();
                        if (after !== null && !(name > after))
                                return false;
                        // a full page with more after it ends at its last name; the last page runs on
                        return s.next === null || name < s.names[s.names.length - 1];
                },

                /** "101–200 of 10,000" (the first row's number counts pages: rows come by name, not offset) */
                rangeText() {
                        if (s.names.length === 0)
                                return s.prefix ? `No peers start with "${s.prefix}"` : 'No peers';
                        const first = (s.cursors.length - 1) * limit + 1;
                        return `${number(first)}–${number(first + s.names.length - 1)} of ${number(s.total)} ` +
                               `${s.total === 1 ? 'peer' : 'peers'}`;
                },
        };
}
