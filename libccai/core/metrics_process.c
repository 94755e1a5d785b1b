/* The process's standard metrics (Prometheus' process_* names) and
 * ccai_build_info, read at each collect (see core/metrics.h). */
#include "core/metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

static const struct {
    const char *name;
    Ccai_metric_type type;
    const char *help;
} families[] = {
    {"ccai_build_info", CCAI_METRIC_GAUGE, "The libccai version serving, as a label; always 1"},
    {"process_cpu_seconds_total", CCAI_METRIC_COUNTER, "Total user and system CPU time spent"},
    {"process_resident_memory_bytes", CCAI_METRIC_GAUGE, "Resident memory size in bytes"},
    {"process_virtual_memory_bytes", CCAI_METRIC_GAUGE, "Virtual memory size in bytes"},
    {"process_open_fds", CCAI_METRIC_GAUGE, "Number of open file descriptors"},
    {"process_max_fds", CCAI_METRIC_GAUGE, "Maximum number of open file descriptors"},
};

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Entries of /proc/self/fd, less the one reading it; -1 without /proc. */
static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n > 0 ? n - 1 : 0;
}

/* Pages of /proc/self/statm: total program size, resident set. */
static bool memory(double *virt, double *rss)
{
    FILE *f = fopen("/proc/self/statm", "re");
    if (!f)
        return false;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    if (n != 2 || page <= 0)
        return false;
    *virt = (double)size * (double)page;
    *rss = (double)resident * (double)page;
    return true;
}

static void collect(Ccai_metrics *m, void *ud)
{
    CCAI_UNUSED(ud);
    /* Best effort: a value that cannot be read keeps its last one. */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        CCAI_DISCARD(Ccai_metrics_counter_set(m, "process_cpu_seconds_total", NULL,
                                              seconds(ru.ru_utime) + seconds(ru.ru_stime)));
    double virt, rss;
    if (memory(&virt, &rss)) {
        CCAI_DISCARD(Ccai_metrics_gauge_set(m, "process_resident_memory_bytes", NULL, rss));
        CCAI_DISCARD(Ccai_metrics_gauge_set(m, "process_virtual_memory_bytes", NULL, virt));
    }
    long fds = open_fds();
    if (fds >= 0)
        CCAI_DISCARD(Ccai_metrics_gauge_set(m, "process_open_fds", NULL, (double)fds));
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        CCAI_DISCARD(Ccai_metrics_gauge_set(m, "process_max_fds", NULL,
                                            rl.rlim_cur == RLIM_INFINITY ? (double)INT32_MAX
                                                                         : (double)rl.rlim_cur));
}

ccai_status Ccai_metrics_process_init(Ccai_metrics *m, const char *version)
{
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(families); i++) {
        ccai_status st =
            Ccai_metrics_register(m, families[i].name, families[i].type, families[i].help, NULL, 0);
        if (st != CCAI_OK)
            return st;
    }
    char *labels = Ccai_metrics_labels("version", version ? version : "", (const char *)NULL);
    if (!labels)
        return CCAI_ERR_NOMEM;
    ccai_status st = Ccai_metrics_gauge_set(m, "ccai_build_info", labels, 1);
    ccai_free(labels);
    if (st != CCAI_OK)
        return st;
    return Ccai_metrics_add_collector(m, collect, NULL);
}
