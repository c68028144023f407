/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * A launcher's own messages (Envelope.custom): type, data and named fds in
 * either direction, through a real pair; what the sender refuses; what the
 * receiver refuses, with the fds that came closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static const char data[] = { 'a', '\0', (char)0xff, 'z' };

START_TEST(both_directions)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_custom *m = (dropipc_custom *)1;
	int pipefd[2];
	struct stat st;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	ck_assert_int_eq(dropipc_conn_send_custom(dropipc_parent_conn(p), "org.example.Limits/1", data, sizeof(data),
						    (const dropipc_file[]){ { "in", pipefd[0] },
									    { "out", pipefd[1] } },
						    2),
			 0);
	close(pipefd[0]);
	close(pipefd[1]);
	ck_assert_int_eq(dropipc_conn_recv_custom(dropipc_child_conn(c), &m), 0);
	ck_assert_str_eq(m->type, "org.example.Limits/1");
	ck_assert_uint_eq(m->len, sizeof(data));
	ck_assert_mem_eq(m->data, data, sizeof(data));
	ck_assert_int_eq(((const char *)m->data)[m->len], '\0');
	ck_assert_uint_eq(m->n_files, 2);
	ck_assert_str_eq(m->files[0].name, "in");
	ck_assert_str_eq(m->files[1].name, "out");
	ck_assert_int_eq(write(m->files[1].fd, "x", 1), 1);
	ck_assert_int_eq(fstat(m->files[0].fd, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_int_eq(unit_cloexec(m->files[0].fd), 1);
	close(m->files[0].fd);
	close(m->files[1].fd);
	free(m);

	/* Back, without fds and without data. */
	ck_assert_int_eq(dropipc_conn_send_custom(dropipc_child_conn(c), "reply", NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(dropipc_conn_recv_custom(dropipc_parent_conn(p), &m), 0);
	ck_assert_str_eq(m->type, "reply");
	ck_assert_uint_eq(m->len, 0);
	ck_assert_uint_eq(m->n_files, 0);
	free(m);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* The sender refuses what the receiver would, and sends nothing. */
START_TEST(send_refused)
{
	char long_type[258];
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_custom *m;

	memset(long_type, 'a', 257);
	long_type[257] = '\0';
	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_send_custom(dropipc_parent_conn(p), "", NULL, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(dropipc_conn_send_custom(dropipc_parent_conn(p), "a b", NULL, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(dropipc_conn_send_custom(dropipc_parent_conn(p), "a\x7f", NULL, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(dropipc_conn_send_custom(dropipc_parent_conn(p), long_type, NULL, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(dropipc_conn_send_custom(dropipc_parent_conn(p), NULL, NULL, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(dropipc_conn_send_custom(dropipc_parent_conn(p), "t", NULL, 1, NULL, 0), -EINVAL);
	ck_assert_int_eq(dropipc_conn_send_custom(dropipc_parent_conn(p), "t", NULL, 0, NULL, 17), -EINVAL);
	ck_assert_int_eq(
		dropipc_conn_send_custom(dropipc_parent_conn(p), "t", NULL, 0, (const dropipc_file[]){ { "", 0 } }, 1),
		-EINVAL);
	ck_assert_int_eq(
		dropipc_conn_send_custom(dropipc_parent_conn(p), "t", NULL, 0, (const dropipc_file[]){ { "x", -1 } }, 1),
		-EBADF);
	ck_assert_int_eq(dropipc_conn_send_custom(dropipc_parent_conn(NULL), "t", NULL, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(dropipc_conn_recv_custom(dropipc_child_conn(c), NULL), -EINVAL);
	/* Nothing went out: the next frame is the one sent now. */
	memset(long_type + 1, 0, 1);
	ck_assert_int_eq(dropipc_conn_send_custom(dropipc_parent_conn(p), long_type, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(dropipc_conn_recv_custom(dropipc_child_conn(c), &m), 0);
	ck_assert_str_eq(m->type, "a");
	free(m);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

/* Another message where a Custom one is expected is a protocol error, and
 * its fds are closed; a child's report reaches the parent as ECHILD. */
START_TEST(recv_refused)
{
	dropipc_parent *p;
	dropipc_child *c;
	dropipc_custom *m = (dropipc_custom *)1;

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_conn_send_files(dropipc_parent_conn(p), (const dropipc_file[]){ { "f", 0 } }, 1), 0);
	ck_assert_int_eq(dropipc_conn_recv_custom(dropipc_child_conn(c), &m), DROPIPC_ERR_PROTO);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(dropipc_conn_get_errmsg(dropipc_child_conn(c)),
			 "recv custom: expected the custom message, got files");
	dropipc_child_free(c);
	dropipc_parent_free(p);

	ck_assert_int_eq(unit_pair(&p, &c), 0);
	ck_assert_int_eq(dropipc_child_send_error(c, DROPIPC_STAGE_EXEC, ENOENT, "gone"), 0);
	ck_assert_int_eq(dropipc_conn_recv_custom(dropipc_parent_conn(p), &m), DROPIPC_ERR_CHILD);
	ck_assert_ptr_null(m);
	dropipc_child_free(c);
	dropipc_parent_free(p);
}
END_TEST

Suite *suite_custom(void)
{
	Suite *s = suite_create("custom");
	TCase *tc = unit_tcase(s, "custom");

	tcase_add_test(tc, both_directions);
	tcase_add_test(tc, send_refused);
	tcase_add_test(tc, recv_refused);
	return s;
}
