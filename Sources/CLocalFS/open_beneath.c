#include "CLocalFS.h"
#include <errno.h>

#if defined(__linux__)
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int zarr_open_beneath(int dirfd, const char *path, int flags, unsigned int mode) {
#ifdef SYS_openat2
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(unsigned int)flags;
    how.mode = mode;
    /* RESOLVE_NO_SYMLINKS alone: the callers' paths are validated keys (no "..", not
     * absolute), so without symbolic links they cannot leave dirfd. RESOLVE_BENEATH would add
     * a global rename-lock check per lookup that retries, and walks the whole depth again,
     * whenever any rename happens on the system: very slow for deep paths under concurrent
     * writes. */
    how.resolve = RESOLVE_NO_SYMLINKS;
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    return (int)fd;
#else
    (void)dirfd; (void)path; (void)flags; (void)mode;
    errno = ENOSYS;
    return -1;
#endif
}
#else
int zarr_open_beneath(int dirfd, const char *path, int flags, unsigned int mode) {
    (void)dirfd; (void)path; (void)flags; (void)mode;
    errno = ENOSYS;
    return -1;
}
#endif
