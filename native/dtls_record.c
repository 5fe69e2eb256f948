/*
 * The compact DTLS 1.2 record layer of lwm2m_dtls; see dtls_record.h. Crypto is OpenSSL's EVP
 * (the copy inside node), on per-context cipher contexts re-keyed for each record.
 *
 * CBC records are opened the way OpenSSL's own record layer opens them (ssl/record/ssl3_record.c,
 * tls1_enc + tls1_mac_old): the provider's TLS mode (OSSL_CIPHER_PARAM_TLS_VERSION and
 * _TLS_MAC_SIZE) strips the explicit IV, removes the padding and copies the MAC out in constant
 * time, handing back a random MAC when the padding is bad; the HMAC provider's TLS mode
 * (OSSL_MAC_PARAM_TLS_DATA_SIZE) computes the MAC with ssl3_cbc_digest_record, whose running
 * time depends on the record length only, not on the padding length. So a bad padding and a bad
 * MAC take the same path (Lucky Thirteen), as far as OpenSSL's own code achieves that.
 */
#include "dtls_record.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <string.h>

#define KEY_LEN 16
#define FIXED_IV 4
#define EXPLICIT_NONCE 8
#define BLOCK 16
#define MAC_LEN 32

static const struct {
  uint16_t id; /* IANA value */
  uint8_t kind;
} SUITES[] = {
    {0xC0A8, RL_CCM8},       /* TLS_PSK_WITH_AES_128_CCM_8 */
    {0x00A8, RL_GCM},        /* TLS_PSK_WITH_AES_128_GCM_SHA256 */
    {0x00AE, RL_CBC_SHA256}, /* TLS_PSK_WITH_AES_128_CBC_SHA256 */
    {0xC0AE, RL_CCM8},       /* TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 */
    {0xC02B, RL_GCM},        /* TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
};

static size_t tag_len(int kind) { return kind == RL_GCM ? 16 : kind == RL_CCM8 ? 8 : 0; }

int rl_kind_of(const SSL_CIPHER *cipher) {
  if (cipher == NULL) return -1;
  uint16_t id = SSL_CIPHER_get_protocol_id(cipher);
  for (size_t i = 0; i < sizeof SUITES / sizeof SUITES[0]; i++)
    if (SUITES[i].id == id) return SUITES[i].kind;
  return -1;
}

int rl_derive(rl_engine *e, rl_state *st, SSL *ssl, int kind, int server) {
  unsigned char master[SSL_MAX_MASTER_KEY_LENGTH];
  unsigned char seed[13 + 2 * SSL3_RANDOM_SIZE] = "key expansion";
  unsigned char block[2 * MAC_LEN + 2 * KEY_LEN + 2 * FIXED_IV];
  SSL_SESSION *session = SSL_get_session(ssl);
  size_t mac = kind == RL_CBC_SHA256 ? MAC_LEN : 0, iv = kind == RL_CBC_SHA256 ? 0 : FIXED_IV;
  size_t total = 2 * mac + 2 * KEY_LEN + 2 * iv;
  size_t master_len = session != NULL ? SSL_SESSION_get_master_key(session, master, sizeof master) : 0;
  int ok = 0;
  if (master_len == 0 || SSL_get_server_random(ssl, seed + 13, SSL3_RANDOM_SIZE) != SSL3_RANDOM_SIZE ||
      SSL_get_client_random(ssl, seed + 13 + SSL3_RANDOM_SIZE, SSL3_RANDOM_SIZE) != SSL3_RANDOM_SIZE)
    goto out;
  if (e->prf == NULL && (e->prf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL)) == NULL) goto out;
  EVP_KDF_CTX *kdf = EVP_KDF_CTX_new(e->prf);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master, master_len),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof seed),
      OSSL_PARAM_construct_end(),
  };
  ok = kdf != NULL && EVP_KDF_derive(kdf, block, total, params) > 0;
  EVP_KDF_CTX_free(kdf);
  if (!ok) goto out;
  /* client_write_MAC_key, server_write_MAC_key, client_write_key, server_write_key,
   * client_write_IV, server_write_IV */
  const unsigned char *client_mac = block, *server_mac = client_mac + mac;
  const unsigned char *client_key = server_mac + mac, *server_key = client_key + KEY_LEN;
  const unsigned char *client_iv = server_key + KEY_LEN, *server_iv = client_iv + iv;
  memset(st, 0, sizeof *st);
  st->kind = (uint8_t)kind;
  st->max_plain = RL_MAX_PLAIN;
  memcpy(st->read_mac, server ? client_mac : server_mac, mac);
  memcpy(st->write_mac, server ? server_mac : client_mac, mac);
  memcpy(st->read_key, server ? client_key : server_key, KEY_LEN);
  memcpy(st->write_key, server ? server_key : client_key, KEY_LEN);
  memcpy(st->read_iv, server ? client_iv : server_iv, iv);
  memcpy(st->write_iv, server ? server_iv : client_iv, iv);
out:
  OPENSSL_cleanse(master, sizeof master);
  OPENSSL_cleanse(block, sizeof block);
  return ok;
}

int rl_fresh(const rl_state *st, uint64_t seq) {
  if (seq > st->read_max) return 1;
  uint64_t back = st->read_max - seq;
  return back < 64 && !(st->read_map & ((uint64_t)1 << back));
}

void rl_mark(rl_state *st, uint64_t seq) {
  if (seq > st->read_max) {
    uint64_t shift = seq - st->read_max;
    st->read_map = shift < 64 ? (st->read_map << shift) | 1 : 1;
    st->read_max = seq;
  } else if (st->read_max - seq < 64) {
    st->read_map |= (uint64_t)1 << (st->read_max - seq);
  }
}

/* The cipher context for (kind, direction), created on first use: the cipher fetched once, the
 * CCM nonce (12 bytes, L = 3) and tag (8) lengths set before any key (they shape the key setup). */
static EVP_CIPHER_CTX *cipher_ctx(rl_engine *e, int kind, int seal) {
  EVP_CIPHER_CTX **slot = &e->cipher[kind][seal];
  if (*slot != NULL) return *slot;
  const char *name = kind == RL_GCM ? "AES-128-GCM" : kind == RL_CCM8 ? "AES-128-CCM" : "AES-128-CBC";
  EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, name, NULL);
  EVP_CIPHER_CTX *x = cipher != NULL ? EVP_CIPHER_CTX_new() : NULL;
  int ok = x != NULL && EVP_CipherInit_ex2(x, cipher, NULL, NULL, seal, NULL);
  if (ok && kind == RL_CCM8)
    ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_IVLEN, FIXED_IV + EXPLICIT_NONCE, NULL) > 0 &&
         EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)tag_len(kind), NULL) > 0;
  if (ok && kind == RL_CBC_SHA256 && seal) ok = EVP_CIPHER_CTX_set_padding(x, 0); /* we pad */
  EVP_CIPHER_free(cipher); /* the context holds its own reference */
  if (!ok) {
    EVP_CIPHER_CTX_free(x);
    return NULL;
  }
  return *slot = x;
}

static int hmac_fetch(rl_engine *e) {
  return e->hmac != NULL || (e->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL;
}

/* The MAC / AEAD additional data: epoch || seq (as in the header), type, version, length. */
static void pseudo_header(unsigned char out[RL_HDR], const unsigned char hdr[RL_HDR], size_t len) {
  memcpy(out, hdr + 3, 8);
  out[8] = hdr[0];
  out[9] = DTLS1_2_VERSION >> 8; /* the negotiated version, whatever an alert's header says */
  out[10] = DTLS1_2_VERSION & 0xff;
  out[11] = (unsigned char)(len >> 8);
  out[12] = (unsigned char)len;
}

static long open_aead(rl_engine *e, const rl_state *st, const unsigned char hdr[RL_HDR], unsigned char *body,
                      size_t len, unsigned char **plain) {
  size_t tag = tag_len(st->kind);
  if (len < EXPLICIT_NONCE + tag) return -1;
  size_t n = len - EXPLICIT_NONCE - tag;
  unsigned char nonce[FIXED_IV + EXPLICIT_NONCE], aad[RL_HDR], *data = body + EXPLICIT_NONCE;
  int outl = 0, ok;
  EVP_CIPHER_CTX *x = cipher_ctx(e, st->kind, 0);
  if (x == NULL) return -1;
  memcpy(nonce, st->read_iv, FIXED_IV);
  memcpy(nonce + FIXED_IV, body, EXPLICIT_NONCE);
  pseudo_header(aad, hdr, n);
  if (!EVP_CipherInit_ex2(x, NULL, st->read_key, nonce, 0, NULL)) return -1;
  if (st->kind == RL_CCM8) {
    /* CCM: the tag and the message length come first; the data update checks the tag. */
    ok = EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)tag, data + n) > 0 &&
         EVP_CipherUpdate(x, NULL, &outl, NULL, (int)n) && EVP_CipherUpdate(x, NULL, &outl, aad, RL_HDR) &&
         EVP_CipherUpdate(x, data, &outl, data, (int)n) && (size_t)outl == n;
  } else {
    int fin = 0;
    ok = EVP_CipherUpdate(x, NULL, &outl, aad, RL_HDR) && (n == 0 || EVP_CipherUpdate(x, data, &outl, data, (int)n)) &&
         (n == 0 || (size_t)outl == n) && EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, (int)tag, data + n) > 0 &&
         EVP_CipherFinal_ex(x, data + n, &fin) > 0 && fin == 0;
  }
  if (!ok) return -1;
  *plain = data;
  return (long)n;
}

static long open_cbc(rl_engine *e, const rl_state *st, const unsigned char hdr[RL_HDR], unsigned char *body,
                     size_t len, unsigned char **plain) {
  /* Public checks (length only): whole blocks, room for the IV, the MAC and a padding byte. */
  if (len % BLOCK != 0 || len < BLOCK + MAC_LEN + 1) return -1;
  unsigned int version = DTLS1_2_VERSION;
  size_t mac_size = MAC_LEN, tls_data = len - BLOCK, md_len = 0;
  unsigned char zero_iv[BLOCK] = {0}, header[RL_HDR], md[EVP_MAX_MD_SIZE], *mac = NULL;
  int outl = 0;
  EVP_CIPHER_CTX *x = cipher_ctx(e, st->kind, 0);
  OSSL_PARAM cipher_params[] = {
      OSSL_PARAM_construct_uint(OSSL_CIPHER_PARAM_TLS_VERSION, &version),
      OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_TLS_MAC_SIZE, &mac_size),
      OSSL_PARAM_construct_end(),
  };
  /* Decrypts in place, drops the first block (the explicit IV: whatever IV the context holds
   * only garbles that block) and, in constant time, the padding and the MAC: outl is the
   * plaintext length, and the MAC (random if the padding was bad) is read back as a parameter. */
  if (x == NULL || !EVP_CipherInit_ex2(x, NULL, st->read_key, zero_iv, 0, cipher_params) ||
      !EVP_CipherUpdate(x, body, &outl, body, (int)len) || outl < 0 || (size_t)outl > tls_data - MAC_LEN)
    return -1;
  OSSL_PARAM get[] = {OSSL_PARAM_construct_octet_ptr(OSSL_CIPHER_PARAM_TLS_MAC, (void **)&mac, MAC_LEN),
                      OSSL_PARAM_construct_end()};
  if (!EVP_CIPHER_CTX_get_params(x, get) || mac == NULL || !hmac_fetch(e)) return -1;
  /* HMAC over seq || type || version || length || plaintext, in time that depends only on
   * tls_data (the public record length). A fresh context each time: the provider's TLS mode
   * keeps state (the header) that a re-init does not clear. */
  EVP_MAC_CTX *m = EVP_MAC_CTX_new(e->hmac);
  OSSL_PARAM mac_params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
      OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_TLS_DATA_SIZE, &tls_data),
      OSSL_PARAM_construct_end(),
  };
  pseudo_header(header, hdr, (size_t)outl);
  int ok = m != NULL && EVP_MAC_init(m, st->read_mac, MAC_LEN, mac_params) && EVP_MAC_update(m, header, RL_HDR) &&
           EVP_MAC_update(m, body + BLOCK, (size_t)outl) && EVP_MAC_final(m, md, &md_len, sizeof md) &&
           md_len == MAC_LEN;
  EVP_MAC_CTX_free(m);
  if (!ok || CRYPTO_memcmp(md, mac, MAC_LEN) != 0) return -1;
  *plain = body + BLOCK;
  return outl;
}

long rl_open(rl_engine *e, const rl_state *st, const unsigned char hdr[RL_HDR], unsigned char *body, size_t len,
             unsigned char **plain) {
  if (len > RL_MAX_BODY) return -1;
  long n = st->kind == RL_CBC_SHA256 ? open_cbc(e, st, hdr, body, len, plain) : open_aead(e, st, hdr, body, len, plain);
  return n > (long)st->max_plain ? -1 : n;
}

size_t rl_sealed_size(const rl_state *st, size_t n) {
  if (st->kind == RL_CBC_SHA256) return RL_HDR + BLOCK + (n + MAC_LEN) / BLOCK * BLOCK + BLOCK;
  return RL_HDR + EXPLICIT_NONCE + n + tag_len(st->kind);
}

static int seal_aead(rl_engine *e, const rl_state *st, const unsigned char *hdr, const unsigned char *plain, size_t n,
                     unsigned char *body) {
  size_t tag = tag_len(st->kind);
  unsigned char nonce[FIXED_IV + EXPLICIT_NONCE], aad[RL_HDR], *data = body + EXPLICIT_NONCE;
  int outl = 0, fin = 0;
  EVP_CIPHER_CTX *x = cipher_ctx(e, st->kind, 1);
  if (st->kind == RL_GCM) { /* OpenSSL's counter, continued */
    for (int i = 0; i < EXPLICIT_NONCE; i++) body[i] = (unsigned char)(st->write_nonce >> (8 * (7 - i)));
  } else {
    memcpy(body, hdr + 3, EXPLICIT_NONCE); /* epoch || seq */
  }
  memcpy(nonce, st->write_iv, FIXED_IV);
  memcpy(nonce + FIXED_IV, body, EXPLICIT_NONCE);
  pseudo_header(aad, hdr, n);
  if (x == NULL || !EVP_CipherInit_ex2(x, NULL, st->write_key, nonce, 1, NULL)) return 0;
  if (st->kind == RL_CCM8 && !EVP_CipherUpdate(x, NULL, &outl, NULL, (int)n)) return 0;
  return EVP_CipherUpdate(x, NULL, &outl, aad, RL_HDR) && EVP_CipherUpdate(x, data, &outl, plain, (int)n) &&
         (size_t)outl == n && (st->kind == RL_CCM8 || EVP_CipherFinal_ex(x, data + n, &fin)) && fin == 0 &&
         EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, (int)tag, data + n) > 0;
}

static int seal_cbc(rl_engine *e, const rl_state *st, const unsigned char *hdr, const unsigned char *plain, size_t n,
                    unsigned char *body, size_t body_len) {
  unsigned char header[RL_HDR], *data = body + BLOCK;
  size_t padded = body_len - BLOCK, pad = padded - n - MAC_LEN, md_len = 0; /* pad: 1..16 bytes of value pad - 1 */
  int outl = 0;
  EVP_CIPHER_CTX *x = cipher_ctx(e, st->kind, 1);
  if (x == NULL || !hmac_fetch(e) || RAND_bytes(body, BLOCK) != 1) return 0;
  if (e->seal_mac == NULL && (e->seal_mac = EVP_MAC_CTX_new(e->hmac)) == NULL) return 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
      OSSL_PARAM_construct_end(),
  };
  pseudo_header(header, hdr, n);
  memmove(data, plain, n);
  if (!EVP_MAC_init(e->seal_mac, st->write_mac, MAC_LEN, params) || !EVP_MAC_update(e->seal_mac, header, RL_HDR) ||
      !EVP_MAC_update(e->seal_mac, data, n) || !EVP_MAC_final(e->seal_mac, data + n, &md_len, MAC_LEN) ||
      md_len != MAC_LEN)
    return 0;
  memset(data + n + MAC_LEN, (int)(pad - 1), pad);
  return EVP_CipherInit_ex2(x, NULL, st->write_key, body, 1, NULL) &&
         EVP_CipherUpdate(x, data, &outl, data, (int)padded) && (size_t)outl == padded;
}

int rl_seal(rl_engine *e, rl_state *st, int type, const unsigned char *plain, size_t n, unsigned char *out) {
  size_t total = rl_sealed_size(st, n), len = total - RL_HDR;
  uint64_t seq = st->write_seq;
  if (n > st->max_plain || seq > RL_SEQ_MAX) return 0;
  out[0] = (unsigned char)type;
  out[1] = DTLS1_2_VERSION >> 8;
  out[2] = DTLS1_2_VERSION & 0xff;
  out[3] = 0;
  out[4] = 1; /* epoch */
  for (int i = 0; i < 6; i++) out[5 + i] = (unsigned char)(seq >> (8 * (5 - i)));
  out[11] = (unsigned char)(len >> 8);
  out[12] = (unsigned char)len;
  int ok = st->kind == RL_CBC_SHA256 ? seal_cbc(e, st, out, plain, n, out + RL_HDR, len)
                                     : seal_aead(e, st, out, plain, n, out + RL_HDR);
  st->write_seq = seq + 1; /* consumed even if sealing failed half-way: a nonce is never reused */
  st->write_nonce++;
  return ok;
}

void rl_engine_free(rl_engine *e) {
  for (int k = 0; k < RL_KINDS; k++)
    for (int d = 0; d < 2; d++) EVP_CIPHER_CTX_free(e->cipher[k][d]);
  EVP_MAC_CTX_free(e->seal_mac);
  EVP_MAC_free(e->hmac);
  EVP_KDF_free(e->prf);
  memset(e, 0, sizeof *e);
}
