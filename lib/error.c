/* Error codes: one table (DROPIPC_ERRNO_MAP) gives names and sentences. */
#include <errno.h>
#include <string.h>

#include "internal.h"

const char *dropipc_strerror(int err)
{
	switch (err) {
#define X(name, value, text) \
	case DROPIPC_##name: \
		return text;
		DROPIPC_ERRNO_MAP(X)
#undef X
	case 0:
		return "success";
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}

const char *dropipc_err_name(int err)
{
	const char *name;

	switch (err) {
#define X(name, value, text) \
	case DROPIPC_##name: \
		return "DROPIPC_" #name;
		DROPIPC_ERRNO_MAP(X)
#undef X
	case 0:
		return "OK";
	}
	if (err < 0 && err > -4096) {
		name = strerrordesc_np(-err) ? strerrorname_np(-err) : NULL;
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
