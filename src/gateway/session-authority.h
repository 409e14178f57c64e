/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sessions carry the authority they were granted, and die with it: the gateway follows the
 * cell's signals — a peer removed or disabled, a peer's LoginId (its web login set again, or
 * the peer re-created) or the AdminLoginId changed — and ends the sessions that login granted;
 * when pic-celld starts again (a restore, a crash: signals may have been missed) every session
 * is checked against what the cell holds then. */

typedef struct Gateway Gateway;
typedef struct SessionAuthority SessionAuthority;

int session_authority_start(Gateway *g, SessionAuthority **ret);
SessionAuthority *session_authority_free(SessionAuthority *a);
