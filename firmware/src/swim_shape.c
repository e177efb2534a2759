/* Decoding a request's layout (section 5) and its bounds (section 7) from the payload alone, before anything runs:
 * the core refuses what does not decode, what needs the lease it lacks and what it could not answer, without
 * touching a cell. */
#include "swim_internal.h"

static swim_request_shape refused(uint8_t status)
{
    swim_request_shape shape = {status, 0, 0, 0};
    return shape;
}

static swim_request_shape shaped(uint8_t changes, uint32_t items, uint32_t max_response)
{
    swim_request_shape shape = {ST_OK, changes, items, max_response};
    return shape;
}

/* A list of `size`-byte items filling the payload exactly; items, or -1 when the layout is wrong. */
static int32_t list_count(const uint8_t *p, uint32_t length, uint32_t size)
{
    if (length < 2) {
        return -1;
    }
    uint32_t count = get_u16(p);
    return length == 2 + count * size ? (int32_t)count : -1;
}

/* Packed fields (levels or a mask) leave the bits after the last one 0. */
static int unused_bits_clear(const uint8_t *bytes, uint64_t bits)
{
    uint32_t used = (uint32_t)(bits % 8);
    return used == 0 || (bytes[bits / 8] >> used) == 0;
}

static uint32_t selected_cells(const uint8_t *mask, uint32_t cells)
{
    uint32_t selected = 0;
    for (uint32_t i = 0; i < cells; i++) {
        selected += (mask[i / 8] >> (i % 8)) & 1u;
    }
    return selected;
}

static swim_request_shape read_shape(const uint8_t *p, uint32_t length)
{
    if (length < 2 || p[0] > 1) {
        return refused(ST_MALFORMED);
    }
    uint32_t cells;
    if (p[0] == 0) {
        int32_t count = list_count(p + 2, length - 2, 6);
        if (count < 0) {
            return refused(ST_MALFORMED);
        }
        cells = (uint32_t)count;
    } else {
        if (length != 12) {
            return refused(ST_MALFORMED);
        }
        cells = (uint32_t)get_u16(p + 8) * get_u16(p + 10);
    }
    return shaped(0, cells, (uint32_t)(2u + 4ull * cells > 0xFFFFFFFFu ? 0xFFFFFFFFu : 2u + 4ull * cells));
}

static swim_request_shape listed(const uint8_t *p, uint32_t length, uint32_t size, int enum_offset, uint8_t changes,
                                 uint32_t fixed, uint32_t per_item)
{
    int32_t count = list_count(p, length, size);
    if (count < 0) {
        return refused(ST_MALFORMED);
    }
    for (int32_t i = 0; enum_offset >= 0 && i < count; i++) {
        if (p[2 + (uint32_t)i * size + (uint32_t)enum_offset] > 1) {
            return refused(ST_MALFORMED); /* a polarity or a target kind that is neither 0 nor 1 */
        }
    }
    return shaped(changes, (uint32_t)count, fixed + per_item * (uint32_t)count);
}

static swim_request_shape program_levels_shape(const uint8_t *p, uint32_t length)
{
    if (length < 11 || p[10] < 1 || p[10] > 16) {
        return refused(ST_MALFORMED);
    }
    uint32_t cells = (uint32_t)get_u16(p + 6) * get_u16(p + 8);
    uint64_t bits = (uint64_t)cells * p[10];
    if (length != 11 + (bits + 7) / 8 || !unused_bits_clear(p + 11, bits)) {
        return refused(ST_MALFORMED);
    }
    return shaped(1, cells, 2 + 3 * cells);
}

static swim_request_shape read_codes_shape(const uint8_t *p, uint32_t length)
{
    if (length != 12 || (p[11] != 8 && p[11] != 16)) {
        return refused(ST_MALFORMED);
    }
    uint64_t cells = (uint64_t)get_u16(p + 6) * get_u16(p + 8);
    uint64_t longest = 11 + cells * (p[11] / 8u);
    return shaped(0, (uint32_t)cells, longest > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)longest);
}

static swim_request_shape verify_levels_shape(const uint8_t *p, uint32_t length)
{
    const uint32_t head = 17;
    if (length < head || p[10] < 1 || p[10] > 16) {
        return refused(ST_MALFORMED);
    }
    uint32_t cells = (uint32_t)get_u16(p + 6) * get_u16(p + 8);
    uint64_t mask_bytes = ((uint64_t)cells + 7) / 8;
    if (length < head + mask_bytes || !unused_bits_clear(p + head, cells)) {
        return refused(ST_MALFORMED);
    }
    uint32_t selected = selected_cells(p + head, cells);
    uint64_t level_bits = (uint64_t)selected * p[10];
    if (length != head + mask_bytes + (level_bits + 7) / 8 || !unused_bits_clear(p + head + mask_bytes, level_bits)) {
        return refused(ST_MALFORMED);
    }
    return shaped(1, selected, 2 + 3 * selected);
}

static swim_request_shape batch_shape(const swim_board *board, const uint8_t *p, uint32_t length)
{
    if (length < 2) {
        return refused(ST_MALFORMED);
    }
    uint32_t count = get_u16(p), at = 2;
    uint64_t longest = 2;
    uint8_t changes = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (length - at < 3 || length - at - 3 < get_u16(p + at + 1)) {
            return refused(ST_MALFORMED); /* a count or a length that runs past the payload */
        }
        uint32_t part = get_u16(p + at + 1);
        swim_request_shape sub = swim_shape(board, p[at], p + at + 3, part, 1);
        changes |= sub.changes;
        longest += 4 + (uint64_t)sub.max_response;
        at += 3 + part;
    }
    if (at != length) {
        return refused(ST_MALFORMED);
    }
    return shaped(changes, count, longest > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)longest);
}

swim_request_shape swim_shape(const swim_board *board, uint8_t opcode, const uint8_t *p, uint32_t length,
                              int inside_batch)
{
    switch (opcode) {
    case OP_IDENTIFY:
        return length == 0 ? shaped(0, 0, IDENTIFY_MAX_LENGTH) : refused(ST_MALFORMED);
    case OP_RESET:
        return length == 1 ? shaped(1, 0, 0) : refused(ST_MALFORMED);
    case OP_READ:
        return read_shape(p, length);
    case OP_WRITE_PULSE:
        return listed(p, length, 15, 6, 1, 2, 0);
    case OP_PROGRAM:
        return listed(p, length, 11, 6, 1, 2, 1);
    case OP_PROGRAM_VERIFY:
        return listed(p, length, 16, -1, 1, 2, 9);
    case OP_BATCH:
        return inside_batch ? refused(ST_NESTED_BATCH) : batch_shape(board, p, length);
    case OP_STATUS:
        return length == 0 ? shaped(0, 0, STATUS_LENGTH) : refused(ST_MALFORMED);
    case OP_COUNTERS:
        return board->counters == NULL ? refused(ST_UNKNOWN_OPCODE) : listed(p, length, 6, -1, 0, 2, 16);
    case OP_PROGRAM_LEVELS:
        return program_levels_shape(p, length);
    case OP_READ_CODES:
        return read_codes_shape(p, length);
    case OP_VERIFY_LEVELS:
        return verify_levels_shape(p, length);
    case OP_OPEN: /* sent outside any session, where its nonce makes it safe to repeat: never inside a BATCH */
        return !inside_batch && length == 11 && (p[8] & ~1u) == 0 ? shaped(0, 0, OPEN_RESPONSE_LENGTH)
                                                                 : refused(ST_MALFORMED);
    case OP_CLOSE:
        return !inside_batch && length == 0 ? shaped(0, 0, 0) : refused(ST_MALFORMED);
    default:
        return refused(ST_UNKNOWN_OPCODE);
    }
}
