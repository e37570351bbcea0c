/* fuzz/base_codecs.c. Targets: cba_base64_decode, cba_hex_decode (base/base.c).
 * Seeds: fuzz/corpus/base_codecs/. Properties: strict base64 is canonical (a decoded input
 * re-encodes to exactly itself); hex re-encodes to its lowercase form; every byte string
 * encodes and decodes back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void base64_property(const uint8_t *data, size_t size)
{
    uint8_t *out = malloc(size / 4 * 3 + 1);
    size_t n = 0;
    char *again;
    if (out == NULL) { return; }
    if (cba_base64_decode(out, size / 4 * 3, &n, (const char *)data, size)) {
        again = cba_base64_encode_alloc(out, n);
        if (again == NULL || strlen(again) != size || memcmp(again, data, size) != 0) { abort(); }
        free(again);
    }
    free(out);
    /* Any bytes: encode, then decode back. */
    again = cba_base64_encode_alloc(data, size);
    if (again == NULL) { abort(); }
    out = malloc(size + 1);
    if (out == NULL || !cba_base64_decode(out, size, &n, again, strlen(again)) || n != size ||
        (size > 0 && memcmp(out, data, size) != 0)) {
        abort();
    }
    free(out);
    free(again);
}

static void hex_property(const uint8_t *data, size_t size)
{
    uint8_t *out = malloc(size / 2 + 1);
    char *again = malloc(size + 1);
    if (out == NULL || again == NULL) {
        free(out);
        free(again);
        return;
    }
    if (cba_hex_decode(out, size / 2, (const char *)data, size)) {
        cba_hex_encode(again, out, size / 2);
        for (size_t i = 0; i < size; i++) {
            uint8_t c = data[i] >= 'A' && data[i] <= 'F' ? (uint8_t)(data[i] - 'A' + 'a') : data[i];
            if ((uint8_t)again[i] != c) { abort(); }
        }
    }
    free(out);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) { return 0; }
    if (data[0] & 1) {
        hex_property(data + 1, size - 1);
    } else {
        base64_property(data + 1, size - 1);
    }
    return 0;
}
