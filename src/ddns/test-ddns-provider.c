/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ddns/ddns-provider.h"

#define DUCK_TOKEN "a7c4d0ad-114e-40ef-ba1d-d217904a50f2"
#define CF_TOKEN "Zk3r9Q_x-Tq8vLm2Nw7Ys4Pd1Hc6Bg5Ja0Ue3Ri9"
#define FREEDNS_TOKEN "U2VjcmV0VG9rZW4rLz0xMjM0NQ=="
#define ZONE "023e105f4ecef8ad9ca31a8372d0c353"
#define RECORD "372e67954025e0ba6aaa6d586b9e0b59"
#define USER "alice@example.org"
#define PASSWORD "s3cret pass:word!"

static const DdnsSettings duckdns = { .provider = "duckdns", .hostname = "mycell.duckdns.org", .token = DUCK_TOKEN };
static const DdnsSettings cloudflare = { .provider = "cloudflare", .hostname = "cell.example.org", .token = CF_TOKEN,
                                         .zone_id = ZONE, .record_id = RECORD };
static const DdnsSettings noip = { .provider = "noip", .hostname = "mycell.ddns.net", .username = USER,
                                   .password = PASSWORD };
static const DdnsSettings freedns = { .provider = "freedns", .hostname = "mycell.mooo.com", .token = FREEDNS_TOKEN };
static const DdnsSettings dyndns2 = { .provider = "dyndns2", .hostname = "cell.example.net", .username = "bob",
                                      .password = PASSWORD, .server = "https://dyn.example.net:8443/nic/update" };

static const char *header(const DdnsRequest *r, const char *name) {
        size_t n = strlen(name);
        for (size_t i = 0; r->headers[i]; i++)
                if (strncmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
                        return r->headers[i] + n + 2;
        return NULL;
}

static DdnsRequest *build(const DdnsSettings *s, const char *address, const char *base) {
        char error[DDNS_ERROR_MAX] = "";
        DdnsRequest *r = NULL;
        int ret = ddns_request_build(s, address, base, &r, error);
        if (ret < 0)
                print_error("refused: %s\n", error);
        assert_int_equal(ret, 0);
        assert_non_null(r);
        assert_string_equal(header(r, "User-Agent"), "pic-celld/" PIC_VERSION);
        return r;
}

static void test_duckdns_request(void **state) {
        DdnsRequest *r = build(&duckdns, "203.0.113.7", NULL);
        assert_string_equal(r->method, "GET");
        assert_string_equal(r->url, "https://www.duckdns.org/update?domains=mycell&token=" DUCK_TOKEN
                                    "&ip=203.0.113.7&verbose=true");
        assert_null(header(r, "Authorization"));
        assert_null(r->body);
        ddns_request_free(r);
}

static void test_cloudflare_request(void **state) {
        DdnsRequest *r = build(&cloudflare, "198.51.100.20", NULL);
        assert_string_equal(r->method, "PATCH");
        assert_string_equal(r->url, "https://api.cloudflare.com/client/v4/zones/" ZONE "/dns_records/" RECORD);
        assert_string_equal(header(r, "Authorization"), "Bearer " CF_TOKEN);
        assert_string_equal(header(r, "Content-Type"), "application/json");
        assert_string_equal(r->body, "{\"type\":\"A\",\"name\":\"cell.example.org\",\"content\":\"198.51.100.20\"}");
        ddns_request_free(r);
}

static void test_noip_request(void **state) {
        DdnsRequest *r = build(&noip, "192.0.2.1", NULL);
        assert_string_equal(r->method, "GET");
        assert_string_equal(r->url, "https://dynupdate.no-ip.com/nic/update?hostname=mycell.ddns.net&myip=192.0.2.1");
        /* base64("alice@example.org:s3cret pass:word!") */
        assert_string_equal(header(r, "Authorization"), "Basic YWxpY2VAZXhhbXBsZS5vcmc6czNjcmV0IHBhc3M6d29yZCE=");
        assert_null(r->body);
        ddns_request_free(r);
}

static void test_freedns_request(void **state) {
        DdnsRequest *r = build(&freedns, "192.0.2.200", NULL);
        assert_string_equal(r->method, "GET");
        /* the token's '+', '/' and '=' escaped */
        assert_string_equal(r->url, "https://freedns.afraid.org/dynamic/update.php?U2VjcmV0VG9rZW4rLz0xMjM0NQ%3D%3D"
                                    "&address=192.0.2.200");
        assert_null(header(r, "Authorization"));
        ddns_request_free(r);
}

static void test_dyndns2_request(void **state) {
        DdnsRequest *r = build(&dyndns2, "192.0.2.9", NULL);
        assert_string_equal(r->url, "https://dyn.example.net:8443/nic/update?hostname=cell.example.net&myip=192.0.2.9");
        /* base64("bob:s3cret pass:word!") */
        assert_string_equal(header(r, "Authorization"), "Basic Ym9iOnMzY3JldCBwYXNzOndvcmQh");
        ddns_request_free(r);
}

static void test_base_override(void **state) {
        DdnsRequest *r = build(&duckdns, "203.0.113.7", "https://10.9.0.1:8443");
        assert_string_equal(r->url, "https://10.9.0.1:8443/update?domains=mycell&token=" DUCK_TOKEN
                                    "&ip=203.0.113.7&verbose=true");
        ddns_request_free(r);
        r = build(&cloudflare, "203.0.113.7", "https://cf.test");
        assert_string_equal(r->url, "https://cf.test/client/v4/zones/" ZONE "/dns_records/" RECORD);
        ddns_request_free(r);
        /* dyndns2's server is its own setting already */
        r = build(&dyndns2, "203.0.113.7", "https://10.9.0.1:8443");
        assert_true(strncmp(r->url, "https://dyn.example.net:8443/", 29) == 0);
        ddns_request_free(r);
}

static void test_provider_names(void **state) {
        for (int i = 0; i < _DDNS_PROVIDER_MAX; i++)
                assert_int_equal(ddns_provider_from_string(ddns_provider_to_string(i)), i);
        assert_int_equal(ddns_provider_from_string("DuckDNS"), _DDNS_PROVIDER_INVALID);
        assert_int_equal(ddns_provider_from_string(NULL), _DDNS_PROVIDER_INVALID);
        assert_null(ddns_provider_to_string(_DDNS_PROVIDER_MAX));
        assert_int_equal(ddns_provider_credential(DDNS_PROVIDER_NOIP), DDNS_CREDENTIAL_USER_PASSWORD);
        assert_int_equal(ddns_provider_credential(DDNS_PROVIDER_FREEDNS), DDNS_CREDENTIAL_TOKEN);
        assert_null(ddns_provider_default_base(DDNS_PROVIDER_DYNDNS2));
}

/* ---- refusals ---- */

typedef struct Refusal {
        DdnsSettings s;
        const char *address;
        const char *base;
        const char *names; /* what the error must name */
} Refusal;

static void check_refused(const Refusal *c) {
        char error[DDNS_ERROR_MAX] = "";
        DdnsRequest *r = NULL;
        int ret = ddns_request_build(&c->s, c->address ? c->address : "192.0.2.1", c->base, &r, error);
        if (ret != -EINVAL || !strstr(error, c->names))
                print_error("case naming %s: %d \"%s\"\n", c->names, ret, error);
        assert_int_equal(ret, -EINVAL);
        assert_null(r);
        assert_non_null(strstr(error, c->names));
        /* no secret ever quoted */
        const char *secrets[] = { c->s.token, c->s.password, DUCK_TOKEN, CF_TOKEN, FREEDNS_TOKEN, PASSWORD };
        for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
                if (secrets[i] && strlen(secrets[i]) >= 3)
                        assert_null(strstr(error, secrets[i]));
        /* settings without an address are refused the same way */
        if (!c->address && !c->base) {
                char error2[DDNS_ERROR_MAX] = "";
                assert_int_equal(ddns_settings_validate(&c->s, error2), -EINVAL);
                assert_string_equal(error, error2);
        }
}

static void test_refusals(void **state) {
        const Refusal cases[] = {
                { { .provider = NULL, .hostname = "a.duckdns.org", .token = DUCK_TOKEN }, .names = "DdnsProvider" },
                { { .provider = "dyndns", .hostname = "a.duckdns.org", .token = DUCK_TOKEN }, .names = "DdnsProvider" },
                /* hostname */
                { { .provider = "duckdns", .token = DUCK_TOKEN }, .names = "DdnsHostname" },
                { { .provider = "duckdns", .hostname = "mycell", .token = DUCK_TOKEN }, .names = "DdnsHostname" },
                { { .provider = "duckdns", .hostname = "MyCell.duckdns.org", .token = DUCK_TOKEN }, .names = "DdnsHostname" },
                { { .provider = "duckdns", .hostname = "my_cell.duckdns.org", .token = DUCK_TOKEN }, .names = "DdnsHostname" },
                { { .provider = "duckdns", .hostname = "-a.duckdns.org", .token = DUCK_TOKEN }, .names = "DdnsHostname" },
                { { .provider = "duckdns", .hostname = "a.duckdns.org.", .token = DUCK_TOKEN }, .names = "DdnsHostname" },
                { { .provider = "duckdns", .hostname = "a..duckdns.org", .token = DUCK_TOKEN }, .names = "DdnsHostname" },
                { { .provider = "duckdns", .hostname = "a.b.duckdns.org", .token = DUCK_TOKEN }, .names = "DdnsHostname" },
                { { .provider = "duckdns", .hostname = "a.example.org", .token = DUCK_TOKEN }, .names = "DdnsHostname" },
                { { .provider = "noip", .hostname = "a b.ddns.net", .username = "u", .password = "p" }, .names = "DdnsHostname" },
                { { .provider = "noip", .hostname = "a.ddns.net&myip=1.2.3.4", .username = "u", .password = "p" },
                  .names = "DdnsHostname" },
                /* tokens */
                { { .provider = "duckdns", .hostname = "a.duckdns.org" }, .names = "DdnsToken" },
                { { .provider = "duckdns", .hostname = "a.duckdns.org", .token = "a7c4d0ad-114e-40ef-ba1d-d217904a50f" },
                  .names = "DdnsToken" },
                { { .provider = "duckdns", .hostname = "a.duckdns.org", .token = "A7C4D0AD-114E-40EF-BA1D-D217904A50F2" },
                  .names = "DdnsToken" },
                { { .provider = "duckdns", .hostname = "a.duckdns.org", .token = "a7c4d0ad-114e-40ef-ba1d-d217904a50f2&" },
                  .names = "DdnsToken" },
                { { .provider = "cloudflare", .hostname = "a.example.org", .token = "short", .zone_id = ZONE,
                    .record_id = RECORD }, .names = "DdnsToken" },
                { { .provider = "cloudflare", .hostname = "a.example.org", .token = CF_TOKEN "\n", .zone_id = ZONE,
                    .record_id = RECORD }, .names = "DdnsToken" },
                { { .provider = "cloudflare", .hostname = "a.example.org",
                    .token = "Zk3r9Q_x-Tq8vLm2Nw7Ys4Pd1Hc6Bg5Ja0Ue3Ri9Zk3r9Q_x-Tq8vLm2Nw7Ys4Pd1Hc6B", .zone_id = ZONE,
                    .record_id = RECORD }, .names = "DdnsToken" },
                { { .provider = "freedns", .hostname = "a.mooo.com", .token = "U2VjcmV0VG9rZW4rLz0x MjM0NQ==" },
                  .names = "DdnsToken" },
                { { .provider = "freedns", .hostname = "a.mooo.com", .token = "abc" }, .names = "DdnsToken" },
                /* the other credential kind */
                { { .provider = "noip", .hostname = "a.ddns.net", .token = DUCK_TOKEN, .username = "u", .password = "p" },
                  .names = "not DdnsToken" },
                { { .provider = "duckdns", .hostname = "a.duckdns.org", .token = DUCK_TOKEN, .username = "u" },
                  .names = "not DdnsUsername" },
                { { .provider = "freedns", .hostname = "a.mooo.com", .token = FREEDNS_TOKEN, .password = PASSWORD },
                  .names = "not DdnsUsername or DdnsPassword" },
                /* username and password */
                { { .provider = "noip", .hostname = "a.ddns.net", .password = PASSWORD }, .names = "DdnsUsername" },
                { { .provider = "noip", .hostname = "a.ddns.net", .username = "", .password = PASSWORD },
                  .names = "DdnsUsername" },
                { { .provider = "noip", .hostname = "a.ddns.net", .username = "a:b", .password = PASSWORD },
                  .names = "DdnsUsername" },
                { { .provider = "noip", .hostname = "a.ddns.net", .username = "a b", .password = PASSWORD },
                  .names = "DdnsUsername" },
                { { .provider = "noip", .hostname = "a.ddns.net", .username = "u" }, .names = "DdnsPassword" },
                { { .provider = "noip", .hostname = "a.ddns.net", .username = "u", .password = "" }, .names = "DdnsPassword" },
                { { .provider = "noip", .hostname = "a.ddns.net", .username = "u", .password = "pass\r\nX-A: b" },
                  .names = "DdnsPassword" },
                { { .provider = "noip", .hostname = "a.ddns.net", .username = "u", .password = "p\xc3\xa4ss" },
                  .names = "DdnsPassword" },
                { { .provider = "noip", .hostname = "a.ddns.net", .username = "u",
                    .password = "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
                                "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp" },
                  .names = "DdnsPassword" },
                /* cloudflare's ids */
                { { .provider = "cloudflare", .hostname = "a.example.org", .token = CF_TOKEN, .record_id = RECORD },
                  .names = "DdnsZoneId" },
                { { .provider = "cloudflare", .hostname = "a.example.org", .token = CF_TOKEN,
                    .zone_id = "023E105F4ECEF8AD9CA31A8372D0C353", .record_id = RECORD }, .names = "DdnsZoneId" },
                { { .provider = "cloudflare", .hostname = "a.example.org", .token = CF_TOKEN, .zone_id = ZONE },
                  .names = "DdnsRecordId" },
                { { .provider = "cloudflare", .hostname = "a.example.org", .token = CF_TOKEN, .zone_id = ZONE,
                    .record_id = "../../zones" }, .names = "DdnsRecordId" },
                { { .provider = "duckdns", .hostname = "a.duckdns.org", .token = DUCK_TOKEN, .zone_id = ZONE },
                  .names = "DdnsZoneId" },
                /* the dyndns2 server */
                { { .provider = "dyndns2", .hostname = "a.example.net", .username = "u", .password = "p" },
                  .names = "DdnsServer" },
                { { .provider = "dyndns2", .hostname = "a.example.net", .username = "u", .password = "p",
                    .server = "http://dyn.example.net/nic/update" }, .names = "DdnsServer" },
                { { .provider = "dyndns2", .hostname = "a.example.net", .username = "u", .password = "p",
                    .server = "https://dyn.example.net/nic/update?x=1" }, .names = "DdnsServer" },
                { { .provider = "dyndns2", .hostname = "a.example.net", .username = "u", .password = "p",
                    .server = "https://user@dyn.example.net/" }, .names = "DdnsServer" },
                { { .provider = "dyndns2", .hostname = "a.example.net", .username = "u", .password = "p",
                    .server = "https://dyn.example.net:0/" }, .names = "DdnsServer" },
                { { .provider = "dyndns2", .hostname = "a.example.net", .username = "u", .password = "p",
                    .server = "https://dyn.example.net:65536/" }, .names = "DdnsServer" },
                { { .provider = "dyndns2", .hostname = "a.example.net", .username = "u", .password = "p",
                    .server = "https://" }, .names = "DdnsServer" },
                { { .provider = "noip", .hostname = "a.ddns.net", .username = "u", .password = "p",
                    .server = "https://dyn.example.net/" }, .names = "DdnsServer" },
                /* the address and the base */
                { duckdns, .address = "203.0.113.256", .names = "IPv4" },
                { duckdns, .address = "203.0.113", .names = "IPv4" },
                { duckdns, .address = "2001:db8::1", .names = "IPv4" },
                { duckdns, .address = "203.0.113.7&ip=1.1.1.1", .names = "IPv4" },
                { duckdns, .address = "", .names = "IPv4" },
                { duckdns, .base = "http://10.0.0.1", .names = "base URL" },
                { duckdns, .base = "https://10.0.0.1/path", .names = "base URL" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                check_refused(&cases[i]);
}

static void test_valid_settings(void **state) {
        char error[DDNS_ERROR_MAX];
        const DdnsSettings *all[] = { &duckdns, &cloudflare, &noip, &freedns, &dyndns2 };
        for (size_t i = 0; i < 5; i++)
                assert_int_equal(ddns_settings_validate(all[i], error), 0);
        assert_true(ddns_address_is_valid("0.0.0.0"));
        assert_false(ddns_address_is_valid("01.2.3.4"));
        assert_false(ddns_address_is_valid(NULL));
}

/* ---- answers ---- */

static void expect(DdnsProviderId id, long status, const char *body, DdnsAnswer answer, const char *reason_has) {
        DdnsVerdict v;
        memset(&v, 0x55, sizeof v);
        ddns_answer_read(id, status, body, body ? strlen(body) : 0, &v);
        if (v.answer != answer || (reason_has && !strstr(v.reason, reason_has)))
                print_error("%s %ld \"%s\": %s \"%s\"\n", ddns_provider_to_string(id), status, body ? body : "(null)",
                            ddns_answer_to_string(v.answer), v.reason);
        assert_int_equal(v.answer, answer);
        if (answer == DDNS_ANSWER_UPDATED || answer == DDNS_ANSWER_UNCHANGED)
                assert_string_equal(v.reason, "");
        else
                assert_true(strlen(v.reason) > 0);
        if (reason_has)
                assert_non_null(strstr(v.reason, reason_has));
}

static void test_duckdns_answers(void **state) {
        expect(DDNS_PROVIDER_DUCKDNS, 200, "OK\n203.0.113.7\n\nUPDATED", DDNS_ANSWER_UPDATED, NULL);
        expect(DDNS_PROVIDER_DUCKDNS, 200, "OK\r\n203.0.113.7\r\n\r\nNOCHANGE\r\n", DDNS_ANSWER_UNCHANGED, NULL);
        expect(DDNS_PROVIDER_DUCKDNS, 200, "OK", DDNS_ANSWER_UPDATED, NULL);
        expect(DDNS_PROVIDER_DUCKDNS, 200, "KO", DDNS_ANSWER_STOP, "KO");
        expect(DDNS_PROVIDER_DUCKDNS, 200, "KO\n", DDNS_ANSWER_STOP, "token");
        expect(DDNS_PROVIDER_DUCKDNS, 200, "<html>maintenance</html>", DDNS_ANSWER_RETRY, "duckdns");
        expect(DDNS_PROVIDER_DUCKDNS, 200, "", DDNS_ANSWER_RETRY, NULL);
        expect(DDNS_PROVIDER_DUCKDNS, 200, NULL, DDNS_ANSWER_RETRY, NULL);
        expect(DDNS_PROVIDER_DUCKDNS, 502, "Bad Gateway", DDNS_ANSWER_RETRY, "HTTP 502");
        expect(DDNS_PROVIDER_DUCKDNS, 429, "", DDNS_ANSWER_RETRY, "429");
        expect(DDNS_PROVIDER_DUCKDNS, 401, "", DDNS_ANSWER_STOP, "401");
        expect(DDNS_PROVIDER_DUCKDNS, 404, "", DDNS_ANSWER_STOP, "404");
        /* a line after a NUL does not count */
        DdnsVerdict v;
        ddns_answer_read(DDNS_PROVIDER_DUCKDNS, 200, "OK\n\0NOCHANGE", 12, &v);
        assert_int_equal(v.answer, DDNS_ANSWER_UPDATED);
}

static void test_dyndns2_answers(void **state) {
        for (DdnsProviderId id = DDNS_PROVIDER_NOIP; id <= DDNS_PROVIDER_DYNDNS2; id += DDNS_PROVIDER_DYNDNS2 - DDNS_PROVIDER_NOIP) {
                expect(id, 200, "good 192.0.2.1", DDNS_ANSWER_UPDATED, NULL);
                expect(id, 200, "good 192.0.2.1\r\n", DDNS_ANSWER_UPDATED, NULL);
                expect(id, 200, "nochg 192.0.2.1\n", DDNS_ANSWER_UNCHANGED, NULL);
                expect(id, 200, "badauth", DDNS_ANSWER_STOP, "badauth");
                expect(id, 200, "nohost\n", DDNS_ANSWER_STOP, "nohost");
                expect(id, 200, "notfqdn", DDNS_ANSWER_STOP, "notfqdn");
                expect(id, 200, "numhost", DDNS_ANSWER_STOP, "numhost");
                expect(id, 200, "abuse", DDNS_ANSWER_STOP, "abuse");
                expect(id, 200, "badagent", DDNS_ANSWER_STOP, "badagent");
                expect(id, 200, "!donator", DDNS_ANSWER_STOP, "!donator");
                expect(id, 200, "!yours", DDNS_ANSWER_STOP, "!yours");
                expect(id, 200, "dnserr", DDNS_ANSWER_RETRY, "dnserr");
                expect(id, 200, "goodbye", DDNS_ANSWER_RETRY, "return code");
                expect(id, 200, "", DDNS_ANSWER_RETRY, NULL);
                expect(id, 503, "good 192.0.2.1", DDNS_ANSWER_RETRY, "503");
                expect(id, 401, "badauth", DDNS_ANSWER_STOP, "401");
        }
        DdnsVerdict v;
        ddns_answer_read(DDNS_PROVIDER_NOIP, 200, "911", 3, &v);
        assert_int_equal(v.answer, DDNS_ANSWER_RETRY);
        assert_int_equal(v.retry_after_sec, 1800); /* "no sooner than 30 minutes" */
        assert_non_null(strstr(v.reason, "911"));
        ddns_answer_read(DDNS_PROVIDER_NOIP, 200, "good 1.2.3.4", 12, &v);
        assert_int_equal(v.retry_after_sec, 0);
}

static void test_freedns_answers(void **state) {
        expect(DDNS_PROVIDER_FREEDNS, 200, "Updated 1 host(s) mycell.mooo.com to 192.0.2.200 in 0.123 seconds",
               DDNS_ANSWER_UPDATED, NULL);
        expect(DDNS_PROVIDER_FREEDNS, 200, "ERROR: Address 192.0.2.200 has not changed.", DDNS_ANSWER_UNCHANGED, NULL);
        expect(DDNS_PROVIDER_FREEDNS, 200, "ERROR: Unable to locate this record", DDNS_ANSWER_STOP, "token");
        expect(DDNS_PROVIDER_FREEDNS, 200, "ERROR: Invalid update URL (2)", DDNS_ANSWER_STOP, "token");
        expect(DDNS_PROVIDER_FREEDNS, 200, "ERROR: something else", DDNS_ANSWER_RETRY, "error");
        expect(DDNS_PROVIDER_FREEDNS, 200, "hello", DDNS_ANSWER_RETRY, "freedns");
        expect(DDNS_PROVIDER_FREEDNS, 500, "", DDNS_ANSWER_RETRY, "500");
}

static void test_cloudflare_answers(void **state) {
        expect(DDNS_PROVIDER_CLOUDFLARE, 200,
               "{\"success\":true,\"errors\":[],\"messages\":[],\"result\":{\"content\":\"198.51.100.20\"}}",
               DDNS_ANSWER_UPDATED, NULL);
        expect(DDNS_PROVIDER_CLOUDFLARE, 403,
               "{\"success\":false,\"errors\":[{\"code\":9109,\"message\":\"Invalid access token\"}]}",
               DDNS_ANSWER_STOP, "error 9109");
        expect(DDNS_PROVIDER_CLOUDFLARE, 404,
               "{\"success\":false,\"errors\":[{\"code\":81044,\"message\":\"Record does not exist.\"}]}",
               DDNS_ANSWER_STOP, "81044");
        expect(DDNS_PROVIDER_CLOUDFLARE, 400, "{\"success\":false,\"errors\":[{\"code\":1004,\"message\":\"x\"}]}",
               DDNS_ANSWER_STOP, "HTTP 400");
        expect(DDNS_PROVIDER_CLOUDFLARE, 429, "{\"success\":false,\"errors\":[{\"code\":971}]}", DDNS_ANSWER_RETRY,
               "429");
        expect(DDNS_PROVIDER_CLOUDFLARE, 500, "{\"success\":false,\"errors\":[]}", DDNS_ANSWER_RETRY, "HTTP 500");
        expect(DDNS_PROVIDER_CLOUDFLARE, 502, "<html>bad gateway</html>", DDNS_ANSWER_RETRY, "JSON");
        expect(DDNS_PROVIDER_CLOUDFLARE, 200, "{\"success\":\"yes\"}", DDNS_ANSWER_RETRY, "JSON");
        expect(DDNS_PROVIDER_CLOUDFLARE, 200, "{\"success\":false,\"errors\":[{\"code\":1e300}]}", DDNS_ANSWER_RETRY,
               "error 0");
        expect(DDNS_PROVIDER_CLOUDFLARE, 200, NULL, DDNS_ANSWER_RETRY, "JSON");
}

static void test_answer_names(void **state) {
        assert_string_equal(ddns_answer_to_string(DDNS_ANSWER_UPDATED), "updated");
        assert_string_equal(ddns_answer_to_string(DDNS_ANSWER_UNCHANGED), "unchanged");
        assert_string_equal(ddns_answer_to_string(DDNS_ANSWER_RETRY), "retry");
        assert_string_equal(ddns_answer_to_string(DDNS_ANSWER_STOP), "stop");
        DdnsVerdict v;
        ddns_answer_read(_DDNS_PROVIDER_MAX, 200, "OK", 2, &v);
        assert_int_equal(v.answer, DDNS_ANSWER_STOP);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_duckdns_request),   cmocka_unit_test(test_cloudflare_request),
                cmocka_unit_test(test_noip_request),      cmocka_unit_test(test_freedns_request),
                cmocka_unit_test(test_dyndns2_request),   cmocka_unit_test(test_base_override),
                cmocka_unit_test(test_provider_names),    cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_valid_settings),    cmocka_unit_test(test_duckdns_answers),
                cmocka_unit_test(test_dyndns2_answers),   cmocka_unit_test(test_freedns_answers),
                cmocka_unit_test(test_cloudflare_answers), cmocka_unit_test(test_answer_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
