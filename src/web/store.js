// SPDX-License-Identifier: LGPL-2.1-or-later
// What the UI knows about the cell: the cell object and the peers, kept current from
// the transport's events; views subscribe to changes instead of polling themselves.

export function createStore() {
        const state = { cell: null, peers: new Map(), live: null };
        const listeners = new Set();

        function notify(what) {
                for (const fn of listeners)
                        fn(what, state);
        }

        return {
                state,

                /** fn(what, state) with what = 'cell' | 'peers' | 'transport' */
                listen(fn) {
                        listeners.add(fn);
                        return () => listeners.delete(fn);
                },

                setCell(cell) {
                        state.cell = cell;
                        notify('cell');
                },

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
                                this.putPeer(event.data);
                                break;
                        case 'peer-removed':
                                this.dropPeer(event.data.name);
                                break;
                        case 'peers':
                                this.setPeers(event.data);
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
