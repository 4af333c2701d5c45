#ifndef CPLATFORM_H
#define CPLATFORM_H

/// Atomically exchanges the directory entries `a` and `b` (both relative to `dirfd`, or
/// absolute): Linux `renameat2(RENAME_EXCHANGE)`. Returns 0, or -1 with errno set (ENOSYS or
/// EINVAL where the system or the file system cannot exchange).
int cplatform_rename_exchange(int dirfd, const char *a, const char *b);

/// Renames `from` to `to` only if `to` does not exist: Linux `renameat2(RENAME_NOREPLACE)`.
/// Returns 0, or -1 with errno set (EEXIST when `to` exists; ENOSYS or EINVAL where the system
/// or the file system cannot do it).
int cplatform_rename_noreplace(int dirfd, const char *from, const char *to);

/// Removes `path` and everything below it without following symbolic links (a link is removed,
/// not its target); names need not be UTF-8. A missing `path` is not an error. Returns 0, or -1
/// with errno set from the first failure.
int cplatform_remove_tree(const char *path);

#endif
