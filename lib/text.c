/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Text from the sandbox: the one sanitizer the library and launchers use
 * before anything the child wrote reaches a terminal, and cuts that never
 * split a UTF-8 character.
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"

size_t dropipc__utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static int is_control(uint32_t cp)
{
	return (cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7f && cp <= 0x9f);
}

size_t dropipc_text_sanitize(char *text, size_t len)
{
	unsigned char *s = (unsigned char *)text;
	size_t in = 0, out = 0, n;
	uint32_t cp;

	if (!text)
		return 0;
	while (in < len) {
		n = dropipc__utf8_decode(s + in, len - in, &cp);
		if (n == 0 || is_control(cp)) {
			s[out++] = '?';
			in += n ? n : 1;
			continue;
		}
		/* out never passes in: each character gives at most its bytes. */
		memmove(s + out, s + in, n);
		out += n;
		in += n;
	}
	return out;
}

size_t dropipc__utf8_cut(const char *s, size_t len, size_t max)
{
	size_t cut = max, back = 0;

	if (len <= max)
		return len;
	/* Back over the continuation bytes of the character the cut splits. */
	while (cut > 0 && back < 3 && ((unsigned char)s[cut] & 0xc0) == 0x80) {
		cut--;
		back++;
	}
	return ((unsigned char)s[cut] & 0xc0) == 0x80 ? max : cut;
}
