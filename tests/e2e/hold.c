/* hold.c — see hold.h. */
#include "hold.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

void hold_until_peer_closes(int fd, int max_s)
{
    time_t end = time(NULL) + max_s;
    char sink[4096];
    while (time(NULL) < end) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, 1000);
        if (r < 0 && errno != EINTR) { return; }
        if (r > 0) {
            ssize_t n = read(fd, sink, sizeof sink);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) { return; }
        }
    }
}
