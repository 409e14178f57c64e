/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sodium.h>

#include "sessions.h"

#define SEC 1000000ULL

static void test_create_find_expire(void **state) {
        _cleanup_(sessions_freep) Sessions *s = NULL;
        Session *a, *b;

        assert_int_equal(sessions_new(&s, 10 * SEC), 0);
        assert_int_equal(sessions_create(s, ROLE_ADMIN, NULL, "a1", 0, &a), 0);
        assert_int_equal(sessions_create(s, ROLE_PEER, "laptop", "l1", 0, &b), 0);
        assert_int_equal(strlen(a->id), SESSION_ID_LEN);
        assert_string_not_equal(a->id, b->id);
        assert_string_not_equal(a->id, a->csrf);
        assert_string_equal(b->peer, "laptop");

        char id[SESSION_ID_LEN + 1];
        strcpy(id, a->id);
        assert_ptr_equal(sessions_find(s, id, 5 * SEC), a);
        /* idle time counts from the last use */
        assert_ptr_equal(sessions_find(s, id, 14 * SEC), a);
        assert_null(sessions_find(s, id, 25 * SEC));
        assert_null(sessions_find(s, "short", 0));
        assert_null(sessions_find(s, NULL, 0));
        sessions_expire(s, 100 * SEC);
        assert_int_equal(sessions_count(s), 0);
}

static void test_csrf_and_roles(void **state) {
        _cleanup_(sessions_freep) Sessions *s = NULL;
        Session *a, *b, *p;

        assert_int_equal(sessions_new(&s, 10 * SEC), 0);
        assert_int_equal(sessions_create(s, ROLE_ADMIN, NULL, "a1", 0, &a), 0);
        assert_true(session_csrf_matches(a, a->csrf));
        assert_false(session_csrf_matches(a, a->id));
        assert_false(session_csrf_matches(a, NULL));
        assert_false(session_csrf_matches(a, ""));

        assert_int_equal(sessions_create(s, ROLE_ADMIN, NULL, "a1", 0, &b), 0);
        assert_int_equal(sessions_create(s, ROLE_PEER, "phone", "p1", 0, &p), 0);
        char keep[SESSION_ID_LEN + 1];
        strcpy(keep, a->id);
        sessions_remove_role(s, ROLE_ADMIN, keep);
        assert_int_equal(sessions_count(s), 2);
        assert_non_null(sessions_find(s, keep, 0));
        sessions_remove(s, keep);
        assert_int_equal(sessions_count(s), 1);
}

static void test_revoked_grants(void **state) {
        _cleanup_(sessions_freep) Sessions *s = NULL;
        Session *a, *b, *l1, *l2, *p;
        char a_id[SESSION_ID_LEN + 1], b_id[SESSION_ID_LEN + 1], l2_id[SESSION_ID_LEN + 1], p_id[SESSION_ID_LEN + 1];

        assert_int_equal(sessions_new(&s, 10 * SEC), 0);
        assert_int_equal(sessions_create(s, ROLE_ADMIN, NULL, "a1", 0, &a), 0);
        assert_int_equal(sessions_create(s, ROLE_ADMIN, NULL, "a1", 0, &b), 0);
        assert_int_equal(sessions_create(s, ROLE_PEER, "laptop", "l1", 0, &l1), 0);
        assert_int_equal(sessions_create(s, ROLE_PEER, "laptop", "l2", 0, &l2), 0);
        assert_int_equal(sessions_create(s, ROLE_PEER, "phone", "l1", 0, &p), 0);
        strcpy(a_id, a->id);
        strcpy(b_id, b->id);
        strcpy(l2_id, l2->id);
        strcpy(p_id, p->id);

        /* laptop's login is now l2: the session of l1 ends; phone's (same grant text) stays */
        sessions_revoke_peer(s, "laptop", "l2");
        assert_int_equal(sessions_count(s), 4);
        assert_non_null(sessions_find(s, l2_id, 0));
        assert_non_null(sessions_find(s, p_id, 0));
        /* the same grant again changes nothing; admin sessions are not a peer's */
        sessions_revoke_peer(s, "laptop", "l2");
        assert_int_equal(sessions_count(s), 4);
        /* laptop removed or disabled: all of its sessions end */
        sessions_revoke_peer(s, "laptop", NULL);
        assert_null(sessions_find(s, l2_id, 0));
        assert_int_equal(sessions_count(s), 3);

        /* the admin password changed by session a: a takes the new grant, b ends */
        a->renewing = true;
        sessions_revoke_admin(s, "a2");
        assert_non_null(sessions_find(s, a_id, 0));
        assert_null(sessions_find(s, b_id, 0));
        assert_string_equal(a->grant, "a2");
        assert_false(a->renewing);
        /* changed again elsewhere: a ends too; the peer's stays */
        sessions_revoke_admin(s, "a3");
        assert_null(sessions_find(s, a_id, 0));
        assert_non_null(sessions_find(s, p_id, 0));
}

static void test_login_limiter(void **state) {
        _cleanup_(login_limiter_freep) LoginLimiter *l = NULL;

        assert_int_equal(login_limiter_new(&l, 60 * SEC), 0);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(login_limiter_check(l, "addr:127.0.0.1", 3, 10 * SEC), 0);
                login_limiter_begin(l, "addr:127.0.0.1", 10 * SEC);
        }
        assert_int_equal(login_limiter_check(l, "addr:127.0.0.1", 3, 10 * SEC), 60);
        assert_int_equal(login_limiter_check(l, "addr:127.0.0.1", 4, 10 * SEC), 0); /* a larger allowance */
        assert_int_equal(login_limiter_check(l, "addr:127.0.0.1", 3, 69 * SEC + 1), 1);
        assert_int_equal(login_limiter_check(l, "addr:10.0.0.1", 3, 10 * SEC), 0);
        /* a success is forgiven */
        login_limiter_forgive(l, "addr:127.0.0.1");
        assert_int_equal(login_limiter_check(l, "addr:127.0.0.1", 3, 10 * SEC), 0);
        login_limiter_forgive(l, "addr:never-seen");
        /* the window ends */
        login_limiter_begin(l, "addr:127.0.0.1", 11 * SEC);
        assert_int_equal(login_limiter_check(l, "addr:127.0.0.1", 3, 70 * SEC), 0);
        login_limiter_begin(l, "addr:127.0.0.1", 71 * SEC);
        assert_int_equal(login_limiter_check(l, "addr:127.0.0.1", 3, 71 * SEC), 0);
}

static void test_check_budget(void **state) {
        CheckBudget b = { .rate = 4 };
        for (int i = 0; i < 4; i++)
                assert_int_equal(check_budget_take(&b, 100 * SEC), 0);
        assert_int_equal(check_budget_take(&b, 100 * SEC), 1);
        /* a quarter second later, one more */
        assert_int_equal(check_budget_take(&b, 100 * SEC + SEC / 4), 0);
        assert_int_equal(check_budget_take(&b, 100 * SEC + SEC / 4), 1);
        /* never more than the burst */
        for (int i = 0; i < 4; i++)
                assert_int_equal(check_budget_take(&b, 200 * SEC), 0);
        assert_int_equal(check_budget_take(&b, 200 * SEC), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_create_find_expire),
                cmocka_unit_test(test_csrf_and_roles),
                cmocka_unit_test(test_revoked_grants),
                cmocka_unit_test(test_login_limiter),
                cmocka_unit_test(test_check_budget),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
