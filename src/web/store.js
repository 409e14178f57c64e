// SPDX-License-Identifier: LGPL-2.1-or-later
// What the UI knows about the cell: the cell object and the peers the current view holds (the
// Peers page's page, or every peer for the Exits page), kept current from the transport's events;
// views subscribe to changes instead of polling themselves.

export function createStore() {
        const state = { cell: null, peers: new Map(), live: null };
        const listeners = new Set();

        function notify(what, detail = null) {
                for (const fn of listeners)
                        fn(what, state, detail);
        }

        return {
                state,

                /**
                 * fn(what, state, detail) with what = 'cell' | 'peers' | 'transport' | 'resync' (ask again for
                 * what is shown) | 'peer-removed' (detail: its name, held or not) | 'peer-elsewhere' (detail: an
                 * event's peer the store does not hold: one just added, or one changed off the page)
                 */
                listen(fn) {
                        listeners.add(fn);
                        return () => listeners.delete(fn);
                },

                setCell(cell) {
                        state.cell = cell;
                        notify('cell');
                },

                /** the peers the view holds (those the store follows), replacing any before */
                setPeers(list) {
                        state.peers = new Map(list.map(p => [p.name, p]));
                        notify('peers');
                },

                putPeer(peer) {
                        state.peers.set(peer.name, { ...(state.peers.get(peer.name) || {}), ...peer });
                        notify('peers');
                },

                dropPeer(name) {
                        if (state.peers.delete(name))
                                notify('peers');
                },

                /** applies one event from api.subscribe() */
                apply(event) {
                        switch (event.type) {
                        case 'cell':
                                this.setCell({ ...(state.cell || {}), ...event.data });
                                break;
                        case 'peer':
                                // a peer the view does not hold is the view's to place (or not)
                                if (state.peers.has(event.data.name))
                                        this.putPeer(event.data);
                                else
                                        notify('peer-elsewhere', event.data);
                                break;
                        case 'peer-removed':
                                this.dropPeer(event.data.name);
                                notify('peer-removed', event.data.name);
                                break;
                        case 'resync':
                                notify('resync');
                                break;
                        case 'transport':
                                state.live = event.data;
                                notify('transport');
                                break;
                        default:
                                break;
                        }
                },
        };
}
