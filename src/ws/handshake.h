/*
 * handshake: the server's half of the WebSocket opening handshake
 * (RFC 6455, 4.2.2): Sec-WebSocket-Accept, the base64 of the SHA-1 of the
 * client's key and the protocol's GUID. SHA-1 is FIPS 180-4's, written
 * here: it is all the handshake needs of a crypto library.
 */
#ifndef NU_HANDSHAKE_H
#define NU_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The length of a Sec-WebSocket-Accept value (base64 of 20 bytes). */
#define NU_WS_ACCEPT_LEN 28

/* The SHA-1 digest of n bytes at p. */
void nu_sha1(const void *p, size_t n, uint8_t digest[20]);

/* Writes the base64 (RFC 4648, padded) of n bytes at p to out, which has
 * room for 4 * ((n + 2) / 3) bytes; returns that length. No NUL. */
size_t nu_base64(const uint8_t *p, size_t n, char *out);

/* The longest key nu_ws_accept() takes; a valid one has 24 bytes. */
#define NU_WS_KEY_MAX 64

/* Writes the Sec-WebSocket-Accept value for the key_len bytes of key (the
 * client's Sec-WebSocket-Key, as sent) to out, no NUL. Returns 0, or -1
 * when the key is longer than NU_WS_KEY_MAX. */
int nu_ws_accept(const char *key, size_t key_len, char out[NU_WS_ACCEPT_LEN]);

#ifdef __cplusplus
}
#endif

#endif
