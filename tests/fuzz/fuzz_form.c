/* libFuzzer: the form parser and the X-Twilio-Signature validator. The
 * first byte splits the rest into a URL and a body. Properties checked:
 * a parsed form encodes and parses back to the same pairs, and a signature
 * computed over a URL and form validates against them. */
#include "channels/twilio/twilio_sig.h"
#include "http/form.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const Ccai_form *f)
{
    const char **pairs = Ccai_calloc(2 * f->n + 1, sizeof *pairs);
    if (!pairs)
        return;
    for (size_t i = 0; i < f->n; i++) {
        pairs[2 * i] = f->names[i];
        pairs[2 * i + 1] = f->values[i];
    }
    char *enc = Ccai_form_encode(pairs);
    ccai_free(pairs);
    if (!enc)
        return;
    Ccai_form g;
    /* Encoding at most triples the size: it may exceed the parser's limit. */
    ccai_status st = Ccai_form_parse(enc, strlen(enc), &g, NULL);
    if (st == CCAI_OK) {
        if (g.n != f->n)
            abort();
        for (size_t i = 0; i < f->n; i++) {
            if (strcmp(g.names[i], f->names[i]) != 0 || strcmp(g.values[i], f->values[i]) != 0)
                abort();
        }
        Ccai_form_free(&g);
    } else if (st != CCAI_ERR_LIMIT) {
        abort();
    }
    ccai_free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t split = (size_t)data[0] * (size - 1) / 255;
    char *url = Ccai_strndup((const char *)data + 1, split);
    const char *body = (const char *)data + 1 + split;
    size_t body_len = size - 1 - split;
    if (!url)
        return 0;
    Ccai_form f;
    char *err = NULL;
    if (Ccai_form_parse(body, body_len, &f, &err) == CCAI_OK) {
        check_round_trip(&f);
        char *sig = Ccai_twilio_signature("fuzz-token", url, &f);
        if (sig) {
            bool json = strstr(url, "bodySHA256=") != NULL;
            if (!json && !Ccai_twilio_signature_valid("fuzz-token", url, &f, NULL, 0, sig))
                abort();
            if (Ccai_twilio_signature_valid("other-token", url, &f, NULL, 0, sig))
                abort();
            ccai_free(sig);
        }
        Ccai_form_free(&f);
    }
    ccai_free(err);
    /* The JSON-body variant, and arbitrary header text. */
    (void)Ccai_twilio_signature_valid("fuzz-token", url, NULL, body, body_len,
                                      "Fatz3q9BPP/8rlVSiP8anFD+/2g=");
    (void)Ccai_twilio_signature_valid("fuzz-token", url, NULL, NULL, 0, url);
    ccai_free(url);
    return 0;
}
