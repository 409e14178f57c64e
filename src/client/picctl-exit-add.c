/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picctl exit add and exit update: an exit's settings from the command line, files and standard input,
 * checked roughly (the daemon has the last word), into AddExit's and Exit.Update's a{sv}. What may be
 * secret (a file with a private key, a proxy's password, an SSH key) is never quoted and is wiped once sent. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "exit/ssh-settings.h"
#include "picctl.h"
#include "picctl-exit.h"
#include "picctl-input.h"
#include "picctl-peer.h"
#include "proxy-url.h"
#include "strv.h"

/* --- reading what the options name --- */

/* The text file @file ("-": standard input) of at most @max bytes; @kind is what it should be. */
static int read_text_input(const char *file, size_t max, const char *kind, char **ret) {
        const char *what = streq(file, "-") ? "standard input" : file;
        size_t offset = 0;
        int r = read_text_file(file, max, ret, &offset);

        if (r == -EFBIG)
                return report_error(r, "%s is longer than %zu bytes: not %s", what, max, kind);
        if (r == -ENODATA)
                return report_error(r, "%s is empty: expected %s", what, kind);
        if (r == -EBADMSG)
                return report_error(r, "%s is not a text file: byte %zu is a control character or not UTF-8",
                                    what, offset);
        if (r < 0)
                return report_error(r, "cannot read %s: %s", what, strerror(-r));
        return 0;
}

/* What read_line_file() refused, never quoting the line; @kind is what it should have been. */
static int report_line_error(int r, const char *what, size_t max, const char *kind) {
        if (r == -EFBIG)
                return report_error(r, "the first line of %s is longer than %zu characters: expected %s", what, max,
                                    kind);
        if (r == -ENODATA)
                return report_error(r, "the first line of %s is empty: expected %s", what, kind);
        if (r == -EBADMSG)
                return report_error(r, "the first line of %s is not printable ASCII: expected %s", what, kind);
        return report_error(r, "cannot read %s: %s", what, strerror(-r));
}

/* The proxy URL: --proxy's own value, or the first line of standard input (--proxy -) or of
 * --proxy-file. Never quoted in a message: it may hold a password. */
static int read_proxy(const char *arg, const char *file, char **ret) {
        if (arg && !streq(arg, "-")) {
                *ret = strdup(arg);
                return *ret ? 0 : report_error(-ENOMEM, "out of memory");
        }
        const char *path = file ?: "-", *what = streq(path, "-") ? "standard input" : path;
        int r = read_line_file(path, PROXY_URL_MAX, ret);

        if (r == -EBADMSG)
                return report_error(r, "the first line of %s is not printable ASCII: not a proxy URL "
                                    "(percent-encode the user and password)", what);
        if (r < 0)
                return report_line_error(r, what, PROXY_URL_MAX, "a proxy URL such as socks5://192.0.2.10:1080");
        if (!proxy_url_plausible(*ret))
                return report_error(-EINVAL, "the first line of %s is not a socks5://… or http://… URL", what);
        return 0;
}

/* The SSH server's public key as "TYPE BASE64": --host-key's own value, or the first line of
 * --host-key-file (a .pub file; "-": standard input), its comment dropped. */
static int read_host_key(const char *arg, const char *file, char **ret) {
        _cleanup_(freep) char *line = NULL;
        const char *what = file && streq(file, "-") ? "standard input" : file;

        if (file) {
                int r = read_line_file(file, SSH_HOST_KEY_MAX, &line);
                if (r < 0)
                        return report_line_error(r, what, SSH_HOST_KEY_MAX,
                                                 "a public key such as 'ssh-ed25519 AAAA…'");
        }
        size_t n = public_key_prefix_len(line ?: arg);
        if (n == 0)
                return report_error(-EINVAL, "%s%s is not a public key: expected its type, a space and the key in "
                                    "base64, as in a .pub file", file ? "the first line of " : "",
                                    file ? what : "--host-key");
        *ret = strndup(line ?: arg, n);
        return *ret ? 0 : report_error(-ENOMEM, "out of memory");
}

/* --- the a{sv} --- */

/* What AddExit and Exit.Update are sent; NULL or empty: not given. */
typedef struct ExitSettings {
        char *config, *proxy, *ssh_key, *host_key; /* read from files or standard input; wiped */
        const char *target, *test_target;
        char **dns;
} ExitSettings;

static void exit_settings_done(ExitSettings *s) {
        erase_and_freep(&s->config);
        erase_and_freep(&s->proxy);
        erase_and_freep(&s->ssh_key);
        free(s->host_key);
}

/* The files, proxy URL and keys the command line names, read and roughly checked. */
static int exit_settings_read(const ExitInput *in, ExitSettings *s) {
        int r = 0;

        *s = (ExitSettings) { .target = in->target, .test_target = in->test_target, .dns = (char **) in->dns };
        if (in->config)
                r = read_text_input(in->config, TEXT_INPUT_MAX, "a wg-quick or .ovpn file", &s->config);
        if (r >= 0 && (in->proxy || in->proxy_file))
                r = read_proxy(in->proxy, in->proxy_file, &s->proxy);
        if (r >= 0 && in->ssh_key) /* only its size and that it is text: the daemon reads the key */
                r = read_text_input(in->ssh_key, SSH_KEY_TEXT_MAX, "an OpenSSH private key", &s->ssh_key);
        if (r >= 0 && (in->host_key || in->host_key_file))
                r = read_host_key(in->host_key, in->host_key_file, &s->host_key);
        return r;
}

static int append_exit_settings(sd_bus_message *m, const ExitSettings *s) {
        const struct { const char *key, *value; } strings[] = {
                { "Config", s->config }, { "Proxy", s->proxy }, { "Target", s->target }, { "SshKey", s->ssh_key },
                { "HostKey", s->host_key }, { "TestTarget", s->test_target },
        };
        int r = sd_bus_message_open_container(m, 'a', "{sv}");

        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(strings); i++)
                if (strings[i].value)
                        r = sd_bus_message_append(m, "{sv}", strings[i].key, "s", strings[i].value);
        if (r >= 0 && s->dns && s->dns[0])
                r = append_strv_entry(m, "DnsServers", s->dns);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* Builds the call @method on @path, its arguments @name and @type first when given, and sends it. */
static int send_exit_settings(Context *c, const char *path, const char *interface, const char *method,
                              const char *name, const char *type, const ExitInput *in, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        _cleanup_(exit_settings_done) ExitSettings s = {};
        int r;

        r = exit_settings_read(in, &s);
        if (r < 0)
                return r;
        r = bus_new_call(c, path, interface, method, &call);
        if (r < 0)
                return r;
        /* wiped when freed: a file holds a private key, a URL a password, an SSH key is one */
        r = sd_bus_message_sensitive(call);
        if (r >= 0 && name)
                r = sd_bus_message_append(call, "ss", name, type);
        if (r >= 0)
                r = append_exit_settings(call, &s);
        if (r < 0)
                return report_error(r, "cannot build the call: %s", strerror(-r));
        return bus_call(c, call, true, ret_reply);
}

/* --- which options go together --- */

static bool has_proxy(const ExitInput *in) {
        return in->proxy || in->proxy_file;
}

static bool has_ssh(const ExitInput *in) {
        return in->target || in->ssh_key || in->host_key || in->host_key_file;
}

/* An sshuttle exit's options: all of them for add; one resolver; standard input read once. */
static int check_sshuttle_args(const char *verb, const ExitInput *in, bool adding) {
        if (adding && !in->target)
                return usage_error(verb, "an exit of type sshuttle needs --target USER@ADDRESS[:PORT]");
        if (adding && !in->ssh_key)
                return usage_error(verb, "an exit of type sshuttle needs --ssh-key FILE or --ssh-key - "
                                   "(a private key without a passphrase)");
        if (adding && !in->host_key && !in->host_key_file)
                return usage_error(verb, "an exit of type sshuttle needs --host-key 'TYPE BASE64' or "
                                   "--host-key-file FILE (the SSH server's public key)");
        if (strv_length((char **) in->dns) > EXIT_SSHUTTLE_DNS_MAX)
                return usage_error(verb, "an exit of type sshuttle takes one --dns at most (sshuttle asks one "
                                   "DNS server)");
        if (in->ssh_key && in->host_key_file && streq(in->ssh_key, "-") && streq(in->host_key_file, "-"))
                return usage_error(verb, "--ssh-key and --host-key-file cannot both read standard input");
        return ARGS_PARSED;
}

/* The options the exit's type takes; the daemon has the last word. */
static int check_add_args(const char *type, const ExitInput *in) {
        bool proxy = streq(type, "proxy"), sshuttle = streq(type, "sshuttle");

        if (!proxy && has_proxy(in))
                return usage_error("exit add", "--proxy and --proxy-file are for an exit of type proxy");
        if (!sshuttle && has_ssh(in))
                return usage_error("exit add", "--target, --ssh-key, --host-key and --host-key-file are for an "
                                   "exit of type sshuttle");
        if (!proxy && !sshuttle && in->dns[0])
                return usage_error("exit add", "--dns is for an exit of type proxy or sshuttle");
        if ((proxy || sshuttle) && in->config)
                return usage_error("exit add", "an exit of type %s takes %s, not --config", type,
                                   proxy ? "--proxy" : "--target, --ssh-key and --host-key");
        if (proxy && !has_proxy(in))
                return usage_error("exit add", "an exit of type proxy needs --proxy URL, --proxy - or "
                                   "--proxy-file FILE");
        if (sshuttle)
                return check_sshuttle_args("exit add", in, true);
        if (!proxy && !streq(type, "tor") && !in->config)
                return usage_error("exit add", "an exit of type %s needs --config", type);
        return ARGS_PARSED;
}

/* Options of one kind of exit at a time; the daemon knows the exit's type. */
static int check_update_args(const ExitInput *in) {
        if (!in->config && !in->test_target && !has_proxy(in) && !has_ssh(in) && !in->dns[0])
                return usage_error("exit update", "update needs --config, --proxy, --target, --ssh-key, --host-key, "
                                   "--dns or --test-target");
        if ((in->config && (has_proxy(in) || has_ssh(in) || in->dns[0])) || (has_proxy(in) && has_ssh(in)))
                return usage_error("exit update", "--config is for a wireguard or openvpn exit, --proxy for a "
                                   "proxy exit, --target, --ssh-key and --host-key for an sshuttle exit, --dns for "
                                   "either of the last two: one kind at a time");
        if (has_ssh(in))
                return check_sshuttle_args("exit update", in, false);
        return ARGS_PARSED;
}

/* --- add, update --- */

static void help_add(void) {
        printf("picctl exit add NAME --type wireguard|openvpn --config FILE|-\n"
               "                [--test-target HOST:PORT]\n"
               "picctl exit add NAME --type tor [--test-target HOST:PORT]\n"
               "picctl exit add NAME --type proxy {--proxy URL|- | --proxy-file FILE}\n"
               "                [--dns IP]... [--test-target HOST:PORT]\n"
               "picctl exit add NAME --type sshuttle --target USER@ADDRESS[:PORT]\n"
               "                --ssh-key FILE|- {--host-key 'TYPE BASE64' | --host-key-file F}\n"
               "                [--dns IP] [--test-target HOST:PORT]\n"
               "\n"
               "Add the exit NAME. A wireguard exit takes the wg-quick file a VPN provider gives\n"
               "('-': read it from standard input): one [Interface] with an IPv4 Address, one\n"
               "[Peer] with AllowedIPs 0.0.0.0/0. PostUp and the like are refused, never run.\n"
               "An openvpn exit takes an .ovpn client file with its certificates inline. The\n"
               "cell keeps the file (it holds a private key) and never shows it again.\n"
               "\n"
               "A tor, proxy or sshuttle exit carries its peers' TCP and DNS only. A proxy exit\n"
               "takes the URL of a SOCKS5 proxy or of an HTTP proxy that allows CONNECT, its\n"
               "host an IPv4 address: socks5://[USER:PASSWORD@]ADDRESS:PORT or\n"
               "http://[USER:PASSWORD@]ADDRESS:PORT (percent-encoded where needed). Give a URL\n"
               "with a password by '--proxy -' (the first line of standard input) or\n"
               "--proxy-file, not on the command line, where other users see it. The cell keeps\n"
               "the password and never shows it again. Its peers' DNS is resolved through the\n"
               "proxy by the --dns servers (default 1.1.1.1 and 9.9.9.9).\n"
               "\n"
               "An sshuttle exit tunnels through an SSH server the cell logs in to as USER\n"
               "(ADDRESS an IPv4 address, PORT 22 by default) with an OpenSSH private key\n"
               "without a passphrase, and trusts that server's public host key only (the\n"
               "first line of its /etc/ssh/ssh_host_ed25519_key.pub, say). The cell keeps the\n"
               "private key and never shows it again. Its peers' DNS is resolved through the\n"
               "tunnel by the --dns server (default: the SSH server's own).\n"
               "\n"
               "  --type TYPE              wireguard, openvpn, tor, proxy or sshuttle (an exit\n"
               "                           of type cell is not added: it appears when a linked\n"
               "                           cell offers its uplink)\n"
               "  --config FILE|-          wireguard, openvpn: its configuration file\n"
               "  --proxy URL|-            proxy: its URL ('-': the first line of standard\n"
               "                           input)\n"
               "  --proxy-file FILE        proxy: its URL, the first line of FILE\n"
               "  --target USER@ADDRESS[:PORT]\n"
               "                           sshuttle: the SSH server and the user to log in as\n"
               "  --ssh-key FILE|-         sshuttle: the private key to log in with ('-':\n"
               "                           standard input; at most %d bytes)\n"
               "  --host-key 'TYPE BASE64' sshuttle: the server's public host key\n"
               "  --host-key-file FILE     sshuttle: the same, the first line of FILE (a .pub\n"
               "                           file; its comment is dropped)\n"
               "  --dns IP                 proxy: a DNS server its peers' names are resolved by,\n"
               "                           through the proxy (up to %u; default 1.1.1.1, 9.9.9.9)\n"
               "                           sshuttle: one, asked through the tunnel\n"
               "  --test-target HOST:PORT  What 'picctl exit test' connects to (default 1.1.1.1:443)\n",
               SSH_KEY_TEXT_MAX, EXIT_DNS_MAX);
}

int exit_add(int argc, char *argv[], Context *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(exit_info_done) ExitInfo info = {};
        _cleanup_(freep) char *path = NULL;
        const char *type = NULL, *name, *added;
        ExitInput in = {};
        int r;

        r = parse_exit_args("exit add", argc, argv, c, help_add, &(ExitArgs) { .type = &type, .input = &in });
        if (r != ARGS_PARSED)
                return r;
        r = exit_path_arg("exit add", argc, argv, &name, &path);
        if (r != ARGS_PARSED)
                return r;
        if (!type)
                return usage_error("exit add", "an exit needs --type (wireguard, openvpn, tor, proxy or sshuttle)");
        r = check_add_args(type, &in);
        if (r != ARGS_PARSED)
                return r;
        r = send_exit_settings(c, PIC_MANAGER_PATH, PIC_MANAGER_INTERFACE, "AddExit", name, type, &in, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &added);
        if (r < 0)
                return report_parse_error(r);
        r = exit_info_read(c, added, &info);
        if (r < 0)
                return r;
        printf("Added exit %s (%s, %s). Send a peer through it: picctl peer exit PEER %s\n", name,
               isempty(info.interface) ? "no interface yet" : info.interface, strempty(info.state), name);
        return 0;
}

static void help_update(void) {
        printf("picctl exit update NAME [--config FILE|-] [--test-target HOST:PORT]\n"
               "picctl exit update NAME [--proxy URL|- | --proxy-file FILE] [--dns IP]...\n"
               "                        [--test-target HOST:PORT]\n"
               "picctl exit update NAME [--target USER@ADDRESS[:PORT]] [--ssh-key FILE|-]\n"
               "                        [--host-key 'TYPE BASE64' | --host-key-file FILE]\n"
               "                        [--dns IP] [--test-target HOST:PORT]\n"
               "\n"
               "Replace the exit's wg-quick or .ovpn file ('-': read it from standard input),\n"
               "a proxy exit's URL ('-': the first line of standard input), an sshuttle exit's\n"
               "SSH server, private key or the server's host key, the DNS servers of either\n"
               "(all of them: up to %u --dns for a proxy, one for sshuttle), or its test\n"
               "target; what is not given stays. The tunnel is reconfigured in place; its peers\n"
               "stay on it. An exit of type cell is set up with its cell: only its test target\n"
               "can change.\n", EXIT_DNS_MAX);
}

int exit_update(int argc, char *argv[], Context *c) {
        _cleanup_(freep) char *path = NULL;
        const char *name;
        ExitInput in = {};
        int r;

        r = parse_exit_args("exit update", argc, argv, c, help_update, &(ExitArgs) { .input = &in });
        if (r != ARGS_PARSED)
                return r;
        r = exit_path_arg("exit update", argc, argv, &name, &path);
        if (r != ARGS_PARSED)
                return r;
        r = check_update_args(&in);
        if (r != ARGS_PARSED)
                return r;
        r = send_exit_settings(c, path, PIC_EXIT_INTERFACE, "Update", NULL, NULL, &in, NULL);
        if (r < 0)
                return r;
        printf("Updated exit %s.\n", name);
        return 0;
}
