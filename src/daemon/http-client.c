/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "http-client.h"
#include "log.h"
#include "macro.h"

struct HttpRequest {
        HttpClient *client;
        CURL *easy;
        struct curl_slist *headers;
        char *answer;
        size_t size, allocated, max;
        bool too_big;
        HttpDone done;
        void *userdata;
        HttpRequest *prev, *next;
};

struct HttpClient {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        HttpRequest *requests;
};

static void request_free(HttpRequest *req) {
        HttpClient *c = req->client;

        if (req->easy) {
                curl_multi_remove_handle(c->multi, req->easy);
                curl_easy_cleanup(req->easy);
        }
        for (struct curl_slist *h = req->headers; h; h = h->next)
                explicit_bzero(h->data, strlen(h->data)); /* a DDNS provider's credentials */
        curl_slist_free_all(req->headers);
        free(req->answer);
        if (req->prev)
                req->prev->next = req->next;
        else
                c->requests = req->next;
        if (req->next)
                req->next->prev = req->prev;
        free(req);
}

static int error_of(CURLcode code, const HttpRequest *req) {
        switch (code) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                return -EHOSTUNREACH;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CACERT_BADFILE:
                return -EKEYREJECTED; /* TLS: the server is not who it says */
        case CURLE_WRITE_ERROR:
                return req->too_big ? -EMSGSIZE : -EIO;
        default:
                return -EIO;
        }
}

/* Hands finished transfers to their callers (never from inside a curl callback). */
static void finish_done(HttpClient *c) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(c->multi, &left))) {
                HttpRequest *req = NULL;
                long status = 0;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &req);
                int error = error_of(msg->data.result, req);
                if (error == 0)
                        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
                HttpDone done = req->done;
                void *userdata = req->userdata;
                done(req, error, status, req->answer ? req->answer : "", req->size, userdata);
                request_free(req);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HttpClient *c = userdata;
        int running, flags = 0;

        if (revents & EPOLLIN)
                flags |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(c->multi, fd, flags, &running);
        finish_done(c);
        return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        HttpClient *c = userp;
        sd_event_source *s = socketp;
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                sd_event_source_disable_unref(s);
                curl_multi_assign(c->multi, fd, NULL);
                return 0;
        }
        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;
        if (s)
                return sd_event_source_set_io_events(s, events) < 0 ? -1 : 0;
        if (sd_event_add_io(c->event, &s, fd, events, on_io, c) < 0)
                return -1;
        curl_multi_assign(c->multi, fd, s);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        HttpClient *c = userdata;
        int running;

        curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        finish_done(c);
        return 0;
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userp) {
        HttpClient *c = userp;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(c->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_source_set_time_relative(c->timer, (uint64_t) timeout_ms * 1000) < 0 ||
            sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

int http_client_new(sd_event *event, HttpClient **ret) {
        HttpClient *c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c->multi = curl_multi_init())) {
                free(c);
                return -ENOMEM;
        }
        c->event = sd_event_ref(event);
        /* accuracy 1 µs: sd-event would otherwise coalesce curl's timeouts (often "now") by up to 250 ms */
        int r = sd_event_add_time_relative(event, &c->timer, CLOCK_MONOTONIC, UINT64_MAX / 2, 1, on_timer, c);
        if (r < 0 || (r = sd_event_source_set_enabled(c->timer, SD_EVENT_OFF)) < 0) {
                http_client_free(c);
                return r;
        }
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
        *ret = c;
        return 0;
}

HttpClient *http_client_free(HttpClient *c) {
        if (!c)
                return NULL;
        while (c->requests)
                request_free(c->requests);
        if (c->multi)
                curl_multi_cleanup(c->multi);
        sd_event_source_disable_unref(c->timer);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

static size_t on_data(char *data, size_t size, size_t n, void *userdata) {
        HttpRequest *req = userdata;
        size_t len = size * n;

        if (req->size + len > req->max) {
                req->too_big = true;
                return 0; /* stops the transfer: CURLE_WRITE_ERROR */
        }
        if (greedy_realloc((void **) &req->answer, &req->allocated, req->size + len + 1, 1) < 0)
                return 0;
        memcpy(req->answer + req->size, data, len);
        req->size += len;
        req->answer[req->size] = 0;
        return len;
}

static HttpRequest *request_new(HttpClient *c, size_t max_answer, HttpDone done, void *userdata) {
        HttpRequest *req = calloc(1, sizeof *req);
        if (!req)
                return NULL;
        *req = (HttpRequest) { .client = c, .max = max_answer, .done = done, .userdata = userdata, .next = c->requests };
        if (c->requests)
                c->requests->prev = req;
        c->requests = req;
        req->easy = curl_easy_init();
        return req;
}

/* What every request shares; protocols: the one scheme allowed. */
static bool request_setup(HttpRequest *req, const char *url, const char *protocols, uint64_t timeout_usec) {
        long timeout_ms = (long) (timeout_usec / 1000);
        return req->easy &&
               curl_easy_setopt(req->easy, CURLOPT_URL, url) == CURLE_OK &&
               curl_easy_setopt(req->easy, CURLOPT_PROTOCOLS_STR, protocols) == CURLE_OK &&
               curl_easy_setopt(req->easy, CURLOPT_PROXY, "") == CURLE_OK && /* never one from the environment */
               curl_easy_setopt(req->easy, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
               curl_easy_setopt(req->easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
               curl_easy_setopt(req->easy, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
               curl_easy_setopt(req->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) == CURLE_OK &&
               curl_easy_setopt(req->easy, CURLOPT_USERAGENT, "pic-celld") == CURLE_OK &&
               curl_easy_setopt(req->easy, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
               curl_easy_setopt(req->easy, CURLOPT_WRITEDATA, req) == CURLE_OK &&
               curl_easy_setopt(req->easy, CURLOPT_PRIVATE, req) == CURLE_OK;
}

int http_post(HttpClient *c, const char *host_port, const char *path, const char *body, uint64_t timeout_usec,
              size_t max_answer, HttpDone done, void *userdata, HttpRequest **ret) {
        char url[512];

        if ((size_t) snprintf(url, sizeof url, "http://%s%s", host_port, path) >= sizeof url)
                return -EINVAL;
        HttpRequest *req = request_new(c, max_answer, done, userdata);
        if (!req)
                return -ENOMEM;
        req->headers = curl_slist_append(NULL, "Content-Type: text/plain");
        if (!req->headers || !request_setup(req, url, "http", timeout_usec) ||
            curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers) != CURLE_OK ||
            curl_easy_setopt(req->easy, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK ||
            curl_multi_add_handle(c->multi, req->easy) != CURLM_OK) {
                request_free(req);
                return -ENOMEM;
        }
        if (ret)
                *ret = req;
        return 0;
}

int http_send(HttpClient *c, const HttpCall *call, HttpDone done, void *userdata, HttpRequest **ret) {
        if (!startswith(call->url, "https://"))
                return -EPROTONOSUPPORT;
        HttpRequest *req = request_new(c, call->max_answer, done, userdata);
        if (!req)
                return -ENOMEM;
        bool ok = request_setup(req, call->url, "https", call->timeout_usec) &&
                  curl_easy_setopt(req->easy, CURLOPT_CUSTOMREQUEST, call->method) == CURLE_OK &&
                  curl_easy_setopt(req->easy, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
                  curl_easy_setopt(req->easy, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
                  /* a new connection each time: these are rare, and the address a kept one was made from may be
                   * gone (a DDNS update is sent because it changed; the request would hang until its timeout) */
                  curl_easy_setopt(req->easy, CURLOPT_FRESH_CONNECT, 1L) == CURLE_OK &&
                  curl_easy_setopt(req->easy, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK;
        for (size_t i = 0; ok && call->headers && call->headers[i]; i++) {
                struct curl_slist *l = curl_slist_append(req->headers, call->headers[i]);
                if (!l)
                        ok = false;
                else
                        req->headers = l;
        }
        if (ok && req->headers)
                ok = curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers) == CURLE_OK;
        if (ok && call->body)
                ok = curl_easy_setopt(req->easy, CURLOPT_COPYPOSTFIELDS, call->body) == CURLE_OK;
        if (ok && call->ca_file)
                ok = curl_easy_setopt(req->easy, CURLOPT_CAINFO, call->ca_file) == CURLE_OK;
        if (!ok || curl_multi_add_handle(c->multi, req->easy) != CURLM_OK) {
                request_free(req);
                return -ENOMEM;
        }
        if (ret)
                *ret = req;
        return 0;
}

void http_request_cancel(HttpRequest *req) {
        if (req)
                request_free(req);
}
