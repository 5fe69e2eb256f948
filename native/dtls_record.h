/*
 * The compact DTLS 1.2 record layer of lwm2m_dtls (dtls_record.c): what an established server
 * session keeps once its OpenSSL SSL is freed (see "Compaction" in dtls.c). It knows the five
 * suites the gateway offers, all AES-128 with the SHA-256 PRF:
 *   PSK-AES128-CCM8, ECDHE-ECDSA-AES128-CCM8          AES-128-CCM, 8-byte tag
 *   PSK-AES128-GCM-SHA256, ECDHE-ECDSA-AES128-GCM-SHA256   AES-128-GCM, 16-byte tag
 *   PSK-AES128-CBC-SHA256                             AES-128-CBC + HMAC-SHA256, MAC-then-encrypt
 * Records (RFC 6347 §4.1, RFC 5246 §6.2.3): AEAD nonce = fixed IV (4, from the key block) ||
 * explicit nonce (8, carried in the record), additional data = epoch(2) || seq(6) || type ||
 * version || plaintext length. The explicit nonces written go on from OpenSSL's: for CCM they are
 * epoch || sequence number (as OpenSSL writes them, RFC 6655 §3); for GCM, OpenSSL 3.0 writes a
 * counter that starts at a random value, so the compact layer continues that counter (RFC 5288
 * §3 leaves the choice to the sender), and no nonce can repeat under a key. CBC: a random
 * explicit IV block, then E(plaintext || HMAC(seq || type || version || length || plaintext) ||
 * padding).
 */
#ifndef LWM2M_DTLS_RECORD_H
#define LWM2M_DTLS_RECORD_H

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <stddef.h>
#include <stdint.h>

#define RL_HDR 13                 /* type, version(2), epoch(2), seq(6), length(2) */
#define RL_MAX_PLAIN 16384        /* 2^14 */
#define RL_MAX_BODY (16384 + 2048) /* RFC 5246 §6.2.3: TLSCiphertext.length */
#define RL_SEQ_MAX 0xffffffffffffULL

enum { RL_GCM, RL_CCM8, RL_CBC_SHA256, RL_KINDS };

/* Per context (shared by its sessions; one env, so never used concurrently): cipher contexts
 * re-keyed for every record, which costs ~0.1-1 µs but no memory per session (a keyed
 * EVP_CIPHER_CTX is 0.6-1.2 KiB, an HMAC context another 0.85 KiB, per direction). */
typedef struct rl_engine {
  EVP_CIPHER_CTX *cipher[RL_KINDS][2]; /* [kind][0: open, 1: seal] */
  EVP_MAC_CTX *seal_mac;              /* HMAC-SHA256 of outgoing CBC records */
  EVP_MAC *hmac;
  EVP_KDF *prf;
} rl_engine;

/* Per session: keys and sequence state (as the server: read = client_write, write = server_write). */
typedef struct rl_state {
  uint8_t kind;
  uint16_t max_plain;  /* 16384, or the negotiated max_fragment_length */
  uint64_t write_seq;  /* next epoch-1 sequence number to write */
  uint64_t write_nonce; /* GCM: next explicit nonce to write */
  uint64_t read_max;   /* highest epoch-1 sequence number accepted */
  uint64_t read_map;   /* bit i: read_max - i accepted (RFC 6347 §4.1.2.6, 64-record window) */
  unsigned char read_mac[32], write_mac[32]; /* CBC only */
  unsigned char read_key[16], write_key[16];
  unsigned char read_iv[4], write_iv[4];     /* AEAD only */
} rl_state;

/* The record-layer kind of a negotiated suite, or -1 when the compact layer does not know it. */
int rl_kind_of(const SSL_CIPHER *cipher);

/* Derives the key block of an established SSL (TLS1-PRF SHA-256 over its master secret and
 * randoms, RFC 5246 §6.3) into `st` for the given side; 1 on success. Sequence state is zeroed. */
int rl_derive(rl_engine *e, rl_state *st, SSL *ssl, int kind, int server);

/* Replay window: 1 when epoch-1 sequence number `seq` is new and not older than the window. */
int rl_fresh(const rl_state *st, uint64_t seq);
void rl_mark(rl_state *st, uint64_t seq);

/* Authenticates and decrypts the body of an epoch-1 record in place (hdr: its 13-byte header,
 * body: its `len` bytes). Returns the plaintext length and sets *plain, or -1 when the record
 * does not authenticate or is malformed (the caller drops it). */
long rl_open(rl_engine *e, const rl_state *st, const unsigned char hdr[RL_HDR], unsigned char *body, size_t len,
             unsigned char **plain);

/* Size of the record that seals n plaintext bytes, header included. */
size_t rl_sealed_size(const rl_state *st, size_t n);

/* Writes one epoch-1 record of `type` sealing `plain` (n bytes) into out (rl_sealed_size bytes)
 * with the next write sequence number; 1 on success. */
int rl_seal(rl_engine *e, rl_state *st, int type, const unsigned char *plain, size_t n, unsigned char *out);

void rl_engine_free(rl_engine *e);

#endif
