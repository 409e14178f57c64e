/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "polkit-agent.h"

#define PKTTYAGENT "/usr/bin/pkttyagent"

extern char **environ;

pid_t polkit_agent_open(void) {
        _cleanup_(closep) int read_fd = -EBADF, write_fd = -EBADF;
        char fdstr[16];
        int pipefd[2];
        pid_t pid;

        if (geteuid() == 0 || !isatty(STDIN_FILENO) || access(PKTTYAGENT, X_OK) < 0)
                return 0;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return 0;
        read_fd = pipefd[0];
        write_fd = pipefd[1];

        pid = fork();
        if (pid < 0)
                return 0;
        if (pid == 0) {
                /* The agent closes the notify fd once it has registered. */
                int fd = fcntl(write_fd, F_DUPFD, 3);

                if (fd < 0)
                        _exit(EXIT_FAILURE);
                snprintf(fdstr, sizeof fdstr, "%d", fd);
                char *argv[] = { (char *) PKTTYAGENT, (char *) "--notify-fd", fdstr, (char *) "--fallback", NULL };
                execve(PKTTYAGENT, argv, environ);
                _exit(EXIT_FAILURE);
        }

        /* Only the agent may hold the write end, so its exit shows as EOF. */
        close(TAKE_FD(write_fd));

        /* EOF means registered or exited; either way, go on with the call. */
        for (;;) {
                struct pollfd p = { .fd = read_fd, .events = POLLIN };
                char c;

                if (poll(&p, 1, 10 * 1000) <= 0)
                        break;
                if (read(read_fd, &c, 1) <= 0)
                        break;
        }

        return pid;
}

void polkit_agent_close(pid_t pid) {
        if (pid <= 0)
                return;

        (void) kill(pid, SIGTERM);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}
