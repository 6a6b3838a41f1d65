/* Compile-only check of ports/include/awaitq.h: ci/test-core.sh runs
 * `cc -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only` on it (and the same as C++11, as
 * the header promises C++ compatibility). It uses every declaration with the types C producers
 * use, so a renamed, retyped or missing item breaks the build; the layout assertions mirror the
 * Rust-side test `the_abi_layout_the_header_promises`. */
#include "awaitq.h"

#define STATIC_ASSERT(name, cond) typedef char static_assert_##name[(cond) ? 1 : -1]

STATIC_ASSERT(api_version_is_1, AWAITQ_API_VERSION == 1);
STATIC_ASSERT(ext_api_version_is_1, AWAITQ_EXT_API_VERSION == 1);
STATIC_ASSERT(ok_is_zero, AWAITQ_OK == 0);
STATIC_ASSERT(status_values,
              AWAITQ_FULL == 1 && AWAITQ_CLOSED == 2 && AWAITQ_OVERSIZE == 3 &&
                  AWAITQ_INVALID == 4);
STATIC_ASSERT(stats_is_six_u64, sizeof(awaitq_stats_t) == 6 * sizeof(uint64_t));
STATIC_ASSERT(api_table_is_version_plus_five_pointers,
              sizeof(awaitq_producer_api_t) == 6 * sizeof(void (*)(void)));
STATIC_ASSERT(ext_table_is_version_plus_four_pointers,
              sizeof(awaitq_producer_ext_api_t) == 5 * sizeof(void (*)(void)));
STATIC_ASSERT(frame_is_three_words, sizeof(awaitq_frame_t) == 3 * sizeof(size_t));

/* A producer as firmware writes one: push a CAN-like frame, look at the outcome. */
static uint64_t produce(const awaitq_channel_t *ch, uint32_t id, const uint8_t *data, size_t len) {
    awaitq_stats_t stats;
    awaitq_status_t st = awaitq_push(ch, id, data, len);
    switch (st) {
    case AWAITQ_OK:
    case AWAITQ_FULL:
    case AWAITQ_OVERSIZE:
    case AWAITQ_INVALID:
        break;
    case AWAITQ_CLOSED:
        (void)awaitq_close(ch);
        break;
    }
    if (awaitq_is_closed(ch) || awaitq_len(ch) == 0) {
        return 0;
    }
    if (awaitq_stats(ch, &stats) != AWAITQ_OK) {
        return 0;
    }
    return stats.sent + stats.received + stats.dropped + stats.overwritten + stats.rejected +
           stats.high_water;
}

/* The same through the function table a host hands out (CPython's capsule). */
static size_t produce_via_table(const awaitq_producer_api_t *api, const awaitq_channel_t *ch) {
    static const uint8_t frame[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    awaitq_stats_t stats;
    bool closed;
    if (api->version < AWAITQ_API_VERSION) {
        return 0;
    }
    if (api->push(ch, 0x123u, frame, sizeof frame) != AWAITQ_OK) {
        (void)api->close(ch);
    }
    closed = api->is_closed(ch);
    (void)api->stats(ch, &stats);
    return api->len(ch) + (closed ? 1u : 0u) + (size_t)stats.high_water;
}

/* Zero-copy: a DMA-style producer reserves a slot, fills it in place, commits (or aborts);
 * a batch producer hands several frames at once. */
static size_t produce_in_place(const awaitq_producer_ext_api_t *api, const awaitq_channel_t *ch) {
    awaitq_status_t st = AWAITQ_INVALID;
    awaitq_frame_t frames[2] = {{1u, NULL, 0}, {2u, NULL, 0}};
    size_t pushed = 0;
    uint8_t *slot = awaitq_reserve(ch, 4, &st);
    if (slot != NULL) {
        slot[0] = 0xAB;
        if (awaitq_commit(ch, slot, 0x42u, 1) != AWAITQ_OK) {
            return 0;
        }
    }
    slot = api->reserve(ch, 4, NULL);
    if (slot != NULL) {
        (void)api->abort(ch, slot);
    }
    (void)awaitq_push_many(ch, frames, 2, &pushed);
    (void)api->push_many(ch, frames, 2, NULL);
    (void)awaitq_abort(ch, NULL);
    (void)api->commit(ch, NULL, 0u, 0);
    return pushed + (size_t)st;
}

/* Every function, also as a value of the tables' field types. */
static const awaitq_producer_api_t table = {
    AWAITQ_API_VERSION, awaitq_push, awaitq_close, awaitq_is_closed, awaitq_len, awaitq_stats,
};
static const awaitq_producer_ext_api_t ext_table = {
    AWAITQ_EXT_API_VERSION, awaitq_push_many, awaitq_reserve, awaitq_commit, awaitq_abort,
};

size_t header_check(const awaitq_channel_t *ch);
size_t header_check(const awaitq_channel_t *ch) {
    /* The tagged names work too, so C code can forward-declare them. */
    enum awaitq_status_t tagged = AWAITQ_OK;
    struct awaitq_stats_t *forward = NULL;
    struct awaitq_frame_t *forward_frame = NULL;
    return (size_t)produce(ch, 1u, NULL, 0) + produce_via_table(&table, ch) + (size_t)tagged +
           produce_in_place(&ext_table, ch) + (forward == NULL ? 0u : 1u) +
           (forward_frame == NULL ? 0u : 1u);
}
