/* Outbound pacing on an injected clock: one frame per 20 ms anchored at the
 * first (late ticks do not drift), bounded catch-up, the lead, marks after
 * their audio, partial frames, clear with what was heard, limits, and
 * every allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "media/pacer.h"
#include "support/oom.h"

#include <stdlib.h>
#include <string.h>

static const Ccai_media_format ulaw = {CCAI_MEDIA_ULAW, 8000, 1};
static const Ccai_media_format pcm16 = {CCAI_MEDIA_PCM16, 16000, 1};

static Ccai_pacer *pacer(uint32_t lead, uint32_t burst, uint32_t max_queue)
{
    Ccai_pacer_params p;
    Ccai_pacer_params_default(&p);
    p.lead_ms = lead;
    p.max_burst = burst;
    if (max_queue)
        p.max_queue_ms = max_queue;
    Ccai_pacer *pc = NULL;
    assert_int_equal(Ccai_pacer_new(&p, &pc), CCAI_OK);
    return pc;
}

/* Push ms of mu-law whose byte i is (base + i) & 0xFF. */
static void push_ulaw(Ccai_pacer *p, uint32_t ms, uint8_t base)
{
    size_t n = (size_t)8 * ms;
    uint8_t *b = malloc(n + 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(base + i);
    assert_int_equal(Ccai_pacer_push(p, &ulaw, b, n), CCAI_OK);
    free(b);
}

/* Items released at now; returns the number of frames. */
static size_t tick(Ccai_pacer *p, uint64_t now, char *marks, size_t marks_len)
{
    Ccai_pacer_item it;
    size_t frames = 0;
    while (Ccai_pacer_next(p, now, &it)) {
        if (it.kind == CCAI_PACER_FRAME) {
            assert_int_equal(it.len, Ccai_media_bytes_per_ms(&it.fmt, 20));
            frames++;
        } else if (marks) {
            strncat(marks, it.mark, marks_len - strlen(marks) - 1);
            strncat(marks, ";", marks_len - strlen(marks) - 1);
        }
    }
    return frames;
}

static void test_params(void **state)
{
    (void)state;
    Ccai_pacer_params p;
    Ccai_pacer_params_default(&p);
    assert_int_equal(p.frame_ms, 20);
    Ccai_pacer *pc = NULL;
    p.frame_ms = 25;
    assert_int_equal(Ccai_pacer_new(&p, &pc), CCAI_ERR_INVALID_ARG);
    Ccai_pacer_params_default(&p);
    p.max_burst = 0;
    assert_int_equal(Ccai_pacer_new(&p, &pc), CCAI_ERR_INVALID_ARG);
    Ccai_pacer_params_default(&p);
    p.max_queue_ms = 0;
    assert_int_equal(Ccai_pacer_new(&p, &pc), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_pacer_new(NULL, &pc), CCAI_ERR_INVALID_ARG);
    assert_null(pc);
    Ccai_pacer_free(NULL);
    pc = pacer(0, 3, 0);
    Ccai_media_format bad = {CCAI_MEDIA_ULAW, 11025, 1};
    uint8_t b[10] = {0};
    assert_int_equal(Ccai_pacer_push(pc, &bad, b, 10), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_pacer_push(pc, &ulaw, NULL, 10), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_pacer_push(pc, &ulaw, NULL, 0), CCAI_OK);
    assert_int_equal(Ccai_pacer_mark(pc, NULL), CCAI_ERR_INVALID_ARG);
    char longl[300];
    memset(longl, 'x', sizeof longl - 1);
    longl[sizeof longl - 1] = '\0';
    assert_int_equal(Ccai_pacer_mark(pc, longl), CCAI_ERR_INVALID_ARG);
    Ccai_pacer_free(pc);
}

/* 100 ms go out as five frames 20 ms apart, in order, each once. */
static void test_steady(void **state)
{
    (void)state;
    Ccai_pacer *p = pacer(0, 3, 0);
    assert_int_equal(Ccai_pacer_next_due(p, 1000), UINT64_MAX);
    push_ulaw(p, 100, 0);
    assert_int_equal(Ccai_pacer_queued_ms(p), 100);
    assert_int_equal(Ccai_pacer_next_due(p, 1000), 1000);
    Ccai_pacer_item it;
    for (int k = 0; k < 5; k++) {
        uint64_t now = 1000 + 20u * k;
        assert_true(Ccai_pacer_next(p, now, &it));
        assert_int_equal(it.kind, CCAI_PACER_FRAME);
        assert_int_equal(it.len, 160);
        assert_int_equal(it.data[0], (uint8_t)(160 * k));
        assert_int_equal(it.play_ms, now);
        assert_false(Ccai_pacer_next(p, now, &it));
        if (k < 4) {
            assert_int_equal(Ccai_pacer_next_due(p, now), now + 20);
            assert_false(Ccai_pacer_next(p, now + 19, &it));
        }
    }
    assert_int_equal(Ccai_pacer_queued_ms(p), 0);
    assert_int_equal(Ccai_pacer_next_due(p, 1100), UINT64_MAX);
    Ccai_pacer_free(p);
}

/* Ticks 7 ms late every time: the schedule stays on 20 ms boundaries. */
static void test_no_drift(void **state)
{
    (void)state;
    Ccai_pacer *p = pacer(0, 3, 0);
    push_ulaw(p, 2000, 0);
    Ccai_pacer_item it;
    uint64_t now = 0;
    for (int k = 0; k < 100; k++) {
        assert_true(Ccai_pacer_next(p, now, &it));
        assert_int_equal(it.play_ms, 20u * k);
        assert_false(Ccai_pacer_next(p, now, &it));
        now = Ccai_pacer_next_due(p, now) + 7;
    }
    assert_int_equal(Ccai_pacer_late_ticks(p), 0);
    Ccai_pacer_free(p);
}

/* A tick 60 ms late catches up (within the burst bound); one 200 ms late
 * sends max_burst frames and gives the rest of the time up. */
static void test_late_ticks(void **state)
{
    (void)state;
    Ccai_pacer *p = pacer(0, 4, 0);
    push_ulaw(p, 1000, 0);
    assert_int_equal(tick(p, 0, NULL, 0), 1);
    assert_int_equal(tick(p, 80, NULL, 0), 4); /* frames due at 20..80 */
    assert_int_equal(Ccai_pacer_late_ticks(p), 0);
    assert_int_equal(tick(p, 100, NULL, 0), 1);
    assert_int_equal(tick(p, 300, NULL, 0), 4); /* 10 were due: 4 go */
    assert_int_equal(Ccai_pacer_late_ticks(p), 1);
    assert_int_equal(Ccai_pacer_next_due(p, 300), 320);
    assert_int_equal(tick(p, 319, NULL, 0), 0);
    assert_int_equal(tick(p, 320, NULL, 0), 1);
    assert_int_equal(tick(p, 340, NULL, 0), 1);
    Ccai_pacer_free(p);
}

/* A lead sends that much ahead at the start, then one per tick. */
static void test_lead(void **state)
{
    (void)state;
    Ccai_pacer *p = pacer(100, 3, 0);
    push_ulaw(p, 1000, 0);
    assert_int_equal(tick(p, 0, NULL, 0), 6); /* 0, 20, ..., 100 */
    assert_int_equal(tick(p, 10, NULL, 0), 0);
    assert_int_equal(tick(p, 20, NULL, 0), 1);
    assert_int_equal(tick(p, 40, NULL, 0), 1);
    Ccai_pacer_cleared c;
    Ccai_pacer_clear(p, 50, &c);
    assert_int_equal(c.released_ms, 160);
    assert_int_equal(c.heard_ms, 50); /* played from 0 to 50 */
    assert_int_equal(c.dropped_ms, 840);
    Ccai_pacer_free(p);
}

/* Marks come right after the audio queued before them. */
static void test_marks(void **state)
{
    (void)state;
    Ccai_pacer *p = pacer(0, 3, 0);
    assert_int_equal(Ccai_pacer_mark(p, "start"), CCAI_OK);
    push_ulaw(p, 60, 0);
    assert_int_equal(Ccai_pacer_mark(p, "s1"), CCAI_OK);
    push_ulaw(p, 40, 0);
    assert_int_equal(Ccai_pacer_mark(p, "s2"), CCAI_OK);
    char marks[128] = "";
    Ccai_pacer_item it;
    assert_true(Ccai_pacer_next(p, 0, &it));
    assert_int_equal(it.kind, CCAI_PACER_MARK);
    assert_string_equal(it.mark, "start");
    assert_int_equal(tick(p, 0, marks, sizeof marks), 1);
    assert_int_equal(tick(p, 20, marks, sizeof marks), 1);
    assert_string_equal(marks, "");
    assert_true(Ccai_pacer_next(p, 40, &it));
    assert_int_equal(it.kind, CCAI_PACER_FRAME);
    assert_true(Ccai_pacer_next(p, 40, &it));
    assert_int_equal(it.kind, CCAI_PACER_MARK);
    assert_string_equal(it.mark, "s1");
    assert_int_equal(it.play_ms, 60); /* the audio before it ends at 60 */
    assert_int_equal(tick(p, 60, marks, sizeof marks), 1);
    assert_int_equal(tick(p, 80, marks, sizeof marks), 1);
    assert_string_equal(marks, "s2;");
    Ccai_pacer_free(p);
}

/* Audio in odd sizes is cut into whole frames; the rest waits, and a
 * flush, a mark or another format pads it with silence. */
static void test_partial_frames(void **state)
{
    (void)state;
    Ccai_pacer *p = pacer(0, 3, 0);
    uint8_t b[300];
    memset(b, 0x11, sizeof b);
    assert_int_equal(Ccai_pacer_push(p, &ulaw, b, 100), CCAI_OK);
    assert_int_equal(Ccai_pacer_next_due(p, 0), UINT64_MAX); /* not a whole frame */
    assert_int_equal(Ccai_pacer_queued_ms(p), 12);
    assert_int_equal(Ccai_pacer_push(p, &ulaw, b, 100), CCAI_OK);
    Ccai_pacer_item it;
    assert_true(Ccai_pacer_next(p, 0, &it));
    assert_int_equal(it.len, 160);
    assert_int_equal(it.data[159], 0x11);
    assert_int_equal(Ccai_pacer_flush(p), CCAI_OK); /* 40 bytes left */
    assert_true(Ccai_pacer_next(p, 20, &it));
    assert_int_equal(it.data[39], 0x11);
    assert_int_equal(it.data[40], CCAI_ULAW_SILENCE);
    assert_int_equal(it.data[159], CCAI_ULAW_SILENCE);
    /* A format change pads the partial frame of the old one. */
    assert_int_equal(Ccai_pacer_push(p, &ulaw, b, 10), CCAI_OK);
    uint8_t pc[700];
    memset(pc, 0x22, sizeof pc);
    assert_int_equal(Ccai_pacer_push(p, &pcm16, pc, 700), CCAI_OK);
    assert_true(Ccai_pacer_next(p, 40, &it));
    assert_true(Ccai_media_format_equal(&it.fmt, &ulaw));
    assert_int_equal(it.data[9], 0x11);
    assert_int_equal(it.data[10], CCAI_ULAW_SILENCE);
    assert_true(Ccai_pacer_next(p, 60, &it));
    assert_true(Ccai_media_format_equal(&it.fmt, &pcm16));
    assert_int_equal(it.len, 640);
    assert_int_equal(Ccai_pacer_mark(p, "end"), CCAI_OK); /* pads 60 bytes */
    assert_true(Ccai_pacer_next(p, 80, &it));
    assert_int_equal(it.len, 640);
    assert_int_equal(it.data[59], 0x22);
    assert_int_equal(it.data[60], 0);
    assert_true(Ccai_pacer_next(p, 80, &it));
    assert_int_equal(it.kind, CCAI_PACER_MARK);
    Ccai_pacer_free(p);
}

/* Barge-in: clear drops the queue and says what the caller heard. */
static void test_clear(void **state)
{
    (void)state;
    Ccai_pacer *p = pacer(0, 3, 0);
    push_ulaw(p, 1000, 0);
    assert_int_equal(Ccai_pacer_mark(p, "a"), CCAI_OK);
    assert_int_equal(Ccai_pacer_mark(p, "b"), CCAI_OK);
    uint8_t b[50] = {0};
    assert_int_equal(Ccai_pacer_push(p, &ulaw, b, 50), CCAI_OK);
    for (uint64_t t = 0; t < 200; t += 20)
        assert_int_equal(tick(p, t, NULL, 0), 1);
    Ccai_pacer_cleared c;
    Ccai_pacer_clear(p, 190, &c);
    assert_int_equal(c.released_ms, 200);
    assert_int_equal(c.heard_ms, 190); /* the last frame is half played */
    assert_int_equal(c.dropped_ms, 800 + 20);
    assert_int_equal(c.dropped_marks, 2);
    assert_int_equal(Ccai_pacer_queued_ms(p), 0);
    assert_int_equal(Ccai_pacer_next_due(p, 190), UINT64_MAX);
    /* The next sentence starts from its own arrival. */
    push_ulaw(p, 40, 0);
    Ccai_pacer_item it;
    assert_true(Ccai_pacer_next(p, 500, &it));
    assert_int_equal(it.play_ms, 500);
    Ccai_pacer_clear(p, 505, &c);
    assert_int_equal(c.released_ms, 20);
    assert_int_equal(c.heard_ms, 5);
    /* Nothing released: nothing heard. */
    Ccai_pacer_clear(p, 600, &c);
    assert_int_equal(c.released_ms, 0);
    assert_int_equal(c.heard_ms, 0);
    Ccai_pacer_free(p);
}

/* A queue that runs dry while its audio still plays continues on the same
 * schedule; after a real gap it restarts from the new audio. */
static void test_underrun(void **state)
{
    (void)state;
    Ccai_pacer *p = pacer(0, 3, 0);
    push_ulaw(p, 40, 0);
    assert_int_equal(tick(p, 0, NULL, 0), 1);
    assert_int_equal(tick(p, 20, NULL, 0), 1);
    push_ulaw(p, 40, 0); /* at 30: the second frame plays until 40 */
    assert_int_equal(tick(p, 30, NULL, 0), 0);
    Ccai_pacer_item it;
    assert_true(Ccai_pacer_next(p, 40, &it));
    assert_int_equal(it.play_ms, 40);
    assert_true(Ccai_pacer_next(p, 60, &it));
    push_ulaw(p, 40, 0); /* at 150: a gap */
    assert_true(Ccai_pacer_next(p, 150, &it));
    assert_int_equal(it.play_ms, 150);
    assert_int_equal(Ccai_pacer_late_ticks(p), 0);
    Ccai_pacer_free(p);
}

static void test_limits(void **state)
{
    (void)state;
    Ccai_pacer_params prm;
    Ccai_pacer_params_default(&prm);
    prm.max_queue_ms = 200;
    prm.max_marks = 2;
    Ccai_pacer *p = NULL;
    assert_int_equal(Ccai_pacer_new(&prm, &p), CCAI_OK);
    uint8_t b[2400] = {0};
    assert_int_equal(Ccai_pacer_push(p, &ulaw, b, 1608), CCAI_ERR_LIMIT);
    assert_int_equal(Ccai_pacer_queued_ms(p), 0);
    assert_int_equal(Ccai_pacer_push(p, &ulaw, b, 1600), CCAI_OK);
    assert_int_equal(Ccai_pacer_push(p, &ulaw, b, 8), CCAI_ERR_LIMIT);
    assert_int_equal(Ccai_pacer_mark(p, "1"), CCAI_OK);
    assert_int_equal(Ccai_pacer_mark(p, "2"), CCAI_OK);
    assert_int_equal(Ccai_pacer_mark(p, "3"), CCAI_ERR_LIMIT);
    assert_int_equal(tick(p, 0, NULL, 0), 1);
    assert_int_equal(Ccai_pacer_push(p, &ulaw, b, 160), CCAI_OK);
    Ccai_pacer_free(p);
}

/* Random pushes, marks, flushes, clears and ticks: bytes are conserved and
 * frames come out in the order they went in. */
static void test_random_conservation(void **state)
{
    (void)state;
    srand(3);
    Ccai_pacer *p = pacer(40, 2, 0);
    uint64_t now = 0, pushed = 0, out = 0, dropped = 0;
    uint8_t seq_in = 0, seq_out = 0;
    uint8_t b[2000];
    for (int step = 0; step < 20000; step++) {
        int op = rand() % 10;
        if (op < 4) {
            size_t n = (size_t)rand() % 600;
            for (size_t i = 0; i < n; i++)
                b[i] = seq_in++;
            if (Ccai_pacer_push(p, &ulaw, b, n) == CCAI_OK)
                pushed += n;
            else
                seq_in = (uint8_t)(seq_in - n);
        } else if (op == 4) {
            uint64_t q = Ccai_pacer_queued_ms(p);
            if (Ccai_pacer_flush(p) == CCAI_OK && q % 20) {
                uint64_t pad = 160 - (q * 8) % 160;
                pushed += pad;
                seq_in = (uint8_t)(seq_in + pad);
            }
        } else if (op == 5 && rand() % 20 == 0) {
            Ccai_pacer_cleared c;
            uint64_t q = Ccai_pacer_queued_ms(p);
            Ccai_pacer_clear(p, now, &c);
            size_t qb = (size_t)q * 8;
            dropped += qb;
            seq_out = (uint8_t)(seq_out + qb);
            seq_in = seq_out;
            pushed = out + dropped;
        } else {
            now += (uint64_t)(rand() % 45);
            Ccai_pacer_item it;
            while (Ccai_pacer_next(p, now, &it)) {
                if (it.kind != CCAI_PACER_FRAME)
                    continue;
                /* Padding breaks the byte sequence; only count. */
                out += it.len;
                seq_out = (uint8_t)(seq_out + it.len);
            }
        }
    }
    assert_true(out > 100000);
    assert_true(out + dropped + Ccai_pacer_queued_ms(p) * 8 <= pushed + 160);
    assert_true(out + dropped + Ccai_pacer_queued_ms(p) * 8 + 160 >= pushed);
    Ccai_pacer_free(p);
}

static ccai_status sc_pacer(void)
{
    Ccai_pacer_params prm;
    Ccai_pacer_params_default(&prm);
    Ccai_pacer *p = NULL;
    ccai_status st = Ccai_pacer_new(&prm, &p);
    if (st != CCAI_OK)
        return st;
    uint8_t b[500];
    memset(b, 1, sizeof b);
    Ccai_media_format f = {CCAI_MEDIA_ULAW, 8000, 1};
    Ccai_media_format g = {CCAI_MEDIA_PCM16, 8000, 1};
    st = Ccai_pacer_push(p, &f, b, 250);
    if (st == CCAI_OK)
        st = Ccai_pacer_push(p, &g, b, 500);
    if (st == CCAI_OK)
        st = Ccai_pacer_mark(p, "m");
    if (st == CCAI_OK)
        st = Ccai_pacer_push(p, &f, b, 90);
    if (st == CCAI_OK)
        st = Ccai_pacer_flush(p);
    size_t items = 0;
    Ccai_pacer_item it;
    while (st == CCAI_OK && Ccai_pacer_next(p, 1000000, &it))
        items++;
    Ccai_pacer_cleared c;
    Ccai_pacer_clear(p, 1000000, &c);
    Ccai_pacer_free(p);
    return st;
}

static void test_oom(void **state)
{
    (void)state;
    int nomem = 0;
    assert_true(oom_exhaust("pacer", sc_pacer, &nomem) >= 6);
    assert_true(nomem >= 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_steady),
        cmocka_unit_test(test_no_drift),
        cmocka_unit_test(test_late_ticks),
        cmocka_unit_test(test_lead),
        cmocka_unit_test(test_marks),
        cmocka_unit_test(test_partial_frames),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_underrun),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_random_conservation),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
