#include "libdeflate/libdeflate.h"
#include <stdlib.h>
#define EXPORT(n) __attribute__((export_name(n)))
EXPORT("alloc") void *w_alloc(size_t n) { return malloc(n); }
EXPORT("free") void w_free(void *p) { free(p); }
EXPORT("compressor") struct libdeflate_compressor *w_comp(int level) { return libdeflate_alloc_compressor(level); }
EXPORT("bound") size_t w_bound(struct libdeflate_compressor *c, size_t n) { return libdeflate_deflate_compress_bound(c, n); }
EXPORT("deflate") size_t w_deflate(struct libdeflate_compressor *c, const void *in, size_t n, void *out, size_t cap) { return libdeflate_deflate_compress(c, in, n, out, cap); }
EXPORT("gzip") size_t w_gzip(struct libdeflate_compressor *c, const void *in, size_t n, void *out, size_t cap) { return libdeflate_gzip_compress(c, in, n, out, cap); }
EXPORT("crc32") unsigned w_crc32(unsigned crc, const void *in, size_t n) { return libdeflate_crc32(crc, in, n); }
