/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-fields.h"
#include "macro.h"
#include "strv.h"
#include "names.h"

#define JSON_COUNT_MAX 9007199254740991.0

int json_refuse(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static bool has_type(const cJSON *item, JsonType type) {
        switch (type) {
        case JSON_STRING:
                return cJSON_IsString(item);
        case JSON_COUNT:
                return cJSON_IsNumber(item) && item->valuedouble >= 0 && item->valuedouble <= JSON_COUNT_MAX &&
                       floor(item->valuedouble) == item->valuedouble;
        case JSON_OBJECT:
                return cJSON_IsObject(item);
        case JSON_BOOL:
                return cJSON_IsBool(item);
        case JSON_STRINGS: {
                const cJSON *e;
                if (!cJSON_IsArray(item))
                        return false;
                cJSON_ArrayForEach(e, item)
                        if (!cJSON_IsString(e))
                                return false;
                return true;
        }
        }
        return false;
}

int json_strings(const cJSON *item, char ***ret) {
        int n = cJSON_GetArraySize(item);
        char **l = calloc((size_t) n + 1, sizeof *l);
        const cJSON *e;
        int i = 0;

        if (!l)
                return -ENOMEM;
        cJSON_ArrayForEach(e, item) {
                l[i] = strdup(e->valuestring);
                if (!l[i]) {
                        strv_free(l);
                        return -ENOMEM;
                }
                i++;
        }
        *ret = l;
        return 0;
}

static const char *type_name(JsonType type) {
        return type == JSON_STRING ? "a string" : type == JSON_COUNT ? "a whole number" :
               type == JSON_OBJECT ? "an object" : type == JSON_BOOL ? "true or false" : "a list of strings";
}

int json_collect_fields(const cJSON *o, const JsonField *fields, size_t n, const cJSON **ret, const char *what,
                        char *buf, size_t size) {
        const cJSON *item;

        if (!cJSON_IsObject(o))
                return json_refuse(buf, size, "%s is not a JSON object.", what);
        for (size_t f = 0; f < n; f++)
                ret[f] = NULL;
        cJSON_ArrayForEach(item, o) {
                size_t f;
                for (f = 0; f < n; f++)
                        if (streq(item->string, fields[f].name))
                                break;
                if (f == n)
                        return json_refuse(buf, size, "%s: unknown field '%.*s' (was it made by a newer PIC?).", what,
                                           utf8_prefix_len(item->string, 32), item->string);
                if (ret[f])
                        return json_refuse(buf, size, "%s: field '%s' is given twice.", what, fields[f].name);
                if (!has_type(item, fields[f].type))
                        return json_refuse(buf, size, "%s: field '%s' must be %s.", what, fields[f].name,
                                           type_name(fields[f].type));
                ret[f] = item;
        }
        for (size_t f = 0; f < n; f++)
                if (!ret[f] && !fields[f].optional)
                        return json_refuse(buf, size, "%s: field '%s' is missing.", what, fields[f].name);
        return 0;
}

uint64_t json_count(const cJSON *item) {
        return (uint64_t) item->valuedouble;
}

cJSON *json_parse_exact(const char *text, size_t len) {
        const char *end = NULL;

        if (memchr(text, 0, len))
                return NULL;
        cJSON *o = cJSON_ParseWithLengthOpts(text, len, &end, false);
        if (o && end != text + len) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}
