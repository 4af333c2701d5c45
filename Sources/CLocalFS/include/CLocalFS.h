#ifndef CLOCALFS_H
#define CLOCALFS_H

/// Opens `path` relative to the directory `dirfd` with `openat2(2)` and RESOLVE_NO_SYMLINKS:
/// the path may not pass through any symbolic link (the last component included); such a path
/// fails with ELOOP (ENOTDIR for a last component opened with O_DIRECTORY). The caller passes
/// only relative paths without `..` components, which then cannot leave `dirfd`.
/// Returns the descriptor, or -1 with errno set; errno is ENOSYS where openat2 does not exist
/// (other systems, kernels before 5.6), and may be EPERM where a sandbox forbids it.
int zarr_open_beneath(int dirfd, const char *path, int flags, unsigned int mode);

/// Atomically exchanges the directory entries `a` and `b` (both relative to `dirfd`, or
/// absolute): Linux `renameat2(RENAME_EXCHANGE)`. Returns 0, or -1 with errno set (ENOSYS or
/// EINVAL where the system or the file system cannot exchange).
int zarr_rename_exchange(int dirfd, const char *a, const char *b);

/// Removes `path` and everything below it without following symbolic links (a link is removed,
/// not its target); names need not be UTF-8. A missing `path` is not an error. Returns 0, or -1
/// with errno set from the first failure.
int zarr_remove_tree(const char *path);

#endif
