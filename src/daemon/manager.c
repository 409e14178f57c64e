/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "bus-dict.h"
#include "backup-bus.h"
#include "restore-bus.h"
#include "restore.h"
#include "cell-apply.h"
#include "cell-bus.h"
#include "cell-firewall.h"
#include "ddns-update.h"
#include "netlink/rtnl-rule.h"
#include "failure-injection.h"
#include "desired.h"
#include "fileio.h"
#include "log.h"
#include "invite-bus.h"
#include "link-bus.h"
#include "link-message-bus.h"
#include "link-pairing.h"
#include "link-push.h"
#include "link-wg.h"
#include "exit-bus.h"
#include "exit-strays.h"
#include "setup-code-bus.h"
#include "exit-steer.h"
#include "manager.h"
#include "netlink/rtnl.h"
#include "peer-bus.h"
#include "peer-wg.h"
#include "state.h"
#include "wg/wg-diff.h"
#include "time-util.h"
#include "unit-targets.h"
#include "uplink.h"
#include "wireguard-start.h"

static int manager_index_peer(Manager *m, Peer *p) {
        int r = hashmap_put(m->peers_by_name, p->name, p);
        if (r >= 0 && p->address == m->next_address)
                m->next_address++; /* the hint stays below the lowest free address */
        if (r < 0)
                return r;
        r = hashmap_put(m->peers_by_address, &p->address, p);
        if (r >= 0) {
                r = hashmap_put(m->peers_by_key, p->public_key_b64, p);
                if (r >= 0) {
                        p->manager = m;
                        return 0;
                }
                hashmap_remove(m->peers_by_address, &p->address);
        }
        hashmap_remove(m->peers_by_name, p->name);
        return r;
}

static void unindex_peer_maps(Manager *m, Peer *p) {
        if (p->address < m->next_address)
                m->next_address = p->address; /* freed: the lowest free address may be this one */
        hashmap_remove(m->peers_by_name, p->name);
        if (hashmap_get(m->peers_by_address, &p->address) == p)
                hashmap_remove(m->peers_by_address, &p->address);
        if (hashmap_get(m->peers_by_key, p->public_key_b64) == p)
                hashmap_remove(m->peers_by_key, p->public_key_b64);
}

void manager_unindex_peer(Manager *m, Peer *p) {
        changes_forget_peer(m, p, NULL);
        unindex_peer_maps(m, p);
}

int manager_swap_peer(Manager *m, Peer *old, Peer *new) {
        unindex_peer_maps(m, old);
        int r = manager_index_peer(m, new);
        if (r < 0) {
                (void) manager_index_peer(m, old);
                return r;
        }
        changes_forget_peer(m, old, new);
        return 0;
}

int manager_replace_peer(Manager *m, Peer *old, Peer *new) {
        int r = manager_swap_peer(m, old, new);
        if (r < 0)
                return r;
        peer_free(old);
        return 0;
}

int manager_add_peer(Manager *m, Peer *p) {
        int r = sd_bus_path_encode(PIC_PEER_PATH_PREFIX, p->name, &p->object_path);
        if (r < 0)
                return r;
        return manager_index_peer(m, p);
}

void manager_remove_peer(Manager *m, Peer *p) {
        manager_unindex_peer(m, p);
        peer_free(p);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        cell_apply_abandon(m);
        backup_bus_abandon(m);
        restore_bus_abandon(m);
        Peer *p;
        HASHMAP_FOREACH(p, m->peers_by_name)
                peer_free(p);
        hashmap_free(m->peers_by_name);
        Link *l;
        HASHMAP_FOREACH(l, m->links_by_name) {
                link_push_cancel(l);
                link_free(l);
        }
        hashmap_free(m->links_by_name);
        exit_bus_free_all(m);
        hashmap_free(m->exits_by_name);
        ddns_free(m); /* its request before the HTTP client goes (link_pairing_abandon) */
        link_pairing_abandon(m);
        hashmap_free(m->peers_by_address);
        hashmap_free(m->peers_by_key);
        sd_event_source_unref(m->stats_timer);
        sd_event_source_unref(m->emit_event);
        sd_event_source_unref(m->firewall_monitor);
        sd_event_source_unref(m->route_monitor);
        firewall_free(m->firewall);
        free(m->services);
        strv_free(m->service_names);
        sd_event_source_unref(m->wg_child);
        sd_event_source_unref(m->wg_start_timer);
        wait_list_done(&m->wg_waiters);
        wait_list_done(&m->idle_waiters);
        password_worker_free(m->passwords);
        unit_targets_done(m);
        dns_done(m);
        polkit_registry_free(m->polkit);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        wg_backend_free(m->wg);
        free(m->failure_seen);
        strv_free(m->config.test_dns_forward_domains);
        strv_free(m->config.test_dns_forward_servers);
        cell_done(&m->cell);
        invite_store_close(&m->invites);
        signing_key_wipe(&m->signing_key);
        if (m->state_fd >= 0)
                close(m->state_fd);
        if (m->peers_fd >= 0)
                close(m->peers_fd);
        if (m->links_fd >= 0)
                close(m->links_fd);
        if (m->exits_fd >= 0)
                close(m->exits_fd);
        free(m);
        return NULL;
}

int manager_new(Manager **ret, ManagerConfig *config) {
        _cleanup_(manager_freep) Manager *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return -ENOMEM;
        m->config = *config;
        m->state_fd = m->peers_fd = m->links_fd = m->exits_fd = m->dns.dir_fd = m->invites.dir_fd = -EBADF;
        m->peers_by_name = hashmap_new(&string_hash_ops);
        m->peers_by_address = hashmap_new(&u32_hash_ops);
        m->peers_by_key = hashmap_new(&string_hash_ops);
        m->links_by_name = hashmap_new(&string_hash_ops);
        m->exits_by_name = hashmap_new(&string_hash_ops);
        if (!m->peers_by_name || !m->peers_by_address || !m->peers_by_key || !m->links_by_name || !m->exits_by_name)
                return -ENOMEM;

        m->state_fd = open_dir_at(AT_FDCWD, config->state_dir, 0700);
        if (m->state_fd < 0)
                return log_error_errno(m->state_fd, "Failed to open state directory %s: %m", config->state_dir);
        /* One daemon per state directory: a second would interleave writes. */
        if (flock(m->state_fd, LOCK_EX | LOCK_NB) < 0)
                return log_error_errno(errno == EWOULDBLOCK ? -EBUSY : -errno,
                                       "Another pic-celld uses the state directory %s: %m", config->state_dir);
        /* a restore a stop interrupted is finished before anything is read */
        r = restore_recover(m->state_fd);
        if (r < 0)
                return r;
        m->peers_fd = open_dir_at(m->state_fd, "peers", 0700);
        if (m->peers_fd < 0)
                return log_error_errno(m->peers_fd, "Failed to open %s/peers: %m", config->state_dir);
        m->links_fd = open_dir_at(m->state_fd, "links", 0700);
        if (m->links_fd < 0)
                return log_error_errno(m->links_fd, "Failed to open %s/links: %m", config->state_dir);
        m->exits_fd = open_dir_at(m->state_fd, "exits", 0700);
        if (m->exits_fd < 0)
                return log_error_errno(m->exits_fd, "Failed to open %s/exits: %m", config->state_dir);

        r = wg_backend_new(&m->wg, config->ifname, config->wireguard_run_dir, config->wireguard_go);
        if (r < 0)
                return log_error_errno(r, "Invalid WireGuard settings: %m");

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int load_peer(Peer *p, void *userdata) {
        Manager *m = userdata;

        /* Peers outside the subnet are dropped after an interrupted Apply had its chance. */
        int r = manager_add_peer(m, p);
        if (r == -EEXIST) {
                log_error("Peer %s repeats the address or key of another peer; it is not loaded.", p->name);
                peer_free(p);
                return 0;
        }
        if (r < 0)
                peer_free(p);
        return r;
}

static void drop_peers_outside_subnet(Manager *m) {
        char a[CIDR4_STRLEN];
        Peer *p;

        for (bool again = true; again;) {
                again = false;
                HASHMAP_FOREACH(p, m->peers_by_name)
                        if (!cidr4_is_host(&m->cell.vpn_address, p->address) || p->address == m->cell.vpn_address.addr) {
                                log_error("Peer %s has address %s outside the cell's subnet; it is not served "
                                          "(its file is left as it is).", p->name, ipv4_format(p->address, a));
                                manager_remove_peer(m, p);
                                again = true; /* the map changed under the iteration */
                                break;
                        }
        }
}

static int sync_device(Manager *m) {
        int r, ifindex;

        r = wg_backend_ensure_device(m->wg, m->config.backend);
        if (r < 0)
                return r;
        if (r == WG_BACKEND_STARTING) {
                r = manager_watch_wireguard_start(m);
                return r < 0 ? r : -EINPROGRESS;
        }
        if (m->wg->child > 0)
                manager_watch_wireguard_go(m);

        ifindex = rtnl_link_index(m->config.ifname);
        if (ifindex < 0)
                return log_error_errno(ifindex, "WireGuard interface %s vanished: %m", m->config.ifname);
        struct in_addr a = { .s_addr = htonl(m->cell.vpn_address.addr) };
        r = rtnl_addr_sync(ifindex, AF_INET, &a, m->cell.vpn_address.prefix);
        if (r < 0)
                return log_error_errno(r, "Failed to set the address of %s: %m", m->config.ifname);
        r = rtnl_link_set_up(ifindex, true);
        if (r < 0)
                return log_error_errno(r, "Failed to bring %s up: %m", m->config.ifname);
        return 0;
}

/* Online (and pic-online.target) when it changed: set up, and WireGuard as the model says. */
static void announce_online(Manager *m) {
        bool online = m->cell.setup_complete && m->wg_ready;

        if (online == m->online)
                return;
        m->online = online;
        log_info("The cell is %s.", online ? "online (WireGuard serves)" : "offline (WireGuard does not serve)");
        char *changed[] = { "Online", NULL };
        changes_mark_cell(m, changed);
        unit_targets_set(m, UNIT_TARGET_ONLINE, NULL, online);
}

/* Reads the device and sets only what differs, in one batch. */
static int reconcile_device(Manager *m) {
        _cleanup_(wg_device_freep) WgDevice *have = NULL, *want = NULL, *change = NULL;
        int r;

        if (!m->cell.setup_complete)
                return 0;
        m->wg_ready = false; /* until the whole device is right */
        r = sync_device(m);
        if (r < 0)
                return r;
        r = wg_backend_get_device(m->wg, &have);
        if (r < 0)
                return log_error_errno(r, "Failed to read WireGuard device %s: %m", m->config.ifname);
        r = desired_wireguard(m, &want);
        if (r < 0)
                return r;
        r = wg_device_diff(want, have, &change);
        if (r < 0)
                return log_error_errno(r, "Failed to compare WireGuard device %s with the cell: %m", m->config.ifname);
        if (change->flags || change->peers) {
                r = failure_injected(m, "wireguard") ? -EIO : wg_backend_set_device(m->wg, change);
                if (r < 0)
                        return log_error_errno(r, "Failed to configure WireGuard on %s: %m", m->config.ifname);
        }
        m->wg_ready = true;
        (void) link_wg_sync_routes(m);
        log_info("WireGuard on %s (%s): %zu peers, %zu set now.", m->config.ifname,
                 wg_backend_kind_to_string(m->wg->kind), hashmap_size(m->peers_by_name), wg_device_count_peers(change));
        return 0;
}

int manager_reconcile(Manager *m) {
        int r = reconcile_device(m);
        announce_online(m);
        return r;
}

static int on_wireguard_go_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Manager *m = userdata;

        log_error("wireguard-go for %s exited (status %d); it is started again on the next statistics tick.",
                  m->config.ifname, si->si_status);
        m->wg->child = 0;
        m->wg_child = sd_event_source_disable_unref(m->wg_child);
        /* The timer repairs it, which also paces restarts of one that keeps crashing. */
        m->wg_ready = false;
        announce_online(m);
        return 0;
}

void manager_watch_wireguard_go(Manager *m) {
        if (m->wg_child)
                return;
        int r = sd_event_add_child(m->event, &m->wg_child, m->wg->child, WEXITED, on_wireguard_go_exit, m);
        if (r < 0)
                log_warning_errno(r, "Cannot watch wireguard-go: %m");
}

/* One read of the device for every kind's statistics. */
static int refresh_stats(Manager *m) {
        _cleanup_(wg_device_freep) WgDevice *d = NULL;
        _cleanup_(freep) PeerStatsChange *changes = NULL;
        size_t n;

        int r = wg_backend_get_device(m->wg, &d);
        if (r < 0)
                return log_warning_errno(r, "Failed to read WireGuard statistics of %s: %m", m->config.ifname);
        r = peer_wg_refresh_stats(m, d, &changes, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                peer_bus_emit_changed(changes[i].peer, (char **) changes[i].names);
                unit_targets_set(m, UNIT_TARGET_PEER, changes[i].peer->name, changes[i].peer->connected);
        }
        link_wg_refresh_stats(m, d);
        link_bus_expire_unconfirmed(m);
        return 0;
}

static int on_stats_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (m->cell.setup_complete && (!m->wg_ready || refresh_stats(m) < 0)) {
                /* e.g. a wireguard-go this process did not start (kept across a restart) died */
                m->wg_ready = false;
                (void) manager_reconcile(m);
        }
        if (m->cell.setup_complete && (!m->firewall || m->firewall_stale)) /* it could not be built earlier */
                (void) cell_firewall_rebuild(m);
        if (m->exit_rules_stale)
                m->exit_rules_stale = exit_steer_sync_rules(m) < 0;
        announce_online(m);
        /* a time source is one-shot: arm it again, or it never fires after this */
        int r = sd_event_source_set_time_relative(s, m->config.stats_interval_usec);
        return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int manager_connect_bus(Manager *m) {
        int r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        return 0;
}

static void remove_stale_temp_files_of(Manager *m, int dir_fd, const char *what) {
        int r = remove_stale_temp_files(dir_fd);
        if (r < 0)
                log_warning_errno(r, "Failed to remove stale temp files in %s/%s: %m", m->config.state_dir, what);
        else if (r > 0)
                log_info("Removed %d temp file(s) an interrupted write left in %s/%s.", r, m->config.state_dir, what);
}

/* Before Setup: the code that proves access to this machine, told in the log; after: none left. */
static int start_setup_code(Manager *m) {
        if (m->cell.setup_complete)
                return setup_code_forget(m->state_fd, &m->setup_code); /* a restore's, or one from before */
        bool made;
        int r = setup_code_load_or_make(m->state_fd, &m->setup_code, &made);
        if (r < 0)
                return log_error_errno(r, "Failed to store a setup code: %m");
        log_notice("This cell is not set up yet. Its one-time setup code, which the web UI's first page asks for, "
                   "is %s (root sees it again with 'picctl setup-code').", m->setup_code.code);
        return 0;
}

int manager_start(Manager *m) {
        int r;

        /* The state directory's lock (manager_new) means no other pic-celld writes here. */
        remove_stale_temp_files_of(m, m->state_fd, "");
        remove_stale_temp_files_of(m, m->peers_fd, "peers/");
        remove_stale_temp_files_of(m, m->links_fd, "links/");
        remove_stale_temp_files_of(m, m->exits_fd, "exits/");
        r = state_load_cell(m->state_fd, &m->cell);
        if (r < 0)
                return r;
        r = start_setup_code(m);
        if (r < 0)
                return r;
        r = uplink_follow(m);
        if (r < 0)
                return r;
        r = ddns_start(m);
        if (r < 0)
                return r;
        if (m->cell.setup_complete) {
                r = state_load_peers(m->peers_fd, load_peer, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to load peers: %m");
                r = link_bus_load(m);
                if (r < 0)
                        return log_error_errno(r, "Failed to load links: %m");
                r = exit_bus_load(m);
                if (r < 0)
                        return log_error_errno(r, "Failed to load exits: %m");
                (void) cell_apply_finish_interrupted(m);
                drop_peers_outside_subnet(m);
                /* Rebuild the kernel side before taking the name, so the first
                 * caller already sees every peer live. */
                r = manager_reconcile(m);
                if (r == -EINPROGRESS) /* wireguard-go starting: nobody to stall yet, so wait here */
                        r = manager_finish_wireguard_start(m);
                if (r < 0)
                        log_error_errno(r, "WireGuard is not configured (%m); it is retried on the next change.");
                r = cell_firewall_rebuild(m);
                if (r < 0)
                        log_error_errno(r, "The firewall is not built (%m); it is retried on the next change.");
        }
        r = cell_firewall_watch(m);
        if (r < 0)
                return r;
        /* The exits' rules, exactly: a previous run's for exits that are gone are dropped. */
        m->exit_rules_stale = exit_steer_sync_rules(m) < 0;

        r = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
        if (r < 0)
                return r;
        /* WatchdogSec= in the unit: a loop stuck for that long gets the daemon restarted. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the watchdog: %m");
        r = sd_event_add_time_relative(m->event, &m->stats_timer, CLOCK_MONOTONIC, m->config.stats_interval_usec,
                                       0, on_stats_timer, m);
        if (r < 0)
                return r;

        m->polkit = polkit_registry_new(m->bus, m->config.polkit_timeout_usec);
        if (!m->polkit)
                return -ENOMEM;
        /* two hashes at a time: 128 MiB at most, and a core left for the loop */
        r = password_worker_new(&m->passwords, m->bus, m->event, 2);
        if (r < 0)
                return log_error_errno(r, "Failed to set up password hashing: %m");
        r = sd_bus_add_object_manager(m->bus, NULL, PIC_MANAGER_PATH);
        if (r < 0)
                return r;
        r = cell_bus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Manager object: %m");
        r = peer_bus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register peer objects: %m");
        r = invite_bus_open_store(m);
        if (r < 0)
                return r;
        r = invite_bus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the invite methods: %m");
        r = link_bus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register link objects: %m");
        r = link_pairing_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the pairing methods: %m");
        r = link_message_bus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the message method: %m");
        r = backup_bus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the backup method: %m");
        r = setup_code_bus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the setup code method: %m");
        r = restore_bus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the restore method: %m");
        r = exit_bus_register(m);
        if (r < 0)
                return log_error_errno(r, "Failed to register exit objects: %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        /* targets left active by the last run are matched once peers, links and exits were read again */
        r = unit_targets_start(m, 2 * m->config.stats_interval_usec + UNIT_TARGETS_SETTLE_EXTRA_USEC);
        if (r < 0)
                return r;
        if (m->cell.setup_complete)
                exit_bus_start_all(m);
        exit_strays_stop(m);
        r = dns_start(m);
        if (r < 0)
                return r;
        if (hashmap_size(m->links_by_name) > 0 && link_bus_sync_dns(m) < 0)
                log_warning("DNS: the links' forwards were refused.");
        link_push_resume(m); /* what a linked cell was not told before the last stop */
        r = sd_bus_request_name(m->bus, "org.pic.Cell1", 0);
        if (r < 0)
                return log_error_errno(r, "Failed to own org.pic.Cell1: %m");
        return 0;
}

int manager_run(Manager *m) {
        log_info("pic-celld %s ready: %zu peers, state in %s.", PIC_VERSION, hashmap_size(m->peers_by_name),
                 m->config.state_dir);
        return sd_event_loop(m->event);
}

/* A peer (re)added to WireGuard, or with a new key, has no session yet: its
 * last handshake says nothing about it; a disabled or removed one is not
 * connected. (old is freed by now when new replaced it: only its flags count.) */
static void peer_connected_after_change(Manager *m, bool old_live, bool same_key, Peer *new, const char *name) {
        if (new && new->enabled && (!old_live || !same_key))
                new->latest_handshake_usec = 0;
        if (new)
                new->connected = peer_is_connected(new, now_usec(CLOCK_REALTIME));
        unit_targets_set(m, UNIT_TARGET_PEER, name, new && new->connected);
}

/* The model step of a commit: the new version indexed (and given its object path), the old one dropped. */
static int swap_peer(Manager *m, Peer *old, Peer *new) {
        if (failure_injected(m, "index"))
                return -ENOMEM;
        if (old && new)
                return manager_replace_peer(m, old, new);
        if (new)
                return manager_add_peer(m, new);
        return 0; /* a removal: the caller drops the object once it has told the bus */
}

int manager_commit_peer(Manager *m, Peer *old, Peer *new) {
        const char *name = new ? new->name : old->name;
        char old_name[PEER_NAME_MAX + 1] = "";
        bool old_live = old && old->enabled;
        bool same_key = old && new && memcmp(old->public_key, new->public_key, WG_KEY_LEN) == 0;
        int r, k;

        if (old) /* the swap frees a replaced old */
                snprintf(old_name, sizeof old_name, "%s", old->name);

        r = failure_injected(m, "state") ? -EIO
            : new                        ? state_save_peer(m->peers_fd, new)
                                         : state_remove_peer(m->peers_fd, old->name);
        if (r < 0)
                return log_error_errno(r, "Failed to store peer %s: %m", name);

        r = peer_wg_apply_change(m, old, new);
        if (r < 0)
                goto undo_state;
        r = cell_firewall_peer_change(m, old, new);
        if (r < 0)
                goto undo_wireguard;
        r = swap_peer(m, old, new);
        if (r < 0)
                goto undo_firewall;
        dns_peer_changed(m, old ? old_name : NULL, new); /* derived records: never a reason to undo */
        peer_connected_after_change(m, old_live, same_key, new, name);
        return 0;

        /* Each step undone in reverse, so a failure leaves files, WireGuard and the firewall as they were. */
undo_firewall:
        k = cell_firewall_peer_change(m, new, old);
        if (k < 0)
                log_error_errno(k, "Failed to restore the firewall elements of peer %s: %m", name);
undo_wireguard:
        k = peer_wg_apply_change(m, new, old);
        if (k < 0)
                log_error_errno(k, "Failed to restore WireGuard peer %s: %m", name);
undo_state:
        k = old ? state_save_peer(m->peers_fd, old) : state_remove_peer(m->peers_fd, new->name);
        if (k < 0)
                log_error_errno(k, "Failed to restore the stored peer %s: %m", name);
        return log_error_errno(r, "Failed to apply peer %s: %m", name);
}
