/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing WG_CMD_GET_DEVICE replies into a WgDevice (wg-genl.h); the messages
 * and the socket are wg-genl.c's. */

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "keys.h"
#include "log.h"
#include "macro.h"
#include "wg-genl.h"

/* ---- parsing WG_CMD_GET_DEVICE replies ---- */

typedef int (*AttributeHandler)(const struct nlattr *attr, void *userdata);

/* Unlike mnl_attr_parse(), which stops silently at a broken attribute, a
 * length that overruns its container or leftover bytes are an error here. */
static int for_each_attribute(const void *data, size_t len, AttributeHandler handler, void *userdata) {
        const uint8_t *p = data;

        while (len > 0) {
                const struct nlattr *attr = (const struct nlattr *) p;
                size_t step;
                int r;

                if (len < sizeof(struct nlattr) || attr->nla_len < sizeof(struct nlattr) || attr->nla_len > len)
                        return -EBADMSG;

                r = handler(attr, userdata);
                if (r < 0)
                        return r;

                step = MNL_ALIGN(attr->nla_len);
                if (step >= len)
                        break;
                p += step;
                len -= step;
        }
        return 0;
}

static int for_each_nested(const struct nlattr *attr, AttributeHandler handler, void *userdata) {
        return for_each_attribute(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr), handler, userdata);
}

static int attribute_copy(const struct nlattr *attr, void *dest, size_t size) {
        if (mnl_attr_get_payload_len(attr) != size)
                return -EBADMSG;
        memcpy(dest, mnl_attr_get_payload(attr), size);
        return 0;
}

typedef struct AllowedIpAttributes {
        bool has_family, has_address, has_cidr;
        uint16_t family;
        uint8_t address[16];
        size_t address_len;
        uint8_t cidr;
} AllowedIpAttributes;

static int parse_allowed_ip_attribute(const struct nlattr *attr, void *userdata) {
        AllowedIpAttributes *a = userdata;
        size_t len = mnl_attr_get_payload_len(attr);

        switch (mnl_attr_get_type(attr)) {
        case WGALLOWEDIP_A_FAMILY:
                a->has_family = true;
                return attribute_copy(attr, &a->family, sizeof(a->family));
        case WGALLOWEDIP_A_IPADDR:
                if (len != 4 && len != 16)
                        return -EBADMSG;
                a->has_address = true;
                a->address_len = len;
                return attribute_copy(attr, a->address, len);
        case WGALLOWEDIP_A_CIDR_MASK:
                a->has_cidr = true;
                return attribute_copy(attr, &a->cidr, sizeof(a->cidr));
        default:
                return 0;
        }
}

static int parse_allowed_ip(const struct nlattr *attr, void *userdata) {
        WgPeer *peer = userdata;
        AllowedIpAttributes a = {};
        int r;

        r = for_each_nested(attr, parse_allowed_ip_attribute, &a);
        if (r < 0)
                return r;

        if (!a.has_family || !a.has_address || !a.has_cidr)
                return -EBADMSG;
        if (!(a.family == AF_INET && a.address_len == 4 && a.cidr <= 32) &&
            !(a.family == AF_INET6 && a.address_len == 16 && a.cidr <= 128))
                return -EBADMSG;

        if (!wg_peer_append_allowed_ip(peer, a.family, a.address, a.cidr))
                return -ENOMEM;
        return 0;
}

static int parse_endpoint(const struct nlattr *attr, WgEndpoint *ret) {
        size_t len = mnl_attr_get_payload_len(attr);
        sa_family_t family;

        if (len < sizeof(family))
                return -EBADMSG;
        memcpy(&family, mnl_attr_get_payload(attr), sizeof(family));

        *ret = (WgEndpoint) {};
        if (family == AF_INET && len == sizeof(ret->addr4))
                memcpy(&ret->addr4, mnl_attr_get_payload(attr), len);
        else if (family == AF_INET6 && len == sizeof(ret->addr6))
                memcpy(&ret->addr6, mnl_attr_get_payload(attr), len);
        else
                return -EBADMSG;
        return 0;
}

static int parse_handshake_time(const struct nlattr *attr, uint64_t *ret) {
        struct __kernel_timespec ts;
        int r;

        r = attribute_copy(attr, &ts, sizeof(ts));
        if (r < 0)
                return r;
        if (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000LL)
                return -EBADMSG;

        if (ts.tv_sec <= 0)
                *ret = 0;
        else
                *ret = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
        return 0;
}

static int parse_peer_attribute(const struct nlattr *attr, void *userdata) {
        WgPeer *p = userdata;
        int r;

        switch (mnl_attr_get_type(attr)) {
        case WGPEER_A_PUBLIC_KEY:
                r = attribute_copy(attr, p->public_key, WG_KEY_LEN);
                if (r < 0)
                        return r;
                p->flags |= WG_PEER_HAS_PUBLIC_KEY;
                return 0;
        case WGPEER_A_PRESHARED_KEY:
                r = attribute_copy(attr, p->preshared_key, WG_KEY_LEN);
                if (r < 0)
                        return r;
                /* the kernel always sends one; all zeros means none is set */
                if (!key_is_zero(p->preshared_key))
                        p->flags |= WG_PEER_HAS_PRESHARED_KEY;
                return 0;
        case WGPEER_A_ENDPOINT:
                r = parse_endpoint(attr, &p->endpoint);
                if (r < 0)
                        return r;
                p->flags |= WG_PEER_HAS_ENDPOINT;
                return 0;
        case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
                r = attribute_copy(attr, &p->persistent_keepalive, sizeof(p->persistent_keepalive));
                if (r < 0)
                        return r;
                p->flags |= WG_PEER_HAS_PERSISTENT_KEEPALIVE;
                return 0;
        case WGPEER_A_LAST_HANDSHAKE_TIME:
                return parse_handshake_time(attr, &p->last_handshake_usec);
        case WGPEER_A_RX_BYTES:
                return attribute_copy(attr, &p->rx_bytes, sizeof(p->rx_bytes));
        case WGPEER_A_TX_BYTES:
                return attribute_copy(attr, &p->tx_bytes, sizeof(p->tx_bytes));
        case WGPEER_A_ALLOWEDIPS:
                return for_each_nested(attr, parse_allowed_ip, p);
        default:
                return 0;
        }
}

static int parse_peer(const struct nlattr *attr, void *userdata) {
        WgDevice *peers = userdata;
        WgPeer *p;
        int r;

        p = wg_device_append_peer(peers);
        if (!p)
                return -ENOMEM;

        r = for_each_nested(attr, parse_peer_attribute, p);
        if (r < 0)
                return r;
        if (!(p->flags & WG_PEER_HAS_PUBLIC_KEY))
                return -EBADMSG;
        return 0;
}

typedef struct DeviceMessage {
        WgDevice *dev;
        WgDevice *peers; /* this message's peers, spliced onto dev when all parsed */
} DeviceMessage;

static int parse_device_attribute(const struct nlattr *attr, void *userdata) {
        DeviceMessage *m = userdata;
        WgDevice *dev = m->dev;
        int r;

        switch (mnl_attr_get_type(attr)) {
        case WGDEVICE_A_IFINDEX:
                return attribute_copy(attr, &dev->ifindex, sizeof(dev->ifindex));
        case WGDEVICE_A_IFNAME: {
                const char *s = mnl_attr_get_payload(attr);
                size_t len = mnl_attr_get_payload_len(attr), n = strnlen(s, len);

                if (n == len || n == 0 || n >= sizeof(dev->name))
                        return -EBADMSG;
                memcpy(dev->name, s, n + 1);
                return 0;
        }
        case WGDEVICE_A_PRIVATE_KEY:
                r = attribute_copy(attr, dev->private_key, WG_KEY_LEN);
                if (r < 0)
                        return r;
                dev->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
                return 0;
        case WGDEVICE_A_PUBLIC_KEY:
                r = attribute_copy(attr, dev->public_key, WG_KEY_LEN);
                if (r < 0)
                        return r;
                dev->flags |= WG_DEVICE_HAS_PUBLIC_KEY;
                return 0;
        case WGDEVICE_A_LISTEN_PORT:
                r = attribute_copy(attr, &dev->listen_port, sizeof(dev->listen_port));
                if (r < 0)
                        return r;
                dev->flags |= WG_DEVICE_HAS_LISTEN_PORT;
                return 0;
        case WGDEVICE_A_FWMARK:
                r = attribute_copy(attr, &dev->fwmark, sizeof(dev->fwmark));
                if (r < 0)
                        return r;
                dev->flags |= WG_DEVICE_HAS_FWMARK;
                return 0;
        case WGDEVICE_A_PEERS:
                return for_each_nested(attr, parse_peer, m->peers);
        default:
                return 0;
        }
}

/* Folds the continuation of a peer (its key and more allowed IPs, as the kernel
 * sends it after a split) into the part already read. */
static void merge_peer(WgPeer *into, WgPeer *from) {
        WgAllowedIp **tail = &into->allowed_ips;

        while (*tail)
                tail = &(*tail)->next;
        *tail = from->allowed_ips;
        from->allowed_ips = NULL;

        if (from->flags & WG_PEER_HAS_PRESHARED_KEY)
                memcpy(into->preshared_key, from->preshared_key, WG_KEY_LEN);
        if (from->flags & WG_PEER_HAS_ENDPOINT)
                into->endpoint = from->endpoint;
        if (from->flags & WG_PEER_HAS_PERSISTENT_KEEPALIVE)
                into->persistent_keepalive = from->persistent_keepalive;
        if (from->last_handshake_usec != 0)
                into->last_handshake_usec = from->last_handshake_usec;
        if (from->rx_bytes != 0)
                into->rx_bytes = from->rx_bytes;
        if (from->tx_bytes != 0)
                into->tx_bytes = from->tx_bytes;
        into->flags |= from->flags;
}

int wg_genl_parse_device_message(const struct nlmsghdr *nlh, WgDevice *dev) {
        _cleanup_(wg_device_freep) WgDevice *peers = NULL;
        const struct genlmsghdr *genl;
        WgPeer *last, *first;
        size_t header_len = MNL_NLMSG_HDRLEN + MNL_ALIGN(GENL_HDRLEN);
        int r;

        if (!nlh || !dev)
                return -EINVAL;
        if (nlh->nlmsg_len < header_len)
                return -EBADMSG;
        genl = mnl_nlmsg_get_payload(nlh);
        if (genl->cmd != WG_CMD_GET_DEVICE)
                return -EBADMSG;

        peers = calloc(1, sizeof(WgDevice));
        if (!peers)
                return -ENOMEM;

        r = for_each_attribute((const uint8_t *) nlh + header_len, nlh->nlmsg_len - header_len,
                               parse_device_attribute, &(DeviceMessage) { .dev = dev, .peers = peers });
        if (r < 0)
                return r;

        first = peers->peers;
        if (!first)
                return 0;

        last = dev->last_peer;
        if (!last || last->next) /* not maintained (list built by hand): find the end */
                for (last = dev->peers; last && last->next; last = last->next)
                        ;

        if (last && memcmp(last->public_key, first->public_key, WG_KEY_LEN) == 0) {
                merge_peer(last, first);
                last->next = first->next;
                if (first->next)
                        last = peers->last_peer;
                /* the emptied continuation stays behind in peers and is freed with it */
                first->next = NULL;
                peers->last_peer = first;
        } else {
                if (last)
                        last->next = first;
                else
                        dev->peers = first;
                last = peers->last_peer;
                peers->peers = peers->last_peer = NULL;
        }

        dev->last_peer = last;
        return 0;
}
