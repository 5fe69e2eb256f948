{
  # OpenSSL comes from the node binary (its symbols are exported and resolve when the addon
  # loads); the headers are node's own include/node/openssl. So: no libraries to link.
  "targets": [
    {
      "target_name": "lwm2m_dtls",
      "sources": ["dtls.c", "dtls_record.c"],
      "cflags": ["-Wall", "-Wextra", "-std=gnu11"],
      "cflags!": ["-Wno-unused-parameter"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
