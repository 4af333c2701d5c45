#define _GNU_SOURCE
#include "CLocalFS.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

int zarr_rename_exchange(int dirfd, const char *a, const char *b) {
#if defined(__linux__) && defined(RENAME_EXCHANGE)
    return renameat2(dirfd, a, dirfd, b, RENAME_EXCHANGE);
#else
    (void)dirfd; (void)a; (void)b;
    errno = ENOSYS;
    return -1;
#endif
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)ftw;
    int r = (flag == FTW_DP) ? rmdir(path) : unlink(path);
    if (r != 0 && errno == ENOENT) return 0;
    return r;
}

int zarr_remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return (unlink(path) == 0 || errno == ENOENT) ? 0 : -1;
    return nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
}
