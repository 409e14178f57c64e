/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "changes.h"
#include "log.h"
#include "manager.h"
#include "peer.h"

static void add_names(Changes *c, char **names) {
        for (char **n = names; n && *n; n++) {
                size_t i = 0;
                while (i < c->n && !streq(c->names[i], *n))
                        i++;
                if (i == c->n && c->n < CHANGES_MAX)
                        c->names[c->n++] = *n;
        }
        c->names[c->n] = NULL;
}

static void emit(sd_bus *bus, const char *path, const char *interface, Changes *c) {
        if (c->n == 0)
                return;
        int r = sd_bus_emit_properties_changed_strv(bus, path, interface, (char **) c->names);
        if (r < 0)
                log_warning_errno(r, "Failed to emit PropertiesChanged on %s: %m", path);
        *c = (Changes) {};
}

static int on_emit(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        emit(m->bus, PIC_MANAGER_PATH, "org.pic.Cell1.Manager", &m->cell_changes);
        while (m->changed_peers) {
                Peer *p = m->changed_peers;
                m->changed_peers = p->changed_next;
                p->changed_next = NULL;
                p->changed_queued = false;
                emit(m->bus, p->object_path, "org.pic.Cell1.Peer", &p->changes);
        }
        return 0;
}

static void schedule(Manager *m) {
        int r;

        if (!m->emit_event) {
                r = sd_event_add_defer(m->event, &m->emit_event, on_emit, m);
                if (r < 0) {
                        log_warning_errno(r, "Cannot schedule change signals, sending now: %m");
                        on_emit(NULL, m);
                        return;
                }
        }
        (void) sd_event_source_set_enabled(m->emit_event, SD_EVENT_ONESHOT);
}

void changes_mark_cell(Manager *m, char **names) {
        add_names(&m->cell_changes, names);
        schedule(m);
}

void changes_mark_peer(Peer *p, char **names) {
        Manager *m = p->manager;

        add_names(&p->changes, names);
        if (!p->changed_queued) {
                p->changed_next = m->changed_peers;
                m->changed_peers = p;
                p->changed_queued = true;
        }
        schedule(m);
}

void changes_forget_peer(Manager *m, Peer *p, Peer *successor) {
        if (!p->changed_queued)
                return;
        for (Peer **i = &m->changed_peers; *i; i = &(*i)->changed_next)
                if (*i == p) {
                        *i = p->changed_next;
                        break;
                }
        p->changed_queued = false;
        if (successor)
                changes_mark_peer(successor, (char **) p->changes.names);
}
