/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ssh-settings.h"

/* made for this test with ssh-keygen -t ed25519 (-N '' and -N pw) */
static const char plain_key[] =
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
        "QyNTUxOQAAACCEz5e5WqQq1XKvGq2pCwjAo4L4UAEuvsZb9nE/nKhzZgAAAIh8+H0nfPh9\n"
        "JwAAAAtzc2gtZWQyNTUxOQAAACCEz5e5WqQq1XKvGq2pCwjAo4L4UAEuvsZb9nE/nKhzZg\n"
        "AAAEBKXApgmhgALDAN3GBduHtTEsz1YohgtNkbth3h4dx5yITPl7lapCrVcq8arakLCMCj\n"
        "gvhQAS6+xlv2cT+cqHNmAAAABHRlc3QB\n"
        "-----END OPENSSH PRIVATE KEY-----\n";
static const char encrypted_key[] =
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABDGprAgg7\n"
        "igV28Iq2bowRKaAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAILTMUWlJdfGm84pQ\n"
        "28WtBmkh2CjhonddnT7hoX9jkn7XAAAAkJIeSq0qXBZl89YKh7uK+m3RjVZsTqPFy2tU9R\n"
        "yxQU1bA9I9Ss50bCR2qWAkWafiimk+oHeTMNRtYFrCzt9IMSpd2JTt8eCjM5IAcDH8rSVP\n"
        "snMJ2tPB2/F9f7UYyJQ69Q5yB6VahuiOF3pxsu/P6snxE/kJR31GvAyAU+Hp4YvB4NU82t\n"
        "sNayKKCHucrZaE8A==\n"
        "-----END OPENSSH PRIVATE KEY-----\n";
static const char host_key[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIITPl7lapCrVcq8arakLCMCjgvhQAS6+xlv2cT+cqHNm test";

static void test_target(void **state) {
        SshTarget t;
        char why[256];

        assert_int_equal(ssh_target_parse("pic@192.0.2.10", &t, why, sizeof why), 0);
        assert_string_equal(t.user, "pic");
        assert_int_equal(t.address, 0xc000020a);
        assert_int_equal(t.port, 22);
        assert_int_equal(ssh_target_parse("tunnel_1@192.0.2.10:2222", &t, why, sizeof why), 0);
        assert_int_equal(t.port, 2222);
        static const char *const bad[] = { "192.0.2.10", "@192.0.2.10", "pic@ssh.example.com", "pic@192.0.2.10:0",
                                           "pic@192.0.2.10:65536", "pic@192.0.2.10:22x", "Pic@192.0.2.10",
                                           "p;c@192.0.2.10", "pic@", "pic@192.0.2.10:",
                                           "a23456789012345678901234567890123@192.0.2.10" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_int_equal(ssh_target_parse(bad[i], &t, why, sizeof why), -EINVAL);
}

static void test_private_key(void **state) {
        char why[512];

        assert_int_equal(ssh_private_key_check(plain_key, why, sizeof why), 0);
        assert_int_equal(ssh_private_key_check(encrypted_key, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "passphrase"));
        assert_int_equal(ssh_private_key_check("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n", why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "OpenSSH private key"));
        /* cut short, or something after it */
        char cut[sizeof plain_key];
        memcpy(cut, plain_key, 120);
        strcpy(cut + 120, "\n-----END OPENSSH PRIVATE KEY-----\n");
        assert_int_equal(ssh_private_key_check(cut, why, sizeof why), -EINVAL);
        char after[sizeof plain_key + 16];
        snprintf(after, sizeof after, "%sextra\n", plain_key);
        assert_int_equal(ssh_private_key_check(after, why, sizeof why), -EINVAL);
        assert_null(strstr(why, "b3BlbnNzaC1rZXkt")); /* never the key */
}

static void test_host_key(void **state) {
        char out[SSH_HOST_KEY_MAX + 1], why[512], text[SSH_HOST_KEY_MAX];

        assert_int_equal(ssh_host_key_parse(host_key, out, sizeof out, why, sizeof why), 0);
        assert_int_equal(strncmp(out, host_key, strlen(out)), 0);
        assert_null(strchr(out + strlen("ssh-ed25519 "), ' ')); /* the comment dropped */
        snprintf(text, sizeof text, "%s\n", host_key);
        assert_int_equal(ssh_host_key_parse(text, out, sizeof out, why, sizeof why), 0);
        snprintf(text, sizeof text, "ssh-rsa%s", host_key + strlen("ssh-ed25519"));
        assert_int_equal(ssh_host_key_parse(text, out, sizeof out, why, sizeof why), -EINVAL);
        assert_non_null(strstr(why, "not a ssh-rsa key"));
        snprintf(text, sizeof text, "%s\nssh-ed25519 AAAA", host_key);
        assert_int_equal(ssh_host_key_parse(text, out, sizeof out, why, sizeof why), -EINVAL);
        static const char *const bad[] = { "", "ssh-ed25519", "ssh-ed25519 ", "ssh-dss AAAA", "ssh-ed25519 !!!!",
                                           "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5" "\x01" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_int_equal(ssh_host_key_parse(bad[i], out, sizeof out, why, sizeof why), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_target),
                cmocka_unit_test(test_private_key),
                cmocka_unit_test(test_host_key),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
