/* libFuzzer target: IVR menus. The input's first line is ivr.menus as a
 * configuration value (JSON: config/keys_menus.c checks every menu, choice
 * and action, and the names they refer to); the rest is what a caller said,
 * matched against a menu's words and keys (engine/menu_match.c: folding,
 * whole words, spoken keys). */
#include "config/keys.h"
#include "engine/menu.h"
#include "guard/guard.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t first = nl ? (size_t)(nl - s) : size;
    const Ccai_key *k = Ccai_key_find("ivr.menus");
    json_t *v = NULL;
    char *msg = NULL;
    if (k && Ccai_key_parse_text(k, NULL, s, first, NULL, &v, &msg) == CCAI_OK)
        json_decref(v);
    ccai_free(msg);

    static const Ccai_menu_view view = {
        .choice = {{'1',
                    {"claim", "accident",
                     "d\xc3\xa9"
                     "claration"},
                    3},
                   {'2', {"billing", "main menu", "facture"}, 3},
                   {'0', {"a human", "agent"}, 2},
                   {'#', {"back"}, 1}},
        .n = 4,
    };
    if (nl) {
        char *text = Ccai_malloc(size - first);
        if (!text)
            return 0;
        memcpy(text, nl + 1, size - first - 1);
        text[size - first - 1] = '\0';
        Ccai_guard_scratch heard = {0}, phrase = {0};
        int i = Ccai_menu_match(&view, text, &heard, &phrase);
        if (i < -1 || i >= (int)view.n)
            __builtin_trap();
        Ccai_guard_scratch_free(&heard);
        Ccai_guard_scratch_free(&phrase);
        ccai_free(text);
    }
    return 0;
}
