/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* For unit tests (after <cmocka.h>): bus messages built and read without a bus daemon. */
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

/* sd-bus builds messages only for a started bus: one end of a socketpair as a
 * server that never talks is enough. */
static inline sd_bus *test_bus(void) {
        sd_id128_t id = { .bytes = { 1 } };
        sd_bus *bus = NULL;
        int fds[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(sd_bus_new(&bus), 0);
        assert_int_equal(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_server(bus, 1, id), 0);
        assert_int_equal(sd_bus_set_anonymous(bus, 1), 0);
        assert_int_equal(sd_bus_start(bus), 0);
        close(fds[1]);
        return bus;
}

/* A method call holding what @build appends, sealed and ready to be read. */
static inline sd_bus_message *sealed(sd_bus *bus, void (*build)(sd_bus_message *m, void *data), void *data) {
        sd_bus_message *m = NULL;

        assert_int_equal(sd_bus_message_new_method_call(bus, &m, "org.pic.Test", "/", "org.pic.Test", "T"), 0);
        build(m, data);
        assert_int_equal(sd_bus_message_seal(m, 1, 0), 0);
        assert_int_equal(sd_bus_message_rewind(m, true), 1);
        return m;
}
