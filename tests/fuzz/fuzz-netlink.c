/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for what pic-celld reads from the kernel over netlink: rtnetlink (links,
 * addresses, routes, rules, route lookups, the change monitor), sock_diag, generic netlink
 * (WireGuard's GET_DEVICE, after the family lookup) and nftables (a table's existence, the
 * whole table dumped for GetFirewall, the change monitor). Each operation runs whole, as
 * pic-celld calls it: its requests go nowhere and each of its reads gets the next piece of
 * the input, as if the kernel had written it (this file stands in for libmnl's socket calls).
 * The monitors read their events from a socket this file fills. A read libnftnl itself dies on
 * is not given (see libnftnl_survives()).
 *
 * Input: byte 0 picks the operation (mod _OP_MAX); byte 1: bit 0 set leaves each message's
 * sequence number and port as given (clear: they are those of the request, as the kernel
 * writes them), bit 1 asks for IPv6 instead of IPv4. Then the reads: each a 2-byte length
 * (little-endian) and that many bytes. After the last one, a read fails with EAGAIN (a
 * socket timeout).
 *
 * PIC_FUZZ_RECORD=DIR (run inside a fresh network namespace: `unshare -n`): runs every
 * operation against the real kernel, after making something for each to find (lo up with an
 * address, a route, a rule and pic-celld's firewall table), and writes what the kernel
 * answered to DIR, as tests/fuzz/corpus/fuzz-netlink was made. PIC_FUZZ_SEEDS writes none. */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <sanitizer/common_interface_defs.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink/rtnl-route.h"
#include "netlink/rtnl-rule.h"
#include "netlink/rtnl-monitor.h"
#include "netlink/rtnl.h"
#include "netlink-read.h"
#include "netlink/sock-diag.h"
#include "nft/firewall.h"
#include "nft/nft-query.h"
#include "wg/wg-genl.h"
#include "wg/wg.h"

enum { OP_LINK_INDEX, OP_ADDR_LIST, OP_ADDR_SYNC, OP_ROUTE_LIST, OP_ROUTE_GET, OP_ROUTE_SYNC, OP_RULE_LIST,
       OP_RULE_SYNC, OP_TIME_WAIT, OP_WG_GET, OP_NFT_TABLE, OP_FIREWALL_DUMP, OP_RTNL_MONITOR, OP_NFT_MONITOR,
       _OP_MAX };
static const char *const op_names[_OP_MAX] = { "link-index", "addr-list", "addr-sync", "route-list", "route-get",
                                               "route-sync", "rule-list", "rule-sync", "time-wait", "wg-get",
                                               "nft-table", "firewall-dump", "rtnl-monitor", "nft-monitor" };

#define FAKE_PORTID 4242U

/* The kernel as the input tells it. */
static struct {
        const uint8_t *data;
        size_t size;
        bool raw;         /* the sequence numbers and ports as given */
        bool nftables;    /* the reads are nftables messages (libnftnl parses them) */
        uint32_t seq;     /* the last request's */
} kernel;

/* Recording: the real libmnl is called and what it reads is kept here. */
static bool recording;
static FILE *record;

static int fake_socket; /* the address the fake struct mnl_socket * points at */

#define REAL(name) ((__typeof__(&name)) dlsym(RTLD_NEXT, #name))

/* libnftnl ends the process on an nftables attribute of the wrong type (exit(): "nf_tables
 * kernel ABI is broken") and trusts some attributes to be there (1.2.4 dereferences a rule
 * expression's missing name): the kernel is the one writer it expects. Each read of nftables
 * messages is first parsed by libnftnl alone in a child; one it dies on is not given (pic-celld
 * would die too, and be started again: libnftnl's, not ours to fix). */
static bool in_child;

void exit(int status) {
        if (in_child)
                _exit(1);
        REAL(exit)(status);
        __builtin_unreachable();
}

static void child_death(void) {
        _exit(2);
}

static bool libnftnl_survives(const void *buf, size_t len) {
        pid_t pid = fork();
        if (pid < 0)
                abort();
        if (pid == 0) {
                in_child = true;
                __sanitizer_set_death_callback(child_death);
                int n = (int) len;
                /* pic-celld's callbacks parse what comes as what they asked for, whatever its type */
                for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, n); nlh = mnl_nlmsg_next(nlh, &n)) {
                        if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
                                continue;
                        (void) nftnl_table_nlmsg_parse(nlh, nftnl_table_alloc());
                        (void) nftnl_chain_nlmsg_parse(nlh, nftnl_chain_alloc());
                        (void) nftnl_rule_nlmsg_parse(nlh, nftnl_rule_alloc());
                        (void) nftnl_set_nlmsg_parse(nlh, nftnl_set_alloc());
                        (void) nftnl_set_elems_nlmsg_parse(nlh, nftnl_set_alloc());
                }
                _exit(0);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        perror("waitpid");
                        abort();
                }
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

struct mnl_socket *mnl_socket_open2(int bus, int flags) {
        if (recording)
                return REAL(mnl_socket_open2)(bus, flags);
        return (struct mnl_socket *) &fake_socket;
}

int mnl_socket_bind(struct mnl_socket *nl, unsigned int groups, pid_t pid) {
        return recording ? REAL(mnl_socket_bind)(nl, groups, pid) : 0;
}

int mnl_socket_close(struct mnl_socket *nl) {
        return recording ? REAL(mnl_socket_close)(nl) : 0;
}

int mnl_socket_setsockopt(const struct mnl_socket *nl, int type, void *buf, socklen_t len) {
        return recording ? REAL(mnl_socket_setsockopt)(nl, type, buf, len) : 0;
}

unsigned int mnl_socket_get_portid(const struct mnl_socket *nl) {
        return recording ? REAL(mnl_socket_get_portid)(nl) : FAKE_PORTID;
}

int mnl_socket_get_fd(const struct mnl_socket *nl) {
        return recording ? REAL(mnl_socket_get_fd)(nl) : -1;
}

ssize_t mnl_socket_sendto(const struct mnl_socket *nl, const void *buf, size_t len) {
        if (recording)
                return REAL(mnl_socket_sendto)(nl, buf, len);
        if (len >= sizeof(struct nlmsghdr))
                kernel.seq = ((const struct nlmsghdr *) buf)->nlmsg_seq;
        return (ssize_t) len;
}

static void put_read(FILE *f, const void *buf, size_t n) {
        uint8_t len[2] = { (uint8_t) (n & 0xff), (uint8_t) (n >> 8) };
        if (fwrite(len, 1, 2, f) != 2 || fwrite(buf, 1, n, f) != n)
                abort();
}

/* The next read: its length (0 when there is none left) and where it is. */
static const uint8_t *next_read(size_t *ret_len) {
        if (kernel.size < 2) {
                *ret_len = 0;
                return NULL;
        }
        size_t len = kernel.data[0] | (size_t) kernel.data[1] << 8;
        kernel.data += 2, kernel.size -= 2;
        if (len > kernel.size)
                len = kernel.size;
        const uint8_t *p = kernel.data;
        kernel.data += len, kernel.size -= len;
        *ret_len = len;
        return p;
}

ssize_t mnl_socket_recvfrom(const struct mnl_socket *nl, void *buf, size_t bufsiz) {
        if (recording) {
                ssize_t n = REAL(mnl_socket_recvfrom)(nl, buf, bufsiz);
                if (record && n > 0 && n <= 0xffff)
                        put_read(record, buf, (size_t) n);
                return n;
        }
        size_t len;
        const uint8_t *p = next_read(&len);
        if (!p) {
                errno = EAGAIN;
                return -1;
        }
        len = len < bufsiz ? len : bufsiz;
        memcpy(buf, p, len);
        if (!kernel.raw) /* what the kernel would write: the request's sequence number, our port */
                for (size_t off = 0; off + sizeof(struct nlmsghdr) <= len;) {
                        struct nlmsghdr *nlh = (struct nlmsghdr *) ((uint8_t *) buf + off);
                        nlh->nlmsg_seq = kernel.seq;
                        nlh->nlmsg_pid = FAKE_PORTID;
                        if (nlh->nlmsg_len < sizeof *nlh || nlh->nlmsg_len > len - off)
                                break;
                        off += NLMSG_ALIGN(nlh->nlmsg_len);
                }
        if (kernel.nftables && netlink_read_valid(buf, len) && !libnftnl_survives(buf, len)) {
                kernel.size = 0;
                errno = EAGAIN;
                return -1;
        }
        return (ssize_t) len;
}

static void check_prefix(int family, unsigned prefixlen) {
        if ((family != AF_INET && family != AF_INET6) || prefixlen > (family == AF_INET ? 32U : 128U))
                abort();
}

static Firewall *firewall_make(void) {
        FirewallConfig c = { .wg_ifname = "picwg0", .uplink_ifname = "lo",
                             .vpn_subnet = { .addr = 0x0a3c0000, .prefix = 24 }, .vpn_address = 0x0a3c0001 };
        Firewall *f = NULL;
        if (firewall_new(&f, &c) < 0)
                abort();
        return f;
}

/* The monitors read their own sockets: one filled with the reads, as datagrams. */
static int monitor_socket(void) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
                abort();
        size_t len;
        const uint8_t *p;
        while ((p = next_read(&len))) {
                void *copy = malloc(len ?: 1); /* aligned, as a read is */
                if (!copy)
                        abort();
                memcpy(copy, p, len);
                bool give = len > 0 && (!kernel.nftables || !netlink_read_valid(copy, len) || libnftnl_survives(copy, len));
                ssize_t k = give ? send(sv[1], copy, len, MSG_DONTWAIT) : 0;
                free(copy);
                if (k < 0)
                        break; /* full: the rest is lost, as the kernel would lose it */
        }
        close(sv[1]);
        return sv[0];
}

static void run_op(unsigned op, int family) {
        static const RtnlRoute want_route = { .family = AF_INET, .dst_prefixlen = 16, .dst.ip4.s_addr = 0x0000630a,
                                              .oif = 1, .table = 100, .protocol = RTNL_PROTO_PIC };
        static const RtnlRule want_rule = { .family = AF_INET, .priority = 1000, .table = 100, .has_fwmark = true,
                                            .fwmark = 0x100, .protocol = RTNL_PROTO_PIC };
        struct in_addr a4 = { .s_addr = htonl(0x0a3c0001) };
        struct in6_addr a6 = { .s6_addr = { 0xfd, 0, 0x60, [15] = 1 } };
        const void *addr = family == AF_INET ? (const void *) &a4 : (const void *) &a6;
        RtnlAddress *addrs = NULL;
        RtnlRoute *routes = NULL, route;
        RtnlRule *rules = NULL;
        size_t n = 0;
        int r;

        switch (op) {
        case OP_LINK_INDEX:
                r = rtnl_link_index("lo");
                if (r == 0)
                        abort();
                break;
        case OP_ADDR_LIST:
                if (rtnl_addr_list(1, family, &addrs, &n) >= 0)
                        for (size_t i = 0; i < n; i++)
                                check_prefix(addrs[i].family, addrs[i].prefixlen);
                free(addrs);
                break;
        case OP_ADDR_SYNC:
                (void) rtnl_addr_sync(1, family, addr, family == AF_INET ? 24 : 64);
                break;
        case OP_ROUTE_LIST:
                if (rtnl_route_list(family, 0, &routes, &n) >= 0)
                        for (size_t i = 0; i < n; i++)
                                check_prefix(routes[i].family, routes[i].dst_prefixlen);
                free(routes);
                break;
        case OP_ROUTE_GET:
                if (rtnl_route_get(family, addr, NULL, 0, &route) >= 0)
                        check_prefix(route.family, route.dst_prefixlen);
                break;
        case OP_ROUTE_SYNC:
                (void) rtnl_route_sync(AF_INET, 100, RTNL_PROTO_PIC, &want_route, 1);
                break;
        case OP_RULE_LIST:
                if (rtnl_rule_list(family, &rules, &n) >= 0)
                        for (size_t i = 0; i < n; i++)
                                check_prefix(rules[i].family, rules[i].src_prefixlen);
                free(rules);
                break;
        case OP_RULE_SYNC:
                (void) rtnl_rule_sync(AF_INET, RTNL_PROTO_PIC, &want_rule, 1);
                break;
        case OP_TIME_WAIT:
                (void) tcp_time_wait_release(0xc0000201, 8080);
                break;
        case OP_WG_GET: {
                WgDevice *d = NULL;
                if (wg_genl_get_device("picwg0", &d) >= 0) {
                        for (const WgPeer *p = d->peers; p; p = p->next)
                                for (const WgAllowedIp *ip = p->allowed_ips; ip; ip = ip->next)
                                        check_prefix(ip->family, ip->cidr);
                        wg_device_free(d);
                }
                break;
        }
        case OP_NFT_TABLE:
                r = nft_table_exists(NFPROTO_INET, FIREWALL_TABLE);
                if (r > 1)
                        abort();
                break;
        case OP_FIREWALL_DUMP: {
                Firewall *f = firewall_make();
                char *text = NULL;
                if (firewall_dump(f, &text) >= 0 && !text)
                        abort();
                free(text);
                firewall_free(f);
                break;
        }
        case OP_RTNL_MONITOR: {
                int fd = monitor_socket();
                if (rtnl_monitor_drain(fd) > 1)
                        abort();
                close(fd);
                break;
        }
        case OP_NFT_MONITOR: {
                int fd = monitor_socket();
                bool gone = false;
                (void) firewall_monitor_process(fd, &gone);
                close(fd);
                break;
        }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2 || size > 1024 * 1024)
                return 0;
        unsigned op = data[0] % _OP_MAX;
        kernel.raw = data[1] & 1;
        int family = data[1] & 2 ? AF_INET6 : AF_INET;
        kernel.data = data + 2, kernel.size = size - 2;
        kernel.seq = 0;
        kernel.nftables = op == OP_NFT_TABLE || op == OP_FIREWALL_DUMP || op == OP_NFT_MONITOR;
        run_op(op, family);
        return 0;
}

/* --- recording the real kernel's answers --- */

static void record_op(const char *dir, const char *suffix, unsigned op, int family) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s%s", dir, op_names[op], suffix);
        record = fopen(path, "we");
        if (!record)
                abort();
        fputc((int) op, record);
        fputc(family == AF_INET6 ? 2 : 0, record);
        run_op(op, family);
        if (fclose(record) != 0)
                abort();
        record = NULL;
}

/* A monitor's events, made as the kernel sends them: the table's deletion, a route's. */
static void write_events(const char *dir) {
        char path[4096], buf[8192] = {};
        struct nftnl_table *t = nftnl_table_alloc();
        if (!t)
                abort();
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, FIREWALL_TABLE);
        struct nlmsghdr *nlh = nftnl_table_nlmsg_build_hdr(buf, NFT_MSG_DELTABLE, NFPROTO_INET, 0, 1);
        nftnl_table_nlmsg_build_payload(nlh, t);
        nftnl_table_free(t);
        snprintf(path, sizeof path, "%s/nft-monitor-deltable", dir);
        FILE *f = fopen(path, "we");
        if (!f)
                abort();
        fputc(OP_NFT_MONITOR, f);
        fputc(1, f);
        put_read(f, nlh, nlh->nlmsg_len);
        if (fclose(f) != 0)
                abort();

        memset(buf, 0, sizeof buf);
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_NEWROUTE;
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
        *rtm = (struct rtmsg) { .rtm_family = AF_INET, .rtm_dst_len = 16, .rtm_table = 100,
                                .rtm_protocol = RTNL_PROTO_PIC, .rtm_type = RTN_UNICAST };
        mnl_attr_put_u32(nlh, RTA_DST, 0x0000630a);
        mnl_attr_put_u32(nlh, RTA_OIF, 1);
        snprintf(path, sizeof path, "%s/rtnl-monitor-newroute", dir);
        f = fopen(path, "we");
        if (!f)
                abort();
        fputc(OP_RTNL_MONITOR, f);
        fputc(1, f);
        put_read(f, nlh, nlh->nlmsg_len);
        if (fclose(f) != 0)
                abort();
}

static void record_all(const char *dir) {
        recording = true;
        if (rtnl_link_set_up(1, true) < 0)
                abort();
        /* the syncs first: what they make, the lists find */
        for (int round = 0; round < 2; round++) {
                const char *suffix = round == 0 ? "-changes" : "-unchanged";
                record_op(dir, suffix, OP_ADDR_SYNC, AF_INET);
                record_op(dir, suffix, OP_ROUTE_SYNC, AF_INET);
                record_op(dir, suffix, OP_RULE_SYNC, AF_INET);
        }
        record_op(dir, "-v6", OP_ADDR_SYNC, AF_INET6);
        Firewall *f = firewall_make();
        if (firewall_apply(f, NULL, 0) < 0)
                abort();
        firewall_free(f);

        static const unsigned ops[] = { OP_LINK_INDEX, OP_ADDR_LIST, OP_ROUTE_LIST, OP_ROUTE_GET, OP_RULE_LIST,
                                        OP_TIME_WAIT, OP_WG_GET, OP_NFT_TABLE, OP_FIREWALL_DUMP };
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
                record_op(dir, "", ops[i], AF_INET);
                if (ops[i] == OP_ADDR_LIST || ops[i] == OP_ROUTE_LIST || ops[i] == OP_RULE_LIST)
                        record_op(dir, "-v6", ops[i], AF_INET6);
        }
        write_events(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        const char *dir = getenv("PIC_FUZZ_RECORD");
        if (dir) {
                record_all(dir);
                exit(EXIT_SUCCESS);
        }
        if (getenv("PIC_FUZZ_SEEDS"))
                exit(EXIT_SUCCESS); /* the seeds are in tests/fuzz/corpus/fuzz-netlink, recorded */
        signal(SIGCHLD, SIG_DFL); /* libnftnl_survives() waits for its child */
        return 0;
}
