/* Clock and percentiles shared by the benchmarks (header only). */
#ifndef CCAI_BENCH_STATS_H
#define CCAI_BENCH_STATS_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Monotonic milliseconds. */
static inline double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* qsort() order of doubles. */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sort v[0..n) and print p50, p90, p99 and max of v * scale in unit. */
static inline void bench_report(const char *what, double *v, size_t n, const char *unit,
                                double scale)
{
    if (!n) {
        printf("  %-44s no samples\n", what);
        return;
    }
    qsort(v, n, sizeof *v, bench_cmp_double);
    printf("  %-44s n=%-6zu p50 %8.2f  p90 %8.2f  p99 %8.2f  max %8.2f %s\n", what, n,
           v[n / 2] * scale, v[(size_t)((double)(n - 1) * 0.9)] * scale,
           v[(size_t)((double)(n - 1) * 0.99)] * scale, v[n - 1] * scale, unit);
}

#endif
