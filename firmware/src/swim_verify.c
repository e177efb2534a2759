/* The array side of the core: reads averaged from ADC codes, pulses counted, open-loop programming and the
 * board's write-verify loop. Floating point starts here, never in the frame path. */
#include "swim_internal.h"

float swim_level_conductance(const swim_board_config *config, uint32_t level)
{
    float window = config->g_max_microsiemens - config->g_min_microsiemens;
    return config->g_min_microsiemens + (float)level * window / (float)(config->levels - 1);
}

float swim_read_cell(swim_board *board, swim_cell cell, uint32_t samples)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i < samples; i++) {
        sum += board->hal->read(board->hal->context, cell);
    }
    board->stats.reads += samples;
    if (board->counters != NULL) {
        board->counters[swim_cell_index(board->config, cell)].reads += samples;
    }
    return board->config->adc_zero_microsiemens + board->config->adc_step_microsiemens * ((float)sum / (float)samples);
}

void swim_sum_row(swim_board *board, swim_cell first, uint32_t count, uint32_t samples)
{
    const swim_hal *hal = board->hal;
    for (uint32_t i = 0; i < count; i++) {
        board->row_sums[i] = 0;
    }
    for (uint32_t s = 0; s < samples; s++) {
        if (hal->read_row != NULL) {
            hal->read_row(hal->context, first, (uint16_t)count, board->row_codes);
            board->stats.reads++; /* one operation for the row (cells_per_read says how many cells it covers) */
        }
        for (uint32_t i = 0; i < count; i++) {
            swim_cell cell = {first.tile, first.row, (uint16_t)(first.column + i)};
            if (hal->read_row == NULL) {
                board->row_codes[i] = hal->read(hal->context, cell);
                board->stats.reads++;
            }
            board->row_sums[i] += board->row_codes[i];
        }
    }
    for (uint32_t i = 0; board->counters != NULL && i < count; i++) {
        swim_cell cell = {first.tile, first.row, (uint16_t)(first.column + i)};
        board->counters[swim_cell_index(board->config, cell)].reads += samples;
    }
}

float swim_row_conductance(const swim_board *board, uint32_t column, uint32_t samples)
{
    const swim_board_config *config = board->config;
    return config->adc_zero_microsiemens + config->adc_step_microsiemens * ((float)board->row_sums[column] / (float)samples);
}

void swim_apply_pulse(swim_board *board, swim_cell cell, uint8_t polarity, float amplitude, uint32_t width)
{
    board->hal->pulse(board->hal->context, cell, polarity, amplitude, width);
    board->stats.pulses++;
    if (board->counters != NULL) {
        board->counters[swim_cell_index(board->config, cell)].pulses++;
    }
}

static float clampf(float value, float low, float high) { return value < low ? low : value > high ? high : value; }

/* The amplitude that moves a cell by `error` uS (times `boost`), from the lab's calibration, inside the safe
 * operating area; pulses above threshold move a cell roughly in proportion to the excess. */
static float sized_amplitude(const swim_board_config *config, const swim_pulse_calibration *c, float error, float boost)
{
    float strength = error / c->full_step_microsiemens * boost;
    float amplitude = c->threshold_volts + strength * (config->amplitude_max_volts - c->threshold_volts);
    return clampf(amplitude, config->amplitude_min_volts, config->amplitude_max_volts);
}

static uint32_t pulse_width(const swim_board_config *config, const swim_pulse_calibration *c)
{
    uint32_t width = c->width_ns;
    return width < config->width_min_ns ? config->width_min_ns : width > config->width_max_ns ? config->width_max_ns : width;
}

/* Open loop: one read to know where the cell starts, then pulses sized for the distance, never read again. */
void swim_program_cell(swim_board *board, swim_cell cell, float target)
{
    const swim_board_config *config = board->config;
    if (board->hal->begin_cell != NULL) {
        board->hal->begin_cell(board->hal->context, cell, OP_PROGRAM);
    }
    float g = swim_read_cell(board, cell, 1);
    uint8_t polarity = g < target ? SWIM_SET : SWIM_RESET;
    const swim_pulse_calibration *c = polarity == SWIM_SET ? &config->set : &config->reset;
    float error = g < target ? target - g : g - target;
    /* Distances beyond one full step take full pulses first; at most 16, the window of any sane calibration. */
    for (int full = 0; error > c->full_step_microsiemens && full < 16; full++) {
        swim_apply_pulse(board, cell, polarity, config->amplitude_max_volts, pulse_width(config, c));
        error -= c->full_step_microsiemens;
    }
    if (error > config->adc_step_microsiemens) {
        swim_apply_pulse(board, cell, polarity, sized_amplitude(config, c, error, 1.0f), pulse_width(config, c));
    }
}

/* Section 5's loop. Each pulse is sized from the error; a pulse that moved the cell less than half of what it was
 * sized for makes the next one in that direction stronger (incremental steps), a reversal makes it gentle again.
 * Three pulses at full amplitude that move the cell less than a tenth of a full step mean it is stuck. */
swim_verify_outcome swim_verify_cell(swim_board *board, swim_cell cell, float target, float tolerance,
                                     uint16_t max_iterations)
{
    const swim_board_config *config = board->config;
    swim_verify_outcome outcome = {ST_OK, 0, 0, 0.0f};
    if (board->hal->begin_cell != NULL) {
        board->hal->begin_cell(board->hal->context, cell, OP_PROGRAM_VERIFY);
    }
    uint32_t samples = config->verify_samples == 0 ? 1u : config->verify_samples;
    float g = swim_read_cell(board, cell, samples), boost = 1.0f;
    int last_polarity = -1, reversals = 0, unmoved = 0;
    while ((g > target ? g - target : target - g) > tolerance) {
        if (outcome.iterations >= max_iterations || reversals >= config->max_reversals) {
            outcome.status = ST_DID_NOT_CONVERGE;
            break;
        }
        uint8_t polarity = g < target ? SWIM_SET : SWIM_RESET;
        const swim_pulse_calibration *c = polarity == SWIM_SET ? &config->set : &config->reset;
        if (last_polarity >= 0 && polarity != last_polarity) {
            reversals++;
            boost = 1.0f;
        }
        float error = g < target ? target - g : g - target;
        float amplitude = sized_amplitude(config, c, error, boost);
        swim_apply_pulse(board, cell, polarity, amplitude, pulse_width(config, c));
        float before = g;
        g = swim_read_cell(board, cell, samples);
        outcome.iterations++;
        outcome.pulses++;
        board->stats.verify_iterations++;
        float moved = polarity == SWIM_SET ? g - before : before - g;
        if (moved < 0.5f * error && boost < 64.0f) {
            boost *= 1.5f;
        }
        int at_most = amplitude >= config->amplitude_max_volts;
        unmoved = at_most && (moved < 0 ? -moved : moved) < 0.1f * c->full_step_microsiemens ? unmoved + 1 : 0;
        if (unmoved >= 3) {
            outcome.status = ST_CELL_STUCK;
            break;
        }
        last_polarity = polarity;
    }
    outcome.final_microsiemens = g;
    return outcome;
}
