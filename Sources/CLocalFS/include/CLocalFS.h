#ifndef CLOCALFS_H
#define CLOCALFS_H

/// Opens `path` relative to the directory `dirfd` with `openat2(2)` and RESOLVE_NO_SYMLINKS:
/// the path may not pass through any symbolic link (the last component included); such a path
/// fails with ELOOP (ENOTDIR for a last component opened with O_DIRECTORY). The caller passes
/// only relative paths without `..` components, which then cannot leave `dirfd`.
/// Returns the descriptor, or -1 with errno set; errno is ENOSYS where openat2 does not exist
/// (other systems, kernels before 5.6), and may be EPERM where a sandbox forbids it.
int zarr_open_beneath(int dirfd, const char *path, int flags, unsigned int mode);

#endif
