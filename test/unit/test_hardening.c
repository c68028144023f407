/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hardening of issue 10 that is not an attack of its own: the one
 * sanitizer, a known field of the wrong wire type named, error sentences
 * that stay put, the decode budget that cannot wrap, and out of memory in a
 * decode reported as such.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h" /* dropipc__decode_limit(), a static inline */
#include "unit.h"

/* ---- dropipc_text_sanitize ------------------------------------------------- */

START_TEST(sanitize_table)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ "plain text", 10, "plain text" },
		{ "tab\tand\nnewline", 15, "tab\tand\nnewline" }, /* kept */
		{ "\x1b[2J\r\x07\x7f", 7, "?[2J???" },		  /* C0 and DEL */
		{ "a\xc2\x9b[31mb", 8, "a?[31mb" },		  /* C1 CSI: one '?' */
		{ "\xc2\x80\xc2\x9f\xc2\xa0", 6, "??\xc2\xa0" },  /* C1 ends at U+009F */
		{ "nul\0byte", 8, "nul?byte" },			  /* NUL is a C0 control */
		{ "caf\xe9!", 5, "caf?!" },			  /* Latin-1: one per byte */
		{ "\xc0\xaf", 2, "??" },			  /* overlong */
		{ "\xed\xa0\x80", 3, "???" },			  /* surrogate */
		{ "\xe2\x82", 2, "??" },			  /* cut short */
		{ "\xe2\x82\xac \xf0\x9f\x98\x80", 8, "\xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "", 0, "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		size_t n;

		memcpy(buf, cases[i].in, cases[i].len);
		buf[cases[i].len] = 'Z'; /* not NUL-terminated: len decides */
		n = dropipc_text_sanitize(buf, cases[i].len);
		ck_assert_uint_le(n, cases[i].len);
		ck_assert_msg(n == strlen(cases[i].out) && memcmp(buf, cases[i].out, n) == 0,
			      "case %zu: got \"%.*s\", want \"%s\"", i, (int)n, buf, cases[i].out);
		ck_assert_int_eq(buf[cases[i].len], 'Z');
	}
	ck_assert_uint_eq(dropipc_text_sanitize(NULL, 0), 0);
}
END_TEST

/* ---- a known field of the wrong wire type ---------------------------------- */

START_TEST(wire_type_named)
{
	/* Envelope{child_args: ChildArgs{env_id: "x", paths: Paths{cwd: varint 1}}} */
	static const uint8_t payload[] = { 0x0a, 0x07, 0x0a, 0x01, 'x', 0x12, 0x02, 0x08, 0x01 };
	dropipc_args *args;
	dropipc_child *c;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(dropipc_child_new(sv[0], &c), 0);
	unit_send_frame(sv[1], NULL, payload, sizeof(payload), NULL, 0);
	ck_assert_int_eq(dropipc_child_recv_args(c, &args), DROPIPC_ERR_PROTO);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "recv args: paths.cwd: wire type 0, expected 2");
	dropipc_child_free(c);
	close(sv[1]);
}
END_TEST

/* ---- error sentences -------------------------------------------------------- */

static void *strerror_elsewhere(void *arg)
{
	(void)arg;
	return (void *)dropipc_strerror(-3998);
}

/* The sentence for an errno value is static: a later call, in this thread
 * or another, does not change it (strerror() writes unknown values into a
 * buffer it reuses). */
START_TEST(strerror_stays)
{
	const char *unknown = dropipc_strerror(-3999), *eperm = dropipc_strerror(-EPERM);
	char saved[128], saved_eperm[128];
	pthread_t t;
	void *other;

	snprintf(saved, sizeof(saved), "%s", unknown);
	snprintf(saved_eperm, sizeof(saved_eperm), "%s", eperm);
	ck_assert_int_eq(pthread_create(&t, NULL, strerror_elsewhere, NULL), 0);
	ck_assert_int_eq(pthread_join(t, &other), 0);
	ck_assert_ptr_nonnull(other);
	(void)dropipc_strerror(-3998);
	ck_assert_str_eq(unknown, saved);
	ck_assert_str_eq(eperm, saved_eperm);
	ck_assert_str_eq(eperm, "Operation not permitted");
}
END_TEST

/* ---- the decode budget -------------------------------------------------------- */

/* 64 x the payload + 4 KiB, saturating: never below the payload, even
 * where 64 x it would not fit in a size_t (32-bit builds). */
START_TEST(decode_limit_saturates)
{
	const size_t lens[] = { 0, 1, DROPIPC_MAX_PAYLOAD_LIMIT, SIZE_MAX / 64, SIZE_MAX / 32,
				SIZE_MAX / 2, SIZE_MAX };

	ck_assert_uint_eq(dropipc__decode_limit(0), 4096);
	ck_assert_uint_eq(dropipc__decode_limit(1000), 64 * 1000 + 4096);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ck_assert_uint_ge(dropipc__decode_limit(lens[i]), lens[i]);
		if (i > 0)
			ck_assert_uint_ge(dropipc__decode_limit(lens[i]),
					  dropipc__decode_limit(lens[i - 1]));
	}
	ck_assert_uint_eq(dropipc__decode_limit(SIZE_MAX / 32), SIZE_MAX);
}
END_TEST

/* ---- out of memory in a decode ---------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define NO_MALLOC_OVERRIDE "AddressSanitizer replaces malloc"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_MALLOC_OVERRIDE "AddressSanitizer replaces malloc"
#endif
#endif

#ifndef NO_MALLOC_OVERRIDE
extern void *__libc_malloc(size_t size);

/* While not 0, mallocs of at least this many bytes fail. */
static volatile size_t fail_from;

/* This executable's malloc takes precedence over libc's for the whole
 * process, the library included. */
void *malloc(size_t size)
{
	if (fail_from && size >= fail_from) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(size);
}

/* v (< 2^21) as a 3-byte varint at p + at; the new end. */
static size_t put_varint3(uint8_t *p, size_t at, size_t v)
{
	p[at] = (uint8_t)((v & 0x7f) | 0x80);
	p[at + 1] = (uint8_t)(((v >> 7) & 0x7f) | 0x80);
	p[at + 2] = (uint8_t)(v >> 14);
	return at + 3;
}

/* ChildArgs of 20000 empty mounts: about 40 KB on the wire; protobuf-c
 * wants one 160 KB array for them, which this malloc refuses. */
START_TEST(decode_out_of_memory)
{
	enum { N = 20000 };
	size_t cfg = 2 * N, len = 0;
	uint8_t *p = malloc(2 * N + 16);
	dropipc_args *args = (dropipc_args *)1;
	dropipc_child *c;
	int sv[2], r;

	ck_assert_ptr_nonnull(p);
	p[len++] = 0x0a; /* Envelope.child_args: 1 + 3 + cfg bytes */
	len = put_varint3(p, len, 4 + cfg);
	p[len++] = 0x1a; /* ChildArgs.config: cfg bytes */
	len = put_varint3(p, len, cfg);
	for (size_t i = 0; i < N; i++) {
		p[len++] = 0x12; /* Config.mounts, empty */
		p[len++] = 0x00;
	}
	ck_assert_uint_eq(len, 1 + 3 + 1 + 3 + cfg);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(dropipc_child_new(sv[0], &c), 0);
	unit_send_frame(sv[1], NULL, p, len, NULL, 0);
	fail_from = 120000;
	r = dropipc_child_recv_args(c, &args);
	fail_from = 0;
	ck_assert_msg(r == -ENOMEM, "got %s (%s), want ENOMEM", dropipc_err_name(r),
		      dropipc_conn_get_errmsg(dropipc_child_conn(c)));
	unit_assert_contains(dropipc_conn_get_errmsg(dropipc_child_conn(c)), "no memory to decode ChildArgs");
	ck_assert_ptr_null(args);
	dropipc_child_free(c);
	close(sv[1]);
	free(p);
}
END_TEST
#endif

Suite *suite_hardening(void)
{
	Suite *s = suite_create("hardening");
	TCase *tc = unit_tcase(s, "hardening");

	tcase_add_test(tc, sanitize_table);
	tcase_add_test(tc, wire_type_named);
	tcase_add_test(tc, strerror_stays);
	tcase_add_test(tc, decode_limit_saturates);
#ifdef NO_MALLOC_OVERRIDE
	test_skip_case("oom", NO_MALLOC_OVERRIDE);
#else
	/* valgrind brings its own malloc, which this one cannot replace. */
	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
		test_skip_case("oom", "valgrind replaces malloc, so no allocation can be made to fail");
		return s;
	}
	tc = unit_tcase(s, "oom");
	tcase_add_test(tc, decode_out_of_memory);
#endif
	return s;
}
