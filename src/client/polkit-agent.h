/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* Starts pkttyagent so polkit can ask the user for a password on this terminal,
 * when that can help: stdin is a terminal, the caller is not root (root is always
 * authorized) and pkttyagent is installed. Waits until the agent has registered
 * or given up. Returns its PID, or 0 if none was started. */
pid_t polkit_agent_open(void);

/* Stops the agent @pid started by polkit_agent_open(); 0 is a no-op. */
void polkit_agent_close(pid_t pid);
