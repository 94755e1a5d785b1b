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
 * Mexico's retired "044" is not read. Argentina's mobiles are dialled
 * "[0] area 15 local" (twelve digits without the 0: "11 15 4567 8901",
 * "351 15 456 789") and are "+54 9 area local" in E.164; its ten-digit
 * numbers are said with or without the 0 ("351 456 7890"). A region
 * missing here: a national number said is not turned into E.164 (the
 * dialogue asks for the country code). */
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
    bool mobile15;   /* Argentina: "area 15 local" is "9 area local" */
} plan;

static const plan plans[] = {
    /* Europe */
    {"FR", "33", '0', 9, 9, NULL, NULL, false, false},
    {"BE", "32", '0', 8, 9, NULL, NULL, false, false},
    {"CH", "41", '0', 9, 9, NULL, NULL, false, false},
    {"LU", "352", 0, 6, 11, NULL, NULL, false, false},
    {"MC", "377", 0, 8, 9, NULL, NULL, false, false},
    {"GB", "44", '0', 9, 10, NULL, NULL, false, false},
    {"IE", "353", '0', 7, 9, NULL, NULL, false, false},
    {"DE", "49", '0', 7, 11, NULL, NULL, false, false}, /* Hamburg: 040 123456 */
    {"AT", "43", '0', 7, 13, NULL, NULL, false, false}, /* Vienna: 01 234 5678 */
    {"NL", "31", '0', 9, 9, NULL, NULL, false, false},
    {"IT", "39", 0, 6, 11, "03", NULL, true, false},
    {"ES", "34", 0, 9, 9, "6789", NULL, false, false},
    {"PT", "351", 0, 9, 9, "29", NULL, false, false},
    /* North America (NANP: "1" before the ten digits) */
    {"US", "1", '1', 10, 10, "23456789", "23456789", false, false},
    {"CA", "1", '1', 10, 10, "23456789", "23456789", false, false},
    {"PR", "1", '1', 10, 10, "23456789", "23456789", false, false},
    {"DO", "1", '1', 10, 10, "23456789", "23456789", false, false},
    /* Latin America */
    {"MX", "52", 0, 10, 10, NULL, NULL, false, false},
    {"AR", "54", '0', 10, 10, "123", "123", false, true},
    {"CO", "57", 0, 10, 10, "36", NULL, false, false},
    {"CL", "56", 0, 9, 9, NULL, NULL, false, false},
    {"PE", "51", '0', 8, 9, NULL, "9", false, false},
    {"VE", "58", '0', 10, 10, NULL, NULL, false, false},
    {"EC", "593", '0', 8, 9, NULL, NULL, false, false},
    {"UY", "598", '0', 8, 8, NULL, "24", false, false}, /* landlines have no 0 */
    {"PY", "595", '0', 8, 9, NULL, NULL, false, false},
    {"BO", "591", 0, 8, 8, NULL, NULL, false, false},
    {"CR", "506", 0, 8, 8, NULL, NULL, false, false},
    {"GT", "502", 0, 8, 8, NULL, NULL, false, false},
    {"PA", "507", 0, 7, 8, NULL, NULL, false, false},
    /* Africa, Asia, Oceania */
    {"MA", "212", '0', 9, 9, NULL, NULL, false, false},
    {"DZ", "213", '0', 8, 9, NULL, NULL, false, false},
    {"TN", "216", 0, 8, 8, NULL, NULL, false, false},
    {"SN", "221", 0, 9, 9, NULL, NULL, false, false},
    {"CI", "225", 0, 10, 10, NULL, NULL, false, false},
    {"CM", "237", 0, 9, 9, NULL, NULL, false, false},
    {"ZA", "27", '0', 9, 9, NULL, NULL, false, false},
    {"NG", "234", '0', 8, 10, NULL, NULL, false, false},
    {"KE", "254", '0', 9, 9, NULL, NULL, false, false},
    {"IN", "91", '0', 10, 10, NULL, "6789", false, false},
    {"PH", "63", '0', 9, 10, NULL, NULL, false, false},
    {"SG", "65", 0, 8, 8, "3689", NULL, false, false},
    {"HK", "852", 0, 8, 8, NULL, NULL, false, false},
    {"AU", "61", '0', 9, 9, NULL, NULL, false, false},
    {"NZ", "64", '0', 8, 10, NULL, NULL, false, false},
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

/* "[0] area 15 local": the area code is "11" (Buenos Aires), else of
 * three digits, else of four (the first of them followed by "15"); the
 * area and the local number together are the plan's length. */
static bool mobile15(const plan *p, const char *digits, char *out, size_t cap)
{
    if (p->trunk && digits[0] == p->trunk)
        digits++;
    size_t n = strlen(digits);
    if (n != (size_t)p->max + 2 || !starts_ok(digits, p->first))
        return false;
    for (size_t area = 2; area <= 4; area++) {
        if ((area == 2) != (strncmp(digits, "11", 2) == 0) || strncmp(digits + area, "15", 2) != 0)
            continue;
        int w = snprintf(out, cap, "+%s9%.*s%s", p->cc, (int)area, digits, digits + area + 2);
        return w > 0 && (size_t)w < cap;
    }
    return false;
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
    if (!nsn && p->mobile15)
        return mobile15(p, digits, out, cap);
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
