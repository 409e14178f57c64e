/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET / and /static/…: the web UI's files from the web root, nothing else. */
#include <fcntl.h>
#include <sys/stat.h>

#include "api.h"

static const struct {
        const char *suffix, *type;
} content_types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".mjs", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".json", "application/json" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".ico", "image/x-icon" },
        { ".woff2", "font/woff2" },
        { ".txt", "text/plain; charset=utf-8" },
};

static const char *content_type(const char *path) {
        size_t l = strlen(path);
        for (size_t i = 0; i < ELEMENTSOF(content_types); i++) {
                size_t s = strlen(content_types[i].suffix);
                if (l > s && streq(path + l - s, content_types[i].suffix))
                        return content_types[i].type;
        }
        return "application/octet-stream";
}

/* Only plain names joined by '/': no "..", no hidden files, no odd bytes. */
static bool path_is_safe(const char *p) {
        if (isempty(p) || strlen(p) > 255)
                return false;
        for (const char *seg = p; *seg;) {
                size_t l = strcspn(seg, "/");
                if (l == 0 || seg[0] == '.')
                        return false;
                for (size_t i = 0; i < l; i++) {
                        char c = seg[i];
                        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                              c == '.' || c == '-' || c == '_'))
                                return false;
                }
                seg += l;
                if (*seg == '/')
                        seg++;
        }
        return true;
}

void api_static(Request *r) {
        const char *rel = r->path ?: "index.html";
        _cleanup_(freep) char *full = NULL;
        struct stat st;

        if (!r->path) /* "/" is no static path; a marker for the headers */
                r->path = strdup("index.html");
        if (!path_is_safe(rel) || asprintf(&full, "%s/%s", r->gateway->config.web_root, rel) < 0) {
                http_reply_error(r, 404, "not_found", "No such file.", NULL);
                return;
        }
        int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                if (fd >= 0)
                        close(fd);
                http_reply_error(r, 404, "not_found", "No such file.", NULL);
                return;
        }
        struct MHD_Response *resp = MHD_create_response_from_fd((size_t) st.st_size, fd);
        if (!resp) {
                close(fd);
                http_reply_error(r, 500, "failed", "Out of memory.", NULL);
                return;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(rel));
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        http_reply(r, 200, resp);
}
