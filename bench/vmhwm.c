/* vmhwm.c — LD_PRELOAD helper for bench/run: when the process exits, append its peak resident set
 * (VmHWM of /proc/self/status, in KiB) to the file named by BENCH_VMHWM_OUT. VmHWM counts the pages
 * the process itself touched; ru_maxrss (what /usr/bin/time reports) also counts the pages of the
 * exec'd shell or loader it replaced, so it reads higher. Not part of any shipped binary. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((destructor)) static void bench_vmhwm_report(void)
{
    const char *out = getenv("BENCH_VMHWM_OUT");
    char buf[4096], line[64];
    ssize_t n;
    int fd;
    if (out == NULL || out[0] == '\0') { return; }
    fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) { return; }
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) { return; }
    buf[n] = '\0';
    const char *p = strstr(buf, "VmHWM:");
    if (p == NULL) { return; }
    long kib = strtol(p + 6, NULL, 10);
    int len = snprintf(line, sizeof line, "%ld\n", kib);
    fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) { return; }
    if (len > 0) { (void)!write(fd, line, (size_t)len); }
    close(fd);
}
