// SPDX-License-Identifier: LGPL-2.1-or-later
// The page around the views: decides between setup, sign-in and the signed-in pages,
// keeps the store fed from the transport's events, and routes by the URL hash.
// startApp() takes any transport with the api-rest.js interface (REST or Cockpit).

import { h, clear } from './dom.js';
import { createStore } from './store.js';
import { errorText } from './forms.js';
import { renderSetup } from './views/setup.js';
import { renderLogin } from './views/login.js';
import { renderDashboard } from './views/dashboard.js';
import { renderPeers } from './views/peers.js';
import { renderSettings } from './views/settings.js';
import { renderCells } from './views/cells.js';
import { renderExits } from './views/exits.js';
import { renderMyPeer } from './views/my-peer.js';

const ADMIN_ROUTES = {
        dashboard: { title: 'Dashboard', render: renderDashboard },
        peers: { title: 'Peers', render: renderPeers },
        cells: { title: 'Cells', render: renderCells },
        exits: { title: 'Exits', render: renderExits },
        settings: { title: 'Settings', render: renderSettings },
};
const PEER_ROUTES = {
        device: { title: 'My device', render: renderMyPeer },
};

/**
 * elements: {main, nav, user, banner, brand}; options.canLogout (false in Cockpit).
 * api.capabilities (optional, all true when absent): session (the transport signs in and out),
 * webLogins (the web UI's own passwords are set here), backup (archives can be made and restored).
 */
export function startApp(api, elements, { canLogout = true } = {}) {
        const store = createStore();
        // can(what): whether the transport offers a capability (api.capabilities; all when absent)
        const can = what => !api.capabilities || api.capabilities[what] !== false;
        const ctx = { api, store, session: null, can };
        let stopView = null;
        let stopEvents = null;

        function unmount() {
                if (stopView)
                        stopView();
                stopView = null;
        }

        function routes() {
                return ctx.session && ctx.session.role === 'peer' ? PEER_ROUTES : ADMIN_ROUTES;
        }

        function signedOutChrome() {
                elements.nav.hidden = true;
                elements.user.hidden = true;
                clear(elements.banner);
                elements.brand.textContent = 'PIC';
        }

        function showSetup() {
                unmount();
                signedOutChrome();
                document.title = 'Set up — PIC';
                renderSetup(elements.main, ctx);
        }

        function showLogin(notice) {
                unmount();
                if (stopEvents)
                        stopEvents();
                stopEvents = null;
                ctx.session = null;
                signedOutChrome();
                document.title = 'Sign in — PIC';
                renderLogin(elements.main, ctx, { notice });
        }

        function renderBanner() {
                const c = store.state.cell;
                const pending = c && c.pending_changes && Object.keys(c.pending_changes).length > 0;
                const route = currentRoute();
                clear(elements.banner, pending && route !== 'dashboard' && ctx.session && ctx.session.role === 'admin'
                        ? h('p', { class: 'banner' }, 'Some changes are waiting to be applied. ', h('a', { href: '#dashboard' }, 'Review them on the dashboard'), '.')
                        : null);
                if (c && c.name)
                        elements.brand.textContent = `PIC · ${c.name}`;
        }

        function renderNav() {
                const route = currentRoute();
                clear(elements.nav, h('ul', {}, Object.entries(routes()).map(([key, r]) =>
                        h('li', {}, h('a', { href: `#${key}`, 'aria-current': key === route ? 'page' : null }, r.title)))));
                elements.nav.hidden = false;
        }

        function currentRoute() {
                const key = location.hash.replace(/^#\/?/, '');
                const all = routes();
                return key in all ? key : Object.keys(all)[0];
        }

        function showRoute() {
                if (!ctx.session)
                        return;
                unmount();
                const key = currentRoute();
                const route = routes()[key];
                document.title = `${route.title} — PIC`;
                renderNav();
                renderBanner();
                stopView = route.render(elements.main, ctx) || null;
                elements.main.focus({ preventScroll: true });
        }

        async function onLogin(session) {
                ctx.session = session;
                const s = elements.user;
                // session.user: who the transport's own login is (Cockpit's user), where it has one
                clear(s, h('span', { class: 'who' }, session.user || (session.role === 'admin' ? 'admin' : session.peer)),
                      canLogout ? h('button', { type: 'button', class: 'secondary small', onclick: logout }, 'Sign out') : null);
                s.hidden = false;
                if (session.role === 'admin') {
                        stopEvents = api.subscribe(ev => {
                                if (ev.type === 'transport')
                                        s.dataset.live = ev.data.live ? 'live' : 'polling';
                                store.apply(ev);
                        });
                        try {
                                store.setCell(await api.getCell());
                        } catch (err) {
                                if (err.status !== 401)
                                        clear(elements.banner, h('p', { class: 'banner error' }, errorText(err)));
                        }
                }
                if (ctx.session)
                        showRoute();
        }

        async function logout() {
                try {
                        await api.logout();
                } catch {
                        // signed out locally either way
                }
                store.setPeers([]);
                store.state.cell = null;
                showLogin('You are signed out.');
        }

        // a transport without sessions of its own (Cockpit: its login is the session) goes straight in
        ctx.onSetupDone = () => (can('session') ? showLogin('Your cell is set up. Sign in as admin with the password you chose.')
                                            : boot());
        ctx.onLogin = onLogin;
        api.onSessionLost(err => {
                if (!ctx.session)
                        return;
                if (can('session'))
                        showLogin('Your session has ended. Please sign in again.');
                else
                        showUnreachable(err);   // no sign-in here: say why, and offer to try again
        });
        store.listen(what => {
                if (what === 'cell' && ctx.session)
                        renderBanner();
        });
        window.addEventListener('hashchange', showRoute);

        async function boot() {
                try {
                        const { setupComplete, session } = await api.status();
                        if (!setupComplete)
                                showSetup();
                        else if (!session)
                                showLogin();
                        else
                                await onLogin(session);
                } catch (err) {
                        showUnreachable(err);
                }
        }

        function showUnreachable(err) {
                unmount();
                if (stopEvents)
                        stopEvents();
                stopEvents = null;
                ctx.session = null;
                signedOutChrome();
                clear(elements.main,
                      h('section', { class: 'narrow-page' },
                        h('h1', {}, 'The cell cannot be reached'),
                        h('p', { class: 'form-error', role: 'alert' }, errorText(err)),
                        h('button', { type: 'button', class: 'primary', onclick: boot }, 'Try again')));
        }
        boot();
        return ctx;
}
