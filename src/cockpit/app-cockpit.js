// SPDX-License-Identifier: LGPL-2.1-or-later
// Entry point of the Cockpit page: the web UI's shell and views (web/, installed beside this file)
// over the cockpit.dbus() transport. cockpit.js is loaded first by index.html (it sets window.cockpit).

import { createCockpitApi, loadBusFields } from './api-cockpit.js';
import { startApp } from './web/shell.js';

const elements = {
        main: document.getElementById('main'),
        nav: document.getElementById('nav'),
        user: document.getElementById('user'),
        banner: document.getElementById('banner'),
        brand: document.getElementById('brand'),
};

loadBusFields().then(fields => {
        startApp(createCockpitApi(window.cockpit, fields), elements, { canLogout: false });
}).catch(err => {
        elements.main.replaceChildren(Object.assign(document.createElement('p'),
                                                    { className: 'form-error', textContent: err.message }));
});
