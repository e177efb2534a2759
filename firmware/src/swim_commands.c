/* The array commands of section 5, run after swim_shape has accepted their layout. Each validates the whole
 * request (addresses, safe operating area, limits) before it touches a cell, and writes its answer to `out`. */
#include "swim_internal.h"

static int cell_ok(const swim_board_config *config, swim_cell cell)
{
    return cell.tile < config->tiles && cell.row < config->rows && cell.column < config->columns;
}

static int cells_ok(const swim_board_config *config, const uint8_t *list, uint32_t count, uint32_t size)
{
    for (uint32_t i = 0; i < count; i++) {
        if (!cell_ok(config, get_cell(list + i * size))) {
            return 0;
        }
    }
    return 1;
}

static int rectangle_ok(const swim_board_config *config, swim_cell origin, uint32_t rows, uint32_t columns)
{
    return origin.tile < config->tiles && origin.row + rows <= config->rows && origin.column + columns <= config->columns;
}

static swim_cell rectangle_cell(swim_cell origin, uint32_t columns, uint32_t index)
{
    swim_cell cell = {origin.tile, (uint16_t)(origin.row + index / columns), (uint16_t)(origin.column + index % columns)};
    return cell;
}

/* Level i of a packed stream of b-bit levels, least significant bit first (section 5, PROGRAM_LEVELS). */
static uint32_t packed_level(const uint8_t *stream, uint32_t index, uint32_t bits)
{
    uint32_t level = 0;
    for (uint32_t k = 0; k < bits; k++) {
        uint32_t bit = index * bits + k;
        level |= (uint32_t)((stream[bit / 8] >> (bit % 8)) & 1u) << k;
    }
    return level;
}

static uint8_t run_read(swim_board *board, const uint8_t *p, uint8_t *out, uint32_t *out_length)
{
    uint32_t samples = p[1], count;
    if (p[0] == 0) {
        count = get_u16(p + 2);
        if (!cells_ok(board->config, p + 4, count, 6) || samples == 0) {
            return ST_OUT_OF_RANGE;
        }
        for (uint32_t i = 0; i < count; i++) {
            put_f32(out + 2 + 4 * i, swim_read_cell(board, get_cell(p + 4 + 6 * i), samples));
        }
    } else {
        swim_cell origin = get_cell(p + 2);
        uint32_t rows = get_u16(p + 8), columns = get_u16(p + 10);
        count = rows * columns;
        if (!rectangle_ok(board->config, origin, rows, columns) || samples == 0) {
            return ST_OUT_OF_RANGE;
        }
        /* A rectangle is read a row at a time: one operation a row on a board with a row-parallel ADC. */
        for (uint32_t r = 0; r < rows; r++) {
            swim_cell first = {origin.tile, (uint16_t)(origin.row + r), origin.column};
            swim_sum_row(board, first, columns, samples);
            for (uint32_t c = 0; c < columns; c++) {
                put_f32(out + 2 + 4 * (r * columns + c), swim_row_conductance(board, c, samples));
            }
        }
    }
    put_u16(out, (uint16_t)count);
    *out_length = 2 + 4 * count;
    return ST_OK;
}

static uint8_t run_write_pulse(swim_board *board, const uint8_t *p, uint8_t *out, uint32_t *out_length)
{
    const swim_board_config *config = board->config;
    uint32_t count = get_u16(p);
    if (!cells_ok(config, p + 2, count, 15)) {
        return ST_OUT_OF_RANGE;
    }
    for (uint32_t i = 0; i < count; i++) {
        float amplitude = get_f32(p + 2 + 15 * i + 7);
        uint32_t width = get_u32(p + 2 + 15 * i + 11);
        /* Written so that a NaN amplitude is outside too. */
        if (!(amplitude >= config->amplitude_min_volts && amplitude <= config->amplitude_max_volts) ||
            width < config->width_min_ns || width > config->width_max_ns) {
            return ST_OUTSIDE_SOA;
        }
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *item = p + 2 + 15 * i;
        swim_apply_pulse(board, get_cell(item), item[6], get_f32(item + 7), get_u32(item + 11));
    }
    put_u16(out, (uint16_t)count);
    *out_length = 2;
    return ST_OK;
}

/* A PROGRAM target's conductance, or a negative number when it is out of range (NaN included). */
static float program_target(const swim_board_config *config, uint8_t kind, float value)
{
    if (kind == 0) {
        int whole = value >= 0.0f && value <= (float)(config->levels - 1) && value == (float)(uint32_t)value;
        return whole ? swim_level_conductance(config, (uint32_t)value) : -1.0f;
    }
    return value >= config->g_min_microsiemens && value <= config->g_max_microsiemens ? value : -1.0f;
}

static uint8_t run_program(swim_board *board, const uint8_t *p, uint8_t *out, uint32_t *out_length)
{
    uint32_t count = get_u16(p);
    if (!cells_ok(board->config, p + 2, count, 11)) {
        return ST_OUT_OF_RANGE;
    }
    put_u16(out, (uint16_t)count);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *item = p + 2 + 11 * i;
        float target = program_target(board->config, item[6], get_f32(item + 7));
        out[2 + i] = target < 0.0f ? ST_OUT_OF_RANGE : ST_OK;
        if (target >= 0.0f) {
            /* Open loop: the board cannot tell a stuck cell without verifying, so it reports OK. */
            swim_program_cell(board, get_cell(item), target);
        }
    }
    *out_length = 2 + count;
    return ST_OK;
}

static uint8_t run_program_verify(swim_board *board, const uint8_t *p, uint8_t *out, uint32_t *out_length)
{
    const swim_board_config *config = board->config;
    uint32_t count = get_u16(p);
    if (!cells_ok(config, p + 2, count, 16)) {
        return ST_OUT_OF_RANGE;
    }
    for (uint32_t i = 0; i < count; i++) {
        if (!(get_f32(p + 2 + 16 * i + 10) > 0.0f) || get_u16(p + 2 + 16 * i + 14) == 0) {
            return ST_OUT_OF_RANGE;
        }
    }
    put_u16(out, (uint16_t)count);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *item = p + 2 + 16 * i;
        float target = get_f32(item + 6);
        swim_verify_outcome done = {ST_OUT_OF_RANGE, 0, 0, 0.0f};
        if (target >= config->g_min_microsiemens && target <= config->g_max_microsiemens) {
            done = swim_verify_cell(board, get_cell(item), target, get_f32(item + 10), get_u16(item + 14));
        }
        uint8_t *o = out + 2 + 9 * i;
        o[0] = done.status;
        put_u16(o + 1, done.iterations);
        put_u16(o + 3, done.pulses);
        put_f32(o + 5, done.final_microsiemens);
    }
    *out_length = 2 + 9 * count;
    return ST_OK;
}

static uint8_t run_counters(swim_board *board, const uint8_t *p, uint8_t *out, uint32_t *out_length)
{
    const swim_board_config *config = board->config;
    uint32_t count = get_u16(p);
    if (!cells_ok(config, p + 2, count, 6)) {
        return ST_OUT_OF_RANGE;
    }
    put_u16(out, (uint16_t)count);
    for (uint32_t i = 0; i < count; i++) {
        swim_cell c = get_cell(p + 2 + 6 * i);
        const swim_cell_counters *k = &board->counters[swim_cell_index(config, c)];
        put_u32(out + 2 + 16 * i, k->pulses);
        put_u32(out + 6 + 16 * i, k->reads);
        put_u64(out + 10 + 16 * i, (uint64_t)k->pulses * config->pulse_ns + (uint64_t)k->reads * config->read_ns);
    }
    *out_length = 2 + 16 * count;
    return ST_OK;
}

static uint8_t run_program_levels(swim_board *board, const uint8_t *p, uint8_t *out, uint32_t *out_length)
{
    swim_cell origin = get_cell(p);
    uint32_t rows = get_u16(p + 6), columns = get_u16(p + 8), bits = p[10], exceptions = 0;
    if (!rectangle_ok(board->config, origin, rows, columns)) {
        return ST_OUT_OF_RANGE;
    }
    for (uint32_t i = 0; i < rows * columns; i++) {
        uint32_t level = packed_level(p + 11, i, bits);
        if (level >= board->config->levels) {
            put_u16(out + 2 + 3 * exceptions, (uint16_t)i);
            out[4 + 3 * exceptions++] = ST_OUT_OF_RANGE;
            continue;
        }
        swim_program_cell(board, rectangle_cell(origin, columns, i), swim_level_conductance(board->config, level));
    }
    put_u16(out, (uint16_t)exceptions);
    *out_length = 2 + 3 * exceptions;
    return ST_OK;
}

static uint8_t run_read_codes(swim_board *board, const uint8_t *p, uint8_t *out, uint32_t *out_length)
{
    const swim_board_config *config = board->config;
    swim_cell origin = get_cell(p);
    uint32_t rows = get_u16(p + 6), columns = get_u16(p + 8), samples = p[10], bits = p[11];
    if (!rectangle_ok(config, origin, rows, columns) || samples == 0) {
        return ST_OUT_OF_RANGE;
    }
    uint32_t top = (1u << bits) - 1u;
    float zero = config->g_min_microsiemens, step = (config->g_max_microsiemens - zero) / (float)top;
    put_f32(out, zero);
    put_f32(out + 4, step);
    out[8] = (uint8_t)bits;
    put_u16(out + 9, (uint16_t)(rows * columns));
    for (uint32_t r = 0; r < rows; r++) {
        swim_cell first = {origin.tile, (uint16_t)(origin.row + r), origin.column};
        swim_sum_row(board, first, columns, samples);
        for (uint32_t c = 0; c < columns; c++) {
            uint32_t i = r * columns + c;
            float code = (swim_row_conductance(board, c, samples) - zero) / step + 0.5f;
            uint32_t clamped = code <= 0.0f ? 0u : code >= (float)top ? top : (uint32_t)code;
            if (bits == 8) {
                out[11 + i] = (uint8_t)clamped;
            } else {
                put_u16(out + 11 + 2 * i, (uint16_t)clamped);
            }
        }
    }
    *out_length = 11 + rows * columns * (bits / 8);
    return ST_OK;
}

static uint8_t run_verify_levels(swim_board *board, const uint8_t *p, uint8_t *out, uint32_t *out_length)
{
    swim_cell origin = get_cell(p);
    uint32_t rows = get_u16(p + 6), columns = get_u16(p + 8), bits = p[10], selected = 0;
    float tolerance = get_f32(p + 11);
    uint16_t max_iterations = get_u16(p + 15);
    if (!rectangle_ok(board->config, origin, rows, columns) || !(tolerance > 0.0f) || max_iterations == 0) {
        return ST_OUT_OF_RANGE;
    }
    const uint8_t *mask = p + 17, *levels = mask + (rows * columns + 7) / 8;
    for (uint32_t i = 0; i < rows * columns; i++) {
        if (((mask[i / 8] >> (i % 8)) & 1u) == 0) {
            continue;
        }
        uint32_t level = packed_level(levels, selected, bits);
        swim_verify_outcome done = {ST_OUT_OF_RANGE, 0, 0, 0.0f};
        if (level < board->config->levels) {
            done = swim_verify_cell(board, rectangle_cell(origin, columns, i), swim_level_conductance(board->config, level),
                                    tolerance, max_iterations);
        }
        out[2 + 3 * selected] = done.status;
        put_u16(out + 3 + 3 * selected, done.iterations);
        selected++;
    }
    put_u16(out, (uint16_t)selected);
    *out_length = 2 + 3 * selected;
    return ST_OK;
}

uint8_t swim_execute(swim_board *board, uint8_t opcode, const uint8_t *payload, uint32_t length, uint8_t *out,
                     uint32_t *out_length)
{
    (void)length; /* swim_shape has checked the layout against it */
    *out_length = 0;
    switch (opcode) {
    case OP_READ: return run_read(board, payload, out, out_length);
    case OP_WRITE_PULSE: return run_write_pulse(board, payload, out, out_length);
    case OP_PROGRAM: return run_program(board, payload, out, out_length);
    case OP_PROGRAM_VERIFY: return run_program_verify(board, payload, out, out_length);
    case OP_COUNTERS: return run_counters(board, payload, out, out_length);
    case OP_PROGRAM_LEVELS: return run_program_levels(board, payload, out, out_length);
    case OP_READ_CODES: return run_read_codes(board, payload, out, out_length);
    case OP_VERIFY_LEVELS: return run_verify_levels(board, payload, out, out_length);
    default: return ST_UNKNOWN_OPCODE;
    }
}
