/* National numbering plans (core/numbering.h).
 *
 * For each region: its country calling code (ITU-T E.164), its trunk
 * prefix (the "0" dialled before a national number in most of Europe,
 * "1" in the NANP; none in Spain, Mexico, Colombia...), the lengths of its
 * national significant numbers (without the trunk prefix) and the digits
 * they may start with. Sources: the ITU-T national numbering plans as
 * summarised in libphonenumber's metadata (PhoneNumberMetadata.xml:
 * nationalPrefix, possibleLengths). Where a plan has exceptions too rare
 * to be said by a caller (short codes, premium ranges) they are left out;
 * Argentina's mobile "15" after the area code and Mexico's retired "044"
 * are not read. A region missing here: a national number said is not
 * turned into E.164 (the dialogue asks for the country code). */
#include "core/numbering.h"

#include <stdio.h>
#include <string.h>

typedef struct plan {
    const char *region;
    const char *cc;
    char trunk;        /* the trunk prefix digit, 0 when none */
    unsigned char min; /* national significant number lengths */
    unsigned char max;
    const char *first; /* the digits one may start with, NULL: 1-9 */
    /* said without its trunk prefix, a number of a plan that has one is
     * taken when it starts with one of these (Indian mobiles are said
     * without the 0); NULL: never */
    const char *bare;
    bool keep_trunk; /* Italy: the 0 of a fixed number stays in E.164 */
} plan;

static const plan plans[] = {
    /* Europe */
    {"FR", "33", '0', 9, 9, NULL, NULL, false},
    {"BE", "32", '0', 8, 9, NULL, NULL, false},
    {"CH", "41", '0', 9, 9, NULL, NULL, false},
    {"LU", "352", 0, 6, 11, NULL, NULL, false},
    {"MC", "377", 0, 8, 9, NULL, NULL, false},
    {"GB", "44", '0', 9, 10, NULL, NULL, false},
    {"IE", "353", '0', 7, 9, NULL, NULL, false},
    {"DE", "49", '0', 7, 11, NULL, NULL, false}, /* Hamburg: 040 123456 */
    {"AT", "43", '0', 7, 13, NULL, NULL, false}, /* Vienna: 01 234 5678 */
    {"NL", "31", '0', 9, 9, NULL, NULL, false},
    {"IT", "39", 0, 6, 11, "03", NULL, true},
    {"ES", "34", 0, 9, 9, "6789", NULL, false},
    {"PT", "351", 0, 9, 9, "29", NULL, false},
    /* North America (NANP: "1" before the ten digits) */
    {"US", "1", '1', 10, 10, "23456789", "23456789", false},
    {"CA", "1", '1', 10, 10, "23456789", "23456789", false},
    {"PR", "1", '1', 10, 10, "23456789", "23456789", false},
    {"DO", "1", '1', 10, 10, "23456789", "23456789", false},
    /* Latin America */
    {"MX", "52", 0, 10, 10, NULL, NULL, false},
    {"AR", "54", '0', 10, 10, NULL, NULL, false},
    {"CO", "57", 0, 10, 10, "36", NULL, false},
    {"CL", "56", 0, 9, 9, NULL, NULL, false},
    {"PE", "51", '0', 8, 9, NULL, "9", false},
    {"VE", "58", '0', 10, 10, NULL, NULL, false},
    {"EC", "593", '0', 8, 9, NULL, NULL, false},
    {"UY", "598", '0', 8, 8, NULL, "24", false}, /* landlines have no 0 */
    {"PY", "595", '0', 8, 9, NULL, NULL, false},
    {"BO", "591", 0, 8, 8, NULL, NULL, false},
    {"CR", "506", 0, 8, 8, NULL, NULL, false},
    {"GT", "502", 0, 8, 8, NULL, NULL, false},
    {"PA", "507", 0, 7, 8, NULL, NULL, false},
    /* Africa, Asia, Oceania */
    {"MA", "212", '0', 9, 9, NULL, NULL, false},
    {"DZ", "213", '0', 8, 9, NULL, NULL, false},
    {"TN", "216", 0, 8, 8, NULL, NULL, false},
    {"SN", "221", 0, 9, 9, NULL, NULL, false},
    {"CI", "225", 0, 10, 10, NULL, NULL, false},
    {"CM", "237", 0, 9, 9, NULL, NULL, false},
    {"ZA", "27", '0', 9, 9, NULL, NULL, false},
    {"NG", "234", '0', 8, 10, NULL, NULL, false},
    {"KE", "254", '0', 9, 9, NULL, NULL, false},
    {"IN", "91", '0', 10, 10, NULL, "6789", false},
    {"PH", "63", '0', 9, 10, NULL, NULL, false},
    {"SG", "65", 0, 8, 8, "3689", NULL, false},
    {"HK", "852", 0, 8, 8, NULL, NULL, false},
    {"AU", "61", '0', 9, 9, NULL, NULL, false},
    {"NZ", "64", '0', 8, 10, NULL, NULL, false},
};

static const plan *plan_of(const char *region)
{
    if (!region || strlen(region) != 2)
        return NULL;
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(plans); k++) {
        if (Ccai_to_lower((unsigned char)region[0]) ==
                Ccai_to_lower((unsigned char)plans[k].region[0]) &&
            Ccai_to_lower((unsigned char)region[1]) ==
                Ccai_to_lower((unsigned char)plans[k].region[1]))
            return &plans[k];
    }
    return NULL;
}

static bool starts_ok(const char *nsn, const char *first)
{
    return first ? strchr(first, nsn[0]) != NULL : nsn[0] >= '1' && nsn[0] <= '9';
}

bool Ccai_numbering_e164(const char *region, const char *digits, char *out, size_t cap)
{
    const plan *p = plan_of(region);
    if (!p || !digits)
        return false;
    size_t n = strlen(digits);
    for (size_t k = 0; k < n; k++)
        if (!Ccai_is_digit((unsigned char)digits[k]))
            return false;
    const char *nsn = NULL;
    if (p->keep_trunk) {
        if (n >= p->min && n <= p->max && starts_ok(digits, p->first))
            nsn = digits;
    } else if (p->trunk && n > 1 && digits[0] == p->trunk) {
        if (n - 1 >= p->min && n - 1 <= p->max && starts_ok(digits + 1, p->first))
            nsn = digits + 1;
    } else if (n >= p->min && n <= p->max && (!p->trunk || p->bare) &&
               starts_ok(digits, p->trunk ? p->bare : p->first)) {
        nsn = digits;
    }
    if (!nsn)
        return false;
    int w = snprintf(out, cap, "+%s%s", p->cc, nsn);
    return w > 0 && (size_t)w < cap;
}

const char *Ccai_numbering_region(const char *e164)
{
    if (!e164 || e164[0] != '+')
        return NULL;
    const plan *best = NULL;
    size_t best_len = 0;
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(plans); k++) {
        size_t l = strlen(plans[k].cc);
        /* the first of a shared code ("1": US) stands for it */
        if (l > best_len && strncmp(e164 + 1, plans[k].cc, l) == 0) {
            best = &plans[k];
            best_len = l;
        }
    }
    return best ? best->region : NULL;
}
