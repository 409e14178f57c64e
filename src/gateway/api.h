/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "http.h"

/* api-cell.c */
void api_health(Request *r);
void api_openapi(Request *r);
void api_cell_get(Request *r);
void api_cell_patch(Request *r);
void api_cell_apply(Request *r);
void api_cell_discard(Request *r);
void api_setup(Request *r);

/* api-dns.c */
void api_dns_get(Request *r);

/* api-peers.c */
void api_peers_list(Request *r);
void api_peers_create(Request *r);
void api_peer_get(Request *r);
void api_peer_patch(Request *r);
void api_peer_delete(Request *r);
void api_peer_rotate_keys(Request *r);
void api_peer_config(Request *r);
void api_peer_config_svg(Request *r);
void api_peer_login(Request *r);
/* Loads the gateway's copy of the peers (peer-cache.h) from the cell, then calls @on_loaded, which
 * calls peers_loaded() first (it replied when that fails). */
void peers_load(Request *r, void (*on_loaded)(Request *r, sd_bus_message *reply));
int peers_loaded(Request *r, sd_bus_message *reply);

/* api-links.c */
void api_links_list(Request *r);
void api_links_create(Request *r);
void api_link_get(Request *r);
void api_link_patch(Request *r);
void api_link_delete(Request *r);
void api_link_resync(Request *r);
void api_link_offer_exit(Request *r);
void api_invites_list(Request *r);
void api_invites_create(Request *r);
void api_invite_delete(Request *r);

/* api-exits.c */
void api_exits_list(Request *r);
void api_exits_create(Request *r);
void api_exit_get(Request *r);
void api_exit_patch(Request *r);
void api_exit_delete(Request *r);
void api_exit_test(Request *r);

/* api-backup.c */
void api_backup(Request *r);
void api_restore(Request *r);

/* api-auth.c */
void api_login(Request *r);
void api_logout(Request *r);
void api_session(Request *r);
void api_password(Request *r);

/* events.c, metrics.c, static-files.c */
void api_events(Request *r);
void api_metrics(Request *r);
void api_static(Request *r);
