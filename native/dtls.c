/*
 * lwm2m_dtls: a small DTLS 1.2 engine for the LwM2M gateway, as an N-API addon.
 *
 * JavaScript owns the UDP socket, the per-peer session map and the timers; this file holds one
 * OpenSSL SSL per peer (until compaction, below). Datagrams go in through listen()/receive() and
 * come out synchronously through the context's `send` callback, from a custom BIO that keeps
 * datagram boundaries.
 *
 * OpenSSL is the copy inside the node binary (node exports its symbols): the addon links no
 * libssl, so its undefined OpenSSL symbols resolve against the executable when it is loaded.
 * The headers are node's own (include/node/openssl), so they match that copy exactly.
 *
 * Ownership: a context's C struct is reference counted: one reference for its JS handle and one
 * per live session, one that still holds an SSL or compacted record state (sessions call the
 * context's callbacks and use its cipher contexts, and an SSL holds the SSL_CTX). The JS handle
 * is a frozen object wrapping the struct, with the callbacks as properties, so the GC sees
 * callback -> closure -> handle cycles; a napi_ref to a callback would be a GC root and keep
 * such a cycle alive forever. The struct reaches the handle through a napi_ref that is weak,
 * and strong while sessions are live, so a context with live sessions stays alive. A session
 * struct (DtlsSession external) lives until its JS handle is collected; close()/free() release
 * its SSL or record state earlier, after which the handle is dead (ctx == NULL) but safe.
 *
 * JS exceptions thrown by the callbacks: OpenSSL is in the middle of a handshake or a read when
 * a callback runs, and N-API refuses most calls while an exception is pending, so the exception
 * is cleared at once (napi_get_and_clear_last_exception) and the callback counts as done (send,
 * data) or as a refusal (psk returns no key). The first such exception is rethrown when the API
 * call returns, after the session state is consistent, so bugs in callbacks are not hidden.
 * Calling the addon on a session from inside that session's own callback throws (OpenSSL is
 * not reentrant, and free() there would pull the SSL from under it).
 *
 * OpenSSL's thread-local error queue is shared with node's own crypto, so every path clears it.
 *
 * Compaction: an idle established server session would hold ~35 KiB inside OpenSSL (the SSL,
 * and the 21 KiB handshake buffer, init_buf, that OpenSSL keeps for DTLS and offers no way to
 * release). Once the handshake is provably over on both sides, that is once the client's first
 * application-data record has been read (a client sends data only after it has our Finished, so
 * no flight of ours can need retransmitting any more), a server session whose suite the compact
 * record layer knows (dtls_record.c: the five the gateway offers) frees its SSL and keeps only
 * its keys, sequence numbers, replay window and a copy of what peerInfo returns; from then on
 * dtls_record.c reads and writes its records. Sequence numbers, which OpenSSL does not expose:
 *  - write: the BIO parses the header of every record OpenSSL writes (each goes out at once);
 *    the compact layer continues after the highest epoch-1 sequence number seen.
 *  - read: from the moment the handshake completes, every epoch-1 application-data or alert
 *    record that reaches the session is also authenticated by the compact layer, beside OpenSSL
 *    ("shadow"), so its replay window holds every such record OpenSSL accepted since then (both
 *    authenticate alike; only authentic records enter the window, and OpenSSL's own window can
 *    reject more, never fewer). Before that the client can only have sent handshake records
 *    (Finished), which a compacted session drops anyway, so their replays are harmless.
 * Client sessions (the tests' and benchmarks' load generators) keep their SSL.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "dtls_record.h"

enum { RECEIVE_FAILED = -1, RECEIVE_OK = 0, RECEIVE_HANDSHAKE_DONE = 1, RECEIVE_CLOSED = 2 };
enum { ST_HANDSHAKE, ST_OPEN, ST_CLOSED, ST_FAILED };

#define IP_UDP_OVERHEAD 28 /* IPv4 + UDP headers, subtracted from the link MTU by OpenSSL */
#define DTLS_HDR 13        /* DTLS record header: type, version(2), epoch(2), seq(6), length(2) */
#define MAX_PLAIN 16384    /* SSL3_RT_MAX_PLAIN_LENGTH: the largest application record */
#define COOKIE_LEN 32      /* HMAC-SHA256 */
#define PEER_MAX 96        /* room for "[IPv6%zone]:port" */

typedef int (*security_fn)(const SSL *, const SSL_CTX *, int, int, int, void *, void *);
typedef struct dtls_session dtls_session;

typedef struct dtls_ctx {
  SSL_CTX *ssl_ctx;
  napi_env env;             /* the env the context was created in; its refs live there */
  napi_ref self;            /* the JS handle: weak, strong while sessions are live */
  napi_ref send_fn, data_fn, psk_fn; /* weak: the handle's properties keep them alive */
  int server;
  long mtu;
  unsigned refs;            /* JS handle + live sessions (SSL or compacted) */
  dtls_session *listener;   /* server: the SSL DTLSv1_listen runs on (holds no ref; lazy) */
  BIO_ADDR *listen_addr;    /* DTLSv1_listen's out-parameter (our BIO knows no address) */
  unsigned char cookie_secret[64];
  size_t cookie_secret_len;
  char *psk_identity;       /* client PSK */
  unsigned char *psk_key;
  size_t psk_key_len;
  security_fn default_sec_cb;
  rl_engine rl;             /* the compact record layer's cipher contexts (server) */
} dtls_ctx;

struct dtls_session {
  dtls_ctx *ctx;            /* NULL once released (SSL and record state freed, ctx reference dropped) */
  SSL *ssl;                 /* NULL once freed: released, or compacted (rec != NULL) */
  rl_state *rec;            /* server, established with a suite dtls_record.c knows: keys and
                               sequence state; with ssl == NULL the session is compacted */
  unsigned char *info;      /* compacted: peerInfo's fields (info_capture) */
  int64_t id;
  int state;
  int busy;                 /* inside an API call: guards against reentrant calls */
  int capture;              /* listen: keep the HelloVerifyRequest instead of sending it */
  int sent_encrypted;       /* an epoch >= 1 record has been written */
  napi_env env;             /* env of the API call in progress (NULL between calls) */
  napi_value exception;     /* first exception a JS callback threw during the call */
  napi_value captured;      /* listen: the HelloVerifyRequest */
  const unsigned char *in;  /* the datagram being fed; the BIO hands it out once, before any */
  size_t in_len;            /* JS callback runs (a callback could detach that Buffer) */
  int in_done;
  int in_epoch1_handshake;  /* it holds an epoch-1 handshake record (see finished_undecryptable) */
  unsigned char *in_copy;   /* a copy of it, when it may complete the handshake and holds epoch-1
                               data or alert records (for the shadow window once keys exist) */
  unsigned delivered;       /* SSL_read returned data during this call */
  uint64_t next_seq0;       /* one past the highest epoch-0 sequence number written */
  uint64_t next_seq1;       /* one past the highest epoch-1 sequence number written */
  uint64_t last_nonce1;     /* the first 8 bytes of that record's body: an AEAD explicit nonce */
  char peer[PEER_MAX];      /* listen: the address string the cookie is bound to */
  char error[256];
};

/* Tags so a DtlsContext can never be taken for a DtlsSession, or any other external for either. */
static const napi_type_tag CTX_TAG = {0x6c776d326d44544cULL, 0x0000000000000c01ULL};
static const napi_type_tag SESSION_TAG = {0x6c776d326d44544cULL, 0x0000000000000502ULL};

static void set_error(dtls_session *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->error, sizeof s->error, fmt, ap); /* truncates; always NUL-terminated */
  va_end(ap);
}

/* Throws (unless an exception is already pending) and returns NULL. */
static napi_value throw_error(napi_env env, int type_error, const char *code, const char *msg) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return NULL;
  if (type_error) napi_throw_type_error(env, code, msg);
  else napi_throw_error(env, code, msg);
  return NULL;
}
#define THROW(env, msg) throw_error((env), 0, NULL, (msg))
#define THROW_TYPE(env, msg) throw_error((env), 1, NULL, (msg))
#define CHECK(env, call) \
  do { if ((call) != napi_ok) return THROW((env), #call); } while (0)

/* An Error carrying OpenSSL's reason for the first queued error; clears the queue. */
static napi_value throw_ssl(napi_env env, const char *what) {
  char msg[320];
  unsigned long e = ERR_peek_error();
  const char *reason = e ? ERR_reason_error_string(e) : NULL;
  snprintf(msg, sizeof msg, "%s: %s", what, reason ? reason : "OpenSSL error");
  ERR_clear_error();
  return throw_error(env, 0, "ERR_DTLS_OPENSSL", msg);
}

/* Calls fn(id, arg) in the session's current env; an exception is cleared and remembered. */
static napi_value call_js(dtls_session *s, napi_ref fn_ref, napi_value arg) {
  napi_env env = s->env;
  napi_value fn, recv, argv[2], result = NULL, exc;
  bool pending = false;
  if (env == NULL || fn_ref == NULL || napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL ||
      napi_get_undefined(env, &recv) != napi_ok || napi_create_int64(env, s->id, &argv[0]) != napi_ok)
    return NULL;
  argv[1] = arg;
  s->in_done = 1; /* from here on the input Buffer may be gone */
  if (napi_call_function(env, recv, fn, 2, argv, &result) != napi_ok) result = NULL;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env, &exc) == napi_ok && s->exception == NULL)
    s->exception = exc;
  return result;
}

static void emit(dtls_session *s, napi_ref fn_ref, const void *bytes, size_t len) {
  napi_value buf;
  if (s->env != NULL && napi_create_buffer_copy(s->env, len, bytes, NULL, &buf) == napi_ok) call_js(s, fn_ref, buf);
}

/* ---- The datagram BIO: read hands OpenSSL the current datagram once; write sends at once. ---- */

static uint64_t record_seq(const unsigned char *p) {
  uint64_t seq = 0;
  for (int i = 5; i < 11; i++) seq = (seq << 8) | p[i];
  return seq;
}

/* Remembers the next epoch-0 sequence number (for the alert of fail_bad_finished), whether
 * encrypted records went out, and the next epoch-1 sequence number and explicit nonce (where a
 * compacted session goes on writing). Only records OpenSSL wrote are parsed. */
static void note_written(dtls_session *s, const unsigned char *p, size_t n) {
  while (n >= DTLS_HDR) {
    size_t len = ((size_t)p[11] << 8) | p[12];
    uint64_t seq = record_seq(p);
    if (p[3] == 0 && p[4] == 0) {
      if (seq + 1 > s->next_seq0) s->next_seq0 = seq + 1;
    } else {
      s->sent_encrypted = 1;
      if (p[3] == 0 && p[4] == 1 && seq + 1 > s->next_seq1) {
        s->next_seq1 = seq + 1;
        s->last_nonce1 = 0;
        for (int i = 0; i < 8 && len >= 8 && n >= DTLS_HDR + 8; i++) s->last_nonce1 = (s->last_nonce1 << 8) | p[DTLS_HDR + i];
      }
    }
    if (len > n - DTLS_HDR) break;
    p += DTLS_HDR + len;
    n -= DTLS_HDR + len;
  }
}

static int bio_write(BIO *b, const char *data, int len) {
  dtls_session *s = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (s == NULL || data == NULL || len < 0) return -1;
  note_written(s, (const unsigned char *)data, (size_t)len);
  if (s->capture) { /* listen writes one HelloVerifyRequest: returned to JS, not sent */
    if (s->captured == NULL && s->env != NULL &&
        napi_create_buffer_copy(s->env, (size_t)len, data, NULL, &s->captured) != napi_ok)
      s->captured = NULL;
  } else if (s->ctx != NULL) {
    emit(s, s->ctx->send_fn, data, (size_t)len);
  }
  return len; /* a datagram is sent whole or lost; send errors are the socket's business */
}

static int bio_read(BIO *b, char *out, int outl) {
  dtls_session *s = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (s == NULL || s->in == NULL || s->in_done || s->in_len == 0 || outl <= 0) {
    BIO_set_retry_read(b); /* "would block": OpenSSL reports SSL_ERROR_WANT_READ */
    return -1;
  }
  /* Like recvfrom() into a short buffer, any excess is discarded (OpenSSL offers > 16 KiB). */
  size_t n = s->in_len < (size_t)outl ? s->in_len : (size_t)outl;
  memcpy(out, s->in, n);
  s->in_done = 1;
  return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  dtls_session *s = BIO_get_data(b);
  (void)num, (void)ptr;
  switch (cmd) {
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU: /* unused with SSL_OP_NO_QUERY_MTU; dgram BIO meaning */
      return s != NULL && s->ctx != NULL ? s->ctx->mtu - IP_UDP_OVERHEAD : 0;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD: return IP_UDP_OVERHEAD; /* link MTU - this = budget */
    case BIO_CTRL_PENDING: return s != NULL && s->in != NULL && !s->in_done ? (long)s->in_len : 0;
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT: /* JS runs the timers (timeoutMs/handleTimeout) */
    case BIO_CTRL_RESET: return 1;
    default: return 0; /* WPENDING, peer address, peek mode, MTU exceeded: none */
  }
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

/* One method per process (worker threads share it); never freed, like OpenSSL's own. */
static void bio_method_init(void) {
  int idx = BIO_get_new_index();
  BIO_METHOD *m = idx < 0 ? NULL : BIO_meth_new(BIO_TYPE_SOURCE_SINK | idx, "lwm2m datagram");
  if (m != NULL && (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
                    !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create))) {
    BIO_meth_free(m);
    m = NULL;
  }
  bio_method = m;
}

/* ---- OpenSSL callbacks ---- */

/* OpenSSL 3.2 and later rate the CCM8 suites (64-bit tags) at security level 0, so the default
 * level 1 refuses them, yet CCM8 is the suite LwM2M (RFC 7925) mandates for constrained devices.
 * (Node 20's OpenSSL 3.0 still allows them; newer node versions ship newer OpenSSL.) Rather than
 * "@SECLEVEL=0", which would also admit weak keys and SHA-1 signatures, this wrapper lets CCM8
 * suites pass and leaves every other check to the default callback. */
static int security_cb(const SSL *ssl, const SSL_CTX *sctx, int op, int bits, int nid, void *other, void *ex) {
  dtls_ctx *c = ex;
  if ((op & SSL_SECOP_OTHER_TYPE) == SSL_SECOP_OTHER_CIPHER && other != NULL) {
    const char *name = SSL_CIPHER_get_name(other);
    if (name != NULL && strstr(name, "CCM8") != NULL) return 1;
  }
  return c->default_sec_cb(ssl, sctx, op, bits, nid, other, ex);
}

/* Stateless cookie (RFC 6347 §4.2.1): HMAC-SHA256(secret, peer address string). */
static int cookie_compute(SSL *ssl, unsigned char mac[COOKIE_LEN]) {
  dtls_session *s = SSL_get_app_data(ssl);
  unsigned int len = 0;
  if (s == NULL || s->ctx == NULL || s->peer[0] == '\0') return 0;
  return HMAC(EVP_sha256(), s->ctx->cookie_secret, (int)s->ctx->cookie_secret_len,
              (const unsigned char *)s->peer, strlen(s->peer), mac, &len) != NULL && len == COOKIE_LEN;
}

static int cookie_generate(SSL *ssl, unsigned char *cookie, unsigned int *cookie_len) {
  unsigned char mac[COOKIE_LEN];
  if (!cookie_compute(ssl, mac)) return 0;
  memcpy(cookie, mac, COOKIE_LEN); /* OpenSSL's buffer holds DTLS1_COOKIE_LENGTH (255) bytes */
  *cookie_len = COOKIE_LEN;
  return 1;
}

static int cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int cookie_len) {
  unsigned char mac[COOKIE_LEN];
  return cookie_len == COOKIE_LEN && cookie_compute(ssl, mac) && CRYPTO_memcmp(mac, cookie, COOKIE_LEN) == 0;
}

/* Server PSK: asks JS psk(id, identity). null, a non-Buffer or a throw refuses the identity, and
 * OpenSSL then fails the handshake with an unknown_psk_identity alert. */
static unsigned int psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_len) {
  dtls_session *s = SSL_get_app_data(ssl);
  napi_value id_str, result;
  bool is_buf = false;
  void *data;
  size_t len;
  if (s == NULL || s->ctx == NULL || s->env == NULL || identity == NULL ||
      napi_create_string_utf8(s->env, identity, NAPI_AUTO_LENGTH, &id_str) != napi_ok ||
      (result = call_js(s, s->ctx->psk_fn, id_str)) == NULL ||
      napi_is_buffer(s->env, result, &is_buf) != napi_ok || !is_buf ||
      napi_get_buffer_info(s->env, result, &data, &len) != napi_ok)
    return 0;
  if (len == 0 || len > max_len) {
    set_error(s, "psk callback returned a key of %zu bytes (1..%u allowed)", len, max_len);
    return 0;
  }
  memcpy(psk, data, len);
  return (unsigned int)len;
}

static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
                                  unsigned char *psk, unsigned int max_psk_len) {
  dtls_session *s = SSL_get_app_data(ssl);
  dtls_ctx *c = s != NULL ? s->ctx : NULL;
  (void)hint;
  if (c == NULL || c->psk_identity == NULL || c->psk_key == NULL) return 0;
  size_t id_len = strlen(c->psk_identity);
  if (id_len + 1 > max_identity_len || c->psk_key_len > max_psk_len) return 0;
  memcpy(identity, c->psk_identity, id_len + 1);
  memcpy(psk, c->psk_key, c->psk_key_len);
  return (unsigned int)c->psk_key_len;
}

/* For lastError: the first fatal alert sent or received, or close_notify. */
static void info_cb(const SSL *ssl, int where, int ret) {
  dtls_session *s;
  if (!(where & SSL_CB_ALERT) || (s = SSL_get_app_data(ssl)) == NULL) return;
  int fatal = (ret >> 8) == SSL3_AL_FATAL;
  if (!fatal && (ret & 0xff) != SSL3_AD_CLOSE_NOTIFY) return; /* other warnings don't matter */
  if (s->error[0] != '\0' && !(fatal && strstr(s->error, "close notify") != NULL)) return;
  set_error(s, "%s alert: %s", (where & SSL_CB_READ) ? "received" : "sent", SSL_alert_desc_string_long(ret));
}

/* ---- Contexts and sessions ---- */

static void ctx_unref(dtls_ctx *c) {
  if (c == NULL || --c->refs > 0) return;
  SSL_CTX_free(c->ssl_ctx); /* NULL-safe, like the other *_free calls */
  rl_engine_free(&c->rl);
  if (c->self) napi_delete_reference(c->env, c->self);
  if (c->send_fn) napi_delete_reference(c->env, c->send_fn);
  if (c->data_fn) napi_delete_reference(c->env, c->data_fn);
  if (c->psk_fn) napi_delete_reference(c->env, c->psk_fn);
  BIO_ADDR_free(c->listen_addr);
  OPENSSL_cleanse(c->cookie_secret, sizeof c->cookie_secret);
  if (c->psk_key) OPENSSL_cleanse(c->psk_key, c->psk_key_len);
  free(c->psk_key);
  free(c->psk_identity);
  free(c);
}

/* A live session (SSL or compacted record state) holds its context, C struct and JS handle. */
static void ctx_hold(dtls_ctx *c) {
  c->refs++;
  napi_reference_ref(c->env, c->self, NULL);
}

/* A new SSL with our BIO, in server or client state. Takes no context reference. */
static dtls_session *session_new(dtls_ctx *c) {
  dtls_session *s = calloc(1, sizeof *s);
  SSL *ssl = s != NULL ? SSL_new(c->ssl_ctx) : NULL;
  BIO *bio = ssl != NULL ? BIO_new(bio_method) : NULL;
  if (bio == NULL) {
    SSL_free(ssl);
    free(s);
    return NULL;
  }
  BIO_set_data(bio, s);
  SSL_set_bio(ssl, bio, bio); /* the SSL owns the BIO (one reference serves both directions) */
  if (!SSL_set_app_data(ssl, s) || !DTLS_set_link_mtu(ssl, c->mtu)) {
    SSL_free(ssl);
    free(s);
    return NULL;
  }
  if (c->server) SSL_set_accept_state(ssl);
  else SSL_set_connect_state(ssl);
  s->ssl = ssl;
  s->ctx = c;
  s->state = ST_HANDSHAKE;
  return s;
}

static void rec_free(dtls_session *s) {
  if (s->rec != NULL) OPENSSL_cleanse(s->rec, sizeof *s->rec);
  free(s->rec);
  s->rec = NULL;
}

/* Frees the SSL or the compact record state and drops the session's context reference. Idempotent. */
static void session_release(dtls_session *s) {
  if (s->ctx == NULL) return;
  SSL_free(s->ssl); /* NULL when compacted */
  s->ssl = NULL;
  rec_free(s);
  free(s->info);
  s->info = NULL;
  free(s->in_copy); /* only set during a call */
  s->in_copy = NULL;
  if (s->state != ST_CLOSED) s->state = ST_FAILED;
  dtls_ctx *c = s->ctx;
  s->ctx = NULL;
  napi_reference_unref(c->env, c->self, NULL);
  ctx_unref(c);
}

static void listener_free(dtls_ctx *c) {
  if (c->listener == NULL) return;
  SSL_free(c->listener->ssl);
  free(c->listener);
  c->listener = NULL;
}

static void ctx_finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  listener_free(data); /* only listen(ctx) uses it, and the handle is gone */
  ctx_unref(data);
}

static void session_finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  session_release(data);
  free(data);
}

/* Marks the session failed, keeping the alert already recorded and adding OpenSSL's reason. */
static void fail(dtls_session *s) {
  unsigned long e = ERR_peek_error();
  const char *reason = e ? ERR_reason_error_string(e) : NULL;
  char verify[128] = "";
  if (e && ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED && s->ssl)
    snprintf(verify, sizeof verify, ": %s", X509_verify_cert_error_string(SSL_get_verify_result(s->ssl)));
  if (s->error[0] == '\0') {
    set_error(s, "%s%s", reason ? reason : "handshake failed", verify);
  } else if (reason && strchr(s->error, '(') == NULL) {
    size_t used = strlen(s->error);
    snprintf(s->error + used, sizeof s->error - used, " (%s%s)", reason, verify);
  }
  s->state = ST_FAILED;
  ERR_clear_error();
}

/* Whether a datagram holds a complete epoch-1 handshake record (an encrypted Finished). */
static int has_epoch1_handshake(const unsigned char *p, size_t n) {
  while (n >= DTLS_HDR) {
    size_t len = ((size_t)p[11] << 8) | p[12];
    if (len > n - DTLS_HDR) break;
    if (p[0] == SSL3_RT_HANDSHAKE && p[3] == 0 && p[4] == 1) return 1;
    p += DTLS_HDR + len;
    n -= DTLS_HDR + len;
  }
  return 0;
}

/* Whether a datagram holds an epoch-1 application-data or alert record. */
static int has_epoch1_other(const unsigned char *p, size_t n) {
  while (n >= DTLS_HDR) {
    size_t len = ((size_t)p[11] << 8) | p[12];
    if (len > n - DTLS_HDR) break;
    if ((p[0] == SSL3_RT_APPLICATION_DATA || p[0] == SSL3_RT_ALERT) && p[3] == 0 && p[4] == 1) return 1;
    p += DTLS_HDR + len;
    n -= DTLS_HDR + len;
  }
  return 0;
}

/* OpenSSL silently drops a record that fails to decrypt, as RFC 6347 §4.1.2.7 asks, even the
 * peer's Finished: with a wrong PSK the handshake would stall until the retransmissions run out
 * (about a minute). Like mbedTLS, treat an undecryptable Finished as fatal: the session has read
 * the peer's ChangeCipherSpec and still waits for Finished after a datagram that carried an
 * epoch-1 handshake record. (Renegotiation is off, so epoch 1 is the only encrypted epoch.) */
static int finished_undecryptable(dtls_session *s) {
  OSSL_HANDSHAKE_STATE st = SSL_get_state(s->ssl);
  return s->in_epoch1_handshake && (st == TLS_ST_SR_CHANGE || st == TLS_ST_CR_CHANGE);
}

/* A server waiting for the client's Finished has not sent its ChangeCipherSpec yet, so its alert
 * goes out in plaintext epoch 0; OpenSSL cannot be asked to send one here, so the record is built
 * here, numbered after the last epoch-0 record sent. A client (already in epoch 1) fails quietly. */
static void fail_bad_finished(dtls_session *s) {
  const char *why = "bad record mac (the peer's Finished did not decrypt: wrong key?)";
  if (s->ctx != NULL && s->ctx->server && !s->sent_encrypted) {
    unsigned char a[DTLS_HDR + 2] = {SSL3_RT_ALERT, DTLS1_2_VERSION >> 8, DTLS1_2_VERSION & 0xff};
    for (int i = 0; i < 6; i++) a[5 + i] = (unsigned char)(s->next_seq0 >> (8 * (5 - i)));
    a[12] = 2; /* length */
    a[13] = SSL3_AL_FATAL;
    a[14] = SSL3_AD_BAD_RECORD_MAC;
    emit(s, s->ctx->send_fn, a, sizeof a);
    set_error(s, "sent alert: %s", why);
  } else {
    set_error(s, "%s", why);
  }
  s->state = ST_FAILED;
}

static int records(dtls_session *s, const unsigned char *data, size_t len, int deliver);

/* A server session just established: derives the compact record layer's keys, when it knows the
 * suite, and starts the shadow replay window with this call's datagram (see "Compaction"). */
static void rec_setup(dtls_session *s) {
  int kind = rl_kind_of(SSL_get_current_cipher(s->ssl));
  SSL_SESSION *session = SSL_get_session(s->ssl);
  if (kind < 0 || session == NULL || (s->rec = malloc(sizeof *s->rec)) == NULL) return;
  if (!rl_derive(&s->ctx->rl, s->rec, s->ssl, kind, 1)) {
    rec_free(s); /* stays an OpenSSL session */
    return;
  }
  uint8_t mfl = SSL_SESSION_get_max_fragment_length(session); /* 1..4: 512 << (mfl - 1) */
  if (mfl >= TLSEXT_max_fragment_length_512 && mfl <= TLSEXT_max_fragment_length_4096)
    s->rec->max_plain = (uint16_t)(512u << (mfl - 1));
  if (s->in_copy != NULL) records(s, s->in_copy, s->in_len, 0);
}

/* Advances the handshake with whatever the BIO holds (or OpenSSL buffered). */
static int step_handshake(dtls_session *s) {
  ERR_clear_error();
  int r = SSL_do_handshake(s->ssl);
  if (r == 1) {
    s->state = ST_OPEN;
    if (s->ctx->server) rec_setup(s);
    ERR_clear_error();
    return RECEIVE_HANDSHAKE_DONE;
  }
  int e = SSL_get_error(s->ssl, r);
  if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
    fail(s);
    return RECEIVE_FAILED;
  }
  ERR_clear_error();
  if (!finished_undecryptable(s)) return RECEIVE_OK;
  fail_bad_finished(s);
  return RECEIVE_FAILED;
}

/* Reads every application record the datagram (or OpenSSL's buffer) holds, one `data` each. */
static int read_app(dtls_session *s) {
  unsigned char buf[MAX_PLAIN]; /* a record never holds more, so one SSL_read is one record */
  for (;;) {
    ERR_clear_error();
    int n = SSL_read(s->ssl, buf, sizeof buf);
    if (n > 0) {
      s->delivered++;
      emit(s, s->ctx->data_fn, buf, (size_t)n);
      continue;
    }
    int e = SSL_get_error(s->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      return RECEIVE_OK; /* also garbage, bad MACs and replays: dropped by OpenSSL */
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
      s->state = ST_CLOSED;
      ERR_clear_error();
      return RECEIVE_CLOSED;
    }
    fail(s);
    return RECEIVE_FAILED;
  }
}

/* ---- The compact record layer's side of a session (see "Compaction") ---- */

/* Runs a datagram's epoch-1 application-data and alert records through dtls_record.c. deliver 0
 * (shadow, beside OpenSSL): authentic records only enter the replay window. deliver 1 (a
 * compacted session): data goes to `data`, close_notify closes, a fatal alert fails the
 * session. Everything else is dropped silently, as OpenSSL drops it after the handshake: other
 * epochs, handshake and ChangeCipherSpec records, other versions, bad lengths, records that do
 * not authenticate, replays and records older than the window. The datagram is copied first
 * (decryption works in place, and a callback could detach the caller's Buffer). */
static int records(dtls_session *s, const unsigned char *data, size_t len, int deliver) {
  unsigned char stack_buf[2048];
  unsigned char *buf = len <= sizeof stack_buf ? stack_buf : malloc(len);
  rl_state *st = s->rec;
  int r = RECEIVE_OK;
  if (buf == NULL) return RECEIVE_OK; /* out of memory: lost, like a datagram on the wire */
  memcpy(buf, data, len);
  for (size_t off = 0; r == RECEIVE_OK && len - off >= DTLS_HDR;) {
    unsigned char *h = buf + off, *plain = NULL;
    size_t rlen = ((size_t)h[11] << 8) | h[12];
    if (rlen > len - off - DTLS_HDR) break; /* a record cut short: the rest is dropped */
    off += DTLS_HDR + rlen;
    int type = h[0];
    uint64_t seq = record_seq(h);
    if (h[3] != 0 || h[4] != 1 || (type != SSL3_RT_APPLICATION_DATA && type != SSL3_RT_ALERT)) continue;
    /* OpenSSL tolerates another minor version on alerts only */
    if (h[1] != (DTLS1_2_VERSION >> 8) || (type != SSL3_RT_ALERT && h[2] != (DTLS1_2_VERSION & 0xff))) continue;
    if (!rl_fresh(st, seq)) continue;
    long n = rl_open(&s->ctx->rl, st, h, h + DTLS_HDR, rlen, &plain);
    if (n < 0) continue;
    rl_mark(st, seq);
    if (!deliver) continue;
    if (type == SSL3_RT_APPLICATION_DATA) {
      if (n > 0) emit(s, s->ctx->data_fn, plain, (size_t)n);
    } else if (n == 2 && plain[0] == SSL3_AL_WARNING && plain[1] == SSL3_AD_CLOSE_NOTIFY) {
      if (s->error[0] == '\0') set_error(s, "received alert: close notify");
      s->state = ST_CLOSED;
      r = RECEIVE_CLOSED;
    } else if (n == 2 && plain[0] == SSL3_AL_FATAL) {
      /* As the OpenSSL path words it: "received alert: <description> (<OpenSSL's reason>)". */
      const char *reason = ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, SSL_AD_REASON_OFFSET + plain[1]));
      if (s->error[0] == '\0' || strstr(s->error, "close notify") != NULL)
        set_error(s, "received alert: %s%s%s%s", SSL_alert_desc_string_long(plain[1]), reason ? " (" : "",
                  reason ? reason : "", reason ? ")" : "");
      s->state = ST_FAILED;
      r = RECEIVE_FAILED;
    } /* other warnings and malformed alerts: ignored */
  }
  if (buf != stack_buf) free(buf);
  return r;
}

/* Seals one record and sends it; 0 when sealing failed (the session is then failed). */
static int rec_send(dtls_session *s, int type, const unsigned char *plain, size_t n) {
  napi_value buf;
  void *out = NULL;
  size_t size = rl_sealed_size(s->rec, n);
  if (napi_create_buffer(s->env, size, &out, &buf) != napi_ok ||
      !rl_seal(&s->ctx->rl, s->rec, type, plain, n, out)) {
    set_error(s, "%s", s->rec->write_seq > RL_SEQ_MAX ? "sequence numbers exhausted" : "record encryption failed");
    s->state = ST_FAILED;
    return 0;
  }
  call_js(s, s->ctx->send_fn, buf);
  return 1;
}

/* peerInfo's fields, captured so that they outlive the SSL: entries of a tag byte, a 4-byte
 * length and the bytes, then a 0 tag. */
enum { INFO_END, INFO_CIPHER, INFO_VERSION, INFO_PSK_IDENTITY, INFO_CERT_CN, INFO_CERT_SAN_URI };

typedef struct {
  unsigned char *p;
  size_t len, cap;
  int ok;
} info_buf;

static void info_add(info_buf *b, int tag, const void *str, size_t len) {
  if (!b->ok) return;
  if (len > UINT32_MAX || b->cap - b->len < len + 6) { /* +1 for the end tag */
    size_t cap = b->cap * 2 + len + 6;
    unsigned char *p = len <= UINT32_MAX ? realloc(b->p, cap) : NULL;
    if (p == NULL) {
      b->ok = 0;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  b->p[b->len] = (unsigned char)tag;
  for (int i = 0; i < 4; i++) b->p[b->len + 1 + i] = (unsigned char)(len >> (8 * (3 - i)));
  if (len > 0) memcpy(b->p + b->len + 5, str, len);
  b->len += 5 + len;
}

/* The fields of an established SSL: cipher, version, PSK identity, and the subject CN and SAN
 * URIs of a verified peer certificate. A malloc'd blob (shrunk to fit), or NULL when out of memory. */
static unsigned char *info_capture(SSL *ssl) {
  info_buf b = {NULL, 0, 0, 1};
  const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
  const char *name = cipher != NULL ? SSL_CIPHER_get_name(cipher) : "";
  const char *version = SSL_get_version(ssl);
  const char *psk_identity = SSL_get_psk_identity(ssl);
  X509 *cert = SSL_get0_peer_certificate(ssl); /* borrowed, not a new reference */
  info_add(&b, INFO_CIPHER, name, strlen(name));
  info_add(&b, INFO_VERSION, version, strlen(version));
  if (psk_identity != NULL) info_add(&b, INFO_PSK_IDENTITY, psk_identity, strlen(psk_identity));
  if (cert != NULL && SSL_get_verify_result(ssl) == X509_V_OK) {
    X509_NAME *subject = X509_get_subject_name(cert);
    int idx = subject != NULL ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
    if (idx >= 0) {
      unsigned char *cn = NULL;
      int n = ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
      if (n >= 0) info_add(&b, INFO_CERT_CN, cn, (size_t)n);
      OPENSSL_free(cn);
    }
    GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
      const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type != GEN_URI) continue;
      const ASN1_STRING *uri = gn->d.uniformResourceIdentifier;
      info_add(&b, INFO_CERT_SAN_URI, ASN1_STRING_get0_data(uri), (size_t)ASN1_STRING_length(uri));
    }
    GENERAL_NAMES_free(sans);
  }
  if (!b.ok) { /* (info_add always leaves room for the end tag) */
    free(b.p);
    return NULL;
  }
  b.p[b.len] = INFO_END;
  unsigned char *fit = realloc(b.p, b.len + 1);
  return fit != NULL ? fit : b.p;
}

static int set_str(napi_env env, napi_value obj, const char *name, const char *str, size_t len);

/* The peerInfo object of a captured blob. */
static napi_value info_object(napi_env env, const unsigned char *p) {
  static const char *names[] = {NULL, "cipher", "version", "pskIdentity", "certSubjectCn"};
  napi_value obj, uris = NULL;
  uint32_t k = 0;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  for (int tag; (tag = *p) != INFO_END;) {
    size_t len = ((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
    const char *str = (const char *)p + 5;
    p += 5 + len;
    if (tag != INFO_CERT_SAN_URI) {
      if (!set_str(env, obj, names[tag], str, len)) return NULL;
      continue;
    }
    napi_value v;
    if ((uris == NULL && napi_create_array(env, &uris) != napi_ok) ||
        napi_create_string_utf8(env, str, len, &v) != napi_ok || napi_set_element(env, uris, k++, v) != napi_ok)
      return NULL;
  }
  if (uris != NULL && napi_set_named_property(env, obj, "certSanUris", uris) != napi_ok) return NULL;
  return obj;
}

/* Frees the SSL of an established server session whose handshake is provably over (its first
 * application data has been read) and keeps the compact state; see "Compaction". */
static void compact(dtls_session *s) {
  if (s->next_seq1 == 0) return; /* no epoch-1 record of ours seen: leave it to OpenSSL */
  unsigned char *info = info_capture(s->ssl);
  if (info == NULL) return;
  s->info = info;
  s->rec->write_seq = s->next_seq1;
  s->rec->write_nonce = s->last_nonce1 + 1; /* GCM (see dtls_record.h) */
  SSL_free(s->ssl);
  s->ssl = NULL;
  ERR_clear_error();
}

/* ---- Argument helpers ---- */

/* The struct behind a DtlsContext (wrapped object) or DtlsSession (external); NULL otherwise. */
static void *get_tagged(napi_env env, napi_value v, const napi_type_tag *tag) {
  bool ok = false;
  napi_valuetype t;
  void *p = NULL;
  napi_valuetype want = tag == &CTX_TAG ? napi_object : napi_external;
  if (napi_typeof(env, v, &t) != napi_ok || t != want || napi_check_object_type_tag(env, v, tag, &ok) != napi_ok || !ok ||
      (want == napi_object ? napi_unwrap(env, v, &p) : napi_get_value_external(env, v, &p)) != napi_ok)
    return NULL;
  return p;
}

static int get_buffer(napi_env env, napi_value v, const unsigned char **data, size_t *len) {
  bool is_buf = false;
  void *d = NULL;
  if (napi_is_buffer(env, v, &is_buf) != napi_ok || !is_buf || napi_get_buffer_info(env, v, &d, len) != napi_ok) return 0;
  *data = d;
  return 1;
}

/* Reads property `name`; null counts as undefined. */
static int get_prop(napi_env env, napi_value obj, const char *name, napi_value *v, napi_valuetype *type) {
  if (napi_get_named_property(env, obj, name, v) != napi_ok || napi_typeof(env, *v, type) != napi_ok) return 0;
  if (*type == napi_null) *type = napi_undefined;
  return 1;
}

/* A malloc'd NUL-terminated copy of a JS string of at most `max` bytes; NULL otherwise. */
static char *dup_string(napi_env env, napi_value v, size_t max) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok || len > max) return NULL;
  char *str = malloc(len + 1);
  if (str != NULL && napi_get_value_string_utf8(env, v, str, len + 1, &len) != napi_ok) {
    free(str);
    return NULL;
  }
  return str;
}

/* Parses (session, ...): the session if it is one and not busy, else NULL with a throw. */
static dtls_session *session_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  dtls_session *s;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) THROW_TYPE(env, "missing arguments");
  else if ((s = get_tagged(env, argv[0], &SESSION_TAG)) == NULL) THROW_TYPE(env, "expected a DtlsSession");
  else if (s->busy) throw_error(env, 0, "ERR_DTLS_REENTRANT", "DTLS session used from inside its own callback");
  else return s;
  return NULL;
}

/* An API call on a session starts: the BIO and the callbacks use this env. An established
 * session gets back the record buffers end_call took (OpenSSL 3.0's DTLS write path does not
 * allocate them itself); 0 when that fails (out of memory). */
static int begin_call(dtls_session *s, napi_env env, const unsigned char *in, size_t in_len) {
  if (s->ssl != NULL && s->state == ST_OPEN && !SSL_alloc_buffers(s->ssl)) {
    ERR_clear_error();
    THROW(env, "out of memory");
    return 0;
  }
  /* A datagram that may complete a server's handshake and carries epoch-1 data or alerts (no
   * legitimate client sends those before our Finished): kept for rec_setup's shadow window. */
  if (in != NULL && s->state == ST_HANDSHAKE && s->ctx != NULL && s->ctx->server && has_epoch1_other(in, in_len) &&
      (s->in_copy = malloc(in_len)) != NULL)
    memcpy(s->in_copy, in, in_len);
  s->busy = 1;
  s->env = env;
  s->exception = NULL;
  s->delivered = 0;
  s->in = in;
  s->in_len = in_len;
  s->in_done = 0;
  s->in_epoch1_handshake = in != NULL && s->state == ST_HANDSHAKE && has_epoch1_handshake(in, in_len);
  return 1;
}

/* It ends: rethrows a callback's exception (returns 1 when it did). An established session
 * gives its ~33 KiB of record buffers back (SSL_MODE_RELEASE_BUFFERS does that for TLS only in
 * OpenSSL 3.0); SSL_free_buffers refuses while a record is only partly processed. */
static int end_call(dtls_session *s, napi_env env) {
  napi_value exc = s->exception;
  if (s->ssl != NULL && s->state == ST_OPEN) SSL_free_buffers(s->ssl);
  s->busy = 0;
  s->env = NULL;
  s->exception = NULL;
  s->in = NULL;
  s->in_epoch1_handshake = 0;
  free(s->in_copy);
  s->in_copy = NULL;
  ERR_clear_error();
  return exc != NULL && napi_throw(env, exc) == napi_ok;
}

/* The session's JS handle, or NULL with a throw and s's SSL released; s itself is freed here
 * when no external was made, else later by its finalizer. */
static napi_value wrap_session(napi_env env, dtls_session *s) {
  napi_value v;
  if (napi_create_external(env, s, session_finalize, NULL, &v) != napi_ok) {
    session_release(s);
    free(s);
    return THROW(env, "napi_create_external");
  }
  if (napi_type_tag_object(env, v, &SESSION_TAG) != napi_ok) {
    session_release(s);
    return THROW(env, "napi_type_tag_object");
  }
  return v;
}

static napi_value number(napi_env env, double n) {
  napi_value v;
  return napi_create_double(env, n, &v) == napi_ok ? v : NULL;
}

static napi_value boolean(napi_env env, int b) {
  napi_value v;
  return napi_get_boolean(env, b != 0, &v) == napi_ok ? v : NULL;
}

/* ---- createContext ---- */

static int pem_no_password(char *buf, int size, int rwflag, void *u) {
  (void)buf, (void)size, (void)rwflag, (void)u;
  return -1; /* never prompt on the terminal for an encrypted key */
}

static BIO *mem_bio(napi_env env, napi_value v, const char *name) {
  const unsigned char *data;
  size_t len;
  char msg[64];
  if (!get_buffer(env, v, &data, &len) || len > INT_MAX) {
    snprintf(msg, sizeof msg, "options.%s must be a Buffer", name);
    THROW_TYPE(env, msg);
    return NULL;
  }
  BIO *b = BIO_new_mem_buf(data, (int)len); /* read-only view: the Buffer outlives it */
  if (b == NULL) throw_ssl(env, name);
  return b;
}

/* True when the PEM reader stopped at the end of the input rather than at a broken block. */
static int pem_at_end(void) {
  unsigned long e = ERR_peek_last_error();
  if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE) return 0;
  ERR_clear_error();
  return 1;
}

/* Loads the PEM chain (leaf first) and its key; 0 with a throw on failure. */
static int load_cert_key(napi_env env, SSL_CTX *sctx, napi_value cert_v, napi_value key_v) {
  int ok = 0;
  X509 *x = NULL;
  EVP_PKEY *pkey = NULL;
  BIO *b = mem_bio(env, cert_v, "cert");
  if (b == NULL) return 0;
  if ((x = PEM_read_bio_X509_AUX(b, NULL, pem_no_password, NULL)) == NULL || !SSL_CTX_use_certificate(sctx, x)) {
    throw_ssl(env, "cert");
    goto out;
  }
  X509_free(x); /* SSL_CTX_use_certificate took its own reference */
  while ((x = PEM_read_bio_X509(b, NULL, pem_no_password, NULL)) != NULL) {
    if (!SSL_CTX_add0_chain_cert(sctx, x)) { /* add0 owns x only on success */
      throw_ssl(env, "cert chain");
      goto out;
    }
  }
  if (!pem_at_end()) {
    throw_ssl(env, "cert chain");
    goto out;
  }
  BIO_free(b);
  if ((b = mem_bio(env, key_v, "key")) == NULL) goto out;
  if ((pkey = PEM_read_bio_PrivateKey(b, NULL, pem_no_password, NULL)) == NULL ||
      !SSL_CTX_use_PrivateKey(sctx, pkey) || !SSL_CTX_check_private_key(sctx)) {
    throw_ssl(env, "key");
    goto out;
  }
  ok = 1;
out:
  if (!ok) X509_free(x); /* x is still ours only on the failure paths (NULL-safe) */
  EVP_PKEY_free(pkey);
  BIO_free(b);
  return ok;
}

static int load_ca(napi_env env, SSL_CTX *sctx, napi_value ca_v) {
  X509_STORE *store = SSL_CTX_get_cert_store(sctx);
  X509 *x;
  int count = 0, added = 1;
  BIO *b = mem_bio(env, ca_v, "ca");
  if (b == NULL) return 0;
  while (added && (x = PEM_read_bio_X509(b, NULL, pem_no_password, NULL)) != NULL) {
    added = X509_STORE_add_cert(store, x); /* takes its own reference */
    X509_free(x);
    count++;
  }
  BIO_free(b);
  if (!added || !pem_at_end()) return throw_ssl(env, "ca"), 0;
  if (count == 0) return throw_error(env, 0, "ERR_DTLS_OPENSSL", "ca: no certificate found"), 0;
  return 1;
}

#define FAIL_TYPE(msg) return THROW_TYPE(env, msg), 0
#define FAIL_SSL(what) return throw_ssl(env, what), 0
#define PROP(name) if (!get_prop(env, o, name, &v, &t)) return THROW(env, "options." name), 0

/* Builds the SSL_CTX from the options; 0 with a throw (the caller frees `c`). */
static int configure(napi_env env, dtls_ctx *c, napi_value o) {
  napi_value v, key_v;
  napi_valuetype t, key_t;
  char mode[8] = "";
  size_t len;
  const unsigned char *bytes;

  PROP("mode");
  if (t != napi_string || napi_get_value_string_utf8(env, v, mode, sizeof mode, &len) != napi_ok ||
      (strcmp(mode, "server") != 0 && strcmp(mode, "client") != 0))
    FAIL_TYPE("options.mode must be 'server' or 'client'");
  c->server = strcmp(mode, "server") == 0;
  SSL_CTX *sctx = c->ssl_ctx = SSL_CTX_new(c->server ? DTLS_server_method() : DTLS_client_method());
  if (sctx == NULL) FAIL_SSL("SSL_CTX_new");
  if (!SSL_CTX_set_min_proto_version(sctx, DTLS1_2_VERSION) || !SSL_CTX_set_max_proto_version(sctx, DTLS1_2_VERSION))
    FAIL_SSL("DTLS 1.2");
  /* JS sets the MTU (no socket to query). No tickets, cache or renegotiation: every session is
   * one full handshake whose state lives only in its SSL, freed with it. No encrypt-then-MAC:
   * OpenSSL 3.0's DTLS code turns a bad MAC under ETM (CBC suites) into a fatal alert, so one
   * forged record from a spoofed address would kill an established session; under MAC-then-
   * encrypt it drops the record silently (RFC 6347 §4.1.2.7), in constant time. AEAD: unaffected. */
  SSL_CTX_set_options(sctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_ENCRYPT_THEN_MAC);
  SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(sctx, SSL_MODE_RELEASE_BUFFERS); /* TLS only in 3.0; see end_call */
  if ((c->default_sec_cb = SSL_CTX_get_security_callback(sctx)) == NULL) return THROW(env, "no security callback"), 0;
  SSL_CTX_set_security_callback(sctx, security_cb);
  SSL_CTX_set0_security_ex_data(sctx, c);
  SSL_CTX_set_info_callback(sctx, info_cb);

  PROP("ciphers");
  char *ciphers = t == napi_string ? dup_string(env, v, 4096) : NULL;
  if (ciphers == NULL) FAIL_TYPE("options.ciphers must be a string of at most 4096 bytes");
  int cipher_ok = SSL_CTX_set_cipher_list(sctx, ciphers);
  free(ciphers);
  if (!cipher_ok) FAIL_SSL("ciphers");

  if (!get_prop(env, o, "key", &key_v, &key_t)) return THROW(env, "options.key"), 0;
  PROP("cert");
  if ((t == napi_undefined) != (key_t == napi_undefined)) FAIL_TYPE("options.cert and options.key go together");
  if (t != napi_undefined && !load_cert_key(env, sctx, v, key_v)) return 0;
  PROP("ca");
  if (t != napi_undefined && !load_ca(env, sctx, v)) return 0;

  bool verify_peer = false;
  PROP("verifyPeer");
  if (t != napi_boolean || napi_get_value_bool(env, v, &verify_peer) != napi_ok) FAIL_TYPE("options.verifyPeer must be a boolean");
  SSL_CTX_set_verify(sctx, !verify_peer ? SSL_VERIFY_NONE
                           : c->server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER, NULL);

  double mtu = 1280;
  PROP("mtu");
  if (t != napi_undefined && (t != napi_number || napi_get_value_double(env, v, &mtu) != napi_ok))
    FAIL_TYPE("options.mtu must be a number");
  if (!(mtu >= 256 && mtu <= 65535) || mtu != (double)(long)mtu) /* OpenSSL's floor is 256 */
    FAIL_TYPE("options.mtu must be an integer in 256..65535");
  c->mtu = (long)mtu;

  if (c->server) {
    PROP("cookieSecret");
    if (t == napi_undefined) { /* a random per-context secret: cookies die with the context */
      c->cookie_secret_len = 32;
      if (RAND_bytes(c->cookie_secret, 32) != 1) FAIL_SSL("RAND_bytes");
    } else if (!get_buffer(env, v, &bytes, &len) || len < 16 || len > sizeof c->cookie_secret) {
      FAIL_TYPE("options.cookieSecret must be a Buffer of 16..64 bytes");
    } else {
      memcpy(c->cookie_secret, bytes, len);
      c->cookie_secret_len = len;
    }
    SSL_CTX_set_cookie_generate_cb(sctx, cookie_generate);
    SSL_CTX_set_cookie_verify_cb(sctx, cookie_verify);
    if ((c->listen_addr = BIO_ADDR_new()) == NULL) FAIL_SSL("BIO_ADDR_new");
    PROP("psk");
    if (t != napi_undefined && (t != napi_function || napi_create_reference(env, v, 0, &c->psk_fn) != napi_ok))
      FAIL_TYPE("options.psk must be a function");
    if (c->psk_fn != NULL) SSL_CTX_set_psk_server_callback(sctx, psk_server_cb); /* else no PSK suite is offered */
  } else {
    if (!get_prop(env, o, "pskKey", &key_v, &key_t)) return THROW(env, "options.pskKey"), 0;
    PROP("pskIdentity");
    if ((t == napi_undefined) != (key_t == napi_undefined)) FAIL_TYPE("options.pskIdentity and options.pskKey go together");
    if (t != napi_undefined) {
      if (t != napi_string || (c->psk_identity = dup_string(env, v, 128)) == NULL)
        FAIL_TYPE("options.pskIdentity must be a string of at most 128 bytes");
      if (!get_buffer(env, key_v, &bytes, &len) || len == 0 || len > PSK_MAX_PSK_LEN)
        FAIL_TYPE("options.pskKey must be a Buffer of 1..512 bytes");
      if ((c->psk_key = malloc(len)) == NULL) return THROW(env, "out of memory"), 0;
      memcpy(c->psk_key, bytes, len);
      c->psk_key_len = len;
      SSL_CTX_set_psk_client_callback(sctx, psk_client_cb);
    }
  }

  PROP("send");
  if (t != napi_function || napi_create_reference(env, v, 0, &c->send_fn) != napi_ok) FAIL_TYPE("options.send must be a function");
  PROP("data");
  if (t != napi_function || napi_create_reference(env, v, 0, &c->data_fn) != napi_ok) FAIL_TYPE("options.data must be a function");
  return 1;
}

static napi_value create_context(napi_env env, napi_callback_info info) {
  size_t argc = 1, nprops = 0;
  napi_value argv[1], result;
  napi_valuetype t;
  napi_property_descriptor props[3];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object) return THROW_TYPE(env, "expected options");
  if (bio_method == NULL) return THROW(env, "DTLS BIO method unavailable");
  dtls_ctx *c = calloc(1, sizeof *c);
  if (c == NULL) return THROW(env, "out of memory");
  c->env = env;
  c->refs = 1;
  ERR_clear_error();
  int ok = configure(env, c, argv[0]);
  ERR_clear_error();
  const char *names[3] = {"send", "data", "psk"};
  napi_ref refs[3] = {c->send_fn, c->data_fn, c->psk_fn};
  for (int i = 0; ok && i < 3; i++) { /* read-only, non-enumerable: napi_default */
    napi_property_descriptor d = {names[i], NULL, NULL, NULL, NULL, NULL, napi_default, NULL};
    if (refs[i] != NULL && (ok = napi_get_reference_value(env, refs[i], &d.value) == napi_ok && d.value != NULL)) props[nprops++] = d;
  }
  if (!ok || napi_create_object(env, &result) != napi_ok || napi_define_properties(env, result, nprops, props) != napi_ok ||
      napi_wrap(env, result, c, ctx_finalize, NULL, NULL) != napi_ok) {
    ctx_unref(c);
    return ok ? THROW(env, "napi_wrap") : NULL;
  }
  /* From here the wrap finalizer owns c. */
  CHECK(env, napi_type_tag_object(env, result, &CTX_TAG));
  CHECK(env, napi_create_reference(env, result, 0, &c->self));
  CHECK(env, napi_object_freeze(env, result));
  return result;
}

/* ---- Session API ---- */

static napi_value listen_(napi_env env, napi_callback_info info) {
  size_t argc = 4, len = 0, peer_len = 0;
  napi_value argv[4], result;
  const unsigned char *data;
  int64_t id;
  dtls_ctx *c;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || (c = get_tagged(env, argv[0], &CTX_TAG)) == NULL || !c->server)
    return THROW_TYPE(env, "expected a server DtlsContext");
  if (!get_buffer(env, argv[1], &data, &len)) return THROW_TYPE(env, "datagram must be a Buffer");
  if (napi_get_value_string_utf8(env, argv[2], NULL, 0, &peer_len) != napi_ok || peer_len == 0 || peer_len >= PEER_MAX)
    return THROW_TYPE(env, "peer must be an address string of 1..95 bytes");
  if (napi_get_value_int64(env, argv[3], &id) != napi_ok) return THROW_TYPE(env, "id must be a number");
  CHECK(env, napi_get_null(env, &result));
  if (len == 0) return result; /* a 0-byte read would look like EOF */
  if (c->listener == NULL && (c->listener = session_new(c)) == NULL) return throw_ssl(env, "listener");

  dtls_session *s = c->listener;
  CHECK(env, napi_get_value_string_utf8(env, argv[2], s->peer, sizeof s->peer, &peer_len));
  begin_call(s, env, data, len);
  s->capture = 1;
  s->captured = NULL;
  ERR_clear_error();
  int r = DTLSv1_listen(s->ssl, c->listen_addr);
  s->capture = 0;
  if (s->captured != NULL) result = s->captured; /* a HelloVerifyRequest; else null: drop */
  s->captured = NULL;
  end_call(s, env); /* DTLSv1_listen runs no JS: nothing to rethrow */
  if (r <= 0) {
    s->peer[0] = '\0';
    if (r < 0) listener_free(c); /* a fatal error leaves the SSL unusable: make a new one */
    return result;
  }

  /* A valid cookie: the listener SSL, holding the buffered ClientHello, becomes the session and
   * the next listen() makes a fresh listener. The peer string stays: the state machine checks
   * the cookie once more when it processes that ClientHello. */
  c->listener = NULL;
  ctx_hold(c);
  s->id = id;
  s->error[0] = '\0';
  s->next_seq0 = 0; /* the listener's count came from other peers' ClientHellos */
  s->next_seq1 = 0;
  s->last_nonce1 = 0;
  s->sent_encrypted = 0;
  if ((result = wrap_session(env, s)) == NULL) return NULL;
  /* If this first step fails (e.g. no shared cipher; the alert went out through `send`), the
   * session is returned dead, with a non-empty lastError(). */
  begin_call(s, env, NULL, 0);
  step_handshake(s);
  return end_call(s, env) ? NULL : result;
}

static napi_value connect_(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  int64_t id;
  dtls_ctx *c;
  dtls_session *s;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || (c = get_tagged(env, argv[0], &CTX_TAG)) == NULL || c->server)
    return THROW_TYPE(env, "expected a client DtlsContext");
  if (napi_get_value_int64(env, argv[1], &id) != napi_ok) return THROW_TYPE(env, "id must be a number");
  if ((s = session_new(c)) == NULL) return throw_ssl(env, "connect");
  ctx_hold(c);
  s->id = id;
  if ((result = wrap_session(env, s)) == NULL) return NULL;
  begin_call(s, env, NULL, 0);
  int r = step_handshake(s); /* sends the ClientHello */
  if (end_call(s, env)) return NULL;
  if (r == RECEIVE_FAILED) {
    char msg[300];
    snprintf(msg, sizeof msg, "connect: %s", s->error);
    session_release(s); /* the handle is dead; its finalizer frees the struct */
    return throw_error(env, 0, "ERR_DTLS_OPENSSL", msg);
  }
  return result;
}

static napi_value receive(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  const unsigned char *data;
  size_t len;
  dtls_session *s = session_args(env, info, 2, argv);
  if (s == NULL) return NULL;
  if (!get_buffer(env, argv[1], &data, &len)) return THROW_TYPE(env, "datagram must be a Buffer");
  if (s->ctx == NULL || s->state == ST_FAILED) return number(env, RECEIVE_FAILED);
  if (s->state == ST_CLOSED) return number(env, RECEIVE_CLOSED);
  if (len == 0) return number(env, RECEIVE_OK);
  if (!begin_call(s, env, data, len)) return NULL;
  int r;
  if (s->ssl == NULL) { /* compacted */
    r = records(s, data, len, 1);
  } else {
    r = s->state == ST_HANDSHAKE ? step_handshake(s) : RECEIVE_OK;
    if (r == RECEIVE_OK && s->state == ST_OPEN && s->rec != NULL)
      records(s, data, len, 0); /* shadow; no callback has run yet, so `data` is still ours */
    if (s->state == ST_OPEN) {
      /* Also right after the handshake: data may have come with (or before) the last flight, and
       * a retransmitted final flight of the peer makes OpenSSL resend ours. */
      int rr = read_app(s);
      if (rr != RECEIVE_OK) r = rr;
    }
    if (s->state == ST_OPEN && s->rec != NULL && s->delivered > 0) compact(s);
  }
  return end_call(s, env) ? NULL : number(env, r);
}

/* A compacted session asked to write more than the negotiated max_fragment_length: fails like
 * OpenSSL's SSL_write (an internal_error alert, then the session is dead). */
static int exceeds_max_fragment(dtls_session *s) {
  static const unsigned char alert[2] = {SSL3_AL_FATAL, SSL_AD_INTERNAL_ERROR};
  if (rec_send(s, SSL3_RT_ALERT, alert, sizeof alert))
    set_error(s, "sent alert: internal error (exceeds max fragment size)");
  s->state = ST_FAILED;
  return 0;
}

static napi_value write_(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  const unsigned char *data;
  size_t len;
  dtls_session *s = session_args(env, info, 2, argv);
  if (s == NULL) return NULL;
  if (!get_buffer(env, argv[1], &data, &len)) return THROW_TYPE(env, "plaintext must be a Buffer");
  if (len == 0 || len > MAX_PLAIN) { /* OpenSSL would fail the whole session on an oversized record */
    napi_throw_range_error(env, NULL, "plaintext must be 1..16384 bytes");
    return NULL;
  }
  if (s->ctx == NULL || s->state != ST_OPEN) return boolean(env, 0);
  if (!begin_call(s, env, NULL, 0)) return NULL;
  int ok;
  if (s->ssl == NULL) {
    ok = len <= s->rec->max_plain ? rec_send(s, SSL3_RT_APPLICATION_DATA, data, len) : exceeds_max_fragment(s);
  } else {
    ERR_clear_error();
    ok = SSL_write(s->ssl, data, (int)len) == (int)len;
    if (!ok) fail(s);
  }
  return end_call(s, env) ? NULL : boolean(env, ok);
}

static napi_value timeout_ms(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct timeval tv;
  dtls_session *s = session_args(env, info, 1, argv);
  if (s == NULL) return NULL;
  if (s->ssl == NULL || s->state == ST_FAILED || DTLSv1_get_timeout(s->ssl, &tv) != 1) return number(env, -1);
  /* Rounded up, so a JS timer set to this delay finds the OpenSSL timer expired. */
  return number(env, (double)tv.tv_sec * 1000 + (double)((tv.tv_usec + 999) / 1000));
}

static napi_value handle_timeout(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  dtls_session *s = session_args(env, info, 1, argv);
  if (s == NULL) return NULL;
  if (s->ctx == NULL || s->state == ST_FAILED) return boolean(env, 0);
  if (s->ssl == NULL) return boolean(env, 1); /* compacted: no handshake timer */
  if (!begin_call(s, env, NULL, 0)) return NULL;
  ERR_clear_error();
  int r = DTLSv1_handle_timeout(s->ssl); /* 1 resent, 0 not expired/no timer, -1 gave up */
  if (r < 0) fail(s);
  return end_call(s, env) ? NULL : boolean(env, r >= 0);
}

static napi_value last_error(napi_env env, napi_callback_info info) {
  napi_value argv[1], v;
  dtls_session *s = session_args(env, info, 1, argv);
  if (s == NULL) return NULL;
  CHECK(env, napi_create_string_utf8(env, s->error, NAPI_AUTO_LENGTH, &v));
  return v;
}

static int set_str(napi_env env, napi_value obj, const char *name, const char *str, size_t len) {
  napi_value v;
  return napi_create_string_utf8(env, str, len, &v) == napi_ok && napi_set_named_property(env, obj, name, v) == napi_ok;
}

static napi_value peer_info(napi_env env, napi_callback_info info) {
  napi_value argv[1], obj;
  dtls_session *s = session_args(env, info, 1, argv);
  if (s == NULL) return NULL;
  if (s->ctx == NULL || (s->state != ST_OPEN && s->state != ST_CLOSED))
    return throw_error(env, 0, "ERR_DTLS_STATE", "peerInfo needs an established session");
  unsigned char *fields = s->ssl != NULL ? info_capture(s->ssl) : s->info;
  obj = fields != NULL ? info_object(env, fields) : NULL;
  if (s->ssl != NULL) free(fields);
  return obj != NULL ? obj : THROW(env, "peerInfo");
}

static napi_value close_(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  dtls_session *s = session_args(env, info, 1, argv);
  if (s == NULL) return NULL;
  if (s->ctx != NULL && s->state == ST_OPEN && begin_call(s, env, NULL, 0)) {
    ERR_clear_error();
    if (s->ssl != NULL) {
      SSL_shutdown(s->ssl); /* writes close_notify through `send`; no answer is awaited */
    } else {
      static const unsigned char close_notify[2] = {SSL3_AL_WARNING, SSL3_AD_CLOSE_NOTIFY};
      if (rec_send(s, SSL3_RT_ALERT, close_notify, sizeof close_notify) && s->error[0] == '\0')
        set_error(s, "sent alert: close notify");
    }
    end_call(s, env); /* a callback's exception stays pending: close() throws it */
  }
  if (s->ctx != NULL) s->state = ST_CLOSED;
  session_release(s);
  return NULL; /* undefined */
}

static napi_value free_(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  dtls_session *s = session_args(env, info, 1, argv);
  if (s != NULL) session_release(s);
  return NULL; /* undefined */
}

/* ---- Diagnostics (tests; not in the documented API) ---- */

static size_t info_size(const unsigned char *p) {
  size_t n = 1;
  for (; *p != INFO_END; p += 5 + (((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4]))
    n += 5 + (((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4]);
  return n;
}

static int set_number(napi_env env, napi_value obj, const char *name, double n) {
  napi_value v;
  return napi_create_double(env, n, &v) == napi_ok && napi_set_named_property(env, obj, name, v) == napi_ok;
}

static int set_bool(napi_env env, napi_value obj, const char *name, int b) {
  napi_value v;
  return napi_get_boolean(env, b != 0, &v) == napi_ok && napi_set_named_property(env, obj, name, v) == napi_ok;
}

/* sessionStats(session): { ssl, compacted, bytes } and, with record state, writeSeq (next
 * epoch-1 sequence number, once compacted), readMax and readWindow (replay window bitmap, hex).
 * bytes: what the addon itself holds for a compacted session (struct, record state, peerInfo). */
static napi_value session_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1], obj;
  dtls_session *s = session_args(env, info, 1, argv);
  if (s == NULL) return NULL;
  int compacted = s->ssl == NULL && s->rec != NULL;
  CHECK(env, napi_create_object(env, &obj));
  if (!set_bool(env, obj, "ssl", s->ssl != NULL) || !set_bool(env, obj, "compacted", compacted) ||
      !set_number(env, obj, "bytes", compacted ? (double)(sizeof *s + sizeof *s->rec + info_size(s->info)) : 0))
    return THROW(env, "sessionStats");
  if (s->rec != NULL) {
    char window[17];
    snprintf(window, sizeof window, "%016llx", (unsigned long long)s->rec->read_map);
    if ((compacted && !set_number(env, obj, "writeSeq", (double)s->rec->write_seq)) ||
        !set_number(env, obj, "readMax", (double)s->rec->read_max) || !set_str(env, obj, "readWindow", window, 16))
      return THROW(env, "sessionStats");
  }
  return obj;
}

/* testSendRecord(session, type, payload): a compacted session seals one record of any content
 * type (20..24) and sends it, for tests of what peers do with them; false when not compacted. */
static napi_value test_send_record(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  const unsigned char *data;
  size_t len;
  int32_t type;
  dtls_session *s = session_args(env, info, 3, argv);
  if (s == NULL) return NULL;
  if (napi_get_value_int32(env, argv[1], &type) != napi_ok || type < 20 || type > 24)
    return THROW_TYPE(env, "type must be 20..24");
  if (!get_buffer(env, argv[2], &data, &len) || len > RL_MAX_PLAIN) return THROW_TYPE(env, "payload must be a Buffer of 0..16384 bytes");
  if (s->ctx == NULL || s->ssl != NULL || s->rec == NULL || s->state != ST_OPEN) return boolean(env, 0);
  if (!begin_call(s, env, NULL, 0)) return NULL;
  int ok = rec_send(s, type, data, len);
  return end_call(s, env) ? NULL : boolean(env, ok);
}

static napi_value openssl_version(napi_env env, napi_callback_info info) {
  napi_value v;
  (void)info;
  CHECK(env, napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &v));
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  static const struct { const char *name; napi_callback fn; } fns[] = {
      {"opensslVersion", openssl_version}, {"createContext", create_context}, {"listen", listen_},
      {"connect", connect_}, {"receive", receive}, {"write", write_}, {"timeoutMs", timeout_ms},
      {"handleTimeout", handle_timeout}, {"lastError", last_error}, {"peerInfo", peer_info},
      {"close", close_}, {"free", free_}, {"sessionStats", session_stats}, {"testSendRecord", test_send_record},
  };
  pthread_once(&bio_once, bio_method_init);
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    CHECK(env, napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f));
    CHECK(env, napi_set_named_property(env, exports, fns[i].name, f));
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
