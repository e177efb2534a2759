/* Shared inside the core: byte order helpers, CRC, the protocol's numbers. */
#ifndef SWIM_INTERNAL_H
#define SWIM_INTERNAL_H

#include <string.h>

#include "swim_board.h"

enum swim_opcode {
    OP_IDENTIFY = 0x01, OP_RESET = 0x02, OP_READ = 0x03, OP_WRITE_PULSE = 0x04, OP_PROGRAM = 0x05,
    OP_PROGRAM_VERIFY = 0x06, OP_BATCH = 0x07, OP_STATUS = 0x08, OP_COUNTERS = 0x09, OP_PROGRAM_LEVELS = 0x0A,
    OP_READ_CODES = 0x0B, OP_VERIFY_LEVELS = 0x0C, OP_OPEN = 0x0D, OP_CLOSE = 0x0E
};

enum swim_status {
    ST_OK = 0x00, ST_BAD_CRC = 0x01, ST_BAD_LENGTH = 0x02, ST_UNKNOWN_OPCODE = 0x03, ST_BAD_VERSION = 0x04,
    ST_OUT_OF_RANGE = 0x05, ST_OUTSIDE_SOA = 0x06, ST_BUSY = 0x07, ST_DID_NOT_CONVERGE = 0x08, ST_CELL_STUCK = 0x09,
    ST_TOO_LARGE = 0x0A, ST_MALFORMED = 0x0B, ST_NESTED_BATCH = 0x0C, ST_INTERNAL_ERROR = 0x0D,
    ST_STALE_SEQUENCE = 0x0E, ST_NO_SESSION = 0x0F, ST_LEASE_HELD = 0x10, ST_NOT_LEASED = 0x11
};

#define FLAG_RESPONSE 0x01u
#define FLAG_REPLAYED 0x02u
#define IDENTIFY_MAX_LENGTH 122u
#define OPEN_RESPONSE_LENGTH 14u
#define STATUS_LENGTH 65u

static inline uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32); }
static inline float get_f32(const uint8_t *p)
{
    uint32_t bits = get_u32(p);
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}
static inline swim_cell get_cell(const uint8_t *p)
{
    swim_cell cell = {get_u16(p), get_u16(p + 2), get_u16(p + 4)};
    return cell;
}
static inline void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void put_u64(uint8_t *p, uint64_t v) { put_u32(p, (uint32_t)v); put_u32(p + 4, (uint32_t)(v >> 32)); }
static inline void put_f32(uint8_t *p, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_u32(p, bits);
}

/* A cell's place in the array, tile by tile, row by row: its index among per-cell counters. */
static inline uint32_t swim_cell_index(const swim_board_config *config, swim_cell cell)
{
    return ((uint32_t)cell.tile * config->rows + cell.row) * config->columns + cell.column;
}

/* The length of a zero-terminated text, at most `most` (strnlen is POSIX, not C99). */
static inline uint32_t bounded_length(const char *text, uint32_t most)
{
    uint32_t n = 0;
    while (n < most && text[n] != 0) {
        n++;
    }
    return n;
}

uint32_t swim_crc32_update(uint32_t crc, uint8_t byte);
uint32_t swim_crc32(const uint8_t *bytes, size_t count);

/* What a request asks, found from its payload alone before anything runs (section 7's bounds). */
typedef struct swim_request_shape {
    uint8_t refusal;          /* ST_OK, or MALFORMED / UNKNOWN_OPCODE / NESTED_BATCH: the request does not decode */
    uint8_t changes;          /* needs the write lease */
    uint32_t items;           /* cells, pulses or sub-requests: at most max_batch */
    uint32_t max_response;    /* its longest answer, bytes */
} swim_request_shape;

swim_request_shape swim_shape(const swim_board *board, uint8_t opcode, const uint8_t *payload, uint32_t length,
                              int inside_batch);

/* Runs a decoded request (not OPEN, CLOSE or BATCH's framing) and writes its answer to `out`; returns its status,
 * *out_length the answer's length (0 unless OK). */
uint8_t swim_execute(swim_board *board, uint8_t opcode, const uint8_t *payload, uint32_t length, uint8_t *out,
                     uint32_t *out_length);

/* The board's write-verify loop on one cell (section 5, PROGRAM_VERIFY). */
typedef struct swim_verify_outcome {
    uint8_t status;
    uint16_t iterations, pulses;
    float final_microsiemens;
} swim_verify_outcome;

swim_verify_outcome swim_verify_cell(swim_board *board, swim_cell cell, float target, float tolerance,
                                     uint16_t max_iterations);
void swim_program_cell(swim_board *board, swim_cell cell, float target);
float swim_read_cell(swim_board *board, swim_cell cell, uint32_t samples);
/* One pulse through the HAL, counted in STATUS and in the cell's COUNTERS. */
void swim_apply_pulse(swim_board *board, swim_cell cell, uint8_t polarity, float amplitude, uint32_t width);
/* Sums `samples` reads of `count` cells of a row from `first` into board->row_sums, a row at a time where the HAL
 * reads rows; swim_row_conductance turns a sum into the averaged conductance. */
void swim_sum_row(swim_board *board, swim_cell first, uint32_t count, uint32_t samples);
float swim_row_conductance(const swim_board *board, uint32_t column, uint32_t samples);
float swim_level_conductance(const swim_board_config *config, uint32_t level);

#endif
