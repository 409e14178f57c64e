/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for pic-celld --services=FILE: the input is the file, read by
 * cell_firewall_load_services() as at start-up, and what it accepts is handed to
 * firewall_new() as the cell's firewall takes it. Whatever the file says, a service it
 * accepts has a known name and 1 to FIREWALL_SERVICE_PORTS_MAX ports, each tcp or udp and
 * not 0.
 *
 * Seeds: tests/fuzz/corpus/fuzz-services (PIC_FUZZ_SEEDS writes none). */

#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "cell-firewall.h"
#include "log.h"
#include "manager.h"
#include "nft/firewall.h"
#include "strv.h"

static int fd = -1;
static char path[] = "/tmp/fuzz-services-XXXXXX"; /* a plain file: the daemon opens it O_NOFOLLOW */

static void cleanup(void) {
        (void) unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 1024 * 1024)
                return 0;
        if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t) size)
                abort();
        Manager *m = calloc(1, sizeof *m);
        if (!m)
                abort();
        if (cell_firewall_load_services(m, path) >= 0) {
                for (size_t i = 0; i < m->n_services; i++) {
                        const FirewallService *s = &m->services[i];
                        if (!firewall_service_known(s->name) || s->n_ports == 0 || s->n_ports > FIREWALL_SERVICE_PORTS_MAX)
                                abort();
                        for (size_t j = 0; j < s->n_ports; j++)
                                if ((s->ports[j].protocol != IPPROTO_TCP && s->ports[j].protocol != IPPROTO_UDP) ||
                                    s->ports[j].port == 0)
                                        abort();
                }
                FirewallConfig c = { .wg_ifname = "picwg0", .vpn_subnet = { .addr = 0x0a3c0000, .prefix = 24 },
                                     .vpn_address = 0x0a3c0001, .services = m->services, .n_services = m->n_services };
                Firewall *f = NULL;
                if (firewall_new(&f, &c) >= 0) {
                        for (const char *const *name = firewall_service_names(); *name; name++)
                                if (!firewall_get_service(f, *name))
                                        abort();
                        firewall_free(f);
                }
        }
        free(m->services); /* as manager_free() does, also after a refusal */
        strv_free(m->service_names);
        free(m);
        return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (getenv("PIC_FUZZ_SEEDS"))
                exit(0); /* the seeds are in tests/fuzz/corpus/fuzz-services */
        fd = mkstemp(path);
        if (fd < 0)
                abort();
        atexit(cleanup);
        log_set_max_level(LOG_CRIT); /* each refusal is logged as an error: quiet */
        return 0;
}
