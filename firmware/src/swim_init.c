/* Setting a board up: its configuration checked against the protocol's rules before the first frame. Kept apart
 * from the frame path, which has no floating point; these checks compare the configuration's conductances. */
#include "swim_internal.h"


static const char *const s_problems[] = {
    "",
    "the geometry has no cells",
    "fewer than 2 levels",
    "the conductance window is not 0 <= g_min < g_max",
    "the ADC step is not positive",
    "the safe operating area admits no pulse",
    "lease_ms is 0",
    "cells_per_pulse or cells_per_read is 0",
    "a pulse calibration's full step is not positive",
    "the device model is longer than 32 bytes",
    "the HAL lacks pulse, read or micros",
};

const char *swim_config_problem(int code)
{
    return code <= 0 && -code < (int)(sizeof s_problems / sizeof s_problems[0]) ? s_problems[-code] : "unknown";
}

static int check(const swim_board_config *c, const swim_hal *hal)
{
    if (c->tiles == 0 || c->rows == 0 || c->columns == 0) return -1;
    if (c->levels < 2) return -2;
    if (!(c->g_min_microsiemens >= 0.0f && c->g_min_microsiemens < c->g_max_microsiemens)) return -3;
    if (!(c->adc_step_microsiemens > 0.0f)) return -4;
    if (!(c->amplitude_min_volts <= c->amplitude_max_volts) || c->width_min_ns > c->width_max_ns) return -5;
    if (c->lease_ms == 0) return -6;
    if (c->cells_per_pulse == 0 || c->cells_per_read == 0) return -7;
    if (!(c->set.full_step_microsiemens > 0.0f) || !(c->reset.full_step_microsiemens > 0.0f)) return -8;
    if (bounded_length(c->device_model, 33) > 32) return -9;
    if (hal->pulse == NULL || hal->read == NULL || hal->micros == NULL) return -10;
    return 0;
}

int swim_board_init(swim_board *board, const swim_board_config *config, const swim_hal *hal,
                    swim_cell_counters *counters, uint16_t id_seed)
{
    int problem = check(config, hal);
    if (problem != 0) {
        return problem;
    }
    memset(board, 0, sizeof *board);
    board->config = config;
    board->hal = hal;
    board->counters = counters;
    board->next_session_id = id_seed;
    swim_board_power_cycle(board);
    return 0;
}

