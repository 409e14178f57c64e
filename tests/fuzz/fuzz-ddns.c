/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for a dynamic DNS provider's answer (what a provider, or anyone between us
 * and it, sends back): byte 0 picks the provider, bytes 1-2 the HTTP status (big-endian), the
 * rest is the body. The verdict must be one of the four, its reason a terminated string that
 * is empty exactly when the update went through.
 *
 * PIC_FUZZ_SEEDS=DIR: writes one answer of each kind per provider to DIR and exits. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddns/ddns-provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 3)
                return 0;
        DdnsProviderId id = (DdnsProviderId) (data[0] % _DDNS_PROVIDER_MAX);
        long status = (long) ((data[1] << 8) | data[2]);
        DdnsVerdict v;
        ddns_answer_read(id, status, (const char *) data + 3, size - 3, &v);
        if (!ddns_answer_to_string(v.answer) || !memchr(v.reason, '\0', sizeof v.reason))
                abort();
        bool done = v.answer == DDNS_ANSWER_UPDATED || v.answer == DDNS_ANSWER_UNCHANGED;
        if (done != (v.reason[0] == '\0'))
                abort();
        return 0;
}

static void write_seed(const char *dir, int n, DdnsProviderId id, long status, const char *body) {
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%s-%d", dir, ddns_provider_to_string(id), n);
        FILE *f = fopen(path, "we");
        if (!f)
                exit(EXIT_FAILURE);
        fputc(id, f);
        fputc((int) (status >> 8), f);
        fputc((int) (status & 0xff), f);
        fputs(body, f);
        if (fclose(f) != 0)
                exit(EXIT_FAILURE);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        const char *seeds = getenv("PIC_FUZZ_SEEDS");
        if (!seeds)
                return 0;
        const struct {
                DdnsProviderId id;
                long status;
                const char *body;
        } answers[] = {
                { DDNS_PROVIDER_DUCKDNS, 200, "OK\n192.0.2.1\n\nUPDATED" },
                { DDNS_PROVIDER_DUCKDNS, 200, "OK\n192.0.2.1\n\nNOCHANGE" },
                { DDNS_PROVIDER_DUCKDNS, 200, "KO" },
                { DDNS_PROVIDER_NOIP, 200, "good 192.0.2.1" },
                { DDNS_PROVIDER_NOIP, 200, "nochg 192.0.2.1" },
                { DDNS_PROVIDER_NOIP, 200, "abuse" },
                { DDNS_PROVIDER_NOIP, 200, "911" },
                { DDNS_PROVIDER_FREEDNS, 200, "Updated 1 host(s) a.mooo.com to 192.0.2.1 in 0.1 seconds" },
                { DDNS_PROVIDER_FREEDNS, 200, "ERROR: Address 192.0.2.1 has not changed." },
                { DDNS_PROVIDER_CLOUDFLARE, 200, "{\"success\":true,\"errors\":[],\"result\":{}}" },
                { DDNS_PROVIDER_CLOUDFLARE, 403, "{\"success\":false,\"errors\":[{\"code\":9109}]}" },
        };
        for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++)
                write_seed(seeds, (int) i, answers[i].id, answers[i].status, answers[i].body);
        exit(EXIT_SUCCESS);
}
