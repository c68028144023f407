/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Drop's environment rules: keep the inherited variables whose names match
 * an exposed_vars pattern (fnmatch), then apply set_vars in order (replace;
 * $VAR and ${VAR} expanded from the inherited environment; an empty value
 * removes), then DROP_ENV=ENV_ID unless set_vars named it.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"

struct vec {
	char **v;
	size_t n, cap;
};

static int push(struct vec *e, char *s)
{
	if (!s)
		return -ENOMEM;
	if (e->n + 2 > e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 32;
		char **v = realloc(e->v, cap * sizeof(*v));

		if (!v) {
			free(s);
			return -ENOMEM;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
	return 0;
}

static size_t name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');

	return eq ? (size_t)(eq - entry) : strlen(entry);
}

static void unset(struct vec *e, const char *name)
{
	size_t k = 0, len = strlen(name);

	for (size_t i = 0; i < e->n; i++) {
		if (name_len(e->v[i]) == len && !strncmp(e->v[i], name, len))
			free(e->v[i]);
		else
			e->v[k++] = e->v[i];
	}
	e->n = k;
	if (e->v)
		e->v[k] = NULL;
}

const char *environ_get(char *const *envp, const char *name)
{
	size_t len = strlen(name);

	for (; envp && *envp; envp++)
		if (name_len(*envp) == len && !strncmp(*envp, name, len) && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

static bool name_char(char c, bool first)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (!first && c >= '0' && c <= '9');
}

/* "NAME=" and value with $VAR and ${VAR} replaced from env (an unset one
 * by nothing); a '$' that starts no name stays. Returns malloc'ed text. */
static char *expand(const char *name, const char *value, char **env)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	fprintf(f, "%s=", name);
	for (const char *p = value; *p;) {
		bool brace = p[0] == '$' && p[1] == '{';
		const char *s = p + 1 + brace, *q = s;
		char var[256];

		if (p[0] != '$' || !name_char(*s, true)) {
			fputc(*p++, f);
			continue;
		}
		while (name_char(*q, false))
			q++;
		if (brace && *q != '}') {
			fputc(*p++, f);
			continue;
		}
		snprintf(var, sizeof(var), "%.*s", (int)(q - s), s);
		if (environ_get(env, var))
			fputs(environ_get(env, var), f);
		p = q + brace;
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

void environ_free(char **envp)
{
	for (size_t i = 0; envp && envp[i]; i++)
		free(envp[i]);
	free(envp);
}

int environ_build(dropipc_child *ch, const dropipc_args *a, char **inherited, char ***envp)
{
	struct vec e = { 0 };
	bool drop_env_set = false;
	size_t nexposed;
	char *const *exposed = dropipc_args_get_list(a, DROPIPC_LIST_ENVIRON_EXPOSED_VARS, &nexposed);
	const char *var, *value;
	int r = 0;

	*envp = NULL;
	for (char **p = inherited; p && *p && r == 0; p++) {
		char name[1024];

		snprintf(name, sizeof(name), "%.*s", (int)name_len(*p), *p);
		for (size_t i = 0; i < nexposed; i++) {
			if (fnmatch(exposed[i], name, 0) == 0) {
				r = push(&e, strdup(*p));
				break;
			}
		}
	}
	for (size_t i = 0; r == 0 && dropipc_args_get_environ_set_var(a, i, &var, &value) == 0;
	     i++) {
		drop_env_set |= !strcmp(var, "DROP_ENV");
		unset(&e, var);
		if (*value)
			r = push(&e, expand(var, value, inherited));
	}
	if (r == 0 && !drop_env_set) {
		char *s = NULL;

		r = asprintf(&s, "DROP_ENV=%s", dropipc_args_get_env_id(a)) < 0 ? -ENOMEM : 0;
		if (r == 0)
			r = push(&e, s);
	}
	if (r == 0 && !e.v)
		r = push(&e, strdup("DROP_ENV=")) == 0 ? (unset(&e, "DROP_ENV"), 0) : -ENOMEM;
	if (r < 0) {
		environ_free(e.v);
		dropipc_child_send_error(ch, DROPIPC_STAGE_EXEC, -r, "environment: %s", strerror(-r));
		return -1;
	}
	*envp = e.v;
	return 0;
}
