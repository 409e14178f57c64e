/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exit-helper.h"
#include "exit-run.h"
#include "fileio.h"
#include "names.h"
#include "strv.h"

#define STATUS_MAX 256
#define SUFFIX_STATUS ".status"

int exit_helper_argv(Manager *m, const Exit *e, char ***ret) {
        _cleanup_(strv_freep) char **argv = NULL;
        char listen[CIDR4_STRLEN + 8], status_file[64];

        exit_helper_forget_status(m, (Exit *) e); /* what the last process said is not the next one's word */
        ipv4_format(m->cell.vpn_address.addr, listen);
        snprintf(listen + strlen(listen), sizeof listen - strlen(listen), ":%u", exit_dns_port(e));
        snprintf(status_file, sizeof status_file, EXIT_UNIT_RUN_DIR "/%s" SUFFIX_STATUS, e->ifname);
        int r = strv_extend_many(&argv, m->config.exit_proxy_helper, "--listen", listen, "--status-file", status_file,
                                 NULL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(argv);
        return 0;
}

/* "up", or "down <reason>"; false when there is no word yet. The reason is
 * kept only if it is printable ASCII (it becomes LastError). */
static bool read_word(Manager *m, const Exit *e, bool *ret_up, char *reason, size_t size) {
        _cleanup_(freep) char *text = NULL;
        char name[IFNAMSIZ + 16];
        size_t len;

        int dir = open(m->config.wireguard_run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return false;
        snprintf(name, sizeof name, "%s" SUFFIX_STATUS, e->ifname);
        int r = read_file_at(dir, name, STATUS_MAX, &text, &len);
        close(dir);
        if (r < 0 || len == 0 || text[len - 1] != '\n')
                return false;
        text[len - 1] = 0;
        *ret_up = streq(text, "up");
        if (!*ret_up && strncmp(text, "down ", 5) == 0 && string_is_printable_ascii(text + 5, STATUS_MAX))
                snprintf(reason, size, "%s", text + 5);
        else
                snprintf(reason, size, "its status is not one PIC knows");
        return true;
}

bool exit_helper_read_status(Manager *m, Exit *e, const char *what) {
        char reason[STATUS_MAX];
        bool up = false;

        if (!read_word(m, e, &up, reason, sizeof reason)) {
                e->tunnel_connected = false;
                return false;
        }
        e->program_down = !up;
        if (!up)
                exit_run_set_error(e, "%s: %s.", what, reason);
        e->tunnel_connected = up && exit_run_local_ports_listen(m, e);
        return e->tunnel_connected;
}

void exit_helper_forget_status(Manager *m, Exit *e) {
        exit_run_remove_file(m, e, SUFFIX_STATUS);
        e->program_down = false;
        e->tunnel_connected = false;
}
