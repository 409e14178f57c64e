// SPDX-License-Identifier: LGPL-2.1-or-later
// Entry point of the web UI served by pic-gatewayd: the REST transport + the shared shell.

import { createRestApi } from './api-rest.js';
import { startApp } from './shell.js';

startApp(createRestApi(), {
        main: document.getElementById('main'),
        nav: document.getElementById('nav'),
        user: document.getElementById('user'),
        banner: document.getElementById('banner'),
        brand: document.getElementById('brand'),
});
