/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager.AddPeers(aa{sv}): an import of many peers in one call, one
 * authorization and one commit (peer-batch.c). */
#include <time.h>

#include "exit-bus.h"
#include "bus-dict.h"
#include "bus-api.h"
#include "cell-bus.h"
#include "log.h"
#include "peer-batch-bus.h"
#include "peer-bus.h"
#include "peer-options.h"
#include "state.h"


typedef struct Batch {
        Manager *manager;
        PeerOptions *options;
        size_t n, allocated;
        Hashmap *names, *addresses, *keys; /* within the batch */
} Batch;

static void batch_done(Batch *b) {
        for (size_t i = 0; i < b->n; i++)
                peer_options_done(&b->options[i]);
        free(b->options);
        hashmap_free(b->names);
        hashmap_free(b->addresses);
        hashmap_free(b->keys);
}

/* The error e, with which entry it is about in front, as error. */
static int entry_error(sd_bus_error *error, const sd_bus_error *e, size_t i, const char *name) {
        if (name)
                return sd_bus_error_setf(error, e->name, "Peer %zu ('%.*s'): %s", i + 1, utf8_prefix_len(name, 32),
                                         name, e->message);
        return sd_bus_error_setf(error, e->name, "Peer %zu: %s", i + 1, e->message);
}

static int read_entries(sd_bus_message *message, Batch *b, sd_bus_error *error) {
        int r = sd_bus_message_enter_container(message, 'a', "a{sv}");
        if (r < 0)
                return r;
        /* Each entry is bounded by its own reader; their number by ADD_PEERS_MAX, before it is read. */
        while ((r = sd_bus_message_at_end(message, false)) == 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                if (b->n >= ADD_PEERS_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "AddPeers takes at most %d peers per call.", ADD_PEERS_MAX);
                r = greedy_realloc((void **) &b->options, &b->allocated, b->n + 1, sizeof *b->options);
                if (r < 0)
                        return r;
                b->options[b->n] = (PeerOptions) {};
                r = peer_options_read(message, &b->options[b->n++], true, &e);
                if (r < 0)
                        return sd_bus_error_is_set(&e) ? entry_error(error, &e, b->n - 1, NULL) : r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(message);
}

static bool address_taken(uint32_t addr, void *userdata) {
        Batch *b = userdata;
        Manager *m = b->manager;
        return addr == m->cell.vpn_address.addr || hashmap_get(m->peers_by_address, &addr) ||
               hashmap_get(b->addresses, &addr);
}

/* Everything AddPeer checks, for each entry and between the entries. */
static int check_entries(Manager *m, Batch *b, sd_bus_error *error) {
        char a[CIDR4_STRLEN];
        int r;

        b->names = hashmap_new(&string_hash_ops);
        b->addresses = hashmap_new(&u32_hash_ops);
        b->keys = hashmap_new(&string_hash_ops);
        if (!b->names || !b->addresses || !b->keys)
                return -ENOMEM;
        for (size_t i = 0; i < b->n; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                PeerOptions *o = &b->options[i];

                if (!o->has_name)
                        sd_bus_error_set(&e, SD_BUS_ERROR_INVALID_ARGS, "Name is missing.");
                else if (!peer_name_is_valid(o->name))
                        sd_bus_error_setf(&e, SD_BUS_ERROR_INVALID_ARGS, "Peer name must be %s.", PEER_NAME_CHARSET_DOC);
                else if (hashmap_get(m->peers_by_name, o->name) || hashmap_get(b->names, o->name))
                        sd_bus_error_setf(&e, PIC_ERROR_CONFLICT, "A peer with this name already exists%s.",
                                          hashmap_get(b->names, o->name) ? " in this call" : "");
                else if (state_peer_file_exists(m->peers_fd, o->name))
                        sd_bus_error_set(&e, PIC_ERROR_CONFLICT,
                                         "Its file exists but could not be loaded; move it away first.");
                else if (peer_options_check(m, o, NULL, &e) >= 0) {
                        if (o->has_addr && hashmap_get(b->addresses, &o->addr))
                                sd_bus_error_setf(&e, PIC_ERROR_CONFLICT, "Address %s is given twice in this call.",
                                                  ipv4_format(o->addr, a));
                        else if (o->has_pub && hashmap_get(b->keys, o->key_b64))
                                sd_bus_error_set(&e, PIC_ERROR_CONFLICT, "PublicKey is given twice in this call.");
                }
                if (sd_bus_error_is_set(&e))
                        return entry_error(error, &e, i, o->has_name ? o->name : NULL);

                if ((r = hashmap_put(b->names, o->name, o)) < 0 ||
                    (o->has_addr && (r = hashmap_put(b->addresses, &o->addr, o)) < 0) ||
                    (o->has_pub && (r = hashmap_put(b->keys, o->key_b64, o)) < 0))
                        return r;
        }
        /* Only then the free addresses, so that none is handed out that a later entry asked for; each
         * search goes on from the last one (everything before it is taken by now). */
        uint32_t next = 0;
        for (size_t i = 0; i < b->n; i++) {
                PeerOptions *o = &b->options[i];
                if (o->has_addr)
                        continue;
                if (manager_allocate_address(m, next, address_taken, b, &o->addr) < 0)
                        return sd_bus_error_setf(error, PIC_ERROR_CONFLICT,
                                                 "The cell's subnet %s has no free address left for peer %zu ('%s').",
                                                 cidr4_format(&m->cell.vpn_address, a), i + 1, o->name);
                o->has_addr = true;
                next = o->addr + 1;
                r = hashmap_put(b->addresses, &o->addr, o);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void free_peers(Peer **peers, size_t n) {
        for (size_t i = 0; i < n; i++)
                peer_free(peers[i]);
        free(peers);
}

static int make_peers(Batch *b, Peer ***ret) {
        Peer **peers = calloc(b->n + 1, sizeof(Peer *));
        struct timespec ts;
        int r;

        if (!peers)
                return -ENOMEM;
        clock_gettime(CLOCK_REALTIME, &ts);
        for (size_t i = 0; i < b->n; i++) {
                r = peer_new(&peers[i], b->options[i].name);
                if (r >= 0 && !b->options[i].has_pub)
                        r = peer_generate_keys(peers[i]);
                if (r >= 0)
                        r = peer_options_apply(&b->options[i], peers[i]);
                if (r < 0) {
                        free_peers(peers, b->n);
                        return r;
                }
                peers[i]->created_usec = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
        }
        *ret = peers;
        return 0;
}

int method_add_peers(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(batch_done) Batch b = { .manager = m };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Peer **peers = NULL;
        int r;

        r = cell_bus_require_setup(m, error);
        if (r < 0)
                return r;
        r = read_entries(message, &b, error);
        if (r < 0)
                return r;
        r = check_entries(m, &b, error);
        if (r < 0)
                return r;
        bool exits = false;
        for (size_t i = 0; i < b.n; i++)
                exits = exits || (b.options[i].has_exit && !isempty(b.options[i].exit));
        r = exit_bus_authorize_peer_exit(m, message, exits, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = cell_bus_authorize_change(m, message, ACTION_MANAGE_PEERS, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = make_peers(&b, &peers);
        if (r < 0)
                return r;
        r = manager_commit_new_peers(m, peers, b.n);
        if (r < 0) {
                free_peers(peers, b.n);
                return sd_bus_error_setf(error, PIC_ERROR_FAILED, "Failed to add %zu peers (none was added): %s.", b.n,
                                         strerror(-r));
        }
        log_info("Added %zu peers in one call.", b.n);
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "o");
        for (size_t i = 0; r >= 0 && i < b.n; i++)
                r = sd_bus_message_append(reply, "o", peers[i]->object_path);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        for (size_t i = 0; i < b.n; i++) {
                (void) sd_bus_emit_object_added(m->bus, peers[i]->object_path);
                exit_bus_peer_moved(m, NULL, peers[i]->exit);
        }
        free(peers); /* the model owns the peers now */
        char *changed[] = { "PeerCount", NULL };
        cell_bus_emit_changed(m, changed);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
