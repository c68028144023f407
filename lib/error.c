/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/* Error codes: one table (DROPIPC_ERROR_MAP) gives names and sentences. */
#include <errno.h>
#include <string.h>

#include "internal.h"

#define STR(x) #x
#define XSTR(x) STR(x)
#define DROPIPC_VERSION_STRING                                                 \
	XSTR(DROPIPC_VERSION_MAJOR) "." XSTR(DROPIPC_VERSION_MINOR) "." XSTR(DROPIPC_VERSION_PATCH)

/* strerror() may write into a buffer that the next call reuses (unknown
 * values, and other libcs): the sentences come from a table instead. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
static const char *errno_text(int e)
{
	const char *s = strerrordesc_np(e);

	return s ? s : "unknown error";
}
#else
static const char *errno_text(int e)
{
	switch (e) {
#define E(name, text) \
	case name: \
		return text;
		E(EPERM, "Operation not permitted") E(EINTR, "Interrupted system call")
		E(EBADF, "Bad file descriptor") E(EAGAIN, "Resource temporarily unavailable")
		E(ENOMEM, "Cannot allocate memory") E(EACCES, "Permission denied")
		E(EFAULT, "Bad address") E(EINVAL, "Invalid argument")
		E(ENFILE, "Too many open files in system") E(EMFILE, "Too many open files")
		E(ENOTTY, "Inappropriate ioctl for device") E(EPIPE, "Broken pipe")
		E(ENOTSOCK, "Socket operation on non-socket")
		E(EPROTOTYPE, "Protocol wrong type for socket")
		E(ECONNRESET, "Connection reset by peer") E(ETIMEDOUT, "Connection timed out")
		E(ENOENT, "No such file or directory") E(ENOSPC, "No space left on device")
		E(EIO, "Input/output error")
#undef E
	}
	return "unknown error";
}
#endif

const char *dropipc_strerror(int err)
{
	switch (err) {
#define X(name, value, text) \
	case DROPIPC_ERR_##name: \
		return text;
		DROPIPC_ERROR_MAP(X)
#undef X
	case 0:
		return "success";
	}
	if (DROPIPC_IS_ERRNO(err))
		return errno_text(-err);
	return "unknown error";
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
static const char *errno_name(int e)
{
	return strerrordesc_np(e) ? strerrorname_np(e) : NULL;
}
#else
/* Without glibc's table: the errors the library's system calls report. */
static const char *errno_name(int e)
{
	switch (e) {
#define E(name) \
	case name: \
		return #name;
		E(EPERM) E(EINTR) E(EBADF) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(EINVAL)
		E(ENFILE) E(EMFILE) E(ENOTTY) E(EPIPE) E(ENOTSOCK) E(EPROTOTYPE) E(ECONNRESET)
		E(ETIMEDOUT) E(ENOENT) E(ENOSPC) E(EIO)
#undef E
	}
	return NULL;
}
#endif

const char *dropipc_err_name(int err)
{
	const char *name;

	switch (err) {
#define X(name, value, text) \
	case DROPIPC_ERR_##name: \
		return "DROPIPC_ERR_" #name;
		DROPIPC_ERROR_MAP(X)
#undef X
	case 0:
		return "OK";
	}
	if (DROPIPC_IS_ERRNO(err)) {
		name = errno_name(-err);
		if (name)
			return name;
	}
	return "UNKNOWN";
}

const char *dropipc_stage_name(int stage)
{
	switch (stage) {
	case DROPIPC_STAGE_ARGS:
		return "args";
	case DROPIPC_STAGE_JAIL:
		return "jail";
	case DROPIPC_STAGE_PTY:
		return "pty";
	case DROPIPC_STAGE_EXEC:
		return "exec";
	}
	return "unknown";
}

unsigned int dropipc_version(const char **text)
{
	if (text)
		*text = DROPIPC_VERSION_STRING;
	return DROPIPC_VERSION_HEX;
}
