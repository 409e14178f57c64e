/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bus-api.h"
#include "macro.h"
#include "peer-cache.h"
#include "test-bus-util.h"

typedef struct Objects {
        const char *const *names;       /* peers, in the order the "daemon" lists them */
        bool with_cell;                 /* the Manager object too, which is no peer */
} Objects;

static void append_peer_properties(sd_bus_message *m, const char *name, bool enabled) {
        assert_true(sd_bus_message_append(m, "a{sv}", 3, "Name", "s", name, "Enabled", "b", enabled,
                                               "ServiceAccess", "as", 2, "dns", "web") >= 0);
}

static void build_managed_objects(sd_bus_message *m, void *data) {
        const Objects *o = data;

        assert_true(sd_bus_message_open_container(m, 'a', "{oa{sa{sv}}}") >= 0);
        if (o->with_cell)
                assert_true(sd_bus_message_append(m, "{oa{sa{sv}}}", PIC_MANAGER_PATH, 1, PIC_MANAGER_INTERFACE,
                                                       1, "Name", "s", "cell") >= 0);
        for (const char *const *n = o->names; *n; n++) {
                _cleanup_(freep) char *path = NULL;
                assert_true(sd_bus_path_encode(PIC_PEER_PATH_PREFIX, *n, &path) >= 0);
                assert_true(sd_bus_message_open_container(m, 'e', "oa{sa{sv}}") >= 0);
                assert_true(sd_bus_message_append(m, "o", path) >= 0);
                assert_true(sd_bus_message_open_container(m, 'a', "{sa{sv}}") >= 0);
                assert_true(sd_bus_message_append(m, "{sa{sv}}", "org.freedesktop.DBus.Peer", 0) >= 0);
                assert_true(sd_bus_message_open_container(m, 'e', "sa{sv}") >= 0);
                assert_true(sd_bus_message_append(m, "s", PIC_PEER_INTERFACE) >= 0);
                append_peer_properties(m, *n, true);
                assert_true(sd_bus_message_close_container(m) >= 0);
                assert_true(sd_bus_message_close_container(m) >= 0);
                assert_true(sd_bus_message_close_container(m) >= 0);
        }
        assert_true(sd_bus_message_close_container(m) >= 0);
}

static PeerCache *loaded(sd_bus *bus, const char *const *names) {
        Objects o = { names, true };
        sd_bus_message *m = sealed(bus, build_managed_objects, &o);
        PeerCache *c = NULL;
        assert_int_equal(peer_cache_new(&c), 0);
        assert_false(peer_cache_valid(c));
        assert_int_equal(peer_cache_load(c, m), 0);
        assert_true(peer_cache_valid(c));
        sd_bus_message_unref(m);
        return c;
}

static const char *name_at(PeerCache *c, size_t i) {
        return cJSON_GetStringValue(cJSON_GetObjectItem(peer_cache_json(c, i), "name"));
}

static char *page_text(PeerCache *c, const char *prefix, const char *cursor, size_t limit, PeerPage *page) {
        char *text = NULL;
        size_t size;
        peer_cache_page(c, prefix, cursor, limit, page);
        assert_int_equal(peer_cache_render(c, page, &text, &size), 0);
        assert_int_equal(strlen(text), size);
        return text;
}

static const char *const NAMES[] = { "phone", "lap-2", "tv", "lap-10", "lap-1", "laptop", "x", NULL };

static void test_load_sorts_and_skips_other_objects(void **state) {
        sd_bus *bus = test_bus();
        PeerCache *c = loaded(bus, NAMES);
        static const char *const sorted[] = { "lap-1", "lap-10", "lap-2", "laptop", "phone", "tv", "x" };

        assert_int_equal(peer_cache_count(c), ELEMENTSOF(sorted));
        for (size_t i = 0; i < ELEMENTSOF(sorted); i++)
                assert_string_equal(name_at(c, i), sorted[i]);
        size_t i;
        assert_int_equal(peer_cache_find(c, "phone", &i), 0);
        assert_int_equal(i, 4);
        assert_int_equal(peer_cache_find(c, "lap", NULL), -ENOENT);
        peer_cache_free(c);
        sd_bus_unref(bus);
}

static void test_pages(void **state) {
        sd_bus *bus = test_bus();
        PeerCache *c = loaded(bus, NAMES);
        PeerPage p;
        char *t;

        /* all, in pages of 3: the cursor is the last name of the page before */
        t = page_text(c, "", NULL, 3, &p);
        assert_int_equal(p.first, 0);
        assert_int_equal(p.n, 3);
        assert_int_equal(p.total, 7);
        assert_true(p.more);
        free(t);
        t = page_text(c, "", "lap-2", 3, &p);
        assert_int_equal(p.first, 3);
        assert_int_equal(p.n, 3);
        assert_true(p.more);
        free(t);
        t = page_text(c, "", "tv", 3, &p);
        assert_int_equal(p.n, 1);
        assert_false(p.more);
        free(t);
        /* past the end, and a cursor that names no peer */
        t = page_text(c, "", "zzz", 3, &p);
        assert_int_equal(p.n, 0);
        assert_string_equal(t, "[]");
        free(t);
        t = page_text(c, "", "m", 10, &p);
        assert_string_equal(name_at(c, p.first), "phone");
        assert_int_equal(p.n, 3);
        free(t);

        /* a prefix: its own total, its pages stop where it ends */
        t = page_text(c, "lap", NULL, 3, &p);
        assert_int_equal(p.total, 4);
        assert_int_equal(p.n, 3);
        assert_true(p.more);
        free(t);
        t = page_text(c, "lap", "lap-2", 3, &p);
        assert_int_equal(p.n, 1);
        assert_string_equal(name_at(c, p.first), "laptop");
        assert_false(p.more);
        free(t);
        t = page_text(c, "lap-1", NULL, 100, &p);
        assert_int_equal(p.total, 2);
        assert_non_null(strstr(t, "\"name\":\"lap-1\""));
        assert_non_null(strstr(t, "\"name\":\"lap-10\""));
        assert_null(strstr(t, "\"name\":\"lap-2\""));
        free(t);
        t = page_text(c, "q", NULL, 100, &p);
        assert_int_equal(p.total, 0);
        assert_string_equal(t, "[]");
        free(t);
        /* a cursor before the prefix's range starts at the prefix */
        t = page_text(c, "x", "a", 100, &p);
        assert_int_equal(p.n, 1);
        assert_string_equal(t, "[{\"name\":\"x\",\"enabled\":true,\"service_access\":[\"dns\",\"web\"]}]");
        free(t);
        peer_cache_free(c);
        sd_bus_unref(bus);
}

typedef struct Change {
        const char *invalidated;        /* NULL: none */
} Change;

static void build_properties_changed(sd_bus_message *m, void *data) {
        const Change *ch = data;
        assert_true(sd_bus_message_append(m, "a{sv}", 2, "Enabled", "b", 0, "RxBytes", "t", (uint64_t) 42) >= 0);
        if (ch->invalidated)
                assert_true(sd_bus_message_append(m, "as", 1, ch->invalidated) >= 0);
        else
                assert_true(sd_bus_message_append(m, "as", 0) >= 0);
}

static void build_peer(sd_bus_message *m, void *data) {
        append_peer_properties(m, data, false);
}

static void test_changes_follow_the_signals(void **state) {
        sd_bus *bus = test_bus();
        PeerCache *c = loaded(bus, NAMES);
        Change plain = {}, invalidating = { "Endpoint" };
        sd_bus_message *m;
        uint64_t v = peer_cache_version(c);
        size_t i;

        /* a change merges into the entry, and its text is rendered again */
        const char *before = peer_cache_text(c, 4, NULL);
        assert_null(strstr(before, "\"rx_bytes\""));
        m = sealed(bus, build_properties_changed, &plain);
        assert_int_equal(peer_cache_changed(c, "phone", m, &i), 0);
        sd_bus_message_unref(m);
        assert_int_equal(i, 4);
        assert_true(peer_cache_version(c) != v);
        assert_string_equal(peer_cache_text(c, 4, NULL),
                            "{\"name\":\"phone\",\"enabled\":false,\"service_access\":[\"dns\",\"web\"],\"rx_bytes\":42}");

        /* what the signal cannot tell: read again */
        m = sealed(bus, build_properties_changed, &invalidating);
        assert_int_equal(peer_cache_changed(c, "phone", m, NULL), -ESTALE);
        sd_bus_message_unref(m);
        m = sealed(bus, build_properties_changed, &plain);
        assert_int_equal(peer_cache_changed(c, "nobody", m, NULL), -ESTALE);
        sd_bus_message_unref(m);

        /* an added peer goes to its place; a removed one is gone */
        m = sealed(bus, build_peer, (void *) "lap-3");
        assert_int_equal(peer_cache_put(c, "lap-3", m, &i), 0);
        sd_bus_message_unref(m);
        assert_int_equal(i, 3);
        assert_string_equal(name_at(c, 3), "lap-3");
        assert_string_equal(name_at(c, 4), "laptop");
        assert_int_equal(peer_cache_count(c), 8);
        assert_int_equal(peer_cache_remove(c, "lap-1"), 1);
        assert_int_equal(peer_cache_remove(c, "lap-1"), 0);
        assert_string_equal(name_at(c, 0), "lap-10");
        assert_int_equal(peer_cache_count(c), 7);

        /* not loaded (the daemon went away): every change asks for a read */
        peer_cache_invalidate(c);
        m = sealed(bus, build_properties_changed, &plain);
        assert_int_equal(peer_cache_changed(c, "tv", m, NULL), -ESTALE);
        sd_bus_message_unref(m);
        peer_cache_free(c);
        sd_bus_unref(bus);
}

static void test_a_bad_reply_keeps_the_copy(void **state) {
        sd_bus *bus = test_bus();
        PeerCache *c = loaded(bus, NAMES);
        static const char *const twice[] = { "a", "b", "a", NULL };
        Objects o = { twice, false };
        sd_bus_message *m = sealed(bus, build_managed_objects, &o);
        uint64_t v = peer_cache_version(c);

        assert_int_equal(peer_cache_load(c, m), -EBADMSG);
        sd_bus_message_unref(m);
        assert_int_equal(peer_cache_count(c), 7);
        assert_true(peer_cache_version(c) == v);
        peer_cache_free(c);
        sd_bus_unref(bus);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load_sorts_and_skips_other_objects),
                cmocka_unit_test(test_pages),
                cmocka_unit_test(test_changes_follow_the_signals),
                cmocka_unit_test(test_a_bad_reply_keeps_the_copy),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
