/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The gateway's sorted copy of the cell's peers (peer-cache.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bus-api.h"
#include "bus-call.h"
#include "bus-message.h"
#include "macro.h"
#include "peer-cache.h"
#include "strv.h"

typedef struct PeerEntry {
        char *name;
        cJSON *json;
        char *text;             /* json rendered; NULL until asked for after a change */
        size_t text_size;
} PeerEntry;

struct PeerCache {
        PeerEntry *items;       /* sorted by name (strcmp) */
        size_t n, allocated;
        uint64_t version;
        bool valid;
};

static void entry_clear(PeerEntry *e) {
        free(e->name);
        cJSON_Delete(e->json);
        free(e->text);
        *e = (PeerEntry) {};
}

static void entries_free(PeerEntry *items, size_t n) {
        for (size_t i = 0; i < n; i++)
                entry_clear(&items[i]);
        free(items);
}

int peer_cache_new(PeerCache **ret) {
        PeerCache *c = calloc(1, sizeof(PeerCache));
        if (!c)
                return -ENOMEM;
        /* a random start: an ETag from before a restart of the gateway never matches by chance */
        if (getrandom(&c->version, sizeof c->version, 0) != sizeof c->version)
                c->version = (uint64_t) time(NULL) << 20;
        *ret = c;
        return 0;
}

PeerCache *peer_cache_free(PeerCache *c) {
        if (!c)
                return NULL;
        entries_free(c->items, c->n);
        free(c);
        return NULL;
}

bool peer_cache_valid(const PeerCache *c) {
        return c->valid;
}

void peer_cache_invalidate(PeerCache *c) {
        c->valid = false;
        c->version++;
}

uint64_t peer_cache_version(const PeerCache *c) {
        return c->version;
}

size_t peer_cache_count(const PeerCache *c) {
        return c->n;
}

/* The first index whose name is >= @key (or > @key when @after). */
static size_t lower_bound(const PeerCache *c, const char *key, bool after) {
        size_t lo = 0, hi = c->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int d = strcmp(c->items[mid].name, key);
                if (d < 0 || (after && d == 0))
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

int peer_cache_find(const PeerCache *c, const char *name, size_t *ret_index) {
        size_t i = lower_bound(c, name, false);
        if (i >= c->n || !streq(c->items[i].name, name))
                return -ENOENT;
        if (ret_index)
                *ret_index = i;
        return 0;
}

static int grow(PeerEntry **items, size_t *allocated, size_t need) {
        if (need <= *allocated)
                return 0;
        size_t a = MAX(need, *allocated ? *allocated * 2 : 64);
        PeerEntry *x = reallocarray(*items, a, sizeof(PeerEntry));
        if (!x)
                return -ENOMEM;
        *items = x;
        *allocated = a;
        return 0;
}

static int compare_entries(const void *a, const void *b) {
        return strcmp(((const PeerEntry *) a)->name, ((const PeerEntry *) b)->name);
}

static int name_of_path(const char *path, char **ret) {
        int r = sd_bus_path_decode(path, PIC_PEER_PATH_PREFIX, ret);
        return r < 0 ? r : r == 0 ? -EBADMSG : 0;
}

/* One object of a GetManagedObjects reply: its Peer interface, if it has one, into @e. */
static int read_object(sd_bus_message *m, PeerEntry *e) {
        const char *path, *iface;
        int r;

        r = sd_bus_message_read_basic(m, 'o', &path);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
                r = sd_bus_message_read_basic(m, 's', &iface);
                if (r >= 0 && streq(iface, PIC_PEER_INTERFACE) && !e->json) {
                        r = name_of_path(path, &e->name);
                        if (r >= 0)
                                e->json = bus_peer_json(m);
                        if (r >= 0 && !e->json)
                                r = -ENOMEM;
                } else if (r >= 0)
                        r = sd_bus_message_skip(m, "a{sv}");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

int peer_cache_load(PeerCache *c, sd_bus_message *reply) {
        PeerEntry *items = NULL;
        size_t n = 0, allocated = 0;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                r = grow(&items, &allocated, n + 1);
                if (r < 0)
                        break;
                items[n] = (PeerEntry) {};
                r = read_object(reply, &items[n]);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (items[n].json)
                        n++;
                else
                        entry_clear(&items[n]);
        }
        if (r < 0) {
                entries_free(items, n);
                return r;
        }
        if (n > 1)
                qsort(items, n, sizeof(PeerEntry), compare_entries);
        for (size_t i = 1; i < n; i++)
                if (streq(items[i - 1].name, items[i].name)) { /* one path per name: not the daemon talking */
                        entries_free(items, n);
                        return -EBADMSG;
                }
        entries_free(c->items, c->n);
        c->items = items;
        c->n = n;
        c->allocated = allocated;
        c->valid = true;
        c->version++;
        return 0;
}

int peer_cache_put(PeerCache *c, const char *name, sd_bus_message *properties, size_t *ret_index) {
        cJSON *json = bus_peer_json(properties);
        size_t i;

        if (!json)
                return -ENOMEM;
        if (peer_cache_find(c, name, &i) >= 0) {
                cJSON_Delete(c->items[i].json);
                c->items[i].json = json;
                c->items[i].text = mfree_str(c->items[i].text);
        } else {
                char *copy = strdup(name);
                if (!copy || grow(&c->items, &c->allocated, c->n + 1) < 0) {
                        free(copy);
                        cJSON_Delete(json);
                        return -ENOMEM;
                }
                i = lower_bound(c, name, false);
                memmove(c->items + i + 1, c->items + i, (c->n - i) * sizeof(PeerEntry));
                c->items[i] = (PeerEntry) { .name = copy, .json = json };
                c->n++;
        }
        c->version++;
        if (ret_index)
                *ret_index = i;
        return 0;
}

int peer_cache_changed(PeerCache *c, const char *name, sd_bus_message *m, size_t *ret_index) {
        _cleanup_(strv_freep) char **invalidated = NULL;
        size_t i;
        int r;

        if (!c->valid || peer_cache_find(c, name, &i) < 0)
                return -ESTALE;
        PeerEntry *e = &c->items[i];
        e->text = mfree_str(e->text);
        c->version++;
        r = bus_read_properties(m, peer_fields, e->json);
        /* the daemon emits values; a name in the invalidated list means read it again */
        if (r >= 0)
                r = bus_read_strv_bounded(m, 64, 256, NULL, NULL, &invalidated);
        if (r < 0 || strv_length(invalidated) > 0)
                return -ESTALE;
        if (ret_index)
                *ret_index = i;
        return 0;
}

int peer_cache_remove(PeerCache *c, const char *name) {
        size_t i;
        if (peer_cache_find(c, name, &i) < 0)
                return 0;
        entry_clear(&c->items[i]);
        memmove(c->items + i, c->items + i + 1, (c->n - i - 1) * sizeof(PeerEntry));
        c->n--;
        c->version++;
        return 1;
}

const char *peer_cache_text(PeerCache *c, size_t index, size_t *ret_size) {
        PeerEntry *e = &c->items[index];
        if (!e->text) {
                e->text = cJSON_PrintUnformatted(e->json);
                if (!e->text)
                        return NULL;
                e->text_size = strlen(e->text);
        }
        if (ret_size)
                *ret_size = e->text_size;
        return e->text;
}

const cJSON *peer_cache_json(const PeerCache *c, size_t index) {
        return c->items[index].json;
}

const char *peer_cache_name(const PeerCache *c, size_t index) {
        return c->items[index].name;
}

void peer_cache_page(const PeerCache *c, const char *prefix, const char *cursor, size_t limit, PeerPage *ret) {
        size_t start = lower_bound(c, prefix, false), end = start, hi = c->n, plen = strlen(prefix);

        /* the names with the prefix follow each other from start; find where they end */
        while (end < hi) {
                size_t mid = end + (hi - end) / 2;
                if (strncmp(c->items[mid].name, prefix, plen) == 0)
                        end = mid + 1;
                else
                        hi = mid;
        }
        size_t first = cursor ? MAX(start, lower_bound(c, cursor, true)) : start;
        first = MIN(first, end);
        *ret = (PeerPage) {
                .first = first,
                .n = MIN(limit, end - first),
                .total = end - start,
        };
        ret->more = ret->first + ret->n < end;
}

int peer_cache_render(PeerCache *c, const PeerPage *page, char **ret, size_t *ret_size) {
        size_t size = 2 + (page->n > 0 ? page->n - 1 : 0);

        for (size_t i = page->first; i < page->first + page->n; i++) {
                size_t s;
                if (!peer_cache_text(c, i, &s))
                        return -ENOMEM;
                size += s;
        }
        char *buf = malloc(size + 1), *p = buf;
        if (!buf)
                return -ENOMEM;
        *p++ = '[';
        for (size_t i = page->first; i < page->first + page->n; i++) {
                if (i > page->first)
                        *p++ = ',';
                p = mempcpy(p, c->items[i].text, c->items[i].text_size);
        }
        *p++ = ']';
        *p = 0;
        *ret = buf;
        *ret_size = size;
        return 0;
}
