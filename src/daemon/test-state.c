/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "bus-dict.h"
#include "fileio.h"
#include "keys.h"
#include "macro.h"
#include "state.h"

/* ---- fixtures ---- */

static void make_cell(Cell *c) {
        *c = (Cell) {
                .setup_complete = true,
                .name = strdup("home"),
                .domain = strdup("home.lan"),
                .endpoint = strdup("cell.example.org:51820"),
                .vpn_address = { 0x0a000001, 24 },
                .listen_port = 51820,
                .pending_vpn_address = true,
                .pending_vpn_address_value = { 0x0a010001, 16 },
                .pending_listen_port = true,
                .pending_listen_port_value = 51999,
        };
        assert_non_null(c->name);
        assert_int_equal(key_generate_private(c->private_key), 0);
        key_public_from_private(c->public_key, c->private_key);
        key_to_base64(c->public_key, c->public_key_b64);
}

static Peer *make_peer(const char *name, uint32_t address) {
        Peer *p = NULL;
        assert_int_equal(peer_new(&p, name), 0);
        assert_int_equal(peer_generate_keys(p), 0);
        key_generate_symmetric(p->preshared_key);
        p->has_preshared_key = true;
        p->address = address;
        p->persistent_keepalive = 25;
        p->created_usec = UINT64_C(1712345678901234);
        char *services[] = { "dns", "web", NULL };
        assert_int_equal(peer_set_service_access(p, services), 0);
        return p;
}

static void assert_cells_equal(const Cell *a, const Cell *b) {
        assert_true(b->setup_complete);
        assert_string_equal(a->name, b->name);
        assert_string_equal(a->domain, b->domain);
        if (a->endpoint)
                assert_string_equal(a->endpoint, b->endpoint);
        else
                assert_null(b->endpoint);
        assert_int_equal(a->vpn_address.addr, b->vpn_address.addr);
        assert_int_equal(a->vpn_address.prefix, b->vpn_address.prefix);
        assert_int_equal(a->listen_port, b->listen_port);
        assert_memory_equal(a->private_key, b->private_key, WG_KEY_LEN);
        assert_memory_equal(a->public_key, b->public_key, WG_KEY_LEN);
        assert_string_equal(a->public_key_b64, b->public_key_b64);
        assert_int_equal(a->pending_vpn_address, b->pending_vpn_address);
        if (a->pending_vpn_address) {
                assert_int_equal(a->pending_vpn_address_value.addr, b->pending_vpn_address_value.addr);
                assert_int_equal(a->pending_vpn_address_value.prefix, b->pending_vpn_address_value.prefix);
        }
        assert_int_equal(a->pending_listen_port, b->pending_listen_port);
        if (a->pending_listen_port)
                assert_int_equal(a->pending_listen_port_value, b->pending_listen_port_value);
}

static void assert_peers_equal(const Peer *a, const Peer *b) {
        assert_string_equal(a->name, b->name);
        assert_memory_equal(a->public_key, b->public_key, WG_KEY_LEN);
        assert_string_equal(a->public_key_b64, b->public_key_b64);
        assert_int_equal(a->has_private_key, b->has_private_key);
        if (a->has_private_key)
                assert_memory_equal(a->private_key, b->private_key, WG_KEY_LEN);
        assert_int_equal(a->has_preshared_key, b->has_preshared_key);
        if (a->has_preshared_key)
                assert_memory_equal(a->preshared_key, b->preshared_key, WG_KEY_LEN);
        assert_int_equal(a->address, b->address);
        assert_int_equal(a->persistent_keepalive, b->persistent_keepalive);
        assert_int_equal(a->enabled, b->enabled);
        assert_int_equal(a->created_usec, b->created_usec);
        assert_int_equal(strv_length(a->service_access), strv_length(b->service_access));
        for (size_t i = 0; a->service_access[i]; i++)
                assert_string_equal(a->service_access[i], b->service_access[i]);
}

/* A state directory of our own with a peers/ below it. */
typedef struct TestDir {
        char path[64];
        int fd, peers_fd;
} TestDir;

static int setup_dir(void **state) {
        TestDir *t = calloc(1, sizeof *t);
        if (!t)
                return -1;
        snprintf(t->path, sizeof t->path, "/tmp/pic-test-state-%u-XXXXXX", (unsigned) getpid());
        if (!mkdtemp(t->path))
                return -1;
        t->fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (t->fd < 0)
                return -1;
        t->peers_fd = open_dir_at(t->fd, "peers", 0700);
        if (t->peers_fd < 0)
                return -1;
        *state = t;
        return 0;
}

static int teardown_dir(void **state) {
        TestDir *t = *state;
        assert_int_equal(remove_tree_at(t->fd), 0);
        close(t->peers_fd);
        close(t->fd);
        rmdir(t->path);
        free(t);
        return 0;
}

static void write_raw(int dir_fd, const char *name, const char *text) {
        int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

static void assert_file_is(int dir_fd, const char *name, const char *text) {
        _cleanup_(freep) char *got = NULL;
        size_t size;
        assert_int_equal(read_file_at(dir_fd, name, STATE_FILE_MAX, &got, &size), 0);
        assert_int_equal(size, strlen(text));
        assert_memory_equal(got, text, size);
}

static mode_t file_mode(int dir_fd, const char *name) {
        struct stat st;
        assert_int_equal(fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        return st.st_mode & 07777;
}

/* Loaded peers, in file-name order so tests can index them. */
typedef struct Loaded {
        Peer *peers[16];
        size_t n;
} Loaded;

static int collect(Peer *p, void *userdata) {
        Loaded *l = userdata;
        assert_true(l->n < ELEMENTSOF(l->peers));
        size_t i = l->n++;
        for (; i > 0 && strcmp(l->peers[i - 1]->name, p->name) > 0; i--)
                l->peers[i] = l->peers[i - 1];
        l->peers[i] = p;
        return 0;
}

static void loaded_done(Loaded *l) {
        for (size_t i = 0; i < l->n; i++)
                peer_free(l->peers[i]);
        *l = (Loaded) {};
}

/* ---- JSON round trips ---- */

static void test_cell_json_round_trip(void **state) {
        _cleanup_(freep) char *text = NULL;
        Cell c, back = {};
        char why[256] = "";

        make_cell(&c);
        assert_int_equal(cell_to_json(&c, &text), 0);

        /* The keys on disk are part of the format. */
        cJSON *o = cJSON_Parse(text);
        assert_non_null(o);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "schema")->valueint, STATE_SCHEMA_VERSION);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "name")->valuestring, "home");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "domain")->valuestring, "home.lan");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "vpn_address")->valuestring, "10.0.0.1/24");
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "listen_port")->valueint, 51820);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "endpoint")->valuestring, "cell.example.org:51820");
        char b64[WG_KEY_B64_LEN];
        key_to_base64(c.private_key, b64);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "private_key")->valuestring, b64);
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "public_key")); /* derived, never stored */
        cJSON *pending = cJSON_GetObjectItemCaseSensitive(o, "pending");
        assert_true(cJSON_IsObject(pending));
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(pending, "vpn_address")->valuestring, "10.1.0.1/16");
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(pending, "listen_port")->valueint, 51999);
        cJSON_Delete(o);

        assert_int_equal(cell_from_json(text, &back, why, sizeof why), 0);
        assert_cells_equal(&c, &back);
        cell_done(&back);

        /* Nothing pending and no endpoint: neither is written, neither comes back. */
        free(c.endpoint);
        c.endpoint = NULL;
        c.pending_vpn_address = c.pending_listen_port = false;
        free(text);
        assert_int_equal(cell_to_json(&c, &text), 0);
        o = cJSON_Parse(text);
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "pending"));
        cJSON_Delete(o);
        assert_int_equal(cell_from_json(text, &back, why, sizeof why), 0);
        assert_cells_equal(&c, &back);
        assert_null(back.endpoint);
        cell_done(&back);
        cell_done(&c);
}

static void test_cell_json_refused(void **state) {
        static const char *const bad[] = {
                "",
                "[]",
                "{",
                "{\"schema\":1,\"domain\":\"home.lan\",\"vpn_address\":\"10.0.0.1/24\",\"listen_port\":51820,"
                "\"private_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
                "{\"schema\":1,\"name\":\"home\",\"domain\":\"home.lan\",\"vpn_address\":\"10.0.0.1\",\"listen_port\":51820,"
                "\"private_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
                "{\"schema\":1,\"name\":\"home\",\"domain\":\"home.lan\",\"vpn_address\":\"10.0.0.1/24\",\"listen_port\":0,"
                "\"private_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
                "{\"schema\":1,\"name\":\"home\",\"domain\":\"home.lan\",\"vpn_address\":\"10.0.0.1/24\",\"listen_port\":65536,"
                "\"private_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
                "{\"schema\":1,\"name\":\"home\",\"domain\":\"home.lan\",\"vpn_address\":\"10.0.0.1/24\",\"listen_port\":5.5,"
                "\"private_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
                "{\"schema\":1,\"name\":\"home\",\"domain\":\"home.lan\",\"vpn_address\":\"10.0.0.1/24\",\"listen_port\":\"1\","
                "\"private_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
                "{\"schema\":1,\"name\":\"home\",\"domain\":\"home.lan\",\"vpn_address\":\"10.0.0.1/24\",\"listen_port\":51820,"
                "\"private_key\":\"not a key\"}",
                "{\"schema\":99,\"name\":\"home\",\"domain\":\"home.lan\",\"vpn_address\":\"10.0.0.1/24\",\"listen_port\":51820,"
                "\"private_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
                "{\"schema\":\"1\",\"name\":\"home\",\"domain\":\"home.lan\",\"vpn_address\":\"10.0.0.1/24\",\"listen_port\":51820,"
                "\"private_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Cell c = { .name = NULL };
                char why[256] = "";
                assert_int_equal(cell_from_json(bad[i], &c, why, sizeof why), -EINVAL);
                assert_true(why[0] != 0);
                assert_null(c.name);
        }

        /* A newer schema says so. */
        Cell c = {};
        char why[256] = "";
        assert_int_equal(cell_from_json(bad[10], &c, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "newer"));
        assert_non_null(strstr(why, "99"));

        /* A bad upstream is named (found by fuzz-state: the message read it after it was freed). */
        why[0] = 0;
        assert_int_equal(cell_from_json("{\"schema\":1,\"name\":\"home\",\"domain\":\"home.lan\",\"vpn_address\":"
                                        "\"10.0.0.1/24\",\"listen_port\":51820,\"dns_servers\":[\"192.0.2.1\","
                                        "\"resolver.example\"],\"private_key\":"
                                        "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}", &c, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "'resolver.example'"));
}

static void test_peer_json_round_trip(void **state) {
        _cleanup_(peer_freep) Peer *p = make_peer("laptop", 0x0a000002);
        _cleanup_(freep) char *text = NULL;
        char why[256] = "";

        assert_int_equal(peer_to_json(p, &text), 0);
        cJSON *o = cJSON_Parse(text);
        assert_non_null(o);
        char b64[WG_KEY_B64_LEN];
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "schema")->valueint, STATE_SCHEMA_VERSION);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "name")->valuestring, "laptop");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "public_key")->valuestring, p->public_key_b64);
        key_to_base64(p->private_key, b64);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "private_key")->valuestring, b64);
        key_to_base64(p->preshared_key, b64);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "preshared_key")->valuestring, b64);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "address")->valuestring, "10.0.0.2");
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "persistent_keepalive")->valueint, 25);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "enabled")));
        cJSON *access = cJSON_GetObjectItemCaseSensitive(o, "service_access");
        assert_int_equal(cJSON_GetArraySize(access), 2);
        assert_string_equal(cJSON_GetArrayItem(access, 0)->valuestring, "dns");
        assert_string_equal(cJSON_GetArrayItem(access, 1)->valuestring, "web");
        cJSON_Delete(o);

        _cleanup_(peer_freep) Peer *back = NULL;
        assert_int_equal(peer_from_json(text, &back, why, sizeof why), 0);
        assert_peers_equal(p, back);
}

static void test_peer_json_minimal(void **state) {
        /* A peer that brought its own key: no private key, no preshared key,
         * no services, disabled. */
        _cleanup_(peer_freep) Peer *p = NULL, *back = NULL;
        _cleanup_(freep) char *text = NULL;
        char why[256] = "";
        WgKey pub;

        assert_int_equal(peer_new(&p, "phone_2"), 0);
        key_generate_symmetric(pub);
        peer_set_public_key(p, pub);
        p->address = 0xc0a80163; /* 192.168.1.99 */
        p->enabled = false;

        assert_int_equal(peer_to_json(p, &text), 0);
        cJSON *o = cJSON_Parse(text);
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "private_key"));
        assert_null(cJSON_GetObjectItemCaseSensitive(o, "preshared_key"));
        assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "enabled")));
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "service_access")), 0);
        cJSON_Delete(o);

        assert_int_equal(peer_from_json(text, &back, why, sizeof why), 0);
        assert_peers_equal(p, back);
        assert_false(back->has_private_key);
        assert_false(back->enabled);
        assert_non_null(back->service_access);
        assert_null(back->service_access[0]);
}

static void test_peer_json_refused(void **state) {
        static const struct {
                const char *json, *why;
        } bad[] = {
                { "nonsense", "JSON" },
                { "{\"schema\":1,\"name\":\"-x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.2\"}", "name" },
                { "{\"schema\":1,\"name\":\"x\",\"public_key\":\"AAAA\",\"address\":\"10.0.0.2\"}", "public_key" },
                { "{\"schema\":1,\"name\":\"x\",\"address\":\"10.0.0.2\"}", "public_key" },
                { "{\"schema\":1,\"name\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"private_key\":\"x\",\"address\":\"10.0.0.2\"}", "private_key" },
                { "{\"schema\":1,\"name\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"preshared_key\":\"x\",\"address\":\"10.0.0.2\"}", "preshared_key" },
                { "{\"schema\":1,\"name\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.2/32\"}", "address" },
                { "{\"schema\":1,\"name\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.256\"}", "address" },
                { "{\"schema\":1,\"name\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}", "address" },
                { "{\"schema\":1,\"name\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.2\",\"service_access\":[\"ssh\"]}", "ssh" },
                { "{\"schema\":1,\"name\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.2\",\"service_access\":[\"dns\",\"dns\"]}", "twice" },
                { "{\"schema\":1,\"name\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.2\",\"service_access\":\"dns\"}", "list" },
                { "{\"schema\":1,\"name\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.2\",\"service_access\":[1]}", "string" },
                { "{\"schema\":2,\"name\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.2\"}", "newer" },
                { "{\"schema\":-1,\"name\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.2\"}", "schema" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Peer *p = NULL;
                char why[256] = "";
                assert_int_equal(peer_from_json(bad[i].json, &p, why, sizeof why), -EINVAL);
                assert_null(p);
                if (!strstr(why, bad[i].why))
                        fail_msg("case %zu: '%s' does not mention '%s'", i, why, bad[i].why);
        }
}

/* ---- files ---- */

static void test_save_load_cell(void **state) {
        TestDir *t = *state;
        Cell c, back;

        /* No cell.json yet: not an error, just not set up. */
        memset(&back, 0xaa, sizeof back);
        assert_int_equal(state_load_cell(t->fd, &back), 0);
        assert_false(back.setup_complete);
        assert_null(back.name);

        make_cell(&c);
        assert_int_equal(state_save_cell(t->fd, &c), 0);
        assert_int_equal(file_mode(t->fd, "cell.json"), 0600);
        assert_int_equal(state_load_cell(t->fd, &back), 0);
        assert_cells_equal(&c, &back);
        cell_done(&back);

        /* Saving again replaces the file; no temp file stays behind. */
        c.listen_port = 40000;
        assert_int_equal(state_save_cell(t->fd, &c), 0);
        assert_int_equal(state_load_cell(t->fd, &back), 0);
        assert_int_equal(back.listen_port, 40000);
        cell_done(&back);
        DIR *d = opendir(t->path);
        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));)
                assert_true(streq(de->d_name, ".") || streq(de->d_name, "..") || streq(de->d_name, "cell.json") ||
                            streq(de->d_name, "peers"));
        closedir(d);
        cell_done(&c);
}

static void test_load_cell_refused_left_alone(void **state) {
        TestDir *t = *state;
        static const char newer[] = "{\"schema\":99,\"name\":\"home\",\"domain\":\"home.lan\",\"vpn_address\":\"10.0.0.1/24\","
                                    "\"listen_port\":51820,\"private_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}";
        Cell c = {};

        write_raw(t->fd, "cell.json", newer);
        assert_int_equal(state_load_cell(t->fd, &c), -EINVAL);
        assert_null(c.name);
        assert_file_is(t->fd, "cell.json", newer);

        write_raw(t->fd, "cell.json", "{ broken");
        assert_int_equal(state_load_cell(t->fd, &c), -EINVAL);
        assert_file_is(t->fd, "cell.json", "{ broken");
}

static void test_load_cell_migrates(void **state) {
        TestDir *t = *state;
        Cell c = {};

        /* Written before files had a schema. */
        write_raw(t->fd, "cell.json",
                  "{\"name\":\"home\",\"domain\":\"home.lan\",\"vpn_address\":\"10.0.0.1/24\",\"listen_port\":51820,"
                  "\"private_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}");
        assert_int_equal(state_load_cell(t->fd, &c), 0);
        assert_true(c.setup_complete);
        assert_string_equal(c.name, "home");
        assert_int_equal(c.vpn_address.addr, 0x0a000001);
        assert_null(c.endpoint);
        assert_false(c.pending_vpn_address);
        cell_done(&c);
}

static void test_save_load_peers(void **state) {
        TestDir *t = *state;
        Peer *p[3] = { make_peer("alpha", 0x0a000002), make_peer("beta", 0x0a000003), make_peer("gamma", 0x0a000004) };
        Loaded l = {};

        /* An empty directory loads nothing. */
        assert_int_equal(state_load_peers(t->peers_fd, collect, &l), 0);
        assert_int_equal(l.n, 0);

        p[1]->enabled = false;
        p[1]->has_private_key = false;
        p[2]->has_preshared_key = false;
        char *none[] = { NULL };
        assert_int_equal(peer_set_service_access(p[2], none), 0);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(state_save_peer(t->peers_fd, p[i]), 0);
                char fn[64];
                snprintf(fn, sizeof fn, "%s.json", p[i]->name);
                assert_int_equal(file_mode(t->peers_fd, fn), 0600);
        }

        assert_int_equal(state_load_peers(t->peers_fd, collect, &l), 0);
        assert_int_equal(l.n, 3);
        for (size_t i = 0; i < 3; i++)
                assert_peers_equal(p[i], l.peers[i]);
        loaded_done(&l);

        /* Loading twice from the same directory fd sees the same peers. */
        assert_int_equal(state_load_peers(t->peers_fd, collect, &l), 0);
        assert_int_equal(l.n, 3);
        loaded_done(&l);

        assert_int_equal(state_remove_peer(t->peers_fd, "beta"), 0);
        assert_int_equal(state_remove_peer(t->peers_fd, "beta"), -ENOENT);
        assert_int_equal(state_load_peers(t->peers_fd, collect, &l), 0);
        assert_int_equal(l.n, 2);
        assert_string_equal(l.peers[0]->name, "alpha");
        assert_string_equal(l.peers[1]->name, "gamma");
        loaded_done(&l);

        for (size_t i = 0; i < 3; i++)
                peer_free(p[i]);
}

static void test_load_peers_skips_bad_files(void **state) {
        TestDir *t = *state;
        static const struct {
                const char *file, *text;
        } bad[] = {
                { "badkey.json", "{\"schema\":1,\"name\":\"badkey\",\"public_key\":\"not-base64!\",\"address\":\"10.0.0.9\"}\n" },
                { "badaddr.json", "{\"schema\":1,\"name\":\"badaddr\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.300\"}\n" },
                { "badsvc.json", "{\"schema\":1,\"name\":\"badsvc\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.9\",\"service_access\":[\"telnet\"]}\n" },
                { "wrongname.json", "{\"schema\":1,\"name\":\"other\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.9\"}\n" },
                { "wrong.json", "{\"schema\":1,\"name\":\"wrongname\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.9\"}\n" },
                { "broken.json", "{\"schema\":1,\"name\":\"broken\",\n" },
                { "empty.json", "" },
                { "future.json", "{\"schema\":99,\"name\":\"future\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.9\"}\n" },
                /* a temp file of an interrupted write, holding a perfectly good peer */
                { ".#x.json.123", "{\"schema\":1,\"name\":\"x\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.9\"}\n" },
                /* not a peer file at all */
                { "notes.txt", "{\"schema\":1,\"name\":\"notes\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"address\":\"10.0.0.9\"}\n" },
        };
        _cleanup_(peer_freep) Peer *good = make_peer("good", 0x0a000005);
        Loaded l = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                write_raw(t->peers_fd, bad[i].file, bad[i].text);
        assert_int_equal(mkdirat(t->peers_fd, "dir.json", 0700), 0);
        assert_int_equal(symlinkat("good.json", t->peers_fd, "link.json"), 0);
        assert_int_equal(state_save_peer(t->peers_fd, good), 0);

        assert_int_equal(state_load_peers(t->peers_fd, collect, &l), 0);
        assert_int_equal(l.n, 1);
        assert_peers_equal(good, l.peers[0]);
        loaded_done(&l);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_file_is(t->peers_fd, bad[i].file, bad[i].text);
}

static void test_load_peers_migrates(void **state) {
        TestDir *t = *state;
        static const char old[] = "{\"name\":\"legacy\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
                                  "\"address\":\"10.0.0.7/32\",\"service_access\":[\"dns\"]}";
        Loaded l = {};

        write_raw(t->peers_fd, "legacy.json", old);
        assert_int_equal(state_load_peers(t->peers_fd, collect, &l), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.peers[0]->name, "legacy");
        assert_int_equal(l.peers[0]->address, 0x0a000007);
        assert_true(l.peers[0]->enabled);
        assert_false(l.peers[0]->has_private_key);
        assert_string_equal(l.peers[0]->service_access[0], "dns");

        /* Saving writes the current schema, and that loads the same. */
        assert_int_equal(state_save_peer(t->peers_fd, l.peers[0]), 0);
        _cleanup_(freep) char *text = NULL;
        assert_int_equal(read_file_at(t->peers_fd, "legacy.json", STATE_FILE_MAX, &text, NULL), 0);
        cJSON *o = cJSON_Parse(text);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "schema")->valueint, STATE_SCHEMA_VERSION);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "address")->valuestring, "10.0.0.7");
        cJSON_Delete(o);
        loaded_done(&l);

        /* Only schema-less files are migrated: schema 1 with "/32" is an error. */
        write_raw(t->peers_fd, "legacy.json",
                  "{\"schema\":1,\"name\":\"legacy\",\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
                  "\"address\":\"10.0.0.7/32\"}");
        assert_int_equal(state_load_peers(t->peers_fd, collect, &l), 0);
        assert_int_equal(l.n, 0);
}

static void test_secrets_stay_private(void **state) {
        TestDir *t = *state;
        _cleanup_(peer_freep) Peer *p = make_peer("secret", 0x0a000006);
        _cleanup_(freep) char *text = NULL;
        char b64[WG_KEY_B64_LEN];
        Cell c;

        /* Even with a careless umask and an old world-readable file in the way. */
        mode_t old_umask = umask(0);
        write_raw(t->peers_fd, "secret.json", "{}");
        assert_int_equal(fchmodat(t->peers_fd, "secret.json", 0644, 0), 0);
        assert_int_equal(state_save_peer(t->peers_fd, p), 0);
        make_cell(&c);
        assert_int_equal(state_save_cell(t->fd, &c), 0);
        umask(old_umask);

        assert_int_equal(file_mode(t->peers_fd, "secret.json"), 0600);
        assert_int_equal(file_mode(t->fd, "cell.json"), 0600);

        /* The keys are in the files: that is why the files are 0600. */
        assert_int_equal(read_file_at(t->peers_fd, "secret.json", STATE_FILE_MAX, &text, NULL), 0);
        key_to_base64(p->private_key, b64);
        assert_non_null(strstr(text, b64));
        key_to_base64(p->preshared_key, b64);
        assert_non_null(strstr(text, b64));
        free(text);
        text = NULL;
        assert_int_equal(read_file_at(t->fd, "cell.json", STATE_FILE_MAX, &text, NULL), 0);
        key_to_base64(c.private_key, b64);
        assert_non_null(strstr(text, b64));
        cell_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cell_json_round_trip),
                cmocka_unit_test(test_cell_json_refused),
                cmocka_unit_test(test_peer_json_round_trip),
                cmocka_unit_test(test_peer_json_minimal),
                cmocka_unit_test(test_peer_json_refused),
                cmocka_unit_test_setup_teardown(test_save_load_cell, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_load_cell_refused_left_alone, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_load_cell_migrates, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_save_load_peers, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_load_peers_skips_bad_files, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_load_peers_migrates, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_secrets_stay_private, setup_dir, teardown_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
