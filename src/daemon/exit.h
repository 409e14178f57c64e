/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An internet exit (dbus/org.pic.Cell1.Exit.xml): a way out to the internet
 * other than the cell's uplink, chosen per peer. Stored as
 * STATE/exits/<name>.json (0600: the settings hold a private key). Model
 * code: no bus, no kernel here; exit-wg.c runs it, exit-steer.c steers to it. */

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "exit/ovpn-mgmt.h"
#include "exit/ovpn.h"
#include "exit/ssh-settings.h"
#include "exit/wg-quick.h"
#include "macro.h"
#include "names.h"
#include "proxy-url.h"

typedef struct Manager Manager;

typedef enum ExitType {
        EXIT_TYPE_WIREGUARD,
        EXIT_TYPE_CELL,       /* a linked cell's uplink, offered by it (exit-cell.c) */
        EXIT_TYPE_OPENVPN,
        EXIT_TYPE_TOR,        /* TCP-only: its peers' TCP and DNS go to tor's TransPort and DNSPort */
        EXIT_TYPE_PROXY,      /* TCP-only: through redsocks and pic-exit-proxy to a SOCKS5 or HTTP proxy */
        EXIT_TYPE_SSHUTTLE,   /* TCP-only: sshuttle to an SSH server, its DNS through pic-exit-proxy */
        _EXIT_TYPE_MAX,
        _EXIT_TYPE_INVALID = -1,
} ExitType;

/* 1…EXIT_NUMBER_MAX: an exit's number names its mark, table and interface. */
#define EXIT_NUMBER_MAX 64
#define EXIT_DEFAULT_TEST_TARGET "1.1.1.1:443"
#define EXIT_FRESH_USEC (180ULL * 1000000ULL) /* WireGuard rekeys every 2 minutes while in use */
#define EXIT_LOCAL_PORT_BASE 9040U /* a TCP-only exit N's ports: 9040 + 2(N-1) (TCP) and the next (DNS) */
#define EXIT_RESOLVERS_MAX 4
#define EXIT_DEFAULT_RESOLVERS "1.1.1.1", "9.9.9.9" /* a proxy exit's, when none are given */

typedef enum ExitState {
        EXIT_STARTING,
        EXIT_UP,
        EXIT_DOWN,
        EXIT_FAILED,
} ExitState;

/* What pic-celld knows of the unit (or kernel interface) that serves it. */
typedef enum ExitRunner {
        EXIT_RUNNER_STOPPED,  /* not started, or the unit is inactive */
        EXIT_RUNNER_STARTING, /* the unit is starting or restarting, or the tunnel is not configured yet */
        EXIT_RUNNER_RUNNING,  /* the tunnel is configured */
        EXIT_RUNNER_FAILED,   /* the unit failed, or configuring the tunnel did */
} ExitRunner;

typedef struct Exit {
        Manager *manager;
        char name[PEER_NAME_MAX + 1];
        char *object_path;
        ExitType type;
        unsigned number;
        uint64_t created_usec;
        char *config_text;    /* wireguard, openvpn: the file as given: secret */
        OvpnConfig ovpn;      /* openvpn: parsed from it */
        WgQuickConfig config; /* parsed from it; cell: made from the link (exit_set_cell_config) */
        WgKey cell_private_key; /* cell: its tunnel's own key (stored; secret) */
        char *proxy_text;     /* proxy: the URL as given (secret: it may hold credentials) */
        ProxyUrl proxy;       /* proxy: parsed from it */
        char **resolvers;     /* proxy: where its peers' DNS is resolved, through the proxy; sshuttle: the
                               * server's resolver to use (NULL: the server's own) */
        char *ssh_key_text;   /* sshuttle: its private key (secret) */
        char *ssh_target_text; /* sshuttle: user@address[:port] */
        SshTarget ssh_target;
        char *host_key;       /* sshuttle: the server's public key, "TYPE BASE64" */
        char *test_target;    /* "a.b.c.d:port" */

        /* running it (exit-wg.c): not stored */
        char ifname[IFNAMSIZ];
        char unit[PEER_NAME_MAX + 32];
        bool kernel;          /* a kernel WireGuard interface, no unit */
        bool running;         /* started (exit_wg_start) and not stopped since */
        ExitRunner runner;
        char *last_error;
        int configured_ifindex; /* the interface configured last: another one is a restarted process */
        uint64_t latest_handshake_usec, rx_bytes, tx_bytes;
        bool tunnel_connected;  /* openvpn: its management interface says CONNECTED; tor, proxy: its ports listen */
        bool program_down;      /* proxy: its program says it cannot serve (LastError says why) */
        OvpnStatus ovpn_status; /* openvpn: what it said last */
        int mgmt_fd;            /* openvpn: its management socket, -1: not connected */
        struct sd_event_source *mgmt_source;
        char mgmt_buf[OVPN_MGMT_LINE_MAX + 2];
        size_t mgmt_len;
        ExitState announced_state;
        bool open;            /* its peers' traffic may leave (firewall exit_paths) */
        struct sd_bus_slot *unit_match, *unit_call;
        struct sd_event_source *poll_timer;
        struct ExitTest *tests;
} Exit;

Exit *exit_free(Exit *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Exit *, exit_free);
int exit_new(const char *name, ExitType type, unsigned number, Exit **ret);

const char *exit_type_to_string(ExitType t);
ExitType exit_type_from_string(const char *s);
const char *exit_state_to_string(ExitState s);

/* Replaces the settings (a wg-quick file, an .ovpn file, per its type) after
 * checking them; -EINVAL with a message (never a key's value) in buf, and e
 * unchanged. */
int exit_set_config(Exit *e, const char *text, char *buf, size_t size);
/* An exit of type cell: the tunnel to the linked cell at endpoint (an address
 * and port) with its WireGuard key, from this cell's address in its subnet,
 * resolving through its DNS address. */
typedef struct ExitCellSettings {
        const WgKey *peer_key;
        const char *endpoint;
        uint32_t address;
        const char *dns;
} ExitCellSettings;
int exit_set_cell_config(Exit *e, const ExitCellSettings *s);

/* proxy: its URL (proxy-url.h) and resolvers (1…EXIT_RESOLVERS_MAX IPv4
 * addresses; NULL: the defaults); -EINVAL with a message, e unchanged. */
int exit_set_proxy(Exit *e, const char *url, char **resolvers, char *buf, size_t size);

/* sshuttle: its server, key and the server's host key (ssh-settings.h) and
 * at most one resolver (NULL: the server's own); -EINVAL with a message, e
 * unchanged. */
typedef struct ExitSshSettings {
        const char *target, *key, *host_key;
        char **resolvers;
} ExitSshSettings;
int exit_set_sshuttle(Exit *e, const ExitSshSettings *s, char *buf, size_t size);

/* "a.b.c.d:port"; -EINVAL with a message. */
int exit_set_test_target(Exit *e, const char *target, char *buf, size_t size);

/* A TCP-only exit (tor, proxy, sshuttle) has local ports instead of a tunnel: 0 for the others. */
bool exit_is_tcp_only(ExitType t);
uint16_t exit_tcp_port(const Exit *e);
uint16_t exit_dns_port(const Exit *e);
/* It takes a file (wireguard, openvpn): AddExit's Config. */
bool exit_takes_config(ExitType t);

/* The state from what is known of its runner and its last handshake. */
ExitState exit_state(const Exit *e, uint64_t now_usec);

/* The exit's tunnel address (first IPv4 Address) as an address and prefix, and its IPv4 resolvers. */
int exit_tunnel_address(const Exit *e, uint32_t *ret_addr, uint8_t *ret_prefix);
size_t exit_dns_servers(const Exit *e, uint32_t *ret, size_t max);

int exit_to_json(const Exit *e, char **ret);
/* -EINVAL with a message in buf when the text is not an exit. */
int exit_from_json(const char *text, Exit **ret, char *buf, size_t size);
