/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for what pic-celld reads from wireguard-go's UAPI socket: the whole client,
 * socket and all. A thread of this process plays wireguard-go on RUN_DIR/picwg0.sock: it reads
 * the request up to its blank line, answers with the input, in pieces, and hangs up; the
 * client (wg_uapi_get_device or wg_uapi_set_device) reads the reply to its blank line and
 * parses it. Whatever it reads, it returns a device only on success, and that device holds
 * what a reply can say (allowed IPs within their family's length).
 *
 * Input: byte 0 picks get (bit 0 clear) or set, and the size of the pieces the reply is
 * written in (the rest: 1 to 128 bytes); the reply follows.
 *
 * Seeds: tests/fuzz/corpus/fuzz-uapi, replies as wireguard-go writes them (PIC_FUZZ_SEEDS writes none). */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wg/wg-uapi.h"
#include "wg/wg.h"

#define IFNAME "picwg0"

static char run_dir[] = "/tmp/fuzz-uapi-XXXXXX";
static int listen_fd = -1;

typedef struct Answer {
        const uint8_t *data;
        size_t size, piece;
} Answer;

static void *serve(void *userdata) {
        const Answer *a = userdata;
        char req[4096], last[2] = {};

        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                abort();
        /* the whole request first: hanging up on unread bytes would reset the connection */
        while (last[0] != '\n' || last[1] != '\n') {
                ssize_t k = read(fd, req, sizeof req);
                if (k <= 0)
                        abort();
                last[0] = k >= 2 ? req[k - 2] : last[1];
                last[1] = req[k - 1];
        }
        for (size_t off = 0; off < a->size;) {
                size_t len = a->size - off < a->piece ? a->size - off : a->piece;
                ssize_t k = send(fd, a->data + off, len, MSG_NOSIGNAL);
                if (k < 0)
                        break; /* the client had enough and left */
                off += (size_t) k;
        }
        (void) shutdown(fd, SHUT_WR);
        while (read(fd, req, sizeof req) > 0) /* until the client hangs up */
                ;
        close(fd);
        return NULL;
}

static void check_device(const WgDevice *d) {
        for (const WgPeer *p = d->peers; p; p = p->next)
                for (const WgAllowedIp *ip = p->allowed_ips; ip; ip = ip->next)
                        if ((ip->family != AF_INET && ip->family != AF_INET6) ||
                            ip->cidr > (ip->family == AF_INET ? 32 : 128))
                                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1 || size > 1024 * 1024)
                return 0;
        Answer a = { .data = data + 1, .size = size - 1, .piece = (size_t) (data[0] >> 1) + 1 };
        bool set = data[0] & 1;
        pthread_t t;
        if (pthread_create(&t, NULL, serve, &a) != 0)
                abort();
        if (set) {
                WgDevice *d = calloc(1, sizeof *d);
                if (!d)
                        abort();
                strcpy(d->name, IFNAME);
                d->flags = WG_DEVICE_HAS_LISTEN_PORT;
                d->listen_port = 51820;
                (void) wg_uapi_set_device(run_dir, d);
                wg_device_free(d);
        } else {
                WgDevice *d = NULL;
                int r = wg_uapi_get_device(run_dir, IFNAME, &d);
                if ((r >= 0) != (d != NULL))
                        abort();
                if (d) {
                        check_device(d);
                        wg_device_free(d);
                }
        }
        pthread_join(t, NULL);
        return 0;
}

static void cleanup(void) {
        char path[sizeof run_dir + sizeof "/" IFNAME ".sock"];
        snprintf(path, sizeof path, "%s/%s.sock", run_dir, IFNAME);
        (void) unlink(path);
        (void) rmdir(run_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (getenv("PIC_FUZZ_SEEDS"))
                exit(0); /* the seeds are in tests/fuzz/corpus/fuzz-uapi: wireguard-go's replies */
        if (!mkdtemp(run_dir))
                abort();
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.sock", run_dir, IFNAME);
        listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(listen_fd, 4) < 0)
                abort();
        atexit(cleanup);
        return 0;
}
