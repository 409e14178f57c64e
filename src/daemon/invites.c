/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "invites.h"
#include "json-util.h"
#include "log.h"
#include "macro.h"

#define INVITE_FILE_MAX 1024
#define PAIRING_KEY_CONTEXT "pic pairing key v1"

void invite_pairing_key(const uint8_t secret[static INVITE_SECRET_LEN], uint8_t key[static INVITE_PAIRING_KEY_LEN]) {
        crypto_generichash(key, INVITE_PAIRING_KEY_LEN, (const uint8_t *) PAIRING_KEY_CONTEXT,
                           strlen(PAIRING_KEY_CONTEXT), secret, INVITE_SECRET_LEN);
}

static void file_name(const char *id, char out[static INVITE_ID_TEXT_LEN + 5]) {
        snprintf(out, INVITE_ID_TEXT_LEN + 5, "%s.json", id);
}

static int record_to_json(const InviteRecord *r, char **ret) {
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        char key[64];

        base64url_encode(r->pairing_key, sizeof r->pairing_key, key, sizeof key);
        if (!o || !cJSON_AddNumberToObject(o, "schema", 1) || !cJSON_AddStringToObject(o, "id", r->id) ||
            !cJSON_AddNumberToObject(o, "created", (double) r->created) ||
            !cJSON_AddNumberToObject(o, "expires", (double) r->expires) ||
            !cJSON_AddStringToObject(o, "pairing_key", key) ||
            (r->pairing[0] && !cJSON_AddStringToObject(o, "pairing", r->pairing))) {
                sodium_memzero(key, sizeof key);
                return -ENOMEM;
        }
        sodium_memzero(key, sizeof key);
        *ret = cJSON_PrintUnformatted(o);
        cJSON *k = cJSON_GetObjectItem(o, "pairing_key");
        sodium_memzero(k->valuestring, strlen(k->valuestring));
        return *ret ? 0 : -ENOMEM;
}

static bool time_field(const cJSON *o, const char *name, uint64_t *ret) {
        const cJSON *t = cJSON_GetObjectItem(o, name);
        if (!cJSON_IsNumber(t) || !(t->valuedouble >= 0 && t->valuedouble <= 9007199254740991.0) ||
            floor(t->valuedouble) != t->valuedouble)
                return false;
        *ret = (uint64_t) t->valuedouble;
        return true;
}

static int record_from_json(const char *text, InviteRecord *ret) {
        _cleanup_(cjson_deletep) cJSON *o = cJSON_Parse(text);
        InviteRecord r = {};
        const cJSON *id = cJSON_GetObjectItem(o, "id"), *key = cJSON_GetObjectItem(o, "pairing_key");
        uint8_t raw[INVITE_ID_LEN];

        if (!cJSON_IsObject(o) || !cJSON_IsString(id) || !cJSON_IsString(key) ||
            invite_id_from_text(id->valuestring, raw) < 0 || !time_field(o, "created", &r.created) ||
            !time_field(o, "expires", &r.expires) ||
            base64url_decode_exact(key->valuestring, strlen(key->valuestring), r.pairing_key, sizeof r.pairing_key) < 0)
                return -EINVAL;
        const cJSON *pairing = cJSON_GetObjectItem(o, "pairing"); /* older invites have none */
        if (pairing && (!cJSON_IsString(pairing) || endpoint_validate(pairing->valuestring) < 0))
                return -EINVAL;
        if (pairing)
                snprintf(r.pairing, sizeof r.pairing, "%s", pairing->valuestring);
        snprintf(r.id, sizeof r.id, "%s", id->valuestring);
        *ret = r;
        sodium_memzero(&r, sizeof r);
        return 0;
}

static int append(InviteStore *s, const InviteRecord *r) {
        if (greedy_realloc((void **) &s->records, &s->allocated, s->n + 1, sizeof *s->records) < 0)
                return -ENOMEM;
        s->records[s->n++] = *r;
        return 0;
}

static void drop_at(InviteStore *s, size_t i) {
        sodium_memzero(&s->records[i], sizeof s->records[i]);
        s->records[i] = s->records[--s->n];
}

static ssize_t index_of(const InviteStore *s, const char *id) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->records[i].id, id))
                        return (ssize_t) i;
        return -1;
}

const InviteRecord *invite_store_find(const InviteStore *s, const char *id) {
        ssize_t i = index_of(s, id);
        return i < 0 ? NULL : &s->records[i];
}

int invite_store_open(InviteStore *s, int state_fd, uint64_t now) {
        DIR *d;
        int r;

        *s = (InviteStore) { .dir_fd = open_dir_at(state_fd, "invites", 0700) };
        if (s->dir_fd < 0)
                return s->dir_fd;
        (void) remove_stale_temp_files(s->dir_fd);
        r = opendir_at(s->dir_fd, &d);
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                char name[INVITE_ID_TEXT_LEN + 5];
                InviteRecord rec;
                _cleanup_(erase_and_freep) char *text = NULL;

                if (de->d_name[0] == '.')
                        continue;
                if (read_file_at(s->dir_fd, de->d_name, INVITE_FILE_MAX, &text, NULL) < 0 ||
                    record_from_json(text, &rec) < 0) {
                        log_error("Skipping invites/%s: not an invite record. The file was left as it is.", de->d_name);
                        continue;
                }
                file_name(rec.id, name);
                if (!streq(name, de->d_name) || index_of(s, rec.id) >= 0 || s->n >= INVITES_MAX) {
                        log_error("Skipping invites/%s: it names invite %s.", de->d_name, rec.id);
                        continue;
                }
                r = append(s, &rec);
                sodium_memzero(&rec, sizeof rec);
                if (r < 0)
                        break;
        }
        closedir(d);
        if (r >= 0)
                invite_store_sweep(s, now);
        return r < 0 ? r : 0;
}

void invite_store_close(InviteStore *s) {
        if (s->records)
                sodium_memzero(s->records, s->n * sizeof *s->records);
        free(s->records);
        if (s->dir_fd >= 0)
                close(s->dir_fd);
        *s = (InviteStore) { .dir_fd = -EBADF };
}

void invite_store_sweep(InviteStore *s, uint64_t now) {
        for (size_t i = s->n; i > 0; i--)
                if (s->records[i - 1].expires <= now) {
                        char name[INVITE_ID_TEXT_LEN + 5];
                        file_name(s->records[i - 1].id, name);
                        int r = unlink_durable(s->dir_fd, name);
                        if (r < 0 && r != -ENOENT) {
                                log_warning_errno(r, "Failed to remove expired invites/%s: %m", name);
                                continue;
                        }
                        drop_at(s, i - 1);
                }
}

int invite_store_add(InviteStore *s, const InviteRecord *rec) {
        _cleanup_(erase_and_freep) char *text = NULL;
        char name[INVITE_ID_TEXT_LEN + 5];
        int r;

        if (s->n >= INVITES_MAX)
                return -E2BIG;
        if (index_of(s, rec->id) >= 0)
                return -EEXIST;
        r = greedy_realloc((void **) &s->records, &s->allocated, s->n + 1, sizeof *s->records);
        if (r < 0)
                return r;
        r = record_to_json(rec, &text);
        if (r < 0)
                return r;
        file_name(rec->id, name);
        r = write_file_atomic(s->dir_fd, name, text, strlen(text), 0600);
        if (r < 0)
                return r;
        return append(s, rec); /* cannot fail: room was made above */
}

int invite_store_remove(InviteStore *s, const char *id) {
        char name[INVITE_ID_TEXT_LEN + 5];
        ssize_t i = index_of(s, id);
        if (i < 0)
                return -ENOENT;
        file_name(id, name);
        int r = unlink_durable(s->dir_fd, name);
        if (r < 0 && r != -ENOENT)
                return r;
        drop_at(s, (size_t) i);
        return 0;
}

int invite_store_consume(InviteStore *s, const char *id, uint64_t now, InviteRecord *ret) {
        ssize_t i = index_of(s, id);
        if (i < 0)
                return -ENOENT;
        InviteRecord rec = s->records[i];
        int r = invite_store_remove(s, id);
        if (r < 0) {
                sodium_memzero(&rec, sizeof rec);
                return r;
        }
        if (rec.expires <= now) {
                sodium_memzero(&rec, sizeof rec);
                return -ETIME;
        }
        *ret = rec;
        sodium_memzero(&rec, sizeof rec);
        return 0;
}
