/* SPDX-License-Identifier: MIT */
/*
 * White-box test of lib/crc32c.c. Its fast paths fold long buffers 256
 * bytes a round with AVX-512 carry-less products (where the CPU has them)
 * or cut them into three interleaved chains joined with carry-less
 * products; a wrong folding or joining constant would still give a
 * checksum, only not CRC-32C, and every snapshot this library wrote would
 * be refused by any other reader. So each length around each cut (the
 * 512-byte least and 256-byte rounds of the fold, the 3 x 256 and
 * 3 x 8192 byte rounds of the chains, the 8-byte words, the alignment
 * head), at each alignment, is
 * compared with a bit-at-a-time CRC-32C computed here, and a CRC continued
 * across any split must equal the CRC of the whole.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "crc32c.h"

#define BYTES (3u * 3u * 8192u + 4096u)

/* CRC-32C one bit at a time, straight from the definition (reflected
 * polynomial 0x82F63B78, inverted in and out). */
static uint32_t crc_reference(uint32_t crc, const uint8_t *data, size_t len)
{
	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= data[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static uint8_t *random_bytes(void)
{
	uint8_t *data = malloc(BYTES);
	uint64_t state = 0x9e3779b97f4a7c15u;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < BYTES; i++) {
		state = state * 6364136223846793005u + 1442695040888963407u;
		data[i] = (uint8_t)(state >> 56);
	}
	return data;
}

START_TEST(check_value)
{
	ck_assert_uint_eq(crc32c_update(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c_update(0, "", 0), 0);
}
END_TEST

/* Every length near a boundary of the fast path, at every alignment. */
START_TEST(lengths_around_each_cut)
{
	static const size_t cuts[] = {0,    8,	     512,      768,	     1024,
				      4096, 2 * 768, 3 * 8192, 2 * 3 * 8192, 3 * 8192 + 768};
	uint8_t *data = random_bytes();

	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		for (size_t delta = 0; delta <= 24; delta++) {
			for (size_t align = 0; align < 8; align++) {
				size_t len = cuts[c] + delta >= 12 ? cuts[c] + delta - 12 : 0;

				ck_assert_msg(crc32c_update(0, data + align, len) ==
						  crc_reference(0, data + align, len),
					      "length %zu at alignment %zu", len, align);
			}
		}
	}
	free(data);
}
END_TEST

/* Lengths 0 to 2048 one by one, and every 97th up to the buffer's size. */
START_TEST(many_lengths)
{
	uint8_t *data = random_bytes();

	for (size_t len = 0; len <= BYTES - 8; len += len < 2048 ? 1 : 97)
		ck_assert_msg(crc32c_update(0x12345678u, data + 3, len) ==
				  crc_reference(0x12345678u, data + 3, len),
			      "length %zu", len);
	free(data);
}
END_TEST

/* Continuing a CRC across a split gives the CRC of the whole, wherever
 * the split falls (the save checksums a run page by page). */
START_TEST(continued_across_any_split)
{
	uint8_t *data = random_bytes();
	const size_t len = 3 * 8192 * 2 + 1000;
	uint32_t whole = crc_reference(0, data, len);

	for (size_t split = 0; split <= len; split += split < 64 ? 1 : 509) {
		uint32_t first = crc32c_update(0, data, split);

		ck_assert_msg(crc32c_update(first, data + split, len - split) == whole,
			      "split at %zu", split);
	}
	free(data);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("crc32c");
	TCase *tc = tcase_create("crc32c");
	SRunner *runner;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, check_value);
	tcase_add_test(tc, lengths_around_each_cut);
	tcase_add_test(tc, many_lengths);
	tcase_add_test(tc, continued_across_any_split);
	suite_add_tcase(suite, tc);
	runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
