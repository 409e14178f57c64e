/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-api.h"
#include "dns-hosts.h"
#include "dns-unit.h"
#include "transient-unit.h"
#include "dnsmasq.h"
#include "dns.h"
#include "fileio.h"
#include "log.h"
#include "manager.h"
#include "names.h"
#include "nft/firewall.h"
#include "peer.h"
#include "strv.h"
#include "time-util.h"

#define CELL_FILE "cell"
#define PEER_FILE_PREFIX "peers-"
#define PEER_SHARDS 64 /* a bit each in DnsControl.dirty_shards */
/* Record files are written for about this long per loop iteration, so a call
 * arriving meanwhile waits at most that. */
#define WRITE_SLICE_USEC 1000
/* Changes wait this long to be written together (the bound for a new
 * name to answer is 100 ms). */
#define WRITE_DELAY_USEC (20 * 1000ULL)
#define START_CHECK_USEC (5 * 1000000ULL) /* dnsmasq should be on the bus by then */

static void set_state(Manager *m, const char *fmt, ...) _printf_(2, 3);
static void set_state(Manager *m, const char *fmt, ...) {
        char state[DNS_STATE_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(state, sizeof state, fmt, ap);
        va_end(ap);
        if (streq(state, m->dns.state))
                return;
        log_info("DNS: %s", state);
        snprintf(m->dns.state, sizeof m->dns.state, "%s", state);
        char *changed[] = { "DnsState", NULL };
        changes_mark_cell(m, changed);
}

const char *dns_state(Manager *m) {
        return m->dns.state;
}

static void note_write_failure(Manager *m, int r, const char *file) {
        log_warning_errno(r, "DNS: failed to write %s/%s: %m", m->config.dns_dir, file);
        m->dns.files_stale = true;
        set_state(m, "degraded: records could not be written (%s); retried on the next change", strerror(-r));
}

/* The peers' records live in PEER_SHARDS files by a hash of the name: a
 * change rewrites one small file and a full sync PEER_SHARDS of them, never
 * one file per peer (10,000 file writes held the loop for a second). */
static unsigned peer_shard(const char *name) {
        uint32_t h = 2166136261u; /* FNV-1a: stable across runs, so files keep their peers */

        for (const char *c = name; *c; c++)
                h = (h ^ (uint8_t) *c) * 16777619u;
        return h % PEER_SHARDS;
}

static void shard_file_name(unsigned shard, char *buf, size_t size) {
        snprintf(buf, size, PEER_FILE_PREFIX "%02u", shard);
}

static int write_shard(Manager *m, unsigned shard) {
        _cleanup_(dns_hosts_text_done) DnsHostsText t = {};
        char name[300], file[DNS_HOSTS_FILE_MAX];
        const char *names[] = { name, NULL };
        Peer *p;
        int r = 0;

        HASHMAP_FOREACH(p, m->peers_by_name) {
                if (peer_shard(p->name) != shard)
                        continue;
                snprintf(name, sizeof name, "%s.%s", p->name, m->cell.domain);
                r = dns_hosts_text_add(&t, p->address, names);
                if (r < 0)
                        break;
        }
        shard_file_name(shard, file, sizeof file);
        if (r >= 0)
                r = dns_hosts_put(m->dns.dir_fd, file, &t);
        if (r < 0)
                note_write_failure(m, r, file);
        return r;
}

static uint32_t service_address(Manager *m, const char *service) {
        for (size_t i = 0; i < m->n_services; i++)
                if (streq(m->services[i].name, service) && m->services[i].address != 0)
                        return m->services[i].address;
        return m->cell.vpn_address.addr;
}

/* The cell's names: <cell>.<domain> and the bare domain, and each service. */
static int write_cell_file(Manager *m) {
        _cleanup_(dns_hosts_text_done) DnsHostsText t = {};
        char cell[300], name[300];
        const char *cell_names[] = { cell, m->cell.domain, NULL }, *service_names[] = { name, NULL };
        int r;

        snprintf(cell, sizeof cell, "%s.%s", m->cell.name, m->cell.domain);
        r = dns_hosts_text_add(&t, m->cell.vpn_address.addr, cell_names);
        for (const char *const *s = firewall_service_names(); r >= 0 && *s; s++) {
                snprintf(name, sizeof name, "%s.%s", *s, m->cell.domain);
                r = dns_hosts_text_add(&t, service_address(m, *s), service_names);
        }
        if (r >= 0)
                r = dns_hosts_put(m->dns.dir_fd, CELL_FILE, &t);
        if (r < 0)
                note_write_failure(m, r, CELL_FILE);
        return r;
}

/* ---------------------------------------------------------------- records */

/* Files of an earlier layout or domain go once a full sync has written the current ones. */
static void prune_stale_files(Manager *m) {
        _cleanup_(strv_freep) char **keep = NULL;
        char file[DNS_HOSTS_FILE_MAX];
        int r;

        r = strv_extend(&keep, CELL_FILE);
        for (unsigned i = 0; r >= 0 && i < PEER_SHARDS; i++) {
                shard_file_name(i, file, sizeof file);
                r = strv_extend(&keep, file);
        }
        if (r >= 0)
                r = dns_hosts_prune(m->dns.dir_fd, keep);
        if (r < 0)
                note_write_failure(m, r, "(stale files)");
}

static void arm_writes(Manager *m, uint64_t delay_usec);

static int on_write_slice(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + WRITE_SLICE_USEC;

        if (m->dns.cell_dirty) {
                m->dns.cell_dirty = false;
                (void) write_cell_file(m);
        }
        /* Files that lose a name or an address first: dnsmasq gives an address's PTR
         * to the first name it reads for it, so a new owner read while the old one
         * is still in another file would get none. */
        for (int pass = 0; pass < 2; pass++)
                for (unsigned i = 0; i < PEER_SHARDS && m->dns.dirty_shards != 0; i++) {
                        uint64_t bit = UINT64_C(1) << i;

                        if (!(m->dns.dirty_shards & bit) || (pass == 0 && !(m->dns.freeing_shards & bit)))
                                continue;
                        m->dns.dirty_shards &= ~bit;
                        m->dns.freeing_shards &= ~bit;
                        (void) write_shard(m, i);
                        if (now_usec(CLOCK_MONOTONIC) >= deadline && m->dns.dirty_shards != 0) {
                                arm_writes(m, 0); /* the rest in the next iteration, after any calls waiting */
                                return 0;
                        }
                }
        if (m->dns.prune_pending) {
                m->dns.prune_pending = false;
                prune_stale_files(m);
        }
        return 0;
}

static void arm_writes(Manager *m, uint64_t delay_usec) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        int r = 0;

        if (!m->dns.write_source) {
                /* accuracy 1 µs: sd-event's default (0) lets a timer slip by 250 ms */
                r = sd_event_add_time(m->event, &m->dns.write_source, CLOCK_MONOTONIC, now + delay_usec, 1,
                                      on_write_slice, m);
                if (r >= 0)
                        r = sd_event_source_set_priority(m->dns.write_source, SD_EVENT_PRIORITY_IDLE);
        } else
                r = sd_event_source_set_time(m->dns.write_source, now + delay_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->dns.write_source, SD_EVENT_ONESHOT);
        if (r < 0)
                note_write_failure(m, r, "(scheduling)");
}

/* Writes what is marked dirty a little later, so that a burst of changes (one
 * AddPeer after another) rewrites each file once, not once per change, and
 * then about a millisecond at a time after the calls waiting. */
static void schedule_writes(Manager *m) {
        int enabled = SD_EVENT_OFF;

        if (m->dns.dir_fd < 0 || !m->cell.setup_complete)
                return;
        if (m->dns.write_source && sd_event_source_get_enabled(m->dns.write_source, &enabled) >= 0 &&
            enabled != SD_EVENT_OFF)
                return; /* already on its way */
        arm_writes(m, WRITE_DELAY_USEC);
}

/* Every record again: the cell's file and every shard. */
static void sync_all(Manager *m) {
        m->dns.files_stale = false;
        m->dns.cell_dirty = true;
        m->dns.dirty_shards = PEER_SHARDS == 64 ? UINT64_MAX : (UINT64_C(1) << PEER_SHARDS) - 1;
        m->dns.prune_pending = true;
        schedule_writes(m);
}

void dns_records_resync(Manager *m) {
        sync_all(m);
}

void dns_peer_changed(Manager *m, const char *old_name, const Peer *new) {
        if (m->dns.dir_fd < 0)
                return;
        if (m->dns.files_stale) {
                sync_all(m);
                return;
        }
        if (old_name) { /* removed, renamed or maybe readdressed: its old file may free an address */
                uint64_t bit = UINT64_C(1) << peer_shard(old_name);
                m->dns.dirty_shards |= bit;
                m->dns.freeing_shards |= bit;
        }
        if (new)
                m->dns.dirty_shards |= UINT64_C(1) << peer_shard(new->name);
        schedule_writes(m);
}

/* ---------------------------------------------------------------- dnsmasq */

static void push_servers(Manager *m);

static int on_push_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        m->dns.push_call = sd_bus_slot_unref(m->dns.push_call);
        if (e)
                set_state(m, "failed: dnsmasq refused the server list: %s", e->message ?: e->name);
        else if (m->dns.running)
                set_state(m, "running");
        return 0;
}

static void push_servers(Manager *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(strv_freep) char **servers = NULL;
        size_t n = strv_length(m->dns.forward_domains);
        _cleanup_(freep) DnsForward *forwards = calloc(MAX(n, (size_t) 1), sizeof(DnsForward));
        int r;

        if (!m->dns.running || !m->cell.setup_complete)
                return;
        if (!forwards) {
                set_state(m, "failed: cannot send dnsmasq its servers: %s", strerror(ENOMEM));
                return;
        }
        for (size_t i = 0; i < n; i++)
                forwards[i] = (DnsForward) { m->dns.forward_domains[i], m->dns.forward_servers[i] };
        r = dnsmasq_server_list(m->cell.domain, m->cell.dns_servers, forwards, n, &servers);
        if (r >= 0)
                r = sd_bus_message_new_method_call(m->bus, &call, DNS_BUS_NAME, DNSMASQ_OBJECT_PATH,
                                                   DNSMASQ_INTERFACE, "SetDomainServers");
        if (r >= 0)
                r = sd_bus_message_append_strv(call, servers);
        if (r >= 0) {
                m->dns.push_call = sd_bus_slot_unref(m->dns.push_call); /* the newer list wins */
                r = sd_bus_call_async(m->bus, &m->dns.push_call, call, on_push_reply, m, 0);
        }
        if (r < 0)
                set_state(m, "failed: cannot send dnsmasq its servers: %s", strerror(-r));
}

static void ensure_unit(Manager *m);

static int on_name_owner(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (streq(name, SYSTEMD_BUS_NAME)) {
                m->dns.have_systemd = !isempty(new_owner);
                if (m->dns.have_systemd && m->cell.setup_complete)
                        ensure_unit(m);
                return 0;
        }
        if (!streq(name, DNS_BUS_NAME))
                return 0;
        m->dns.running = !isempty(new_owner);
        if (m->dns.running) {
                m->dns.check_timer = sd_event_source_disable_unref(m->dns.check_timer);
                push_servers(m);
        } else if (m->cell.setup_complete)
                set_state(m, "restarting: dnsmasq left the bus; %s restarts it", m->config.dns_unit);
        return 0;
}

static int on_unit_check(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        int32_t status = -1;

        m->dns.unit_call = sd_bus_slot_unref(m->dns.unit_call);
        if (m->dns.running)
                return 0;
        if (!sd_bus_message_is_method_error(reply, NULL) &&
            sd_bus_message_enter_container(reply, 'v', "i") >= 0)
                (void) sd_bus_message_read(reply, "i", &status);
        if (status >= 0)
                set_state(m, "failed: dnsmasq in %s is not on the bus after %d s (last exit status %d); "
                          "see the unit's log", m->config.dns_unit, (int) (START_CHECK_USEC / 1000000),
                          (int) status);
        else
                set_state(m, "failed: dnsmasq in %s is not on the bus; see the unit's log", m->config.dns_unit);
        return 0;
}

/* dnsmasq should be on the bus by now; if not, ask systemd how its unit ended. */
static int on_check_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        _cleanup_(freep) char *path = NULL;
        int r;

        m->dns.check_timer = sd_event_source_disable_unref(m->dns.check_timer);
        if (m->dns.running)
                return 0;
        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", m->config.dns_unit, &path);
        if (r >= 0)
                r = sd_bus_call_method_async(m->bus, &m->dns.unit_call, SYSTEMD_BUS_NAME, path,
                                             "org.freedesktop.DBus.Properties", "Get", on_unit_check, m, "ss",
                                             "org.freedesktop.systemd1.Service", "ExecMainStatus");
        if (r < 0)
                set_state(m, "failed: dnsmasq did not come up and %s cannot be asked why", m->config.dns_unit);
        return 0;
}

static void start_unit(Manager *m, bool existing);

static int on_unit_started(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r;

        m->dns.unit_call = sd_bus_slot_unref(m->dns.unit_call);
        if (!e) {
                if (!m->dns.running) {
                        set_state(m, "starting");
                        r = sd_event_add_time_relative(m->event, &m->dns.check_timer, CLOCK_MONOTONIC,
                                                       START_CHECK_USEC, 0, on_check_timer, m);
                        if (r < 0)
                                log_warning_errno(r, "DNS: cannot watch the start of %s: %m", m->config.dns_unit);
                }
                return 0;
        }
        if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists")) {
                /* Left by an earlier pic-celld: keep it, start it again if it stopped. */
                start_unit(m, true);
                return 0;
        }
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                set_state(m, "unavailable: no service manager (" SYSTEMD_BUS_NAME ") on the bus");
        else
                set_state(m, "failed: %s could not be started: %s", m->config.dns_unit, e->message ?: e->name);
        return 0;
}

static void start_unit(Manager *m, bool existing) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        if (existing)
                r = sd_bus_message_new_method_call(m->bus, &call, SYSTEMD_BUS_NAME,
                                                   "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                                   "StartUnit");
        else
                r = dns_unit_start_message(m->bus, &(DnsUnit) {
                        .name = m->config.dns_unit,
                        .dnsmasq = m->config.dnsmasq,
                        .hosts_dir = m->config.dns_dir,
                        .interface = m->config.ifname,
                        .netns = m->config.netns_name,
                        .bus_address = getenv("DBUS_SYSTEM_BUS_ADDRESS"),
                }, &call);
        if (r >= 0 && existing)
                r = sd_bus_message_append(call, "ss", m->config.dns_unit, "replace");
        if (r >= 0) {
                m->dns.unit_call = sd_bus_slot_unref(m->dns.unit_call);
                r = sd_bus_call_async(m->bus, &m->dns.unit_call, call, on_unit_started, m, 0);
        }
        if (r < 0)
                set_state(m, "failed: cannot ask systemd for %s: %s", m->config.dns_unit, strerror(-r));
}

static void ensure_unit(Manager *m) {
        if (m->dns.running || m->dns.unit_call || m->dns.check_timer)
                return; /* up, or on its way */
        /* Both said at once, so they change together with what Setup changed. */
        if (access(m->config.dnsmasq, X_OK) < 0) {
                set_state(m, "failed: dnsmasq is not installed (%s: %s)", m->config.dnsmasq, strerror(errno));
                return;
        }
        if (!m->dns.have_systemd) {
                set_state(m, "unavailable: no service manager (" SYSTEMD_BUS_NAME ") on the bus");
                return;
        }
        start_unit(m, false);
}

void dns_cell_changed(Manager *m) {
        if (m->dns.dir_fd < 0 || !m->cell.setup_complete)
                return;
        sync_all(m);
        ensure_unit(m);
        push_servers(m);
}

/* GetNameOwner's answers at start; an error is "no owner". */
static void owner_answered(Manager *m) {
        if (--m->dns.owner_queries == 0)
                dns_cell_changed(m);
}

static int on_systemd_owner(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;

        m->dns.have_systemd = !sd_bus_message_is_method_error(reply, NULL);
        owner_answered(m);
        return 0;
}

static int on_dnsmasq_owner(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;

        m->dns.running = !sd_bus_message_is_method_error(reply, NULL);
        owner_answered(m);
        return 0;
}

static int watch_name(Manager *m, sd_bus_slot **slot, const char *name, sd_bus_message_handler_t on_owner) {
        char match[256];
        int r;

        snprintf(match, sizeof match,
                 "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                 "member='NameOwnerChanged',arg0='%s'", name);
        r = sd_bus_add_match_async(m->bus, slot, match, on_name_owner, NULL, m);
        if (r >= 0)
                r = sd_bus_call_method_async(m->bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "GetNameOwner", on_owner, m, "s", name);
        return r;
}

int dns_start(Manager *m) {
        int r;

        snprintf(m->dns.state, sizeof m->dns.state, "off: the cell is not set up");
        m->dns.dir_fd = open_dir_at(AT_FDCWD, m->config.dns_dir, 0755);
        /* dnsmasq reads it as an unprivileged user, and the unit's UMask=0077 made it 0700. */
        if (m->dns.dir_fd >= 0 && fchmod(m->dns.dir_fd, 0755) < 0)
                log_warning_errno(-errno, "DNS: cannot make %s readable for dnsmasq: %m", m->config.dns_dir);
        if (m->dns.dir_fd < 0) {
                set_state(m, "failed: cannot open %s: %s", m->config.dns_dir, strerror(-m->dns.dir_fd));
                return 0;
        }
        if (m->config.test_dns_forward_domains &&
            dns_set_forwards(m, m->config.test_dns_forward_domains, m->config.test_dns_forward_servers) < 0)
                log_warning("DNS: the test forwards were refused.");
        m->dns.owner_queries = 2;
        r = watch_name(m, &m->dns.systemd_match, SYSTEMD_BUS_NAME, on_systemd_owner);
        if (r >= 0)
                r = watch_name(m, &m->dns.name_match, DNS_BUS_NAME, on_dnsmasq_owner);
        if (r < 0)
                set_state(m, "failed: cannot follow %s on the bus: %s", DNS_BUS_NAME, strerror(-r));
        return 0;
}

int dns_set_forwards(Manager *m, char *const *domains, char *const *servers) {
        _cleanup_(strv_freep) char **d = NULL, **s = NULL;
        size_t n = strv_length(domains);

        if (strv_length(servers) != n)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!dns_domain_is_valid(domains[i]) || dns_server_check(servers[i]) < 0)
                        return -EINVAL;
        d = strv_copy(domains);
        s = strv_copy(servers);
        if (!d || !s)
                return -ENOMEM;
        strv_free(m->dns.forward_domains);
        strv_free(m->dns.forward_servers);
        m->dns.forward_domains = TAKE_PTR(d);
        m->dns.forward_servers = TAKE_PTR(s);
        char *changed[] = { "DnsForwards", NULL };
        changes_mark_cell(m, changed);
        push_servers(m);
        return 0;
}

static int compare_peer_names(const void *a, const void *b) {
        return strcmp((*(Peer *const *) a)->name, (*(Peer *const *) b)->name);
}

int dns_records(Manager *m, DnsRecordFn fn, void *userdata) {
        char name[300];
        Peer *p, **sorted;
        size_t n = 0;
        int r;

        if (!m->cell.setup_complete)
                return 0;
        snprintf(name, sizeof name, "%s.%s", m->cell.name, m->cell.domain);
        r = fn(name, m->cell.vpn_address.addr, userdata);
        if (r >= 0)
                r = fn(m->cell.domain, m->cell.vpn_address.addr, userdata);
        for (const char *const *s = firewall_service_names(); r >= 0 && *s; s++) {
                snprintf(name, sizeof name, "%s.%s", *s, m->cell.domain);
                r = fn(name, service_address(m, *s), userdata);
        }
        if (r < 0)
                return r;

        sorted = calloc(hashmap_size(m->peers_by_name) + 1, sizeof(Peer *));
        if (!sorted)
                return -ENOMEM;
        HASHMAP_FOREACH(p, m->peers_by_name)
                sorted[n++] = p;
        if (n > 1)
                qsort(sorted, n, sizeof *sorted, compare_peer_names);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                snprintf(name, sizeof name, "%s.%s", sorted[i]->name, m->cell.domain);
                r = fn(name, sorted[i]->address, userdata);
        }
        free(sorted);
        return r;
}

void dns_done(Manager *m) {
        m->dns.forward_domains = strv_free(m->dns.forward_domains);
        m->dns.forward_servers = strv_free(m->dns.forward_servers);
        m->dns.write_source = sd_event_source_disable_unref(m->dns.write_source);
        m->dns.name_match = sd_bus_slot_unref(m->dns.name_match);
        m->dns.systemd_match = sd_bus_slot_unref(m->dns.systemd_match);
        m->dns.unit_call = sd_bus_slot_unref(m->dns.unit_call);
        m->dns.push_call = sd_bus_slot_unref(m->dns.push_call);
        m->dns.check_timer = sd_event_source_disable_unref(m->dns.check_timer);
        if (m->dns.dir_fd >= 0)
                close(m->dns.dir_fd);
        m->dns.dir_fd = -EBADF;
}
